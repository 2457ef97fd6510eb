"""The named scenarios: workloads and the faults each one explores.

Each scenario names, in ``catches``, the hazards (docs/spec.md) it exists to find; the test
``tests/test_scenarios_catch.py`` runs each against a store with that hazard and
requires a violation, and against ``hardened`` and requires none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.checks._strategies import NAME_HAZARDS
from harness.engine._oracle import Violation
from harness.engine._scenario import CheckContext, Scenario, Setup, Variant, Workload
from harness.engine._workload import (
    LATER_MS,
    Load,
    Migrate,
    ReadUpdatedAt,
    Save,
    Update,
    UpdateEntry,
)

from . import _disk_shapes as disk_shapes

__all__ = ["SCENARIOS", "make_entries"]


def make_entries(
    count: int, *, start: int = 0, stamp: int = 1_000, tag: str = "v1"
) -> dict[str, Any]:
    """Realistic routing-only entries (~300 B) under realistic keys."""
    entries: dict[str, Any] = {}
    for i in range(start, start + count):
        channel = ("telegram", "slack", "discord")[i % 3]
        key = f"agent:main:{channel}:direct:{10_000 + i}"
        entries[key] = {
            "sessionId": f"sess-{i:05d}-{tag}",
            "updatedAt": stamp + i,
            "lastChannel": channel,
            "lastTo": str(10_000 + i),
            "deliveryContext": {
                "channel": channel,
                "to": str(10_000 + i),
                "accountId": None,
                "threadId": None,
            },
            "origin": {"label": f"user {i}", "note": "ünïcode ✓"},
        }
    return entries


def _keys(entries: Mapping[str, Any]) -> list[str]:
    return list(entries)


# --- migration -----------------------------------------------------------------------------------
_MIGRATION_VARIANTS = (
    Variant("fresh-50", {"count": 50, "merge": False}),
    Variant("merge-50", {"count": 50, "merge": True}),
    # Every fault point of a 1,000-entry migration is ~6,000-13,000 runs of ~3 s each:
    # sampled (seeded), and only in full runs (--full), where --max-points raises it.
    Variant("fresh-1000", {"count": 1000, "merge": False}, max_points=10, heavy=True),
    Variant("merge-1000", {"count": 1000, "merge": True}, max_points=10, heavy=True),
)
_SMALL_MIGRATION_VARIANTS = (
    Variant("fresh-12", {"count": 12, "merge": False}),
    Variant("merge-12", {"count": 12, "merge": True}),
)


def _migration(params: Mapping[str, Any], _profile: str) -> Workload:
    count = int(params["count"])
    legacy = make_entries(count)
    # Two case-variant duplicates, as older versions wrote them: the newer one must win.
    first = _keys(legacy)[0]
    legacy[first.replace("telegram", "Telegram")] = {
        **legacy[first],
        "updatedAt": 10**9,
        "sessionId": "newest-variant",
    }
    directory = None
    if params.get("merge"):
        # The live folder already holds a third of the keys (with other values: they must
        # win) and some keys of its own.
        live = make_entries(count // 3, tag="live", stamp=5_000)
        live.update(make_entries(3, start=count + 100, tag="own"))
        directory = live
    return Workload(Setup(legacy=legacy, directory=directory), (Migrate(),))


def _backup_failure(params: Mapping[str, Any], _profile: str) -> Workload:
    legacy = make_entries(6)
    doomed = _keys(legacy)[1]
    return Workload(Setup(legacy=legacy), (Migrate(), Update(delete=(doomed,))))


# --- updates -------------------------------------------------------------------------------------
def _update(params: Mapping[str, Any], _profile: str) -> Workload:
    base = make_entries(int(params.get("count", 8)))
    keys = _keys(base)
    changed = {
        keys[2]: {**base[keys[2]], "updatedAt": 9_000, "lastTo": "moved"},
        "agent:ops:main": {"sessionId": "ops-1", "updatedAt": 9_001},
    }
    # The cached loads and the read between the writes catch a cache that outlives a write.
    # Callers change the entries they are handed in place, top level and nested (a store
    # that diffs shared objects cannot see those changes).
    steps = (
        Load(cached=True),
        UpdateEntry(keys[0], {"lastTo": "patched", "updatedAt": LATER_MS + 8_000}),
        ReadUpdatedAt(keys[0]),
        Update(in_place={keys[1]: {"lastTo": "in-place", "deliveryContext.to": "in-place"}}),
        UpdateEntry(keys[5], {"updatedAt": LATER_MS + 8_500}, in_place={"origin.note": "in-place"}),
        Update(set=changed, delete=(keys[3],)),
        Load(cached=True),
        Save({k: v for k, v in {**base, **changed}.items() if k not in (keys[4], keys[3])}),
    )
    return Workload(Setup(legacy=base, directory=base), steps)


def _update_legacy_or_dir(params: Mapping[str, Any], profile: str) -> Workload:
    return _update(params, profile)


# --- case variants -------------------------------------------------------------------------------
def _case_variants(params: Mapping[str, Any], _profile: str) -> Workload:
    base = make_entries(4)
    keys = _keys(base)
    tie_a = {**base[keys[0]], "sessionId": "tie-lower", "updatedAt": 7_000}
    tie_b = {**base[keys[0]], "sessionId": "tie-Upper", "updatedAt": 7_000}
    older = {**base[keys[1]], "sessionId": "older", "updatedAt": 1}
    newer = {**base[keys[1]], "sessionId": "newer", "updatedAt": 8_000}
    items = [
        (keys[0].replace("main", "Main"), tie_b),
        (keys[0].replace("direct", "Direct"), tie_a),
        (keys[1], older),
        (keys[1].upper(), newer),
        (keys[2], base[keys[2]]),
        (keys[3], base[keys[3]]),
    ]
    if params.get("order") == "reverse":
        items.reverse()
    seen = UpdateEntry(keys[1], {"seen": 1, "updatedAt": LATER_MS})
    return Workload(Setup(legacy=dict(items)), (Migrate(), seen))


# --- corrupt files -------------------------------------------------------------------------------
_CORRUPT = {
    "zero-byte": b"",
    "truncated": b'{\n  "sessionId": "sess-corrupt",\n  "updatedAt": 12',
    "garbage": b"\x00\x17garbage\xff not json at all",
    "non-object": b'["sessionId", "sess-corrupt"]',
    "non-utf8": b'{"sessionId": "caf\xe9", "updatedAt": 5}',
}
CORRUPT_KEY = "agent:main:telegram:direct:corrupt"
CORRUPT_NAME = "agent%3Amain%3Atelegram%3Adirect%3Acorrupt.json"


def _corrupt_entry(params: Mapping[str, Any], _profile: str) -> Workload:
    base = make_entries(5)
    content = _CORRUPT[params["kind"]]
    new = {**base, "agent:ops:new": {"sessionId": "new", "updatedAt": 5_000}}
    after = UpdateEntry(_keys(base)[0], {"lastTo": "after", "updatedAt": LATER_MS})
    steps = (Load(), Save(new), after)
    if params.get("where") == "legacy":
        return Workload(Setup(legacy_raw=content), (Load(), Save(new)))
    return Workload(Setup(directory=base, files={f"sessions.d/{CORRUPT_NAME}": content}), steps)


def _corrupt_kept(ctx: CheckContext) -> list[Violation]:
    """The bytes the store could not read must still be on disk in the store folder.

    An empty file holds nothing to keep, so the 0-byte variants check only the oracle's
    usual promises (the real-world loss there happened before: the file was emptied).
    """
    setup = ctx.workload.setup
    original = setup.legacy_raw
    if original is None:
        original = setup.files.get(f"sessions.d/{CORRUPT_NAME}")
    if not original:
        return []
    if any(original == content for content in ctx.files.values()):
        return []
    return [
        Violation(
            "corrupt-destroyed", f"no file holds the {len(original)} bytes the store could not read"
        )
    ]


# --- stale staging -------------------------------------------------------------------------------
def _stale_staging(params: Mapping[str, Any], _profile: str) -> Workload:
    legacy = make_entries(10)
    stale = make_entries(4, tag="stale", stamp=99_999)
    staging = "sessions.d.migrating"
    files = {
        f"{staging}/{k.replace(':', '%3A')}.json": json.dumps(v).encode() for k, v in stale.items()
    }
    files[f"{staging}/leftover.json.0001.tmp"] = b'{"partial": '
    return Workload(Setup(legacy=legacy, files=files), (Migrate(),))


def _no_staging_left(ctx: CheckContext) -> list[Violation]:
    left = sorted(p for p in ctx.files if p.startswith("sessions.d.migrating"))
    if left:
        return [Violation("leftover-temp", f"staging folder stays after start-up: {left[:3]}")]
    return []


# --- hostile keys ------------------------------------------------------------------------
# One key per file-name hazard (harness.checks._strategies.NAME_HAZARDS: %, :, /, \\, . and ..,
# leading and trailing dots and spaces, NUL and control characters, NFC and NFD, Windows
# reserved names with and without an extension, names over 255 bytes or UTF-16 units, a
# case-insensitive collision pair), plus a key whose own text climbs out of the folder.
HOSTILE_KEYS: tuple[str, ...] = (*(h.key for h in NAME_HAZARDS), "agent:main:..")
_NAME_FAMILIES = tuple(dict.fromkeys(h.family for h in NAME_HAZARDS))


def _hostile_keys(params: Mapping[str, Any], _profile: str) -> Workload:
    family = params.get("family")
    if family is not None:
        keys = tuple(h.key for h in NAME_HAZARDS if h.family == family)
    else:
        # Python refuses NUL in a path before any system call, so the seed stops at the
        # first NUL key and hides the rest: NUL has variants of its own.
        keys = tuple(k for k in HOSTILE_KEYS if "\x00" not in k)
    entries = {
        key: {"sessionId": f"hostile-{i}", "updatedAt": 2_000 + i, "origin": {"key": key}}
        for i, key in enumerate(keys)
    }
    items = list(entries.items())
    if params["via"] == "migration":
        # The legacy file holds every key a migration may keep apart: all but the second
        # key of a case-variant pair, which the migration would rightly dedupe into the
        # first; the update then writes that twin beside the migrated one.
        seen: set[str] = set()
        first: dict[str, Any] = {}
        second: dict[str, Any] = {}
        for key, entry in items:
            normal = key.strip().lower()
            (second if normal in seen else first)[key] = entry
            seen.add(normal)
        return Workload(Setup(legacy=first), (Migrate(), Update(set=second), Load()))
    # Alternate keys go to the two calls, so the twins of each pair (NAME_HAZARDS keeps
    # them side by side) are written by different calls: the second must not land on the
    # first's file.
    first, second = dict(items[::2]), dict(items[1::2])
    return Workload(Setup(), (Save(first), Update(set=second), Load()))


def _every_key_filed(ctx: CheckContext) -> list[Violation]:
    """Without a fault that makes calls fail, every call answers: each key is valid, so a
    refusal means the store could not file it (a name too long, one the OS refuses, ...).
    A call cut short by a kill (indeterminate, or never sent) refused nothing."""
    if ctx.calls_may_fail:
        return []
    return [
        Violation("baseline", f"{o.call} failed without a fault on {ctx.semantics}: {o.error}")
        for o in ctx.outcomes
        if o.status == "failed"
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="migration.kill",
        description="Crash (and tear writes) at every operation of the start-up migration, "
        "fresh and merge mode; the next start-up must load exactly the original entries.",
        catches=("merge into the live folder under a crash", "leftover temp files"),
        build=_migration,
        faults=("crash", "torn"),
        layouts=("auto",),
        variants=_MIGRATION_VARIANTS,
    ),
    Scenario(
        name="migration.disk-full",
        description="ENOSPC at every byte budget of a migration, at the write and at close.",
        catches=("migration losing entries on a full disk",),
        build=_migration,
        faults=("enospc", "enospc-close"),
        layouts=("auto",),
        variants=_SMALL_MIGRATION_VARIANTS,
    ),
    Scenario(
        name="migration.non-atomic-rename",
        description="Rename made non-atomic (target removed, then written), crash anywhere.",
        catches=("no recovery from a torn rename",),
        build=_migration,
        faults=("non-atomic",),
        layouts=("auto",),
        variants=_SMALL_MIGRATION_VARIANTS,
    ),
    Scenario(
        name="migration.backup-failure",
        description="The backup rename (and every other rename/unlink) fails with EACCES/EIO;"
        " an entry deleted afterwards must stay deleted after the next start-up.",
        catches=("swallowed backup failure",),
        build=_backup_failure,
        faults=("error:EACCES", "error:EIO"),
        layouts=("auto",),
        error_ops=("replace", "unlink", "write"),
    ),
    Scenario(
        name="update.kill",
        description="Crash and torn writes during update_entry, a multi-entry update "
        "(set + delete) and a full save.",
        catches=("torn multi-entry update in directory mode",),
        build=_update_legacy_or_dir,
        faults=("crash", "torn"),
    ),
    Scenario(
        name="update.disk-full",
        description="ENOSPC at every byte budget of the update workload.",
        catches=("torn multi-entry update in directory mode", "non-atomic fallback"),
        build=_update_legacy_or_dir,
        faults=("enospc", "enospc-close"),
    ),
    Scenario(
        name="update.non-atomic-rename",
        description="Non-atomic rename with a crash anywhere; and ENOENT at each rename "
        "(which makes the seed fall back to an in-place write) followed by a crash.",
        catches=("non-atomic ENOENT fallback", "no recovery from a torn rename"),
        build=_update_legacy_or_dir,
        faults=("non-atomic", "enoent-then-crash"),
    ),
    Scenario(
        name="case-variant-keys",
        description="Case-variant duplicates with a tie on updatedAt, in two input orders, "
        "migrated under crashes: the newest must win, the same way for both orders.",
        catches=("input-order tie-break",),
        build=_case_variants,
        faults=("crash",),
        layouts=("auto",),
        variants=(
            Variant("forward", {"order": "forward"}),
            Variant("reverse", {"order": "reverse"}),
        ),
        same_result_groups=(("forward", "reverse"),),
    ),
    Scenario(
        name="corrupt-entry",
        description="A corrupt entry file (0-byte, truncated, garbage, non-object, non-UTF-8)"
        " or sessions.json: a full save must not destroy it.",
        catches=("corrupt files deleted by a full save",),
        build=_corrupt_entry,
        faults=("crash",),
        layouts=("directory", "legacy"),
        variants=tuple(Variant(k, {"kind": k}, ("directory",)) for k in _CORRUPT)
        + tuple(
            Variant(f"legacy-{k}", {"kind": k, "where": "legacy"}, ("legacy",)) for k in _CORRUPT
        ),
        check=_corrupt_kept,
    ),
    Scenario(
        name="stale-staging",
        description="A stale sessions.d.migrating/ (stale values, a torn temp file) from an "
        "earlier crash: the next migration must ignore and remove it.",
        catches=("stale staging reused",),
        build=_stale_staging,
        faults=("crash",),
        layouts=("auto",),
        check=_no_staging_left,
    ),
    Scenario(
        name="keys.hostile",
        description="Keys with %, :, /, \\, . and .., leading and trailing dots and spaces, "
        "NUL and control characters, NFC and NFD forms, Windows reserved names, names over "
        "255 bytes and a case-insensitive collision pair, written by a migration or a save "
        "and an update, under crashes: every one must be stored and load back unchanged "
        "(explore --fs-semantics macos/windows for those file systems' name rules).",
        catches=(
            "keys lost, merged or refused because of their file names",
            "encoded names over 255 bytes",
            "names that collide on case-insensitive file systems or are reserved there",
        ),
        build=_hostile_keys,
        faults=("crash",),
        layouts=("directory", "auto"),
        # Every key together, every crash point; then one family per variant, so that
        # each way a name breaks gets its own violation and replay file (a seed refusing
        # the first bad name would hide the others): those are about the names, not the
        # crashes, so their crash points are a seeded sample.
        variants=(
            Variant("save", {"via": "save"}, ("directory",)),
            Variant("migration", {"via": "migration"}, ("auto",)),
            *(
                Variant(f"save-{f}", {"via": "save", "family": f}, ("directory",), max_points=3)
                for f in _NAME_FAMILIES
            ),
            Variant(
                "migration-nul", {"via": "migration", "family": "nul"}, ("auto",), max_points=3
            ),
        ),
        check=_every_key_filed,
    ),
    Scenario(
        name="io-error",
        description="EIO at every read, write, rename and unlink of the update workload.",
        catches=("errors swallowed or half-applied",),
        build=_update_legacy_or_dir,
        faults=("error:EIO",),
    ),
    Scenario(
        name="power-loss.update",
        description="Power loss after each call of the update workload: unsynced data and "
        "names dropped or torn.",
        catches=("no fsync",),
        build=lambda p, prof: Workload(_update(p, prof).setup, _update(p, prof).steps[:-1]),
        faults=("power-loss",),
    ),
    Scenario(
        name="power-loss.save",
        description="Power loss after a full save.",
        catches=("no fsync",),
        build=lambda p, prof: Workload(_update(p, prof).setup, _update(p, prof).steps[-1:]),
        faults=("power-loss",),
    ),
    Scenario(
        name="power-loss.migration",
        description="Power loss after a migration: the legacy file must not be gone while "
        "the entry files are empty.",
        catches=("no fsync",),
        build=_migration,
        faults=("power-loss",),
        layouts=("auto",),
        variants=(
            Variant("fresh-6", {"count": 6, "merge": False}),
            Variant("merge-6", {"count": 6, "merge": True}),
        ),
    ),
    Scenario(
        name="disk-shapes",
        description="Each path the store owns (store file, sessions.d, staging folder, lock, "
        "journal, temp and backup names) in each shape: missing, empty, a file for a folder, "
        "a folder for a file, links inside, outside and dangling, a FIFO, mode 000, a "
        "read-only folder, another case; planted before the workload and before recovery, "
        "under crashes. A store may refuse a shape (with its own error, not a bare OSError), "
        "never hang on it, lose entries, write out of its folder or delete what it holds "
        "(docs/foreign-files.md, 'The store's own paths').",
        catches=(
            "bare OSErrors from start-up on a shape of the store's own paths",
            "reads that block for good on a FIFO",
            "writes and deletes through a link out of the store's folder",
        ),
        build=disk_shapes.build,
        faults=("crash",),
        layouts=("legacy", "directory", "auto"),
        variants=disk_shapes.variants(),
        explain_errors=True,
    ),
)
