"""Entry validation and the on-disk JSON encodings."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from ._errors import InvalidEntryError
from ._keys import check_key_encodable

__all__ = ["KEYED_FORMAT", "decode_json", "encode_json", "validate_entry", "validate_map"]

#: Marker of a hardened keyed file: ``{"format": KEYED_FORMAT, "entries": {key: entry}}``.
KEYED_FORMAT = "store-harness.keyed/1"


def encode_json(value: Any) -> bytes:
    """Pretty JSON as upstream writes it (``JSON.stringify(v, null, 2)``), UTF-8.

    The bytes are exactly ``json.dumps(value, indent=2, ensure_ascii=False)``'s. That call
    runs CPython's pure-Python encoder (the C one does not indent) and was the largest
    item of an ``update_entry`` after the file system's own work; :func:`_pretty` writes
    the same text with one Python call per container and the C string escaper. Anything
    it does not know (non-string keys, unusual types, cycles) goes to ``json.dumps``,
    whose result or error is the one the caller gets.
    """
    parts: list[str] = []
    try:
        _pretty(value, "\n", parts)
    except (_UnusualValueError, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    return "".join(parts).encode("utf-8")


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
    """Parse JSON; raises ``ValueError`` (incl. ``UnicodeDecodeError``) when unparsable."""
    return json.loads(data.decode("utf-8"))


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
