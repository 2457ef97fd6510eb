"""One cell of the disk-shapes matrix (``scenarios/_disk_shapes.py``), observed.

A cell is a row (a path the store owns, a shape) in one layout and profile: the store
is set up as every cell's is (two entries), the shape planted, and then, as a gateway
would: start-up (the migration for ``auto``, then ``open_store``), a load, a write (an
``update`` and an ``update_entry``), another load. :func:`observe` says what happened
in the codes docs/foreign-files.md explains, e.g. ``refused@open; kept`` or ``ok; aside,
reported``.

Imported by ``tests/store/test_disk_shapes.py`` and run as a script by it (``python
shape_cells.py CELLS_JSON``) as a user who is not root, so the mode rows meet a real
kernel's permission checks; everywhere else :class:`harness.faults._planting.UserPermissions`
emulates them, so root and other users see the same cells.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.engine._workload import LATER_MS
from harness.faultfs import FaultFileSystem, SimulatedHang
from harness.faults._foreignfs import NameRules, foreign_fs, semantics, spelling_layer
from harness.faults._planting import (
    Planting,
    find_bytes,
    outside_changes,
    outside_of,
    shaped_seam,
)
from reference_store import (
    LockTimeoutError,
    SessionCache,
    StoreError,
    StorePathError,
    deterministic_runtime,
    migrate,
    open_store,
)
from reference_store.fs import FileSystem, OsFileSystem
from scenarios._disk_shapes import entries, has_data, planting

STORE_NAME = "sessions.json"
_HERE = os.path.dirname(os.path.abspath(__file__))
SEEN_AT = ("read", "listdir", "open_write", "create_excl", "try_lock", "fsync_dir")
NEW_ENTRY = {"sessionId": "c1", "updatedAt": 2_000}
# update_entry stamps updatedAt = max(old, patch, now): a patch of LATER_MS or more keeps its
# own value, so what a cell expects stays exact.
PATCH = {"lastTo": "patched", "updatedAt": LATER_MS + 2_001}


@dataclass
class Observed:
    """What one cell did; ``text`` is its table code."""

    text: str
    error: BaseException | None = None
    failed_at: str | None = None
    problems: list[str] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)


def _fingerprint(path: str) -> tuple[Any, ...] | None:
    """(kind, shut: the owner may neither read nor write it, content) of a path, without
    following a link. Only that one bit of the mode: pyfakefs changes the other bits of
    a file renamed away from a name that is then replaced."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    mode = info.st_mode
    shut = stat.S_IMODE(mode) & 0o600 == 0
    if stat.S_ISLNK(mode):
        return ("link", False, os.readlink(path))
    if stat.S_ISDIR(mode):
        try:
            listing: tuple[str, ...] = tuple(sorted(os.listdir(path)))
        except PermissionError:
            listing = ("<unreadable>",)
        return ("folder", shut, listing)
    if stat.S_ISFIFO(mode):
        return ("fifo", shut)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except PermissionError:
        content = b"<unreadable>"
    return ("file", shut, content)


def _setup(store_dir: str, layout: str, profile: str, data: dict[str, Any] | None) -> None:
    store_path = os.path.join(store_dir, STORE_NAME)
    if data is None:
        return
    if layout in ("directory", "sqlite"):
        writer = open_store(store_path, layout, profile, cache=SessionCache())
        writer.save(data)
        writer.close()
    else:
        with open(store_path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)


def _seam(
    root: str, store_dir: str, plant: Planting, layout: str, planted: Callable[[str], None]
) -> FaultFileSystem | None:
    if layout == "sqlite":
        return None  # SQLite does its own I/O: the real seam only
    below = shaped_seam(OsFileSystem(), store_dir, [plant], planted=planted)
    if plant.shape == "case":
        below = NameRules(below, root, semantics("macos"))
    return FaultFileSystem(below, root, fifos_block=True)


def _outer(faults: FaultFileSystem | None, root: str, plant: Planting) -> FileSystem | None:
    if faults is None:
        return None
    if plant.shape == "case":
        return spelling_layer("macos", faults, root, probe=OsFileSystem())
    return faults


def _model(initial: dict[str, Any], wrote: int) -> dict[str, Any]:
    """The entries after the first ``wrote`` of the two writes returned."""
    after = dict(initial)
    if wrote >= 1:
        after["agent:main:c"] = NEW_ENTRY
    if wrote >= 2 and "agent:main:a" in after:
        after["agent:main:a"] = {**after["agent:main:a"], **PATCH}
    return after


