"""Temp roots: the only folders the harness runs stores in and removes.

THE PROMISE (written once, here). The harness never writes a store into, and never
removes, a folder it did not create, unless its caller says so explicitly:

* every folder the harness runs a store in comes from :func:`make_root` (or
  :func:`temp_root`): a fresh ``tempfile.mkdtemp`` folder -- under the system temp
  folder, or under another temp root -- that holds a marker file, ``.store-harness-root``,
  and a ``work/`` subfolder, which is what callers get. The store, the traces and the
  snapshots only ever see ``work/``, so the marker is never part of a run;
* :func:`remove_root` removes a folder only when it is such a ``work/`` folder, or lies
  inside one; anything else raises :class:`UnsafePathError` and nothing is touched;
* public entry points that take a folder from their caller
  (``harness.checks._concurrency.run_concurrency``) call :func:`require_root`, which refuses a
  folder outside every temp root unless the caller passes ``allow_foreign=True``.

The marker, not an in-process registry, is what makes a root recognisable, so a spawned
worker or a later process can tell a root of ours from a user's folder. The test
``tests/test_safety.py`` runs the main commands with a canary folder as the working
folder and beside the temp folder, and checks that the canary is untouched and that no
temp root is left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from ._errors import UsageError

__all__ = [
    "MARKER",
    "UnsafePathError",
    "is_inside_root",
    "make_root",
    "remove_root",
    "require_root",
    "temp_root",
]

MARKER = ".store-harness-root"
WORK = "work"
_MARKER_TEXT = b"a temp root of store-harness: this folder is removed when its run ends\n"


class UnsafePathError(UsageError):
    """The harness was asked to run in, or remove, a folder it did not create."""


def make_root(purpose: str, *, parent: str | None = None) -> str:
    """A fresh temp root for ``purpose`` (a word in the folder's name); returns its
    ``work/`` folder, which is empty."""
    folder = tempfile.mkdtemp(prefix=f"store-harness-{purpose}-", dir=parent)
    with open(os.path.join(folder, MARKER), "wb") as handle:
        handle.write(_MARKER_TEXT)
    work = os.path.join(folder, WORK)
    os.mkdir(work, 0o700)
    return work


@contextlib.contextmanager
def temp_root(purpose: str, *, parent: str | None = None) -> Iterator[str]:
    """:func:`make_root`, removed again when the block ends (whatever happened in it)."""
    work = make_root(purpose, parent=parent)
    try:
        yield work
    finally:
        remove_root(work)


def _root_of(path: str) -> str | None:
    """The temp root folder (the one holding the marker) that ``path`` is the ``work/``
    folder of or lies inside, else None."""
    current = os.path.realpath(path)
    while True:
        parent = os.path.dirname(current)
        if os.path.basename(current) == WORK and os.path.isfile(os.path.join(parent, MARKER)):
            return parent
        if parent == current:
            return None
        current = parent


def is_inside_root(path: str) -> bool:
    """Whether ``path`` is a temp root's ``work/`` folder or lies inside one."""
    return _root_of(path) is not None


def require_root(path: str, *, allow_foreign: bool = False, what: str = "run a store") -> None:
    """Refuse ``path`` unless it is inside a temp root, or ``allow_foreign`` is set."""
    if allow_foreign or is_inside_root(path):
        return
    raise UnsafePathError(
        f"refusing to {what} in {path}: the harness did not create it (it is not inside a "
        f"temp root holding {MARKER}); pass allow_foreign=True to use it anyway"
    )


def remove_root(path: str) -> None:
    """Remove ``path``: a whole temp root when ``path`` is its ``work/`` folder, else the
    folder inside a root that ``path`` names. Anything else is refused."""
    root = _root_of(path)
    if root is None:
        raise UnsafePathError(
            f"refusing to remove {path}: it is not inside a temp root the harness created"
        )
    real = os.path.realpath(path)
    shutil.rmtree(root if real == os.path.join(root, WORK) else real, ignore_errors=True)
