"""Start-up migration from ``sessions.json`` to ``sessions.d/`` (docs/spec.md, steps 1-5)."""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry, rich_entry, snapshot_tree, write_json

from reference_store import (
    DirectoryStore,
    SessionCache,
    dedupe_case_variants,
    deterministic_runtime,
    migrate,
    migrate_agents,
    open_store,
)

pytestmark = pytest.mark.parametrize("profile", PROFILE_NAMES)

LEGACY = {
    "agent:main:telegram:direct:12345": rich_entry("s1", 1_000),
    "agent:main:slack:channel:c1:thread:123.456": entry("s2", 2_000),
    "agent:ops:main": entry("s3", 3_000, path="a/b\\c", pct="100%"),
    "agent:main:web:a%3Ab/c\\d": entry("s4", 4_000, name="Zoë 日本"),
}
#: What migration stores: every key under its normal form (none of LEGACY's collide).
MIGRATED = {key.lower(): value for key, value in LEGACY.items()}
BACKUP = {"seed": r"sessions\.json\.bak\.\d+", "hardened": r"sessions\.json\.migrated\.\d+"}


def legacy_path(folder: str) -> str:
    return os.path.join(folder, "sessions.json")


def write_legacy(folder: str, data: Any) -> bytes:
    write_json(legacy_path(folder), data)
    with open(legacy_path(folder), "rb") as handle:
        return handle.read()


def load_after_restart(folder: str, profile: str) -> dict[str, Any]:
    """What the next start-up loads: a new store object with a cold cache."""
    store = open_store(legacy_path(folder), "auto", profile, cache=SessionCache())
    return store.load()


def directory_of(folder: str, profile: str) -> DirectoryStore:
    store = open_store(legacy_path(folder), "directory", profile, cache=SessionCache())
    assert isinstance(store, DirectoryStore)
    return store


def backups(folder: str, profile: str) -> list[str]:
    return [n for n in os.listdir(folder) if re.fullmatch(BACKUP[profile], n)]


def test_fresh_migration(store_dir: str, profile: str) -> None:
    raw = write_legacy(store_dir, LEGACY)

    assert migrate(legacy_path(store_dir), profile, runtime=deterministic_runtime()) is True

    (backup,) = backups(store_dir, profile)
    with open(os.path.join(store_dir, backup), "rb") as handle:
        assert handle.read() == raw
    assert not os.path.exists(legacy_path(store_dir))
    assert not os.path.exists(os.path.join(store_dir, "sessions.d.migrating"))
    # hardened migrates under its lock, a flock on a file that stays (reference_store/_lock.py)
    lock_file = ["sessions.json.flock"] if profile == "hardened" else []
    assert sorted(os.listdir(store_dir)) == sorted([backup, "sessions.d", *lock_file])
    directory = directory_of(store_dir, profile)
    names = {n for n in os.listdir(directory.dir) if n.endswith(".json")}
    assert names == {directory.file_name(k) for k in MIGRATED}
    assert load_after_restart(store_dir, profile) == MIGRATED


def test_entry_files_hold_the_entry(store_dir: str, profile: str) -> None:
    write_legacy(store_dir, LEGACY)
    assert migrate(legacy_path(store_dir), profile)
    directory = directory_of(store_dir, profile)

    for key, value in MIGRATED.items():
        with open(directory.path_of(directory.file_name(key)), encoding="utf-8") as handle:
            content = json.load(handle)
        if profile == "seed":
            assert content == value
        else:
            assert content["entries"] == {key: value}


def test_a_second_run_changes_nothing(store_dir: str, profile: str) -> None:
    write_legacy(store_dir, LEGACY)
    assert migrate(legacy_path(store_dir), profile) is True
    before = snapshot_tree(store_dir)

    assert migrate(legacy_path(store_dir), profile) is False

    assert snapshot_tree(store_dir) == before


SUFFIXES = ("", "/x", "\\y", "%25", ":z", " é")


def test_fifty_keys_survive_intact(store_dir: str, profile: str) -> None:
    data = {
        f"agent:{['main', 'ops'][i % 2]}:{['telegram', 'slack', 'web'][i % 3]}:direct:{i}"
        + SUFFIXES[i % 6]: rich_entry(f"s{i}", 10_000 + i)
        for i in range(50)
    }
    assert len(data) == 50
    write_legacy(store_dir, data)

    assert migrate(legacy_path(store_dir), profile) is True

    assert load_after_restart(store_dir, profile) == data
    assert len(os.listdir(directory_of(store_dir, profile).dir)) >= 50


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"{}", b"[]", b'"sessions"', b"42", b"null", b"\xff\xfe"],
    ids=["empty", "invalid", "empty-object", "array", "string", "number", "null", "not-utf8"],
)
def test_nothing_to_migrate_changes_nothing(store_dir: str, profile: str, raw: bytes) -> None:
    with open(legacy_path(store_dir), "wb") as handle:
        handle.write(raw)
    before = snapshot_tree(store_dir)

    assert migrate(legacy_path(store_dir), profile) is False

    assert snapshot_tree(store_dir) == before


