"""Foreign file systems (harness/faults/_foreignfs.py): each emulated rule, the hardened store
keeping every hostile key under each, the seed failing with replay files that replay.

The rules run on pyfakefs and on a real folder (``store_dir``); the explorer runs use a
real folder and a bounded sample of fault points, so the file stays a few seconds.
"""

from __future__ import annotations

import errno
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import StoreFactory

import scenarios
from harness.cli._explore import explore_command
from harness.engine._explorer import (
    ExploreOptions,
    ExploreResult,
    RunResult,
    RunSpec,
    explore,
    run_once,
)
from harness.engine._summary import summarize
from harness.faults._foreignfs import FS_SEMANTICS, foreign_fs
from harness.replay._scenario_replay import load_replay, write_replays
from harness.report import load_crash_summary
from harness.report._crash import crash_tables
from harness.strategies import NAME_HAZARDS
from reference_store import SessionCache
from reference_store.fs import FileSystem

FOREIGN = ("macos", "windows")
NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


def _write(fs: FileSystem, path: str, data: bytes) -> None:
    fs.write_file(path, data)


def _errno(fs: FileSystem, path: str) -> int | None:
    try:
        _write(fs, path, b"x")
    except OSError as exc:
        return exc.errno
    return None


# --- the rules, one by one --------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["CON.json", "con.json", "NUL", "com1.tar.gz", "LPT9.json", "AUX .json", "COM¹"]
)
def test_windows_refuses_reserved_device_names(store_dir: str, name: str) -> None:
    fs = foreign_fs("windows", store_dir)
    assert _errno(fs, os.path.join(store_dir, name)) == errno.EINVAL
    with pytest.raises(OSError) as caught:
        fs.read_file(os.path.join(store_dir, name))
    assert caught.value.errno == errno.EINVAL
    for other in ("linux", "macos"):
        assert _errno(foreign_fs(other, store_dir), os.path.join(store_dir, name)) is None


def test_windows_accepts_names_that_only_contain_a_reserved_word(store_dir: str) -> None:
    fs = foreign_fs("windows", store_dir)
    for name in ("agent%3ACON.json", "CONSOLE.json", "x.CON", "COM10.json"):
        assert _errno(fs, os.path.join(store_dir, name)) is None, name


@pytest.mark.parametrize("char", [*'<>:"|?*\\', "\x01", "\t", "\n", "\x1f"])
def test_windows_refuses_characters_it_does_not_allow(store_dir: str, char: str) -> None:
    path = os.path.join(store_dir, f"a{char}b.json")
    assert _errno(foreign_fs("windows", store_dir), path) == errno.EINVAL
    assert _errno(foreign_fs("linux", store_dir), path) is None


@pytest.mark.parametrize("semantics", FOREIGN)
def test_case_variants_are_one_file_that_keeps_its_first_spelling(
    store_dir: str, semantics: str
) -> None:
    fs = foreign_fs(semantics, store_dir)
    _write(fs, os.path.join(store_dir, "A.json"), b"upper")
    assert fs.read_file(os.path.join(store_dir, "a.json")) == b"upper"
    _write(fs, os.path.join(store_dir, "a.json"), b"lower")
    assert fs.listdir(store_dir) == ["A.json"]
    assert fs.read_file(os.path.join(store_dir, "A.json")) == b"lower"
    # Folders fold too: "Sub/X" and "sub/x" are one path.
    fs.mkdir(os.path.join(store_dir, "Sub"))
    _write(fs, os.path.join(store_dir, "sub", "x"), b"in sub")
    assert fs.read_file(os.path.join(store_dir, "SUB", "X")) == b"in sub"


def test_linux_keeps_case_variants_apart(store_dir: str) -> None:
    fs = foreign_fs("linux", store_dir)
    _write(fs, os.path.join(store_dir, "A.json"), b"upper")
    _write(fs, os.path.join(store_dir, "a.json"), b"lower")
    assert fs.listdir(store_dir) == ["A.json", "a.json"]


def test_a_rename_onto_a_case_variant_replaces_that_file(store_dir: str) -> None:
    fs = foreign_fs("macos", store_dir)
    _write(fs, os.path.join(store_dir, "Alice.json"), b"old")
    _write(fs, os.path.join(store_dir, "tmp"), b"new")
    fs.replace(os.path.join(store_dir, "tmp"), os.path.join(store_dir, "alice.json"))
    assert fs.listdir(store_dir) == ["Alice.json"]
    assert fs.read_file(os.path.join(store_dir, "ALICE.JSON")) == b"new"


