"""The report's plots: matplotlib figures on the Agg canvas, returned as base64 PNG.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing is registered globally, so there is nothing to close and no
figure-count warning, and the process's backend choice is left alone. PNGs are written
without the ``Software`` metadata so the page holds no address of any kind.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._results import BenchResults, SingleResult

__all__ = ["Plot", "plots"]

KB = 1024


@dataclass(frozen=True)
class Plot:
    key: str
    title: str
    caption: str
    png_base64: str


def _figure(ncols: int = 1) -> tuple[Any, list[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4 * ncols if ncols > 1 else 7.0, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _empty(ax: Any, text: str = "not measured in this run") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _series(
    ax: Any,
    lines: dict[str, list[tuple[float, float]]],
    *,
    logx: bool = True,
    logy: bool = True,
    style: Callable[[str], dict[str, Any]] | None = None,
) -> bool:
    drawn = False
    for label, raw in sorted(lines.items()):
        points = sorted(p for p in raw if p[1] > 0 or not logy)
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", markersize=4, label=label, **(style(label) if style else {}))
        drawn = True
    if not drawn:
        _empty(ax)
        return False
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return True


def _profile_style(label: str) -> dict[str, Any]:
    if label.endswith("/seed"):
        return {"linestyle": "--"}
    if label.endswith("nofsync"):
        return {"linestyle": ":"}
    return {}


Lines = dict[str, list[tuple[float, float]]]


def _per_store(
    results: BenchResults, value: Callable[[SingleResult], float], *, with_nofsync: bool = True
) -> Lines:
    """One line per layout/profile of the 1 KB single-writer cells: (store size, value)."""
    lines: Lines = {}
    for r in results.single:
        if r.entry_bytes == KB and (with_nofsync or r.profile != "hardened-nofsync"):
            lines.setdefault(f"{r.layout}/{r.profile}", []).append((r.size, value(r)))
    return lines


def _labels(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def update_vs_size(results: BenchResults) -> Plot:
    fig, (ax,) = _figure()
    _series(ax, _per_store(results, lambda r: r.update.p50_ns / 1e6), style=_profile_style)
    _labels(
        ax,
        "entries in the store",
        "update_entry p50 (ms)",
        "update_entry latency vs store size (1 KB entries, one writer)",
    )
    return Plot(
        "update-vs-size",
        "update_entry latency vs store size",
        "p50 of one writer; dashed: seed profile, dotted: hardened without fsync.",
        _png(fig),
    )


def p99_vs_writers(results: BenchResults) -> Plot:
    fig, axes = _figure(2)
    for ax, mode in zip(axes, ("processes", "threads"), strict=True):
        lines: Lines = {}
        for c in results.contention:
            if c.mode == mode and c.keys == "distinct" and c.ops:
                lines.setdefault(f"{c.layout}/{c.profile}", []).append(
                    (c.writers, c.update.p99_ns / 1e6)
                )
        _series(ax, lines, logx=False, style=_profile_style)
        _labels(
            ax, f"writer {mode}", "update_entry p99 (ms)", f"p99 vs writers ({mode}, distinct keys)"
        )
    return Plot(
        "p99-vs-writers",
        "p99 vs number of writers",
        "Each writer updates its own keys; p99 over every call of every writer.",
        _png(fig),
    )


def bytes_per_update(results: BenchResults) -> Plot:
    fig, (ax,) = _figure()
    _series(ax, _per_store(results, lambda r: r.bytes_per_update), style=_profile_style)
    _labels(
        ax,
        "entries in the store",
        "bytes written per update_entry",
        "Bytes written per update (1 KB entries)",
    )
    return Plot(
        "bytes-per-update",
        "Bytes written per update",
        "Counted at the seam; SQLite: bytes the process wrote (WAL frames).",
        _png(fig),
    )


def _load_p50_ms(attr: str) -> Callable[[SingleResult], float]:
    def value(r: SingleResult) -> float:
        return float(getattr(r, attr).p50_ns) / 1e6

    return value


def load_time(results: BenchResults) -> Plot:
    fig, axes = _figure(2)
    for ax, attr, title in zip(
        axes,
        ("load_cold", "load_cached"),
        ("cold: load(skip_cache=True)", "cached: load()"),
        strict=True,
    ):
        lines = _per_store(results, _load_p50_ms(attr), with_nofsync=False)
        _series(ax, lines, style=_profile_style)
        _labels(ax, "entries in the store", "full load p50 (ms)", title)
    return Plot(
        "load-time",
        "Full load time",
        "Left: every entry read and parsed; right: served from the in-process cache.",
        _png(fig),
    )


def migration_time(results: BenchResults) -> Plot:
    fig, (ax,) = _figure()
    lines: Lines = {}
    for m in results.migration:
        lines.setdefault(f"{m.profile} ({m.entry_bytes // KB} KB)", []).append(
            (m.size, m.time.p50_ns / 1e6)
        )
    _series(ax, lines)
    _labels(ax, "entries migrated", "migrate() p50 (ms)", "Migration legacy → directory")
    return Plot(
        "migration-time",
        "Migration time",
        "migrate() of a fresh sessions.json, per profile.",
        _png(fig),
    )


def floor_ratio(results: BenchResults) -> Plot:
    fig, (ax,) = _figure()
    # SQLite does its own I/O, not the seam's tmp + rename: the floor is not its floor.
    lines = {
        name: points
        for name, points in _per_store(results, lambda r: r.floor_ratio).items()
        if not name.startswith("sqlite/")
    }
    if _series(ax, lines, style=_profile_style):
        ax.axhline(1.5, color="red", linewidth=1, label="1.5x goal")
        ax.legend(fontsize=7)
    _labels(
        ax,
        "entries in the store",
        "update_entry p50 / floor p50",
        "update_entry against the bare-seam floor (same bytes)",
    )
    return Plot(
        "floor-ratio",
        "update_entry / floor",
        "1x means the update costs what writing its bytes atomically costs. SQLite is left "
        "out: it does its own I/O and never uses the tmp + rename the floor times.",
        _png(fig),
    )


PLOTTERS: Sequence[Callable[[BenchResults], Plot]] = (
    update_vs_size,
    p99_vs_writers,
    bytes_per_update,
    load_time,
    migration_time,
    floor_ratio,
)


def plots(results: BenchResults) -> list[Plot]:
    return [make(results) for make in PLOTTERS]
