"""The crash-scenario summary another part of the harness writes beside a report.

``<out>/crash-summary.json``::

    {"runs": [{"scenario": str, "layout": str, "profile": str, "backend": str,
               "fs_semantics": str, "fault_points": int, "violations": int,
               "kinds": {kind: count},
               "families": {family: {"runs": int, "violating_runs": int,
                                     "violations": int, "kinds": {kind: count}}}}],
     "promises": [{"promise": str, "layout": str, "profile": str, "fs_semantics": str,
                   "kept": bool | null, "judged_families": [family],
                   "families": {family: {"runs": int, "violating_runs": int,
                                         "violations": int}}}],
     "families": [family]}

In a run row ``fault_points`` is its number of runs and ``violations`` its number of
*violating runs* (the words of :data:`GLOSSARY`; the keys keep their first names so older
files still read); ``kinds`` counts violations. ``families`` (per row and per promise)
may be absent in files written before it existed; the promise table is then the older
matrix of layouts x profiles.

``fs_semantics`` (``linux``, ``macos``, ``windows``: the file-name rules the runs were
made under, ``harness.faults._foreignfs``) may be absent and then means ``linux``; each other
semantics gets a promise table of its own.

Read leniently: a missing file means "no summary"; an unreadable one is reported in the
report (never an exception), and a malformed row is skipped and counted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._sidecar import ROW_ERRORS, parse_rows, read_sidecar
from ._tables import Table

__all__ = [
    "CRASH_SUMMARY_NAME",
    "GLOSSARY",
    "CrashSummary",
    "ReplayFile",
    "crash_headline",
    "crash_tables",
    "find_replays",
    "findings_table",
    "load_crash_summary",
    "replay_groups",
    "severity",
]

CRASH_SUMMARY_NAME = "crash-summary.json"

#: The counting words, defined once: the report, docs/gate.md and the CLI's lines use
#: them in these senses only.
GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "configuration",
        "one scenario x layout x profile x backend x file-name rules: a row of the scenario table",
    ),
    (
        "run",
        "one execution of a configuration's workload with one fault injected at one "
        "fault point (or none: the baseline), checked by the oracle afterwards",
    ),
    (
        "fault point",
        "the I/O operation (and fault family) at which a run injects its fault; each run "
        "has exactly one, so a configuration's fault points are its runs",
    ),
    ("violating run", "a run in which the oracle found at least one violation"),
    (
        "violation",
        "one broken promise of one kind found by one run; a run can find several, so "
        "violations (and the per-kind counts, which add up to them) are at least the "
        "violating runs",
    ),
)


@dataclass(frozen=True)
class FamilyCount:
    """What the runs of one fault family found: in a run row, or for one promise."""

    runs: int
    violating_runs: int
    violations: int
    kinds: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayFile:
    """A replay file of one violation, ``link`` relative to the report folder."""

    link: str
    scenario: str
    variant: str
    layout: str
    profile: str
    fs_semantics: str
    family: str
    kind: str

    @property
    def name(self) -> str:
        return os.path.basename(self.link)


@dataclass(frozen=True)
class CrashRun:
    scenario: str
    layout: str
    profile: str
    backend: str
    fault_points: int
    violations: int
    kinds: Mapping[str, int]
    fs_semantics: str = "linux"
    families: Mapping[str, FamilyCount] = field(default_factory=dict)

    @property
    def violation_count(self) -> int:
        return sum(self.kinds.values())


@dataclass(frozen=True)
class PromiseRow:
    promise: str
    layout: str
    profile: str
    kept: bool | None
    fs_semantics: str = "linux"
    families: Mapping[str, FamilyCount] = field(default_factory=dict)
    #: the families ``kept`` was judged on; ``None`` in files older than the field
    judged_families: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CrashSummary:
    runs: tuple[CrashRun, ...]
    promises: tuple[PromiseRow, ...]
    #: Rows that did not match the schema and were left out.
    skipped_rows: int = 0
    #: Why the file could not be read at all (then ``runs`` and ``promises`` are empty).
    error: str | None = None
    #: every fault family explored, in the file's order (empty in older files)
    families: tuple[str, ...] = ()
    #: the replay files of these runs, found by :func:`find_replays`
    replays: tuple[ReplayFile, ...] = ()


def _counts(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise TypeError("kinds is not an object")
    return {str(k): int(v) for k, v in raw.items()}


def _families(raw: Any) -> dict[str, FamilyCount]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TypeError("families is not an object")
    return {
        str(name): FamilyCount(
            runs=int(cell["runs"]),
            violating_runs=int(cell["violating_runs"]),
            violations=int(cell["violations"]),
            kinds=_counts(cell.get("kinds") or {}),
        )
        for name, cell in raw.items()
    }


def _run(raw: Any) -> CrashRun:
    kinds = raw.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise TypeError("kinds is not an object")
    return CrashRun(
        scenario=str(raw["scenario"]),
        layout=str(raw["layout"]),
        profile=str(raw["profile"]),
        backend=str(raw.get("backend", "")),
        fault_points=int(raw["fault_points"]),
        violations=int(raw["violations"]),
        kinds={str(k): int(v) for k, v in kinds.items()},
        fs_semantics=str(raw.get("fs_semantics") or "linux"),
        families=_families(raw.get("families")),
    )


def _promise(raw: Any) -> PromiseRow:
    kept = raw.get("kept")
    if kept is not None and not isinstance(kept, bool):
        raise TypeError("kept is not a boolean or null")
    judged = raw.get("judged_families")
    if judged is not None and not isinstance(judged, list):
        raise TypeError("judged_families is not a list")
    return PromiseRow(
        promise=str(raw["promise"]),
        layout=str(raw["layout"]),
        profile=str(raw["profile"]),
        kept=kept,
        fs_semantics=str(raw.get("fs_semantics") or "linux"),
        families=_families(raw.get("families")),
        judged_families=None if judged is None else tuple(str(f) for f in judged),
    )


def load_crash_summary(path: Path) -> CrashSummary | None:
    """The summary at ``path``; ``None`` when there is no such file."""
    found = read_sidecar(path)
    if found is None:
        return None
    raw, error = found
    if error:
        return CrashSummary((), (), error=error)
    if not isinstance(raw, dict):
        return CrashSummary((), (), error="top level is not an object")
    # Rows are read with .get, so a row that is not an object raises AttributeError.
    errors = (*ROW_ERRORS, AttributeError)
    runs, bad_runs = parse_rows(raw.get("runs"), _run, errors=errors)
    promises, bad_promises = parse_rows(raw.get("promises"), _promise, errors=errors)
    families = raw.get("families")
    return CrashSummary(
        tuple(runs),
        tuple(promises),
        skipped_rows=bad_runs + bad_promises,
        families=tuple(str(f) for f in families) if isinstance(families, list) else (),
    )


def _kept(value: bool | None) -> str:
    return "-" if value is None else ("kept" if value else "BROKEN")


# --- severity ---------------------------------------------------------------------------------
#: worst first, as harness.engine._oracle.VIOLATION_KINDS grades them
SEVERITY_ORDER = ("critical", "high", "medium", "low")
#: a kind the registry does not know (a file from another version) is shown, never dropped
UNREGISTERED = "unregistered"


def severity(kind: str) -> str:
    # Imported here: the report package stays cheap to import for the bench workers.
    from harness.engine._oracle import VIOLATION_KINDS

    return VIOLATION_KINDS[kind][0] if kind in VIOLATION_KINDS else UNREGISTERED


def _by_severity(kinds: Mapping[str, int]) -> str:
    order = [*SEVERITY_ORDER, UNREGISTERED]
    parts = []
    for level in order:
        mine = {k: v for k, v in kinds.items() if severity(k) == level and v}
        if mine:
            listed = ", ".join(f"{k} {v:,}" for k, v in sorted(mine.items(), key=lambda i: -i[1]))
            parts.append(f"{level} {sum(mine.values()):,} ({listed})")
    return "; ".join(parts) or "-"


# --- replay files -----------------------------------------------------------------------------
def _safe(text: str) -> str:
    # the same substitution harness.replay._scenario_replay.replay_id makes in a file name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def find_replays(summary: CrashSummary, folder: Path, report_dir: Path) -> tuple[ReplayFile, ...]:
    """The replay files in ``folder`` that belong to a violation of ``summary``: a file
    from an earlier exploration whose configuration, family and kind found nothing
    this time is left out, so every link is evidence for a count in the report."""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except OSError:
        return ()
    found: set[tuple[str, str, str, str, str, str]] = set()
    for run in summary.runs:
        if run.families:
            for family, cell in run.families.items():
                for kind, count in cell.kinds.items():
                    if count:
                        found.add(
                            (
                                run.scenario,
                                run.layout,
                                run.profile,
                                run.fs_semantics,
                                _safe(family),
                                kind,
                            )
                        )
        else:
            for kind, count in run.kinds.items():
                if count:
                    found.add((run.scenario, run.layout, run.profile, run.fs_semantics, "*", kind))
    replays = []
    for name in names:
        parts = name[: -len(".json")].split("--")
        if len(parts) == 6:
            scenario, variant, layout, profile, family, kind = parts
            fs = "linux"
        elif len(parts) == 7:
            scenario, variant, layout, profile, fs, family, kind = parts
        else:
            continue
        if (scenario, layout, profile, fs, family, kind) not in found and (
            scenario,
            layout,
            profile,
            fs,
            "*",
            kind,
        ) not in found:
            continue
        link = os.path.relpath(folder / name, report_dir).replace(os.sep, "/")
        replays.append(ReplayFile(link, scenario, variant, layout, profile, fs, family, kind))
    return tuple(replays)


def _severity_rank(kind: str) -> int:
    order = [*SEVERITY_ORDER, UNREGISTERED]
    return order.index(severity(kind))


def replay_groups(summary: CrashSummary) -> list[tuple[str, list[ReplayFile]]]:
    """(``profile / layout[, file names]``, its replay files, worst first) per cell of
    :func:`findings_table` that has any."""
    groups: dict[tuple[str, str, str], list[ReplayFile]] = {}
    for replay in summary.replays:
        key = (replay.profile, replay.layout, replay.fs_semantics)
        groups.setdefault(key, []).append(replay)
    return [
        (
            _cell_label(profile, layout, fs),
            sorted(files, key=lambda r: (_severity_rank(r.kind), r.name)),
        )
        for (profile, layout, fs), files in sorted(groups.items(), key=lambda i: _cell_key(*i[0]))
    ]


def _cell_label(profile: str, layout: str, fs: str) -> str:
    return f"{profile} / {layout}" + ("" if fs == "linux" else f", {fs} file names")


def _cell_key(profile: str, layout: str, fs: str) -> tuple[tuple[bool, str], int, str, str]:
    # Linux rules first, then hardened first: the profile meant to keep every promise
    # leads, and the foreign file-name rules, which repeat most rows, come after.
    return _linux_first(fs), (0 if profile == "hardened" else 1), profile, layout


# --- the first screen -------------------------------------------------------------------------
@dataclass
class _Cell:
    runs: int = 0
    violating_runs: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def _cells(summary: CrashSummary) -> dict[tuple[str, str, str], _Cell]:
    cells: dict[tuple[str, str, str], _Cell] = {}
    for run in summary.runs:
        cell = cells.setdefault((run.profile, run.layout, run.fs_semantics), _Cell())
        cell.runs += run.fault_points
        cell.violating_runs += run.violations
        for kind, count in run.kinds.items():
            cell.kinds[kind] = cell.kinds.get(kind, 0) + count
    return dict(sorted(cells.items(), key=lambda i: _cell_key(*i[0])))


def crash_headline(summary: CrashSummary) -> list[str]:
    """One sentence per profile: runs, violating runs, violations and the worst kinds."""
    per_profile: dict[str, _Cell] = {}
    for (profile, _layout, _fs), cell in _cells(summary).items():
        total = per_profile.setdefault(profile, _Cell())
        total.runs += cell.runs
        total.violating_runs += cell.violating_runs
        for kind, count in cell.kinds.items():
            total.kinds[kind] = total.kinds.get(kind, 0) + count
    lines = []
    for profile, cell in per_profile.items():
        violations = sum(cell.kinds.values())
        text = (
            f"{profile}: {violations:,} violations in {cell.runs:,} runs"
            if not violations
            else f"{profile}: {violations:,} violations, in {cell.violating_runs:,} violating "
            f"runs of {cell.runs:,} runs"
        )
        if violations:
            text += f" -- {_by_severity(cell.kinds)}"
        lines.append(text + ".")
    return lines


def findings_table(summary: CrashSummary) -> Table | None:
    """What broke and how badly, per profile and layout (and foreign file-name rules)."""
    cells = _cells(summary)
    if not cells:
        return None
    replays: dict[tuple[str, str, str], int] = {}
    for replay in summary.replays:
        key = (replay.profile, replay.layout, replay.fs_semantics)
        replays[key] = replays.get(key, 0) + 1
    return Table(
        title="What broke, per profile and layout",
        headers=(
            "profile / layout",
            "runs",
            "violating runs",
            "violations",
            "by severity and kind",
            "replay files",
        ),
        rows=tuple(
            (
                _cell_label(profile, layout, fs),
                f"{cell.runs:,}",
                f"{cell.violating_runs:,}",
                f"{sum(cell.kinds.values()):,}",
                _by_severity(cell.kinds),
                f"{replays.get((profile, layout, fs), 0):,}",
            )
            for (profile, layout, fs), cell in cells.items()
        ),
        note="Severity, worst first: critical, high, medium, low, as the registry of "
        "violation kinds grades each kind (harness/engine/_oracle.py, the table in docs/gate.md). "
        "The replay files, one per distinct violation, are listed below the table; "
        "`store-harness replay FILE` re-runs one.",
    )


# --- the full tables --------------------------------------------------------------------------
#: fault family -> the words a table header uses for it
FAMILY_LABELS = {
    "baseline": "no fault",
    "crash": "crash",
    "torn": "torn write",
    "enospc": "disk full",
    "enospc-close": "disk full at close",
    "non-atomic": "non-atomic rename",
    "enoent-then-crash": "ENOENT, then crash",
    "power-loss": "power loss",
}


def family_label(family: str) -> str:
    if family.startswith("error:"):
        return f"I/O error {family.split(':', 1)[1]}"
    return FAMILY_LABELS.get(family, family)


def crash_tables(summary: CrashSummary) -> list[Table]:
    """A table of the configurations and their runs, then the promises: per fault family
    when the file says which family broke which promise, else the older matrix of
    layouts x profiles; one promise table per file-system semantics."""
    tables: list[Table] = []
    if summary.runs:
        total_runs = sum(r.fault_points for r in summary.runs)
        total_violating = sum(r.violations for r in summary.runs)
        total_violations = sum(r.violation_count for r in summary.runs)
        # The file-system column only when some run was made under foreign rules.
        foreign = any(r.fs_semantics != "linux" for r in summary.runs)
        tables.append(
            Table(
                title="Crash scenarios",
                headers=(
                    "scenario",
                    "layout",
                    "profile",
                    "backend",
                    *(("file names",) if foreign else ()),
                    "runs",
                    "violating runs",
                    "violations",
                    "kinds",
                ),
                rows=tuple(
                    (
                        r.scenario,
                        r.layout,
                        r.profile,
                        r.backend,
                        *((r.fs_semantics,) if foreign else ()),
                        f"{r.fault_points:,}",
                        f"{r.violations:,}",
                        f"{r.violation_count:,}",
                        ", ".join(f"{k}: {v}" for k, v in sorted(r.kinds.items())) or "-",
                    )
                    for r in summary.runs
                ),
                note=(
                    f"{len(summary.runs)} configurations, {total_runs:,} runs (one per "
                    f"fault point), {total_violating:,} violating runs, "
                    f"{total_violations:,} violations (the kinds add up to the violations)."
                ),
            )
        )
    every_fs = sorted({p.fs_semantics for p in summary.promises}, key=_linux_first)
    for fs in every_fs:
        rows = [p for p in summary.promises if p.fs_semantics == fs]
        if any(p.families for p in rows):
            tables.append(_family_table(rows, fs, summary.families))
        else:
            tables.append(_matrix_table(rows, fs))
    return tables


def _linux_first(fs: str) -> tuple[bool, str]:
    return fs != "linux", fs


def _family_cell(promise: PromiseRow, family: str) -> str:
    count = promise.families.get(family)
    if count is None or (not count.runs and not count.violations):
        return "-"
    judged = promise.judged_families is None or family in promise.judged_families
    text = f"BROKEN {count.violations:,}" if count.violations else "kept"
    return text if judged else f"({text.lower()})"


def _family_table(promises: Sequence[PromiseRow], fs: str, order: Sequence[str]) -> Table:
    seen = {f for p in promises for f in p.families}
    families = [f for f in order if f in seen] + sorted(seen - set(order))
    names = list(dict.fromkeys(p.promise for p in promises))
    title = "Promises x fault families"
    note = (
        "A row per promise and layout/profile, a column per fault family. kept: no run of "
        "that family broke it; BROKEN n: n violations of the promise's kinds; -: no run of "
        "that family in that configuration. In parentheses: a family the promise is not "
        "made for (the process-crash promises exclude power loss, which has a promise of "
        "its own), counted all the same so that nothing is hidden. verdict: the promise "
        "on the families it is made for."
    )
    title, note = _for_file_names(title, note, fs)
    return Table(
        title=title,
        headers=("promise", "layout/profile", "verdict", *(family_label(f) for f in families)),
        rows=tuple(
            (
                p.promise,
                f"{p.layout}/{p.profile}",
                _kept(p.kept),
                *(_family_cell(p, f) for f in families),
            )
            for p in sorted(promises, key=lambda p: (names.index(p.promise), p.profile, p.layout))
        ),
        note=note,
    )


def _for_file_names(title: str, note: str, fs: str) -> tuple[str, str]:
    """A table's title and note, saying so when its runs used foreign file-name rules."""
    if fs == "linux":
        return title, note
    return (
        f"{title}, {fs} file names",
        f"{note} Runs under {fs}'s file-name rules, emulated over a Linux folder "
        "(harness/faults/_foreignfs.py, docs/foreign-fs.md).",
    )


def _matrix_table(promises: list[PromiseRow], fs: str) -> Table:
    columns = sorted({(p.layout, p.profile) for p in promises})
    names = list(dict.fromkeys(p.promise for p in promises))
    cell = {(p.promise, p.layout, p.profile): p.kept for p in promises}
    title = "Promises x layouts x profiles"
    note = "kept / BROKEN as the crash runs found; - where not checked or not promised."
    title, note = _for_file_names(title, note, fs)
    return Table(
        title=title,
        headers=("promise", *(f"{layout}/{profile}" for layout, profile in columns)),
        rows=tuple(
            (
                name,
                *(
                    _kept(cell[(name, layout, profile)]) if (name, layout, profile) in cell else "-"
                    for layout, profile in columns
                ),
            )
            for name in names
        ),
        note=note,
    )
