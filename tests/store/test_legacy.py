"""Layout 1, ``sessions.json``: one pretty JSON file, written as temp file + rename."""

from __future__ import annotations

import json
import os
import stat

import pytest
from helpers import PROFILE_NAMES, StoreFactory, entry, rich_entry

from reference_store import CountingFileSystem, LegacyStore

DATA = {"agent:main:telegram:direct:1": rich_entry("s1", 1), "agent:ops:main": entry("s2", 2)}


def open_legacy(make_store: StoreFactory, profile: str, **kwargs: object) -> LegacyStore:
    store = make_store("legacy", profile, **kwargs)  # type: ignore[arg-type]
    assert isinstance(store, LegacyStore)
    return store


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_whole_map_is_one_pretty_json_file(make_store: StoreFactory, profile: str) -> None:
    store = open_legacy(make_store, profile)
    store.save(DATA)

    raw = read_bytes(store.store_path)
    assert raw == json.dumps(DATA, indent=2, ensure_ascii=False).encode()
    # hardened's lock is a flock on a file that stays (reference_store/_lock.py)
    lock_file = ["sessions.json.flock"] if profile == "hardened" else []
    assert sorted(os.listdir(store.folder)) == ["sessions.json", *lock_file]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_write_is_a_temp_file_renamed_over_the_target(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    store = open_legacy(make_store, profile, fs=counting_fs)
    store.save(DATA)
    counting_fs.reset()

    store.update_entry("agent:ops:main", lambda e: {"updatedAt": 3})

    counts = counting_fs.counts
    (src, dst), *more = counts.replaced
    assert more == []
    assert dst == store.store_path
    assert os.path.dirname(src) == store.folder
    assert src.startswith(store.store_path + ".")
    assert src.endswith(".tmp")
    assert src in counts.opened_for_write
    assert store.store_path not in counts.opened_for_write  # never written in place
    if profile == "seed":
        # Upstream: no fsync of the file or of the folder (lost on power loss).
        assert counts.count("fsync") == counts.count("fsync_dir") == 0
    else:
        assert counts.count("fsync") >= 1
        assert counts.count("fsync_dir") >= 1


@pytest.mark.real_only
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_file_is_private(make_store: StoreFactory, profile: str) -> None:
    store = open_legacy(make_store, profile)
    store.save(DATA)
    assert stat.S_IMODE(os.stat(store.store_path).st_mode) == 0o600


CORRUPT = {
    "empty file": b"",
    "invalid JSON": b'{"agent:main:x": {"sessionId": "s", "upd',
    "not an object": b'[{"sessionId": "s", "updatedAt": 1}]',
    "a string": b'"sessions"',
    "not UTF-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("raw", CORRUPT.values(), ids=CORRUPT.keys())
def test_seed_treats_a_corrupt_file_as_empty_and_the_next_save_overwrites_it(
    make_store: StoreFactory, raw: bytes
) -> None:
    """HAZARD(quarantine_corrupt), upstream: a 0-byte, malformed or non-object file loads
    as ``{}`` without a word, and the next write replaces it -- every session is gone
    (the real data-loss report: a 0-byte sessions.json after a crash)."""
    store = open_legacy(make_store, "seed")
    with open(store.store_path, "wb") as handle:
        handle.write(raw)

    assert store.load() == {}
    assert store.problems == []

    store.update_last_route("agent:main:new", channel="c", to="t")

    assert list(json.loads(read_bytes(store.store_path))) == ["agent:main:new"]
    assert sorted(os.listdir(store.folder)) == ["sessions.json"]


@pytest.mark.parametrize("raw", CORRUPT.values(), ids=CORRUPT.keys())
def test_hardened_reports_a_corrupt_file_and_moves_it_aside_before_writing(
    make_store: StoreFactory, raw: bytes
) -> None:
    store = open_legacy(make_store, "hardened")
    with open(store.store_path, "wb") as handle:
        handle.write(raw)

    assert store.load() == {}
    assert [p.path for p in store.problems] == [store.store_path]

    store.update_last_route("agent:main:new", channel="c", to="t")

    aside = [n for n in os.listdir(store.folder) if n.startswith("sessions.json.corrupt.")]
    assert len(aside) == 1
    assert read_bytes(os.path.join(store.folder, aside[0])) == raw
    assert list(json.loads(read_bytes(store.store_path))) == ["agent:main:new"]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_missing_file_loads_empty_and_reading_creates_nothing(
    make_store: StoreFactory, profile: str
) -> None:
    store = open_legacy(make_store, profile)
    assert store.load() == {}
    assert store.load(skip_cache=True) == {}
    assert store.read_updated_at("agent:x") is None
    assert os.listdir(store.folder) == []


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_a_write_that_changes_nothing_is_skipped_and_any_change_rewrites_the_whole_file(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    """Cost model of the legacy layout: every write serializes and renames the whole map.
    Upstream's saveSessionStoreUnlocked skips a write whose bytes equal what the process
    last read or wrote (RUN: a no-op update leaves the file's inode alone), and a per-key
    call that finds nothing to change returns before saving."""
    store = open_legacy(make_store, profile, fs=counting_fs)
    store.save(DATA)
    size = len(read_bytes(store.store_path))
    counting_fs.reset()

    assert store.update_entry("agent:missing", lambda e: {"updatedAt": 1}) is None
    store.update(lambda data: None)
    assert counting_fs.counts.replaced == []

    store.update(lambda data: data["agent:ops:main"].__setitem__("touched", True))
    assert [dst for _src, dst in counting_fs.counts.replaced] == [store.store_path]
    assert counting_fs.counts.bytes_written >= size
    assert store.load(skip_cache=True)["agent:ops:main"]["touched"] is True
