"""What the benchmarks write: realistic session keys, entries of a chosen size, patches.

Entries carry the fields docs/spec.md lists (``sessionId``, ``updatedAt``, ``lastChannel``,
``lastTo``, ``lastAccountId``, ``deliveryContext``, ``origin``) and reach their size the
way real heavy entries do: through ``skillsSnapshot`` and ``systemPromptReport``. The
size is that of the entry as the store encodes it (pretty JSON, UTF-8), exact to the
byte once the fixed fields fit. Everything is derived from a seed, so two runs with one
seed write the same bytes.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
from collections.abc import Callable
from typing import Any

__all__ = [
    "ENTRY_SIZES",
    "encoded_size",
    "entry_size_label",
    "make_entry",
    "make_key",
    "make_keys",
    "make_store",
    "new_patch",
    "parse_entry_size",
]

#: Entry sizes of the grid (docs/spec.md: ~1 KB routing-only entries, 25-150 KB heavy ones).
ENTRY_SIZES: dict[str, int] = {"1KB": 1024, "25KB": 25 * 1024, "150KB": 150 * 1024}

_CHANNELS = ("telegram", "slack", "discord", "whatsapp", "signal")
_AGENTS = ("main", "ops", "support")
_WORDS = (
    *("session", "route", "agent", "channel", "thread", "skill", "prompt", "tool"),
    *("memory", "context", "gateway", "deliver", "message", "inbound", "outbound"),
    *("workspace", "file", "summary", "policy", "model", "reply", "cache", "snapshot"),
    *("report", "account", "user", "group", "direct", "mention", "history", "token"),
)
#: Fixed base of ``updatedAt`` (2026-01-01T00:00:00Z), so entries do not depend on the clock.
BASE_MS = 1_767_225_600_000


def encoded_size(entry: Any) -> int:
    """Bytes of ``entry`` as the stores write a bare entry (pretty JSON, UTF-8)."""
    return len(json.dumps(entry, indent=2, ensure_ascii=False).encode("utf-8"))


def entry_size_label(size_bytes: int) -> str:
    """``1024`` -> ``"1KB"``; sizes outside the grid print as bytes."""
    for label, value in ENTRY_SIZES.items():
        if value == size_bytes:
            return label
    return f"{size_bytes}B"


def parse_entry_size(text: str) -> int:
    """``"25KB"`` / ``"25kb"`` / ``"25600"`` -> bytes."""
    upper = text.strip().upper()
    for label, value in ENTRY_SIZES.items():
        if upper == label:
            return value
    if upper.endswith("KB") and upper[:-2].isdigit():
        return int(upper[:-2]) * 1024
    if upper.isdigit():
        return int(upper)
    raise ValueError(f"entry size {text!r} is not one of {', '.join(ENTRY_SIZES)} or a byte count")


def make_key(index: int) -> str:
    """The ``index``-th session key: lower case (already normal), one of several shapes
    seen upstream, unique per index."""
    agent = _AGENTS[index % len(_AGENTS)]
    channel = _CHANNELS[(index // len(_AGENTS)) % len(_CHANNELS)]
    shape = index % 4
    if shape == 0:
        return f"agent:{agent}:{channel}:direct:{100000 + index}"
    if shape == 1:
        thread = f"{1700000000 + index}.{index % 1000:03d}"
        return f"agent:{agent}:{channel}:channel:c{index}:thread:{thread}"
    if shape == 2:
        return f"agent:{agent}:{channel}:group:g{index}"
    return f"agent:{agent}:{channel}:direct:+1555{index:07d}"


def make_keys(count: int) -> list[str]:
    return [make_key(i) for i in range(count)]


class _Filler:
    """Slices of one seeded text of ASCII words (no JSON escapes): cheap to cut many."""

    def __init__(self, rng: random.Random, length: int = 1 << 18) -> None:
        words: list[str] = []
        total = 0
        while total < length:
            word = rng.choice(_WORDS)
            words.append(word)
            total += len(word) + 1
        self.text = " ".join(words)
        self.rng = rng

    def take(self, length: int) -> str:
        """``length`` characters starting at a random word boundary."""
        if length <= 0:
            return ""
        parts: list[str] = []
        while length > 0:
            start = self.rng.randrange(0, len(self.text) // 2)
            chunk = self.text[start : start + length]
            parts.append(chunk)
            length -= len(chunk)
        return "".join(parts)


def _base_entry(rng: random.Random, key: str, index: int) -> dict[str, Any]:
    parts = key.split(":")
    channel = parts[2]
    to = parts[-1]
    thread = parts[-1] if ":thread:" in key else None
    return {
        "sessionId": f"{rng.getrandbits(128):032x}",
        "updatedAt": BASE_MS + index,
        "lastChannel": channel,
        "lastTo": to,
        "lastAccountId": "default",
        "deliveryContext": {
            "channel": channel,
            "to": to,
            "accountId": "default",
            "threadId": thread,
        },
        "origin": {"provider": channel, "surface": channel, "chatType": parts[3], "from": to},
        "skillsSnapshot": {
            "prompt": "",
            "skills": [{"name": name, "primaryEnv": None} for name in ("web", "files")],
        },
        "systemPromptReport": {
            "source": "run",
            "generatedAt": BASE_MS + index,
            "systemPrompt": {"chars": 0, "projectContextChars": 0},
            "text": "",
        },
    }


def make_entry(
    rng: random.Random, key: str, index: int, size_bytes: int, filler: _Filler | None = None
) -> dict[str, Any]:
    """An entry for ``key`` whose pretty-JSON encoding is ``size_bytes`` long (or its
    fixed fields alone, when those are longer)."""
    entry = _base_entry(rng, key, index)
    missing = size_bytes - encoded_size(entry)
    if missing <= 0:
        return entry
    fill = filler if filler is not None else _Filler(rng, length=min(1 << 18, 2 * size_bytes))
    # Heavy entries carry their weight in these two fields (docs/spec.md), split 1:2. The filler
    # is ASCII without escapes, so each character adds one byte; "chars" replaces its
    # one-digit 0 by the report's length, which adds len(str(report)) - 1 bytes.
    skills = missing // 3
    report = missing - skills
    while report > 0 and report + len(str(report)) - 1 > missing - skills:
        report -= 1
    entry["skillsSnapshot"]["prompt"] = fill.take(skills)
    entry["systemPromptReport"]["text"] = fill.take(report)
    entry["systemPromptReport"]["systemPrompt"]["chars"] = report
    return entry


def make_store(seed: int | str, size: int, entry_bytes: int) -> dict[str, dict[str, Any]]:
    """``size`` entries of ``entry_bytes`` each, keyed by :func:`make_key`.

    Cached per arguments (the bench builds the same store for several layouts): the
    returned mapping is shared, so callers copy before they change it.
    """
    return _make_store(str(seed), size, entry_bytes)


@functools.lru_cache(maxsize=4)
def _make_store(seed: str, size: int, entry_bytes: int) -> dict[str, dict[str, Any]]:
    rng = random.Random(f"store:{seed}:{size}:{entry_bytes}")
    filler = _Filler(rng, length=max(1 << 16, min(1 << 20, 4 * entry_bytes)))
    return {
        key: make_entry(rng, key, i, entry_bytes, filler) for i, key in enumerate(make_keys(size))
    }


_PATCHES = itertools.count(1)


def new_patch() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The change one ``update_entry`` makes, as an inbound message does: a newer
    ``updatedAt`` and a new route. Every patch of a run differs from every other (the
    route names the process and a counter), so no call is ever a no-op that a
    diff-based layout could skip, even on stores shared between cells and processes."""
    number = next(_PATCHES)
    stamp = BASE_MS + 10_000_000 + number
    to = f"{os.getpid():x}.{number:x}"

    def patch(entry: dict[str, Any]) -> dict[str, Any]:
        context = entry.get("deliveryContext")
        context = dict(context) if isinstance(context, dict) else {}
        context["to"] = to
        return {"updatedAt": stamp, "lastTo": to, "deliveryContext": context}

    return patch
