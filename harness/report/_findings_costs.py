"""Findings 5-9: what each part costs -- lock granularity, fsync, SQLite, the bare-seam
floor and the cache.
"""

from __future__ import annotations

from harness.report._findings_layouts import _contention

from ._finding import FLOOR_GOAL, KB, Finding, _faster, _single, _sizes
from ._format import fmt_bytes, fmt_count, fmt_ms, fmt_rate, fmt_ratio
from ._results import BenchResults, Diagnosis
from ._tables import Table, entry_label, p50, p99

__all__ = [
    "cached_load",
    "floor_ratio",
    "fsync_cost",
    "lock_granularity",
    "sqlite_comparison",
]


# --- 5. single lock vs per-entry locks ------------------------------------------------------------
def lock_granularity(results: BenchResults) -> Finding:
    question = "What does the single store lock cost, against one lock per entry file?"
    rows: list[tuple[str, ...]] = []
    parts: list[str] = []
    writers = max(
        (c.writers for c in results.contention if c.layout == "directory-perkey"), default=0
    )
    for mode in ("processes", "threads"):
        for keys in ("distinct", "shared"):
            single = _contention(results, "directory", "hardened", writers, mode, keys)
            per_key = _contention(results, "directory-perkey", "hardened", writers, mode, keys)
            if single is None or per_key is None:
                continue
            gain = (
                per_key.throughput_ops_s / single.throughput_ops_s if single.throughput_ops_s else 0
            )
            rows.append(
                (
                    mode,
                    keys,
                    fmt_rate(single.throughput_ops_s),
                    fmt_rate(per_key.throughput_ops_s),
                    fmt_ratio(gain),
                    p99(single.update),
                    p99(per_key.update),
                )
            )
            parts.append(
                f"{writers} {mode} on {keys} keys: {fmt_rate(per_key.throughput_ops_s)} ops/s "
                f"with per-entry locks against {fmt_rate(single.throughput_ops_s)} with the "
                f"single lock ({fmt_ratio(gain)}), p99 {fmt_ms(per_key.update.p99_ns)} ms "
                f"against {fmt_ms(single.update.p99_ns)} ms"
            )
    if not rows:
        return Finding(
            "lock-granularity",
            question,
            "Not measured in this run: needs hardened directory and directory-perkey "
            "contention cells with the same writers.",
        )
    answer = "Hardened directory layout, " + "; ".join(parts) + "."
    table = Table(
        title=f"Single store lock vs per-entry locks, hardened directory, {writers} writers",
        headers=(
            "writers as",
            "keys",
            "single lock ops/s",
            "per-entry ops/s",
            "per-entry / single",
            "single lock p99 ms",
            "per-entry p99 ms",
        ),
        rows=tuple(rows),
    )
    return Finding("lock-granularity", question, answer, (table,))


# --- 6. what fsync costs --------------------------------------------------------------------------
def fsync_cost(results: BenchResults) -> Finding:
    question = "What does hardened fsync cost? (hardened vs hardened without fsync, same layout)"
    rows: list[tuple[str, ...]] = []
    latest: dict[str, str] = {}
    for layout in ("directory", "legacy"):
        for size in _sizes(results):
            with_sync = _single(results, layout, "hardened", size)
            without = _single(results, layout, "hardened-nofsync", size)
            if with_sync is None or without is None:
                continue
            added = with_sync.update.p50_ns - without.update.p50_ns
            rows.append(
                (
                    layout,
                    fmt_count(size),
                    p50(with_sync.update),
                    p50(without.update),
                    fmt_ms(added),
                    fmt_ratio(with_sync.update.p50_ns / without.update.p50_ns),
                    f"{with_sync.seam_calls_per_update.get('fsync', 0):g} + "
                    f"{with_sync.seam_calls_per_update.get('fsync_dir', 0):g}",
                )
            )
            pair = (
                f"{fmt_ms(with_sync.update.p50_ns)} ms against "
                f"{fmt_ms(without.update.p50_ns)} ms p50"
            )
            latest[layout] = (
                f"on {layout} at {fmt_count(size)} entries fsync adds {fmt_ms(added)} ms per "
                f"update_entry ({pair}, "
                f"{fmt_ratio(with_sync.update.p50_ns / without.update.p50_ns)})"
                if added > 0
                else f"on {layout} at {fmt_count(size)} entries the run shows no cost of fsync "
                f"({pair}): the difference is below this run's noise"
            )
    if not rows:
        return Finding(
            "fsync-cost",
            question,
            "Not measured in this run: needs hardened and hardened-nofsync cells of one layout.",
        )
    answer = "At the largest size measured per layout: " + "; ".join(latest.values()) + "."
    table = Table(
        title="hardened vs HARDENED.with_changes(fsync=False), update_entry p50",
        headers=(
            "layout",
            "entries",
            "hardened ms",
            "no fsync ms",
            "fsync adds ms",
            "ratio",
            "fsyncs per update (file + folder)",
        ),
        rows=tuple(rows),
    )
    return Finding("fsync-cost", question, answer, (table,))


