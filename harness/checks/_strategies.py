"""Hypothesis strategies for session stores: keys, entries, patches, routes, whole stores.

Public and reusable: a test suite of another store implementation may import these as
they are. Every strategy produces data that docs/spec.md calls valid (an entry always has a
string ``sessionId`` and an integer ``updatedAt``; a key is never blank), so a store that
rejects one of them has a bug, not the data. Hostile keys are valid too: they are what a
store must file safely, not what it may refuse.

* :func:`realistic_keys` -- the shapes gateways really use (``agent:main:telegram:dm:1``).
* :func:`hostile_keys` -- ``%`` ``:`` ``/`` ``\\`` ``..``, text that already looks encoded,
  Windows reserved names, leading and trailing dots and spaces, control characters,
  unicode whose lower case is another letter or that has two normal forms, and keys far
  longer than a file name may be; ``NAME_HAZARDS`` names one key per hazard.
* :func:`case_variants` -- what an older gateway wrote beside the lower-case key.
* :func:`entries` -- an entry shaped like docs/spec.md's, of a chosen size (``ENTRY_SIZES``).
* :func:`stores` -- whole maps, optionally with case-variant duplicates.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = [
    "AGENTS",
    "CHANNELS",
    "ENTRY_SIZES",
    "HOSTILE_EXAMPLES",
    "NAME_HAZARDS",
    "REALISTIC_EXAMPLES",
    "NameHazard",
    "case_variant",
    "case_variants",
    "encoded_size",
    "entries",
    "hostile_keys",
    "json_values",
    "machine_entries",
    "machine_keys",
    "machine_patches",
    "machine_routes",
    "patches",
    "realistic_keys",
    "routes",
    "session_keys",
    "stores",
]

AGENTS = ("main", "ops", "support")
CHANNELS = ("telegram", "slack", "discord", "whatsapp", "signal", "webchat")
CHAT_KINDS = ("direct", "dm", "group", "channel")

#: Target sizes in bytes of an entry's pretty JSON (docs/spec.md: ~1 KB routing-only entries,
#: 25-150 KB heavy ones). ``tiny`` is the required fields plus a few routing ones, for
#: machines that need many steps per second more than realistic bytes.
ENTRY_SIZES: dict[str, int] = {"tiny": 0, "1k": 1024, "25k": 25 * 1024, "150k": 150 * 1024}

#: Keys of the shapes upstream uses; a small fixed set so that machines hit the same key
#: again and again (updates of existing entries are where stores break).
REALISTIC_EXAMPLES = (
    "agent:main:telegram:direct:12345",
    "agent:main:telegram:dm:12345",
    "agent:main:slack:channel:c1:thread:123.456",
    "agent:ops:main",
    "agent:main:discord:group:987",
    "agent:support:whatsapp:direct:+4915112345678",
)

#: Keys a store must file safely and give back unchanged.
HOSTILE_EXAMPLES = (
    "agent:main:100%:done",  # a literal percent sign
    "agent:main:%3A:already-encoded",  # must not be decoded twice
    "agent:main:slash/and\\backslash",
    "..",
    "agent:main:../../etc/passwd",
    "CON",  # reserved on Windows
    "agent:main:trailing-dot.",
    "agent:main:trailing-space ",
    " agent:main:padded ",  # normalizes to a different key
    "agent:main:Zoë:日本語:🚀",
    "agent:main:\u212a",  # KELVIN SIGN: lower-cases to a plain "k"
    "agent:main:" + "x" * 300,  # beyond the 255-byte file name limit
    "agent:main:" + "ü" * 150,  # 300 bytes of UTF-8 in 161 characters
)


@dataclass(frozen=True)
class NameHazard:
    """A key that breaks the file name it would be stored under, and how."""

    #: keys of one family break names the same way (``encoding``, ``dots``, ``control``,
    #: ``nul``, ``unicode``, ``case``, ``reserved``, ``length``)
    family: str
    hazard: str
    key: str


#: One key per way a key can break its file name; every one is a valid key (a key is
#: text, not a file name), which a store must keep and give back unchanged on every
#: operating system. Twins sit side by side: two different keys whose names meet on some
#: file system.
NAME_HAZARDS: tuple[NameHazard, ...] = (
    NameHazard("encoding", "text that already looks encoded", "agent:main:a%3Ab"),
    NameHazard("encoding", "its decoded twin (a colon)", "agent:main:a:b"),
    NameHazard("encoding", "a literal percent sign", "agent:main:100%:done"),
    NameHazard("encoding", "slash", "agent:main:x/y"),
    NameHazard("encoding", "backslash", "agent:main:x\\y"),
    NameHazard("encoding", "dot-dot segments", "agent:main:../../etc/passwd"),
    NameHazard("dots", "dot", "."),
    NameHazard("dots", "dot-dot", ".."),
    NameHazard("dots", "leading dot", ".agent:main:hidden"),
    NameHazard("dots", "trailing dot", "agent:main:trailing-dot."),
    NameHazard("dots", "leading space", " agent:main:leading-space"),
    NameHazard("dots", "trailing space", "agent:main:trailing-space "),
    NameHazard("control", "control characters", "agent:main:ctl\x01\x1f\t\n\x7f"),
    NameHazard("control", "characters Windows refuses", 'agent:main:what?<>|*"'),
    NameHazard("nul", "NUL", "agent:main:nul\x00byte"),
    NameHazard("unicode", "NFC form", "agent:main:caf\u00e9"),
    NameHazard("unicode", "NFD form of the same text", "agent:main:cafe\u0301"),
    NameHazard("case", "case-insensitive collision", "agent:main:telegram:direct:Alice"),
    NameHazard("case", "its lower-case twin", "agent:main:telegram:direct:alice"),
    NameHazard("reserved", "Windows reserved name", "CON"),
    NameHazard("reserved", "Windows reserved name", "NUL"),
    NameHazard("reserved", "Windows reserved name", "COM1"),
    NameHazard("reserved", "Windows reserved name with an extension", "CON.txt"),
    NameHazard("reserved", "Windows reserved name with an extension", "nul.json"),
    NameHazard("reserved", "Windows reserved name with an extension", "com1.tar.gz"),
    NameHazard("length", "encoded name over 255 bytes", "agent:main:" + "long-" * 60),
    NameHazard("length", "name over 255 UTF-16 units", "agent:main:" + "\u65e5" * 250),
)

# No lone surrogates (not encodable as UTF-8): such keys are invalid input. NUL is a
# valid key character but stays opt-in (``hostile_keys(nul=True)``): a store may hand
# keys to APIs that end a string at NUL (C strings, some SQLite functions), and a test
# suite should choose to ask that of it.
_KEY_CHARS = st.characters(
    exclude_categories=["Cs"], exclude_characters="\x00", max_codepoint=0x1F9FF
)
_ID_CHARS = string.ascii_lowercase + string.digits


def realistic_keys(*, ids: SearchStrategy[str] | None = None) -> SearchStrategy[str]:
    """Keys of upstream's shapes: ``agent:<id>:<channel>:<kind>:<peer>``, Slack threads,
    and an agent's main session. ``ids`` draws the peer part (default: short ids)."""
    peer = ids if ids is not None else st.text(_ID_CHARS, min_size=1, max_size=12)
    agents = st.sampled_from(AGENTS)
    direct = st.builds(
        lambda a, c, k, p: f"agent:{a}:{c}:{k}:{p}",
        agents,
        st.sampled_from(CHANNELS),
        st.sampled_from(CHAT_KINDS),
        peer,
    )
    thread = st.builds(
        lambda a, c, t: f"agent:{a}:slack:channel:{c}:thread:{t}",
        agents,
        peer,
        st.integers(1, 10**6).map(lambda n: f"{n}.{n % 1000:03d}"),
    )
    main = agents.map(lambda a: f"agent:{a}:main")
    return st.one_of(direct, thread, main)


