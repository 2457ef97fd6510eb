"""Changes made in place: the store never lets an object it diffs, caches or snapshots be
the one a caller changes.

Each test is a way a caller can hold an object the store also holds: ``update``'s
mutator changing entries (top level and nested), ``update_entry``'s ``patch_fn`` changing
its argument, and callers changing what ``load()``, ``update`` or ``update_entry``
returned. Every case is checked by reopening the store with a new object and a cold
read (``skip_cache=True``), so what is judged is what is on disk.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from helpers import COUNTER_KEY, FS_LAYOUTS, PROFILE_NAMES, StoreFactory, entry

STORE_LAYOUTS = (*FS_LAYOUTS, "sqlite")
KEY = "agent:main:telegram:direct:1"

pytestmark = pytest.mark.parametrize("profile", PROFILE_NAMES)


def _seeded(make_store: StoreFactory, layout: str, profile: str) -> Any:
    store = make_store(layout, profile)
    store.save({KEY: entry("s1", 10, n=0, route={"to": "a", "hops": [1]})})
    return store


def _on_disk(make_store: StoreFactory, layout: str, profile: str) -> dict[str, Any]:
    return dict(make_store(layout, profile).load(skip_cache=True))


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_mutator_changing_an_entry_in_place_is_kept(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)
    store.update(lambda m: m[KEY].__setitem__("n", m[KEY]["n"] + 1))
    assert _on_disk(make_store, layout, profile)[KEY]["n"] == 1


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_mutator_changing_a_nested_object_in_place_is_kept(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)

    def mutate(m: dict[str, Any]) -> None:
        m[KEY]["route"]["to"] = "b"
        m[KEY]["route"]["hops"].append(2)

    store.update(mutate)
    assert _on_disk(make_store, layout, profile)[KEY]["route"] == {"to": "b", "hops": [1, 2]}


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_mutator_that_raises_half_way_changes_nothing(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)

    def half_way(m: dict[str, Any]) -> None:
        m[KEY]["n"] = 99
        m["agent:new"] = entry("s2", 11)
        raise RuntimeError("caller's bug")

    with pytest.raises(RuntimeError):
        store.update(half_way)
    assert _on_disk(make_store, layout, profile) == {
        KEY: entry("s1", 10, n=0, route={"to": "a", "hops": [1]})
    }
    assert store.load() == _on_disk(make_store, layout, profile)


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_patch_fn_changing_its_argument_and_returning_a_patch_keeps_both(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)

    def patch(e: dict[str, Any]) -> dict[str, Any]:
        e["n"] = 5  # top level, in place
        e["route"]["to"] = "c"  # nested, in place
        return {"updatedAt": 20}

    store.update_entry(KEY, patch)
    got = _on_disk(make_store, layout, profile)[KEY]
    assert (got["n"], got["route"]["to"], got["updatedAt"] >= 20) == (5, "c", True)


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_patch_fn_changing_its_argument_and_returning_none(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    """Hardened keeps the change; the seed drops it, as upstream's null patch saves
    nothing (HAZARD keep_in_place_patch)."""
    store = _seeded(make_store, layout, profile)

    def patch(e: dict[str, Any]) -> None:
        e["n"] = 7
        e["route"]["hops"].append(3)

    returned = store.update_entry(KEY, patch)
    got = _on_disk(make_store, layout, profile)[KEY]
    assert returned is not None and returned["n"] == 7
    if profile == "hardened":
        assert (got["n"], got["route"]["hops"]) == (7, [1, 3])
    else:
        assert (got["n"], got["route"]["hops"]) == (0, [1])


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_patch_fn_returning_none_without_a_change_writes_nothing_new(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)
    before = _on_disk(make_store, layout, profile)
    assert store.update_entry(KEY, lambda e: None) == before[KEY]
    assert _on_disk(make_store, layout, profile) == before


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_changing_what_load_returned_changes_neither_the_cache_nor_the_disk(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)
    first = store.load()
    first[KEY]["n"] = 42
    first[KEY]["route"]["hops"].append(9)
    first["agent:ghost"] = entry("g", 1)
    expected = {KEY: entry("s1", 10, n=0, route={"to": "a", "hops": [1]})}
    assert store.load() == expected  # a cached load, when the layout caches
    assert _on_disk(make_store, layout, profile) == expected
    # A write through the cache after the caller's change still starts from the disk.
    store.update_last_route(KEY, channel="slack", to="x")
    assert _on_disk(make_store, layout, profile)[KEY]["n"] == 0


@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_changing_what_a_write_returned_changes_nothing_stored(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store = _seeded(make_store, layout, profile)
    patched = store.update_entry(KEY, lambda e: {"n": 1})
    assert patched is not None
    patched["route"]["to"] = "mutated after return"
    routed = store.update_last_route(KEY, channel="slack", to="x")
    routed["deliveryContext"]["to"] = "mutated after return"
    held = store.update(lambda m: m[KEY])
    held["route"]["hops"].append("mutated after return")
    for got in (store.load(), _on_disk(make_store, layout, profile)):
        assert got[KEY]["route"] == {"to": "a", "hops": [1]}
        assert got[KEY]["deliveryContext"]["to"] == "x"


@pytest.mark.real_only
@pytest.mark.parametrize("layout", STORE_LAYOUTS)
def test_threads_mixing_update_entry_and_in_place_update_lose_no_increment(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    """8 threads, half incrementing through ``update_entry`` and half through an
    in-place ``update``; each thread has its own store object on the same path."""
    per_thread = 30
    make_store(layout, profile).save({COUNTER_KEY: entry("c", 1, count=0)})
    stores = [make_store(layout, profile) for _ in range(8)]
    acknowledged: list[int] = []
    guard = threading.Lock()
    failures: list[BaseException] = []

    def via_entry(store: Any) -> None:
        for _ in range(per_thread):
            store.update_entry(COUNTER_KEY, lambda e: {"count": e["count"] + 1})
            with guard:
                acknowledged.append(1)

    def via_update(store: Any) -> None:
        def bump(m: dict[str, Any]) -> None:
            m[COUNTER_KEY]["count"] += 1

        for _ in range(per_thread):
            store.update(bump)
            with guard:
                acknowledged.append(1)

    def run(work: Any, store: Any) -> None:
        try:
            work(store)
        except BaseException as exc:  # reported below, with the thread's own error
            failures.append(exc)
        finally:
            store.close()  # SQLite connections are per thread: close this thread's own

    threads = [
        threading.Thread(target=run, args=(via_entry if i % 2 else via_update, s))
        for i, s in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    final = _on_disk(make_store, layout, profile)[COUNTER_KEY]["count"]
    assert (final, len(acknowledged)) == (8 * per_thread, 8 * per_thread)
