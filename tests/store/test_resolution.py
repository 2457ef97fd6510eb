"""Key resolution (docs/spec.md, docs/fidelity.md): the newest ``updatedAt`` among the
normalized key, the trimmed key and every case variant -- a newer variant beats the
normalized key, as upstream's ``resolveSessionStoreEntry`` decides; a tie keeps the
normalized key, else the trimmed key. A write stores the result under the normalized key
and deletes the variants.

Stores written by older versions hold case-variant duplicates, so every layout must
resolve them the same way.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry

from reference_store import SessionStore

LAYOUTS = ("legacy", "directory", "sqlite")

pytestmark = pytest.mark.parametrize("profile", PROFILE_NAMES)

NORMAL = "agent:main:telegram:direct:x"


def seeded(
    make_store: StoreFactory, layout: str, profile: str, data: dict[str, Any]
) -> SessionStore:
    store = make_store(layout, profile)
    store.save(data)
    assert store.load(skip_cache=True) == data  # every variant is really stored
    return store


def bump(seen: list[dict[str, Any]]) -> Any:
    def patch(current: dict[str, Any]) -> dict[str, Any]:
        seen.append(current)
        return {"updatedAt": LATER + current["updatedAt"], "patched": True}

    return patch


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_newer_variant_beats_the_normalized_key(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    """Upstream replaces its pick whenever a candidate is strictly newer, the normalized
    key included (the old summary said the normalized key always won)."""
    store = seeded(
        make_store,
        layout,
        profile,
        {
            NORMAL: entry("normal", 1),
            "agent:main:Telegram:direct:X": entry("variant", 100),
            "agent:ops:main": entry("other", 7),
        },
    )
    seen: list[dict[str, Any]] = []

    result = store.update_entry("Agent:Main:TELEGRAM:direct:x", bump(seen))

    assert seen == [entry("variant", 100)]
    assert result == entry("variant", LATER + 100, patched=True)
    assert store.load(skip_cache=True) == {NORMAL: result, "agent:ops:main": entry("other", 7)}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_tie_keeps_the_normalized_key(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = seeded(
        make_store,
        layout,
        profile,
        {"AGENT:main:telegram:direct:x": entry("variant", 5), NORMAL: entry("normal", 5)},
    )
    seen: list[dict[str, Any]] = []

    result = store.update_entry(NORMAL, bump(seen))

    assert seen == [entry("normal", 5)]
    assert store.load(skip_cache=True) == {NORMAL: result}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_trimmed_key_is_a_candidate_and_a_newer_variant_still_beats_it(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = seeded(
        make_store,
        layout,
        profile,
        {
            "agent:main:Telegram:direct:X": entry("trimmed", 1),
            "AGENT:MAIN:TELEGRAM:DIRECT:X": entry("newest", 100),
        },
    )
    seen: list[dict[str, Any]] = []

    result = store.update_entry("  agent:main:Telegram:direct:X\t", bump(seen))

    assert seen == [entry("newest", 100)]
    assert store.load(skip_cache=True) == {NORMAL: result}
    assert result["sessionId"] == "newest"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_tie_without_the_normalized_key_keeps_the_trimmed_key_in_seed(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    """Upstream's first pick is the trimmed key and only a strictly newer variant replaces
    it; hardened breaks the tie by content (the same for every input order), which here
    may pick either."""
    store = seeded(
        make_store,
        layout,
        profile,
        {
            "AGENT:MAIN:TELEGRAM:DIRECT:X": entry("other", 9),
            "agent:main:Telegram:direct:X": entry("trimmed", 9),
        },
    )
    result = store.update_entry(" agent:main:Telegram:direct:X ", lambda e: {"seen": True})
    assert result is not None
    if profile == "seed":
        assert result["sessionId"] == "trimmed"
    assert store.load(skip_cache=True) == {NORMAL: result}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_else_the_newest_variant_wins(make_store: StoreFactory, layout: str, profile: str) -> None:
    store = seeded(
        make_store,
        layout,
        profile,
        {
            "agent:main:Telegram:direct:X": entry("old", 5),
            "AGENT:main:telegram:direct:x": entry("newest", 50),
            "agent:MAIN:telegram:DIRECT:x": entry("middle", 20),
        },
    )
    seen: list[dict[str, Any]] = []

    result = store.update_entry(NORMAL, bump(seen))

    assert seen == [entry("newest", 50)]
    assert result == entry("newest", LATER + 50, patched=True)
    assert store.load(skip_cache=True) == {NORMAL: result}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_update_last_route_resolves_and_drops_the_variants(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = seeded(
        make_store,
        layout,
        profile,
        {
            "agent:main:Telegram:direct:X": entry("old", 5),
            "AGENT:MAIN:telegram:direct:x": entry("newest", 50, keep=1),
        },
    )

    result = store.update_last_route("Agent:main:telegram:direct:X", channel="telegram", to="x")

    assert result["sessionId"] == "newest"
    assert result["keep"] == 1
    assert result["lastTo"] == "x"
    assert store.load(skip_cache=True) == {NORMAL: result}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_missing_key_with_variants_of_another_key_is_missing(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    data = {"agent:main:Telegram:direct:X": entry("v", 5)}
    store = seeded(make_store, layout, profile, data)

    assert store.update_entry("agent:main:telegram:direct:y", bump([])) is None
    assert store.read_updated_at("agent:main:telegram:direct:y") is None
    assert store.load(skip_cache=True) == data


@pytest.mark.parametrize("layout", ["legacy", "sqlite"])
def test_read_updated_at_finds_a_non_normalized_key(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = seeded(
        make_store,
        layout,
        profile,
        {"agent:main:Telegram:direct:X": entry("a", 5), "AGENT:MAIN:x": entry("b", 9)},
    )

    assert store.read_updated_at(NORMAL) == 5
    assert store.read_updated_at("agent:main:x") == 9


def test_directory_read_updated_at_of_a_non_normalized_key_diverges_in_seed(
    make_store: StoreFactory, profile: str
) -> None:
    """A divergence between layouts (upstream): the seed directory layout reads only the file of the
    *normalized* key, so an entry saved under a case variant is invisible to
    ``read_updated_at`` although ``load`` and the legacy layout find it. Hardened keeps
    every variant in the file of its normal form, so it finds it like legacy does."""
    data = {"agent:main:Telegram:direct:X": entry("a", 5)}
    legacy = make_store("legacy", profile, name="legacy.json")
    legacy.save(data)
    directory = seeded(make_store, "directory", profile, data)

    assert legacy.read_updated_at(NORMAL) == 5
    assert directory.load(skip_cache=True) == data
    if profile == "seed":
        assert directory.read_updated_at(NORMAL) is None
    else:
        assert directory.read_updated_at(NORMAL) == 5


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tie_on_updated_at(
    make_store: StoreFactory, store_dir: str, layout: str, profile: str
) -> None:
    """Hardened breaks a tie between case variants the same way whatever the input order.
    HAZARD (seed, upstream): a tie keeps the first seen, so the stored order decides."""
    picked: list[str] = []
    for order in ((0, 1), (1, 0)):
        variants = [
            ("agent:main:Telegram:direct:X", entry("upper-t", 7)),
            ("agent:main:telegram:DIRECT:x", entry("upper-direct", 7)),
        ]
        folder = os.path.join(store_dir, f"order-{order[0]}")
        os.mkdir(folder)
        store = make_store(layout, profile, folder=folder)
        store.save(dict(variants[i] for i in order))
        result = store.update_entry(NORMAL, lambda _e: {"touched": True})
        assert result is not None
        picked.append(result["sessionId"])
    if profile == "hardened":
        assert picked[0] == picked[1]
    elif layout == "directory":
        # The seed directory layout sees variants in sorted file-name order, not in the
        # order they were saved: the same (first) file wins both times.
        assert picked[0] == picked[1]
    else:
        assert picked == ["upper-t", "upper-direct"]
