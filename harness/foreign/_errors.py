"""The errors of the adapter client, and how an error response becomes one of them (or
the real ``OSError`` the other side reported).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Mapping
from typing import NoReturn

from harness._errors import HarnessError
from reference_store import StoreError
from reference_store.protocol import (
    ERROR_PROTOCOL,
    ERROR_STORE,
    Json,
    os_error_from_payload,
)

__all__ = [
    "AdapterCrashed",
    "AdapterError",
    "AdapterProtocolError",
    "AdapterRejectedError",
    "AdapterStoreError",
    "AdapterTimeout",
    "AdapterViolationError",
    "raise_remote",
]


class AdapterError(HarnessError):
    """Root of every error the adapter client raises."""


class AdapterTimeout(AdapterError):  # noqa: N818 - the name the harness documents
    """No answer (or no awaited event) within the timeout."""


class AdapterCrashed(AdapterError):  # noqa: N818 - the name the harness documents
    """The adapter process exited while the client still expected something from it."""

    def __init__(self, message: str, *, returncode: int | None, stderr_tail: str = "") -> None:
        detail = (
            f"{message}\n--- adapter stderr (tail) ---\n{stderr_tail}" if stderr_tail else message
        )
        super().__init__(detail)
        self.returncode = returncode
        #: The signal that killed it (``signal.SIGKILL`` ...), ``None`` for a plain exit.
        self.signal: signal.Signals | None = None
        if returncode is not None and returncode < 0:
            with contextlib.suppress(ValueError):
                self.signal = signal.Signals(-returncode)
        self.stderr_tail = stderr_tail


class AdapterViolationError(AdapterError):
    """The adapter wrote something that is not a protocol response (the process is killed)."""


class AdapterStoreError(AdapterError):
    """A structured error response: the adapter ran the request and reports a failure.

    ``type`` is the category (``StoreError``, ``ProtocolError``, ``InternalError``, or what
    a foreign adapter chose); ``error_class`` the concrete exception name on the other side.
    ``OSError`` responses do not use this class: they are raised as real ``OSError``\\ s.
    """

    def __init__(self, op: str | None, request_id: int | None, error: Mapping[str, Json]) -> None:
        self.op = op
        self.request_id = request_id
        self.error = dict(error)
        self.type = str(error.get("type") or "Error")
        self.error_class = str(error.get("class") or self.type)
        self.message = str(error.get("message") or "")
        code = error.get("errno")
        self.errno: int | None = code if isinstance(code, int) else None
        name = error.get("errno_name")
        self.errno_name: str | None = name if isinstance(name, str) else None
        where = f"{op}: " if op else ""
        super().__init__(f"{where}{self.error_class}: {self.message}")


class AdapterRejectedError(AdapterStoreError, StoreError):
    """The store refused on purpose (``type`` ``StoreError``): a bad entry or key, a lock
    timeout. Also a :class:`reference_store.StoreError`, as it would be in process."""


class AdapterProtocolError(AdapterStoreError):
    """The adapter says the request broke the protocol (``type`` ``ProtocolError``)."""


def raise_remote(op: str | None, request_id: int | None, error: Mapping[str, Json]) -> NoReturn:
    exc = os_error_from_payload(error)
    if exc is not None:
        exc.add_note(f"reported by the adapter for {op or 'a request'} (id {request_id})")
        raise exc
    kind = error.get("type")
    if kind == ERROR_STORE:
        raise AdapterRejectedError(op, request_id, error)
    if kind == ERROR_PROTOCOL:
        raise AdapterProtocolError(op, request_id, error)
    raise AdapterStoreError(op, request_id, error)
