"""The machinery of :class:`~harness.checks._machine_rules.SessionStoreMachine`: promises,
hooks, simulated processes and the invariant (the model is in ``_machine_model``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import stat as stat_module
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
)

from harness._roots import is_inside_root, make_root, remove_root
from harness.checks._machine_model import (
    _MISSING,
    FAILURE_FORMAT,
    RESTART_MS,
    STEP_MS,
    Expectation,
    IntRange,
    MachineFailureError,
    StoreLike,
    StoreMap,
    _conforms,
    _is_mix,
    _settle,
    model_migrate,
)
from harness.checks._machine_world import (
    MachineClock,
    StoreContext,
    _cached_strategies,
    _Crash,
    _draw_key,
    _Process,
    _short,
    _SwitchableSeam,
    failure_dir,
)
from harness.engine._oracle import History, classify
from harness.engine._run_once import is_temp_name
from harness.engine._workload import canonical
from harness.faults._faultfs import FaultFileSystem, SimulatedCrash
from reference_store import (
    SessionCache,
    StoreError,
)
from reference_store._runtime import SIMULATED_PID, Runtime
from reference_store.fs import FileStat, FileSystem, OsFileSystem

__all__ = [
    "MachineBase",
]


class MachineBase(RuleBasedStateMachine):
    """The machinery under :class:`SessionStoreMachine`: what a store promises (class
    attributes), the hooks, the simulated processes, and the invariant that checks every
    step against the model. The rules live on :class:`SessionStoreMachine`."""

    # --- what the store promises ---------------------------------------------------------
    #: ``"call"``: an interrupted call is all-or-nothing; ``"entry"``: per entry only.
    atomicity: ClassVar[str] = "call"
    #: A call with valid input and no injected fault never raises.
    valid_calls_succeed: ClassVar[bool] = True
    #: A file the store could not read is never deleted or overwritten (moved aside).
    keeps_corrupt_files: ClassVar[bool] = False
    #: ``updatedAt`` of a route comes from ``ctx.runtime`` (else: any value >= the old one).
    exact_clock: ClassVar[bool] = True
    #: ``update_last_route`` reads the entry fresh (hardened, docs/spec.md); the seed reads through
    #: the cache, which the machine reports as a stale read.
    fresh_route_read: ClassVar[bool] = True
    #: Files the store creates are 0600 and its folders 0700 (P-modes), looked at after
    #: every call.
    private_modes: ClassVar[bool] = False
    #: No temp or lock file outlives the call that made it (P-no-leftovers while running),
    #: looked at after every call while no crash has happened (a crashed writer's files
    #: are the next start-up's to clean, which the scenarios judge after recovery).
    cleans_up_while_running: ClassVar[bool] = False
    #: Exceptions that mean "the call failed and said so" (anything else is a bug).
    reported_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError, StoreError)

    # --- what the machine does -------------------------------------------------------------
    processes: ClassVar[int] = 2
    entry_size: ClassVar[str] = "tiny"
    hostile_keys: ClassVar[bool] = True
    #: Rules to run (``None``: every rule the store supports); names from :data:`RULES`.
    only_rules: ClassVar[frozenset[str] | None] = None
    skip_rules: ClassVar[frozenset[str]] = frozenset()
    supports_crash: ClassVar[bool] = False
    #: A crash is drawn before operation 1..crash_ops of the next call.
    crash_ops: ClassVar[int] = 40
    supports_restart: ClassVar[bool] = True
    supports_migrate: ClassVar[bool] = False
    supports_corrupt: ClassVar[bool] = False
    #: An ``update`` whose mutator raises (only in process: a mutator crosses no pipe).
    supports_refusal: ClassVar[bool] = True
    store_name: ClassVar[str] = "sessions.json"

    # --- hooks -------------------------------------------------------------------------------
    def open_store(self, ctx: StoreContext) -> StoreLike:
        """Open the store under test (a new object over the same files each time)."""
        raise NotImplementedError("subclasses open their store here")

    def migrate_store(self, ctx: StoreContext) -> bool:
        """Run the start-up migration (only with ``supports_migrate``)."""
        raise NotImplementedError

    def file_of(self, store: Any, key: str) -> str | None:
        """The file holding ``key`` (for ``corrupt_file``), or ``None``."""
        return None

    def make_root(self) -> str:
        """A fresh, empty folder for this run's files (a harness temp root)."""
        return make_root("machine")

    def remove_root(self, root: str) -> None:
        """Remove what :meth:`make_root` made; a folder that is no harness temp root (an
        override's own, or an in-memory store's name) is left alone."""
        if is_inside_root(root):
            remove_root(root)

    def plain_fs(self) -> FileSystem:
        """The seam under the faults (and the one the observer reads through)."""
        return OsFileSystem()

    def real_io(self) -> contextlib.AbstractContextManager[None]:
        """Context in which ``open()`` reaches the real disk (to write failure files)."""
        return contextlib.nullcontext()

    def describe(self) -> dict[str, Any]:
        """Configuration written into failure files."""
        return {"machine": type(self).__name__}

    # --- machinery ---------------------------------------------------------------------------
    def __init__(self) -> None:
        super().__init__()
        self.root = self.make_root()
        self.plain = self.plain_fs()
        self.clock = MachineClock()
        self._tokens = itertools.count(1)
        self.store_path = os.path.join(self.root, self.store_name)
        self.state: StoreMap = {}
        self.legacy_mode = self.supports_migrate  # auto layout: legacy until migrated
        self._migration_pending = False
        self.history = History()
        self.log: list[str] = []
        self.crashes: list[_Crash] = []
        self.corrupt_blobs: list[bytes] = []
        self._expect: Expectation | None = None
        self._reset_windows: set[int] = set()
        self.procs = [_Process(i, _SwitchableSeam(self.plain)) for i in range(self.processes)]
        for proc in self.procs:
            self._start(proc)
        self.observer = self.open_store(self._context(-1, self.plain, SessionCache()))

    def _runtime(self) -> Runtime:
        return Runtime(
            now_ms=self.clock.now_ms,
            new_token=lambda: f"m{next(self._tokens):08x}",
            pid=SIMULATED_PID,
            sleep=self.clock.sleep,
        )

    def _context(self, index: int, fs: FileSystem, cache: SessionCache) -> StoreContext:
        return StoreContext(self.store_path, fs, self._runtime(), cache, index)

    def _start(self, proc: _Process) -> None:
        proc.cache = SessionCache()
        ctx = self._context(proc.index, proc.seam, proc.cache)
        if self.supports_migrate:
            self.migrate_store(ctx)
        proc.store = self.open_store(ctx)
        proc.window = [self.state]

    def _close(self, store: Any) -> None:
        close = getattr(store, "close", None)
        if close is not None:
            with contextlib.suppress(SimulatedCrash):
                close()

    def teardown(self) -> None:
        try:
            for proc in self.procs:
                self._close(proc.store)
            self._close(self.observer)
        finally:
            self.remove_root(self.root)

    def _rule_on(self, name: str) -> bool:
        if name in self.skip_rules or (self.only_rules is not None and name not in self.only_rules):
            return False
        return {
            "migrate": self.supports_migrate,
            "restart": self.supports_restart,
            "arm_crash": self.supports_crash,
            "corrupt_file": self.supports_corrupt,
            "refused_update": self.supports_refusal,
        }.get(name, True)

    # --- drawing ---------------------------------------------------------------------------
    def _strategy(self, name: str) -> st.SearchStrategy[Any]:
        return _cached_strategies(self.entry_size, self.hostile_keys)[name]

    def _proc(self, data: st.DataObject) -> _Process:
        return self.procs[data.draw(st.integers(0, self.processes - 1), label="process")]

    def _key(self, data: st.DataObject) -> str:
        return _draw_key(data, sorted(self.state), self._strategy("keys"))

    def _entry(self, data: st.DataObject) -> StoreMap:
        entry: StoreMap = data.draw(self._strategy("entry"), label="entry")
        return entry

    # --- running one call --------------------------------------------------------------------
    def _run(self, proc: _Process, call: str, fn: Callable[[Any], Any]) -> tuple[str, Any]:
        """Run ``fn(store)`` in ``proc``: (status, result-or-error)."""
        plan, proc.armed = proc.armed, None
        fault = FaultFileSystem(self.plain, self.root, plan) if plan is not None else None
        try:
            scope: contextlib.AbstractContextManager[None] = (
                proc.seam.using(fault) if fault is not None else contextlib.nullcontext()
            )
            with scope:
                result = fn(proc.store)
        except SimulatedCrash:
            assert fault is not None and plan is not None
            self.crashes.append(
                _Crash(len(self.log), call, plan, [o.to_json() for o in fault.trace], self._files())
            )
            return "indeterminate", None
        except self.reported_errors as exc:
            if self.valid_calls_succeed and fault is None:
                self._fail(
                    "unexpected-error",
                    f"{call} raised {type(exc).__name__}: {exc} on valid input, no fault",
                )
            return "failed", exc
        return "ok", result

    def _mutate(
        self,
        proc: _Process,
        call: str,
        fn: Callable[[Any], Any],
        model: Callable[[StoreMap, IntRange], list[tuple[StoreMap, Any]]],
        *,
        check_result: Callable[[Any, list[tuple[StoreMap, Any]]], list[StoreMap]] | None = None,
    ) -> None:
        """One state-changing call of ``proc``, and what the observer may find after it."""
        self.clock.advance(STEP_MS)
        before = self.state
        lo = self.clock.ms
        status, result = self._run(proc, call, fn)
        # Without an exact clock the store stamps with a clock of its own (another
        # process's wall clock): any value, which the model keeps >= the old one.
        now = IntRange(lo, self.clock.ms) if self.exact_clock else IntRange(0, None)
        outcomes = model(before, now)
        after = [s for s, _r in outcomes]
        if status == "ok" and check_result is not None:
            after = check_result(result, outcomes)
        self.log.append(f"P{proc.index} {call} -> {status}{self._short_result(result)}")
        self._expect = Expectation(
            call, [before], after, certain=status == "ok", mix=self.atomicity == "entry"
        )
        if status == "ok":
            self._reset_windows.add(proc.index)
        if status == "indeterminate":
            self._recover(proc)

    @staticmethod
    def _short_result(result: Any) -> str:
        if result is None:
            return ""
        text = repr(result)
        return f" {text[:70]}{'...' if len(text) > 70 else ''}"

    def _recover(self, proc: _Process) -> None:
        """The crashed process starts again; the auto layout migrates first."""
        self._close(proc.store)
        self.clock.advance(RESTART_MS)
        try:
            self._start(proc)
        except self.reported_errors as exc:
            self._fail("unloadable", f"restart after the crash failed: {exc!r}")
        self._migrated_by_restart()
        self._reset_windows.add(proc.index)

    def _migrated_by_restart(self) -> None:
        """A start-up migration ran: the expectation moves on through it."""
        if not self.supports_migrate or not self.legacy_mode:
            return
        exp = self._expect or Expectation("restart", [self.state], [self.state])
        options = exp.options()
        if exp.mix:
            options = [*options, *self._mixes(exp)]
        migrated = [m for s in options for m in (model_migrate(s) if s else [s])]
        # Whether it migrated depends on which of the options the files were in (an
        # indeterminate first save may have written nothing): the invariant decides it
        # from what it finds (found by the deep run: a crashed save, then migrate()
        # returning True where the model, assuming a migration, expected False).
        self._migration_pending = True
        self._expect = Expectation(exp.call + " + start-up migration", options, migrated)

    @staticmethod
    def _mixes(exp: Expectation) -> list[StoreMap]:
        """Every per-entry mix of before and after (only for small diffs)."""
        out: list[StoreMap] = []
        for b, a in itertools.product(exp.before, exp.after):
            diff = sorted(k for k in set(b) | set(a) if b.get(k, _MISSING) != a.get(k, _MISSING))
            if len(diff) > 8:
                continue
            for mask in itertools.product([False, True], repeat=len(diff)):
                mixed = dict(b)
                for take, key in zip(mask, diff, strict=True):
                    if take:
                        if key in a:
                            mixed[key] = a[key]
                        else:
                            mixed.pop(key, None)
                out.append(mixed)
        return out

    def _pick_result(
        self, proc: _Process, call: str, model: Callable[[StoreMap], list[tuple[StoreMap, Any]]]
    ) -> Callable[[Any, list[tuple[StoreMap, Any]]], list[StoreMap]]:
        """Check a returned value against the model; name a result built from stale data."""

        def check(result: Any, outcomes: list[tuple[StoreMap, Any]]) -> list[StoreMap]:
            fitting = [s for s, r in outcomes if _conforms(result, r)]
            if fitting:
                return fitting
            for old in proc.window[:-1]:
                if canonical(old) == canonical(self.state):
                    continue
                if any(_conforms(result, r) for _s, r in model(old)):
                    self._fail(
                        "stale-read",
                        f"{call} returned {_short(result)}: built from an older state of "
                        "the store (a stale read, e.g. through the cache), so its write "
                        f"undoes later changes (a lost update); expected "
                        f"{' or '.join(_short(r) for _s, r in outcomes)}",
                    )
            self._fail(
                "wrong-result",
                f"{call} returned {_short(result)}, expected "
                f"{' or '.join(_short(r) for _s, r in outcomes)}",
            )

        return check

    # --- the invariant -------------------------------------------------------------------------
    @invariant()
    def store_matches_model(self) -> None:
        exp = self._expect or Expectation("(no change)", [self.state], [self.state])
        try:
            found = self.observer.load(skip_cache=True)
        except self.reported_errors as exc:
            self._fail("unloadable", f"after {exp.call}: load failed: {exc!r}")
        if not exp.admits(found):
            self._fail(*self._explain(found, exp))
        self._note_history(exp, found)
        changed = canonical(found) != canonical(self.state)
        self.state = found
        if self._migration_pending:
            # A start-up migration moves a non-empty legacy map and nothing else.
            self.legacy_mode = not found
            self._migration_pending = False
        for proc in self.procs:
            # A process's own write invalidates its cache; a call that wrote nothing
            # may leave an old map there (the seed skips the invalidation then).
            if changed and proc.index in self._reset_windows:
                proc.window = [found]
            elif changed:
                proc.window.append(found)
        self._reset_windows.clear()
        self._expect = None
        if self.keeps_corrupt_files and self.corrupt_blobs:
            self._check_corrupt_kept()
        if self.private_modes or self.cleans_up_while_running:
            self._check_running_files(exp.call)

    def _check_running_files(self, call: str) -> None:
        """P-modes and P-no-leftovers between calls: what a running store leaves."""
        paths: list[tuple[str, FileStat]] = []

        def walk(folder: str) -> None:
            for name in self.plain.listdir(folder):
                path = os.path.join(folder, name)
                found = self.plain.stat(path)
                paths.append((os.path.relpath(path, self.root), found))
                if found.is_dir:
                    walk(path)

        walk(self.root)
        if self.private_modes:
            loose = [
                f"{rel} {stat_module.S_IMODE(found.mode):04o}"
                for rel, found in paths
                if (found.is_dir or stat_module.S_ISREG(found.mode))
                and stat_module.S_IMODE(found.mode) & 0o077
            ]
            if loose:
                self._fail(
                    "wrong-mode",
                    f"after {call}: others may read or change what the store made "
                    f"(files must be 0600, folders 0700): {loose[:5]}",
                )
        if self.cleans_up_while_running and not self.crashes:
            left = [
                rel
                for rel, found in paths
                if not found.is_dir and (is_temp_name(rel) or rel.endswith(".lock"))
            ]
            if left:
                kind = "leftover-temp" if any(is_temp_name(r) for r in left) else "leftover-lock"
                self._fail(
                    kind,
                    f"after {call}, which returned, its files stay: {left[:5]} (no crash "
                    "happened, so no start-up will clean them)",
                )

    def _note_history(self, exp: Expectation, found: StoreMap) -> None:
        if not exp.certain:
            return
        for key in set(found) | set(self.state):
            if found.get(key, _MISSING) == self.state.get(key, _MISSING):
                continue
            self.history.touched.add(key)
            if key in found:
                self.history.acked_writes[key] = found[key]
                self.history.acked_deletes.discard(key)
            else:
                self.history.acked_deletes.add(key)
                self.history.acked_writes.pop(key, None)

    def _explain(self, found: StoreMap, exp: Expectation) -> tuple[str, str]:
        options = [_settle(s, found) for s in exp.options()]
        if not exp.certain and _is_mix(found, exp):
            keys = sorted(
                k
                for b in exp.before
                for a in exp.after
                for k in set(b) | set(a)
                if b.get(k, _MISSING) != a.get(k, _MISSING)
            )
            return (
                "half-applied",
                f"the interrupted call {exp.call} is visible for only some of the entries "
                f"it changes ({keys}): not all-or-nothing",
            )
        violations = classify(found, options, self.history, [])
        kinds = sorted({v.kind for v in violations}) or ["mismatch"]
        details = "; ".join(v.detail for v in violations[:6])
        return (
            kinds[0],
            f"after {exp.call}: {', '.join(kinds)}: {details}",
        )

    def _check_corrupt_kept(self) -> None:
        contents = set(self._file_contents().values())
        for blob in self.corrupt_blobs:
            if blob not in contents:
                self._fail(
                    "corrupt-destroyed",
                    f"a file the store could not read ({blob[:30]!r}) was deleted or "
                    "overwritten instead of being moved aside",
                )

    def _file_contents(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}

        def walk(folder: str) -> None:
            for name in self.plain.listdir(folder):
                path = os.path.join(folder, name)
                if self.plain.stat(path).is_dir:
                    walk(path)
                else:
                    with contextlib.suppress(OSError):
                        out[os.path.relpath(path, self.root)] = self.plain.read_file(path)

        walk(self.root)
        return out

    def _files(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self._file_contents().items())}

    # --- failing -------------------------------------------------------------------------------
    def _fail(self, kind: str, detail: str) -> NoReturn:
        lines = [f"{kind}: {detail}", "calls so far (P<n>: simulated process):"]
        lines += [f"  {i:>3}. {s}" for i, s in enumerate(self.log, 1)]
        if self.crashes:
            path = self._write_failure(kind, detail)
            lines.append(f"crash details (trace, files after the crash): {path}")
        raise MachineFailureError(kind, "\n".join(lines))

    def _write_failure(self, kind: str, detail: str) -> str:
        """One JSON per machine class (the last failing run -- after shrinking, the
        minimal one -- wins). See docs/machines.md for the fields."""
        body = {
            "format": FAILURE_FORMAT,
            **self.describe(),
            "violation": {"kind": kind, "detail": detail},
            "calls": self.log,
            "crashes": [
                {
                    "after_call": c.step,
                    "call": c.call,
                    "plan": c.plan.to_json(),
                    "fault": c.plan.describe(),
                    "trace": c.trace,
                    "files_after_crash": c.files,
                }
                for c in self.crashes
            ],
            "model_before": self.state,
            "reproduce": "re-run the test: Hypothesis prints the minimal steps and a "
            "@reproduce_failure blob (print_blob=True) with this failure",
        }
        name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in type(self).__name__)
        with self.real_io():
            folder = failure_dir()
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, name + ".json")
            with open(path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(body, handle, indent=2, ensure_ascii=False, default=repr)
                handle.write("\n")
            os.replace(path + ".tmp", path)
        return path
