"""The pretty encoder writes exactly the bytes of ``json.dumps(indent=2,
ensure_ascii=False)`` -- the format SPEC.md gives both layouts -- for every JSON value,
and defers to ``json.dumps`` (its output or its error) for anything else."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_store._codec import encode_json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities included: json.dumps spells them its own way
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(), inner, max_size=5)
        | st.tuples(inner, inner)
    ),
    max_leaves=40,
)


def reference(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


@given(JSON_VALUES)
def test_same_bytes_as_json_dumps(value: Any) -> None:
    assert encode_json(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {7: "int key", None: "null key", False: "bool key", 2.5: "float key"},
        {"nested": [{"x": math.inf}, {"y": -math.inf}, {"z": math.nan}]},
        {"deep": [[[[[]]]]], "empty": {}},
        '\u2028 \x00 "quoted" \\ é 🎉',
    ],
    ids=["non-string-keys", "non-finite", "empty-containers", "escapes"],
)
def test_unusual_values_match_too(value: Any) -> None:
    assert encode_json(value) == reference(value)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        encode_json(cycle)
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_json({"when": object()})
