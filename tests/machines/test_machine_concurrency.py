"""The concurrency checker: threads and processes race on a real folder; the history
shows lost updates and stale reads. Nothing here depends on timing: the phased schedule
orders the racy steps with barriers, and the checks are sound for any interleaving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness._roots import UnsafePathError, temp_root
from harness.checks._concurrency import Event, check_history, run_concurrency

pytestmark = pytest.mark.real_only


@pytest.fixture
def folder() -> Iterator[str]:
    """A harness temp root: run_concurrency writes a store only into one of those."""
    with temp_root("test-concurrency") as root:
        yield root


def test_a_folder_the_harness_did_not_create_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UnsafePathError, match="did not create"):
        run_concurrency(str(tmp_path), "legacy", "hardened", rounds=1)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("layout", "schedule"),
    [
        ("legacy", "free"),
        ("directory", "free"),
        ("directory", "phased"),
        ("sqlite", "free"),
    ],
)
def test_hardened_history_is_clean(folder: str, layout: str, schedule: str) -> None:
    report = run_concurrency(folder, layout, "hardened", schedule=schedule, rounds=4)
    assert report.violations == [], report.describe()
    assert report.final_count == report.ok_increments > 0


def test_finds_the_seed_route_stale_read(folder: str) -> None:
    """HAZARD(fresh_route_read): a route worker process fills its cache, other workers
    increment, its ``update_last_route`` then writes on the cached entry."""
    report = run_concurrency(folder, "directory", "seed", schedule="phased", rounds=3)
    kinds = {v.kind for v in report.violations}
    assert kinds == {"stale-read", "lost-update"}, report.describe()
    assert any(
        v.kind == "stale-read" and v.detail.startswith("route by p0 based its write on")
        for v in report.violations
    )
    assert report.final_count is not None and report.final_count < report.ok_increments


def _events(*rows: tuple[str, int, str, str, int, int | None, str | None]) -> list[Event]:
    return [Event(w, op, t, f, ts, count, to) for w, op, t, f, ts, count, to in rows]


def test_checker_accepts_a_linearizable_history() -> None:
    events = _events(
        ("a", 1, "invoke", "incr", 1, None, None),
        ("b", 1, "invoke", "incr", 2, None, None),
        ("a", 1, "ok", "incr", 3, 1, None),
        ("b", 1, "ok", "incr", 4, 2, None),
        ("c", 1, "invoke", "read", 5, None, None),
        ("c", 1, "ok", "read", 6, 2, None),
    )
    assert check_history(events, final=2) == []


def test_checker_counts_an_ok_increment_that_returned_no_entry() -> None:
    """A store with no lock whose ``update_entry`` answers ``None`` once passed as "24 ok
    increments, final count 0": such results were skipped, so nothing was acknowledged."""
    events = _events(
        ("a", 1, "invoke", "incr", 1, None, None),
        ("a", 1, "ok", "incr", 2, None, None),
        ("b", 1, "invoke", "incr", 3, None, None),
        ("b", 1, "ok", "incr", 4, None, None),
    )
    kinds = [v.kind for v in check_history(events, final=0, final_read=True)]
    assert kinds == ["wrong-result", "wrong-result", "lost-update"]
    gone = check_history(events, final=None, final_read=True)
    assert [v.kind for v in gone][-1] == "lost-update"  # the counter itself vanished
    assert "gone" in gone[-1].detail
    assert [v.kind for v in check_history(events)] == ["wrong-result", "wrong-result"]


def test_checker_names_lost_updates_and_stale_reads() -> None:
    events = _events(
        ("a", 1, "invoke", "incr", 1, None, None),
        ("a", 1, "ok", "incr", 2, 1, None),
        ("b", 1, "invoke", "incr", 3, None, None),
        ("b", 1, "ok", "incr", 4, 1, None),  # began after a's ok, wrote the same count
        ("c", 1, "invoke", "read", 5, None, None),
        ("c", 1, "ok", "read", 6, 0, None),  # older than a completed increment
    )
    violations = check_history(events, final=1)
    kinds = [v.kind for v in violations]
    assert kinds.count("lost-update") == 2  # duplicate count, and final 1 < 2 acked
    assert kinds.count("stale-read") == 2  # b's increment and c's read


def test_checker_allows_uncertain_increments() -> None:
    events = _events(
        ("a", 1, "invoke", "incr", 1, None, None),
        ("a", 1, "info", "incr", 2, None, None),
        ("b", 1, "invoke", "incr", 3, None, None),
        ("b", 1, "ok", "incr", 4, 2, None),
    )
    assert check_history(events, final=2) == []
    assert [v.kind for v in check_history(events, final=3)] == ["lost-update"]
