"""Killing and failing a real process at a chosen system call (``harness.faults._syscall_run``).

A small writer and the reference store's adapter run under strace in pytest temp
folders. Each run gets a fresh root holding the recording's starting tree, so the runs
are independent (and fine under xdist).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import reference_store
from harness.faults._syscall_power import TreeState, crash_states, snapshot_tree
from harness.faults._syscall_run import (
    FAULT_ERRNOS,
    Injection,
    Recording,
    RunResult,
    SyscallFaultError,
    inject,
    injection_support,
    plan_fault,
    record,
)
from harness.foreign import AdapterClient, AdapterCrashed, reference_command
from reference_store import open_store

needs_strace = pytest.mark.skipif(
    not injection_support().usable, reason=f"strace unusable: {injection_support().reason}"
)
pytestmark = [needs_strace, pytest.mark.real_only]

OLD = b"old contents"

WRITER = """
import os, sys
root = sys.argv[1]
print("starting", flush=True)  # a write off the root: strace counts it, we do not
if os.environ.get("DRIFT"):  # a run that does not repeat the recording
    with open(os.path.join(root, "extra"), "wb") as extra:
        extra.write(b"x")
target = os.path.join(root, "data")
fd = os.open(target + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
try:
    os.write(fd, b"new ")
except OSError:
    if not os.environ.get("SWALLOW"):  # a buggy program: hides the disk's error
        raise
os.write(fd, b"contents")
os.fsync(fd)
os.close(fd)
os.rename(target + ".tmp", target)
dirfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dirfd)
os.close(dirfd)
print("done", flush=True)
"""


class Writer:
    """The writer program, and fresh roots that start as the recording's did."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.script = tmp_path / "writer.py"
        self.script.write_text(WRITER, encoding="utf-8")
        self.runs = 0

    def fresh(self) -> Path:
        self.runs += 1
        root = self.tmp_path / f"root-{self.runs}"
        root.mkdir()
        (root / "data").write_bytes(OLD)
        return root

    def argv(self, root: Path) -> list[str]:
        return [sys.executable, str(self.script), str(root)]

    def record(self) -> Recording:
        root = self.fresh()
        return record(self.argv(root), str(root))

    def inject(self, recording: Recording, k: int, fault: str = "kill", **kw: Any) -> Injection:
        root = self.fresh()
        return inject(recording, k, fault, argv=self.argv(root), root=str(root), **kw)


def numbered(recording: Recording, name: str, nth: int = 1) -> int:
    """The number on the root of the ``nth`` call named ``name``."""
    return [c.n for c in recording.trace.calls if c.call.name == name][nth - 1]


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(tmp_path)


def test_injection_is_usable_here() -> None:
    support = injection_support()
    assert support.usable, support.reason


def test_the_kth_call_on_the_root_becomes_the_nth_call_of_its_name(writer: Writer) -> None:
    recording = writer.record()
    first_write = numbered(recording, "write")
    plan = plan_fault(recording, first_write, "EIO")
    # print() wrote "starting" and its newline to stdout first (two calls strace counts):
    # the root's first write is the thread's third
    assert (plan.syscall, plan.nth, plan.fault) == ("write", 3, "EIO")
    with pytest.raises(ValueError, match="errno"):
        plan_fault(recording, first_write, "ENOTANERRNO")


def test_kill_at_a_call_is_deterministic(writer: Writer) -> None:
    recording = writer.record()
    k = numbered(recording, "rename")
    first, second = writer.inject(recording, k), writer.inject(recording, k)
    assert first.hit and second.hit, (first.why_missed(), second.why_missed())
    one = snapshot_tree(str(first.trace.root))
    two = snapshot_tree(str(second.trace.root))
    assert one == two == TreeState({"data": OLD, "data.tmp": b"new contents"}, frozenset())
    assert isinstance(first.outcome, RunResult) and first.outcome.returncode == -9
    assert b"done" not in first.outcome.stdout


def test_a_kill_before_call_k_leaves_what_the_model_holds_after_k_minus_1(
    writer: Writer,
) -> None:
    # What the kernel holds after a SIGKILL is the volatile view: the model's
    # "all-survive" state one call earlier, for every numbered call of the run.
    recording = writer.record()
    predicted = {
        s.after: s.state
        for s in crash_states(recording.trace, recording.start, points=range(100), samples=0)
        if s.choice.label == "all-survive"
    }
    for entry in recording.trace.calls:
        injection = writer.inject(recording, entry.n)
        assert injection.hit, injection.why_missed()
        assert snapshot_tree(injection.trace.root) == predicted[entry.n - 1], entry.describe()


@pytest.mark.parametrize("fault", FAULT_ERRNOS)
def test_an_injected_error_at_a_write_is_the_programs_error(writer: Writer, fault: str) -> None:
    recording = writer.record()
    injection = writer.inject(recording, numbered(recording, "write"), fault)
    assert injection.hit, injection.why_missed()
    outcome = injection.outcome
    assert isinstance(outcome, RunResult)
    assert outcome.returncode == 1
    code = getattr(errno, fault)
    assert f"[Errno {code}]".encode() in outcome.stderr
    assert snapshot_tree(injection.trace.root).files["data"] == OLD


def test_a_program_that_swallows_the_error_is_told_apart(writer: Writer) -> None:
    # The check above, on a buggy program: the fault hits, but nothing surfaces.
    recording = writer.record()
    env = {**os.environ, "SWALLOW": "1"}
    injection = writer.inject(recording, numbered(recording, "write"), "EIO", env=env)
    assert injection.hit, injection.why_missed()
    assert isinstance(injection.outcome, RunResult)
    assert injection.outcome.returncode == 0 and b"Errno" not in injection.outcome.stderr