def hostile_keys(*, nul: bool = False) -> SearchStrategy[str]:
    """Keys that break naive file naming; never blank, never invalid Unicode, and with
    NUL only when ``nul`` is true."""
    pieces_of_names = ["%", ":", "/", "\\", "..", ".", "%25", "%3A", " ", "~", "\x01", "\t"]
    pieces_of_names += ["CON", "nul.", "COM1", "?", "*", "e\u0301", "\u00e9", "A", "a"]
    if nul:
        pieces_of_names.append("\x00")
    special = st.sampled_from(pieces_of_names)
    pieces = st.lists(st.one_of(special, st.text(_KEY_CHARS, min_size=1, max_size=4)), max_size=8)
    built = pieces.map("".join).map(lambda s: "agent:" + s)
    long_keys = st.builds(
        lambda ch, n: "agent:main:" + ch * n,
        st.sampled_from(["x", "ü", "日", "%", ":"]),
        st.integers(200, 600),
    )
    named = [h.key for h in NAME_HAZARDS if nul or "\x00" not in h.key]
    return st.one_of(st.sampled_from(HOSTILE_EXAMPLES + tuple(named)), built, long_keys)


def session_keys(*, hostile: bool = True) -> SearchStrategy[str]:
    """Realistic keys, and (by default) hostile ones now and then."""
    keys = realistic_keys()
    return st.one_of(keys, hostile_keys()) if hostile else keys


