"""No scenario is trusted before it has caught its bug.

Each catalogued mutant (``tests/mutants``) is explored through every scenario -- or gate
check (``machine``, ``concurrency``) -- that claims to catch it, and that scenario must
report a violation; every scenario and check must be claimed by at least one mutant. The
same bounded runs on the hardened reference store stay clean (``tests/test_gate.py``), so
a violation here is the mutant's doing, not the scenario's noise.
"""

from __future__ import annotations

import pytest
from mutants import MUTANTS, Mutant

import scenarios
from harness.engine._explorer import ExploreOptions, explore
from harness.engine._promises import promise
from harness.gate import CHECKS, run_gate

#: Fault points per family and configuration: enough to reach every bug in the catalog,
#: few enough that the whole matrix stays a small part of the suite's budget.
BOUND = 40
#: Seconds before a run counts as hung: these runs take milliseconds, and the mutant
#: that hangs would otherwise cost the default two minutes.
RUN_TIMEOUT = 5.0

CASES = [(m, name) for m in MUTANTS for name in m.caught_by]


def _violations(target: object, scenario: str, backend: str = "real") -> dict[str, int]:
    if scenario in CHECKS:
        # The gate's own checks at the gate's default bounds: what a user's gate runs.
        gated = run_gate(target, scenarios=[scenario])  # type: ignore[arg-type]
        found: dict[str, int] = {}
        for case in gated.cases:
            for kind, n in case.kinds.items():
                found[kind] = found.get(kind, 0) + n
        return found
    result = explore(
        [scenarios.get(scenario)],
        profiles=("hardened",),
        backends=(backend,),
        options=ExploreOptions(jobs=1, max_points=BOUND, run_timeout=RUN_TIMEOUT),
        target=target,  # type: ignore[arg-type]
    )
    kinds: dict[str, int] = {}
    for run in result.results:
        for violation in run.violations:
            kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
    for _run, violation in result.order_violations:
        kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
    return kinds


def test_every_scenario_is_claimed_by_a_mutant() -> None:
    claimed = {name for m in MUTANTS for name in m.caught_by}
    every = set(scenarios.names()) | set(CHECKS)
    assert every <= claimed, every - claimed


def test_every_mutant_names_the_promises_it_breaks() -> None:
    for mutant in MUTANTS:
        assert mutant.breaks, mutant.name
        for promise_id in mutant.breaks:
            promise(promise_id)  # a KeyError names the unknown id


def test_catalog_has_at_least_fifteen_distinct_bugs() -> None:
    assert len({m.name for m in MUTANTS}) == len(MUTANTS) >= 15


@pytest.mark.parametrize(("mutant", "scenario"), CASES, ids=[f"{m.name}-{s}" for m, s in CASES])
def test_scenario_catches_mutant(mutant: Mutant, scenario: str) -> None:
    kinds = _violations(mutant.target(), scenario)
    assert kinds, f"{scenario} did not catch mutant {mutant.name!r} ({mutant.bug})"
    # The promise table's claim: where the check judges a promise the bug breaks, it
    # reports the bug as a breach of that promise, not as something else.
    for broken in (promise(p) for p in mutant.breaks):
        if scenario in broken.checks:
            assert set(kinds) & broken.kinds, (
                f"{scenario} caught {mutant.name!r} as {sorted(kinds)}, none of which "
                f"breaks {broken.id} ({sorted(broken.kinds)})"
            )
