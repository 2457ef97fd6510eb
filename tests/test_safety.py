"""Harness safety: temp roots only, hung and crashing stores contained, a canary untouched.

The promises are written in ``harness/_roots.py`` (where the harness may write and what
it may remove) and ``harness/engine/_contain.py`` (a store that hangs or kills its process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from mutants import by_name

import scenarios
from harness._roots import (
    MARKER,
    UnsafePathError,
    is_inside_root,
    make_root,
    remove_root,
    require_root,
    temp_root,
)
from harness.cli import main
from harness.engine._contain import ContainedError, run_contained
from harness.engine._explorer import ExploreOptions, explore
from harness.replay._scenario_replay import write_replays

PROJECT = Path(__file__).resolve().parents[1]


# --- temp roots -------------------------------------------------------------------------
def test_a_temp_root_is_marked_empty_and_removed_whole() -> None:
    with temp_root("test") as work:
        root = os.path.dirname(work)
        assert os.listdir(work) == []
        assert os.path.isfile(os.path.join(root, MARKER))
        assert os.path.basename(root).startswith("store-harness-test-")
        inner = os.path.join(work, "a", "b")
        os.makedirs(inner)
        assert is_inside_root(work) and is_inside_root(inner)
        assert not is_inside_root(root)  # the marker's own folder is not a work folder
        remove_root(inner)  # a folder inside a root: just that folder
        assert os.listdir(work) == ["a"]
    assert not os.path.exists(root)


def test_nothing_the_harness_did_not_create_is_removed(tmp_path: Path) -> None:
    mine = tmp_path / "work"  # named like a work folder, but no marker beside it
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    for path in (mine, tmp_path, mine / "keep.txt"):
        with pytest.raises(UnsafePathError, match="not inside a temp root"):
            remove_root(str(path))
    assert (mine / "keep.txt").read_text() == "mine"


def test_a_folder_of_the_caller_needs_explicit_consent(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="allow_foreign=True"):
        require_root(str(tmp_path))
    require_root(str(tmp_path), allow_foreign=True)
    work = make_root("test")
    try:
        require_root(work)
    finally:
        remove_root(work)


# --- containment ------------------------------------------------------------------------
_FOREVER = threading.Event()


def _numbers(items: Sequence[int], started: Callable[[int], None]) -> Iterator[tuple[int, int]]:
    for i, item in enumerate(items):
        started(i)
        if item == -1:
            _FOREVER.wait()  # a store that never returns
        if item == -2:
            os._exit(3)  # a store that takes its process down
        yield i, item * 10


def _lost(item: int, kind: str, detail: str) -> int:
    assert kind in ("hung", "died") and detail
    return -100 if kind == "hung" else -200


@pytest.mark.parametrize("jobs", [1, 2])
def test_contained_batches_lose_only_the_item_that_hangs_or_dies(jobs: int) -> None:
    batches = [[1, 2, -1, 3], [4, -2, 5], [], [6]]
    done: list[int] = []
    results = run_contained(
        batches, _numbers, _lost, jobs=jobs, timeout_s=5.0, progress=done.append
    )
    assert results == [[10, 20, -100, 30], [40, -200, 50], [], [60]]
    assert sum(done) == 8  # every item once, lost ones included


def _broken(items: Sequence[int], started: Callable[[int], None]) -> Iterator[tuple[int, int]]:
    started(0)
    raise KeyError("a bug of the harness itself")
    yield 0, 0  # pragma: no cover - makes this a generator


def test_an_error_of_the_harness_is_raised_not_blamed_on_the_store() -> None:
    with pytest.raises(ContainedError, match="KeyError: 'a bug of the harness itself'"):
        run_contained([[1]], _broken, _lost, jobs=1, timeout_s=5.0)


def _corrupt_entry_runs(mutant: str, variants: tuple[str, ...]) -> list:  # type: ignore[type-arg]
    scenario = scenarios.get("corrupt-entry")
    chosen = [v for v in scenario.variants if v.name in variants]
    from dataclasses import replace

    result = explore(
        [replace(scenario, variants=tuple(chosen))],
        profiles=("hardened",),
        backends=("real",),
        options=ExploreOptions(jobs=2, max_points=3, run_timeout=3.0),
        target=by_name(mutant).target(),
    )
    return result.results


def test_a_store_that_hangs_is_stopped_and_reported(tmp_path: Path) -> None:
    runs = _corrupt_entry_runs("wait-for-whole-file", ("truncated", "garbage"))
    hung = [r for r in runs if any(v.kind == "hung" for v in r.violations)]
    assert [(r.spec.variant, r.spec.family) for r in hung] == [("truncated", "baseline")]
    assert "no answer within 3 s" in hung[0].violations[0].detail
    # The other variant was explored as usual, fault points and all.
    garbage = [r for r in runs if r.spec.variant == "garbage"]
    assert len(garbage) > 1 and not any(r.violations for r in garbage)

    (path,) = write_replays(str(tmp_path), hung)
    from click.testing import CliRunner

    again = CliRunner().invoke(main, ["replay", path, "--run-timeout", "2"])
    assert again.exit_code == 1, again.output
    assert "hung" in again.output and "no answer within 2 s" in again.output


def test_a_store_that_kills_its_process_is_contained() -> None:
    runs = _corrupt_entry_runs("crash-on-bad-utf8", ("non-utf8", "truncated"))
    crashed = [r for r in runs if any(v.kind == "store-crashed" for v in r.violations)]
    assert [(r.spec.variant, r.spec.family) for r in crashed] == [("non-utf8", "baseline")]
    assert "SIGSEGV" in crashed[0].violations[0].detail
    assert len([r for r in runs if r.spec.variant == "truncated"]) > 1


# --- the canary -------------------------------------------------------------------------
def _tree(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file and folder below ``folder``: (mode, mtime_ns, content)."""
    found: dict[str, tuple[int, int, bytes]] = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        found[str(path.relative_to(folder))] = (st.st_mode, st.st_mtime_ns, data)
    return found


