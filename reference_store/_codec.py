"""Entry validation and the on-disk JSON encodings."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from ._errors import InvalidEntryError

try:  # a speed-up only: without it the same bytes come from _pretty
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency of the project
    _orjson = None  # type: ignore[assignment]
from ._keys import check_key_encodable

__all__ = [
    "KEYED_FORMAT",
    "decode_json",
    "decode_json_lenient",
    "encode_json",
    "validate_entry",
    "validate_map",
]

#: Marker of a hardened keyed file: ``{"format": KEYED_FORMAT, "entries": {key: entry}}``.
KEYED_FORMAT = "store-harness.keyed/1"


def encode_json(value: Any) -> bytes:
    """Pretty JSON as upstream writes it (``JSON.stringify(v, null, 2)``), UTF-8.

    The bytes are exactly ``json.dumps(value, indent=2, ensure_ascii=False)``'s. That call
    runs CPython's pure-Python encoder (the C one does not indent) and was the largest
    item of an ``update_entry`` after the file system's own work -- with 150 KB entries,
    more than the write itself. orjson writes the same bytes 50x faster for every value
    without floats (it spells ``1e-05`` as ``0.00001`` and NaN as ``null``), and raises
    for the few others it would write differently (integers beyond 64 bits, non-string
    keys, nesting deeper than 255, lone surrogates, unknown types); those values, and
    every value with a float, go to :func:`_pretty`, which writes the same text with one
    Python call per container and the C string escaper; what neither knows (cycles,
    odd keys) goes to ``json.dumps``, whose result or error is the one the caller gets.
    """
    if _orjson is not None:
        try:
            fast = _orjson.dumps(value, option=_orjson.OPT_INDENT_2)
        except (_orjson.JSONEncodeError, TypeError):
            pass  # cycles too: orjson stops at depth 255, so the walk below always ends
        else:
            if not _has_float(value):
                return fast
    parts: list[str] = []
    try:
        _pretty(value, "\n", parts)
    except (_UnusualValueError, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    return "".join(parts).encode("utf-8")


def _has_float(value: Any) -> bool:
    """Whether ``value`` holds a float anywhere (the one thing orjson spells otherwise
    without raising). A flat loop over plain types: this runs on every write, and only
    on values orjson has written (so it has no cycle to go round)."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            push(item.values())
        elif kind is list or kind is tuple:
            push(item)
        elif kind is float:
            return True
        elif kind is str or kind is int or kind is bool or item is None:
            continue
        elif isinstance(item, dict):  # subclasses, which orjson writes as their base
            push(item.values())
        elif isinstance(item, (list, tuple)):
            push(item)
        elif isinstance(item, float):
            return True
    return False


class _UnusualValueError(Exception):
    """A value :func:`_pretty` leaves to ``json.dumps``."""


_escape = encode_basestring  # C-accelerated; the ensure_ascii=False escaper


def _pretty(value: Any, newline: str, out: list[str]) -> None:
    """Append the indent=2 text of ``value``; ``newline`` is "\\n" plus the current indent."""
    if isinstance(value, str):
        out.append(_escape(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _UnusualValueError  # NaN and the infinities: json.dumps spells them
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{"
        for key, item in value.items():
            if not isinstance(key, str):
                raise _UnusualValueError  # json.dumps converts int/float/bool/None keys its own way
            out.append(separator)
            out.append(inner)
            out.append(_escape(key))
            out.append(": ")
            _pretty(item, inner, out)
            separator = ","
        out.append(newline)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "["
        for item in value:
            out.append(separator)
            out.append(inner)
            _pretty(item, inner, out)
            separator = ","
        out.append(newline)
        out.append("]")
    else:
        raise _UnusualValueError


def decode_json(data: bytes) -> Any:
    """Parse JSON; raises ``ValueError`` (incl. ``UnicodeDecodeError``) when unparsable.

    The result is always ``json.loads``'s (values, types, key order, last of duplicate
    keys). orjson parses twice as fast, which is the largest item of a 150 KB
    ``update_entry`` after the file system (docs/benchmarks.md), and agrees with
    ``json.loads`` on every document it accepts, but for numbers: it turns integers
    beyond 64 bits into floats. So its result is kept only when it holds no float
    (``_has_float``: microseconds for an entry file, 50 ms for a 10,000-entry map, still
    less than orjson saves); anything else -- a float, or a document orjson
    refuses (NaN, lone surrogates, invalid UTF-8, deep nesting) -- is parsed again by
    ``json.loads``, whose value or error is the one the caller gets.
    """
    if _orjson is not None:
        try:
            fast = _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
        else:
            if not _has_float(fast):
                return fast
    return json.loads(data.decode("utf-8"))


def decode_json_lenient(data: bytes) -> Any:
    """:func:`decode_json` as upstream reads a file (``readFileSync(path, "utf-8")``):
    bytes that are not UTF-8 become U+FFFD first, so they cost nothing inside a string
    and make the document unparsable only outside one.

    Python's ``errors="replace"`` substitutes maximal subparts as Node's decoder does,
    so both give the same number of U+FFFD for every byte sequence.
    """
    try:
        return decode_json(data)
    except UnicodeDecodeError:
        return json.loads(data.decode("utf-8", errors="replace"))


def validate_entry(key: str, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise InvalidEntryError(
            f"entry for {key!r} must be a JSON object, got {type(entry).__name__}"
        )
    session_id = entry.get("sessionId")
    if not isinstance(session_id, str):
        raise InvalidEntryError(f"entry for {key!r} lacks a string 'sessionId'")
    updated_at = entry.get("updatedAt")
    if not isinstance(updated_at, int) or isinstance(updated_at, bool):
        raise InvalidEntryError(f"entry for {key!r} lacks an integer 'updatedAt'")


def validate_map(mapping: Mapping[str, Any]) -> None:
    for key, entry in mapping.items():
        check_key_encodable(key)
        validate_entry(key, entry)
