"""Percentiles and summaries of timings (nanoseconds in, nanoseconds out)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..report._results import LatencyStats

__all__ = ["median_interval", "percentile", "ratio", "summarize", "throughput"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, interpolating linearly between the
    two nearest ranks -- numpy's default ("linear") method, so p50 of an even count is
    the mean of the middle two. Raises ``ValueError`` on no values or ``q`` out of range.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100 or math.isnan(q):
        raise ValueError(f"percentile {q!r} is not within 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def median_interval(values: Sequence[float], *, z: float = 1.96) -> tuple[float, float]:
    """A distribution-free ~95% confidence interval of the median: the values of 1-based
    ranks ``floor(n/2 - z*sqrt(n)/2)`` and ``ceil(1 + n/2 + z*sqrt(n)/2)`` (the normal
    approximation of the binomial count of values below the median; with 10 values or
    fewer it is the whole range). It assumes independent draws, which calls paired with
    their own floor come close to, and needs no bootstrap: the same timings always give
    the same interval. Raises ``ValueError`` on no values."""
    if not values:
        raise ValueError("median interval of no values")
    ordered = sorted(values)
    n = len(ordered)
    half_width = z * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half_width) - 1)
    high = min(n - 1, math.ceil(1 + n / 2 + half_width) - 1)
    return ordered[low], ordered[high]


def summarize(values_ns: Iterable[int]) -> LatencyStats:
    """n, min, mean, p50, p99 and max of timings in nanoseconds (rounded to whole ns)."""
    values = sorted(values_ns)
    if not values:
        raise ValueError("no timings to summarize")
    return LatencyStats(
        n=len(values),
        min_ns=values[0],
        mean_ns=round(sum(values) / len(values)),
        p50_ns=round(percentile(values, 50)),
        p99_ns=round(percentile(values, 99)),
        max_ns=values[-1],
    )


def throughput(ops: int, wall_ns: int) -> float:
    """Operations per second over a wall time in nanoseconds (0 when nothing ran)."""
    return ops * 1e9 / wall_ns if wall_ns > 0 and ops > 0 else 0.0


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; ``inf`` when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else math.inf
