"""The one exception root of the reference store, and its subclasses."""

from __future__ import annotations

__all__ = [
    "InvalidEntryError",
    "InvalidKeyError",
    "LockTimeoutError",
    "StoreError",
    "UnsupportedLayoutError",
]


class StoreError(Exception):
    """Root of every error the reference store raises on purpose.

    I/O failures from the seam are *not* wrapped: they surface as the real ``OSError``
    with its ``errno``, so a caller sees exactly what the disk said.
    """


class InvalidEntryError(StoreError, ValueError):
    """An entry is not a JSON object, or lacks ``sessionId`` (str) / ``updatedAt`` (int)."""


class InvalidKeyError(StoreError, ValueError):
    """A key is empty or cannot be stored safely under this layout and profile."""


class LockTimeoutError(StoreError, TimeoutError):
    """The store lock could not be taken within its timeout."""


class UnsupportedLayoutError(StoreError, ValueError):
    """An unknown layout or profile name was asked for."""
