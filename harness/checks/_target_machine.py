"""The gate's machine check: :class:`harness.machines.SessionStoreMachine` driven against
a store target, bounded and reproducible.

Promise: a run is a pure function of (target, layout, profile, examples, steps, seed):
Hypothesis is seeded with ``@seed`` and keeps no example database, so the same gate
options give the same examples and the same shrunk failure on every run. Files live in
fresh real temp folders, one per example, removed after it.

The store is held to the hardened promises, as the scenarios hold it: every call is
all-or-nothing, a valid call with no fault never raises, a file the store could not read
is moved aside (never deleted), routes read fresh. Crashes (``arm_crash``) need the
store to do its I/O through ``fs``; corrupt files are planted only in stores that say
where a key lives (the reference store and its mutants).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, reproduce_failure, seed, settings
from hypothesis import configuration as hypothesis_configuration
from hypothesis.errors import DidNotReproduce, InvalidArgument
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from harness._errors import HarnessError, UsageError
from harness._roots import make_root, temp_root
from harness.engine._target import StoreTarget
from harness.machines import (
    FAILURE_ENV,
    MachineFailureError,
    NoSyncFileSystem,
    SessionStoreMachine,
    reference_file_of,
)
from reference_store import StoreError
from reference_store.fs import FileSystem, OsFileSystem

__all__ = [
    "BlobMismatchError",
    "MachineRun",
    "parse_blob",
    "run_target_machine",
    "target_machine",
]

#: ``@reproduce_failure('<version>', b'<base64>')``; group 1 is the argument list.
_BLOB = re.compile(r"@?reproduce_failure\(([^)]*)\)")


@dataclass(frozen=True)
class MachineRun:
    """What a bounded machine run found."""

    passed: bool
    examples: int
    steps: int
    seed: int
    #: the violation kind (``MachineFailureError.kind``; ``unexpected-error`` otherwise)
    kind: str = ""
    #: the failure message: ``<kind>: <detail>`` and the calls of the shrunk run
    message: str = ""
    #: the shrunk example as Hypothesis prints it (rules and draws)
    example: tuple[str, ...] = ()
    #: ``@reproduce_failure(...)``, when Hypothesis gives one
    blob: str = ""
    #: the machine's crash details of the shrunk run (``docs/machines.md``), if it crashed
    crash: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def detail(self) -> str:
        return self.message.splitlines()[0] if self.message else ""


class BlobMismatchError(HarnessError):
    """A ``@reproduce_failure`` blob that cannot be replayed here (another Hypothesis
    version, or a machine whose rules changed): re-run the seeded search instead."""


class _TargetMachine(SessionStoreMachine):
    """A machine over one layout of a :class:`StoreTarget` (built by :func:`target_machine`)."""

    target: ClassVar[StoreTarget]
    layout: ClassVar[str] = "directory"
    profile: ClassVar[str] = "hardened"
    #: parent folder of every example's temp folder
    tmp_parent: ClassVar[str | None] = None

    # The hardened promises (module docstring).
    atomicity = "call"
    valid_calls_succeed = True
    keeps_corrupt_files = True
    fresh_route_read = True
    private_modes = True
    cleans_up_while_running = True
    supports_crash = True
    supports_corrupt = True

    def make_root(self) -> str:
        return make_root("example", parent=self.tmp_parent)

    def plain_fs(self) -> FileSystem:
        # Process crashes only: a sync changes nothing observable (machines.NoSyncFileSystem).
        return NoSyncFileSystem(OsFileSystem())

    def open_store(self, ctx: Any) -> Any:
        return self.target.open(
            ctx.store_path, self.layout, self.profile, ctx.fs, runtime=ctx.runtime, cache=ctx.cache
        )

    def migrate_store(self, ctx: Any) -> bool:
        assert self.target.migrate is not None
        return bool(self.target.migrate(ctx.store_path, self.profile, ctx.fs, runtime=ctx.runtime))

    def file_of(self, store: Any, key: str) -> str | None:
        return reference_file_of(store, key)

    def describe(self) -> dict[str, Any]:
        return {
            "machine": type(self).__name__,
            "target": self.target.name,
            "layout": self.layout,
            "profile": self.profile,
            "backend": "real",
        }


def target_machine(
    target: StoreTarget, layout: str, profile: str, *, tmp_parent: str | None = None
) -> type[SessionStoreMachine]:
    """A machine class for ``target`` in ``layout`` (``auto`` migrates at every start-up)."""
    name = re.sub(r"\W+", "_", f"Gate_{target.name}_{layout}_Machine")
    attrs: dict[str, Any] = {
        "target": target,
        "layout": layout,
        "profile": profile,
        "tmp_parent": tmp_parent,
        "supports_migrate": layout == "auto",
        "reported_errors": (OSError, *target.refusals),
        "__module__": __name__,
    }
    if target.remote:
        # A store in another process: no simulated crash reaches it, its clock is its
        # own, and which file holds a key is its business. Its refusals are the ones it
        # reports as such; an adapter that dies or hangs is a failure, never a refusal.
        attrs.update(
            supports_crash=False,
            supports_corrupt=False,
            supports_refusal=False,
            exact_clock=False,
            reported_errors=(OSError, StoreError),
        )
    return type(name, (_TargetMachine,), attrs)


@contextlib.contextmanager
def _hypothesis_home(parent: str) -> Iterator[None]:
    # Hypothesis caches data it derives (its Unicode tables) in ``.hypothesis/`` of the
    # working folder, even with no example database: point it into the temp root, so
    # that a gate run writes nothing where it was started.
    before = getattr(hypothesis_configuration, "__hypothesis_home_directory", None)
    hypothesis_configuration.set_hypothesis_home_dir(os.path.join(parent, "hypothesis"))
    try:
        yield
    finally:
        hypothesis_configuration.set_hypothesis_home_dir(before)


@contextlib.contextmanager
def _failure_files(folder: str) -> Iterator[None]:
    # The machine writes crash details where this variable points; the gate keeps them
    # with its other outputs instead of in a shared temp folder.
    old = os.environ.get(FAILURE_ENV)
    os.environ[FAILURE_ENV] = folder
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(FAILURE_ENV, None)
        else:
            os.environ[FAILURE_ENV] = old


def run_target_machine(
    target: StoreTarget,
    layout: str,
    profile: str,
    *,
    examples: int,
    steps: int,
    seed_value: int,
    blob: str | None = None,
) -> MachineRun:
    """Run the machine for ``examples`` examples of up to ``steps`` steps each.

    A failure is shrunk (Hypothesis's own bound: a few minutes at most) and returned,
    not raised, with the machine's crash details (``MachineRun.crash``) when the failing
    run had a crash. ``blob`` (``@reproduce_failure(...)`` as :class:`MachineRun` keeps
    it) runs that one example instead of searching; a blob of another Hypothesis version
    or of a machine whose rules changed raises :class:`BlobMismatchError`.
    """
    opts = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,  # nothing written outside the gate's folders
        derandomize=False,  # @seed below decides
        print_blob=True,
        report_multiple_bugs=False,
        # No explain phase: it re-runs the shrunk example many times only to annotate it.
        # No shrinking for a store in other processes: every step starts adapters, and
        # Hypothesis's shrink runs until its own five-minute limit; the example found is
        # the one reported (and replayed from its blob).
        phases=[Phase.explicit, Phase.generate]
        if target.remote
        else [Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    bounds = (examples, steps, seed_value)
    with temp_root("gate-machines") as parent, _hypothesis_home(parent):
        machine: Any = seed(seed_value)(target_machine(target, layout, profile, tmp_parent=parent))
        if blob is not None:
            machine = reproduce_failure(*parse_blob(blob))(machine)
        failures = os.path.join(parent, "failures")
        try:
            # Hypothesis prints nothing itself (a blob run would print the example): the
            # example reaches the caller as the failure's notes, and the gate's output
            # and replay files carry it.
            with _failure_files(failures), with_reporter(lambda _text: None):
                run_state_machine_as_test(machine, settings=opts)
        except DidNotReproduce as exc:
            if "completed successfully" not in str(exc):
                raise BlobMismatchError(f"the blob no longer fits this machine: {exc}") from None
        except InvalidArgument as exc:
            if blob is not None and "different version of Hypothesis" in str(exc):
                raise BlobMismatchError(str(exc)) from None
            raise  # the gate's own mistake, not the store's
        except Exception as exc:
            return _failed(exc, bounds, failures)
    return MachineRun(True, *bounds)


def parse_blob(blob: str) -> tuple[str, bytes]:
    """(version, bytes) of ``@reproduce_failure('6.1.0', b'...')``."""
    match = _BLOB.fullmatch(blob.strip().lstrip("@"))
    if match is None:
        raise UsageError(f"not a @reproduce_failure(...) blob: {blob[:80]!r}")
    try:
        version, data = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError) as exc:
        raise UsageError(f"unreadable @reproduce_failure arguments: {exc}") from None
    if not isinstance(version, str) or not isinstance(data, bytes):
        raise UsageError("a @reproduce_failure blob holds a version string and bytes")
    return version, data


def _failed(exc: BaseException, bounds: tuple[int, int, int], failures: str) -> MachineRun:
    # A store that fails only sometimes makes Hypothesis raise a group (FlakyFailure)
    # holding the failure it could not reproduce.
    inner = [e for e in getattr(exc, "exceptions", ()) if isinstance(e, MachineFailureError)]
    failure = exc if isinstance(exc, MachineFailureError) else (inner[0] if inner else None)
    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    blob = next((m.group(0) for n in notes for m in [_BLOB.search(n)] if m), "")
    example = tuple(
        line
        for note in notes
        if "reproduce_failure" not in note and not note.startswith("Failing test case")
        for line in note.strip("\n").splitlines()
    )
    if failure is not None:
        kind, message = failure.kind, str(failure)
        if failure is not exc:
            message += f"\n(flaky: {type(exc).__name__}: the failure did not always reproduce)"
    else:  # the store broke the machine itself
        kind, message = "unexpected-error", f"unexpected-error: {type(exc).__name__}: {exc}"
    # The machine names its crash-details file in the message; that file lives in a
    # folder removed with this run, so its content travels in ``crash`` instead.
    message = "\n".join(line for line in message.splitlines() if failures not in line)
    return MachineRun(
        False,
        *bounds,
        kind=kind,
        message=message,
        example=example,
        blob=blob,
        crash=_crash_details(failures),
    )


def _crash_details(folder: str) -> Mapping[str, Any] | None:
    """The machine's failure file of the shrunk run (one per class; the last one wins)."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return None
    for name in names:
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                raw = json.load(handle)
            return raw if isinstance(raw, dict) else None
    return None
