"""Entry validation and the on-disk JSON encodings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidEntryError
from ._keys import check_key_encodable

__all__ = ["KEYED_FORMAT", "decode_json", "encode_json", "validate_entry", "validate_map"]

#: Marker of a hardened keyed file: ``{"format": KEYED_FORMAT, "entries": {key: entry}}``.
KEYED_FORMAT = "store-harness.keyed/1"


def encode_json(value: Any) -> bytes:
    """Pretty JSON as upstream writes it (``JSON.stringify(v, null, 2)``), UTF-8."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


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
