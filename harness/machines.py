"""Hypothesis state machines: random API call sequences, checked against a dict model.

How to use it on your own store (docs/machines.md has the long version)::

    class MyStoreMachine(SessionStoreMachine):
        def open_store(self, ctx: StoreContext) -> StoreLike:
            return my_pkg.open(ctx.store_path, fs=ctx.fs, clock=ctx.runtime.now_ms)

    TestMyStore = MyStoreMachine.TestCase

THE MODEL (one place; every rule and the invariant rely on exactly this):

* The model is the map a fresh load must return, exact keys included (case variants
  are separate keys until a call resolves them). It is written from docs/spec.md, not from
  the reference store: ``save`` replaces the map, ``update`` sets and deletes keys,
  ``update_entry`` / ``update_last_route`` resolve a key (normalized, else trimmed, else
  the newest case variant -- *any* of a tie), store the result under the normalized key
  and drop the variants. Where the spec allows several results the model keeps all of them,
  and the next observation picks the one the store chose.
* Outcomes are Jepsen's: a call that returned is ``ok`` and must be visible entirely; one
  that raised a reported error (``reported_errors``) is ``failed``; one cut by a
  simulated crash is ``indeterminate``. A failed or indeterminate call may be visible
  or not, but only at the granularity the store promises (``atomicity``): ``"call"`` --
  all of it or nothing (legacy file, SQLite, hardened directory with its journal);
  ``"entry"`` -- each entry on its own (the seed directory: one rename per file).
* After every step the invariant loads the store through an *observer* (a separate
  store object with a cache of its own, ``load(skip_cache=True)``) and requires one of
  the states the model allows; the model then becomes exactly what was found.
* Several simulated processes (``processes``) each own a store object, a cache and a
  seam. A process's cache may legitimately be stale (docs/spec.md: TTL cache, invalidated by the
  process's own writes), so a *cached* read of process P may return any state the store
  held since P's last own write; a call that must read fresh (``update_entry``; in
  hardened also ``update_last_route``) may not, and its result is compared with the
  current model -- a result built from an older state is reported as a stale read.
* A crash (rule ``arm_crash``) cuts the next call of one process before operation k of
  that call (optionally after a torn prefix of a write), through
  :class:`~harness.faultfs.FaultFileSystem`. The process is then dead: it restarts at
  once (new store object, new cache; the ``auto`` layout migrates first, as upstream's
  start-up does), and the observer must find the state the outcome rules allow.
* The clock is the machine's: it stands still during a call (moving only when the store
  sleeps) and advances between calls, so ``updatedAt`` of a route is predictable. It
  starts far in the future, so a lock file's real mtime is always older than the stale
  age (a crash can leave one).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, Protocol

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from reference_store import (
    AutoStore,
    DirectoryStore,
    LegacyStore,
    SessionCache,
    StoreError,
    migrate,
    open_store,
)
from reference_store._runtime import SIMULATED_PID, Runtime
from reference_store.fs import FileSystem, FileSystemWrapper, OsFileSystem

from ._oracle import History, check_kind, classify
from ._roots import is_inside_root, make_root, remove_root
from ._workload import canonical, normalize, resolve_candidates, set_in_place
from .faultfs import FaultFileSystem, FaultPlan, SimulatedCrash
from .strategies import (
    case_variant,
    entries,
    machine_entries,
    machine_keys,
    machine_patches,
    machine_routes,
)

__all__ = [
    "FAILURE_FORMAT",
    "RULES",
    "AnyString",
    "DifferentialMachine",
    "IntRange",
    "MachineClock",
    "MachineFailureError",
    "ReferenceStoreMachine",
    "SessionStoreMachine",
    "StoreContext",
    "StoreLike",
    "differential_machine",
    "failure_dir",
    "model_migrate",
    "model_route",
    "model_update_entry",
    "reference_file_of",
    "reference_machine",
    "resolve",
]

StoreMap = dict[str, Any]
FAILURE_FORMAT = "store-harness.machine-failure/1"
#: Where failure files go unless ``STORE_HARNESS_MACHINE_FAILURES`` names a folder.
FAILURE_ENV = "STORE_HARNESS_MACHINE_FAILURES"
CLOCK_START_MS = 4_000_000_000_000  # year 2096: see THE MODEL, last point
STEP_MS = 1_000
RESTART_MS = 60_000  # longer than the 30 s lock stale age: a dead process's lock expires
#: The rules of :class:`SessionStoreMachine`, by name (for ``only_rules``/``skip_rules``).
RULES = frozenset(
    [
        "save",
        "update",
        "update_entry",
        "update_last_route",
        "read_updated_at",
        "load",
        "migrate",
        "restart",
        "arm_crash",
        "corrupt_file",
        "insert_case_variants",
    ]
)


class StoreLike(Protocol):
    """The API of docs/spec.md that the machines drive (``close`` is optional)."""

    def load(self, skip_cache: bool = False) -> StoreMap: ...

    def save(self, mapping: StoreMap) -> None: ...

    def update(self, mutator: Callable[[StoreMap], Any]) -> Any: ...

    def update_entry(
        self, key: str, patch_fn: Callable[[StoreMap], StoreMap | None]
    ) -> StoreMap | None: ...

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> StoreMap: ...

    def read_updated_at(self, key: str) -> int | None: ...


class MachineFailureError(AssertionError):
    """A machine found the store breaking a promise; ``kind`` names which one."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = check_kind(kind)


