"""The adapter protocol, defined once: what both sides of the JSON-lines pipe agree on.

A store in another process (another language, or Python code that does its own I/O) joins
the harness by speaking this protocol on stdin/stdout; ``docs/adapter-protocol.md``
explains it for implementers. Both ends import this module -- the reference store's
adapter (:mod:`reference_store.adapter`) and the harness's client
(:mod:`harness.foreign`) -- so the names, the error encoding and the operation
announcement cannot drift apart. It lives in ``reference_store`` because that package is
the bottom layer: the harness imports it, and it imports nothing from the harness.

The wire, in one paragraph: one request per line on stdin, ``{"id": <int>, "op": <name>,
"args": {...}}``; one response per line on stdout, in request order, ``{"id": <same>,
"ok": true, "result": ...}`` or ``{"id": <same>, "ok": false, "error": {...}}``; nothing
else on stdout. Events (one JSON object with an ``"event"`` field per line) go to stderr:
with ``--announce`` every seam operation is announced *before* it happens, so a parent
can kill the adapter at a chosen operation; ``--pause-at N`` blocks right before
operation ``N``.
"""

from __future__ import annotations

import errno as errno_module
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import StoreError

__all__ = [
    "ERROR_INTERNAL",
    "ERROR_OS",
    "ERROR_PROTOCOL",
    "ERROR_STORE",
    "EVENT_OP",
    "EVENT_PAUSED",
    "EVENT_REQUEST",
    "OPS",
    "PAUSED_EXIT_CODE",
    "PROTOCOL_VERSION",
    "Json",
    "OpAnnouncement",
    "ProtocolError",
    "encode_line",
    "error_payload",
    "os_error_from_payload",
    "request_message",
    "set_in_place",
]

PROTOCOL_VERSION = 1

Json = Any

#: Every operation a conforming adapter serves.
OPS = (
    "ping",
    "open",
    "load",
    "save",
    "update",
    "update_entry",
    "update_last_route",
    "read_updated_at",
    "migrate",
    "close",
    # Only for an adapter whose ping declares ``contract.normalizes``: the state the store
    # would keep for a given one (a pure function: no I/O, no store needed).
    "normalize",
)

#: ``error.type`` values: the *category* of a failure. ``error.class`` names the concrete
#: exception (e.g. ``InvalidEntryError``, ``FileNotFoundError``) for humans and reports.
ERROR_PROTOCOL = "ProtocolError"  # the request itself is wrong; nothing was attempted
ERROR_STORE = "StoreError"  # the store refused or failed, on purpose (bad entry, lock timeout)
ERROR_OS = "OSError"  # the disk said no; ``errno`` / ``errno_name`` carry what it said
ERROR_INTERNAL = "InternalError"  # anything else: a bug in the store or the adapter

#: ``event`` values of the JSON lines written to stderr.
EVENT_OP = "op"  # with --announce, before every seam operation
EVENT_PAUSED = "paused"  # with --pause-at N, before operation N, then the adapter blocks
EVENT_REQUEST = "request"  # with --announce, when a request starts being served

#: Exit status of a paused adapter whose stdin reached end of file (its parent is gone).
PAUSED_EXIT_CODE = 75


class ProtocolError(Exception):
    """A request that breaks the protocol: not JSON, not an object, unknown op, bad args."""


def encode_line(message: Mapping[str, Json]) -> str:
    """One message as the protocol writes it: compact ASCII JSON, without the newline.

    ASCII only, so a line is a line whatever the reader's encoding, and no key or path
    with a newline or a surrogate can split or break it.
    """
    return json.dumps(message, ensure_ascii=True, separators=(",", ":"))


def request_message(request_id: int, op: str, args: Mapping[str, Json] | None) -> dict[str, Json]:
    """The request object for ``op`` (``args`` left out when there are none)."""
    message: dict[str, Json] = {"id": request_id, "op": op}
    if args:
        message["args"] = dict(args)
    return message


# --- errors as data ---------------------------------------------------------------------------


