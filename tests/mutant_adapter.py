"""A seeded bug behind the adapter protocol: a foreign store the gate has never seen.

``python tests/mutant_adapter.py NAME [--only-layouts L,..] [adapter options]`` serves the
mutant ``NAME`` of ``tests/mutants`` (``hardened``: no bug) exactly as ``python -m
reference_store.adapter`` serves the reference store, so a test can gate it with
``--store-cmd`` and see each check fail on a store the harness reaches only through a
pipe and a SIGKILL.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference_store import SessionStore
from reference_store.adapter import Adapter, main
from reference_store.fs import FileSystem, OsFileSystem
from tests.mutants import by_name


def command(name: str, *extra: str) -> str:
    """The ``--store-cmd`` template that serves mutant ``name``."""
    import shlex

    parts = [sys.executable, str(Path(__file__).resolve()), name]
    template = " ".join(shlex.quote(p) for p in parts)
    template += " --store-path {store_path} --layout {layout} --profile {profile}"
    return " ".join([template, *extra])


def serve(name: str, argv: list[str]) -> int:
    # ``--only-layouts a,b`` (this script's own option): declare just those in ping.
    only: list[str] | None = None
    if "--only-layouts" in argv:
        at = argv.index("--only-layouts")
        only = argv[at + 1].split(",")
        del argv[at : at + 2]
    if name == "hardened":  # no bug: the hardened store behind this script
        return main(argv, adapter_class=_declaring(Adapter, only))
    if name == "leaks-tmpdir":  # a bug no in-process seam can see: mkstemp files left
        return main(argv, adapter_class=_declaring(_LeaksTmpdir, only))
    if name in ("normalizes-declared", "normalizes-undeclared"):
        # Rewrites deliveryContext.to from lastTo on every write, as upstream does; the
        # first says so in its contract, the second does not.
        _Normalizing.declared = name == "normalizes-declared"
        return main(argv, adapter_class=_declaring(_Normalizing, only))
    mutant = by_name(name)

    class MutantAdapter(Adapter):
        def open_store(
            self, store_path: str, layout: str, profile: str, fs: FileSystem | None
        ) -> SessionStore:
            store: SessionStore = mutant.open(
                store_path, layout, profile, fs or OsFileSystem(), runtime=self.runtime
            )
            return store

        def migrate_store(self, store_path: str, profile: str, fs: FileSystem | None) -> bool:
            return mutant.migrate(store_path, profile, fs or OsFileSystem(), runtime=self.runtime)

    return main(argv, adapter_class=_declaring(MutantAdapter, only))


class _LeaksTmpdir(Adapter):
    """The hardened store, plus a scratch file in ``$TMPDIR`` per save, never removed."""

    def open_store(
        self, store_path: str, layout: str, profile: str, fs: FileSystem | None
    ) -> SessionStore:
        store = super().open_store(store_path, layout, profile, fs)
        save = store.save

        def leaky_save(mapping: Any) -> None:
            handle, _scratch = tempfile.mkstemp()
            os.close(handle)
            save(mapping)

        store.save = leaky_save  # type: ignore[method-assign]
        return store


def normalize_entry(entry: Any) -> Any:
    """``deliveryContext.to`` mirrors ``lastTo`` (upstream's delivery normalization, cut
    down to one field)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("lastTo"), str):
        return entry
    context = entry.get("deliveryContext")
    context = dict(context) if isinstance(context, dict) else {}
    context["to"] = entry["lastTo"]
    return {**entry, "deliveryContext": context}


class _Normalizing(Adapter):
    declared = True

    def _ping(self, args: Any) -> Any:
        answer = super()._ping(args)
        answer["contract"] = {"normalizes": self.declared}
        return answer

    def _normalize(self, args: Any) -> Any:
        return {k: normalize_entry(v) for k, v in args.obj("mapping").items()}

    def open_store(
        self, store_path: str, layout: str, profile: str, fs: FileSystem | None
    ) -> SessionStore:
        store = super().open_store(store_path, layout, profile, fs)
        save, update, update_entry = store.save, store.update, store.update_entry

        def normalized_save(mapping: Any) -> None:
            save({k: normalize_entry(v) for k, v in mapping.items()})

        def normalized_update(mutator: Any) -> Any:
            def run(current: Any) -> Any:
                result = mutator(current)
                for key in list(current):
                    current[key] = normalize_entry(current[key])
                return result

            return update(run)

        def normalized_update_entry(key: str, patch_fn: Any) -> Any:
            def run(entry: Any) -> Any:
                patch = patch_fn(entry)
                merged = {**entry, **(patch or {})}
                return normalize_entry(merged) if patch is not None else None

            return update_entry(key, run)

        store.save = normalized_save  # type: ignore[method-assign]
        store.update = normalized_update  # type: ignore[method-assign]
        store.update_entry = normalized_update_entry  # type: ignore[method-assign]
        return store


def _declaring(base: type[Adapter], only: list[str] | None) -> type[Adapter]:
    if only is None:
        return base

    class Declaring(base):  # type: ignore[valid-type, misc]
        def _ping(self, args: Any) -> Any:
            answer = super()._ping(args)
            answer["layouts"] = only
            return answer

    return Declaring


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2:]))
