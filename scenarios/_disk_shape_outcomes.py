"""What the reference store does with each disk shape: the expected cell of every
(path, shape, profile, layout), as data (``_disk_shapes`` builds the scenario and the table
from it, and a test checks every cell against a real run).
"""

from __future__ import annotations

__all__ = [
    "OUTCOMES",
]

# --- what the reference store does -------------------------------------------------------------
#: (path, shape) -> (seed, hardened), each the cells of LAYOUTS joined by " | ": what the
#: reference store does (docs/foreign-files.md explains the codes and shows them as a
#: table; tests/store/test_disk_shapes.py checks every cell). The mode shapes are what a
#: user who is not root sees (root reads and writes whatever the modes say).
OUTCOMES: dict[tuple[str, str], tuple[str, str]] = {
    ("store-file", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("store-file", "empty"): (
        "ok; replaced | ok; kept | ok; replaced | ok; kept",
        "ok; aside, reported | ok; kept | ok; aside, reported | ok; kept",
    ),
    ("store-file", "folder"): (
        "EISDIR@write; kept | ok; kept | EISDIR@open; kept | ok; kept",
        "ok; aside, reported | ok; kept | ok; aside | ok; kept",
    ),
    ("store-file", "link-inside"): (
        "ok; replaced | ok; kept | ok; moved | ok; kept",
        "refused@open; kept | ok; kept | refused@open; kept | ok; kept",
    ),
    ("store-file", "link-outside"): (
        "ok; replaced, followed | ok; kept | ok; moved, followed | ok; kept",
        "refused@open; kept | ok; kept | refused@open; kept | ok; kept",
    ),
    ("store-file", "link-dangling"): (
        "ok; replaced, followed | ok; kept | ok; replaced, followed | ok; kept",
        "refused@open; kept | ok; kept | refused@open; kept | ok; kept",
    ),
    ("store-file", "fifo"): (
        "hangs@load; kept | ok; kept | hangs@open; kept | ok; kept",
        "ok; aside, reported | ok; kept | ok; aside | ok; kept",
    ),
    ("store-file", "unreadable"): (
        "ok; replaced, misread, lost | ok; kept | EACCES@open; kept | ok; kept",
        "refused@load; kept | ok; kept | refused@open; kept | ok; kept",
    ),
    ("store-file", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("store-file", "case"): (
        "ok; replaced | ok; kept | ok; replaced | ok; kept",
        "ok; replaced | ok; kept | ok; replaced | ok; kept",
    ),
    ("entries-folder", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("entries-folder", "file"): (
        "ok; kept | ENOTDIR@load; kept | ENOTDIR@open; kept | ok; kept",
        "ok; kept | ok; aside, reported | ok; aside | ok; kept",
    ),
    ("entries-folder", "link-inside"): (
        "ok; kept | ok; kept | ENOTDIR@open; kept | ok; kept",
        "ok; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("entries-folder", "link-outside"): (
        "ok; kept | ok; kept, followed, escaped | ENOTDIR@open; kept | ok; kept",
        "ok; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("entries-folder", "link-dangling"): (
        "ok; kept | ok; kept, followed, misread, lost | ENOTDIR@open; kept | ok; kept",
        "ok; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("entries-folder", "fifo"): (
        "ok; kept | ENOTDIR@load; kept | ENOTDIR@open; kept | ok; kept",
        "ok; kept | ok; aside, reported | ok; aside | ok; kept",
    ),
    ("entries-folder", "unreadable"): (
        "ok; kept | EACCES@load; kept | EACCES@open; kept | ok; kept",
        "ok; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("entries-folder", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("entries-folder", "case"): (
        "ok; kept | ok; replaced | ok; replaced | ok; kept",
        "ok; kept | ok; replaced | ok; replaced | ok; kept",
    ),
    ("staging", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("staging", "file"): (
        "ok; kept | ok; kept | ENOTDIR@open; kept | ok; kept",
        "ok; kept | ok; kept | ok; aside | ok; kept",
    ),
    ("staging", "link-inside"): (
        "ok; kept | ok; kept | ENOTDIR@open; kept, deleted | ok; kept",
        "ok; kept | ok; kept | ok; aside | ok; kept",
    ),
    ("staging", "link-outside"): (
        "ok; kept | ok; kept | ENOTDIR@open; kept, followed, escaped, deleted | ok; kept",
        "ok; kept | ok; kept | ok; aside | ok; kept",
    ),
    ("staging", "link-dangling"): (
        "ok; kept | ok; kept | ENOENT@open; kept, followed | ok; kept",
        "ok; kept | ok; kept | ok; aside | ok; kept",
    ),
    ("staging", "fifo"): (
        "ok; kept | ok; kept | ENOTDIR@open; kept | ok; kept",
        "ok; kept | ok; kept | ok; aside | ok; kept",
    ),
    ("staging", "unreadable"): (
        "ok; kept | ok; kept | EACCES@open; kept | ok; kept",
        "ok; kept | ok; kept | refused@open; kept | ok; kept",
    ),
    ("staging", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("staging", "case"): (
        "ok; kept | ok; kept | ok; removed | ok; kept",
        "ok; kept | ok; kept | ok; removed | ok; kept",
    ),
    ("lock", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("lock", "empty"): (
        "timeout@write; kept | timeout@write; kept | timeout@write; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("lock", "folder"): (
        "timeout@write; kept | timeout@write; kept | timeout@write; kept | ok; kept",
        "refused@open; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "link-inside"): (
        "ok; removed | ok; removed | ok; removed | ok; kept",
        "refused@open; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "link-outside"): (
        "ok; removed, followed | ok; removed, followed | ok; removed, followed | ok; kept",
        "refused@open; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "link-dangling"): (
        "timeout@write; kept, followed | timeout@write; kept, followed | "
        "timeout@write; kept, followed | ok; kept",
        "refused@open; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "fifo"): (
        "hangs@write; kept | hangs@write; kept | hangs@write; kept | ok; kept",
        "refused@open; kept | refused@open; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "unreadable"): (
        "timeout@write; kept | timeout@write; kept | timeout@write; kept | ok; kept",
        "refused@write; kept | refused@write; kept | refused@open; kept | ok; kept",
    ),
    ("lock", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("lock", "case"): (
        "timeout@write; kept | timeout@write; kept | timeout@write; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("journal", "missing"): (
        "n/a | ok | n/a | n/a",
        "n/a | ok | n/a | n/a",
    ),
    ("journal", "empty"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; removed, reported | n/a | n/a",
    ),
    ("journal", "folder"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; aside, reported | n/a | n/a",
    ),
    ("journal", "link-inside"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; aside, reported | n/a | n/a",
    ),
    ("journal", "link-outside"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; aside, reported | n/a | n/a",
    ),
    ("journal", "link-dangling"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; aside, reported | n/a | n/a",
    ),
    ("journal", "fifo"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; aside, reported | n/a | n/a",
    ),
    ("journal", "unreadable"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | refused@open; kept | n/a | n/a",
    ),
    ("journal", "read-only-parent"): (
        "n/a | EACCES@write | n/a | n/a",
        "n/a | refused@write | n/a | n/a",
    ),
    ("journal", "case"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("temp", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("temp", "empty"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; removed | ok; removed | ok; removed | ok; kept",
    ),
    ("temp", "folder"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "link-inside"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "link-outside"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "link-dangling"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "fifo"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "unreadable"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("temp", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("temp", "case"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
    ("entry-temp", "missing"): (
        "n/a | ok | n/a | n/a",
        "n/a | ok | n/a | n/a",
    ),
    ("entry-temp", "empty"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; removed | n/a | n/a",
    ),
    ("entry-temp", "folder"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "link-inside"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "link-outside"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "link-dangling"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "fifo"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "unreadable"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("entry-temp", "read-only-parent"): (
        "n/a | EACCES@write | n/a | n/a",
        "n/a | refused@write | n/a | n/a",
    ),
    ("entry-temp", "case"): (
        "n/a | ok; kept | n/a | n/a",
        "n/a | ok; kept | n/a | n/a",
    ),
    ("backup", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("backup", "empty"): (
        "ok; unused | ok; unused | ok; replaced | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "folder"): (
        "ok; unused | ok; unused | ok; kept | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "link-inside"): (
        "ok; unused | ok; unused | ok; replaced | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "link-outside"): (
        "ok; unused | ok; unused | ok; replaced | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "link-dangling"): (
        "ok; unused | ok; unused | ok; replaced | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "fifo"): (
        "ok; unused | ok; unused | ok; replaced | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "unreadable"): (
        "ok; unused | ok; unused | ok; replaced, deleted | ok; unused",
        "ok; unused | ok; unused | ok; kept | ok; unused",
    ),
    ("backup", "read-only-parent"): (
        "ok | ok | EACCES@write | ok",
        "ok | ok | refused@open | ok",
    ),
    ("database", "missing"): (
        "ok | ok | ok | ok",
        "ok | ok | ok | ok",
    ),
    ("database", "empty"): (
        "ok; kept | ok; kept | ok; kept | ok; replaced",
        "ok; kept | ok; kept | ok; kept | ok; replaced",
    ),
    ("database", "folder"): (
        "ok; kept | ok; kept | ok; kept | OperationalError@load; kept",
        "ok; kept | ok; kept | ok; kept | refused@open; kept",
    ),
    ("database", "link-inside"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | refused@open; kept",
    ),
    ("database", "link-outside"): (
        "ok; kept | ok; kept | ok; kept | ok; kept, escaped",
        "ok; kept | ok; kept | ok; kept | refused@open; kept",
    ),
    ("database", "link-dangling"): (
        "ok; kept | ok; kept | ok; kept | ok; kept, escaped, lost",
        "ok; kept | ok; kept | ok; kept | refused@open; kept",
    ),
    ("database", "fifo"): (
        "ok; kept | ok; kept | ok; kept | OperationalError@load; kept",
        "ok; kept | ok; kept | ok; kept | refused@open; kept",
    ),
    ("database", "unreadable"): (
        "ok; kept | ok; kept | ok; kept | OperationalError@load; kept",
        "ok; kept | ok; kept | ok; kept | refused@load; kept",
    ),
    ("database", "read-only-parent"): (
        "EACCES@write | EACCES@write | EACCES@open | OperationalError@load",
        "refused@write | refused@write | refused@open | refused@load",
    ),
    ("database", "case"): (
        "ok; kept | ok; kept | ok; kept | ok; kept",
        "ok; kept | ok; kept | ok; kept | ok; kept",
    ),
}
