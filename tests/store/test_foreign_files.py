"""Corrupt and foreign things in the directory layout's folder, on real temp folders.

The outcome of every call beside every kind of foreign object is written once, as the
tables of ``docs/foreign-files.md``; this module reads those tables and checks each cell.
Beyond the table, the hardened profile must hold these for every cell (checked here):
nothing outside the store's folder is read, written or deleted (a symlink is never
followed), nothing the store did not write is deleted (it may only be moved aside),
and no entry is lost. The seed rows pin the upstream hazards, so a change in either
direction shows up as a failing cell.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import PROFILE_NAMES, entry

import reference_store._directory as directory_module
from reference_store import (
    HARDENED,
    PROFILES,
    DirectoryStore,
    FileSystem,
    FileSystemWrapper,
    OsFileSystem,
    Profile,
    Runtime,
    SessionCache,
    directory_path,
    keyed_file_name,
    migrate,
    open_store,
    sanitize_key,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "foreign-files.md"

KEY_A = "agent:main:a"
KEY_B = "agent:main:b"
KEY_C = "agent:main:c"
KEY_X = "x"
#: The file of key ``x`` in both profiles, where every foreign object is planted.
NAME_X = "x.json"
assert sanitize_key(KEY_X) + ".json" == keyed_file_name(KEY_X) == NAME_X

A1, A2 = entry("a1", 1), entry("a2", 2)
B1, C1 = entry("b1", 1), entry("c1", 1)
X2, X_LEGACY, X_UNREADABLE = entry("x2", 2), entry("x-legacy", 3), entry("x0", 7)
OUTSIDE_ENTRY = entry("outside", 5)

CASES = (
    "own-tmp",
    "foreign-tmp",
    "symlink-file",
    "symlink-dir",
    "subfolder",
    "array",
    "string",
    "number",
    "eacces",
)
OPS = ("load", "save", "save x", "update", "update_entry x", "read_updated_at x", "migrate")
#: Every code a cell may hold (docs/foreign-files.md explains each).
FATES = ("kept", "aside", "removed", "replaced")
EFFECTS = ("reported", "followed", "hidden", "fails", "lost")
SYMLINK_CASES = ("symlink-file", "symlink-dir")

Fingerprint = tuple[Any, ...]


# --- the table --------------------------------------------------------------------------------
def documented() -> dict[tuple[str, str, str], frozenset[str]]:
    """(profile, case, op) -> codes, from the tables under ``## seed`` / ``## hardened``."""
    cells: dict[tuple[str, str, str], frozenset[str]] = {}
    profile: str | None = None
    columns: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            profile, columns = None, []  # another section's tables are not these
        heading = re.fullmatch(r"## Profile `(\w+)`", line.strip())
        if heading:
            profile, columns = heading.group(1), []
            continue
        if profile is None or not line.startswith("|"):
            continue
        row = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if row[0] == "case":
            columns = row[1:]
            continue
        if set(row[0]) <= set("-: ") or not columns:
            continue
        for op, text in zip(columns, row[1:], strict=True):
            cells[(profile, row[0], op)] = frozenset(c.strip() for c in text.split(","))
    return cells


DOCUMENTED = documented()


def test_the_table_covers_every_case_and_call_with_known_codes() -> None:
    expected = {(p, c, o) for p in PROFILE_NAMES for c in CASES for o in OPS}
    assert set(DOCUMENTED) == expected
    for cell, codes in DOCUMENTED.items():
        assert len(codes & set(FATES)) == 1, f"{cell}: exactly one fate in {sorted(codes)}"
        assert codes <= set(FATES) | set(EFFECTS), f"{cell}: unknown code in {sorted(codes)}"


# --- planting foreign objects ---------------------------------------------------------------
class ReadLog(FileSystemWrapper):
    """Records every path ``read_file`` is asked for, before the read (a read through a
    symlink to a folder fails, yet it opened what the link points at)."""

    def __init__(self, inner: FileSystem) -> None:
        super().__init__(inner)
        self.asked: list[str] = []

    def read_file(self, path: str) -> bytes:
        self.asked.append(path)
        return super().read_file(path)


class DenyRead(FileSystemWrapper):
    """``read_file`` of the denied paths fails with EACCES, as for a mode-000 file read by
    anyone but root; every other call (stat, rename, unlink) works, as the kernel's do."""

    def __init__(self, inner: FileSystem, denied: set[str]) -> None:
        super().__init__(inner)
        self.denied = denied

    def read_file(self, path: str) -> bytes:
        if path in self.denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return super().read_file(path)