def machine_keys(*, hostile: bool = True) -> SearchStrategy[str]:
    """A small pool of keys, so that state machines revisit the same sessions."""
    pool = REALISTIC_EXAMPLES + (HOSTILE_EXAMPLES if hostile else ())
    return st.sampled_from(pool)


def case_variant(key: str, bits: int) -> str:
    """The case variant of ``key`` chosen by ``bits`` (bit i flips the i-th cased letter,
    cyclically); never ``key`` itself when a letter can flip, always of its normal form.
    Deterministic, so a machine draws one integer instead of a flag per letter."""
    positions = [i for i, ch in enumerate(key) if ch.upper() != ch.lower()]
    chars = list(key)
    for n, i in enumerate(positions):
        if bits >> (n % 16) & 1:
            chars[i] = chars[i].swapcase()
    variant = "".join(chars)
    if variant == key and positions:
        i = positions[0]
        variant = key[:i] + key[i].swapcase() + key[i + 1 :]
    # swapcase() of some letters (e.g. "ß" -> "SS") changes the normal form: keep the key.
    return variant if variant.strip().lower() == key.strip().lower() else key


def case_variants(key: str) -> SearchStrategy[str]:
    """Keys with ``key``'s normal form and other letters upper-cased (as older gateways
    stored them), different from ``key`` whenever it has a letter to flip."""
    return st.integers(0, 2**16 - 1).map(lambda bits: case_variant(key, bits))


