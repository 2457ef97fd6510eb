"""The pretty encoder writes exactly the bytes of ``json.dumps(indent=2,
ensure_ascii=False)`` -- the format docs/spec.md gives both layouts -- for every JSON value,
and defers to ``json.dumps`` (its output or its error) for anything else."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_store._codec import _has_float, decode_json, encode_json

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


#: What session entries hold: the values the orjson fast path takes.
FLOAT_FREE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


@given(FLOAT_FREE)
def test_the_fast_path_writes_the_same_bytes(value: Any) -> None:
    assert not _has_float(value)
    assert encode_json(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"n": [-(2**63), 2**64 - 1, 2**64, -(2**63) - 1]},
        {"x": 1e-05, "y": 1e16},
        [[[]]] * 3 + [{"k": ["\x7f \u2028 \x00"]}],
    ],
    ids=["int-bounds", "floats", "control-characters"],
)
def test_values_at_the_edges_of_the_fast_path(value: Any) -> None:
    assert encode_json(value) == reference(value)


def test_a_lone_surrogate_fails_as_utf_8_does() -> None:
    # orjson refuses it; the exact path then fails the way json.dumps(...).encode() does.
    with pytest.raises(UnicodeEncodeError):
        reference({"k": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        encode_json({"k": "\ud800"})


def test_nesting_deeper_than_orjson_allows_is_still_written() -> None:
    value: Any = "leaf"
    for _ in range(300):
        value = {"d": [value]}
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


# --- decoding: always json.loads's result ----------------------------------------------------
def _loads_outcome(data: bytes) -> tuple[str, Any]:
    """What ``json.loads`` makes of ``data``: its value with every type and key order, or
    the type of its error."""
    try:
        return "value", _typed(json.loads(data.decode("utf-8")))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)


def _decode_outcome(data: bytes) -> tuple[str, Any]:
    try:
        return "value", _typed(decode_json(data))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)


def _typed(value: Any) -> Any:
    """``value`` with each leaf's type and each object's key order made visible, so
    ``1 == 1.0 == True`` and ``{"a", "b"}`` in either order are told apart (NaN too)."""
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


@given(JSON_VALUES, st.booleans())
def test_decoding_gives_json_loads_result(value: Any, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _decode_outcome(data) == _loads_outcome(data)


@given(
    st.binary(max_size=60)
    | st.text(alphabet='{}[]":,0123456789.eE-+ \\nul\ud800').map(
        lambda t: t.encode("utf-8", "surrogatepass")
    )
)
def test_decoding_any_bytes_fails_or_agrees_as_json_loads_does(data: bytes) -> None:
    assert _decode_outcome(data) == _loads_outcome(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1, "b": 2, "a": 3}',  # duplicate keys: the last value, the first position
        b"[18446744073709551615, 18446744073709551616, -9223372036854775809]",  # 64-bit edges
        b'["\\ud800", NaN, 1e400, -0, -0.0]',  # what orjson refuses or spells as a float
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8
        b"[" * 3000 + b"]" * 3000,  # deeper than either parser goes
    ],
    ids=["duplicate-keys", "int-edges", "refused-by-orjson", "bom", "utf8-surrogate", "deep"],
)
def test_decoding_edge_cases_match_json_loads(data: bytes) -> None:
    assert _decode_outcome(data) == _loads_outcome(data)
