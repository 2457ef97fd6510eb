"""Layout 2, ``sessions.d/``: file format, lifecycle, diff-based writes, corrupt files,
permissions, and the seed hazards that live only in this layout."""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry, read_json, rich_entry, write_json

from reference_store import (
    CountingFileSystem,
    DirectoryStore,
    FileSystemWrapper,
    OsFileSystem,
    Runtime,
    keyed_file_name,
    sanitize_key,
)
from reference_store._codec import KEYED_FORMAT
from reference_store._profile import HARDENED, Profile

MANY = {f"agent:main:telegram:direct:{i}": entry(f"s{i}", 1_000 + i) for i in range(10)}
TARGET = "agent:main:telegram:direct:3"


def open_directory(make_store: StoreFactory, profile: str, **kwargs: Any) -> DirectoryStore:
    store = make_store("directory", profile, **kwargs)
    assert isinstance(store, DirectoryStore)
    return store


def entry_names(store: DirectoryStore) -> list[str]:
    return sorted(n for n in os.listdir(store.dir) if n.endswith(".json"))


def in_dir(store: DirectoryStore, paths: list[str]) -> list[str]:
    """The paths of entry files (and their temp files) in the store's folder."""
    return [p for p in paths if os.path.dirname(p) == store.dir and ".json" in p]


# --- format ------------------------------------------------------------------------------------
def test_seed_writes_one_bare_entry_per_sanitized_key(
    make_store: StoreFactory, store_dir: str
) -> None:
    store = open_directory(make_store, "seed")
    data = {"agent:main:telegram:direct:1": rich_entry("s", 1), "a/b\\c%d": entry("t", 2)}
    store.save(data)

    assert store.dir == os.path.join(store_dir, "sessions.d")
    assert entry_names(store) == sorted(sanitize_key(k) + ".json" for k in data)
    path = store.path_of(sanitize_key("agent:main:telegram:direct:1") + ".json")
    with open(path, "rb") as handle:
        raw = handle.read()
    assert (
        raw
        == json.dumps(data["agent:main:telegram:direct:1"], indent=2, ensure_ascii=False).encode()
    )
    assert not os.path.exists(os.path.join(store_dir, "sessions.json"))


def test_hardened_keeps_every_variant_of_a_key_in_one_keyed_file(make_store: StoreFactory) -> None:
    store = open_directory(make_store, "hardened")
    data = {
        "agent:main:Telegram:direct:X": entry("a", 1),
        "agent:main:telegram:direct:x": entry("b", 2),
    }
    store.save(data)

    name = keyed_file_name("agent:main:telegram:direct:x")
    assert entry_names(store) == [name]
    assert read_json(store.path_of(name)) == {"format": KEYED_FORMAT, "entries": data}
    assert store.load(skip_cache=True) == data


# --- lifecycle ---------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_empty_or_missing_folder_loads_empty(make_store: StoreFactory, profile: str) -> None:
    store = open_directory(make_store, profile)
    assert store.load() == {}
    os.mkdir(store.dir)
    assert store.load(skip_cache=True) == {}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_removed_entries_files_are_deleted_on_save(make_store: StoreFactory, profile: str) -> None:
    store = open_directory(make_store, profile)
    store.save(MANY)
    assert len(entry_names(store)) == len(MANY)

    keep = {TARGET: MANY[TARGET]}
    store.save(keep)

    assert entry_names(store) == [store.file_name(TARGET)]
    assert store.load(skip_cache=True) == keep


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_temp_and_foreign_files_are_ignored_by_load(make_store: StoreFactory, profile: str) -> None:
    store = open_directory(make_store, profile)
    store.save({TARGET: entry("s", 1)})
    with open(store.path_of("x.json.deadbeef.tmp"), "wb") as handle:
        handle.write(b'{"torn')
    with open(store.path_of("README"), "w") as handle:
        handle.write("not a session")

    assert store.load(skip_cache=True) == {TARGET: entry("s", 1)}


