"""The public API contract, the same for every layout and profile (SQLite included).

Each test runs for legacy, directory, auto (a fresh install: legacy mode) and sqlite, in
both profiles, on pyfakefs and on a real folder (sqlite: real only).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry, rich_entry

from reference_store import SessionCache, SessionStore, deterministic_runtime

LAYOUTS = ("legacy", "directory", "auto", "sqlite")

pytestmark = [
    pytest.mark.parametrize("profile", PROFILE_NAMES),
    pytest.mark.parametrize("layout", LAYOUTS),
]

KEYS_WITH_SPECIAL_CHARS = {
    "agent:main:telegram:direct:12345": rich_entry("s1", 1_000),
    "agent:main:slack:channel:c1:thread:123.456": entry("s2", 2_000, lastChannel="slack"),
    "agent:ops:main": entry("s3", 3_000, note="ünïcödé ✓"),
    "agent:main:web:path/with\\slashes": entry("s4", 4_000),
    "agent:main:pct:100%:a%3Ab": entry("s5", 5_000),
    "agent:main:日本語:キー": entry("s6", 6_000, nested={"a": {"b": [1, {"c": None}]}}),
}


@pytest.fixture
def store(make_store: StoreFactory, layout: str, profile: str) -> SessionStore:
    return make_store(layout, profile)


def reopen(make_store: StoreFactory, layout: str, profile: str) -> SessionStore:
    """Another store object on the same path, with a cache of its own (a restart)."""
    return make_store(layout, profile, cache=SessionCache())


def test_empty_store(store: SessionStore) -> None:
    assert store.load() == {}
    assert store.load(skip_cache=True) == {}
    assert store.read_updated_at("agent:main:nobody") is None


def test_save_then_load_round_trips_every_field(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    store.save(KEYS_WITH_SPECIAL_CHARS)

    assert store.load() == KEYS_WITH_SPECIAL_CHARS
    assert store.load(skip_cache=True) == KEYS_WITH_SPECIAL_CHARS
    assert reopen(make_store, layout, profile).load() == KEYS_WITH_SPECIAL_CHARS


def test_load_returns_a_copy_the_caller_may_change(store: SessionStore) -> None:
    store.save({"agent:ops:main": entry("s", 1, tags=["a"])})
    first = store.load()
    first["agent:ops:main"]["tags"].append("mutated")
    first["agent:other"] = entry("x", 2)

    assert store.load() == {"agent:ops:main": entry("s", 1, tags=["a"])}


def test_save_replaces_the_whole_map(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    store.save({"agent:a": entry("a", 1), "agent:b": entry("b", 2), "agent:c": entry("c", 3)})
    store.save({"agent:b": entry("b", 20), "agent:d": entry("d", 4)})

    expected = {"agent:b": entry("b", 20), "agent:d": entry("d", 4)}
    assert store.load() == expected
    assert reopen(make_store, layout, profile).load() == expected
    store.save({})
    assert reopen(make_store, layout, profile).load() == {}


def test_update_persists_the_mutation_and_returns_its_result(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    store.save({"agent:a": entry("a", 1), "agent:b": entry("b", 2)})

    def mutate(data: dict[str, Any]) -> str:
        data["agent:a"] = {**data["agent:a"], "updatedAt": 10, "lastTo": "x"}
        del data["agent:b"]
        data["agent:c"] = entry("c", 3)
        return "done"

    assert store.update(mutate) == "done"
    expected = {"agent:a": entry("a", 10, lastTo="x"), "agent:c": entry("c", 3)}
    assert store.load() == expected
    assert reopen(make_store, layout, profile).load() == expected


def test_update_that_changes_nothing_keeps_the_store(store: SessionStore) -> None:
    store.save(KEYS_WITH_SPECIAL_CHARS)
    assert store.update(len) == len(KEYS_WITH_SPECIAL_CHARS)
    assert store.load(skip_cache=True) == KEYS_WITH_SPECIAL_CHARS


def test_update_entry_merges_the_patch_shallowly(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    original = entry("s", 1, lastTo="a", deliveryContext={"channel": "c", "to": "a"})
    store.save({"agent:main:x": original, "agent:main:y": entry("y", 2)})
    seen: list[dict[str, Any]] = []

    def patch(current: dict[str, Any]) -> dict[str, Any]:
        seen.append(current)
        return {"updatedAt": LATER, "deliveryContext": {"to": "b"}, "extra": [1]}

    result = store.update_entry("agent:main:x", patch)

    expected = entry("s", LATER, lastTo="a", deliveryContext={"to": "b"}, extra=[1])
    assert seen == [original]
    assert result == expected
    assert reopen(make_store, layout, profile).load() == {
        "agent:main:x": expected,
        "agent:main:y": entry("y", 2),
    }


def test_update_entry_patch_none_changes_nothing(store: SessionStore) -> None:
    store.save({"agent:main:x": entry("s", 1, lastTo="a")})

    assert store.update_entry("agent:main:x", lambda _e: None) == entry("s", 1, lastTo="a")
    assert store.load(skip_cache=True) == {"agent:main:x": entry("s", 1, lastTo="a")}


def test_update_entry_on_a_missing_key_returns_none_without_calling_patch(
    store: SessionStore,
) -> None:
    store.save({"agent:main:x": entry("s", 1)})
    calls: list[dict[str, Any]] = []

    def patch(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(current)
        return {"created": True}

    assert store.update_entry("agent:main:missing", patch) is None
    assert calls == []
    assert store.load(skip_cache=True) == {"agent:main:x": entry("s", 1)}


def test_update_last_route_creates_a_missing_entry(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = make_store(layout, profile, runtime=deterministic_runtime(start_ms=50_000))

    result = store.update_last_route(
        "agent:main:telegram:direct:1", channel="telegram", to="1", account_id="acc"
    )

    assert isinstance(result["sessionId"], str)
    assert result["sessionId"]
    assert result["updatedAt"] > 50_000
    assert result["lastChannel"] == "telegram"
    assert result["lastTo"] == "1"
    assert result["lastAccountId"] == "acc"
    assert "lastThreadId" not in result
    assert result["deliveryContext"] == {
        "channel": "telegram",
        "to": "1",
        "accountId": "acc",
        "threadId": None,
    }
    assert reopen(make_store, layout, profile).load() == {"agent:main:telegram:direct:1": result}


@pytest.mark.parametrize(("old", "expect_now"), [(10, True), (9_000_000_000_000, False)])
def test_update_last_route_sets_updated_at_to_max_of_old_and_now(
    make_store: StoreFactory, layout: str, profile: str, old: int, expect_now: bool
) -> None:
    start = 1_700_000_000_000
    store = make_store(layout, profile, runtime=deterministic_runtime(start_ms=start))
    store.save({"agent:main:x": entry("s", old, keep="me")})

    result = store.update_last_route("agent:main:x", channel="slack", to="c1", thread_id="t")

    if expect_now:
        assert start < result["updatedAt"] < start + 1_000
    else:
        assert result["updatedAt"] == old
    assert result["sessionId"] == "s"
    assert result["keep"] == "me"
    assert result["lastThreadId"] == "t"
    assert store.load(skip_cache=True)["agent:main:x"] == result


def test_read_updated_at(store: SessionStore) -> None:
    store.save({"agent:main:x": entry("s", 1234), "agent:main:y": entry("y", 99)})

    assert store.read_updated_at("agent:main:x") == 1234
    assert store.read_updated_at("  AGENT:Main:X ") == 1234
    assert store.read_updated_at("agent:main:y") == 99
    assert store.read_updated_at("agent:main:z") is None


def test_a_second_store_object_sees_writes(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    other = reopen(make_store, layout, profile)
    store.save({"agent:main:x": entry("s", 1)})
    other.update_entry("agent:main:x", lambda e: {"updatedAt": LATER + e["updatedAt"]})

    assert store.load(skip_cache=True) == {"agent:main:x": entry("s", LATER + 1)}
    assert store.read_updated_at("agent:main:x") == LATER + 1


def test_no_temp_or_lock_files_are_left_behind(
    store: SessionStore, store_dir: str, layout: str
) -> None:
    store.save({"agent:a": entry("a", 1), "agent:b": entry("b", 2)})
    store.update_entry("agent:a", lambda e: {"updatedAt": 3})
    store.update_last_route("agent:c", channel="x", to="y")
    store.update(lambda data: data.pop("agent:b"))

    left = [
        name
        for _folder, _dirs, files in os.walk(store_dir)
        for name in files
        if name.endswith((".tmp", ".lock"))
    ]
    assert left == []


def test_a_failing_mutator_changes_nothing(
    store: SessionStore, make_store: StoreFactory, layout: str, profile: str
) -> None:
    store.save({"agent:a": entry("a", 1), "agent:b": entry("b", 2)})

    def half_then_fail(data: dict[str, Any]) -> None:
        data["agent:a"] = entry("a", 10)
        del data["agent:b"]
        raise RuntimeError("mutator failed")

    with pytest.raises(RuntimeError, match="mutator failed"):
        store.update(half_then_fail)

    expected = {"agent:a": entry("a", 1), "agent:b": entry("b", 2)}
    assert store.load() == expected
    assert reopen(make_store, layout, profile).load() == expected
    store.update_entry("agent:a", lambda e: {"updatedAt": LATER})  # the lock was released
    assert store.read_updated_at("agent:a") == LATER