def test_macos_stores_nfd_and_finds_both_forms(store_dir: str) -> None:
    fs = foreign_fs("macos", store_dir)
    _write(fs, os.path.join(store_dir, NFC + ".json"), b"nfc")
    assert fs.listdir(store_dir) == [NFD + ".json"]
    assert fs.read_file(os.path.join(store_dir, NFD + ".json")) == b"nfc"
    _write(fs, os.path.join(store_dir, NFD + ".json"), b"nfd")
    assert fs.read_file(os.path.join(store_dir, NFC + ".json")) == b"nfd"
    assert fs.listdir(store_dir) == [NFD + ".json"]


@pytest.mark.parametrize("semantics", ["linux", "windows"])
def test_other_systems_keep_nfc_and_nfd_apart(store_dir: str, semantics: str) -> None:
    fs = foreign_fs(semantics, store_dir)
    _write(fs, os.path.join(store_dir, NFC), b"nfc")
    _write(fs, os.path.join(store_dir, NFD), b"nfd")
    assert sorted(fs.listdir(store_dir)) == sorted([NFC, NFD])


def test_the_255_byte_limit_counts_the_stored_nfd_name_on_macos(store_dir: str) -> None:
    name = "é" * 120 + ".json"  # 245 bytes as NFC, 365 as NFD
    assert len(unicodedata.normalize("NFC", name).encode()) <= 255
    assert _errno(foreign_fs("macos", store_dir), os.path.join(store_dir, name)) == (
        errno.ENAMETOOLONG
    )
    assert _errno(foreign_fs("linux", store_dir), os.path.join(store_dir, name)) is None


@pytest.mark.parametrize("semantics", FS_SEMANTICS)
def test_names_over_255_bytes_and_nul_fail_as_on_a_real_kernel(
    store_dir: str, semantics: str
) -> None:
    # pyfakefs alone takes both; the rules make the fake backend answer like Linux.
    fs = foreign_fs(semantics, store_dir)
    assert _errno(fs, os.path.join(store_dir, "x" * 256)) == errno.ENAMETOOLONG
    assert _errno(fs, os.path.join(store_dir, "x" * 255)) is None
    with pytest.raises(ValueError, match="null"):
        _write(fs, os.path.join(store_dir, "a\x00b"), b"x")


def test_windows_drops_trailing_dots_and_spaces(store_dir: str) -> None:
    fs = foreign_fs("windows", store_dir)
    _write(fs, os.path.join(store_dir, "name. ."), b"dotted")
    assert fs.listdir(store_dir) == ["name"]
    assert fs.read_file(os.path.join(store_dir, "name ")) == b"dotted"
    linux = foreign_fs("linux", store_dir)
    _write(linux, os.path.join(store_dir, "other."), b"kept")
    assert "other." in linux.listdir(store_dir)


def test_windows_pins_open_files(store_dir: str) -> None:
    fs = foreign_fs("windows", store_dir)
    held, other = os.path.join(store_dir, "held.json"), os.path.join(store_dir, "other")
    _write(fs, other, b"other")
    handle = fs.open_write(held)
    actions: list[Callable[[], None]] = [
        lambda: fs.unlink(held),
        lambda: fs.replace(other, held),
        lambda: fs.replace(held, other),
    ]
    for action in actions:
        with pytest.raises(PermissionError) as caught:
            action()
        assert caught.value.errno == errno.EACCES
    fs.close(handle)
    fs.replace(other, held)  # closed: a rename onto it replaces it
    assert fs.read_file(held) == b"other"
    fs.unlink(held)


@pytest.mark.parametrize("semantics", ["linux", "macos"])
def test_posix_systems_rename_and_unlink_open_files(store_dir: str, semantics: str) -> None:
    fs = foreign_fs(semantics, store_dir)
    held, other = os.path.join(store_dir, "held.json"), os.path.join(store_dir, "other")
    _write(fs, other, b"other")
    handle = fs.open_write(held)
    fs.replace(other, held)
    fs.close(handle)
    assert fs.read_file(held) == b"other"