@dataclass
class Sandbox:
    """``<root>/store/`` holds the store, ``<root>/outside/`` what symlinks point at."""

    root: Path
    profile: Profile
    case: str
    real_chmod: bool = False
    denied: set[str] = field(default_factory=set)

    @property
    def store_path(self) -> str:
        return str(self.root / "store" / "sessions.json")

    @property
    def folder(self) -> str:
        return directory_path(self.store_path, self.profile)

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def foreign(self) -> str:
        """Where the foreign object sits."""
        names = {"own-tmp": NAME_X + ".0123abcd.tmp", "foreign-tmp": "notes.tmp"}
        return os.path.join(self.folder, names.get(self.case, NAME_X))

    def seam(self) -> ReadLog:
        inner: FileSystem = OsFileSystem()
        if self.denied:
            inner = DenyRead(inner, self.denied)
        return ReadLog(inner)


def _write(path: str | Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)


def plant(root: Path, profile: str | Profile, case: str, *, real_chmod: bool = False) -> Sandbox:
    """A store holding ``A1`` in its folder, and the foreign object of ``case`` beside it."""
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    box = Sandbox(root, chosen, case, real_chmod)
    (root / "store").mkdir(parents=True)
    box.outside.mkdir()
    writer = open_store(box.store_path, "directory", box.profile, cache=SessionCache())
    writer.save({KEY_A: A1})
    writer.close()
    foreign = box.foreign
    if case == "own-tmp":
        Path(foreign).write_bytes(b'{"sessionId": "torn')
    elif case == "foreign-tmp":
        _write(foreign, entry("notes", 1))  # parses: a promotion would move it
    elif case == "symlink-file":
        _write(box.outside / "target.json", OUTSIDE_ENTRY)
        os.symlink(box.outside / "target.json", foreign)
    elif case == "symlink-dir":
        (box.outside / "folder").mkdir()
        _write(box.outside / "folder" / "inner.json", OUTSIDE_ENTRY)
        os.symlink(box.outside / "folder", foreign, target_is_directory=True)
    elif case == "subfolder":
        os.mkdir(foreign)
        _write(os.path.join(foreign, "inner.json"), OUTSIDE_ENTRY)
    elif case in ("array", "string", "number"):
        _write(foreign, {"array": [1, 2], "string": "text", "number": 42}[case])
    elif case == "eacces":
        _write(foreign, X_UNREADABLE)
        if real_chmod:
            os.chmod(foreign, 0)
        else:
            box.denied.add(foreign)
    else:
        raise AssertionError(f"unknown case {case}")
    return box


# --- fingerprints -----------------------------------------------------------------------------
def fingerprint(path: str) -> Fingerprint | None:
    """What a path is and holds, without following a symlink; ``None`` when absent."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("folder", tuple((n, fingerprint(os.path.join(path, n))) for n in os.listdir(path)))
    mode = os.stat(path).st_mode
    os.chmod(path, mode | stat.S_IRUSR)  # a mode-000 file of the real-chmod variant
    try:
        return ("file", Path(path).read_bytes())
    finally:
        os.chmod(path, mode)


def outside_state(box: Sandbox) -> dict[str, tuple[Any, ...]]:
    """Every path under ``outside/`` (and the folder itself): kind, bytes, mode, mtime."""
    state: dict[str, tuple[Any, ...]] = {}
    for path in [box.outside, *box.outside.rglob("*")]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        state[str(path.relative_to(box.root))] = (content, info.st_mode, info.st_mtime_ns)
    return state


# --- running one cell ---------------------------------------------------------------------------
def initial(case: str) -> dict[str, Any]:
    """The store's entries before the call: only the unreadable file holds one of them."""
    return {KEY_A: A1, KEY_X: X_UNREADABLE} if case == "eacces" else {KEY_A: A1}


def model(case: str, op: str) -> dict[str, Any]:
    """The store's entries after the call returned ok (docs/spec.md; a merge keeps what the
    folder already holds)."""
    before = initial(case)
    if op == "save":
        return {KEY_A: A2}
    if op == "save x":
        return {KEY_A: A2, KEY_X: X2}
    if op == "update":
        return {**before, KEY_B: B1}
    if op == "migrate":
        return {KEY_X: X_LEGACY, **before, KEY_C: C1}
    return before