# --- values the model cannot know exactly -------------------------------------------------
@dataclass(frozen=True)
class AnyString:
    """Any string: the ``sessionId`` a store mints for a route that creates an entry."""

    def __repr__(self) -> str:
        return "<any string>"


@dataclass(frozen=True)
class IntRange:
    """An integer in ``[lo, hi]``: ``updatedAt`` when the clock moved during the call."""

    lo: int
    hi: int | None

    def __repr__(self) -> str:
        return f"<int {self.lo}..{'' if self.hi is None else self.hi}>"


_MISSING = object()


def _conforms(found: Any, want: Any) -> bool:
    if isinstance(want, AnyString):
        return isinstance(found, str)
    if isinstance(want, IntRange):
        return (
            isinstance(found, int)
            and not isinstance(found, bool)
            and found >= want.lo
            and (want.hi is None or found <= want.hi)
        )
    if isinstance(want, dict):
        return (
            isinstance(found, dict)
            and found.keys() == want.keys()
            and all(_conforms(found[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(found, list)
            and len(found) == len(want)
            and all(_conforms(f, w) for f, w in zip(found, want, strict=True))
        )
    return bool(found == want) and type(found) is type(want)


def _settle(want: Any, found: Any) -> Any:
    """``want`` with each wildcard replaced by ``found``'s value where that conforms."""
    if isinstance(want, (AnyString, IntRange)):
        return found if _conforms(found, want) else repr(want)
    if isinstance(want, dict) and isinstance(found, dict):
        return {k: _settle(v, found.get(k, _MISSING)) for k, v in want.items()}
    return want


# --- the model ----------------------------------------------------------------------------
def _updated_at(entry: Any) -> int:
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def resolve(state: Mapping[str, Any], key: str) -> list[str]:
    """Stored keys a call on ``key`` may mean (docs/spec.md key resolution; all of a tie)."""
    return resolve_candidates(state, key)


def _store_resolved(state: Mapping[str, Any], key: str, entry: Any) -> StoreMap:
    normalized = normalize(key)
    new = {k: v for k, v in state.items() if normalize(k) != normalized}
    new[normalized] = entry
    return new


def model_update_entry(
    state: Mapping[str, Any], key: str, patch: Mapping[str, Any] | None, now: IntRange
) -> list[tuple[StoreMap, Any]]:
    """(state after, value returned) for each result the spec allows: the patch merged
    shallowly, ``updatedAt`` stamped to ``max(old, patch, now)`` and a missing
    ``sessionId`` kept or minted (upstream's mergeSessionEntry)."""
    found = resolve(state, key)
    if not found:
        return [(dict(state), None)]
    results: list[tuple[StoreMap, Any]] = []
    for stored in found:
        entry = state[stored]
        if patch is None:
            results.append((dict(state), copy.deepcopy(entry)))
            continue
        merged = {**entry, **copy.deepcopy(dict(patch))}
        base = max(_updated_at(entry), _updated_at(patch))
        lo = max(base, now.lo)
        hi = None if now.hi is None else max(base, now.hi)
        merged["updatedAt"] = lo if hi == lo else IntRange(lo, hi)
        if merged.get("sessionId") is None:
            kept = entry.get("sessionId") if isinstance(entry, dict) else None
            merged["sessionId"] = AnyString() if kept is None else kept
        results.append((_store_resolved(state, key, merged), merged))
    return results


def model_route(
    state: Mapping[str, Any], key: str, route: Mapping[str, Any], now: IntRange
) -> list[tuple[StoreMap, Any]]:
    found: list[str | None] = list(resolve(state, key)) or [None]
    results: list[tuple[StoreMap, Any]] = []
    for stored in found:
        existing = state.get(stored) if stored is not None else None
        entry: dict[str, Any] = (
            copy.deepcopy(existing)
            if isinstance(existing, dict)
            else {"sessionId": AnyString(), "updatedAt": 0}
        )
        channel, to = route["channel"], route["to"]
        account, thread = route.get("account_id"), route.get("thread_id")
        entry["lastChannel"] = channel
        entry["lastTo"] = to
        if account is not None:
            entry["lastAccountId"] = account
        if thread is not None:
            entry["lastThreadId"] = thread
        entry["deliveryContext"] = {
            "channel": channel,
            "to": to,
            "accountId": account,
            "threadId": thread,
        }
        old = _updated_at(existing)
        lo = max(old, now.lo)
        hi = None if now.hi is None else max(old, now.hi)
        entry["updatedAt"] = lo if hi == lo else IntRange(lo, hi)
        results.append((_store_resolved(state, key, entry), entry))
    return results


def model_migrate(state: Mapping[str, Any]) -> list[StoreMap]:
    """Deduplicated by normal form, newest ``updatedAt`` wins (any of a tie)."""
    groups: dict[str, list[str]] = {}
    for key in state:
        groups.setdefault(normalize(key), []).append(key)
    results: list[StoreMap] = [{}]
    for normalized, members in groups.items():
        best = max(_updated_at(state[k]) for k in members)
        options = {
            # repr for wildcards: an uncertain route may have minted an unknown sessionId.
            json.dumps(state[k], sort_keys=True, default=repr): state[k]
            for k in members
            if _updated_at(state[k]) == best
        }
        results = [{**r, normalized: e} for r in results for e in options.values()]
    return results


@dataclass
class Expectation:
    """What the observer may find after one call."""

    call: str
    before: list[StoreMap]
    after: list[StoreMap]
    certain: bool = True  # False: failed or indeterminate
    mix: bool = False  # per-entry granularity for an uncertain call

    def options(self) -> list[StoreMap]:
        return self.after if self.certain else [*self.before, *self.after]

    def admits(self, found: Mapping[str, Any]) -> bool:
        if any(_conforms(dict(found), s) for s in self.options()):
            return True
        if self.certain or not self.mix:
            return False
        for b, a in itertools.product(self.before, self.after):
            keys = set(found) | set(b) | set(a)
            if all(
                _conforms(found.get(k, _MISSING), b.get(k, _MISSING))
                or _conforms(found.get(k, _MISSING), a.get(k, _MISSING))
                for k in keys
            ):
                return True
        return False


def _is_mix(found: Mapping[str, Any], exp: Expectation) -> bool:
    return not exp.certain and Expectation(exp.call, exp.before, exp.after, False, True).admits(
        found
    )


# --- processes, clock, seam -----------------------------------------------------------------
class MachineClock:
    """Milliseconds that stand still during a call and move when slept on or advanced."""

    def __init__(self, start_ms: int = CLOCK_START_MS) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += max(1, round(seconds * 1000))

    def advance(self, ms: int) -> None:
        self.ms += ms


class _SwitchableSeam(FileSystemWrapper):
    """A process's seam: the plain one, or for one call a fault filesystem over it."""

    def __init__(self, plain: FileSystem) -> None:
        super().__init__(plain)
        self.plain = plain

    @contextlib.contextmanager
    def using(self, fs: FileSystem) -> Iterator[None]:
        self.inner = fs
        try:
            yield
        finally:
            self.inner = self.plain


@dataclass(frozen=True)
class StoreContext:
    """Everything a store opened by a machine should use.

    ``fs`` is the seam to do all file I/O through (crash rules work only if the store
    does); ``runtime`` gives the clock and fresh tokens; ``cache`` is this simulated
    process's cache (a restart gets a new one).
    """

    store_path: str
    fs: FileSystem
    runtime: Runtime
    cache: SessionCache
    process: int


@dataclass
class _Process:
    index: int
    seam: _SwitchableSeam
    store: Any = None
    cache: SessionCache = field(default_factory=SessionCache)
    window: list[StoreMap] = field(default_factory=list)
    armed: FaultPlan | None = None


@dataclass
class _Crash:
    step: int
    call: str
    plan: FaultPlan
    trace: list[dict[str, Any]]
    files: dict[str, int]


class NoSyncFileSystem(FileSystemWrapper):
    """A seam whose ``fsync`` and folder ``fsync`` do nothing (but still count as
    operations for crash points).

    Machines model process crashes, after which the page cache survives, so a sync
    changes nothing they can observe; on a slow shared disk it is most of the run time.
    Power loss, where a sync matters, is the crash explorer's business.
    """

    def fsync(self, handle: int) -> None:
        return None

    def fsync_dir(self, path: str) -> None:
        return None


@functools.lru_cache(maxsize=32)
def _cached_strategies(size: str, hostile: bool) -> dict[str, st.SearchStrategy[Any]]:
    # Built once: Hypothesis describes every new strategy object (lambdas included),
    # which costs more than the draws themselves when done on every step.
    return {
        "keys": machine_keys(hostile=hostile),
        "key_lists": st.lists(machine_keys(hostile=hostile), max_size=3, unique=True),
        "entry": machine_entries() if size == "tiny" else entries(size),
        "patch": st.one_of(st.none(), machine_patches()),
        "route": machine_routes(),
    }


_KEY_KINDS = st.sampled_from(["existing", "variant", "new"])


@functools.lru_cache(maxsize=256)
def _index(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


_BITS = st.integers(0, 2**16 - 1)


def _draw_key(data: st.DataObject, existing: list[str], new: st.SearchStrategy[str]) -> str:
    """An existing key, a case variant of one, or a key from ``new``.

    Few, cached strategies and one integer per choice: drawing is most of a step's
    cost, and a short choice sequence is what lets failures shrink fast.
    """
    kind = data.draw(_KEY_KINDS, label="key kind") if existing else "new"
    if kind == "new":
        key: str = data.draw(new, label="key")
        return key
    key = existing[data.draw(_index(len(existing)), label="key index")]
    if kind == "variant":
        key = case_variant(key, data.draw(_BITS, label="case bits"))
    return key


def failure_dir() -> str:
    return os.environ.get(FAILURE_ENV) or os.path.join(
        tempfile.gettempdir(), "store-harness-machine-failures"
    )


def _on(name: str) -> Callable[[Any], bool]:
    def enabled(self: Any) -> bool:
        return bool(self._rule_on(name))

    return enabled


class SessionStoreMachine(RuleBasedStateMachine):
    """Model-based test of one session store; subclass it and implement :meth:`open_store`.

    Class attributes say what the store promises and which rules apply; hooks say how
    to open, migrate and find its files. See the module docstring for the model.
    """

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
        now = IntRange(lo, self.clock.ms if self.exact_clock else None)
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

    # --- rules -------------------------------------------------------------------------------
    @initialize(data=st.data())
    def initial_store(self, data: st.DataObject) -> None:
        keys = data.draw(
            self._strategy("key_lists"),
            label="initial keys",
        )
        if not keys:
            return
        mapping = {k: self._entry(data) for k in keys}
        proc = self.procs[0]
        self._mutate(
            proc,
            f"save({sorted(mapping)}) [initial]",
            lambda s: s.save(copy.deepcopy(mapping)),
            lambda _state, _now: [(copy.deepcopy(mapping), None)],
        )

    @precondition(_on("save"))
    @rule(data=st.data())
    def save(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        keep = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), unique=True)
            if self.state
            else st.just([]),
            label="keep",
        )
        fresh = data.draw(
            self._strategy("key_lists"),
            label="new keys",
        )
        mapping = {k: self.state[k] for k in keep}
        mapping.update({k: self._entry(data) for k in fresh})
        self._mutate(
            proc,
            f"save({sorted(mapping)})",
            lambda s: s.save(copy.deepcopy(mapping)),
            lambda _state, _now: [(copy.deepcopy(mapping), None)],
        )

    @precondition(_on("update"))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        count = data.draw(st.integers(0, 3), label="sets")
        sets = {self._key(data): self._entry(data) for _ in range(count)}
        deletes = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
            if self.state
            else st.just([]),
            label="deletes",
        )
        # Entries changed in place, top level and nested, as callers do: a store that
        # diffs objects shared with the mutator's map never sees these changes.
        in_place = {
            key: {
                "inPlace": data.draw(st.integers(0, 10**6), label="in-place value"),
                "deliveryContext.to": data.draw(st.text(max_size=5), label="nested value"),
            }
            for key in data.draw(
                st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
                if self.state
                else st.just([]),
                label="changed in place",
            )
        }
        if not sets and not deletes and not in_place:
            sets = {self._key(data): self._entry(data)}
        touched = len(sets) + len(deletes) + len(in_place)

        def mutator(current: StoreMap) -> int:
            for key, changes in in_place.items():
                if key in current:
                    set_in_place(current[key], changes)
            current.update(copy.deepcopy(sets))
            for key in deletes:
                current.pop(key, None)
            return touched

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            new = dict(state)
            for key, changes in in_place.items():
                if key in new:
                    new[key] = copy.deepcopy(new[key])
                    set_in_place(new[key], changes)
            new.update(copy.deepcopy(sets))
            for key in deletes:
                new.pop(key, None)
            return [(new, touched)]

        changed = f", in place {sorted(in_place)}" if in_place else ""
        self._mutate(
            proc,
            f"update(set {sorted(sets)}, delete {deletes}{changed})",
            lambda s: s.update(mutator),
            model,
        )

    @precondition(_on("update_entry"))
    @rule(data=st.data())
    def update_entry(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        patch = data.draw(self._strategy("patch"), label="patch")
        call = f"update_entry({key!r}, {'None' if patch is None else sorted(patch)})"
        self._mutate(
            proc,
            call,
            lambda s: s.update_entry(key, lambda _e: copy.deepcopy(patch)),
            lambda state, now: model_update_entry(state, key, patch, now),
            check_result=self._pick_result(
                proc, call, lambda state: model_update_entry(state, key, patch, IntRange(0, None))
            ),
        )

    @precondition(_on("update_last_route"))
    @rule(data=st.data())
    def update_last_route(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        route = data.draw(self._strategy("route"), label="route")
        call = f"update_last_route({key!r}, {route})"
        loose = IntRange(0, None)
        self._mutate(
            proc,
            call,
            lambda s: s.update_last_route(key, **route),
            lambda state, now: model_route(state, key, route, now),
            check_result=self._pick_result(
                proc, call, lambda state: model_route(state, key, route, loose)
            ),
        )

    @precondition(_on("insert_case_variants"))
    @rule(data=st.data())
    def insert_case_variants(self, data: st.DataObject) -> None:
        """What an older gateway left: variants of a key beside it (or instead of it)."""
        cased = sorted(k for k in self.state if k.lower() != k.upper())
        if not cased:
            return
        proc = self._proc(data)
        original = data.draw(st.sampled_from(cased), label="original")
        count = data.draw(st.integers(1, 2), label="variants")
        tie = data.draw(st.booleans(), label="same updatedAt")
        replace = data.draw(st.booleans(), label="replace original")
        sets: StoreMap = {}
        for _ in range(count):
            variant = case_variant(original, data.draw(_BITS, label="case bits"))
            if variant in self.state or variant in sets:
                continue
            entry = self._entry(data)
            if tie:
                entry["updatedAt"] = _updated_at(self.state[original])
            sets[variant] = entry
        if not sets:
            return
        deletes = [original] if replace else []

        def mutator(current: StoreMap) -> None:
            current.update(copy.deepcopy(sets))
            for key in deletes:
                current.pop(key, None)

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            new = {**state, **copy.deepcopy(sets)}
            for key in deletes:
                new.pop(key, None)
            return [(new, None)]

        self._mutate(
            proc,
            f"insert variants {list(sets)} of {original!r}{' replacing it' if replace else ''}",
            lambda s: s.update(mutator),
            model,
        )

    @precondition(_on("read_updated_at"))
    @rule(data=st.data())
    def read_updated_at(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        call = f"read_updated_at({key!r})"
        status, result = self._run(proc, call, lambda s: s.read_updated_at(key))
        self._after_read(proc, call, status, result)
        if status != "ok":
            return

        def value(state: StoreMap) -> int | None:
            found = resolve(state, key)
            return _updated_at(state[found[0]]) if found else None

        # A cached read (legacy) may see any state since this process's last write.
        allowed = [value(s) for s in proc.window]
        if result not in allowed:
            hint = ""
            exact = self.state.get(key.strip())
            if result is None and exact is None and value(self.state) is not None:
                hint = " (the entry is stored under a case variant only: it is invisible)"
            self._fail(
                "wrong-read",
                f"{call} returned {result!r}, expected {allowed[-1]!r}{hint}",
            )

    @precondition(_on("load"))
    @rule(data=st.data())
    def load(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        skip = data.draw(st.booleans(), label="skip_cache")
        call = f"load(skip_cache={skip})"
        status, result = self._run(proc, call, lambda s: s.load(skip_cache=skip))
        self._after_read(proc, call, status, result)
        if status != "ok":
            return
        if skip:
            if _conforms(result, self.state):
                return
            self._fail(
                "wrong-read", f"{call} returned {_short(result)}, expected {_short(self.state)}"
            )
        for index, state in enumerate(proc.window):
            if _conforms(result, state):
                # The cache now holds this state: older ones cannot come back.
                proc.window = proc.window[index:]
                return
        self._fail(
            "stale-read",
            f"{call} returned {_short(result)}, a state the store never held since this "
            f"process last wrote; expected {_short(self.state)}",
        )

    def _after_read(self, proc: _Process, call: str, status: str, result: Any) -> None:
        self.log.append(f"P{proc.index} {call} -> {status}{self._short_result(result)}")
        if status == "indeterminate":
            self._expect = Expectation(call, [self.state], [self.state])
            self._recover(proc)

    @precondition(_on("migrate"))
    @rule(data=st.data())
    def migrate(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        ctx = self._context(proc.index, proc.seam, proc.cache)
        was_legacy = self.legacy_mode and bool(self.state)

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            if not was_legacy:
                return [(state, False)]
            return [(m, True) for m in model_migrate(state)]

        def check(result: Any, outcomes: list[tuple[StoreMap, Any]]) -> list[StoreMap]:
            if result is not was_legacy:
                self._fail("wrong-result", f"migrate returned {result!r}, expected {was_legacy}")
            return [s for s, _r in outcomes]

        self._mutate(
            proc, "migrate()", lambda _s: self.migrate_store(ctx), model, check_result=check
        )
        if was_legacy and self._expect is not None and self._expect.certain:
            self.legacy_mode = False

    @precondition(_on("restart"))
    @rule(data=st.data())
    def restart(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        self.log.append(f"P{proc.index} restart")
        self._close(proc.store)
        self.clock.advance(RESTART_MS)
        try:
            self._start(proc)
        except self.reported_errors as exc:
            self._fail("unloadable", f"restart failed: {exc!r}")
        self._migrated_by_restart()
        self._reset_windows.add(proc.index)

    @precondition(
        lambda self: self._rule_on("arm_crash") and any(p.armed is None for p in self.procs)
    )
    @rule(data=st.data())
    def arm_crash(self, data: st.DataObject) -> None:
        """The next call of one process dies before its k-th I/O operation."""
        proc = self._proc(data)
        # Half the draws fall within a short call's operations (a single-key write
        # is about a dozen): a point past the end of the call crashes nothing.
        at = data.draw(
            st.one_of(st.integers(1, 12), st.integers(1, self.crash_ops)),
            label="crash before operation",
        )
        torn = data.draw(st.one_of(st.none(), st.integers(1, 64)), label="torn bytes")
        proc.armed = FaultPlan(crash_at=at, torn_bytes=torn)
        self.log.append(f"P{proc.index} arm crash: {proc.armed.describe()} of its next call")

    @precondition(lambda self: self._rule_on("corrupt_file") and bool(self.state))
    @rule(data=st.data())
    def corrupt_file(self, data: st.DataObject) -> None:
        """Someone (a crash of another program, a disk) damages the file of one key."""
        key = data.draw(st.sampled_from(sorted(self.state)), label="key")
        path = self.file_of(self.observer, key)
        if path is None or not self.plain.exists(path):
            return
        n = len(self.corrupt_blobs) + 1
        blob = data.draw(
            st.sampled_from(
                [
                    b"",
                    b'{"sessionId": "torn-%d' % n,
                    b"\x00\xff garbage %d" % n,
                    b'["corrupt %d"]' % n,
                ]
            ),
            label="garbage",
        )
        lost = [k for k in self.state if self.file_of(self.observer, k) == path]
        self.plain.write_file(path, blob)
        if blob:
            self.corrupt_blobs.append(blob)
        self.log.append(f"corrupt {os.path.relpath(path, self.root)} (holds {lost})")
        after = {k: v for k, v in self.state.items() if k not in lost}
        self._expect = Expectation(f"corrupt file of {key!r}", [self.state], [after])

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


def reference_file_of(store: Any, key: str) -> str | None:
    """The file that holds ``key`` in a reference store (or a wrapper of one that sets
    ``__wrapped__``, as a mutant's does); ``None`` for SQLite or a store of another kind."""
    store = getattr(store, "__wrapped__", store)
    active = store.active() if isinstance(store, AutoStore) else store
    if isinstance(active, LegacyStore):
        return active.store_path
    if isinstance(active, DirectoryStore):
        return active.path_of(active.file_name(key))
    return None


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the reference store ---------------------------------------------------------------------
class ReferenceStoreMachine(SessionStoreMachine):
    """:class:`SessionStoreMachine` for ``reference_store``; build one with
    :func:`reference_machine` (layout, profile, backend)."""

    layout: ClassVar[str] = "directory"
    profile: ClassVar[str] = "hardened"
    backend: ClassVar[str] = "real"
    #: See :class:`NoSyncFileSystem`.
    skip_fsync: ClassVar[bool] = True
    _patcher: Any = None

    def make_root(self) -> str:
        if self.backend == "fake":
            from pyfakefs.fake_filesystem_unittest import Patcher

            self._patcher = Patcher()
            self._patcher.setUp()
            root = "/machine/store"
            self._patcher.fs.create_dir(root)
            return root
        return super().make_root()

    def remove_root(self, root: str) -> None:
        if self._patcher is not None:
            self._patcher.tearDown()
            self._patcher = None
            return
        super().remove_root(root)

    def real_io(self) -> contextlib.AbstractContextManager[None]:
        patcher = self._patcher
        if patcher is None:
            return contextlib.nullcontext()

        @contextlib.contextmanager
        def paused() -> Iterator[None]:
            patcher.pause()
            try:
                yield
            finally:
                patcher.resume()

        return paused()

    def plain_fs(self) -> FileSystem:
        return NoSyncFileSystem(OsFileSystem()) if self.skip_fsync else OsFileSystem()

    def open_store(self, ctx: StoreContext) -> StoreLike:
        return open_store(
            ctx.store_path,
            self.layout,
            self.profile,
            # SQLite does its own I/O and insists on the real seam.
            None if self.layout == "sqlite" else ctx.fs,
            runtime=ctx.runtime,
            cache=ctx.cache,
        )

    def migrate_store(self, ctx: StoreContext) -> bool:
        return migrate(ctx.store_path, self.profile, ctx.fs, runtime=ctx.runtime)

    def file_of(self, store: Any, key: str) -> str | None:
        return reference_file_of(store, key)

    def describe(self) -> dict[str, Any]:
        return {
            "machine": type(self).__name__,
            "layout": self.layout,
            "profile": self.profile,
            "backend": self.backend,
        }


def reference_machine(
    layout: str, profile: str, backend: str = "real", **overrides: Any
) -> type[ReferenceStoreMachine]:
    """A machine class for one layout x profile x backend of ``reference_store``.

    Promises follow docs/spec.md: the seed directory layout is atomic per entry only, and
    may fail valid calls (keys too long for a file name); hardened is atomic per call
    and keeps corrupt files. ``overrides`` set any class attribute (``only_rules``,
    ``processes``, ``atomicity``, ...).
    """
    if layout == "sqlite" and backend == "fake":
        raise ValueError("the sqlite layout does its own I/O: real folders only")
    hardened = profile == "hardened"
    attrs: dict[str, Any] = {
        "layout": layout,
        "profile": profile,
        "backend": backend,
        "atomicity": "call" if hardened or layout in ("legacy", "sqlite") else "entry",
        "valid_calls_succeed": hardened,
        "keeps_corrupt_files": hardened,
        "fresh_route_read": hardened,
        "supports_crash": layout != "sqlite",
        "supports_corrupt": layout != "sqlite",
        "supports_migrate": layout == "auto",
        "__module__": __name__,
    }
    attrs.update(overrides)
    name = f"{profile.capitalize()}{layout.capitalize()}{backend.capitalize()}Machine"
    return type(name, (ReferenceStoreMachine,), attrs)


# --- the differential machine ----------------------------------------------------------------
class DifferentialMachine(RuleBasedStateMachine):
    """The same calls on several layouts; every result and every load must be equal.

    No model: the layouts judge each other. ``sessionId``s minted by a route that
    creates an entry differ by nature, so they are pinned to one value right after.
    """

    layouts: ClassVar[tuple[str, ...]] = ("legacy", "directory", "sqlite")
    profile: ClassVar[str] = "hardened"
    entry_size: ClassVar[str] = "tiny"
    hostile_keys: ClassVar[bool] = True
    only_rules: ClassVar[frozenset[str] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.root = make_root("differential")
        self.clock = MachineClock()
        self.state: StoreMap = {}
        self.log: list[str] = []
        self._pins = itertools.count(1)
        self.stores: dict[str, Any] = {}
        for layout in self.layouts:
            os.mkdir(os.path.join(self.root, layout))
            self.stores[layout] = self._open(layout)

    def _open(self, layout: str) -> Any:
        tokens = itertools.count(1)
        runtime = Runtime(
            now_ms=self.clock.now_ms,
            new_token=lambda: f"d{next(tokens):08x}",
            pid=SIMULATED_PID,
            sleep=self.clock.sleep,
        )
        path = os.path.join(self.root, layout, "sessions.json")
        fs = None if layout == "sqlite" else NoSyncFileSystem(OsFileSystem())
        return open_store(path, layout, self.profile, fs, runtime=runtime, cache=SessionCache())

    def teardown(self) -> None:
        try:
            for store in self.stores.values():
                store.close()
        finally:
            remove_root(self.root)

    def _on(self, name: str) -> bool:
        return self.only_rules is None or name in self.only_rules

    def _key(self, data: st.DataObject) -> str:
        return _draw_key(data, sorted(self.state), self._strategy("keys"))

    def _strategy(self, name: str) -> st.SearchStrategy[Any]:
        return _cached_strategies(self.entry_size, self.hostile_keys)[name]

    def _entry(self, data: st.DataObject) -> StoreMap:
        entry: StoreMap = data.draw(self._strategy("entry"), label="entry")
        return entry

    def _all(
        self, call: str, fn: Callable[[Any], Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """Run ``fn`` on every layout; outcomes and results must agree."""
        self.clock.advance(STEP_MS)
        before = self.state
        results: dict[str, Any] = {}
        for layout, store in self.stores.items():
            start = self.clock.ms  # every layout sees the same time
            try:
                results[layout] = ("ok", fn(store))
            except (OSError, StoreError) as exc:
                results[layout] = ("failed", f"{type(exc).__name__}: {exc}")
            self.clock.ms = start
        self.log.append(f"{call} -> {results[self.layouts[0]][0]}")
        shown = {k: _mask(v) for k, v in results.items()}
        if len({canonical({"r": v}) for v in shown.values()}) > 1:
            self._diverged(call, key, before, "results", shown)
        return {k: v[1] for k, v in results.items()}

    def _diverged(
        self, call: str, key: str | None, before: StoreMap, what: str, per_layout: Mapping[str, Any]
    ) -> NoReturn:
        lines = [f"layouts disagree on the {what} of {call}:"]
        lines += [f"  {layout}: {_short(value, 300)}" for layout, value in per_layout.items()]
        kind = "divergence"
        if key is not None:
            normalized = normalize(key)
            variants = [k for k in before if normalize(k) == normalized]
            stamps = [_updated_at(before[k]) for k in variants]
            if (
                normalized not in before
                and key.strip() not in before
                and len(variants) > 1
                and stamps.count(max(stamps)) > 1
            ):
                kind = "order-dependent"
                tied = [k for k in variants if _updated_at(before[k]) == max(stamps)]
                lines.insert(
                    0,
                    f"input-order tie-break: case variants {tied} share updatedAt="
                    f"{max(stamps)}, and each layout picks the one it happens to list first",
                )
        lines.append("calls so far:")
        lines += [f"  {i:>3}. {s}" for i, s in enumerate(self.log, 1)]
        raise MachineFailureError(kind, "\n".join(lines))

    @initialize(data=st.data())
    def initial_store(self, data: st.DataObject) -> None:
        keys = data.draw(
            self._strategy("key_lists"),
            label="initial keys",
        )
        mapping = {k: self._entry(data) for k in keys}
        self._all(f"save({sorted(mapping)})", lambda s: s.save(copy.deepcopy(mapping)))

    @precondition(lambda self: self._on("save"))
    @rule(data=st.data())
    def save(self, data: st.DataObject) -> None:
        keys = data.draw(self._strategy("key_lists"), label="keys")
        mapping = {k: self._entry(data) for k in keys}
        self._all(f"save({sorted(mapping)})", lambda s: s.save(copy.deepcopy(mapping)))

    @precondition(lambda self: self._on("update"))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        sets = {self._key(data): self._entry(data) for _ in range(data.draw(st.integers(0, 3)))}
        deletes = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
            if self.state
            else st.just([])
        )

        def mutator(current: StoreMap) -> None:
            current.update(copy.deepcopy(sets))
            for key in deletes:
                current.pop(key, None)

        self._all(f"update(set {sorted(sets)}, delete {deletes})", lambda s: s.update(mutator))

    @precondition(lambda self: self._on("insert_case_variants") and bool(self.state))
    @rule(data=st.data())
    def insert_case_variants(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(sorted(self.state)), label="original")
        tie = data.draw(st.booleans(), label="same updatedAt")
        replace = data.draw(st.booleans(), label="replace original")
        sets: StoreMap = {}
        for _ in range(data.draw(st.integers(1, 2), label="variants")):
            variant = case_variant(original, data.draw(_BITS, label="case bits"))
            if variant in self.state or variant in sets:
                continue
            entry = self._entry(data)
            if tie:
                entry["updatedAt"] = _updated_at(self.state[original])
            sets[variant] = entry

        def mutator(current: StoreMap) -> None:
            current.update(copy.deepcopy(sets))
            if replace:
                current.pop(original, None)

        self._all(
            f"insert variants {list(sets)} of {original!r}{' replacing it' if replace else ''}",
            lambda s: s.update(mutator),
        )

    @precondition(lambda self: self._on("update_entry"))
    @rule(data=st.data())
    def update_entry(self, data: st.DataObject) -> None:
        key = self._key(data)
        patch = data.draw(self._strategy("patch"), label="patch")
        self._all(
            f"update_entry({key!r}, {'None' if patch is None else sorted(patch)})",
            lambda s: s.update_entry(key, lambda _e: copy.deepcopy(patch)),
            key=key,
        )

    @precondition(lambda self: self._on("update_last_route"))
    @rule(data=st.data())
    def update_last_route(self, data: st.DataObject) -> None:
        key = self._key(data)
        route = data.draw(self._strategy("route"), label="route")
        results = self._all(
            f"update_last_route({key!r}, {route})",
            lambda s: s.update_last_route(key, **route),
            key=key,
        )
        minted = {r.get("sessionId") for r in results.values() if isinstance(r, dict)}
        if len(minted) > 1:
            pin = f"pinned-{next(self._pins)}"
            for store in self.stores.values():
                store.update_entry(key, lambda _e: {"sessionId": pin})

    @precondition(lambda self: self._on("read_updated_at"))
    @rule(data=st.data())
    def read_updated_at(self, data: st.DataObject) -> None:
        key = self._key(data)
        self._all(f"read_updated_at({key!r})", lambda s: s.read_updated_at(key))

    @precondition(lambda self: self._on("load"))
    @rule(skip=st.booleans())
    def load(self, skip: bool) -> None:
        self._all(f"load(skip_cache={skip})", lambda s: canonical(s.load(skip_cache=skip)))

    @precondition(lambda self: self._on("restart"))
    @rule()
    def restart(self) -> None:
        self.log.append("restart every store")
        for layout, store in self.stores.items():
            store.close()
            self.stores[layout] = self._open(layout)

    @invariant()
    def layouts_agree(self) -> None:
        loads = {layout: s.load(skip_cache=True) for layout, s in self.stores.items()}
        if len({canonical(v) for v in loads.values()}) > 1:
            self._diverged("the last call", None, self.state, "loaded state", loads)
        self.state = loads[self.layouts[0]]


def _mask(outcome: tuple[str, Any]) -> Any:
    """A result without what differs by nature (a freshly minted ``sessionId``)."""
    status, value = outcome
    if status == "failed":
        return status
    if isinstance(value, dict) and "sessionId" in value and "lastChannel" in value:
        return {k: v for k, v in value.items() if k != "sessionId"}
    return value


def differential_machine(profile: str, **overrides: Any) -> type[DifferentialMachine]:
    """A differential machine class for one profile (real folders: SQLite needs them)."""
    attrs: dict[str, Any] = {"profile": profile, "__module__": __name__, **overrides}
    return type(f"{profile.capitalize()}DifferentialMachine", (DifferentialMachine,), attrs)
