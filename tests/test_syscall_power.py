"""Power loss from a recorded system-call trace (``harness.faults._syscall_power``).

The checks are shown to fail: a writer that renames without fsync loses its data in some
power-loss state and one that fsyncs file and folder never does; the reference store's
``seed`` profile loses an acknowledged write through its real adapter and ``hardened``
does not. A canned trace pins positioned writes, ``dup`` and ``lseek`` down.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

import reference_store
from harness.faults._syscall_power import CrashState, TreeState, crash_states, snapshot_tree
from harness.faults._syscall_run import Recording, injection_support, record
from harness.faults._syscall_trace import parse_strace, root_trace
from harness.foreign import AdapterClient, reference_command
from reference_store import open_store

needs_strace = pytest.mark.skipif(
    not injection_support().usable, reason=f"strace unusable: {injection_support().reason}"
)

OLD, NEW = b"old contents", b"new contents, longer"

WRITER = """
import os, sys
root, mode = sys.argv[1], sys.argv[2]
target = os.path.join(root, "data")
fd = os.open(target + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, NEW)
if mode == "careful":
    os.fsync(fd)
os.close(fd)
os.rename(target + ".tmp", target)
dirfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dirfd)
os.close(dirfd)
""".replace("NEW", repr(NEW))


def run_writer(tmp_path: Path, mode: str) -> Recording:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    (root / "data").write_bytes(OLD)
    return record([sys.executable, str(script), str(root), mode], str(root))


def contents(states: list[CrashState]) -> set[bytes | None]:
    return {s.state.files.get("data") for s in states}


@needs_strace
@pytest.mark.real_only
def test_a_rename_without_fsync_loses_the_data_in_some_power_loss(tmp_path: Path) -> None:
    recording = run_writer(tmp_path, "no-fsync")
    states = list(crash_states(recording.trace, recording.start, samples=16, seed=1))
    assert len(contents(states) - {OLD, NEW}) > 0  # the new name over unsynced data
    final = [s for s in states if s.after == states[-1].after]
    assert any(s.state.files.get("data") not in (OLD, NEW) for s in final)


@needs_strace
@pytest.mark.real_only
def test_fsync_of_file_and_folder_never_loses_it(tmp_path: Path) -> None:
    recording = run_writer(tmp_path, "careful")
    states = list(crash_states(recording.trace, recording.start, samples=16, seed=1))
    assert contents(states) == {OLD, NEW}
    final = [s for s in states if s.after == states[-1].after]
    assert {s.state.files.get("data") for s in final} == {NEW}  # synced: one state left


@needs_strace
@pytest.mark.real_only
def test_a_crash_state_is_written_into_an_empty_folder(tmp_path: Path) -> None:
    recording = run_writer(tmp_path, "careful")
    state = next(s for s in crash_states(recording.trace, recording.start) if s.after > 0)
    out = tmp_path / "out"
    out.mkdir()
    state.state.write_into(str(out))
    assert snapshot_tree(str(out)) == state.state
    with pytest.raises(FileExistsError):
        state.state.write_into(str(out))


def hx(text: str) -> str:
    return "".join(f"\\x{b:02x}" for b in os.fsencode(text))


def test_positioned_writes_dup_and_lseek_replay_at_the_right_offset() -> None:
    f = f"3<{hx('/r/f')}>"
    g = f"4<{hx('/r/f')}>"

    def dump(data: bytes) -> str:
        return f" | 00000  {' '.join(f'{b:02x}' for b in data):<49}  x |"

    text = "\n".join(
        [
            f'1 openat(AT_FDCWD<{hx("/")}>, "{hx("/r/f")}", O_RDWR) = {f}',
            f'1 write({f}, "", 4) = 4',
            dump(b"WXYZ"),
            f"1 lseek({f}, 1, SEEK_SET) = 1",
            f"1 dup({f}) = {g}",
            f'1 write({g}, "", 1) = 1',  # the dup shares the offset: lands at 1
            dump(b"a"),
            f'1 pwrite64({f}, "", 2, 10) = 2',  # past the end: a hole of zeros
            dump(b"pq"),
            f"1 ftruncate({f}, 11) = 0",
            f'1 openat(AT_FDCWD<{hx("/")}>, "{hx("/r/f")}", O_WRONLY|O_APPEND) = 5<{hx("/r/f")}>',
            f'1 write(5<{hx("/r/f")}>, "", 1) = 1',
            dump(b"!"),
            f"1 fsync({f}) = 0",
        ]
    )
    calls, exits = parse_strace(text)
    trace = root_trace(calls, "/r", exits)
    start = TreeState({"f": b"0123456789abcdef"}, frozenset())
    states = list(crash_states(trace, start, samples=0))
    final = [s for s in states if s.after == len(trace.calls)]
    assert [s.state.files for s in final] == [{"f": b"WaYZ456789p!"}]  # synced: no choice
    before_sync = [s for s in states if s.after == len(trace.calls) - 1]
    assert {s.state.files["f"] for s in before_sync} >= {
        b"WaYZ456789p!",
        b"0123456789abcdef",
    }


def entry(session_id: str, updated_at: int, **fields: Any) -> dict[str, Any]:
    return {"sessionId": session_id, "updatedAt": updated_at, **fields}


def adapter_run(tmp_path: Path, layout: str, profile: str) -> tuple[Recording, list[Any]]:
    root = tmp_path / f"{profile}-root"
    root.mkdir()
    argv = reference_command(root / "sessions.json", layout=layout, profile=profile, clock_ms=1000)

    def drive(command: list[str], env: dict[str, str]) -> list[Any]:
        with AdapterClient(command, env=env, timeout=60) as client:
            client.save({"a": entry("s1", 1)})
            saved = client.load()
            client.update_entry("a", increment={"field": "turns", "by": 1})
            return [saved, client.load()]

    recording = record(argv, str(root), drive=drive)
    assert isinstance(recording.outcome, list), recording.outcome
    return recording, recording.outcome


def load_state(state: CrashState, folder: Path, layout: str) -> Any:
    folder.mkdir()
    state.state.write_into(str(folder))
    reference_store.PROCESS_CACHE.clear()
    try:
        return open_store(str(folder / "sessions.json"), layout, "hardened").load()
    except Exception as exc:  # an unreadable state is a finding too
        return repr(exc)


def lost_acknowledged(tmp_path: Path, profile: str) -> list[str]:
    """Power-loss states of the finished workload that do not hold its last write."""
    recording, (_, final_map) = adapter_run(tmp_path, "directory", profile)
    states = list(crash_states(recording.trace, recording.start, samples=4, seed=3))
    last_point = states[-1].after
    lost = []
    for i, state in enumerate(s for s in states if s.after == last_point):
        loaded = load_state(state, tmp_path / f"{profile}-state-{i}", "directory")
        if loaded != final_map:
            lost.append(state.choice.label)
    return lost


@needs_strace
@pytest.mark.real_only
def test_the_seed_store_loses_an_acknowledged_write_and_hardened_does_not(
    tmp_path: Path,
) -> None:
    assert lost_acknowledged(tmp_path, "seed") != []
    assert lost_acknowledged(tmp_path, "hardened") == []


@needs_strace
@pytest.mark.real_only
def test_every_power_loss_of_the_hardened_store_is_an_acknowledged_state(
    tmp_path: Path,
) -> None:
    recording, (saved, final_map) = adapter_run(tmp_path, "directory", "hardened")
    assert recording.trace.unmodelled == ()
    seen = []
    for i, state in enumerate(crash_states(recording.trace, recording.start, samples=2)):
        loaded = load_state(state, tmp_path / f"state-{i}", "directory")
        assert loaded in ({}, saved, final_map), (state.after, state.choice.label)
        seen.append(loaded)
    assert {} in seen and saved in seen and final_map in seen
