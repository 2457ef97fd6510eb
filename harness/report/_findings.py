"""The questions a report answers, answered from the numbers of one run.

Every sentence here is computed: which layout is faster, by how much, whether a goal is
met -- all from :class:`BenchResults`, so the same code says "faster" on one machine
and "slower" on another. A question whose cells were not measured says so and names the
cells it needs, instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ._format import fmt_bytes, fmt_count, fmt_ms, fmt_rate, fmt_ratio
from ._results import BenchResults, ContentionResult, Diagnosis, SingleResult
from ._tables import Table, entry_label, p50, p99

__all__ = [
    "FLOOR_GOAL",
    "GAIN_GOAL",
    "Finding",
    "findings",
]

#: Goal: hardened directory ``update_entry`` at least this many times faster than legacy
#: at 10,000 x 1 KB.
GAIN_GOAL = 300.0
#: Goal: directory ``update_entry`` within this factor of the bare-seam floor.
FLOOR_GOAL = 1.5
KB = 1024


@dataclass(frozen=True)
class Finding:
    key: str
    question: str
    answer: str
    tables: tuple[Table, ...] = ()
    #: ``"met"`` / ``"not met"`` for questions with a goal; ``None`` otherwise.
    verdict: str | None = None


def _single(
    results: BenchResults, layout: str, profile: str, size: int, entry: int = KB
) -> SingleResult | None:
    for r in results.single:
        if (r.layout, r.profile, r.size, r.entry_bytes) == (layout, profile, size, entry):
            return r
    return None


def _sizes(results: BenchResults, entry: int = KB) -> list[int]:
    return sorted({r.size for r in results.single if r.entry_bytes == entry})


def _faster(slow_ns: float, fast_ns: float) -> str:
    """``"3.2x faster"`` / ``"1.5x slower"`` for the second time against the first."""
    if fast_ns <= slow_ns:
        return f"{fmt_ratio(slow_ns / fast_ns)} faster"
    return f"{fmt_ratio(fast_ns / slow_ns)} slower"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --- 1. seed directory vs legacy ------------------------------------------------------------------
def seed_directory_vs_legacy(results: BenchResults) -> Finding:
    question = (
        "Is the seed directory layout faster than legacy for update_entry at 100, 1,000 "
        "and 10,000 entries?"
    )
    rows: list[tuple[str, ...]] = []
    sentences: list[str] = []
    faster: list[str] = []
    slower: list[str] = []
    for size in (100, 1_000, 10_000):
        legacy = _single(results, "legacy", "seed", size)
        directory = _single(results, "directory", "seed", size)
        if legacy is None or directory is None:
            continue
        speedup = legacy.update.p50_ns / directory.update.p50_ns
        reads = directory.seam_calls_per_update.get("read_file", 0.0)
        rows.append(
            (
                fmt_count(size),
                p50(legacy.update),
                p50(directory.update),
                fmt_ratio(speedup),
                "yes" if speedup > 1 else "no",
                f"{reads:g}",
            )
        )
        (faster if speedup > 1 else slower).append(fmt_count(size))
        sentences.append(
            f"at {fmt_count(size)} entries the seed directory update_entry takes "
            f"{fmt_ms(directory.update.p50_ns)} ms (p50) against "
            f"{fmt_ms(legacy.update.p50_ns)} ms for legacy: "
            f"{_faster(legacy.update.p50_ns, directory.update.p50_ns)}, and it reads "
            f"{reads:g} files per update"
        )
    if not rows:
        return Finding(
            "seed-directory-vs-legacy",
            question,
            "Not measured in this run: needs legacy and directory, seed profile, 1 KB "
            "entries, at 100, 1,000 or 10,000 entries.",
        )
    if not slower:
        lead = "Yes, at every size measured."
    elif not faster:
        lead = "No, at no size measured."
    else:
        lead = f"Faster at {_join(faster)} entries; slower at {_join(slower)} entries."
    body = "; ".join(sentences)
    answer = f"{lead} {body[:1].upper()}{body[1:]}."
    table = Table(
        title="Seed profile, 1 KB entries, update_entry p50",
        headers=(
            "entries",
            "legacy ms",
            "directory ms",
            "legacy / directory",
            "directory faster",
            "files read per directory update",
        ),
        rows=tuple(rows),
    )
    return Finding("seed-directory-vs-legacy", question, answer, (table,))


# --- 2. hardened single-file path vs legacy at 10,000 ---------------------------------------------
def hardened_gain(results: BenchResults, size: int = 10_000) -> Finding:
    question = (
        f"How much does the hardened single-file path (hardened directory update_entry) "
        f"gain over legacy at {fmt_count(size)} x 1 KB? (goal: at least {GAIN_GOAL:.0f}x)"
    )
    directory = _single(results, "directory", "hardened", size)
    legacy_h = _single(results, "legacy", "hardened", size)
    legacy_s = _single(results, "legacy", "seed", size)
    if directory is None or (legacy_h is None and legacy_s is None):
        return Finding(
            "hardened-gain",
            question,
            f"Not measured in this run: needs hardened directory and legacy (hardened or "
            f"seed) at {fmt_count(size)} x 1 KB.",
        )
    rows: list[tuple[str, ...]] = []
    parts: list[str] = []
    verdict: str | None = None
    for legacy, label in (
        (legacy_h, "hardened legacy (same durability)"),
        (legacy_s, "seed legacy (no fsync)"),
    ):
        if legacy is None:
            continue
        gain = legacy.update.p50_ns / directory.update.p50_ns
        met = gain >= GAIN_GOAL
        rows.append(
            (
                label,
                p50(legacy.update),
                p50(directory.update),
                fmt_ratio(gain),
                "met" if met else "not met",
            )
        )
        parts.append(
            f"against {label} ({fmt_ms(legacy.update.p50_ns)} ms p50) it is "
            f"{fmt_ratio(gain)} faster, so the {GAIN_GOAL:.0f}x goal is "
            f"{'met' if met else 'not met'}"
        )
        if verdict is None:
            verdict = "met" if met else "not met"
    answer = (
        f"Hardened directory update_entry takes {fmt_ms(directory.update.p50_ns)} ms (p50) "
        f"at {fmt_count(size)} x 1 KB, writing {fmt_bytes(directory.bytes_per_update)} per "
        f"update; " + "; ".join(parts) + ". The verdict counts the first comparison."
    )
    table = Table(
        title=f"Hardened directory vs legacy, {fmt_count(size)} x 1 KB, update_entry p50",
        headers=("against", "legacy ms", "hardened directory ms", "gain", f"≥ {GAIN_GOAL:.0f}x"),
        rows=tuple(rows),
    )
    return Finding("hardened-gain", question, answer, (table,), verdict)


# --- 3. cold load of many files vs one JSON -------------------------------------------------------
def cold_load(results: BenchResults, size: int = 10_000) -> Finding:
    question = f"How much slower is a full cold load of {fmt_count(size)} files than one JSON file?"
    rows: list[tuple[str, ...]] = []
    parts: list[str] = []
    for profile in ("seed", "hardened"):
        legacy = _single(results, "legacy", profile, size)
        directory = _single(results, "directory", profile, size)
        if legacy is None or directory is None:
            continue
        factor = directory.load_cold.p50_ns / legacy.load_cold.p50_ns
        rows.append(
            (
                profile,
                p50(legacy.load_cold),
                p50(directory.load_cold),
                fmt_ratio(factor),
                p50(legacy.load_cached),
                p50(directory.load_cached),
            )
        )
        parts.append(
            f"{profile}: {fmt_ms(directory.load_cold.p50_ns)} ms for the folder against "
            f"{fmt_ms(legacy.load_cold.p50_ns)} ms for sessions.json, so the folder is "
            f"{_faster(legacy.load_cold.p50_ns, directory.load_cold.p50_ns)}"
        )
    if not rows:
        return Finding(
            "cold-load",
            question,
            f"Not measured in this run: needs legacy and directory at {fmt_count(size)} x 1 KB.",
        )
    answer = f"load(skip_cache=True) of {fmt_count(size)} entries (p50) — " + "; ".join(parts) + "."
    table = Table(
        title=f"Full load, {fmt_count(size)} x 1 KB, p50",
        headers=(
            "profile",
            "legacy cold ms",
            "directory cold ms",
            "directory / legacy",
            "legacy cached ms",
            "directory cached ms",
        ),
        rows=tuple(rows),
        note="Cold: load(skip_cache=True); the OS page cache is warm in both.",
    )
    return Finding("cold-load", question, answer, (table,))


# --- 4. p99 under 8 writer processes --------------------------------------------------------------
def _contention_size(results: BenchResults) -> int | None:
    sizes = {c.size for c in results.contention}
    return max(sizes) if sizes else None


def _contention(
    results: BenchResults, layout: str, profile: str, writers: int, mode: str, keys: str
) -> ContentionResult | None:
    size = _contention_size(results)
    for c in results.contention:
        if (c.layout, c.profile, c.size, c.writers, c.mode, c.keys) == (
            layout,
            profile,
            size,
            writers,
            mode,
            keys,
        ):
            return c
    return None


def p99_processes(results: BenchResults) -> Finding:
    size = _contention_size(results)
    candidates = [c for c in results.contention if c.mode == "processes" and c.keys == "distinct"]
    writers = (
        8
        if any(c.writers == 8 for c in candidates)
        else max((c.writers for c in candidates), default=0)
    )
    question = f"What is the update_entry p99 under {writers or 8} writer processes, per layout?"
    rows = sorted(
        (c for c in candidates if c.writers == writers and c.size == size),
        key=lambda c: c.update.p99_ns,
    )
    if not rows:
        return Finding(
            "p99-processes",
            question,
            "Not measured in this run: needs contention cells with writer processes.",
        )
    best, worst = rows[0], rows[-1]
    answer = (
        f"With {writers} writer processes on distinct keys of a {fmt_count(size or 0)}-entry "
        f"store, p99 runs from {fmt_ms(best.update.p99_ns)} ms ({best.layout}/{best.profile}) "
        f"to {fmt_ms(worst.update.p99_ns)} ms ({worst.layout}/{worst.profile}). "
        + " ".join(
            f"{c.layout}/{c.profile}: p99 {fmt_ms(c.update.p99_ns)} ms"
            + (
                f", of which waiting for the lock {fmt_ms(c.lock_acquire.p99_ns)} ms (lock p99)"
                if c.lock_acquire
                else ""
            )
            + f", {fmt_rate(c.throughput_ops_s)} ops/s"
            + (f", {c.errors} errors" if c.errors else "")
            + "."
            for c in rows
        )
    )
    table = Table(
        title=f"{writers} writer processes, distinct keys, {fmt_count(size or 0)} x 1 KB",
        headers=(
            "layout",
            "profile",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ops/s",
            "lock p99 ms",
            "errors",
        ),
        rows=tuple(
            (
                c.layout,
                c.profile,
                p50(c.update),
                p99(c.update),
                fmt_ms(c.update.max_ns),
                fmt_rate(c.throughput_ops_s),
                fmt_ms(c.lock_acquire.p99_ns) if c.lock_acquire else "-",
                str(c.errors),
            )
            for c in rows
        ),
    )
    return Finding("p99-processes", question, answer, (table,))


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


def findings(results: BenchResults) -> list[Finding]:
    """Every question of the report, in reading order."""
    makers: Iterable[Callable[[BenchResults], Finding]] = (
        seed_directory_vs_legacy,
        hardened_gain,
        cold_load,
        p99_processes,
        lock_granularity,
        fsync_cost,
        sqlite_comparison,
        floor_ratio,
        cached_load,
    )
    return [make(results) for make in makers]