def _plant_canary(canary: Path) -> None:
    (canary / "sessions.d").mkdir(parents=True)
    (canary / "sessions.json").write_text('{"agent:main:x": {"sessionId": "s", "updatedAt": 1}}')
    (canary / "sessions.d" / "agent%3Amain%3Ay.json").write_text('{"sessionId": "y"}')
    (canary / "notes.tmp").write_text("a temp-looking file that is not the harness's")
    os.symlink(canary / "sessions.json", canary / "link.json")


@pytest.mark.real_only
def test_main_commands_touch_nothing_outside_their_temp_roots(tmp_path: Path) -> None:
    """Explore (both backends, foreign file names), real kills, the gate with its checks
    and on two seeded bugs whose runs are killed, a replay and a bench run, started in a
    canary folder with the temp folder beside another: afterwards the canary is
    byte-for-byte unchanged and no temp root is left."""
    canary, sandbox_tmp, out = tmp_path / "canary", tmp_path / "tmp", tmp_path / "out"
    _plant_canary(canary)
    sandbox_tmp.mkdir()
    (sandbox_tmp / "someone-elses.txt").write_text("not the harness's")
    # Two seeded bugs whose runs are killed (one hangs, one kills its process): what
    # they were writing must go with them.
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "killed_catalog.py").write_text(
        "from mutants import by_name\n"
        "MUTANTS = (by_name('wait-for-whole-file'), by_name('crash-on-bad-utf8'))\n"
    )
    before = _tree(canary)
    env = {
        **os.environ,
        "TMPDIR": str(sandbox_tmp),
        "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "tests"), str(catalog)]),
    }
    env.pop("STORE_HARNESS_MACHINE_FAILURES", None)
    cli = [sys.executable, "-c", "from harness.cli import main; main()"]

    def run(*args: str, expect: int = 0) -> None:
        done = subprocess.run(
            [*cli, *args],
            check=False,
            cwd=canary,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == expect, (args, done.stdout[-2000:], done.stderr[-2000:])

    common = ["-j", "2", "-q"]
    run("explore", "-s", "update.kill", "-s", "corrupt-entry", "--backend", "both",
        "--fs-semantics", "all", "--max-points", "2", "--out", str(out / "explore"),
        "--replays", str(out / "replays"), *common)  # fmt: skip
    run("explore", "--mode", "kill", "-s", "update.kill", "--layout", "legacy", "--profile",
        "hardened", "--kill-points", "2", "--random-kills", "1", "--out", str(out / "kill"),
        "--replays", str(out / "kill-replays"), *common)  # fmt: skip
    run("gate", "--store", "reference", "--profile", "seed", "-s", "update.kill", "-s",
        "machine", "-s", "concurrency", "--layout", "directory", "--max-points", "2",
        "--machine-examples", "5", "--out", str(out / "gate"), *common, expect=1)  # fmt: skip
    replays = sorted((out / "gate" / "replays" / "real").glob("*.json"))
    assert any(p.name.startswith("machine--") for p in replays)
    for replay in (replays[0], replays[-1]):
        run("replay", str(replay), expect=1)
    run("gate", "--mutants", "killed_catalog:MUTANTS", "--mutant-scope", "claimed",
        "--run-timeout", "3", "--max-points", "2", "--out", str(out / "mutants"),
        *common)  # fmt: skip
    run("bench", "-l", "directory", "-p", "hardened", "-s", "10", "--entry-size", "1KB",
        "--part", "single", "--ops", "2", "--out", str(out / "bench.json"), "-q")  # fmt: skip

    assert _tree(canary) == before
    assert [p.name for p in sandbox_tmp.iterdir()] == ["someone-elses.txt"]
    summary = json.loads((out / "explore" / "crash-summary.json").read_text())
    assert {r["fs_semantics"] for r in summary["runs"]} == {"linux", "macos", "windows"}
