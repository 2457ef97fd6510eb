"""Number formatting shared by the Markdown and HTML reports (the only place results
are rounded)."""

from __future__ import annotations

import math

__all__ = ["fmt_bytes", "fmt_count", "fmt_ms", "fmt_rate", "fmt_ratio", "fmt_seconds"]


def fmt_ms(ns: float | None) -> str:
    """Nanoseconds as milliseconds, about three significant digits: ``1,234``,
    ``12.3``, ``1.23``, ``0.123``."""
    if ns is None:
        return "-"
    value = ns / 1e6
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_seconds(ns: float) -> str:
    return f"{ns / 1e9:,.1f} s"


def fmt_ratio(value: float | None) -> str:
    """A ratio as ``1,234x``, ``12.3x``, ``1.23x``."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞"
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def fmt_rate(value: float) -> str:
    """Operations per second."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def fmt_bytes(value: float) -> str:
    """Bytes, exact below 10 KB, else KB/MB with about three digits."""
    if value < 10 * 1024:
        return f"{value:,.0f} B"
    if value < 10 * 1024 * 1024:
        return f"{value / 1024:,.1f} KB"
    return f"{value / (1024 * 1024):,.1f} MB"


def fmt_count(value: int) -> str:
    return f"{value:,}"
