"""The seed against the upstream code it reproduces (docs/fidelity.md).

Each test pins one behaviour read or run in openclaw@2026.3.11 (legacy file) or in the
directory-layout PR's ``store.ts`` at 61f5ebc, chosen so that the seed as it was before
these fixes fails it; the hardened test beside it shows the fix stays in place.
"""

from __future__ import annotations

import errno
import json
import os

import pytest
from helpers import LATER, StoreFactory, entry, write_json
from hypothesis import example, given
from hypothesis import strategies as st

from reference_store import (
    DirectoryStore,
    FileSystemWrapper,
    LegacyStore,
    ManualClock,
    OsFileSystem,
    Runtime,
    SessionCache,
    keyed_file_name,
    sanitize_key,
    unsanitize_key,
)
from reference_store._cache import DEFAULT_TTL_MS, cache_ttl_ms
from reference_store._keys import desanitize_key

OLD = "agent:main:old"
NEW = "agent:main:new"
REPLACEMENT = "\ufffd".encode()


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def write_bytes(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def open_legacy(make_store: StoreFactory, profile: str, **kwargs: object) -> LegacyStore:
    store = make_store("legacy", profile, **kwargs)  # type: ignore[arg-type]
    assert isinstance(store, LegacyStore)
    return store


def open_directory(make_store: StoreFactory, profile: str) -> DirectoryStore:
    store = make_store("directory", profile)
    assert isinstance(store, DirectoryStore)
    return store


class DenyRead(FileSystemWrapper):
    """``read_file`` of one path fails with EACCES: a mode-000 file as a non-root user
    sees it (the tests run as root, which reads any mode)."""

    def __init__(self, path: str) -> None:
        super().__init__(OsFileSystem())
        self.path = path

    def read_file(self, path: str) -> bytes:
        if path == self.path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return super().read_file(path)


# --- i: an unreadable legacy file ------------------------------------------------------------
def test_seed_loads_an_unreadable_legacy_file_as_empty_and_the_next_write_replaces_it(
    make_store: StoreFactory, store_dir: str
) -> None:
    """Upstream's load catches every read error, so EACCES reads as ``{}`` and the next
    save replaces the sessions it could not read (the old seed raised instead)."""
    path = os.path.join(store_dir, "sessions.json")
    write_json(path, {OLD: entry("old", 1)})
    store = open_legacy(make_store, "seed", fs=DenyRead(path))

    assert store.load() == {}
    store.update_last_route(NEW, channel="telegram", to="1")

    assert list(json.loads(read_bytes(path))) == [NEW]


def test_hardened_refuses_an_unreadable_legacy_file(
    make_store: StoreFactory, store_dir: str
) -> None:
    path = os.path.join(store_dir, "sessions.json")
    write_json(path, {OLD: entry("old", 1)})
    before = read_bytes(path)
    store = open_legacy(make_store, "hardened", fs=DenyRead(path))

    for call in (store.load, lambda: store.update_last_route(NEW, channel="telegram", to="1")):
        with pytest.raises(OSError) as raised:
            call()
        assert raised.value.errno == errno.EACCES

    assert read_bytes(path) == before


def test_seed_loads_a_folder_at_the_legacy_path_as_empty(
    make_store: StoreFactory, store_dir: str
) -> None:
    """EISDIR is one more read error upstream turns into ``{}``; its next save then fails
    on the rename (a file cannot replace a folder), which the seed shares."""
    path = os.path.join(store_dir, "sessions.json")
    write_bytes(os.path.join(path, "inside"), b"kept")
    store = open_legacy(make_store, "seed")

    assert store.load() == {}
    assert store.read_updated_at(OLD) is None
    with pytest.raises(OSError):
        store.update_last_route(NEW, channel="telegram", to="1")

    assert read_bytes(os.path.join(path, "inside")) == b"kept"
    assert sorted(os.listdir(store_dir)) == ["sessions.json"]


def test_hardened_moves_a_folder_at_the_legacy_path_aside_intact(
    make_store: StoreFactory, store_dir: str
) -> None:
    path = os.path.join(store_dir, "sessions.json")
    write_bytes(os.path.join(path, "inside"), b"kept")
    store = open_legacy(make_store, "hardened")

    store.update_last_route(NEW, channel="telegram", to="1")

    aside = [n for n in os.listdir(store_dir) if n.startswith("sessions.json.corrupt.")]
    assert len(aside) == 1
    assert read_bytes(os.path.join(store_dir, aside[0], "inside")) == b"kept"
    assert list(json.loads(read_bytes(path))) == [NEW]


@pytest.mark.parametrize(
    "raw",
    [b"\xef\xbb\xbf{}", b"null", b"42", b"true", b"\xff{}"],
    ids=["byte-order-mark", "null", "number", "boolean", "not-utf8-outside-a-string"],
)
def test_seed_loads_every_other_unusable_legacy_file_as_empty(
    make_store: StoreFactory, raw: bytes
) -> None:
    """The rest of upstream's list of files read as ``{}`` (RUN): JSON.parse refuses a
    byte-order mark, a non-object is not a map, and bad bytes outside a string stay
    unparsable even when decoded leniently."""
    store = open_legacy(make_store, "seed")
    write_bytes(store.store_path, raw)

    assert store.load() == {}


# --- f5: bytes that are not UTF-8 inside a string ----------------------------------------------
#: Two entries; the first holds 0xFF 0xFE inside a string, where JSON syntax is unharmed.
NOT_UTF8_IN_A_STRING = (
    b'{\n  "agent:main:a": {"sessionId": "a", "updatedAt": 1, "name": "A\xff\xfeB"},\n'
    b'  "agent:main:b": {"sessionId": "b", "updatedAt": 2}\n}'
)


def test_seed_decodes_a_legacy_file_leniently_and_the_next_save_writes_u_fffd(
    make_store: StoreFactory,
) -> None:
    """Upstream reads the file as UTF-8 with replacement: every entry loads, and the next
    save changes the bad bytes to U+FFFD (the old seed loaded ``{}`` and lost both)."""
    store = open_legacy(make_store, "seed")
    write_bytes(store.store_path, NOT_UTF8_IN_A_STRING)

    loaded = store.load()
    assert sorted(loaded) == ["agent:main:a", "agent:main:b"]
    assert loaded["agent:main:a"]["name"] == "A\ufffd\ufffdB"

    store.update_last_route(NEW, channel="telegram", to="1")

    raw = read_bytes(store.store_path)
    assert sorted(json.loads(raw)) == ["agent:main:a", "agent:main:b", NEW]
    assert b"A" + REPLACEMENT * 2 + b"B" in raw
    assert b"\xff" not in raw


def test_hardened_moves_a_legacy_file_that_is_not_utf8_aside_unchanged(
    make_store: StoreFactory,
) -> None:
    store = open_legacy(make_store, "hardened")
    write_bytes(store.store_path, NOT_UTF8_IN_A_STRING)

    assert store.load() == {}
    assert [p.path for p in store.problems] == [store.store_path]
    store.update_last_route(NEW, channel="telegram", to="1")

    aside = [n for n in os.listdir(store.folder) if n.startswith("sessions.json.corrupt.")]
    assert [read_bytes(os.path.join(store.folder, n)) for n in aside] == [NOT_UTF8_IN_A_STRING]


ENTRY_NOT_UTF8 = b'{"sessionId": "a", "updatedAt": 1, "name": "A\xffB"}'


def test_seed_decodes_a_directory_entry_file_leniently(make_store: StoreFactory) -> None:
    """The PR reads each entry file as UTF-8 with replacement too (the old seed skipped
    the file, so its session vanished from every load)."""
    store = open_directory(make_store, "seed")
    write_bytes(store.path_of(sanitize_key("agent:main:a") + ".json"), ENTRY_NOT_UTF8)

    assert store.load() == {"agent:main:a": entry("a", 1, name="A\ufffdB")}


def test_hardened_reports_a_directory_entry_file_that_is_not_utf8(
    make_store: StoreFactory,
) -> None:
    store = open_directory(make_store, "hardened")
    path = store.path_of(keyed_file_name("agent:main:a"))
    write_bytes(path, ENTRY_NOT_UTF8)

    assert store.load() == {}
    assert [p.path for p in store.problems] == [path]
    assert read_bytes(path) == ENTRY_NOT_UTF8


# --- c1: the route's read in the legacy layout ---------------------------------------------------
@pytest.mark.parametrize("profile", ["seed", "hardened"])
def test_legacy_route_write_starts_from_the_cached_copy_in_seed(
    make_store: StoreFactory, profile: str
) -> None:
    """The release reads the route's entry through the cache: a rewrite by another process
    that keeps size and mtime is undone by the route write (RUN: BBBB back to AAAA), as in
    the seed; hardened reads fresh under the lock."""
    store = open_legacy(make_store, profile, cache=SessionCache())
    # The stamp update_entry sets keeps the size only with an updatedAt of the same width.
    store.save({OLD: entry("s", LATER, note="AAAA")})
    assert store.load()[OLD]["note"] == "AAAA"  # now cached
    st_before = os.stat(store.store_path)
    other = open_legacy(make_store, profile, cache=SessionCache())
    other.update_entry(OLD, lambda e: {"note": "BBBB", "updatedAt": LATER})
    os.utime(store.store_path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    assert os.stat(store.store_path).st_size == st_before.st_size

    store.update_last_route(OLD, channel="telegram", to="1")

    note = json.loads(read_bytes(store.store_path))[OLD]["note"]
    assert note == ("AAAA" if profile == "seed" else "BBBB")


# --- j2: names starting with a dot ---------------------------------------------------------------
def test_seed_scan_skips_dot_files_and_a_full_save_leaves_them(make_store: StoreFactory) -> None:
    """The PR lists only ``*.json`` names not starting with ``.``, when loading and when a
    full save deletes what it did not write (the old seed loaded and deleted them)."""
    store = open_directory(make_store, "seed")
    hidden = store.path_of(".hidden.json")
    write_json(hidden, entry("hidden", 1))
    write_json(store.path_of(sanitize_key("agent:main:a") + ".json"), entry("a", 1))

    assert store.load() == {"agent:main:a": entry("a", 1)}

    store.save({"agent:main:b": entry("b", 1)})

    assert sorted(os.listdir(store.dir)) == [".hidden.json", sanitize_key("agent:main:b") + ".json"]


def test_seed_writes_a_key_starting_with_a_dot_and_never_reads_it_back(
    make_store: StoreFactory,
) -> None:
    store = open_directory(make_store, "seed")
    key = ".agent:main:hidden"

    store.update_last_route(key, channel="telegram", to="1")

    assert os.path.exists(store.path_of(sanitize_key(key) + ".json"))
    assert key not in store.load(skip_cache=True)


def test_hardened_keeps_keys_starting_with_a_dot_and_reads_dot_files(
    make_store: StoreFactory,
) -> None:
    store = open_directory(make_store, "hardened")
    write_json(store.path_of(".hidden.json"), entry("hidden", 1))
    key = ".agent:main:hidden"

    store.update_last_route(key, channel="telegram", to="1")
    store.update(lambda data: data.update({"agent:main:a": entry("a", 1)}))  # the journal

    loaded = store.load(skip_cache=True)
    assert sorted(loaded) == [".agent:main:hidden", ".hidden", "agent:main:a"]
    assert not keyed_file_name(key).startswith(".")
    assert not os.path.exists(store.path_of(".journal"))


# --- j3: only upper-case escapes are decoded ----------------------------------------------------
def test_seed_decodes_only_upper_case_escapes_in_file_names(make_store: StoreFactory) -> None:
    """The PR replaces ``%3A``, ``%5C``, ``%2F`` and then ``%25``, upper case only (the old
    seed also decoded ``%3a``, reading this file as ``agent:main:low``)."""
    store = open_directory(make_store, "seed")
    write_json(store.path_of("agent%3amain%3alow.json"), entry("low", 1))
    write_json(store.path_of("agent%3Amain%3Aup%2Fx%5Cy.json"), entry("up", 1))

    assert store.load() == {
        "agent%3amain%3alow": entry("low", 1),
        "agent:main:up/x\\y": entry("up", 1),
    }


def test_hardened_reads_a_bare_file_name_in_either_case(make_store: StoreFactory) -> None:
    store = open_directory(make_store, "hardened")
    write_json(store.path_of("agent%3amain%3alow.json"), entry("low", 1))

    assert store.load() == {"agent:main:low": entry("low", 1)}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("a%3ab%2fc%5cd", "a%3ab%2fc%5cd"),
        ("a%3Ab%2Fc%5Cd", "a:b/c\\d"),
        ("%253A", "%3A"),
        ("%25%3A", "%:"),
        ("100%25", "100%"),
        ("%2", "%2"),
    ],
)
def test_desanitize_key_examples(name: str, key: str) -> None:
    assert desanitize_key(name) == key