def json_values(*, max_leaves: int = 6) -> SearchStrategy[Any]:
    """Opaque JSON values that round-trip exactly (no NaN or infinity)."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.text(_KEY_CHARS, max_size=12),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(_KEY_CHARS, max_size=6), inner, max_size=3),
        ),
        max_leaves=max_leaves,
    )


def encoded_size(entry: Mapping[str, Any]) -> int:
    """Bytes of the entry as the store writes it (pretty JSON, UTF-8)."""
    return len(json.dumps(entry, indent=2, ensure_ascii=False).encode("utf-8"))


# Filler text: printable, no quote or backslash, so JSON escaping does not inflate it and
# the padded size is predictable.
_FILLER_CHARS = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters='"\\', max_codepoint=0x2FFF
)


def _pad(entry: dict[str, Any], target: int, chunk: str) -> dict[str, Any]:
    missing = target - encoded_size(entry)
    if missing <= 0:
        return entry
    per_char = max(1, len(chunk.encode("utf-8")) // len(chunk))
    text = (chunk * (missing // max(1, len(chunk)) + 1))[: max(1, missing // per_char)]
    report = dict(entry.get("systemPromptReport") or {})
    report["prompt"] = text
    padded = {**entry, "systemPromptReport": report}
    # One correction pass for multibyte characters and the field's own overhead.
    over = encoded_size(padded) - target
    if over > 0:
        encoded = text.encode("utf-8")[: max(0, len(text.encode("utf-8")) - over)]
        report["prompt"] = encoded.decode("utf-8", "ignore")
        padded = {**entry, "systemPromptReport": report}
    return padded


def entries(
    size: str = "1k",
    *,
    session_ids: SearchStrategy[str] | None = None,
    updated_at: SearchStrategy[int] | None = None,
) -> SearchStrategy[dict[str, Any]]:
    """An entry with docs/spec.md's fields, padded to about ``ENTRY_SIZES[size]`` bytes.

    Always: ``sessionId`` (string) and ``updatedAt`` (integer ms). Then routing fields
    (``lastChannel``, ``lastTo``, ``lastAccountId``, ``lastThreadId``,
    ``deliveryContext``); from ``1k`` on also ``origin``, ``skillsSnapshot`` and a
    ``systemPromptReport`` whose text brings the entry to its size.
    """
    if size not in ENTRY_SIZES:
        raise ValueError(f"unknown entry size {size!r}; choose one of {sorted(ENTRY_SIZES)}")
    target = ENTRY_SIZES[size]
    ids = session_ids if session_ids is not None else st.uuids().map(str)
    stamps = (
        updated_at if updated_at is not None else st.integers(1_600_000_000_000, 1_800_000_000_000)
    )
    channel = st.sampled_from(CHANNELS)
    peer = st.text(_ID_CHARS, min_size=1, max_size=10)
    optional_id = st.one_of(st.none(), st.text(_ID_CHARS, min_size=1, max_size=10))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        ch, to = draw(channel), draw(peer)
        account, thread = draw(optional_id), draw(optional_id)
        entry: dict[str, Any] = {
            "sessionId": draw(ids),
            "updatedAt": draw(stamps),
            "lastChannel": ch,
            "lastTo": to,
        }
        if account is not None:
            entry["lastAccountId"] = account
        if thread is not None:
            entry["lastThreadId"] = thread
        entry["deliveryContext"] = {
            "channel": ch,
            "to": to,
            "accountId": account,
            "threadId": thread,
        }
        if target == 0:
            return entry
        entry["origin"] = {
            "label": draw(st.text(_KEY_CHARS, max_size=20)),
            "provider": ch,
            "extra": draw(json_values(max_leaves=4)),
        }
        entry["skillsSnapshot"] = {
            "skills": draw(st.lists(st.sampled_from(["web", "code", "shell", "mail"]))),
            "version": draw(st.integers(0, 99)),
        }
        entry["systemPromptReport"] = {"chars": draw(st.integers(0, 10**6))}
        chunk = draw(st.text(_FILLER_CHARS, min_size=1, max_size=16))
        return _pad(entry, target, chunk)

    return build()


def patches() -> SearchStrategy[dict[str, Any]]:
    """What an ``update_entry`` callback returns: a few fields to merge shallowly."""
    fields = st.sampled_from(
        ["label", "model", "thinkingLevel", "count", "origin", "lastTo", "compactionCount"]
    )
    plain = st.dictionaries(fields, json_values(max_leaves=3), min_size=1, max_size=3)
    stamped = st.builds(
        lambda p, t: {**p, "updatedAt": t}, plain, st.integers(1, 1_800_000_000_000)
    )
    return st.one_of(plain, stamped)


def routes() -> SearchStrategy[dict[str, Any]]:
    """Keyword arguments of ``update_last_route`` (channel, to, account_id, thread_id)."""
    ident = st.text(_ID_CHARS, min_size=1, max_size=8)
    return st.fixed_dictionaries(
        {"channel": st.sampled_from(CHANNELS), "to": ident},
        optional={"account_id": ident, "thread_id": ident},
    )


#: JSON values that a codec gets wrong first: floats that need all 17 digits, numbers
#: at and past the edges of doubles and 64-bit integers, escapes, empty containers.
TRICKY_VALUES: tuple[Any, ...] = (
    1234.5678,
    0.1,
    1e-07,
    1.7976931348623157e308,
    2**53 + 1,
    -(2**63),
    2**70,
    "",
    "\x00\x1f",
    '\\"',
    "\u2028",
    [],
    {},
    [[[]]],
    {"": None},
)


def machine_entries() -> SearchStrategy[dict[str, Any]]:
    """Small entries from small pools: cheap to draw and to shrink, and likely to
    collide (equal ``updatedAt`` between case variants is the point); ``origin`` may
    hold what a codec gets wrong (P-roundtrip: any JSON value comes back exactly)."""
    return st.fixed_dictionaries(
        {
            "sessionId": st.sampled_from([f"sess-{i}" for i in range(1, 7)]),
            "updatedAt": st.integers(1, 4),
            "lastChannel": st.sampled_from(CHANNELS[:3]),
            "lastTo": st.sampled_from(["1", "22", "333", "Zoë"]),
        },
        # One optional field, as before the tricky values came: an extra optional key
        # changes every later draw and cost the machine its seeded finds at fixed bounds.
        optional={
            "origin": st.one_of(
                st.just({"label": "日本語 🚀", "nested": [1, 2.5, None, True]}),
                st.builds(
                    lambda value: {"value": value},
                    st.one_of(st.sampled_from(TRICKY_VALUES), json_values(max_leaves=3)),
                ),
            ),
        },
    )


def machine_patches() -> SearchStrategy[dict[str, Any]]:
    """Cheap ``update_entry`` patches (possibly empty, possibly moving ``updatedAt``)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "label": st.sampled_from(["a", "ü", "x" * 40]),
            "count": st.integers(0, 9),
            "updatedAt": st.integers(1, 6),
            "origin": st.just({"nested": {"deep": [1, "two"]}}),
        },
    )


