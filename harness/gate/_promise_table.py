"""The coverage table: promise x check x fault families x seeded bug, built from the code.

Rows come from ``harness.engine._promises.PROMISES`` (each promise and the checks it
names), the scenario catalog (a check's fault families, kept to those the promise is
judged under) and a catalog of seeded bugs (each names the promises it breaks, and the
checks that catch it). Nothing here is written by hand: the gate prints it
(``gate --promises``), the gate summary and the report include it, and docs/gate.md
carries a copy that ``tests/test_promises.py`` compares with it.

A row with a gap says so -- ``no check`` (a promise nothing judges), ``no fault`` (the
check never runs a family the promise is judged under), ``no seeded bug`` (no bug of
the catalog breaks the promise and claims this check) -- and the test of the gate fails
on any gap.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import scenarios
from harness.engine._promises import PROMISE_TABLE_NAME, PROMISES, Promise
from harness.gate._plan import CHECKS, CONCURRENCY_CHECK, MACHINE_CHECK

if TYPE_CHECKING:
    # Only a type: ``_mutants`` imports the outputs, which print this table.
    from harness.gate._mutants import MutantLike

__all__ = [
    "DEFAULT_CATALOG",
    "PROMISE_TABLE_NAME",
    "PromiseRow",
    "load_default_catalog",
    "promise_rows",
    "promise_table_markdown",
    "write_promise_table",
]

#: the project's own seeded bugs, found beside the ``harness`` package in a checkout
DEFAULT_CATALOG = "tests.mutants:MUTANTS"

#: what the gate's own checks vary instead of injected faults
_CHECK_FAULTS = {
    MACHINE_CHECK: ("simulated crash", "corrupt file", "two processes"),
    CONCURRENCY_CHECK: ("racing processes",),
}


@dataclass(frozen=True)
class PromiseRow:
    promise: Promise
    #: the check (a scenario name, ``machine`` or ``concurrency``); ``None``: none
    check: str | None
    #: the check's fault families the promise is judged under
    faults: tuple[str, ...]
    #: seeded bugs that break the promise and claim this check (``None``: no catalog)
    seeded_bugs: tuple[str, ...] | None

    @property
    def gap(self) -> str | None:
        if self.check is None:
            return "no check"
        if not self.faults:
            return "no fault"
        if self.seeded_bugs is not None and not self.seeded_bugs:
            return "no seeded bug"
        return None


def _check_faults(check: str, promise: Promise) -> tuple[str, ...]:
    if check in _CHECK_FAULTS:
        return _CHECK_FAULTS[check]
    try:
        scenario = scenarios.get(check)
    except KeyError:
        return ()
    return tuple(f for f in scenario.faults if promise.judged_under(f))


def promise_rows(mutants: Sequence[MutantLike] | None) -> list[PromiseRow]:
    """Every promise with each check it names (one row each, or one ``no check`` row)."""
    rows: list[PromiseRow] = []
    for promise in PROMISES:
        if not promise.checks:
            rows.append(PromiseRow(promise, None, (), None))
            continue
        for check in promise.checks:
            bugs = None
            if mutants is not None:
                bugs = tuple(
                    m.name
                    for m in mutants
                    if promise.id in getattr(m, "breaks", ()) and check in m.caught_by
                )
            rows.append(PromiseRow(promise, check, _check_faults(check, promise), bugs))
    return rows


def unknown_checks() -> list[tuple[str, str]]:
    """(promise id, check) pairs naming a check the gate does not have."""
    known = set(scenarios.names()) | set(CHECKS)
    return [(p.id, c) for p in PROMISES for c in p.checks if c not in known]


def load_default_catalog() -> Sequence[MutantLike] | None:
    """The project's seeded bugs when the harness runs from its checkout, else ``None``."""
    project = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not os.path.isfile(os.path.join(project, "tests", "mutants", "__init__.py")):
        return None
    module_name, _, attr = DEFAULT_CATALOG.partition(":")
    if project not in sys.path:
        sys.path.append(project)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, attr, None)
    return None if found is None else list(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def promise_table_markdown(rows: Sequence[PromiseRow]) -> str:
    """The table as Markdown (the gate summary, the report and docs/gate.md show this)."""
    lines = [
        "| promise | check | faults | seeded bugs | breaking kinds |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        bugs = (
            "(no catalog)"
            if row.seeded_bugs is None
            else ", ".join(f"`{b}`" for b in row.seeded_bugs)
        )
        if row.gap:
            bugs = f"**{row.gap}**" + (f" {bugs}" if bugs and row.seeded_bugs else "")
        lines.append(
            f"| {row.promise.id}: {_cell(row.promise.name)} "
            f"| {f'`{row.check}`' if row.check else '-'} "
            f"| {', '.join(row.faults) or '-'} | {bugs} "
            f"| {', '.join(f'`{k}`' for k in sorted(row.promise.kinds))} |"
        )
    gaps = sum(1 for r in rows if r.gap)
    promises = list({r.promise.id: r.promise for r in rows}.values())
    lines += [
        "",
        f"{len(promises)} promises, {len(rows)} rows, "
        + (f"{gaps} with a gap." if gaps else "every row has a check, a fault and a seeded bug."),
        "",
        "When each promise is looked at:",
        "",
    ]
    lines += [f"- {p.id}: {p.judged}" for p in promises]
    return "\n".join(lines) + "\n"


def write_promise_table(mutants: Sequence[MutantLike] | None, out: str) -> str:
    """``OUT/promise-table.md``: the table for these seeded bugs (the report's copy)."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, PROMISE_TABLE_NAME)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(promise_table_markdown(promise_rows(mutants)))
    return path