@given(st.text(alphabet=st.sampled_from("%:/\\3AaFfCc25x"), max_size=30))
@example("%3A")
@example("%%3A:")
def test_desanitize_key_inverts_sanitize_key(key: str) -> None:
    assert desanitize_key(sanitize_key(key)) == key == unsanitize_key(sanitize_key(key))


# --- h1: OPENCLAW_SESSION_CACHE_TTL_MS ------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "ttl"),
    [
        ("-5", DEFAULT_TTL_MS),
        ("1_000", DEFAULT_TTL_MS),
        (" 7 ", 7),
        ("+3", 3),
        ("0", 0),
        ("-0", 0),
        ("007", 7),
        ("1.5", DEFAULT_TTL_MS),
        ("1e3", DEFAULT_TTL_MS),
        ("abc", DEFAULT_TTL_MS),
        ("", DEFAULT_TTL_MS),
        ("   ", DEFAULT_TTL_MS),
        ("\ufeff12\u3000", 12),  # JavaScript's trim removes both
        ("\x1c5", DEFAULT_TTL_MS),  # Python's strip would remove U+001C, JavaScript's not
        ("\u0661\u0662", DEFAULT_TTL_MS),  # int() reads Arabic-Indic digits, upstream not
        (str(2**53 - 1), 2**53 - 1),
        (str(2**53), DEFAULT_TTL_MS),  # not a safe integer
    ],
)
def test_cache_ttl_is_parsed_like_upstream(
    monkeypatch: pytest.MonkeyPatch, raw: str, ttl: int
) -> None:
    monkeypatch.setenv("OPENCLAW_SESSION_CACHE_TTL_MS", raw)
    assert cache_ttl_ms() == ttl