def _add_b(data: dict[str, Any]) -> None:
    data[KEY_B] = B1


CALLS: dict[str, Callable[[Any], Any]] = {
    "load": lambda s: s.load(skip_cache=True),
    "save": lambda s: s.save({KEY_A: A2}),
    "save x": lambda s: s.save({KEY_A: A2, KEY_X: X2}),
    "update": lambda s: s.update(_add_b),
    "update_entry x": lambda s: s.update_entry(KEY_X, lambda _e: {"patched": True}),
    "read_updated_at x": lambda s: s.read_updated_at(KEY_X),
}


@dataclass(frozen=True)
class Observed:
    codes: frozenset[str]
    result: Any
    error: OSError | None
    files_read: tuple[str, ...]


def run_cell(box: Sandbox, op: str) -> Observed:
    """Run one call beside the foreign object; what happened, as the table's codes."""
    before = fingerprint(box.foreign)
    seam = box.seam()
    result: Any = None
    error: OSError | None = None
    problems: list[str] = []
    profile = box.profile
    if op == "migrate":
        _write(box.store_path, {KEY_X: X_LEGACY, KEY_C: C1})
        try:
            result = migrate(box.store_path, profile, seam)
        except OSError as exc:
            error = exc
    else:
        store = open_store(box.store_path, "directory", profile, seam, cache=SessionCache())
        try:
            result = CALLS[op](store)
        except OSError as exc:
            error = exc
        problems = [p.path for p in store.problems]
        store.close()
    if box.real_chmod and os.path.lexists(box.foreign):
        os.chmod(box.foreign, 0o600)  # so the checks below can read it (and tmp_path clean up)
    codes = {_fate(box, before)}
    if box.foreign in problems:
        codes.add("reported")
    if box.case in SYMLINK_CASES and box.foreign in seam.asked:
        codes.add("followed")
    if box.case == "eacces" and error is None and _missed_x(op, result):
        codes.add("hidden")
    if error is not None:
        codes.add("fails")
    if _entries_lost(box, op, failed=error is not None):
        codes.add("lost")
    return Observed(frozenset(codes), result, error, tuple(seam.asked))


def _fate(box: Sandbox, before: Fingerprint | None) -> str:
    now = fingerprint(box.foreign)
    if now == before:
        return "kept"
    aside = [
        os.path.join(box.folder, n)
        for n in os.listdir(box.folder)
        if n.startswith(os.path.basename(box.foreign) + ".corrupt.")
    ]
    if any(fingerprint(p) == before for p in aside):
        return "aside"
    return "removed" if now is None else "replaced"


def _missed_x(op: str, result: Any) -> bool:
    """Whether a read of key x came back as if x did not exist (its file holds an entry)."""
    if op == "load":
        return KEY_X not in result
    return op in ("read_updated_at x", "update_entry x") and result is None


def _entries_lost(box: Sandbox, op: str, *, failed: bool) -> bool:
    """Whether the store's entries differ from the call's model: an ok call must show
    exactly its effect; a failed one may show each key before or after it."""
    checker = DirectoryStore(
        box.store_path,
        profile=HARDENED,  # never follows a link, never deletes: a read-only look
        fs=OsFileSystem(),
        runtime=Runtime(),
        cache=SessionCache(),
    )
    found = checker.load(skip_cache=True)
    before, after = initial(box.case), model(box.case, op)
    for key in sorted(set(after) | (set(before) if failed else set())):
        allowed = [after.get(key)] + ([before.get(key)] if failed else [])
        if found.get(key) not in allowed:
            return True
    return False


# --- the cells ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_documented_outcome(tmp_path: Path, profile: str, case: str, op: str) -> None:
    box = plant(tmp_path, profile, case)
    outside = outside_state(box)

    observed = run_cell(box, op)

    assert observed.codes == DOCUMENTED[(profile, case, op)], (
        f"{profile} / {case} / {op}: observed {sorted(observed.codes)}, documented "
        f"{sorted(DOCUMENTED[(profile, case, op)])} (error: {observed.error!r})"
    )
    # Neither profile ever writes through a symlink or touches what it points at.
    assert outside_state(box) == outside
    if profile == "hardened":
        assert_hardened_safe(box, observed)