def test_a_run_that_does_not_repeat_the_recording_is_reported(writer: Writer) -> None:
    recording = writer.record()
    k = numbered(recording, "write")
    drifted = writer.inject(recording, k, "EIO", env={**os.environ, "DRIFT": "1"})
    assert not drifted.hit
    assert "extra" in drifted.why_missed()
    assert writer.inject(recording, k, "EIO").hit  # the same plan, repeated faithfully


def test_injecting_needs_the_recordings_starting_tree(writer: Writer) -> None:
    recording = writer.record()
    root = writer.fresh()
    (root / "data").write_bytes(b"changed")
    with pytest.raises(SyscallFaultError, match="starting tree"):
        inject(recording, 1, argv=writer.argv(root), root=str(root))


THREADED = """
import os, sys, threading
root, mode = sys.argv[1], sys.argv[2]
r, w = os.pipe()
idle = threading.Thread(target=os.read, args=(r, 1), daemon=True)  # blocked in read()


def write_file(name):
    with open(os.path.join(root, name), "wb", buffering=0) as handle:
        handle.write(name.encode())


if mode == "bystander":
    idle.start()
    write_file("a")
    os.rename(os.path.join(root, "a"), os.path.join(root, "b"))
else:  # two threads, each making its own first write(): strace counts per thread
    other = threading.Thread(target=write_file, args=("t",))
    other.start()
    other.join()
    write_file("m")
"""


def threaded(tmp_path: Path, mode: str) -> tuple[Recording, Writer]:
    writer = Writer(tmp_path)
    writer.script.write_text(THREADED, encoding="utf-8")
    root = writer.fresh()
    recording = record([*writer.argv(root), mode], str(root))
    return recording, writer


def test_a_kill_ignores_the_threads_it_ends_inside_other_calls(tmp_path: Path) -> None:
    recording, writer = threaded(tmp_path, "bystander")
    root = writer.fresh()
    k = numbered(recording, "rename")
    injection = inject(recording, k, argv=[*writer.argv(root), "bystander"], root=str(root))
    assert injection.hit, injection.why_missed()
    assert sorted(snapshot_tree(str(root)).files) == ["a", "data"]


def test_a_fault_that_also_hits_another_thread_is_reported(tmp_path: Path) -> None:
    recording, writer = threaded(tmp_path, "two-threads")
    root = writer.fresh()
    k = numbered(recording, "write")
    injection = inject(
        recording, k, "EIO", argv=[*writer.argv(root), "two-threads"], root=str(root)
    )
    assert len(injection.faulted) == 2  # each thread's first write() failed
    assert not injection.hit
    assert "faulted" in injection.why_missed()


# --- the reference store through its adapter ---------------------------------------------------

SAVED = {"a": {"sessionId": "s1", "updatedAt": 1}}


class AdapterWorkload:
    """A save, then an increment, through the reference adapter (hardened, directory)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.runs = 0

    def fresh(self) -> Path:
        self.runs += 1
        root = self.tmp_path / f"store-{self.runs}"
        root.mkdir()
        return root

    def argv(self, root: Path) -> list[str]:
        return reference_command(
            root / "sessions.json", layout="directory", profile="hardened", clock_ms=1000
        )

    @staticmethod
    def drive(command: list[str], env: dict[str, str]) -> object:
        client = AdapterClient(command, env=env, timeout=60)
        done: list[str] = []
        try:
            try:
                client.save(SAVED)
                done.append("save")
            except OSError as exc:
                client.close()
                return exc
            client.update_entry("a", increment={"field": "turns", "by": 1})
            done.append("update")
            client.close()
        except AdapterCrashed as exc:
            client.kill()
            return (done, exc)
        return done

    def record(self) -> Recording:
        root = self.fresh()
        return record(self.argv(root), str(root), drive=self.drive)

    def inject(self, recording: Recording, k: int, fault: str = "kill") -> Injection:
        root = self.fresh()
        return inject(recording, k, fault, argv=self.argv(root), root=str(root), drive=self.drive)


def test_an_eio_at_the_stores_write_reaches_the_client_as_a_real_oserror(
    tmp_path: Path,
) -> None:
    workload = AdapterWorkload(tmp_path)
    recording = workload.record()
    assert recording.outcome == ["save", "update"]
    injection = workload.inject(recording, numbered(recording, "write"), "EIO")
    assert injection.hit, injection.why_missed()
    assert isinstance(injection.outcome, OSError)
    assert injection.outcome.errno == errno.EIO


def test_killing_the_adapter_at_the_updates_rename_is_deterministic(tmp_path: Path) -> None:
    workload = AdapterWorkload(tmp_path)
    recording = workload.record()
    k = numbered(recording, "rename", 2)  # the save's rename, then the update's
    runs = [workload.inject(recording, k) for _ in range(2)]
    for run in runs:
        assert run.hit, run.why_missed()
        assert isinstance(run.outcome, tuple)
        done, crash = run.outcome
        assert done == ["save"] and isinstance(crash, AdapterCrashed)
    trees = [snapshot_tree(run.trace.root) for run in runs]
    assert trees[0] == trees[1]
    reference_store.PROCESS_CACHE.clear()
    store = open_store(str(Path(runs[0].trace.root) / "sessions.json"), "directory", "hardened")
    assert store.load() == SAVED  # the update never reached its rename
