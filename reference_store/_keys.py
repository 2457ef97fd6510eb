"""Session keys: normal form, file names, and case-variant resolution.

Seed names (upstream): percent-encode ``%`` first, then ``:`` ``/`` ``\\``; the file name
*is* the key, so case variants get distinct files (which collide on case-insensitive file
systems) and long keys exceed the 255-byte name limit.

Hardened names: one file per *normalized* key, the exact keys kept inside the file.
The name percent-encodes every byte outside ``[a-z0-9._-]`` (so it is ASCII, has no
separators, no case to fold, and no Unicode form to normalize); a name that would still
be unsafe (too long, a Windows reserved stem, a leading dot) becomes ``~<sha256>.json``,
which no encoded name can equal because ``~`` is always encoded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidKeyError

__all__ = [
    "ENTRY_SUFFIX",
    "desanitize_key",
    "is_safe_name",
    "keyed_file_name",
    "normalize_key",
    "resolve_key",
    "sanitize_key",
    "unsanitize_key",
    "updated_at_of",
]

ENTRY_SUFFIX = ".json"
#: Longest encoded stem we allow before hashing (255-byte NAME_MAX minus room for
#: ".json", temp suffixes and quarantine suffixes).
MAX_STEM_BYTES = 180
WINDOWS_RESERVED_STEMS = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
    + ["com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"]
)

_SEED_ENCODE = {"%": "%25", ":": "%3A", "/": "%2F", "\\": "%5C"}
_SEED_DECODE = re.compile(r"%(25|3[Aa]|2[Ff]|5[Cc])")
_SEED_DECODED = {"25": "%", "3A": ":", "2F": "/", "5C": "\\"}
_SAFE_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789._-")


def normalize_key(key: str) -> str:
    """The normal form of a key: trimmed and lower-cased."""
    return key.strip().lower()


def sanitize_key(key: str) -> str:
    """Seed file-name stem of a key: ``%`` first, then ``:`` ``/`` ``\\`` encoded.

    Reversible by :func:`unsanitize_key`; encoding ``%`` first is what makes text that
    already looks encoded round-trip instead of being decoded twice.
    """
    return "".join(_SEED_ENCODE.get(ch, ch) for ch in key)


def unsanitize_key(name: str) -> str:
    """Inverse of :func:`sanitize_key`, decoding every escape in a single pass, in either
    case (hardened reads the name of a bare, upstream-format entry file with it; the seed
    uses upstream's :func:`desanitize_key`)."""
    return _SEED_DECODE.sub(lambda m: _SEED_DECODED[m.group(1).upper()], name)


def desanitize_key(name: str) -> str:
    """The key upstream's directory layout reads from a file-name stem (seed).

    Only the upper-case escapes :func:`sanitize_key` writes are decoded, one kind after
    the other with ``%25`` last (as upstream does), so ``%3a`` stays as it is: a file
    another tool named with lower-case escapes loads under a key whose own file name
    differs, and an update of that key writes a second file beside it. Every name
    :func:`sanitize_key` makes still round-trips, since each earlier step writes a
    character that cannot start or complete an escape.
    """
    return name.replace("%3A", ":").replace("%5C", "\\").replace("%2F", "/").replace("%25", "%")


def check_key_encodable(key: str) -> None:
    if not isinstance(key, str):
        raise InvalidKeyError(f"session key must be a string, got {type(key).__name__}")
    if not key.strip():
        raise InvalidKeyError("session key is empty (or only whitespace)")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(f"session key {key!r} is not valid Unicode text: {exc}") from None


def _encode_stem(normalized: str) -> str:
    out: list[str] = []
    for byte in normalized.encode("utf-8"):
        out.append(chr(byte) if byte in _SAFE_BYTES else f"%{byte:02X}")
    return "".join(out)


def is_safe_name(stem: str) -> bool:
    """Whether a file-name stem is safe on Linux, macOS and Windows alike."""
    if not stem or stem.startswith(".") or len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        return False
    return stem.split(".", 1)[0].lower() not in WINDOWS_RESERVED_STEMS


@functools.lru_cache(maxsize=16_384)
def keyed_file_name(key: str) -> str:
    """Hardened file name for every key whose normal form equals ``key``'s.

    Cached: a pure function of the key, asked for twice per single-key call, and the
    byte-by-byte encoding was a measurable part of ``update_entry``.
    """
    normalized = normalize_key(key)
    stem = _encode_stem(normalized)
    if not is_safe_name(stem):
        stem = "~" + hashlib.sha256(normalized.encode("utf-8")).hexdigest()
    return stem + ENTRY_SUFFIX


def updated_at_of(entry: Any) -> int | float:
    """The age a resolution compares: upstream's ``entry.updatedAt ?? 0``, numerically
    (a float counts as its value; anything that is not a number as 0)."""
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return 0
    return value


def newest_rank(key: str, entry: Any, normalized: str) -> tuple[int | float, bool, str, str]:
    """A total order on case variants, independent of input order (hardened tie-break):
    newest ``updatedAt``, then the key already in normal form, then content, then key."""
    content = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return (updated_at_of(entry), key == normalized, content, key)


def pick_newest(
    candidates: Iterable[tuple[str, Any]], normalized: str, *, deterministic: bool
) -> tuple[str, Any] | None:
    """The newest of several (key, entry) variants.

    Seed (upstream): a strictly greater ``updatedAt`` wins, so a tie keeps the first seen
    -- the result depends on input order. Hardened: :func:`newest_rank` decides.
    """
    best: tuple[str, Any] | None = None
    for key, entry in candidates:
        if best is None:
            best = (key, entry)
        elif deterministic:
            if newest_rank(key, entry, normalized) > newest_rank(*best, normalized):
                best = (key, entry)
        elif updated_at_of(entry) > updated_at_of(best[1]):
            best = (key, entry)
    return best


def resolve_key(
    store: Mapping[str, Any], key: str, *, deterministic: bool
) -> tuple[str | None, list[str]]:
    """Key resolution (docs/spec.md): which stored key a call on ``key`` means.

    Returns ``(found, variants)``. ``found`` is the stored key whose entry to use: the
    newest ``updatedAt`` among the normalized key, the trimmed key and every case variant
    -- a newer variant beats the normalized key, as upstream's resolveSessionStoreEntry
    decides; ``None`` when there is none. Seed ties keep the normalized key (else the
    trimmed key, else the first variant in store order); hardened ties follow
    :func:`newest_rank`, which also prefers the normalized key. ``variants`` are every
    other stored key with the same normal form, which a write deletes after storing the
    result under the normalized key.
    """
    normalized = normalize_key(key)
    trimmed = key.strip()
    same = [k for k in store if k != normalized and normalize_key(k) == normalized]
    first = normalized if normalized in store else trimmed if trimmed in store else None
    ordered = ([first] if first is not None else []) + [k for k in same if k != first]
    picked = pick_newest(((k, store[k]) for k in ordered), normalized, deterministic=deterministic)
    return (picked[0] if picked else None), same