def assert_hardened_safe(box: Sandbox, observed: Observed) -> None:
    """What hardened promises beside any foreign object, whatever the table says."""
    assert not any(p.startswith(str(box.outside)) for p in observed.files_read)
    assert "followed" not in observed.codes, "read through a symlink"
    assert "lost" not in observed.codes, "an entry was lost"
    assert "hidden" not in observed.codes, "an unreadable entry was treated as absent"
    if box.case != "own-tmp":  # a crashed writer's temp file is the store's own to remove
        assert observed.codes & {"kept", "aside"}, "something the store did not write is gone"


class NoFifoRead(FileSystemWrapper):
    """Fails a read of a FIFO at once: opening one with no writer blocks for good, and a
    store that tried would hang the test instead of failing it."""

    def read_file(self, path: str) -> bytes:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            raise AssertionError(f"the store opened the FIFO {path}")
        return super().read_file(path)


def test_foreign_objects_are_reported_on_load(tmp_path: Path) -> None:
    """One folder holding every foreign object at once: hardened names each of them."""
    box = plant(tmp_path, "hardened", "array")
    folder = box.folder
    os.symlink(tmp_path / "outside", os.path.join(folder, "link-dir.json"))
    os.mkdir(os.path.join(folder, "sub.json"))
    _write(os.path.join(folder, "text.json"), "text")
    os.mkfifo(os.path.join(folder, "pipe.json"))
    seam = NoFifoRead(OsFileSystem())

    store = open_store(box.store_path, "directory", "hardened", seam, cache=SessionCache())
    assert store.load(skip_cache=True) == {KEY_A: A1}

    reasons = {os.path.basename(p.path): p.reason for p in store.problems}
    assert set(reasons) == {"link-dir.json", "sub.json", "text.json", "pipe.json", NAME_X}
    assert "symbolic link" in reasons["link-dir.json"]
    assert "folder" in reasons["sub.json"]
    assert "FIFO" in reasons["pipe.json"]
    assert "top level is list" in reasons[NAME_X]


# --- mode 000 for real ----------------------------------------------------------------------------
@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads mode-000 files (CAP_DAC_OVERRIDE), so there is no EACCES to see; "
    "the 'eacces' rows simulate it through a seam wrapper instead",
)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_a_real_mode_000_file_behaves_like_the_eacces_row(
    tmp_path: Path, profile: str, op: str
) -> None:
    box = plant(tmp_path, profile, "eacces", real_chmod=True)
    observed = run_cell(box, op)
    assert observed.codes == DOCUMENTED[(profile, "eacces", op)]


# --- every hardened check fails on a store with the hazard ------------------------------------
NO_QUARANTINE = HARDENED.with_changes(name="hardened-without-quarantine", quarantine_corrupt=False)


@pytest.mark.parametrize(
    ("case", "op", "broken"),
    [
        ("symlink-file", "load", "followed"),
        ("symlink-file", "read_updated_at x", "followed"),
        ("symlink-dir", "update_entry x", "followed"),
        ("array", "save x", "replaced"),
        ("subfolder", "migrate", "lost"),
        ("number", "migrate", "lost"),
        ("eacces", "load", "hidden"),
    ],
)
def test_the_hardened_checks_catch_a_store_without_the_fix(
    tmp_path: Path, case: str, op: str, broken: str
) -> None:
    """Hardened with ``quarantine_corrupt`` off reads through links, overwrites or skips
    what it cannot read: the same cell then shows the hazard and fails the checks."""
    box = plant(tmp_path, NO_QUARANTINE, case)
    observed = run_cell(box, op)
    assert broken in observed.codes
    assert observed.codes != DOCUMENTED[("hardened", case, op)]
    with pytest.raises(AssertionError):
        assert_hardened_safe(box, observed)


@pytest.fixture
def temp_names_unfiltered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The start-up cleanup as it was: every ``*.tmp`` counted as the store's own."""
    monkeypatch.setattr(directory_module, "_is_own_temp_name", lambda n: n.endswith(".tmp"))
    yield


@pytest.mark.usefixtures("temp_names_unfiltered")
def test_the_foreign_tmp_check_catches_a_cleanup_that_takes_every_tmp(tmp_path: Path) -> None:
    box = plant(tmp_path, "hardened", "foreign-tmp")
    observed = run_cell(box, "load")
    assert "kept" not in observed.codes  # promoted to "notes" or removed at start-up
    with pytest.raises(AssertionError):
        assert_hardened_safe(box, observed)