def error_payload(exc: BaseException) -> dict[str, Json]:
    """The ``error`` object of a failed response, for any exception."""
    if isinstance(exc, ProtocolError):
        category = ERROR_PROTOCOL
    elif isinstance(exc, StoreError):
        category = ERROR_STORE
    elif isinstance(exc, OSError):
        category = ERROR_OS
    else:
        category = ERROR_INTERNAL
    payload: dict[str, Json] = {
        "type": category,
        "class": type(exc).__name__,
        "message": str(exc),
        "errno": None,
        "errno_name": None,
    }
    if isinstance(exc, OSError) and not isinstance(exc, StoreError):
        code = exc.errno if isinstance(exc.errno, int) and not isinstance(exc.errno, bool) else None
        payload["errno"] = code
        payload["errno_name"] = errno_module.errorcode.get(code) if code is not None else None
        if exc.strerror:
            payload["message"] = exc.strerror
        payload["filename"] = _text_or_none(exc.filename)
        payload["filename2"] = _text_or_none(exc.filename2)
    return payload


def os_error_from_payload(error: Mapping[str, Json]) -> OSError | None:
    """The ``OSError`` an ``OSError`` response stands for (the subclass its ``errno``
    picks, e.g. ``FileNotFoundError``), or ``None`` for any other category."""
    if error.get("type") != ERROR_OS:
        return None
    code = error.get("errno")
    message = str(error.get("message") or "")
    if isinstance(code, int) and not isinstance(code, bool):
        return OSError(code, message, error.get("filename"), None, error.get("filename2"))
    return OSError(message)


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return os.fsdecode(value)
    return str(value)


# --- the operation announcement ---------------------------------------------------------------


@dataclass(frozen=True)
class OpAnnouncement:
    """One seam operation, announced before it happens (``EVENT_OP``) or as the point an
    adapter paused at (``EVENT_PAUSED``).

    Names and numbering follow the harness's fault filesystem (``open_write`` /
    ``create_excl``, ``write``, ``fsync``, ``close``, ``read``, ``try_lock``, ``unlock``,
    ``replace``, ``link``, ``unlink``, ``mkdir``, ``rmdir``, ``listdir``, ``stat``,
    ``fsync_dir``, ``chmod``), counted from 1 when the process starts, so operation ``k``
    of a real-kill run is operation ``k`` of a simulated one.
    """

    n: int
    name: str
    path: str
    path2: str | None = None
    size: int | None = None
    #: the id of the request being served, ``None`` before the first one
    request: int | None = None
    paused: bool = False

    def event(self) -> dict[str, Json]:
        out: dict[str, Json] = {
            "event": EVENT_PAUSED if self.paused else EVENT_OP,
            "n": self.n,
            "name": self.name,
            "path": self.path,
        }
        if self.path2 is not None:
            out["path2"] = self.path2
        if self.size is not None:
            out["size"] = self.size
        out["request"] = self.request
        return out

    @classmethod
    def from_event(cls, event: Mapping[str, Json]) -> OpAnnouncement | None:
        """The announcement an event line carries; ``None`` for any other event."""
        kind, n = event.get("event"), event.get("n")
        if kind not in (EVENT_OP, EVENT_PAUSED) or not isinstance(n, int):
            return None
        path2, size, request = event.get("path2"), event.get("size"), event.get("request")
        return cls(
            n=n,
            name=str(event.get("name")),
            path=str(event.get("path")),
            path2=None if path2 is None else str(path2),
            size=size if isinstance(size, int) else None,
            request=request if isinstance(request, int) else None,
            paused=kind == EVENT_PAUSED,
        )


# --- the in_place argument --------------------------------------------------------------------


def set_in_place(entry: object, changes: Mapping[str, Json]) -> None:
    """The protocol's ``in_place`` changes: assign each value into ``entry`` itself;
    ``"a.b"`` names field ``b`` of the object in field ``a`` (created when missing).

    Callers of a store change the entries it hands them in place (upstream's callers
    do), so the harness asks an adapter to do exactly that, not to build a new entry.
    """
    if not isinstance(entry, dict):
        return
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = entry
        for name in parents:
            child = target.get(name)
            if not isinstance(child, dict):
                child = target[name] = {}
            target = child
        target[last] = json.loads(json.dumps(value))
