"""The state machine bound to ``reference_store``: one machine class per layout, profile
and backend, built by :func:`reference_machine`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

from harness.checks._machine_model import StoreLike
from harness.checks._machine_rules import SessionStoreMachine
from harness.checks._machine_world import NoSyncFileSystem, StoreContext, reference_file_of
from reference_store import (
    migrate,
    open_store,
)
from reference_store.fs import FileSystem, OsFileSystem

__all__ = [
    "ReferenceStoreMachine",
    "reference_machine",
]


# --- the reference store ---------------------------------------------------------------------
class ReferenceStoreMachine(SessionStoreMachine):
    """:class:`SessionStoreMachine` for ``reference_store``; build one with
    :func:`reference_machine` (layout, profile, backend)."""

    layout: ClassVar[str] = "directory"
    profile: ClassVar[str] = "hardened"
    backend: ClassVar[str] = "real"
    #: See :class:`NoSyncFileSystem`.
    skip_fsync: ClassVar[bool] = True
    _patcher: Any = None

    def make_root(self) -> str:
        if self.backend == "fake":
            from pyfakefs.fake_filesystem_unittest import Patcher

            self._patcher = Patcher()
            self._patcher.setUp()
            root = "/machine/store"
            self._patcher.fs.create_dir(root)
            return root
        return super().make_root()

    def remove_root(self, root: str) -> None:
        if self._patcher is not None:
            self._patcher.tearDown()
            self._patcher = None
            return
        super().remove_root(root)

    def real_io(self) -> contextlib.AbstractContextManager[None]:
        patcher = self._patcher
        if patcher is None:
            return contextlib.nullcontext()

        @contextlib.contextmanager
        def paused() -> Iterator[None]:
            patcher.pause()
            try:
                yield
            finally:
                patcher.resume()

        return paused()

    def plain_fs(self) -> FileSystem:
        return NoSyncFileSystem(OsFileSystem()) if self.skip_fsync else OsFileSystem()

    def open_store(self, ctx: StoreContext) -> StoreLike:
        return open_store(
            ctx.store_path,
            self.layout,
            self.profile,
            # SQLite does its own I/O and insists on the real seam.
            None if self.layout == "sqlite" else ctx.fs,
            runtime=ctx.runtime,
            cache=ctx.cache,
        )

    def migrate_store(self, ctx: StoreContext) -> bool:
        return migrate(ctx.store_path, self.profile, ctx.fs, runtime=ctx.runtime)

    def file_of(self, store: Any, key: str) -> str | None:
        return reference_file_of(store, key)

    def describe(self) -> dict[str, Any]:
        return {
            "machine": type(self).__name__,
            "layout": self.layout,
            "profile": self.profile,
            "backend": self.backend,
        }


def reference_machine(
    layout: str, profile: str, backend: str = "real", **overrides: Any
) -> type[ReferenceStoreMachine]:
    """A machine class for one layout x profile x backend of ``reference_store``.

    Promises follow docs/spec.md: the seed directory layout is atomic per entry only, and
    may fail valid calls (keys too long for a file name); hardened is atomic per call
    and keeps corrupt files. ``overrides`` set any class attribute (``only_rules``,
    ``processes``, ``atomicity``, ...).
    """
    if layout == "sqlite" and backend == "fake":
        raise ValueError("the sqlite layout does its own I/O: real folders only")
    hardened = profile == "hardened"
    attrs: dict[str, Any] = {
        "layout": layout,
        "profile": profile,
        "backend": backend,
        "atomicity": "call" if hardened or layout in ("legacy", "sqlite") else "entry",
        "valid_calls_succeed": hardened,
        "keeps_corrupt_files": hardened,
        "fresh_route_read": hardened,
        # Modes are judged on real folders only: in machine runs on pyfakefs (6.3) a file
        # the store created 0600 was seen reported as 0755 -- an artefact of the fake
        # file system (the same calls outside the machine give 0600), not reduced further.
        "private_modes": hardened and backend == "real",
        "cleans_up_while_running": True,
        "supports_crash": layout != "sqlite",
        "supports_corrupt": layout != "sqlite",
        "supports_migrate": layout == "auto",
        "__module__": __name__,
    }
    attrs.update(overrides)
    name = f"{profile.capitalize()}{layout.capitalize()}{backend.capitalize()}Machine"
    return type(name, (ReferenceStoreMachine,), attrs)