@pytest.mark.parametrize("profile", ["seed", "hardened"])
def test_a_negative_ttl_keeps_the_cache_on(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    """``-5`` means the 45 s default upstream, so an outside rewrite of the same size and
    mtime is still hidden by the cache (the old parse read it as 0, cache off)."""
    monkeypatch.setenv("OPENCLAW_SESSION_CACHE_TTL_MS", "-5")
    clock = ManualClock(1_700_000_000_000)
    runtime = Runtime(now_ms=clock.now_ms, sleep=clock.sleep)
    store = open_legacy(make_store, profile, runtime=runtime, cache=SessionCache())
    store.save({OLD: entry("aaaa", 1)})
    assert store.load() == {OLD: entry("aaaa", 1)}
    st_before = os.stat(store.store_path)

    other = open_legacy(make_store, profile, cache=SessionCache())
    other.save({OLD: entry("bbbb", 1)})
    os.utime(store.store_path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))

    assert store.load() == {OLD: entry("aaaa", 1)}


# --- k2: maintenance in its default (warn) mode ---------------------------------------------------
@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_an_ancient_entry_survives_writes_as_in_the_default_warn_mode(
    make_store: StoreFactory, layout: str
) -> None:
    """Upstream runs maintenance on every save, but its default mode only warns: nothing
    is pruned, capped or rotated, and the seed has no maintenance at all."""
    store = make_store(layout, "seed")
    store.save({OLD: entry("ancient", 1)})

    store.update_last_route(NEW, channel="telegram", to="1")

    assert store.load(skip_cache=True)[OLD] == entry("ancient", 1)
    assert not [n for n in os.listdir(os.path.dirname(store.store_path)) if ".bak." in n]