def _describe(stage: str, exc: BaseException) -> str:
    """``<what>@<stage>``: ``refused`` (a StorePathError), ``timeout`` (a
    LockTimeoutError), ``hangs``, an errno name (a bare OSError), or the class."""
    if isinstance(exc, SimulatedHang):
        what = "hangs"
    elif isinstance(exc, StorePathError):
        what = "refused"
    elif isinstance(exc, LockTimeoutError):
        what = "timeout"
    elif isinstance(exc, OSError) and not isinstance(exc, StoreError):
        what = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    else:
        what = type(exc).__name__
    return f"{what}@{stage}"


def _run(
    store_path: str, layout: str, profile: str, seam: FileSystem | None, observed: Observed
) -> tuple[dict[str, Any] | None, int]:
    """Start-up, load, two writes, load; (the last load, how many writes returned)."""
    runtime = deterministic_runtime(1_700_000_000_000, token_prefix="c")
    store: Any = None
    loaded: dict[str, Any] | None = None
    wrote = 0

    def start() -> None:
        nonlocal store
        if layout == "auto":
            migrate(store_path, profile, seam, runtime=runtime)
        store = open_store(store_path, layout, profile, seam, runtime=runtime, cache=SessionCache())

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("open", start),
        ("load", lambda: store.load(skip_cache=True)),
        ("write", lambda: store.update(lambda m: m.__setitem__("agent:main:c", dict(NEW_ENTRY)))),
        ("write", lambda: store.update_entry("agent:main:a", lambda _e: dict(PATCH))),
        ("load", lambda: store.load(skip_cache=True)),
    ]
    try:
        for stage, action in stages:
            try:
                result = action()
            except (Exception, SimulatedHang) as exc:
                observed.error, observed.failed_at = exc, stage
                observed.text = _describe(stage, exc)
                break
            if stage == "load":
                loaded = result
            elif stage == "write":
                wrote += 1
    finally:
        if store is not None:
            observed.problems = [p.path for p in getattr(store, "problems", [])]
            if not isinstance(observed.error, SimulatedHang):
                store.close()
    return loaded, wrote


def _fate(plant: Planting, path: str, before: tuple[Any, ...] | None) -> str:
    """kept, aside (``<name>.corrupt.<ms>``), moved (any other name of the store's),
    removed, replaced (the store's own object now has the name)."""
    now = _fingerprint(path)
    if before is None:
        return ""
    if _same(now, before, content=not plant.carry):
        return "kept"
    folder, name = os.path.split(path)
    for sibling in sorted(os.listdir(folder)):
        if not sibling.startswith(name + "."):
            continue  # the store names what it moves after what it was
        if _same(_fingerprint(os.path.join(folder, sibling)), before, content=not plant.carry):
            return "aside" if sibling.startswith(name + ".corrupt.") else "moved"
    return "removed" if now is None else "replaced"


def _same(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None, *, content: bool) -> bool:
    """The same object: kind and mode, and for what the store does not own its content
    (the listing of a folder)."""
    if a is None or b is None or a[:2] != b[:2]:
        return False
    return not content or a == b


def _followed(plant: Planting, path: str, faults: FaultFileSystem | None, root: str) -> bool:
    """Read or written through a link out of the store's folder (while the name was still
    the link: after it is renamed or replaced, the name is something else)."""
    if faults is None or plant.shape not in ("link-outside", "link-dangling"):
        return False
    rel = os.path.relpath(path, root)
    for op in faults.trace:
        if op.name in ("replace", "unlink", "rmdir", "mkdir") and rel in (op.path, op.path2):
            return False
        if op.name in SEEN_AT and (op.path == rel or op.path.startswith(rel + "/")):
            return True
    return False


def _check_entries(store_path: str, layout: str, profile: str, seam: FileSystem | None) -> Any:
    """What the store holds once the shape is undone, as a fresh start-up sees it."""
    runtime = deterministic_runtime(1_700_000_900_000, token_prefix="k")
    if layout == "auto":
        migrate(store_path, profile, seam, runtime=runtime)
    checker = open_store(store_path, layout, profile, seam, runtime=runtime, cache=SessionCache())
    try:
        return checker.load(skip_cache=True)
    finally:
        checker.close()