def test_windows_never_renames_onto_a_folder(store_dir: str) -> None:
    fs = foreign_fs("windows", store_dir)
    fs.mkdir(os.path.join(store_dir, "target"))
    fs.mkdir(os.path.join(store_dir, "source"))
    with pytest.raises(PermissionError):
        fs.replace(os.path.join(store_dir, "source"), os.path.join(store_dir, "target"))
    linux = foreign_fs("linux", store_dir)
    linux.replace(os.path.join(store_dir, "source"), os.path.join(store_dir, "target"))
    assert linux.listdir(store_dir) == ["target"]


def test_paths_outside_the_root_are_not_emulated(store_dir: str) -> None:
    inner = os.path.join(store_dir, "emulated")
    os.mkdir(inner)
    fs = foreign_fs("windows", inner)
    _write(fs, os.path.join(store_dir, "CON.json"), b"outside")
    assert _errno(fs, os.path.join(inner, "CON.json")) == errno.EINVAL


# --- the hardened store keeps every hostile key -----------------------------------------
@pytest.mark.parametrize("semantics", FS_SEMANTICS)
@pytest.mark.parametrize("layout", ["directory", "legacy"])
def test_hardened_round_trips_every_hostile_key(
    make_store: StoreFactory, store_dir: str, semantics: str, layout: str
) -> None:
    fs = foreign_fs(semantics, store_dir)
    data = {
        h.key: {"sessionId": f"s{i}", "updatedAt": i + 1, "hazard": h.hazard}
        for i, h in enumerate(NAME_HAZARDS)
    }
    make_store(layout, "hardened", fs=fs, cache=SessionCache()).save(data)
    again = make_store(layout, "hardened", fs=fs, cache=SessionCache())
    assert again.load(skip_cache=True) == data


def _exploration(
    profiles: tuple[str, ...],
    semantics: tuple[str, ...],
    *,
    bound: int,
    variants: tuple[str, ...] = (),
) -> ExploreResult:
    scenario = scenarios.get("keys.hostile")
    if variants:
        scenario = replace(
            scenario, variants=tuple(v for v in scenario.variants if v.name in variants)
        )
    return explore(
        [scenario],
        profiles=profiles,
        backends=("real",),
        options=ExploreOptions(jobs=1, max_points=bound),
        fs_semantics=semantics,
    )


def _explore(
    profile: str, semantics: tuple[str, ...], *, bound: int, variants: tuple[str, ...] = ()
) -> list[RunResult]:
    return _exploration((profile,), semantics, bound=bound, variants=variants).results


@pytest.mark.parametrize("semantics", FS_SEMANTICS)
def test_hardened_keeps_every_hostile_key_under_every_file_system(semantics: str) -> None:
    runs = _explore("hardened", (semantics,), bound=2)
    assert {r.spec.semantics for r in runs} == {semantics}
    every_variant = {v.name for v in scenarios.get("keys.hostile").variants}
    assert {r.spec.variant for r in runs} == every_variant
    bad = [(r.spec.variant, r.spec.describe(), r.violations[:2]) for r in runs if r.violations]
    assert not bad, bad[:3]


# --- the seed: violations with replay files that replay ---------------------------------
#: (variant, semantics, a violation kind it must show, text its detail must hold)
SEED_FINDINGS = [
    ("save-reserved", "windows", "baseline", "reserved device name on windows: CON"),
    ("save-control", "windows", "baseline", "characters windows refuses"),
    ("save-case", "macos", "acked-write-lost", "telegram:direct:alice"),
    ("save-case", "windows", "acked-write-lost", "telegram:direct:alice"),
    ("save-unicode", "macos", "acked-write-lost", "caf"),
    ("save-length", "linux", "baseline", "ENAMETOOLONG"),
]


