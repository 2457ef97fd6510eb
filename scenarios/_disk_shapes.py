"""Every path a session store owns, in every shape it can be found in: the one matrix.

The ``disk-shapes`` scenario (``scenarios._catalog``) plants each row before the workload
and again before recovery, and judges any store by the explorer's promises (the shape is
refused or survived, nothing lost, nothing written out of the folder, no bare
``OSError``); ``tests/store/test_disk_shapes.py`` runs each row on every layout, profile
and backend and checks the reference store's outcome against :data:`OUTCOMES`, which
docs/foreign-files.md shows as a table rendered by :func:`render_table` (a test compares
the two; ``python -m scenarios._disk_shapes --write`` rewrites the page's block).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engine._scenario import Setup, Variant, Workload
from harness.engine._workload import LATER_MS, Load, Migrate, Step, Update, UpdateEntry
from harness.faults._planting import FILE_SHAPES, FOLDER_SHAPES, Planting
from reference_store._codec import KEYED_FORMAT
from reference_store._directory import JOURNAL_FORMAT
from scenarios._disk_shape_outcomes import OUTCOMES

__all__ = [
    "BEGIN",
    "DOC",
    "END",
    "HAZARDS",
    "LAYOUTS",
    "OUTCOMES",
    "PATHS",
    "PATH_BY_ID",
    "PLANTED_KEY",
    "PROFILES",
    "ROWS",
    "OwnedPath",
    "build",
    "documented_block",
    "entries",
    "has_data",
    "is_hazard",
    "main",
    "outcome",
    "planting",
    "render_table",
    "variants",
]

PROFILES = ("seed", "hardened")
LAYOUTS = ("legacy", "directory", "auto", "sqlite")
#: the key whose entry a planted object holds: a store that reads it shows it
PLANTED_KEY = "planted"


@dataclass(frozen=True)
class OwnedPath:
    """One path the store owns, relative to its folder (the store file is
    ``sessions.json``)."""

    id: str
    #: seed's and hardened's name for it (``*``: the store picks the rest, from its clock)
    names: tuple[str, str]
    folder: bool
    #: layouts that read or write it (the scenario runs these; the tests run every one)
    layouts: tuple[str, ...]
    #: layouts whose entries live at it: a shape there moves or destroys them
    data_in: tuple[str, ...] = ()
    what: str = ""

    def name(self, profile: str) -> str:
        return self.names[PROFILES.index(profile)] if profile in PROFILES else self.names[1]

    @property
    def shapes(self) -> tuple[str, ...]:
        shapes = FOLDER_SHAPES if self.folder else FILE_SHAPES
        if "*" in self.names[0]:
            # A twin in another case of a name the store has not chosen yet is no shape
            # anyone can leave there.
            shapes = tuple(s for s in shapes if s != "case")
        return shapes


PATHS: tuple[OwnedPath, ...] = (
    OwnedPath(
        "store-file",
        ("sessions.json", "sessions.json"),
        False,
        ("legacy", "auto"),
        ("legacy", "auto"),
        "the legacy store file (and the migration's source)",
    ),
    OwnedPath(
        "entries-folder",
        ("sessions.d", "sessions.d"),
        True,
        ("directory", "auto"),
        ("directory",),
        "the directory layout's folder (hardened: named after the store file)",
    ),
    OwnedPath(
        "staging",
        ("sessions.d.migrating", "sessions.d.migrating"),
        True,
        ("auto",),
        what="the migration's staging folder",
    ),
    OwnedPath(
        "lock",
        ("sessions.json.lock", "sessions.json.flock"),
        False,
        ("legacy", "directory", "auto"),
        what="the lock file (seed: created per call; hardened: an flock file kept for good)",
    ),
    OwnedPath(
        "journal",
        ("sessions.d/.journal", "sessions.d/.journal"),
        False,
        ("directory",),
        what="the intent journal (hardened; the seed has none and never reads it)",
    ),
    OwnedPath(
        "temp",
        ("sessions.json.0123abcd.tmp", "sessions.json.0123abcd.tmp"),
        False,
        ("legacy", "directory", "auto"),
        what="a temp file named the way a crashed write of the store file leaves one",
    ),
    OwnedPath(
        "entry-temp",
        ("sessions.d/planted.json.0123abcd.tmp", "sessions.d/planted.json.0123abcd.tmp"),
        False,
        ("directory",),
        what="a temp file named the way a crashed write of an entry file leaves one",
    ),
    OwnedPath(
        "backup",
        ("sessions.json.bak.*", "sessions.json.migrated.*"),
        False,
        ("auto",),
        what="the migration's backup, at the very name the migration picks",
    ),
    OwnedPath(
        "database",
        ("sessions.sqlite", "sessions.sqlite"),
        False,
        ("sqlite",),
        ("sqlite",),
        "the SQLite layout's database",
    ),
)
PATH_BY_ID = {p.id: p for p in PATHS}
#: (path id, shape): every row of the matrix
ROWS: tuple[tuple[str, str], ...] = tuple((p.id, s) for p in PATHS for s in p.shapes)
#: shapes that leave nothing of what was at the path (its entries start out absent)
DESTROYS = ("missing", "empty", "file", "folder", "link-dangling", "fifo", "case")


def entries() -> dict[str, Any]:
    """What every cell's store holds before the shape is planted."""
    return {
        "agent:main:a": {"sessionId": "a1", "updatedAt": 1_000},
        "agent:main:b": {"sessionId": "b1", "updatedAt": 1_001},
    }