#: the code of a cell whose path cannot exist in its layout (its folder is never made)
NO_FOLDER = "n/a"


def observe(root: str, path_id: str, shape: str, profile: str, layout: str) -> Observed:
    """Plant one row in ``<root>/store`` and run the cell (module docstring)."""
    store_dir = os.path.join(root, "store")
    os.makedirs(store_dir, exist_ok=True)
    store_path = os.path.join(store_dir, STORE_NAME)
    initial = entries() if has_data(path_id, shape, layout) else {}
    _setup(store_dir, layout, profile, initial or None)
    plant = planting(path_id, shape, profile, layout)
    if not os.path.isdir(os.path.dirname(os.path.join(store_dir, plant.path))):
        return Observed(NO_FOLDER)
    plant.plant(store_dir)
    before = {p: _fingerprint(p) for p in plant.planted_paths(store_dir)}

    def planted_now(path: str) -> None:
        where = plant.placed_at(path)
        before[where] = _fingerprint(where)

    faults = _seam(root, store_dir, plant, layout, planted_now)
    observed = Observed("ok")
    loaded, wrote = _run(store_path, layout, profile, _outer(faults, root, plant), observed)

    planted = list(before)
    observed.planted = planted
    codes: list[str] = []
    if shape not in ("missing", "read-only-parent"):
        fates = [_fate(plant, p, before.get(p)) for p in planted]
        codes.append(",".join(sorted({f for f in fates if f})) or "unused")
    if any(p in observed.problems for p in planted):
        codes.append("reported")
    if any(_followed(plant, p, faults, root) for p in planted):
        codes.append("followed")
    if outside_changes(store_dir):
        codes.append("escaped")
    if loaded is not None and loaded != _model(initial, wrote):
        codes.append("misread")
    plant.undo(store_dir)
    checker_seam = foreign_fs("macos", root) if faults is not None and shape == "case" else None
    after = _check_entries(store_path, layout, profile, checker_seam)
    if any(after.get(k) != v for k, v in _model(initial, wrote).items()):
        codes.append("lost")
    if set(after) - set(_model(initial, wrote)):
        codes.append("phantom")
    if plant.keeps and plant.was_planted(store_dir) and not find_bytes(root, plant.payload):
        codes.append("deleted")
    observed.text = "; ".join([observed.text, ", ".join(codes)]) if codes else observed.text
    return observed


#: seconds a contained cell may take: every cell takes milliseconds, but SQLite opening
#: a FIFO waits for good in its own code, where no seam can stop it
CONTAINED_TIMEOUT_S = 20.0


def observe_contained(root: str, path_id: str, shape: str, profile: str, layout: str) -> str:
    """:func:`observe` in a child process, stopped if it never returns (a subprocess, not
    a fork of this one: nothing of ``multiprocessing`` is left behind to be finalized
    later, under some other test's pyfakefs)."""
    os.makedirs(root, exist_ok=True)
    try:
        child = subprocess.run(
            [sys.executable, __file__, root, json.dumps([[path_id, shape, profile, layout]])],
            capture_output=True,
            text=True,
            timeout=CONTAINED_TIMEOUT_S,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([_HERE, *sys.path])},
        )
    except subprocess.TimeoutExpired:
        return "hangs@load"
    (text,) = json.loads(child.stdout)
    return str(text)


def outside_root(root: str) -> str:
    return outside_of(os.path.join(root, "store"))


__all__ = ["NO_FOLDER", "Observed", "observe", "observe_contained", "outside_root"]


def _child(argv: list[str]) -> None:
    """``shape_cells.py ROOT CELLS_JSON``: observe each ``[path, shape, profile, layout]``
    in its own folder under ROOT (which this user owns) and print the codes as JSON."""
    root, cells = argv[0], json.loads(argv[1])
    out = []
    for index, (path_id, shape, profile, layout) in enumerate(cells):
        cell_root = os.path.join(root, f"cell-{index}")
        os.mkdir(cell_root)
        try:
            out.append(observe(cell_root, path_id, shape, profile, layout).text)
        except Exception as exc:  # reported as the cell's code: the test shows it
            out.append(f"harness error: {type(exc).__name__}: {exc}")
    print(json.dumps(out))


if __name__ == "__main__":
    _child(sys.argv[1:])