@pytest.mark.parametrize("with_directory", [False, True])
def test_no_legacy_file_changes_nothing(
    make_store: StoreFactory, store_dir: str, profile: str, with_directory: bool
) -> None:
    if with_directory:
        make_store("directory", profile).save({"agent:a": entry("a", 1)})
    before = snapshot_tree(store_dir)

    assert migrate(legacy_path(store_dir), profile) is False

    assert snapshot_tree(store_dir) == before


def test_merge_never_clobbers_existing_files(
    make_store: StoreFactory, store_dir: str, profile: str
) -> None:
    existing = {"agent:main:a": entry("dir-a", 500, source="directory")}
    make_store("directory", profile).save(existing)
    directory = directory_of(store_dir, profile)
    kept_path = directory.path_of(directory.file_name("agent:main:a"))
    with open(kept_path, "rb") as handle:
        kept = handle.read()
    write_legacy(
        store_dir,
        {
            "agent:main:a": entry("legacy-a", 9_999, source="legacy"),
            "Agent:Main:A": entry("legacy-A", 10_000, source="legacy"),
            "agent:main:b": entry("legacy-b", 1, source="legacy"),
        },
    )

    assert migrate(legacy_path(store_dir), profile) is True

    with open(kept_path, "rb") as handle:
        assert handle.read() == kept
    assert load_after_restart(store_dir, profile) == {
        **existing,
        "agent:main:b": entry("legacy-b", 1, source="legacy"),
    }
    assert not os.path.exists(legacy_path(store_dir))
    assert len(backups(store_dir, profile)) == 1
    assert not os.path.exists(os.path.join(store_dir, "sessions.d.migrating"))


@pytest.mark.parametrize("newest_first", [True, False])
def test_case_variants_are_deduped_keeping_the_newest(
    store_dir: str, profile: str, newest_first: bool
) -> None:
    variants = [
        ("agent:main:Telegram:direct:X", entry("newest", 300)),
        ("agent:main:telegram:direct:x", entry("normal", 100)),
        ("AGENT:MAIN:TELEGRAM:DIRECT:X", entry("middle", 200)),
    ]
    ordered = variants if newest_first else variants[::-1]
    write_legacy(store_dir, {**dict(ordered), "agent:ops:main": entry("ops", 1)})

    assert migrate(legacy_path(store_dir), profile) is True

    assert load_after_restart(store_dir, profile) == {
        "agent:main:telegram:direct:x": entry("newest", 300),
        "agent:ops:main": entry("ops", 1),
    }


def test_a_tie_between_case_variants(store_dir: str, profile: str) -> None:
    """Hardened breaks an ``updatedAt`` tie the same way whatever the input order.
    HAZARD(deterministic_tiebreak), upstream: the seed keeps the first seen."""
    a = ("agent:main:Telegram:direct:X", entry("first", 100))
    b = ("AGENT:main:telegram:direct:x", entry("second", 100))
    picked = [
        dedupe_case_variants(dict(order), deterministic=profile == "hardened")
        for order in ([a, b], [b, a])
    ]
    write_legacy(store_dir, dict([b, a]))
    assert migrate(legacy_path(store_dir), profile) is True
    migrated = load_after_restart(store_dir, profile)

    if profile == "hardened":
        assert picked[0] == picked[1]
    else:
        assert picked[0]["agent:main:telegram:direct:x"]["sessionId"] == "first"
        assert picked[1]["agent:main:telegram:direct:x"]["sessionId"] == "second"
    assert migrated == picked[1]


def test_a_stale_staging_folder_is_removed(store_dir: str, profile: str) -> None:
    staging = os.path.join(store_dir, "sessions.d.migrating")
    write_json(os.path.join(staging, "agent%3Astale.json"), entry("stale", 1))
    with open(os.path.join(staging, "agent%3Aops%3Amain.json.0001.tmp"), "wb") as handle:
        handle.write(b'{"torn')
    write_legacy(store_dir, LEGACY)

    assert migrate(legacy_path(store_dir), profile) is True

    assert not os.path.exists(staging)
    assert load_after_restart(store_dir, profile) == MIGRATED
    assert not any(
        "stale" in n or n.endswith(".tmp") for n in os.listdir(directory_of(store_dir, profile).dir)
    )


