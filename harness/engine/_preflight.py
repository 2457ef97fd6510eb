"""Pre-flight: can the harness drive this store at all? Asked once, before anything runs.

A store the harness cannot call -- a factory with the wrong signature (``os.path:join``),
a profile the store does not have, an object without the store API -- would otherwise
fail every configuration of a gate run as a store regression, write a replay file per
configuration and print a traceback per run. Those are usage errors: :func:`preflight`
turns them into one :class:`~harness._errors.UsageError` naming what is wrong.

It checks, in this order:

* the profile, when the store declares its profiles (a registered target, a
  :class:`~harness.engine._target.StoreTarget`; a plain factory takes whatever it knows);
* the signatures of ``open`` and ``migrate`` against the calls the harness makes
  (``harness.engine._explorer``, ``harness.checks._target_machine``): ``open(store_path, layout,
  profile, fs, *, runtime, cache)`` and ``migrate(store_path, profile, fs, *, runtime)``;
* one ``open`` and ``close`` of a store in an empty temp root (``harness._roots``), in a
  child process (``harness.engine._contain``): a store that hangs or kills its process there
  costs one timeout, not the gate; the object opened must have the store API.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness._errors import UsageError
from harness._roots import temp_root
from harness.engine._contain import run_contained
from harness.engine._target import StoreTarget
from reference_store import SessionCache, deterministic_runtime
from reference_store._runtime import SIMULATED_PID
from reference_store.fs import OsFileSystem

__all__ = ["STORE_API", "preflight"]

#: what the harness calls on an opened store (docs/spec.md's API)
STORE_API = (
    "load",
    "save",
    "update",
    "update_entry",
    "update_last_route",
    "read_updated_at",
    "close",
)
OPEN_CALL = "open(store_path, layout, profile, fs, *, runtime, cache)"
MIGRATE_CALL = "migrate(store_path, profile, fs, *, runtime)"


def _name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}.{qualname}" if module else qualname


def _check_call(
    fn: Callable[..., Any], what: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """Why ``fn`` cannot be called as ``what``; ``None`` if it can or nobody can tell."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # no signature to read (some builtins): the open below still tells
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        return f"{_name(fn)}{signature} cannot be called as the harness calls it, {what}: {exc}"
    return None


def _open_close(target: StoreTarget, layout: str, profile: str) -> str | None:
    """Open and close one store of ``target`` in an empty temp root; the problem, if any."""
    with temp_root("preflight") as folder:
        store_path = os.path.join(folder, "sessions.json")
        runtime = deterministic_runtime(token_prefix="p", pid=SIMULATED_PID)
        try:
            store = target.open(
                store_path, layout, profile, OsFileSystem(), runtime=runtime, cache=SessionCache()
            )
        except Exception as exc:
            return (
                f"opening a store (layout {layout}, profile {profile}) in an empty folder "
                f"raised {type(exc).__name__}: {exc}"
            )
        missing = [name for name in STORE_API if not callable(getattr(store, name, None))]
        if missing:
            return (
                f"open returned {type(store).__name__} {_short(store)}, which has no "
                f"{', '.join(missing)} (the store API: {', '.join(STORE_API)})"
            )
        try:
            store.close()
        except Exception as exc:
            return f"closing a store just opened raised {type(exc).__name__}: {exc}"
    return None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def preflight(
    target: StoreTarget,
    *,
    profile: str,
    layouts: Sequence[str],
    timeout_s: float = 120.0,
) -> None:
    """Raise :class:`UsageError` when the harness cannot drive ``target`` (module
    docstring); ``layouts``: those the run will open, the first one is opened."""
    where = f"store {target.name!r}"
    if target.declares_profiles and profile not in target.profiles:
        raise UsageError(
            f"{where} has no profile {profile!r} (its profiles: {', '.join(target.profiles)})"
        )
    sentinel = object()
    problem = _check_call(
        target.open,
        OPEN_CALL,
        ("sessions.json", layouts[0] if layouts else "legacy", profile, sentinel),
        {"runtime": sentinel, "cache": sentinel},
    )
    if problem is None and target.migrate is not None:
        problem = _check_call(
            target.migrate,
            MIGRATE_CALL,
            ("sessions.json", profile, sentinel),
            {"runtime": sentinel},
        )
    if problem is None and layouts:
        problem = _contained_open(target, layouts[0], profile, timeout_s)
    if problem is not None:
        raise UsageError(f"{where}: {problem}")


def _contained_open(target: StoreTarget, layout: str, profile: str, timeout_s: float) -> str | None:
    def work(
        items: Sequence[str], started: Callable[[int], None]
    ) -> Iterator[tuple[int, str | None]]:
        for index, item in enumerate(items):
            started(index)
            yield index, _open_close(target, item, profile)

    def lost(_layout: str, kind: str, detail: str) -> str:
        what = "never returned" if kind == "hung" else "killed its process"
        return f"opening and closing a store in an empty folder {what} ({detail})"

    ((problem,),) = run_contained([[layout]], work, lost, jobs=1, timeout_s=timeout_s)
    return problem