@pytest.mark.parametrize(
    ("variant", "semantics", "kind", "detail"),
    SEED_FINDINGS,
    ids=[f"{v}-{s}" for v, s, _k, _d in SEED_FINDINGS],
)
def test_seed_breaks_with_a_replay_file_that_replays(
    variant: str, semantics: str, kind: str, detail: str, tmp_path: Path
) -> None:
    runs = _explore("seed", (semantics,), bound=1, variants=(variant,))
    hits = [r for r in runs if any(v.kind == kind and detail in v.detail for v in r.violations)]
    assert hits, [(r.spec.describe(), r.violations) for r in runs]
    written = write_replays(str(tmp_path), hits)
    assert any(f"--{variant}--directory--seed--" in p for p in written)
    if semantics != "linux":
        assert all(f"--{semantics}--" in p for p in written)
    for path in written:
        replay = load_replay(path)
        assert replay.spec.semantics == semantics
        rerun = run_once(scenarios.get("keys.hostile"), replay.spec)
        assert [op.to_json() for op in rerun.trace] == replay.raw["trace"]
        assert replay.violation in rerun.violations


def test_pyfakefs_refuses_long_names_like_a_real_kernel() -> None:
    # pyfakefs alone takes a 300-byte name; under the Linux rules the seed's long key
    # fails there as it does on a real folder.
    spec = RunSpec("keys.hostile", "save-length", "directory", "seed", "fake")
    kinds = {v.kind: v.detail for v in run_once(scenarios.get("keys.hostile"), spec).violations}
    assert "ENAMETOOLONG" in kinds["baseline"]


def test_the_same_collision_passes_on_linux() -> None:
    # The case pair and the NFC/NFD pair are two files on Linux: only the emulation
    # makes the seed lose one, so the violations above are the file system's doing.
    runs = _explore("seed", ("linux",), bound=1, variants=("save-case", "save-unicode"))
    baselines = [r for r in runs if r.spec.family == "baseline"]
    assert len(baselines) == 2 and not [r for r in baselines if r.violations]


def test_traces_are_the_same_on_pyfakefs_and_a_real_folder() -> None:
    scenario = scenarios.get("keys.hostile")
    spec = RunSpec("keys.hostile", "save", "directory", "seed", "real", semantics="windows")
    real = run_once(scenario, spec)
    fake = run_once(scenario, RunSpec(**{**spec.__dict__, "backend": "fake"}))
    assert [op.to_json() for op in real.trace] == [op.to_json() for op in fake.trace]
    assert real.violations == fake.violations and real.violations


def test_run_specs_carry_their_semantics_and_old_ones_mean_linux() -> None:
    spec = RunSpec("keys.hostile", "save", "directory", "seed", "real", semantics="macos")
    raw = spec.to_json()
    assert raw["fs_semantics"] == "macos" and RunSpec.from_json(raw) == spec
    del raw["fs_semantics"]
    assert RunSpec.from_json(raw).semantics == "linux"


# --- summary, report and command line ---------------------------------------------------
def test_promise_tables_have_one_per_file_system(tmp_path: Path) -> None:
    result = _exploration(
        ("seed", "hardened"), ("linux", "windows"), bound=1, variants=("save-reserved",)
    )
    path = tmp_path / "crash-summary.json"
    summarize(result).write(str(path))
    crash = load_crash_summary(path)
    assert crash is not None and not crash.error
    tables = {t.title: t for t in crash_tables(crash)}
    windows = tables["Promises x fault families, windows file names"]
    rows = {row[:2]: dict(zip(windows.headers, row, strict=True)) for row in windows.rows}
    stored = "every valid key is stored without a fault"
    assert rows[(stored, "directory/seed")]["verdict"] == "BROKEN"
    assert rows[(stored, "directory/hardened")]["verdict"] == "kept"
    assert "Promises x fault families" in tables
    assert "file names" in tables["Crash scenarios"].headers


def test_explore_command_runs_under_a_foreign_file_system(tmp_path: Path) -> None:
    out, replays = tmp_path / "out", tmp_path / "replays"
    args = ["-s", "keys.hostile", "--layout", "directory", "--profile", "seed"]
    args += ["--fs-semantics", "windows", "--backend", "real", "-j", "1", "--max-points", "1"]
    args += ["--out", str(out), "--replays", str(replays), "-q", "--fail-on", "seed"]
    result = CliRunner().invoke(explore_command, args)
    assert result.exit_code == 1, result.output
    summary = json.loads((out / "crash-summary.json").read_text())
    assert {r["fs_semantics"] for r in summary["runs"]} == {"windows"}
    assert any("--windows--" in p.name for p in replays.iterdir())
    refused = CliRunner().invoke(explore_command, [*args[:-2], "--mode", "kill"])
    assert refused.exit_code == 2 and "--fs-semantics" in refused.output