def test_every_agent_folder_is_migrated_on_its_own(store_dir: str, profile: str) -> None:
    agents = {
        "main": {"agent:main:telegram:direct:1": entry("m1", 1)},
        "ops": {"agent:ops:main": entry("o1", 2), "agent:ops:Slack:C1": entry("o2", 3)},
    }
    for agent_id, data in agents.items():
        write_legacy(os.path.join(store_dir, "agents", agent_id, "sessions"), data)
    os.makedirs(os.path.join(store_dir, "agents", "idle", "sessions"))
    os.makedirs(os.path.join(store_dir, "agents", "no-sessions-folder"))

    assert migrate_agents(store_dir, profile) == {"idle": False, "main": True, "ops": True}

    for agent_id, data in agents.items():
        folder = os.path.join(store_dir, "agents", agent_id, "sessions")
        assert load_after_restart(folder, profile) == dedupe_case_variants(
            data, deterministic=profile == "hardened"
        )
        assert len(backups(folder, profile)) == 1
    assert os.listdir(os.path.join(store_dir, "agents", "idle", "sessions")) == []
    before = snapshot_tree(store_dir)
    assert migrate_agents(store_dir, profile) == {"idle": False, "main": False, "ops": False}
    assert snapshot_tree(store_dir) == before


def test_no_agents_folder_migrates_nothing(store_dir: str, profile: str) -> None:
    assert migrate_agents(store_dir, profile) == {}
    assert os.listdir(store_dir) == []


def test_an_open_auto_store_switches_to_the_migrated_folder(
    make_store: StoreFactory, store_dir: str, profile: str
) -> None:
    write_legacy(store_dir, LEGACY)
    store = make_store("auto", profile)
    assert store.load() == LEGACY

    assert migrate(legacy_path(store_dir), profile) is True
    updated = store.update_entry("agent:ops:main", lambda e: {"updatedAt": LATER})

    assert updated == {**LEGACY["agent:ops:main"], "updatedAt": LATER}
    assert not os.path.exists(legacy_path(store_dir))
    assert load_after_restart(store_dir, profile) == {**MIGRATED, "agent:ops:main": updated}


@pytest.mark.real_only
def test_migrated_entry_files_are_private(store_dir: str, profile: str) -> None:
    """Entry files are created 0600 in both profiles; hardened also makes the folder 0700
    and writes its backup copy 0600 (the seed's backup is the renamed legacy file)."""
    write_legacy(store_dir, LEGACY)
    assert migrate(legacy_path(store_dir), profile) is True

    directory = directory_of(store_dir, profile)
    for name in os.listdir(directory.dir):
        assert stat.S_IMODE(os.stat(directory.path_of(name)).st_mode) == 0o600, name
    if profile == "hardened":
        assert stat.S_IMODE(os.stat(directory.dir).st_mode) == 0o700
        (backup,) = backups(store_dir, profile)
        assert stat.S_IMODE(os.stat(os.path.join(store_dir, backup)).st_mode) == 0o600


def test_a_crashed_legacy_write_is_decided_before_the_migration(
    store_dir: str, profile: str
) -> None:
    """A writer crashed between writing its temp file and renaming it: the migration
    retires sessions.json as it is. Hardened decides the temp file first, against the
    file it belongs to (not applied: the file is whole), so the write never comes back;
    the seed leaves it, and its later start-ups never promote it either (no cleanup)."""
    write_legacy(store_dir, LEGACY)
    newer = {**LEGACY, "agent:main:late": entry("late", 9_000)}
    write_json(legacy_path(store_dir) + ".0000abcd.tmp", newer)
    for _startup in range(2):
        migrate(legacy_path(store_dir), profile)
        found = load_after_restart(store_dir, profile)
    assert found == MIGRATED
    assert not os.path.exists(legacy_path(store_dir))
    leftover = os.path.exists(legacy_path(store_dir) + ".0000abcd.tmp")
    assert leftover == (profile == "seed")


def test_the_only_copy_of_a_crashed_first_write_is_migrated(store_dir: str, profile: str) -> None:
    """The very first save crashed after its temp file was complete, before the rename:
    no sessions.json, one whole temp file. Hardened decides it first (promoted: the
    only copy) and migrates it at the same start-up, as the next start-up would; the
    seed sees nothing to migrate and leaves the temp file."""
    write_json(legacy_path(store_dir) + ".0000abcd.tmp", LEGACY)
    migrated = migrate(legacy_path(store_dir), profile)
    assert migrated == (profile == "hardened")
    assert load_after_restart(store_dir, profile) == (MIGRATED if migrated else {})