# --- b. update_entry stamps the entry (mergeSessionEntry) ------------------------------------
@pytest.mark.parametrize("layout", ["legacy", "directory", "sqlite"])
@pytest.mark.parametrize("profile", ["seed", "hardened"])
@pytest.mark.parametrize(
    ("old", "patched", "now", "stamped"),
    [
        (100, 5, 5_000, 5_000),  # a patch's smaller value is overridden by now
        (100, 9_000, 5_000, 9_000),  # a future value is kept: the release does not clamp
        (7_000, 10, 5_000, 7_000),  # never backwards, whatever the patch and the clock
        (100, None, 5_000, 5_000),  # a patch without updatedAt is stamped too
    ],
)
def test_update_entry_stamps_updated_at_as_max_of_old_patch_and_now(
    make_store: StoreFactory,
    layout: str,
    profile: str,
    old: int,
    patched: int | None,
    now: int,
    stamped: int,
) -> None:
    """RUN: ``updatedAt = max(old, patch, Date.now())`` in the release's mergeSessionEntry,
    for both profiles (it is the API's behaviour, not a hazard)."""
    store = make_store(layout, profile, runtime=Runtime(now_ms=lambda: now))
    store.save({OLD: entry("s", old, note="n")})
    patch = {"note": "m"} if patched is None else {"note": "m", "updatedAt": patched}
    result = store.update_entry(OLD, lambda e: dict(patch))
    assert result == entry("s", stamped, note="m")
    assert make_store(layout, profile).load(skip_cache=True) == {OLD: result}


