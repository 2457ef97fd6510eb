"""The one exception root of the reference store, and its subclasses."""

from __future__ import annotations

__all__ = [
    "InvalidEntryError",
    "InvalidKeyError",
    "LockTimeoutError",
    "StoreError",
    "StorePathError",
    "UnsupportedLayoutError",
]


class StoreError(Exception):
    """Root of every error the reference store raises on purpose.

    I/O failures from the seam are *not* wrapped: they surface as the real ``OSError``
    with its ``errno``, so a caller sees exactly what the disk said -- except, in the
    hardened profile, where one of the store's own paths has a shape it cannot use
    (:class:`StorePathError`, still an ``OSError`` with the same ``errno``).
    """


class InvalidEntryError(StoreError, ValueError):
    """An entry is not a JSON object, or lacks ``sessionId`` (str) / ``updatedAt`` (int)."""


class InvalidKeyError(StoreError, ValueError):
    """A key is empty or cannot be stored safely under this layout and profile."""


class LockTimeoutError(StoreError, TimeoutError):
    """The store lock could not be taken within its timeout."""


class UnsupportedLayoutError(StoreError, ValueError):
    """An unknown layout or profile name was asked for."""


class StorePathError(StoreError, OSError):
    """One of the store's own paths is something the store cannot use safely: a symbolic
    link, a FIFO, a file where a folder belongs, a path this user may not read or write.

    Also an ``OSError`` carrying the disk's ``errno`` (``None`` when the store refused
    before asking the disk), so code that handles I/O errors keeps handling it; the
    message names the path and says what to do (docs/foreign-files.md, "The store's own
    paths").
    """

    def __init__(self, path: str, problem: str, advice: str, *, errno: int | None = None) -> None:
        super().__init__(errno, problem, path)
        self.path = path
        self.problem = problem
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; {self.advice}"

    def __reduce__(self) -> tuple[object, ...]:
        # OSError pickles its (errno, strerror) args, which is not this __init__'s order.
        return (_rebuild_path_error, (self.path, self.problem, self.advice, self.errno))


def _rebuild_path_error(path: str, problem: str, advice: str, errno: int | None) -> StorePathError:
    return StorePathError(path, problem, advice, errno=errno)
