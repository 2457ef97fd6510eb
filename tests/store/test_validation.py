"""Bad input: hardened raises a :class:`StoreError` and writes nothing; the seed (upstream)
stores or drops it silently, which these tests pin down as documented behaviour."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from helpers import LATER, StoreFactory, entry, snapshot_tree, write_json

from reference_store import InvalidEntryError, InvalidKeyError, SessionStore, StoreError

LAYOUTS = ("legacy", "directory", "auto", "sqlite")
GOOD = {"agent:main:good": entry("good", 1)}

BAD_ENTRIES: dict[str, tuple[Any, str]] = {
    "not-an-object": ("just text", "JSON object"),
    "a-list": ([1, 2], "JSON object"),
    "no-sessionId": ({"updatedAt": 1}, "sessionId"),
    "sessionId-not-str": ({"sessionId": 7, "updatedAt": 1}, "sessionId"),
    "no-updatedAt": ({"sessionId": "s"}, "updatedAt"),
    "updatedAt-str": ({"sessionId": "s", "updatedAt": "1700000000000"}, "updatedAt"),
    "updatedAt-float": ({"sessionId": "s", "updatedAt": 1.5}, "updatedAt"),
    "updatedAt-bool": ({"sessionId": "s", "updatedAt": True}, "updatedAt"),
}
BAD_KEYS: dict[str, tuple[str, str]] = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n", "empty"),
    "lone-surrogate": ("agent:\ud800", "Unicode"),
}


class Unchanged:
    """Proves a failed call wrote nothing: the folder (or, for SQLite, whose WAL files
    change on any access, the loaded map) is the same before and after."""

    def __init__(self, store: SessionStore, store_dir: str) -> None:
        self.store, self.store_dir = store, store_dir
        self.tree = None if store.layout == "sqlite" else snapshot_tree(store_dir)
        self.data = store.load(skip_cache=True)

    def check(self) -> None:
        if self.tree is not None:
            assert snapshot_tree(self.store_dir) == self.tree
        assert self.store.load(skip_cache=True) == self.data


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hardened(
    make_store: StoreFactory, layout: str, store_dir: str
) -> tuple[SessionStore, Unchanged]:
    store = make_store(layout, "hardened")
    store.save(GOOD)
    return store, Unchanged(store, store_dir)


# --- hardened: a clear error, nothing written ---------------------------------------------------
@pytest.mark.parametrize(("bad", "problem"), BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
@pytest.mark.parametrize("call", ["save", "update"])
def test_hardened_rejects_a_bad_entry(
    hardened: tuple[SessionStore, Unchanged], bad: Any, problem: str, call: str
) -> None:
    store, unchanged = hardened
    key = "agent:main:bad"
    with pytest.raises(InvalidEntryError) as raised:
        if call == "save":
            store.save({**GOOD, key: bad})
        else:
            store.update(lambda data: data.__setitem__(key, bad))
    assert isinstance(raised.value, StoreError)
    assert repr(key) in str(raised.value)
    assert problem in str(raised.value)
    unchanged.check()


PATCHES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "updatedAt-str": (lambda e: {"updatedAt": "soon"}, "updatedAt"),
    "sessionId-none": (lambda e: {"sessionId": None}, "sessionId"),
    "not-a-dict": (lambda e: ["updatedAt", 2], "dict"),
}


@pytest.mark.parametrize(("patch", "problem"), PATCHES.values(), ids=PATCHES.keys())
def test_hardened_rejects_a_patch_that_breaks_the_entry(
    hardened: tuple[SessionStore, Unchanged], patch: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    store, unchanged = hardened
    with pytest.raises(InvalidEntryError, match=problem) as raised:
        store.update_entry("agent:main:good", patch)
    assert "agent:main:good" in str(raised.value)
    unchanged.check()


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
@pytest.mark.parametrize("call", ["save", "update", "update_entry", "update_last_route"])
def test_hardened_rejects_a_bad_key(
    hardened: tuple[SessionStore, Unchanged], key: str, problem: str, call: str
) -> None:
    store, unchanged = hardened
    with pytest.raises(InvalidKeyError, match=problem) as raised:
        if call == "save":
            store.save({**GOOD, key: entry("s", 1)})
        elif call == "update":
            store.update(lambda data: data.__setitem__(key, entry("s", 1)))
        elif call == "update_entry":
            store.update_entry(key, lambda e: {"updatedAt": 2})
        else:
            store.update_last_route(key, channel="c", to="t")
    assert isinstance(raised.value, StoreError)
    unchanged.check()


def test_hardened_judges_only_what_a_call_changes(make_store: StoreFactory, store_dir: str) -> None:
    """An entry already on disk that would not pass validation (written by an older
    version) does not block writes to other entries, and survives them unchanged."""
    old = {"agent:main:legacy-bad": {"updatedAt": 1}, **GOOD}
    write_json(os.path.join(store_dir, "sessions.json"), old)
    store = make_store("legacy", "hardened")

    store.update_entry("agent:main:good", lambda e: {"updatedAt": LATER})

    assert store.load(skip_cache=True) == {**old, "agent:main:good": entry("good", LATER)}


# --- seed: what happens instead ---------------------------------------------------------------
@pytest.mark.parametrize(("bad", "_problem"), BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_seed_stores_a_bad_entry_without_a_word(
    make_store: StoreFactory, layout: str, bad: Any, _problem: str
) -> None:
    """Seed (upstream): no validation. Legacy and SQLite store the value as given; the
    directory layout writes it too, but a non-object file is skipped by the next load,
    so that session silently vanishes."""
    store = make_store(layout, "seed")
    store.save({**GOOD, "agent:main:bad": bad})

    loaded = store.load(skip_cache=True)
    active = store.active().layout if hasattr(store, "active") else layout
    if active == "directory" and not isinstance(bad, dict):
        assert loaded == GOOD
    else:
        assert loaded == {**GOOD, "agent:main:bad": bad}


@pytest.mark.parametrize(("key", "_problem"), list(BAD_KEYS.values())[:2], ids=list(BAD_KEYS)[:2])
def test_seed_stores_an_empty_or_blank_key(
    make_store: StoreFactory, store_dir: str, layout: str, key: str, _problem: str
) -> None:
    """Seed (upstream): an empty or blank key is stored as it is; in the directory layout
    it becomes a file named ``.json`` or ``<blanks>.json``. Upstream's listing skips names
    starting with a dot, so the empty key's ``.json`` is written and never read back."""
    store = make_store(layout, "seed")
    store.save({**GOOD, key: entry("blank", 1)})

    unread = layout == "directory" and key == ""
    expected = GOOD if unread else {**GOOD, key: entry("blank", 1)}
    assert store.load(skip_cache=True) == expected
    if layout == "directory":
        assert key + ".json" in os.listdir(os.path.join(store_dir, "sessions.d"))


def test_seed_rejects_only_a_key_that_is_not_a_string(
    make_store: StoreFactory, layout: str
) -> None:
    store = make_store(layout, "seed")
    with pytest.raises(StoreError, match="must be a string"):
        store.update_entry(42, lambda e: None)  # type: ignore[arg-type]
