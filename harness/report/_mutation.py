"""The mutation score the gate writes beside a report (``store-harness gate --mutants``,
or the ``report`` command's own mutants step), as a bug x catching-scenario table.

``<out>/mutation-score.json`` (``harness.gate.mutation_score_json``)::

    {"format": "store-harness.mutation-score/1", "caught": int, "total": int,
     "mutants": [{"name": str, "bug": str, "caught": bool, "expected": [scenario],
                  "caught_by": [scenario], "missed": [scenario], ...}]}

Read leniently, like ``crash-summary.json``: a missing file means "no score"; an
unreadable one is reported in the report, and a malformed row is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._sidecar import parse_rows, read_sidecar
from ._tables import Table

__all__ = ["MUTATION_NAME", "MutantRow", "MutationScore", "load_mutation_score", "mutation_tables"]

MUTATION_NAME = "mutation-score.json"
FORMAT = "store-harness.mutation-score/1"


@dataclass(frozen=True)
class MutantRow:
    name: str
    bug: str
    caught: bool
    #: the scenarios and checks the catalog says catch it
    expected: tuple[str, ...]
    caught_by: tuple[str, ...]
    missed: tuple[str, ...]


@dataclass(frozen=True)
class MutationScore:
    mutants: tuple[MutantRow, ...] = ()
    skipped_rows: int = 0
    error: str = ""


def _names(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise TypeError("not a list of names")
    return tuple(raw)


def _row(raw: Any) -> MutantRow:
    if not isinstance(raw["caught"], bool):
        raise TypeError("caught is not a boolean")
    return MutantRow(
        name=str(raw["name"]),
        bug=str(raw["bug"]),
        caught=raw["caught"],
        expected=_names(raw["expected"]),
        caught_by=_names(raw["caught_by"]),
        missed=_names(raw["missed"]),
    )


def load_mutation_score(path: Path) -> MutationScore | None:
    """The score at ``path``; ``None`` when there is no such file."""
    found = read_sidecar(path)
    if found is None:
        return None
    raw, error = found
    if error:
        return MutationScore(error=error)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return MutationScore(error=f"not a {FORMAT} file")
    rows, bad = parse_rows(raw.get("mutants"), _row)
    return MutationScore(tuple(rows), skipped_rows=bad)


def mutation_tables(score: MutationScore) -> list[Table]:
    """One table: a row per seeded bug, with the scenarios and checks that caught it and
    those that claim it but stayed silent, as lists (a column per check made the table
    wider than a page once the catalog had two dozen checks)."""
    if not score.mutants:
        return []
    caught = sum(r.caught for r in score.mutants)
    rows = []
    for row in score.mutants:
        missed = [name for name in row.missed if name not in row.caught_by]
        rows.append(
            (
                row.name,
                row.bug,
                "yes" if row.caught else "NO",
                ", ".join(row.caught_by) or "-",
                ", ".join(missed) or "-",
            )
        )
    return [
        Table(
            title=f"Seeded bugs: {caught} of {len(score.mutants)} caught",
            headers=("bug", "what is wrong", "caught", "caught by", "MISSED by"),
            rows=tuple(rows),
            note="Each bug is the hardened store with one defect (tests/mutants/); caught "
            "by: the scenarios and gate checks (machine, concurrency) that caught it; "
            "MISSED by: those the catalog says catch it that stayed silent.",
        )
    ]
