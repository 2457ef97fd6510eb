"""Stores in other processes: the harness's client of the adapter protocol.

The protocol itself (message shapes, error encoding, the operation announcement) is
defined once, in ``reference_store.protocol``, which the reference store's adapter
imports too; this package holds the harness's side: ``_process``'s :class:`AdapterProcess`
starts an adapter command and talks JSON lines to it, ``_client``'s :class:`AdapterClient`
adds the store API, and ``_errors`` says how every failure surfaces.

May import: ``reference_store`` (the protocol and ``StoreError``) and ``harness._errors``.
Promise: whatever the other process does -- answers, errors, hangs, dies, writes
garbage -- the client raises one of its own errors (or the real ``OSError`` the adapter
reported), never hangs past its timeout and never leaves the process running.
"""

from harness.foreign._client import AdapterClient
from harness.foreign._errors import (
    AdapterCrashed,
    AdapterError,
    AdapterProtocolError,
    AdapterRejectedError,
    AdapterStoreError,
    AdapterTimeout,
    AdapterViolationError,
)
from harness.foreign._process import DEFAULT_TIMEOUT_S, AdapterProcess, reference_command

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "AdapterClient",
    "AdapterCrashed",
    "AdapterError",
    "AdapterProcess",
    "AdapterProtocolError",
    "AdapterRejectedError",
    "AdapterStoreError",
    "AdapterTimeout",
    "AdapterViolationError",
    "reference_command",
]