def _planted_entry(path: str, shape: str) -> dict[str, Any]:
    return {"sessionId": f"planted-{path}-{shape}", "updatedAt": 7}


def _payload(owned: OwnedPath, shape: str, profile: str) -> bytes:
    """Foreign data of the path's kind: a store that reads it shows the planted key, and
    its bytes (unique per row) must survive the run."""
    planted = _planted_entry(owned.id, shape)
    if shape == "case":
        return b"{}"  # the twin is the store's own path on a case-insensitive disk
    if owned.id == "journal":
        keyed = {"format": KEYED_FORMAT, "entries": {PLANTED_KEY: planted}}
        body: Any = {"format": JOURNAL_FORMAT, "ops": {"planted.json": json.dumps(keyed)}}
    elif owned.id == "entry-temp":
        keyed = {"format": KEYED_FORMAT, "entries": {PLANTED_KEY: planted}}
        body = keyed if profile == "hardened" else planted
    elif owned.id == "lock":
        body = {"pid": 1, "createdAt": 0, "row": f"{owned.id}-{shape}"}
    elif owned.id in ("entries-folder", "staging"):
        body = planted  # as planted.json inside the folder
    elif owned.id == "database":
        return f"not a database ({owned.id}-{shape})".encode()
    else:
        body = {PLANTED_KEY: planted}
    return json.dumps(body).encode()


def planting(path_id: str, shape: str, profile: str, layout: str) -> Planting:
    owned = PATH_BY_ID[path_id]
    carry = layout in owned.data_in and shape not in DESTROYS
    return Planting(
        owned.name(profile),
        shape,
        folder=owned.folder,
        payload=b"" if carry else _payload(owned, shape, profile),
        carry=carry,
    )


def has_data(path_id: str, shape: str, layout: str) -> bool:
    """Whether the store's entries are still reachable once the shape is planted."""
    return layout not in PATH_BY_ID[path_id].data_in or shape not in DESTROYS


def _steps(layout: str) -> tuple[Step, ...]:
    calls: tuple[Step, ...] = (
        Load(),
        Update(set={"agent:main:c": {"sessionId": "c1", "updatedAt": 2_000}}),
        UpdateEntry("agent:main:a", {"lastTo": "patched", "updatedAt": LATER_MS + 2_001}),
        Load(),
    )
    return (Migrate(), *calls) if layout == "auto" else calls


def build(params: Mapping[str, Any], profile: str) -> Workload:
    """The ``disk-shapes`` workload of one row in one layout."""
    path_id, shape, layout = str(params["path"]), str(params["shape"]), str(params["layout"])
    data = entries() if has_data(path_id, shape, layout) else None
    shaped = (planting(path_id, shape, profile, layout),)
    if layout == "directory":
        setup = Setup(directory=data, shapes=shaped)
    else:
        setup = Setup(legacy=data, shapes=shaped)
    return Workload(setup, _steps(layout))


