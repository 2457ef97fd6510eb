"""Whatever a store's ``load()`` returns is judged by the oracle, never left to crash it.

Before, a ``load()`` answering with a list ended in an ``AttributeError`` inside the
oracle, and the summary counted "1 / 0 violating runs" with no replay file: the
harness's own failure blamed on the store. The seeded bug ``load-returns-a-list``
(tests/mutants) is caught through the explorer; these pin down each shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.engine._oracle import (
    Candidate,
    History,
    Outcome,
    acceptable_states,
    check_reads,
    classify,
)
from harness.engine._workload import Load

GOOD = {"agent:a": {"sessionId": "a", "updatedAt": 1}}


@pytest.mark.parametrize(
    ("found", "says"),
    [
        ([GOOD["agent:a"]], "a list"),
        (None, "None"),
        ("sessions", "a str"),
        ({1: GOOD["agent:a"]}, "a key 1"),
        ({"agent:a": ["not", "an", "entry"]}, "not an entry"),
        ({"agent:a": None}, "None for 'agent:a'"),
    ],
)
def test_a_misshapen_load_is_a_wrong_result(found: Any, says: str) -> None:
    states, history, uncertain = acceptable_states(Candidate(GOOD), (), (), recover_migrates=False)
    violations = classify(found, states, history, uncertain)
    assert violations, found
    assert violations[0].kind == "wrong-result"
    assert says in violations[0].detail


def test_a_misshapen_entry_beside_good_ones_is_also_compared_key_by_key() -> None:
    found = {"agent:a": GOOD["agent:a"], "agent:b": 5}
    kinds = [v.kind for v in classify(found, [GOOD], History(), [])]
    assert kinds == ["wrong-result", "phantom-entry"]


def test_a_read_during_the_workload_that_returns_a_list_is_judged() -> None:
    outcome = Outcome(step=1, call="load", status="ok")
    violations = check_reads(Candidate(GOOD), [Load()], [outcome], [[GOOD["agent:a"]]])
    assert [v.kind for v in violations] == ["wrong-result"]