def machine_routes() -> SearchStrategy[dict[str, Any]]:
    """Cheap ``update_last_route`` arguments."""
    small = st.sampled_from(["0", "1", "peer-2"])
    return st.fixed_dictionaries(
        {"channel": st.sampled_from(CHANNELS[:3]), "to": small},
        optional={"account_id": small, "thread_id": small},
    )


def stores(
    *,
    min_entries: int = 0,
    max_entries: int = 8,
    size: str = "tiny",
    keys: SearchStrategy[str] | None = None,
    case_duplicates: bool = False,
) -> SearchStrategy[dict[str, Any]]:
    """A whole store: key -> entry. With ``case_duplicates`` some keys get case variants
    beside them, some with the very same ``updatedAt`` (the ties docs/spec.md talks about)."""
    key_strategy = keys if keys is not None else session_keys()
    base = st.dictionaries(key_strategy, entries(size), min_size=min_entries, max_size=max_entries)
    if not case_duplicates:
        return base

    @st.composite
    def with_variants(draw: st.DrawFn) -> dict[str, Any]:
        data = draw(base)
        for key in list(data):
            if not draw(st.booleans()):
                continue
            variant = draw(case_variants(key))
            if variant in data:
                continue
            entry = draw(entries(size))
            if draw(st.booleans()):
                entry["updatedAt"] = data[key]["updatedAt"]
            data[variant] = entry
        return data

    return with_variants()
