"""The one exception root of the harness."""

from __future__ import annotations

__all__ = ["HarnessError", "UsageError"]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class UsageError(HarnessError):
    """The harness was asked for something that cannot be done (bad name, bad path)."""