# --- 7. SQLite ------------------------------------------------------------------------------------
def sqlite_comparison(results: BenchResults) -> Finding:
    question = "How does the SQLite layout compare?"
    columns = (
        ("legacy", "seed"),
        ("directory", "seed"),
        ("directory", "hardened"),
        ("sqlite", "hardened"),
    )
    rows: list[tuple[str, ...]] = []
    for size in _sizes(results):
        cells = [_single(results, layout, profile, size) for layout, profile in columns]
        if cells[-1] is None:
            continue
        rows.append(
            (
                fmt_count(size),
                *(p50(c.update) if c else "-" for c in cells),
            )
        )
    if not rows:
        return Finding("sqlite", question, "Not measured in this run: needs hardened SQLite cells.")
    size = max(r.size for r in results.single if r.layout == "sqlite" and r.profile == "hardened")
    sqlite = _single(results, "sqlite", "hardened", size)
    assert sqlite is not None
    parts = [
        f"at {fmt_count(size)} entries SQLite update_entry takes {fmt_ms(sqlite.update.p50_ns)} "
        f"ms (p50), read_updated_at {fmt_ms(sqlite.read_updated_at.p50_ns)} ms, a full load "
        f"{fmt_ms(sqlite.load_cold.p50_ns)} ms, and it writes "
        f"{fmt_bytes(sqlite.bytes_per_update)} per update"
    ]
    for layout, profile in (
        ("directory", "hardened"),
        ("directory", "hardened-nofsync"),
        ("legacy", "seed"),
    ):
        other = _single(results, layout, profile, size)
        if other is None:
            continue
        parts.append(
            f"{layout}/{profile}: update_entry {fmt_ms(other.update.p50_ns)} ms "
            f"(SQLite {_faster(other.update.p50_ns, sqlite.update.p50_ns)}), load "
            f"{fmt_ms(other.load_cold.p50_ns)} ms, read_updated_at "
            f"{fmt_ms(other.read_updated_at.p50_ns)} ms, {fmt_bytes(other.bytes_per_update)} "
            f"per update"
        )
    contended = _contention(results, "sqlite", "hardened", 8, "processes", "distinct")
    if contended is not None:
        parts.append(
            f"under 8 writer processes SQLite keeps p99 at {fmt_ms(contended.update.p99_ns)} ms"
        )
    answer = (
        "; ".join(parts)
        + ". SQLite runs WAL with synchronous=NORMAL: a commit is not fsynced, so its "
        "durability matches hardened-nofsync rather than hardened."
    )
    table = Table(
        title="update_entry p50 (ms), 1 KB entries",
        headers=("entries", *(f"{layout}/{profile}" for layout, profile in columns)),
        rows=tuple(rows),
    )
    return Finding("sqlite", question, answer, (table,))


# --- 8. the floor ---------------------------------------------------------------------------------
def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _diagnosis_sentence(d: Diagnosis) -> str:
    seam_total = sum(r.ns_per_op for r in d.seam)
    by_target: dict[str, int] = {}
    for row in d.seam:
        by_target[row.target] = by_target.get(row.target, 0) + row.ns_per_op
    sync = sum(r.ns_per_op for r in d.seam if r.operation in ("fsync", "fsync_dir"))
    lock_calls = sum(r.calls_per_op for r in d.seam if r.target == "lock")
    lock = by_target.get("lock", 0)
    python = max(0, d.update_ns_per_op - seam_total)
    own = [f for f in d.functions if not f.function.startswith("<")]
    encoder = sum(f.tottime_ns_per_op for f in d.functions if f.function.startswith("json/encoder"))
    profiled = sum(f.tottime_ns_per_op for f in d.functions)
    floor_total = sum(r.ns_per_op for r in d.floor_seam)
    floor_sync = sum(r.ns_per_op for r in d.floor_seam if r.operation in ("fsync", "fsync_dir"))
    top = ", ".join(f"{r.target} {r.operation} {fmt_ms(r.ns_per_op)} ms" for r in d.seam[:4])
    text = (
        f"Profile of {d.layout}/{d.profile} update_entry ({fmt_count(d.size)} x 1 KB, {d.ops} "
        f"calls): {fmt_ms(d.update_ns_per_op)} ms per call. Seam calls take "
        f"{fmt_ms(seam_total)} ms ({_share(seam_total, d.update_ns_per_op)}), led by {top}; "
        f"fsync and fsync_dir together {fmt_ms(sync)} ms "
        f"({_share(sync, d.update_ns_per_op)}). The lock file costs "
        f"{fmt_ms(lock)} ms ({_share(lock, d.update_ns_per_op)}) "
        f"in {lock_calls:g} seam calls, the journal check "
        f"{fmt_ms(by_target.get('journal', 0))} ms. Python work outside the seam is "
        f"{fmt_ms(python)} ms ({_share(python, d.update_ns_per_op)})"
    )
    if own:
        text += (
            f"; under cProfile the JSON encoder's own time is {_share(encoder, profiled)} of "
            f"the profiled top functions, and the top Python function by own time is "
            f"{own[0].function} ({own[0].calls_per_op:g} calls per update)"
        )
    text += (
        f". The floor's seam calls take {fmt_ms(floor_total)} ms per write, "
        f"{_share(floor_sync, floor_total)} of it in fsync and fsync_dir."
    )
    return text


