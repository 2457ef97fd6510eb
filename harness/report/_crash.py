"""The crash-scenario summary another part of the harness writes beside a report.

``<out>/crash-summary.json``::

    {"runs": [{"scenario": str, "layout": str, "profile": str, "backend": str,
               "fs_semantics": str, "fault_points": int, "violations": int,
               "kinds": {kind: count}}],
     "promises": [{"promise": str, "layout": str, "profile": str, "fs_semantics": str,
                   "kept": bool | null}]}

``fs_semantics`` (``linux``, ``macos``, ``windows``: the file-name rules the runs were
made under, ``harness.foreignfs``) may be absent and then means ``linux``; each other
semantics gets a promise table of its own.

Read leniently: a missing file means "no summary"; an unreadable one is reported in the
report (never an exception), and a malformed row is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._sidecar import ROW_ERRORS, parse_rows, read_sidecar
from ._tables import Table

__all__ = ["CRASH_SUMMARY_NAME", "CrashSummary", "crash_tables", "load_crash_summary"]

CRASH_SUMMARY_NAME = "crash-summary.json"


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


@dataclass(frozen=True)
class PromiseRow:
    promise: str
    layout: str
    profile: str
    kept: bool | None
    fs_semantics: str = "linux"


@dataclass(frozen=True)
class CrashSummary:
    runs: tuple[CrashRun, ...]
    promises: tuple[PromiseRow, ...]
    #: Rows that did not match the schema and were left out.
    skipped_rows: int = 0
    #: Why the file could not be read at all (then ``runs`` and ``promises`` are empty).
    error: str | None = None


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
    )


def _promise(raw: Any) -> PromiseRow:
    kept = raw.get("kept")
    if kept is not None and not isinstance(kept, bool):
        raise TypeError("kept is not a boolean or null")
    return PromiseRow(
        promise=str(raw["promise"]),
        layout=str(raw["layout"]),
        profile=str(raw["profile"]),
        kept=kept,
        fs_semantics=str(raw.get("fs_semantics") or "linux"),
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
    return CrashSummary(tuple(runs), tuple(promises), skipped_rows=bad_runs + bad_promises)


def _kept(value: bool | None) -> str:
    return "-" if value is None else ("kept" if value else "BROKEN")


def crash_tables(summary: CrashSummary) -> list[Table]:
    """A table of scenario runs and a matrix of promises x layout/profile, one per
    file-system semantics."""
    tables: list[Table] = []
    if summary.runs:
        total_points = sum(r.fault_points for r in summary.runs)
        total_violations = sum(r.violations for r in summary.runs)
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
                    "fault points",
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
                        ", ".join(f"{k}: {v}" for k, v in sorted(r.kinds.items())) or "-",
                    )
                    for r in summary.runs
                ),
                note=(
                    f"{len(summary.runs)} runs, {total_points:,} fault points, "
                    f"{total_violations:,} violations."
                ),
            )
        )
    every_fs = sorted({p.fs_semantics for p in summary.promises}, key=_linux_first)
    for fs in every_fs:
        tables.append(_promise_table([p for p in summary.promises if p.fs_semantics == fs], fs))
    return tables


def _linux_first(fs: str) -> tuple[bool, str]:
    return fs != "linux", fs


def _promise_table(promises: list[PromiseRow], fs: str) -> Table:
    columns = sorted({(p.layout, p.profile) for p in promises})
    names = list(dict.fromkeys(p.promise for p in promises))
    cell = {(p.promise, p.layout, p.profile): p.kept for p in promises}
    title = "Promises x layouts x profiles"
    note = "kept / BROKEN as the crash runs found; - where not checked or not promised."
    if fs != "linux":
        title += f", {fs} file names"
        note += (
            f" Runs under {fs}'s file-name rules, emulated over a Linux folder "
            "(harness/foreignfs.py, docs/foreign-fs.md)."
        )
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