@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_seed_update_entry_fills_a_missing_session_id(
    make_store: StoreFactory, layout: str
) -> None:
    """RUN: ``sessionId = patch.sessionId ?? existing.sessionId ?? randomUUID()``; the seed
    mints one of its own tokens (upstream: a UUID), placed after the entry's fields."""
    store = make_store(layout, "seed", runtime=Runtime(now_ms=lambda: 5_000))
    store.save({OLD: {"updatedAt": 1, "note": "n"}})
    result = store.update_entry(OLD, lambda e: {"sessionId": None, "note": "m"})
    assert result is not None and list(result) == ["updatedAt", "note", "sessionId"]
    assert (result["updatedAt"], result["note"]) == (5_000, "m")
    assert isinstance(result["sessionId"], str) and result["sessionId"]
    assert make_store(layout, "seed").load(skip_cache=True) == {OLD: result}


# --- g. ENOENT while writing: the two upstream behaviours -----------------------------------
class EnoentOnReplace(FileSystemWrapper):
    """``replace`` fails with ENOENT ``times`` times (a temp file removed under the
    writer, or its folder gone); counts in-place writes of a target."""

    def __init__(self, times: int) -> None:
        super().__init__(OsFileSystem())
        self.times = times
        self.in_place: list[str] = []

    def replace(self, src: str, dst: str) -> None:
        if self.times > 0:
            self.times -= 1
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), src)
        super().replace(src, dst)

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> int:
        if not path.endswith((".tmp", ".lock")):
            self.in_place.append(path)
        return super().open_write(path, mode=mode, exclusive=exclusive)


@pytest.mark.parametrize("times", [1, 2])
def test_seed_legacy_retries_an_enoent_write_once_then_reports_success_unwritten(
    make_store: StoreFactory, times: int
) -> None:
    """RUN: the release's saveSessionStoreUnlocked retries the atomic write once on ENOENT
    and, on a second ENOENT, returns as if it had written -- never an in-place write."""
    fs = EnoentOnReplace(0)
    store = open_legacy(make_store, "seed", fs=fs)
    store.save({OLD: entry("s", 1)})
    fs.times = times
    result = store.update_entry(OLD, lambda e: {"updatedAt": LATER})  # returns normally
    assert result == entry("s", LATER)
    assert fs.in_place == []
    on_disk = make_store("legacy", "seed").load(skip_cache=True)
    assert on_disk == {OLD: entry("s", LATER if times == 1 else 1)}
    assert [n for n in os.listdir(store.folder) if n.endswith(".tmp")] == []


def test_seed_directory_writes_in_place_on_enoent_and_swallows_its_failure(
    make_store: StoreFactory,
) -> None:
    """READ (PR writeSessionEntryToDir at 61f5ebc): on ENOENT the folder is made again and
    the target written in place; a failure of that write is swallowed."""

    class AlsoFailInPlace(EnoentOnReplace):
        def write_file(
            self, path: str, data: bytes, *, mode: int = 0o666, sync: bool = False
        ) -> None:
            self.in_place.append(path)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    fs = AlsoFailInPlace(0)
    store = make_store("directory", "seed", fs=fs)
    assert isinstance(store, DirectoryStore)
    store.save({OLD: entry("s", 1)})
    fs.times = 1
    assert store.update_entry(OLD, lambda e: {"updatedAt": LATER}) == entry("s", LATER)
    assert fs.in_place == [store.path_of(store.file_name(OLD))]
    assert make_store("directory", "seed").load(skip_cache=True) == {OLD: entry("s", 1)}


# --- h. the cache is keyed by the store path ------------------------------------------------
def test_seed_directory_cache_is_kept_per_store_path(make_store: StoreFactory) -> None:
    """READ (store-cache, PR loadSessionStore): the cache is keyed by the store path in
    both layouts. Two store paths sharing the seed's one sessions.d/ keep a view each, so
    a write through one leaves the other's cached view stale until its TTL runs out."""
    cache = SessionCache()
    a = make_store("directory", "seed", name="a.json", cache=cache)
    b = make_store("directory", "seed", name="b.json", cache=cache)
    assert isinstance(a, DirectoryStore) and isinstance(b, DirectoryStore)
    assert a.dir == b.dir  # HAZARD(own_folder): one sessions.d/ for both
    a.save({OLD: entry("s", 1)})
    assert a.load() == {OLD: entry("s", 1)}  # cached under a.json
    b.update_entry(OLD, lambda e: {"updatedAt": LATER})
    assert b.load() == {OLD: entry("s", LATER)}
    assert a.load() == {OLD: entry("s", 1)}  # stale: b's write dropped only b's view
    assert a.load(skip_cache=True) == {OLD: entry("s", LATER)}