def floor_ratio(results: BenchResults) -> Finding:
    question = (
        f"Is directory update_entry within {FLOOR_GOAL}x of the bare-seam floor for the same bytes?"
    )
    rows: list[tuple[str, ...]] = []
    for profile in ("hardened", "hardened-nofsync", "seed"):
        for size in _sizes(results):
            r = _single(results, "directory", profile, size)
            if r is None:
                continue
            rows.append(
                (
                    profile,
                    fmt_count(size),
                    p50(r.update),
                    p50(r.floor),
                    fmt_ratio(r.floor_ratio),
                    _interval_text(r.floor_ratio_interval),
                    "yes" if r.floor_ratio <= FLOOR_GOAL else "no",
                    fmt_count(r.bytes_per_update),
                )
            )
    hardened = [r for r in results.single if r.layout == "directory" and r.profile == "hardened"]
    if not hardened:
        return Finding(
            "floor",
            question,
            "Not measured in this run: needs hardened directory cells.",
            (),
        )
    within = [r for r in hardened if r.floor_ratio <= FLOOR_GOAL]
    ratios = ", ".join(
        f"{fmt_ratio(r.floor_ratio)} at {fmt_count(r.size)}"
        for r in sorted(hardened, key=lambda r: r.size)
        if r.entry_bytes == KB
    )
    verdict = "met" if len(within) == len(hardened) else "not met"
    answer = (
        f"Hardened directory update_entry / floor (p50): {ratios} — within {FLOOR_GOAL}x in "
        f"{len(within)} of {len(hardened)} cells, so the goal is {verdict}."
    )
    straddling = [
        r
        for r in sorted(hardened, key=lambda r: (r.entry_bytes, r.size))
        if r.floor_ratio_interval is not None
        and r.floor_ratio_interval[0] <= FLOOR_GOAL < r.floor_ratio_interval[1]
    ]
    if straddling:
        # The verdict stays on the point estimates; this says which of them the run's own
        # noise could put on either side of the line.
        cells = ", ".join(
            f"{fmt_count(r.size)} x {entry_label(r.entry_bytes)} "
            f"({_interval_text(r.floor_ratio_interval)})"
            for r in straddling
        )
        answer += (
            f" The 95% interval of the median crosses {FLOOR_GOAL}x at {cells}: this run "
            "cannot tell those cells from the line."
        )
    seed = [r for r in results.single if r.layout == "directory" and r.profile == "seed"]
    if seed:
        worst = max(seed, key=lambda r: r.floor_ratio)
        answer += (
            f" The seed directory layout reaches {fmt_ratio(worst.floor_ratio)} at "
            f"{fmt_count(worst.size)} entries: its update reads the whole folder."
        )
    for d in results.diagnosis:
        answer += " " + _diagnosis_sentence(d)
    table = Table(
        title="Directory update_entry against the floor (p50)",
        headers=(
            "profile",
            "entries",
            "update ms",
            "floor ms",
            "update / floor",
            "95% interval",
            f"within {FLOOR_GOAL}x",
            "bytes/update",
        ),
        rows=tuple(rows),
        note=(
            "95% interval: a distribution-free confidence interval of the median ratio "
            "(order statistics of the per-call ratios; - where the results predate it)."
        ),
    )
    return Finding("floor", question, answer, (table,), verdict)


def _interval_text(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "-"
    return f"{fmt_ratio(interval[0])} to {fmt_ratio(interval[1])}"


# --- 9. the cache ---------------------------------------------------------------------------------
def cached_load(results: BenchResults) -> Finding:
    question = "What does the in-process cache save on a full load?"
    rows: list[tuple[str, ...]] = []
    parts: list[str] = []
    for layout in ("legacy", "directory"):
        for profile in ("seed", "hardened"):
            sizes = [
                r.size
                for r in results.single
                if (r.layout, r.profile, r.entry_bytes) == (layout, profile, KB)
            ]
            if not sizes:
                continue
            r = _single(results, layout, profile, max(sizes))
            assert r is not None
            share = r.load_cached.p50_ns / r.load_cold.p50_ns
            rows.append(
                (
                    layout,
                    profile,
                    fmt_count(r.size),
                    p50(r.load_cold),
                    p50(r.load_cached),
                    f"{100 * share:.0f}%",
                )
            )
            parts.append(
                f"{layout}/{profile} at {fmt_count(r.size)} entries: a cached load takes "
                f"{100 * share:.0f}% of a cold one ({fmt_ms(r.load_cached.p50_ns)} ms against "
                f"{fmt_ms(r.load_cold.p50_ns)} ms)"
            )
    if not rows:
        return Finding("cached-load", question, "Not measured in this run.")
    table = Table(
        title="load() cached vs load(skip_cache=True), p50, largest store measured",
        headers=("layout", "profile", "entries", "cold ms", "cached ms", "cached / cold"),
        rows=tuple(rows),
    )
    return Finding("cached-load", question, "; ".join(parts) + ".", (table,))
