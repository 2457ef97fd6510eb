"""The oracle: what a store may show after a workload ran into faults, and what it may not.

Outcome semantics (Jepsen's): a call is ``ok`` (it returned), ``failed`` (it raised an
error) or ``indeterminate`` (the process crashed while it was in flight). An ``ok`` call
must be visible after recovery. A failed or indeterminate call may be visible or not --
an error can be reported after the change became durable (a failed folder fsync after the
rename), so the oracle does not insist that a failed call left no trace -- but it must
be visible *entirely or not at all*: the store's API promises every call is atomic (the
legacy file gives that for free; the directory layout must earn it).

After the workload, a fresh store (new runtime, new cache: a new process) opens the same
files, runs the start-up migration when the layout is ``auto``, and loads. The loaded
state must equal one of the acceptable states; otherwise each difference is classified
as a named violation kind with a severity (``VIOLATION_KINDS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.engine._workload import Migrate, Step, canonical, model_apply

__all__ = [
    "SEVERITIES",
    "VIOLATION_KINDS",
    "Candidate",
    "Outcome",
    "Violation",
    "acceptable_states",
    "check_kind",
    "check_reads",
    "classify",
    "shape_violations",
]

SEVERITIES = ("critical", "high", "medium", "low")

#: THE registry of violation kinds: kind -> (severity, what it means). Every kind any
#: check emits (oracle, explorer, machines, concurrency check, scenarios) is defined here
#: and only here: ``--waive`` offers these, the gate summary explains them from here, and
#: docs/gate.md's table must list them all (``tests/test_violation_kinds.py`` checks both,
#: and scans the source for kind literals that are not registered).
VIOLATION_KINDS: dict[str, tuple[str, str]] = {
    "acked-write-lost": ("critical", "a call that returned ok is not visible after recovery"),
    "half-applied": ("high", "an interrupted call is visible in part (some entries only)"),
    "resurrected": ("high", "an entry deleted by a call that returned ok came back"),
    "unloadable": ("critical", "the store cannot be opened or loaded after recovery"),
    "silently-dropped": ("critical", "an entry no call touched is gone"),
    "migration-lost": ("critical", "migration lost or changed entries"),
    "changed-entry": ("high", "an entry holds a value no call wrote"),
    "phantom-entry": ("high", "an entry appeared that no call created"),
    "corrupt-destroyed": ("high", "a file the store could not read was deleted or overwritten"),
    "order-dependent": ("medium", "the result depends on the order of keys in the input"),
    "unwritable": ("high", "the recovered store refuses a write"),
    "leftover-temp": ("low", "temp files stay behind for good"),
    "leftover-lock": ("low", "a lock file stays behind after a successful write"),
    "escaped-folder": ("critical", "a file was written outside the store's folder"),
    "wrong-mode": (
        "medium",
        "a file the store created is not mode 0600, or a folder not 0700: others can read "
        "the sessions",
    ),
    "baseline": ("high", "the workload fails even without any fault"),
    "unexpected-error": ("high", "a call raised neither a store error nor an OSError"),
    "lost-update": ("critical", "a concurrent update was overwritten"),
    "stale-read": ("medium", "a read returned a value older than a completed write"),
    "hung": (
        "high",
        "a call or the recovery never returned (stopped by its timeout), or opened a FIFO, "
        "which waits for good",
    ),
    "bare-os-error": (
        "medium",
        "a call failed with a bare OSError on a shape of the store's own paths, not a store "
        "error naming the path and what to do",
    ),
    "store-crashed": ("critical", "the store killed the process it runs in"),
    # The machine check's own kinds (harness.machines): what a fixed workload cannot see.
    "wrong-result": ("high", "a call returned a value that no correct store returns"),
    "wrong-read": ("high", "a read returned a value that the state of the store does not allow"),
    "divergence": ("high", "layouts disagree on the result or the state after the same calls"),
    "mismatch": (
        "high",
        "the state after recovery is none the model allows, and no finer kind explains why",
    ),
}


def check_kind(kind: str) -> str:
    """``kind``, if it is registered in :data:`VIOLATION_KINDS`; else a ``ValueError``
    (a check that names a kind nobody can look up or waive is a bug of the harness)."""
    if kind not in VIOLATION_KINDS:
        raise ValueError(f"unregistered violation kind {kind!r} (add it to VIOLATION_KINDS)")
    return kind


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str
    key: str | None = None

    def __post_init__(self) -> None:
        check_kind(self.kind)

    @property
    def severity(self) -> str:
        return VIOLATION_KINDS[self.kind][0]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "detail": self.detail,
            "key": self.key,
        }


@dataclass(frozen=True)
class Outcome:
    """What became of one call of the workload."""

    step: int
    call: str
    status: str  # ok | failed | indeterminate | not-run
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "call": self.call, "status": self.status, "error": self.error}


#: A store's declared rewrite of what it writes: a whole state in, the state it keeps out.
Normalizer = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Candidate:
    """One state the store may be in: what a load returns, and a legacy file still to
    migrate (``fresh``: no directory yet, so the migration starts from nothing)."""

    state: Mapping[str, Any]
    legacy: Mapping[str, Any] | None = None
    fresh: bool = False

    def key(self) -> str:
        legacy = None if self.legacy is None else canonical(self.legacy)
        return canonical(self.state) + "|" + str(legacy)


@dataclass
class History:
    """What the calls that returned ok wrote and deleted, for naming violations."""

    acked_writes: dict[str, Any] = field(default_factory=dict)
    acked_deletes: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    migrated: bool = False


def _apply(step: Step, cand: Candidate) -> list[Candidate]:
    if isinstance(step, Migrate):
        if cand.legacy is None:
            return [cand]
        base = {} if cand.fresh else dict(cand.state)
        return [Candidate(s, None) for s in model_apply(step, base, legacy=dict(cand.legacy))]
    if not step.mutates():
        return [cand]
    return [Candidate(s, cand.legacy, cand.fresh) for s in model_apply(step, dict(cand.state))]


def _unique(cands: Iterable[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for cand in cands:
        seen.setdefault(cand.key(), cand)
    return list(seen.values())


def acceptable_states(
    initial: Candidate,
    steps: Sequence[Step],
    outcomes: Sequence[Outcome],
    *,
    recover_migrates: bool,
    normalizer: Normalizer | None = None,
) -> tuple[list[dict[str, Any]], History, list[tuple[list[Candidate], list[Candidate]]]]:
    """States a correct store may load after recovery, the ok-history, and for each
    uncertain call its (before, after) candidate sets (to recognise half-applied calls).

    ``normalizer``: what the store declares it does to every state it writes (its
    contract); applied to every state after every call, so a declared rewrite is expected
    and an undeclared one is still a violation."""
    cands = [_normalized(initial, normalizer)]
    history = History()
    uncertain: list[tuple[list[Candidate], list[Candidate]]] = []
    for step, outcome in zip(steps, outcomes, strict=True):
        if outcome.status == "not-run":
            break
        after = _unique(_normalized(c2, normalizer) for c in cands for c2 in _apply(step, c))
        if isinstance(step, Migrate):
            history.migrated = True
        if outcome.status == "ok":
            _note_history(step, history, after, normalizer)
            cands = after
        else:
            uncertain.append((cands, after))
            cands = _unique([*cands, *after])
    if recover_migrates:
        cands = _unique(_normalized(c2, normalizer) for c in cands for c2 in _apply(Migrate(), c))
        if initial.legacy is not None:
            history.migrated = True
    states = {canonical(c.state): dict(c.state) for c in cands}
    return list(states.values()), history, uncertain


def _normalized(cand: Candidate, normalize: Normalizer | None) -> Candidate:
    if normalize is None or not cand.state:
        return cand
    return Candidate(normalize(cand.state), cand.legacy, cand.fresh)


def _note_history(
    step: Step, history: History, after: list[Candidate], normalizer: Normalizer | None
) -> None:
    from harness.engine._workload import Save, Update, UpdateEntry, normalize

    def written(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
        return mapping if normalizer is None or not mapping else normalizer(mapping)

    if isinstance(step, Update):
        for key, entry in written(step.set).items():
            history.acked_writes[key] = entry
            history.acked_deletes.discard(key)
        for key in step.delete:
            history.acked_deletes.add(key)
            history.acked_writes.pop(key, None)
        history.touched |= set(step.set) | set(step.delete)
        if len(after) == 1:
            for key in step.in_place:
                if key in after[0].state and key not in step.delete:
                    history.acked_writes[key] = after[0].state[key]
                    history.touched.add(key)
    elif isinstance(step, Save):
        for key in list(history.acked_writes):
            if key not in step.mapping:
                history.acked_writes.pop(key)
        history.acked_writes.update(written(step.mapping))
        history.touched |= set(step.mapping)
    elif isinstance(step, UpdateEntry) and len(after) == 1:
        normalized = normalize(step.key)
        if normalized in after[0].state:
            history.acked_writes[normalized] = after[0].state[normalized]
            history.touched.add(normalized)


def shape_violations(found: Any, what: str) -> list[Violation]:
    """``wrong-result`` for each way ``found`` (what ``what`` returned) is not a map of
    session keys (strings) to entries (JSON objects) -- whatever a store returns is
    judged, never left to crash the comparison that follows."""
    if not isinstance(found, Mapping):
        return [Violation("wrong-result", f"{what} returned {_kind_of(found)}, not a map")]
    problems: list[Violation] = []
    for key, entry in found.items():
        if not isinstance(key, str):
            problems.append(Violation("wrong-result", f"{what} returned a key {key!r}, not text"))
        elif not isinstance(entry, Mapping):
            problems.append(
                Violation(
                    "wrong-result",
                    f"{what} returned {_kind_of(entry)} for {key!r}, not an entry (an object)",
                    key,
                )
            )
    return problems


def _kind_of(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__} ({_short(value, 40)})"


def classify(
    found: Any,
    acceptable: Sequence[Mapping[str, Any]],
    history: History,
    uncertain: Sequence[tuple[list[Candidate], list[Candidate]]],
) -> list[Violation]:
    """Violations explaining why ``found`` is none of the ``acceptable`` states."""
    misshapen = shape_violations(found, "load() after recovery")
    if misshapen and not (isinstance(found, Mapping) and all(isinstance(k, str) for k in found)):
        return misshapen  # nothing to compare key by key
    return misshapen + _classify_map(found, acceptable, history, uncertain)


def _classify_map(
    found: Mapping[str, Any],
    acceptable: Sequence[Mapping[str, Any]],
    history: History,
    uncertain: Sequence[tuple[list[Candidate], list[Candidate]]],
) -> list[Violation]:
    found_key = canonical(found)
    if any(canonical(s) == found_key for s in acceptable):
        return []
    for before, after in uncertain:
        for b in before:
            for a in after:
                if _is_mix(found, b.state, a.state):
                    keys = sorted(
                        k for k in set(b.state) | set(a.state) if b.state.get(k) != a.state.get(k)
                    )
                    return [
                        Violation(
                            "half-applied",
                            f"an interrupted call changing {keys} is visible for only some of them",
                        )
                    ]
    closest = min(acceptable, key=lambda s: _distance(found, s))
    violations: list[Violation] = []
    for key in sorted(set(found) | set(closest)):
        want, got = closest.get(key), found.get(key)
        if want == got:
            continue
        if got is None:
            if key in history.acked_writes:
                kind = "acked-write-lost"
            elif history.migrated and key not in history.touched:
                kind = "migration-lost"
            else:
                kind = "silently-dropped"
            violations.append(Violation(kind, f"entry {key!r} is missing", key))
        elif want is None:
            kind = "resurrected" if key in history.acked_deletes else "phantom-entry"
            violations.append(Violation(kind, f"entry {key!r} should not exist", key))
        else:
            if key in history.acked_writes:
                kind = "acked-write-lost"
            elif history.migrated and key not in history.touched:
                kind = "migration-lost"
            else:
                kind = "changed-entry"
            violations.append(
                Violation(kind, f"entry {key!r} holds {_short(got)}, expected {_short(want)}", key)
            )
    return violations


def _is_mix(found: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    keys = set(found) | set(before) | set(after)
    return all(found.get(k) in (before.get(k), after.get(k)) for k in keys)


def _distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    return sum(1 for k in set(a) | set(b) if a.get(k) != b.get(k))


def _short(value: Any, limit: int = 80) -> str:
    text = canonical({"v": value})[5:-1]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_reads(
    initial: Candidate,
    steps: Sequence[Step],
    outcomes: Sequence[Outcome],
    results: Sequence[Any],
    normalizer: Normalizer | None = None,
) -> list[Violation]:
    """Reads that returned ok must show every write acknowledged before them.

    Checked only while every earlier call returned ok (afterwards the possible states
    fan out and recovery is judged instead): a load must return one of the model's
    states, ``read_updated_at`` the ``updatedAt`` of one of the key's variants.
    """
    from harness.engine._workload import Load, ReadUpdatedAt, normalize

    cands = [_normalized(initial, normalizer)]
    violations: list[Violation] = []
    for step, outcome, result in zip(steps, outcomes, results, strict=False):
        if outcome.status != "ok":
            break
        if isinstance(step, Load):
            misshapen = shape_violations(result, f"{step.describe()} (call {outcome.step})")
            if misshapen:
                violations += misshapen
                break  # the states that follow cannot be compared with such a result
            states = {canonical(c.state) for c in cands}
            if canonical(result) not in states:
                model = dict(cands[0].state)
                stale = sorted(k for k in set(model) | set(result) if model.get(k) != result.get(k))
                violations.append(
                    Violation(
                        "stale-read",
                        f"{step.describe()} (call {outcome.step}) disagrees with the calls "
                        f"acknowledged before it on {stale[:4]}",
                        stale[0] if stale else None,
                    )
                )
        elif isinstance(step, ReadUpdatedAt):
            normalized = normalize(step.key)
            allowed = set()
            for cand in cands:
                variants = [e for k, e in cand.state.items() if normalize(k) == normalized]
                allowed |= {e.get("updatedAt") for e in variants if isinstance(e, Mapping)}
                if not variants:
                    allowed.add(None)
            if result not in allowed:
                violations.append(
                    Violation(
                        "stale-read",
                        f"read_updated_at({step.key!r}) returned {result!r}, expected one "
                        f"of {sorted(allowed, key=repr)}",
                        step.key,
                    )
                )
        cands = _unique(_normalized(c2, normalizer) for c in cands for c2 in _apply(step, c))
    return violations
