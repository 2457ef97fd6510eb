"""The reference store served over the JSON-lines adapter protocol.

Run it as ``python -m reference_store.adapter [--store-path P] [--announce] [--pause-at N]``
(plus ``--no-sync`` and ``--clock-ms MS`` for the harness's real-kill runs).

Foreign stores (another language, or Python code not written against the seam) join the
harness by speaking this protocol over stdin/stdout; this module is the Python reference
store's own adapter. The protocol itself -- names, error encoding, the operation
announcement -- is defined once, in :mod:`reference_store.protocol`, which the harness's
client imports too; ``docs/adapter-protocol.md`` describes it for implementers.

What this adapter adds to the protocol: it moves file descriptor 1 to stderr at start,
so a stray ``print`` in the store cannot corrupt the response stream; its operation count
starts when the process starts (so the ``open`` implied by ``--store-path`` is counted
too); and the SQLite layout does no I/O through the seam, so it announces no operations
and never pauses.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, NoReturn

from ._announcing import AnnouncingFileSystem, Emit
from ._base import SessionStore
from ._errors import StoreError
from ._migration import migrate
from ._open import LAYOUTS, open_store
from ._profile import PROFILES
from ._runtime import Runtime, deterministic_runtime
from .fs import FileSystem, OsFileSystem
from .protocol import (
    EVENT_REQUEST,
    OPS,
    PAUSED_EXIT_CODE,
    PROTOCOL_VERSION,
    Json,
    ProtocolError,
    encode_line,
    error_payload,
    set_in_place,
)

__all__ = [
    "IMPLEMENTATION",
    "Adapter",
    "AdapterOptions",
    "BadRequestError",
    "main",
    "parse_args",
    "serve",
]

IMPLEMENTATION = "reference_store (Python)"


class BadRequestError(StoreError, ValueError):
    """A well-formed request the store cannot apply as asked (incrementing a field that
    is not a number, patching an entry that is not an object)."""


# --- argument checking ------------------------------------------------------------------------

_MISSING: Any = object()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Args:
    """The ``args`` object of one request, checked name by name."""

    def __init__(self, op: str, raw: Mapping[str, Json], allowed: Sequence[str]) -> None:
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            known = ", ".join(allowed) or "none"
            raise ProtocolError(f"{op}: unknown argument(s) {', '.join(unknown)} (known: {known})")
        self.op = op
        self.raw = raw

    def _get(self, name: str, default: Json) -> Json:
        value = self.raw.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise ProtocolError(f"{self.op}: missing argument {name!r}")
            return default
        return value

    def _bad(self, name: str, wanted: str, value: Json) -> ProtocolError:
        return ProtocolError(f"{self.op}: argument {name!r} must be {wanted}, got {value!r:.80}")

    def string(self, name: str, default: Json = _MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise self._bad(name, "a string", value)
        return value

    def optional_string(self, name: str) -> str | None:
        value = self._get(name, None)
        if value is not None and not isinstance(value, str):
            raise self._bad(name, "a string or null", value)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self._bad(name, "true or false", value)
        return value

    def obj(self, name: str, default: Json = _MISSING) -> dict[str, Json]:
        value = self._get(name, default)
        if not isinstance(value, dict):
            raise self._bad(name, "an object", value)
        return value

    def optional_obj(self, name: str) -> dict[str, Json] | None:
        value = self._get(name, None)
        if value is not None and not isinstance(value, dict):
            raise self._bad(name, "an object or null", value)
        return value

    def strings(self, name: str) -> list[str]:
        value = self._get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings", value)
        return value

    def partials(self, name: str) -> dict[str, dict[str, Json]]:
        value = self.obj(name, {})
        for key, partial in value.items():
            if not isinstance(partial, dict):
                raise ProtocolError(
                    f"{self.op}: {name}[{key!r}] must be an object (a partial entry), "
                    f"got {partial!r:.80}"
                )
        return value

    def increment(self, name: str) -> tuple[str, int | float] | None:
        value = self.optional_obj(name)
        if value is None:
            return None
        field, by = value.get("field"), value.get("by", 1)
        if set(value) - {"field", "by"} or not isinstance(field, str) or not _is_number(by):
            raise self._bad(name, 'an object {"field": <string>, "by": <number>}', value)
        return field, by


# --- the adapter ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AdapterOptions:
    """The command line: a store to open at start-up, and the kill-test switches."""

    store_path: str | None = None
    layout: str = "auto"
    profile: str = "seed"
    announce: bool = False
    pause_at: int | None = None
    #: Skip fsync/fsync_dir (still numbered and announced). A SIGKILL keeps the page
    #: cache, so for kill tests a sync only costs time; never use it to judge power loss.
    no_sync: bool = False
    #: Run on a deterministic clock starting here, with counter temp names (as the
    #: harness's in-process explorer does), so a real kill meets the same names and times.
    clock_ms: int | None = None


def _fingerprint(present: bool, value: Json) -> str | None:
    return json.dumps(value, sort_keys=True, ensure_ascii=True) if present else None


def _block_forever() -> NoReturn:
    while True:
        time.sleep(3600)


class Adapter:
    """Serves requests against one open reference store (``handle`` one line at a time)."""

    def __init__(
        self,
        options: AdapterOptions,
        emit: Emit,
        *,
        pause: Callable[[], NoReturn] = _block_forever,
    ) -> None:
        self.options = options
        self.emit = emit
        self.seam: AnnouncingFileSystem | None = None
        if options.announce or options.pause_at is not None or options.no_sync:
            self.seam = AnnouncingFileSystem(
                OsFileSystem(),
                emit,
                announce=options.announce,
                pause_at=options.pause_at,
                pause=pause,
                forward_syncs=not options.no_sync,
            )
        self.runtime: Runtime | None = None
        if options.clock_ms is not None:
            self.runtime = deterministic_runtime(options.clock_ms)
        self.store: SessionStore | None = None
        self.open_args: dict[str, str] | None = None
        #: Why the store named on the command line could not be opened; reported to
        #: every request that needs a store, until an ``open`` succeeds.
        self.open_error: BaseException | None = None
        self.closed = False
        self._handlers: dict[str, Callable[[_Args], Json]] = {
            "ping": self._ping,
            "open": self._open,
            "load": self._load,
            "save": self._save,
            "update": self._update,
            "update_entry": self._update_entry,
            "update_last_route": self._update_last_route,
            "read_updated_at": self._read_updated_at,
            "migrate": self._migrate,
            "close": self._close,
            "normalize": self._normalize,
        }
        self._allowed: dict[str, tuple[str, ...]] = {
            "ping": (),
            "open": ("store_path", "layout", "profile"),
            "load": ("skip_cache",),
            "save": ("mapping",),
            "update": ("set", "delete", "patch", "in_place"),
            "update_entry": ("key", "patch", "increment", "in_place"),
            "update_last_route": ("key", "channel", "to", "account_id", "thread_id"),
            "read_updated_at": ("key",),
            "migrate": ("store_path", "profile"),
            "close": (),
            "normalize": ("mapping",),
        }
        if options.store_path is not None:
            try:
                self._do_open(options.store_path, options.layout, options.profile)
            except Exception as exc:
                self.open_error = exc

    # --- one request ---------------------------------------------------------------------
    def handle(self, line: str) -> dict[str, Json]:
        """The response to one request line (never raises for a bad request)."""
        request_id: int | None = None
        try:
            try:
                request = json.loads(line)
            except ValueError as exc:
                raise ProtocolError(f"request is not valid JSON: {exc}") from None
            if not isinstance(request, dict):
                raise ProtocolError(f"request must be a JSON object, got {type(request).__name__}")
            raw_id = request.get("id")
            if not _is_int(raw_id):
                raise ProtocolError(f"request 'id' must be an integer, got {raw_id!r:.40}")
            request_id = raw_id
            extra = sorted(set(request) - {"id", "op", "args"})
            if extra:
                raise ProtocolError(f"unknown request field(s): {', '.join(extra)}")
            op = request.get("op")
            if not isinstance(op, str) or op not in self._handlers:
                raise ProtocolError(f"unknown op {op!r:.40}; known: {', '.join(OPS)}")
            raw_args = request.get("args", {})
            if raw_args is None:
                raw_args = {}
            if not isinstance(raw_args, dict):
                raise ProtocolError(f"{op}: 'args' must be an object, got {raw_args!r:.40}")
            args = _Args(op, raw_args, self._allowed[op])
            if self.options.announce:
                self.emit({"event": EVENT_REQUEST, "id": request_id, "op": op})
            if self.seam is not None:
                self.seam.request_id = request_id
            try:
                result = self._handlers[op](args)
            finally:
                if self.seam is not None:
                    self.seam.request_id = None
        except Exception as exc:
            return {"id": request_id, "ok": False, "error": error_payload(exc)}
        return {"id": request_id, "ok": True, "result": result}

    # --- the store -----------------------------------------------------------------------
    def _need_store(self, op: str) -> SessionStore:
        if self.store is not None:
            return self.store
        if self.open_error is not None:
            raise self.open_error.with_traceback(None)  # the same failure, each time afresh
        raise ProtocolError(
            f"{op}: no store is open; send 'open' first or start the adapter with --store-path"
        )

    def _do_open(self, store_path: str, layout: str, profile: str) -> None:
        if self.store is not None:
            store, self.store, self.open_args = self.store, None, None
            store.close()
        self.open_error = None
        # The SQLite layout refuses any seam but the real one (its I/O bypasses the seam).
        fs = self.seam if self.seam is not None and layout != "sqlite" else None
        self.store = self.open_store(store_path, layout, profile, fs)
        self.open_args = {
            "store_path": self.store.store_path,
            "layout": layout,
            "profile": self.store.profile.name,
        }

    # --- what a subclass may replace: how a store is opened and migrated -------------------
    def open_store(
        self, store_path: str, layout: str, profile: str, fs: FileSystem | None
    ) -> SessionStore:
        """Open the store to serve (a subclass serves another store the same way)."""
        return open_store(store_path, layout, profile, fs, runtime=self.runtime)

    def migrate_store(self, store_path: str, profile: str, fs: FileSystem | None) -> bool:
        return migrate(store_path, profile, fs, runtime=self.runtime)

    def close_store(self) -> None:
        if self.store is not None:
            store, self.store = self.store, None
            store.close()

    # --- handlers --------------------------------------------------------------------------
    def _ping(self, args: _Args) -> Json:
        return {
            "pong": True,
            "protocol": PROTOCOL_VERSION,
            "implementation": IMPLEMENTATION,
            "pid": os.getpid(),
            "store": dict(self.open_args) if self.open_args is not None else None,
            "layouts": list(LAYOUTS),
            "profiles": sorted(PROFILES),
            # What the store does on purpose that a reader might take for a bug: the
            # reference store keeps every entry as it is given.
            "contract": {"normalizes": False},
        }

    def _open(self, args: _Args) -> Json:
        store_path = args.string("store_path")
        layout = args.string("layout", "auto")
        profile = args.string("profile", "seed")
        self._do_open(store_path, layout, profile)
        return dict(self.open_args or {})

    def _load(self, args: _Args) -> Json:
        skip_cache = args.boolean("skip_cache", False)
        return self._need_store("load").load(skip_cache=skip_cache)

    def _save(self, args: _Args) -> Json:
        mapping = args.obj("mapping")
        self._need_store("save").save(mapping)
        return None

    def _update(self, args: _Args) -> Json:
        sets = args.obj("set", {})
        deletes = args.strings("delete")
        patches = args.partials("patch")
        in_place = args.partials("in_place")
        store = self._need_store("update")

        def mutator(current: dict[str, Json]) -> int:
            touched = list(dict.fromkeys([*in_place, *sets, *deletes, *patches]))
            before = {k: _fingerprint(k in current, current.get(k)) for k in touched}
            for key, changes in in_place.items():
                if key in current:
                    set_in_place(current[key], changes)
            current.update(sets)
            for key in deletes:
                current.pop(key, None)
            for key, partial in patches.items():
                if key not in current:
                    continue  # like update_entry: a missing key is left alone
                entry = current[key]
                if not isinstance(entry, dict):
                    raise BadRequestError(
                        f"update: cannot patch {key!r}: its entry is "
                        f"{type(entry).__name__}, not an object"
                    )
                current[key] = {**entry, **partial}
            return sum(
                1 for k in touched if _fingerprint(k in current, current.get(k)) != before[k]
            )

        return store.update(mutator)

    def _update_entry(self, args: _Args) -> Json:
        key = args.string("key")
        patch = args.optional_obj("patch")
        increment = args.increment("increment")
        in_place = args.obj("in_place", {})
        store = self._need_store("update_entry")

        def patch_fn(entry: dict[str, Json]) -> dict[str, Json] | None:
            set_in_place(entry, in_place)
            if patch is None and increment is None:
                return None
            result = dict(patch or {})
            if increment is not None:
                field, by = increment
                if not isinstance(entry, dict):
                    raise BadRequestError(
                        f"update_entry: cannot increment {field!r} of {key!r}: the entry is "
                        f"{type(entry).__name__}, not an object"
                    )
                current = entry.get(field, 0)
                if not _is_number(current):
                    raise BadRequestError(
                        f"update_entry: cannot increment {field!r} of {key!r}: "
                        f"it holds {current!r:.40}, not a number"
                    )
                result[field] = current + by
            return result

        return store.update_entry(key, patch_fn)

    def _update_last_route(self, args: _Args) -> Json:
        key = args.string("key")
        channel = args.string("channel")
        to = args.string("to")
        account_id = args.optional_string("account_id")
        thread_id = args.optional_string("thread_id")
        return self._need_store("update_last_route").update_last_route(
            key, channel=channel, to=to, account_id=account_id, thread_id=thread_id
        )

    def _read_updated_at(self, args: _Args) -> Json:
        key = args.string("key")
        return self._need_store("read_updated_at").read_updated_at(key)

    def _migrate(self, args: _Args) -> Json:
        store_path = args.optional_string("store_path")
        profile = args.optional_string("profile")
        if store_path is None:
            store_path = self._need_store("migrate").store_path
        if profile is None:
            profile = self.store.profile.name if self.store is not None else "seed"
        return self.migrate_store(store_path, profile, self.seam)

    def _normalize(self, args: _Args) -> Json:
        # The reference store rewrites nothing it is given.
        return args.obj("mapping")

    def _close(self, args: _Args) -> Json:
        self.close_store()
        self.closed = True
        return None


# --- the process ------------------------------------------------------------------------------


def _encode(message: Mapping[str, Json]) -> str:
    try:
        return encode_line(message)
    except (TypeError, ValueError) as exc:  # a result JSON cannot carry
        return encode_line({"id": message.get("id"), "ok": False, "error": error_payload(exc)})


def serve(
    adapter: Adapter,
    stdin: IO[str],
    stdout: IO[str],
) -> int:
    """Answer request lines from ``stdin`` until ``close`` or end of file; exit status."""
    for line in stdin:
        if not line.strip():
            continue  # blank lines are ignored, not answered
        response = adapter.handle(line)
        try:
            stdout.write(_encode(response) + "\n")
            stdout.flush()
        except BrokenPipeError:
            break  # the parent is gone: nobody left to answer
        if adapter.closed:
            return 0
    adapter.close_store()
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("operations are numbered from 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> AdapterOptions:
    parser = argparse.ArgumentParser(
        prog="python -m reference_store.adapter",
        description="Serve the reference session store over the JSON-lines adapter protocol "
        "(requests on stdin, responses on stdout, events on stderr).",
    )
    parser.add_argument("--store-path", help="open this store at start-up")
    parser.add_argument("--layout", default="auto", choices=LAYOUTS)
    parser.add_argument("--profile", default="seed", choices=sorted(PROFILES))
    parser.add_argument(
        "--announce",
        action="store_true",
        help='write {"event": "op", "n": ...} to stderr before every seam operation',
    )
    parser.add_argument(
        "--pause-at",
        type=_positive,
        metavar="N",
        help="before seam operation N, announce it and block until killed",
    )
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="number and announce fsync/fsync_dir but skip them (kill tests: a SIGKILL "
        "keeps the page cache, so syncs only cost time)",
    )
    parser.add_argument(
        "--clock-ms",
        type=int,
        metavar="MS",
        help="deterministic clock starting at MS and counter-based temp names",
    )
    ns = parser.parse_args(argv)
    return AdapterOptions(
        store_path=ns.store_path,
        layout=ns.layout,
        profile=ns.profile,
        announce=ns.announce,
        pause_at=ns.pause_at,
        no_sync=ns.no_sync,
        clock_ms=ns.clock_ms,
    )


def main(argv: Sequence[str] | None = None, adapter_class: type[Adapter] = Adapter) -> int:
    """Serve stdin/stdout; ``adapter_class`` lets another store reuse the whole loop."""
    options = parse_args(argv)
    # The protocol owns file descriptor 1: keep a private copy for responses and point
    # fd 1 (and sys.stdout) at stderr, so nothing the store prints can corrupt the stream.
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = sys.stdin
    stderr = sys.stderr

    def emit(event: dict[str, Json]) -> None:
        try:
            stderr.write(encode_line(event) + "\n")
            stderr.flush()
        except (OSError, ValueError):
            pass  # nobody is listening: announcing is best effort

    def pause() -> NoReturn:
        # Block until killed. Should the parent die first, its end of stdin closes and the
        # adapter vanishes as abruptly as a kill would (no clean-up, no response).
        while stdin.readline():
            pass
        os._exit(PAUSED_EXIT_CODE)

    try:
        adapter = adapter_class(options, emit, pause=pause)
        return serve(adapter, stdin, protocol_out)
    finally:
        with contextlib.suppress(BrokenPipeError):
            protocol_out.close()


if __name__ == "__main__":
    sys.exit(main())
