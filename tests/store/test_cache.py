"""The in-process cache: TTL 45 s (``OPENCLAW_SESSION_CACHE_TTL_MS``); a legacy hit also
needs the file's mtime and size unchanged, a directory hit needs only the TTL.

Each store here has a cache and a clock of its own (a :class:`ManualClock`), so a test
moves time forward by hand instead of waiting.
"""

from __future__ import annotations

import os

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry

from reference_store import ManualClock, Runtime, SessionCache, SessionStore

START_MS = 1_700_000_000_000
TTL_MS = 45_000
KEY = "agent:main:telegram:direct:1"


def clocked(
    make_store: StoreFactory, layout: str, profile: str = "seed"
) -> tuple[SessionStore, ManualClock]:
    clock = ManualClock(START_MS)
    store = make_store(
        layout,
        profile,
        runtime=Runtime(now_ms=clock.now_ms, sleep=clock.sleep),
        cache=SessionCache(),
    )
    return store, clock


def other_process(make_store: StoreFactory, layout: str, profile: str = "seed") -> SessionStore:
    """A writer with its own cache: what another process is to this one."""
    return make_store(layout, profile, cache=SessionCache())


# --- legacy: TTL plus mtime and size -------------------------------------------------------
def test_legacy_hit_needs_the_same_mtime_and_size(make_store: StoreFactory) -> None:
    store, _clock = clocked(make_store, "legacy")
    store.save({KEY: entry("aaaa", 1)})
    assert store.load() == {KEY: entry("aaaa", 1)}  # now cached
    st = os.stat(store.store_path)

    other_process(make_store, "legacy").save({KEY: entry("bbbb", 1)})  # same size
    os.utime(store.store_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(store.store_path).st_size == st.st_size
    assert store.load() == {KEY: entry("aaaa", 1)}  # same mtime and size: a (stale) hit

    os.utime(store.store_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert store.load() == {KEY: entry("bbbb", 1)}  # mtime changed: a miss


def test_legacy_size_change_alone_misses(make_store: StoreFactory) -> None:
    store, _clock = clocked(make_store, "legacy")
    store.save({KEY: entry("a", 1)})
    assert store.load() == {KEY: entry("a", 1)}
    st = os.stat(store.store_path)

    other_process(make_store, "legacy").save({KEY: entry("a-longer", 1)})
    os.utime(store.store_path, ns=(st.st_atime_ns, st.st_mtime_ns))

    assert store.load() == {KEY: entry("a-longer", 1)}


def test_legacy_hit_expires_after_the_ttl(make_store: StoreFactory) -> None:
    store, clock = clocked(make_store, "legacy")
    store.save({KEY: entry("aaaa", 1)})
    assert store.load() == {KEY: entry("aaaa", 1)}
    st = os.stat(store.store_path)
    other_process(make_store, "legacy").save({KEY: entry("bbbb", 1)})
    os.utime(store.store_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.load() == {KEY: entry("aaaa", 1)}

    clock.ms += TTL_MS + 1

    assert store.load() == {KEY: entry("bbbb", 1)}


# --- directory: TTL only ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_directory_cache_is_ttl_only(make_store: StoreFactory, profile: str) -> None:
    """Another process's write stays invisible to this one's cached view until the TTL
    runs out (upstream: directory mode has no mtime to check)."""
    store, clock = clocked(make_store, "directory", profile)
    store.save({KEY: entry("s", 1)})
    assert store.load() == {KEY: entry("s", 1)}

    other = other_process(make_store, "directory", profile)
    other.update_entry(KEY, lambda e: {"updatedAt": LATER})

    assert store.load() == {KEY: entry("s", 1)}  # stale
    clock.ms += TTL_MS - 100
    assert store.load() == {KEY: entry("s", 1)}  # still stale, just within the TTL
    assert store.read_updated_at(KEY) == LATER  # reads the file itself, not the cache
    clock.ms += 200
    assert store.load() == {KEY: entry("s", LATER)}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_skip_cache_reads_the_disk(make_store: StoreFactory, profile: str) -> None:
    store, _clock = clocked(make_store, "directory", profile)
    store.save({KEY: entry("s", 1)})
    assert store.load() == {KEY: entry("s", 1)}
    other = other_process(make_store, "directory", profile)
    other.update_entry(KEY, lambda e: {"updatedAt": LATER})

    assert store.load(skip_cache=True) == {KEY: entry("s", LATER)}
    assert store.load() == {KEY: entry("s", LATER)}  # and refreshes the cache


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_own_writes_invalidate_the_cache(
    make_store: StoreFactory, layout: str, profile: str
) -> None:
    store, _clock = clocked(make_store, layout, profile)
    store.save({KEY: entry("s", 1)})
    assert store.load() == {KEY: entry("s", 1)}

    store.update_entry(KEY, lambda e: {"updatedAt": LATER})
    assert store.load() == {KEY: entry("s", LATER)}
    store.update_last_route(KEY, channel="c", to="t")
    assert store.load()[KEY]["lastTo"] == "t"
    store.update(lambda data: data.pop(KEY))
    assert store.load() == {}


@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_ttl_zero_disables_the_cache(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    monkeypatch.setenv("OPENCLAW_SESSION_CACHE_TTL_MS", "0")
    store, _clock = clocked(make_store, layout)
    store.save({KEY: entry("aaaa", 1)})
    assert store.load() == {KEY: entry("aaaa", 1)}
    st = os.stat(store.store_path) if layout == "legacy" else None

    other_process(make_store, layout).save({KEY: entry("bbbb", 1)})
    if st is not None:  # even a legacy file that looks unchanged is read again
        os.utime(store.store_path, ns=(st.st_atime_ns, st.st_mtime_ns))

    assert store.load() == {KEY: entry("bbbb", 1)}


def test_ttl_comes_from_the_environment(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCLAW_SESSION_CACHE_TTL_MS", "1000")
    store, clock = clocked(make_store, "directory")
    store.save({KEY: entry("s", 1)})
    assert store.load() == {KEY: entry("s", 1)}
    other_process(make_store, "directory").update_entry(KEY, lambda e: {"updatedAt": LATER})
    assert store.load() == {KEY: entry("s", 1)}

    clock.ms += 1_001

    assert store.load() == {KEY: entry("s", LATER)}


def test_stores_of_one_process_share_the_process_cache(make_store: StoreFactory) -> None:
    """Upstream: one cache per process, so one stale view is every caller's."""
    first = make_store("directory")
    second = make_store("directory")
    first.save({KEY: entry("s", 1)})
    assert first.load() == {KEY: entry("s", 1)}

    other_process(make_store, "directory").update_entry(KEY, lambda e: {"updatedAt": LATER})

    assert second.load() == {KEY: entry("s", 1)}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_update_last_route_reads_fresh_only_in_hardened(
    make_store: StoreFactory, profile: str
) -> None:
    """HAZARD(fresh_route_read), upstream: the seed's ``update_last_route`` starts from
    the cached entry, so it undoes another process's change made within the TTL (a lost
    update). Hardened reads the entry fresh under the lock."""
    store, _clock = clocked(make_store, "directory", profile)
    store.save({KEY: entry("s", 1)})
    assert store.load() == {KEY: entry("s", 1)}
    other_process(make_store, "directory", profile).update_entry(KEY, lambda e: {"label": "theirs"})

    store.update_last_route(KEY, channel="telegram", to="1")

    after = store.load(skip_cache=True)[KEY]
    assert after["lastTo"] == "1"
    if profile == "seed":
        assert "label" not in after
    else:
        assert after["label"] == "theirs"
