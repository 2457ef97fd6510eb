"""Seeded bugs through the gate: one gate run per mutant, and the mutation score (a bug x
catching-scenario table) that says which checks would have caught which bug.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from harness.engine._scenario import Scenario
from harness.engine._target import StoreTarget
from harness.gate._cases import CaseResult
from harness.gate._outputs import _md, _write_text
from harness.gate._plan import select_scenarios
from harness.gate._run import GateResult, run_gate

__all__ = [
    "MutantLike",
    "MutantVerdict",
    "mutation_score",
    "mutation_score_json",
    "run_mutants",
    "write_mutation_score",
]


# --- mutants and the mutation score ----------------------------------------------------------
class MutantLike(Protocol):
    """What the gate needs of a seeded bug (``harness.checks._mutation.Mutant`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def bug(self) -> str: ...

    @property
    def caught_by(self) -> tuple[str, ...]: ...

    def target(self) -> StoreTarget: ...


@dataclass(frozen=True)
class MutantVerdict:
    """A gate run on one seeded bug: the gate must fail, naming the claimed scenarios."""

    name: str
    bug: str
    #: the scenarios the catalog says must catch it
    expected: tuple[str, ...]
    result: GateResult

    @property
    def caught(self) -> bool:
        return bool(self.result.failed)

    @property
    def caught_by(self) -> tuple[str, ...]:
        return self.result.caught_by()

    @property
    def missed(self) -> tuple[str, ...]:
        """Claimed scenarios that ran and stayed silent."""
        ran = {c.configuration.scenario for c in self.result.cases if c.status != "skipped"}
        return tuple(s for s in self.expected if s in ran and s not in self.caught_by)


def run_mutants(
    mutants: Sequence[MutantLike],
    *,
    scope: Literal["claimed", "all"] = "claimed",
    scenarios: Sequence[str | Scenario] = ("all",),
    replays_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
    **gate_options: Any,
) -> tuple[MutantVerdict, ...]:
    """Gate every mutant: on the scenarios it claims (``claimed``) or on all of
    ``scenarios``. Other keyword arguments go to :func:`run_gate`."""
    verdicts: list[MutantVerdict] = []
    for mutant in mutants:
        if progress is not None:
            progress(mutant.name)
        chosen: Sequence[str | Scenario] = mutant.caught_by if scope == "claimed" else scenarios
        result = run_gate(
            mutant.target(),
            scenarios=chosen,
            replays_dir=None if replays_dir is None else os.path.join(replays_dir, mutant.name),
            **gate_options,
        )
        verdicts.append(MutantVerdict(mutant.name, mutant.bug, tuple(mutant.caught_by), result))
    return tuple(verdicts)


def mutation_score(verdicts: Sequence[MutantVerdict]) -> str:
    """The bug x catching-scenario table, in Markdown.

    A cell is ``caught`` when that scenario reported a violation the promises count,
    ``MISSED`` when the catalog claims the scenario catches the bug and it stayed silent,
    ``·`` when it ran and stayed silent, and empty when it did not run on that bug.
    """
    caught = sum(v.caught for v in verdicts)
    total = len(verdicts)
    percent = f"{100 * caught / total:.0f}%" if total else "n/a"
    columns: list[str] = []
    for verdict in verdicts:
        for case in verdict.result.cases:
            if case.configuration.scenario not in columns:
                columns.append(case.configuration.scenario)
    order = {s.name: i for i, s in enumerate(select_scenarios(["all"]))}
    columns.sort(key=lambda name: order.get(name, len(order)))
    lines = [
        f"## Mutation score: {caught}/{total} seeded bugs caught ({percent})",
        "",
        "| bug | what is wrong | caught | " + " | ".join(f"`{c}`" for c in columns) + " |",
        "|---|---|:-:|" + ":-:|" * len(columns),
    ]
    for verdict in verdicts:
        ran = {c.configuration.scenario for c in verdict.result.cases if c.status != "skipped"}
        cells: list[str] = []
        for column in columns:
            if column in verdict.caught_by:
                cells.append("caught")
            elif column in verdict.missed:
                cells.append("**MISSED**")
            elif column in ran:
                cells.append("·")
            else:
                cells.append("")
        lines.append(
            f"| `{_md(verdict.name)}` | {_md(verdict.bug)} | "
            f"{'yes' if verdict.caught else '**no**'} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "caught: the scenario reported a violation · **MISSED**: the catalog claims the "
        "scenario catches this bug, and it stayed silent · `·`: ran, silent · empty: not run",
    ]
    return "\n".join(lines) + "\n"


def mutation_score_json(verdicts: Sequence[MutantVerdict]) -> dict[str, Any]:
    return {
        "format": "store-harness.mutation-score/1",
        "caught": sum(v.caught for v in verdicts),
        "total": len(verdicts),
        "mutants": [
            {
                "name": v.name,
                "bug": v.bug,
                "caught": v.caught,
                "expected": list(v.expected),
                "caught_by": list(v.caught_by),
                "missed": list(v.missed),
                "kinds": _total_kinds(v.result.failed),
                "runs": v.result.runs,
                "seconds": round(v.result.seconds, 3),
            }
            for v in verdicts
        ],
    }


def _total_kinds(cases: Iterable[CaseResult]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for case in cases:
        total.update(case.kinds)
    return dict(sorted(total.items()))


def write_mutation_score(verdicts: Sequence[MutantVerdict], out: str) -> tuple[str, str]:
    """Write ``mutation-score.md`` and ``mutation-score.json`` into ``out``."""
    os.makedirs(out, exist_ok=True)
    md_path = os.path.join(out, "mutation-score.md")
    json_path = os.path.join(out, "mutation-score.json")
    _write_text(md_path, mutation_score(verdicts))
    _write_text(json_path, json.dumps(mutation_score_json(verdicts), indent=2) + "\n")
    return md_path, json_path