# --- diff-based writes ---------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_update_entry_writes_only_the_changed_file(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    store = open_directory(make_store, profile, fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    store.update_entry(TARGET, lambda e: {"updatedAt": LATER + e["updatedAt"]})

    counts = counting_fs.counts
    target = store.path_of(store.file_name(TARGET))
    written = in_dir(store, counts.opened_for_write)
    assert len(written) == 1
    assert written[0].startswith(target + ".")
    assert written[0].endswith(".tmp")
    assert in_dir(store, [dst for _src, dst in counts.replaced]) == [target]
    assert in_dir(store, counts.unlinked) == []
    assert store.load(skip_cache=True) == {**MANY, TARGET: entry("s3", LATER + 1_003)}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_update_rewrites_changed_and_unlinks_removed_files_only(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    store = open_directory(make_store, profile, fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()
    gone = "agent:main:telegram:direct:7"

    def mutate(data: dict[str, Any]) -> None:
        data[TARGET] = {**data[TARGET], "lastTo": "changed"}
        del data[gone]

    store.update(mutate)

    counts = counting_fs.counts
    entry_targets = in_dir(store, [dst for _src, dst in counts.replaced])
    assert entry_targets == [store.path_of(store.file_name(TARGET))]
    assert in_dir(store, counts.unlinked) == [store.path_of(store.file_name(gone))]
    assert not os.path.exists(store.path_of(".journal"))
    expected = {k: v for k, v in MANY.items() if k != gone}
    expected[TARGET] = {**MANY[TARGET], "lastTo": "changed"}
    assert store.load(skip_cache=True) == expected


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_update_that_changes_nothing_writes_nothing(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    store = open_directory(make_store, profile, fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    store.update(lambda data: None)
    # A null patch: any other stamps updatedAt to now (upstream), which is a change.
    store.update_entry(TARGET, lambda e: None)

    assert in_dir(store, counting_fs.counts.opened_for_write) == []
    assert counting_fs.counts.count("replace") == 0


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_save_is_a_full_write(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    store = open_directory(make_store, profile, fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    store.save({**MANY, TARGET: entry("s3", 5)})

    replaced = set(in_dir(store, [dst for _src, dst in counting_fs.counts.replaced]))
    if profile == "seed":
        # Upstream save: every entry rewritten, one file after another.
        assert replaced == {store.path_of(store.file_name(k)) for k in MANY}
    else:
        # Hardened save diffs against what is on disk (and journals multi-file changes).
        assert replaced == {store.path_of(store.file_name(TARGET))}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_single_key_updates_scan_the_folder_only_in_seed(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str
) -> None:
    """HAZARD(keyed_files), upstream: ``update_entry`` loads the whole folder to resolve one
    key, so one update reads every entry. Hardened reads only that key's file."""
    store = open_directory(make_store, profile, fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    store.update_entry(TARGET, lambda e: {"updatedAt": e["updatedAt"] + 1})
    store.update_last_route(TARGET, channel="telegram", to="3")

    reads = in_dir(store, counting_fs.counts.files_read)
    if profile == "seed":
        assert len(reads) == 2 * len(MANY)
    else:
        assert reads == [store.path_of(store.file_name(TARGET))] * 2
        assert counting_fs.counts.count("listdir") == 0


def test_hardened_update_of_a_stored_key_makes_no_folder_call(
    make_store: StoreFactory, counting_fs: CountingFileSystem
) -> None:
    """The file just read proves the folder is there (and the lock keeps it there), so a
    hardened single-key update makes no ``mkdir``: one syscall less per update."""
    store = open_directory(make_store, "hardened", fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    store.update_entry(TARGET, lambda e: {"updatedAt": e["updatedAt"] + 1})
    store.update_last_route(TARGET, channel="telegram", to="3")

    assert counting_fs.counts.count("mkdir") == 0
    assert counting_fs.counts.count("replace") == 2


@pytest.mark.parametrize(
    "profile",
    [*PROFILE_NAMES, HARDENED.with_changes(name="keyed-cached-route", fresh_route_read=False)],
    ids=lambda p: p if isinstance(p, str) else p.name,
)
def test_a_first_entry_creates_the_missing_folder(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str | Profile
) -> None:
    """Where there is no file to prove the folder, a write still makes it (the other
    side of skipping ``mkdir`` for a stored key) -- also when the route's entry comes
    from the cache, which proves nothing about the folder."""
    store = open_directory(make_store, profile, fs=counting_fs)
    assert not os.path.exists(store.dir)

    store.update_last_route(TARGET, channel="telegram", to="3")

    assert counting_fs.counts.count("mkdir") == 1
    assert store.load(skip_cache=True)[TARGET]["lastTo"] == "3"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("layout", ["directory", "auto"])
def test_read_updated_at_reads_exactly_one_file(
    make_store: StoreFactory, counting_fs: CountingFileSystem, profile: str, layout: str
) -> None:
    writer = open_directory(make_store, profile)
    writer.save(MANY)
    store = make_store(layout, profile, fs=counting_fs)
    counting_fs.reset()

    assert store.read_updated_at(TARGET) == MANY[TARGET]["updatedAt"]

    assert counting_fs.counts.files_read == [writer.path_of(writer.file_name(TARGET))]
    assert counting_fs.counts.count("listdir") == 0


def test_hardened_multi_file_update_goes_through_the_journal(
    make_store: StoreFactory, counting_fs: CountingFileSystem
) -> None:
    store = open_directory(make_store, "hardened", fs=counting_fs)
    store.save(MANY)
    counting_fs.reset()

    def touch_two(data: dict[str, Any]) -> None:
        for key in (TARGET, "agent:main:telegram:direct:4"):
            data[key] = {**data[key], "touched": True}

    store.update(touch_two)

    journal = store.path_of(".journal")
    names = [store.path_of(store.file_name(k)) for k in (TARGET, "agent:main:telegram:direct:4")]
    # The intent is published before any entry file, and removed after the last one.
    assert [dst for _src, dst in counting_fs.counts.replaced] == [journal, *sorted(names)]
    assert in_dir(store, counting_fs.counts.unlinked) == []
    assert journal in counting_fs.counts.unlinked
    assert not os.path.exists(journal)


# --- corrupt entry files -----------------------------------------------------------------------
def write_corrupt(store: DirectoryStore, name: str = "agent%3Amain%3Abroken.json") -> str:
    os.makedirs(store.dir, exist_ok=True)
    path = store.path_of(name)
    with open(path, "wb") as handle:
        handle.write(b'{"sessionId": "torn", "updat')
    return path


def test_hardened_reports_a_corrupt_entry_file_and_save_keeps_it(make_store: StoreFactory) -> None:
    store = open_directory(make_store, "hardened")
    store.save({TARGET: entry("s", 1)})
    path = write_corrupt(store)

    assert store.load(skip_cache=True) == {TARGET: entry("s", 1)}
    assert [p.path for p in store.problems] == [path]
    assert "not a store file" in store.problems[0].reason

    store.save({TARGET: entry("s", 2)})

    with open(path, "rb") as handle:
        assert handle.read() == b'{"sessionId": "torn", "updat'


def test_quarantines_at_one_clock_value_keep_every_copy(make_store: StoreFactory) -> None:
    """A restart's clock can repeat an earlier quarantine's value (a deterministic clock
    always does): the second copy moved aside must not replace the first."""
    frozen = Runtime(now_ms=lambda: 7_000)
    contents = []
    for round_ in (1, 2):
        store = make_store("directory", "hardened", runtime=frozen)
        name = keyed_file_name(TARGET)
        os.makedirs(store.dir, exist_ok=True)
        content = b'{"torn": %d' % round_
        with open(store.path_of(name), "wb") as handle:
            handle.write(content)
        contents.append(content)
        store.save({TARGET: entry("s", round_)})  # moves the torn file aside first
    moved = sorted(n for n in os.listdir(store.dir) if ".corrupt." in n)
    assert len(moved) == 2, moved
    kept = []
    for name in moved:
        with open(store.path_of(name), "rb") as handle:
            kept.append(handle.read())
    assert sorted(kept) == sorted(contents)


def test_seed_skips_a_corrupt_entry_file_silently_and_save_deletes_it(
    make_store: StoreFactory,
) -> None:
    """HAZARD(quarantine_corrupt), upstream: an unparsable entry file is skipped without a
    word, and the next full save deletes it -- the session is lost for good."""
    store = open_directory(make_store, "seed")
    store.save({TARGET: entry("s", 1)})
    path = write_corrupt(store)

    assert store.load(skip_cache=True) == {TARGET: entry("s", 1)}
    assert store.problems == []
    assert os.path.exists(path)

    store.save({TARGET: entry("s", 2)})

    assert not os.path.exists(path)


def test_hardened_moves_a_corrupt_file_aside_before_overwriting_its_key(
    make_store: StoreFactory,
) -> None:
    store = open_directory(make_store, "hardened")
    key = "agent:main:broken"
    path = write_corrupt(store, keyed_file_name(key))

    store.update_last_route(key, channel="slack", to="c1")

    aside = [n for n in os.listdir(store.dir) if n.startswith(keyed_file_name(key) + ".corrupt.")]
    assert len(aside) == 1
    with open(store.path_of(aside[0]), "rb") as handle:
        assert handle.read() == b'{"sessionId": "torn", "updat'
    assert store.load(skip_cache=True)[key]["lastTo"] == "c1"
    assert [p.path for p in store.problems] == [path]


# --- permissions (real folders only: pyfakefs modes say nothing about a kernel) -----------
@pytest.mark.real_only
def test_hardened_files_are_private(make_store: StoreFactory) -> None:
    store = open_directory(make_store, "hardened")
    store.save(MANY)
    store.update_last_route("agent:main:new", channel="x", to="y")

    assert stat.S_IMODE(os.stat(store.dir).st_mode) == 0o700
    for name in entry_names(store):
        assert stat.S_IMODE(os.stat(store.path_of(name)).st_mode) == 0o600, name


# --- one folder per store path -------------------------------------------------------------------
def test_hardened_gives_each_store_path_its_own_folder(
    make_store: StoreFactory, store_dir: str
) -> None:
    a = open_directory(make_store, "hardened", name="a.json")
    b = open_directory(make_store, "hardened", name="b.json")
    a.save({"agent:a": entry("a", 1)})
    b.save({"agent:b": entry("b", 2)})

    assert a.dir == os.path.join(store_dir, "a.d")
    assert b.dir == os.path.join(store_dir, "b.d")
    assert a.load(skip_cache=True) == {"agent:a": entry("a", 1)}
    assert b.load(skip_cache=True) == {"agent:b": entry("b", 2)}


def test_seed_store_paths_in_one_folder_share_sessions_d(
    make_store: StoreFactory, store_dir: str
) -> None:
    """HAZARD(own_folder), upstream: the directory is always ``sessions.d/``, so ``a.json``
    and ``b.json`` in one folder share it and a full save of one deletes the other's."""
    a = open_directory(make_store, "seed", name="a.json")
    b = open_directory(make_store, "seed", name="b.json")
    a.save({"agent:a": entry("a", 1)})
    b.save({"agent:b": entry("b", 2)})

    assert a.dir == b.dir == os.path.join(store_dir, "sessions.d")
    assert a.load(skip_cache=True) == {"agent:b": entry("b", 2)}


# --- the ENOENT fallback ----------------------------------------------------------------------
class EnoentOnReplace(FileSystemWrapper):
    """``replace`` fails once with ENOENT (a temp file removed under the writer)."""

    def __init__(self) -> None:
        super().__init__(OsFileSystem())
        self.armed = False
        self.plain_writes: list[str] = []

    def replace(self, src: str, dst: str) -> None:
        if self.armed:
            self.armed = False
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), src)
        super().replace(src, dst)

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> int:
        if not path.endswith(".tmp") and not path.endswith(".lock"):
            self.plain_writes.append(path)
        return super().open_write(path, mode=mode, exclusive=exclusive)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_enoent_during_a_write(make_store: StoreFactory, profile: str) -> None:
    """HAZARD(enoent_fallback), upstream: on ENOENT the seed rewrites the target in place
    (truncate, then write: not atomic). Hardened reports the error and keeps the old file."""
    fs = EnoentOnReplace()
    store = open_directory(make_store, profile, fs=fs)
    store.save({TARGET: entry("s", 1)})
    fs.armed = True

    target = store.path_of(store.file_name(TARGET))
    if profile == "seed":
        store.update_entry(TARGET, lambda e: {"updatedAt": LATER})
        assert fs.plain_writes == [target]
        assert store.load(skip_cache=True) == {TARGET: entry("s", LATER)}
    else:
        with pytest.raises(FileNotFoundError):
            store.update_entry(TARGET, lambda e: {"updatedAt": 2})
        assert fs.plain_writes == []
        assert store.load(skip_cache=True) == {TARGET: entry("s", 1)}
    assert [n for n in os.listdir(store.dir) if n.endswith(".tmp")] == []


def test_auto_switches_to_the_directory_when_the_folder_exists(
    make_store: StoreFactory, store_dir: str
) -> None:
    write_json(os.path.join(store_dir, "sessions.json"), {"agent:legacy": entry("l", 1)})
    auto = make_store("auto", "seed")
    assert auto.load() == {"agent:legacy": entry("l", 1)}

    open_directory(make_store, "seed").save({"agent:dir": entry("d", 2)})

    assert auto.load(skip_cache=True) == {"agent:dir": entry("d", 2)}
    auto.update_last_route("agent:dir", channel="c", to="t")
    assert read_json(os.path.join(store_dir, "sessions.json")) == {"agent:legacy": entry("l", 1)}
