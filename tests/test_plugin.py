"""The pytest plugin: idle without ``--store-impl``, a gate of a third-party store with it,
and its fixtures."""

from __future__ import annotations

import errno
import os
import textwrap
from collections.abc import Callable

import pytest

from harness.engine._target import REFERENCE, StoreTarget
from harness.faultfs import FaultFileSystem, FaultPlan, SimulatedCrash
from harness.gate import GateResult
from harness.pytest_plugin import SeamRoot

pytest_plugins = ["pytester"]

#: a store package as a user would write it: the hardened reference store behind their
#: own factory, and a broken twin (the seed profile, which tears multi-entry updates)
TINY_STORE = textwrap.dedent(
    """
    from reference_store import migrate as _migrate, open_store as _open_store

    PROFILE = "hardened"

    def open_store(store_path, layout="auto", profile=None, fs=None, **kwargs):
        return _open_store(store_path, layout, PROFILE, fs, **kwargs)

    def migrate(store_path, profile=None, fs=None, **kwargs):
        return _migrate(store_path, PROFILE, fs, **kwargs)
    """
)
GATE_ARGS = (
    "-p",
    "store_harness",
    "--store-scenario",
    "update.kill",
    "--store-scenario",
    "case-variant-keys",
    "--store-max-points",
    "5",
)


def _tiny_store_package(pytester: pytest.Pytester) -> None:
    package = pytester.mkpydir("tinystore")
    (package / "__init__.py").write_text(TINY_STORE, encoding="utf-8")
    broken = TINY_STORE.replace('PROFILE = "hardened"', 'PROFILE = "seed"')
    (package / "broken.py").write_text(broken, encoding="utf-8")
    pytester.makepyfile(test_own="def test_their_own_suite():\n    assert True\n")


def test_plugin_collects_and_imports_nothing_without_store_impl(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_harness_not_loaded():
            loaded = [m for m in ("harness.gate", "harness.engine._explorer", "scenarios")
                      if m in sys.modules]
            assert loaded == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "store_harness")
    result.assert_outcomes(passed=1)
    assert "store-harness:" not in result.stdout.str()


def test_third_party_store_is_gated_through_the_plugin(pytester: pytest.Pytester) -> None:
    _tiny_store_package(pytester)
    good = pytester.runpytest_subprocess("--store-impl", "tinystore:open_store", *GATE_ARGS)
    good.assert_outcomes(passed=4)  # three configurations and the package's own test
    good.stdout.fnmatch_lines(["store-harness: tinystore:open_store, profile hardened*"])

    broken = pytester.runpytest_subprocess(
        "--store-impl", "tinystore.broken:open_store", *GATE_ARGS, "-rf"
    )
    broken.assert_outcomes(passed=1, failed=3)
    broken.stdout.fnmatch_lines(
        [
            "*update.kill*default-directory-real*half-applied*",
            "*replay files (store-harness replay FILE):*",
            "*store-harness-replays*update.kill--default--directory--*.json",
        ]
    )
    assert broken.ret == pytest.ExitCode.TESTS_FAILED


def test_plugin_collects_the_gate_checks_per_layout(pytester: pytest.Pytester) -> None:
    _tiny_store_package(pytester)
    checks = ("-p", "store_harness", "--store-scenario", "machine", "--store-scenario", "con*")
    good = pytester.runpytest_subprocess("--store-impl", "tinystore:open_store", *checks, "-v")
    good.assert_outcomes(passed=6)  # machine x 3 layouts, concurrency x 2, their own test
    good.stdout.fnmatch_lines(
        [
            "*store-harness::machine?stateful-legacy-real? PASSED*",
            "*store-harness::concurrency?processes-directory-real? PASSED*",
        ]
    )
    broken = pytester.runpytest_subprocess(
        "--store-impl", "tinystore.broken:open_store", *checks, "-k", "machine and directory"
    )
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(
        ["*shrunk example (Hypothesis):*", "*reproduce: store-harness replay *machine--*.json"]
    )


def test_plugin_items_spread_over_xdist_and_select_with_k(pytester: pytest.Pytester) -> None:
    _tiny_store_package(pytester)
    result = pytester.runpytest_subprocess(
        "--store-impl", "tinystore:open_store", *GATE_ARGS, "-n", "2", "-k", "update"
    )
    result.assert_outcomes(passed=2)


def test_a_bad_store_impl_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--store-impl", "no_such_store_pkg:open_store")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--store-impl: cannot import 'no_such_store_pkg'*"])


# --- fixtures ----------------------------------------------------------------------------------
def test_harness_seam_gives_an_empty_folder_on_each_backend(harness_seam: SeamRoot) -> None:
    assert harness_seam.fs.listdir(harness_seam.root) == []
    harness_seam.fs.write_file(harness_seam.path("a.json"), b"{}")
    assert harness_seam.fs.read_file(harness_seam.path("a.json")) == b"{}"
    on_fake = harness_seam.root.startswith("/harness/")
    assert on_fake == (harness_seam.backend == "fake")


def test_fault_fs_records_and_crashes(fault_fs: Callable[..., FaultFileSystem]) -> None:
    recorder = fault_fs()
    target = os.path.join(recorder.root, "x")
    recorder.write_file(target, b"data")
    assert [op.name for op in recorder.trace][:2] == ["open_write", "write"]

    crashing = fault_fs(FaultPlan(crash_at=1))
    with pytest.raises(SimulatedCrash):
        crashing.write_file(os.path.join(crashing.root, "y"), b"data")

    failing = fault_fs(FaultPlan(errors=((1, "EIO"),)))
    with pytest.raises(OSError) as raised:
        failing.read_file(target)
    assert raised.value.errno == errno.EIO


def test_store_target_defaults_to_the_reference_store(store_target: StoreTarget) -> None:
    assert store_target is REFERENCE


def test_explore_store_runs_the_gate(explore_store: Callable[..., GateResult]) -> None:
    clean = explore_store("stale-staging", max_points=3)
    assert clean.passed and clean.cases
    broken = explore_store("update.kill", profile="seed", max_points=3)
    assert not broken.passed and broken.caught_by() == ("update.kill",)
    assert all(os.path.exists(p) for c in broken.failed for p in c.replays)