def _in_process_only(owned: OwnedPath, shape: str) -> str | None:
    """Why a row cannot be planted for a store in another process, if it cannot."""
    if any("*" in name for name in owned.names):
        return (
            "the shape goes at the name the store chooses when it first touches it, "
            "which only the in-process seam sees"
        )
    if shape in ("unreadable", "read-only-parent") and os.geteuid() == 0:
        return (
            "a mode shape needs a user who is not root, and a store in another process "
            "runs as this one (root reads and writes whatever the modes say)"
        )
    return None


def variants() -> tuple[Variant, ...]:
    """One variant per row and layout that uses the path (SQLite is not explored: it
    does its own I/O); each one crash point, seeded (``--full`` and ``--max-points``
    raise it), so the 136 of them stay a few seconds."""
    return tuple(
        Variant(
            f"{owned.id}.{shape}.{layout}",
            {"path": owned.id, "shape": shape, "layout": layout},
            (layout,),
            max_points=1,
            in_process_only=_in_process_only(owned, shape),
        )
        for owned in PATHS
        for shape in owned.shapes
        for layout in owned.layouts
        if layout != "sqlite"
    )


# --- the table ------------------------------------------------------------------------------------
BEGIN = "<!-- disk-shapes table: generated by scenarios/_disk_shapes.py, checked by a test -->"
END = "<!-- end of the disk-shapes table -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "foreign-files.md"
#: codes that mark a cell as a hazard (a crash, a hang, a loss, a write out of the folder)
HAZARDS = ("hangs", "followed", "escaped", "deleted", "lost", "misread", "phantom")
_FINE = ("ok", "refused", "timeout", "n/a")


def outcome(path_id: str, shape: str, profile: str, layout: str) -> str:
    """The reference store's code for one cell (``OUTCOMES``)."""
    cells = OUTCOMES[(path_id, shape)][PROFILES.index(profile)].split(" | ")
    return cells[LAYOUTS.index(layout)]


def is_hazard(code: str) -> bool:
    """A bare error, a hang or any effect in :data:`HAZARDS`."""
    what = code.split(";", 1)[0].split("@", 1)[0]
    effects = code.split(";", 1)[1] if ";" in code else ""
    return what not in _FINE or any(h in effects for h in HAZARDS)


def _cell(code: str) -> str:
    if code == "n/a":
        return "n/a"
    head, _sep, rest = code.partition("; ")
    what, _at, stage = head.partition("@")
    words = {"refused": "refuses", "timeout": "lock timeout", "hangs": "hangs"}.get(what, what)
    text = f"{words} at {stage}" if stage else words
    if what not in _FINE and what != "hangs":
        text = f"`{what}` at {stage}"
    text = f"{text}; {rest}" if rest else text
    return f"**{text}**" if is_hazard(code) else text


def render_table() -> str:
    """The Markdown of :data:`OUTCOMES`, one table per path."""
    lines: list[str] = [BEGIN, ""]
    for owned in PATHS:
        names = " / ".join(f"`{n}`" for n in dict.fromkeys(owned.names))
        lines += [f"#### `{owned.id}`: {names}", "", f"{owned.what[:1].upper()}{owned.what[1:]}."]
        lines += ["", "| shape | profile | " + " | ".join(LAYOUTS) + " |"]
        lines += ["|---|---|" + "---|" * len(LAYOUTS)]
        for shape in owned.shapes:
            for profile in PROFILES:
                first = f"`{shape}`" if profile == PROFILES[0] else ""
                cells = [_cell(outcome(owned.id, shape, profile, lay)) for lay in LAYOUTS]
                lines.append("| " + " | ".join([first, profile, *cells]) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def documented_block(text: str) -> str:
    """The generated block of the page (markers included), or ``""``."""
    match = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, flags=re.DOTALL)
    return match.group(0) if match else ""


def main(argv: list[str]) -> int:
    """Print the table, or (``--write``) put it into docs/foreign-files.md."""
    table = render_table()
    if argv[1:] != ["--write"]:
        print(table)
        return 0
    text = DOC.read_text(encoding="utf-8")
    old = documented_block(text)
    if not old:
        print(f"no generated block in {DOC}", file=sys.stderr)
        return 1
    DOC.write_text(text.replace(old, table), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - the generator
    sys.exit(main(sys.argv))
