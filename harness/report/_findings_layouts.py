"""Findings 1-4: the layouts against each other -- seed directory vs legacy, the hardened
gain at 10,000 entries, a cold load of many files vs one JSON, p99 under 8 writers.
"""

from __future__ import annotations

from ._finding import GAIN_GOAL, Finding, _faster, _join, _single
from ._format import fmt_bytes, fmt_count, fmt_ms, fmt_rate, fmt_ratio
from ._results import BenchResults, ContentionResult
from ._tables import Table, p50, p99

__all__ = [
    "cold_load",
    "hardened_gain",
    "p99_processes",
    "seed_directory_vs_legacy",
]


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
