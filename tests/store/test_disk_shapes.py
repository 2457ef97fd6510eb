"""Every path the store owns, in every shape it can be found in (issue 23).

The matrix and the reference store's outcome of each cell are data, once, in
``scenarios/_disk_shapes.py``; docs/foreign-files.md shows them as tables rendered from
it. Here: each cell (row x layout x profile) runs on both backends and must match
(``tests/shape_cells.py`` says how a cell runs and what its codes mean); ``hardened``
must be safe in each whatever the table says; the page must show the data; the mode
rows run again as a user who is not root; and the ``disk-shapes`` scenario judges the
same rows: clean on ``hardened``, a violation wherever the seed's cell is a crash, a
hang or a loss it can see, with replay files that replay.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from shape_cells import NO_FOLDER, Observed, observe, observe_contained

import scenarios
from harness.engine._explorer import RunSpec, run_once
from harness.replay._scenario_replay import load_replay, write_replays
from reference_store import StoreError, StorePathError, open_store
from scenarios._disk_shapes import (
    DOC,
    LAYOUTS,
    OUTCOMES,
    PATHS,
    PROFILES,
    ROWS,
    documented_block,
    is_hazard,
    outcome,
    render_table,
)

MODE_SHAPES = ("unreadable", "read-only-parent")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
NOBODY = 65534
TESTS = Path(__file__).resolve().parents[1]
#: the child's script: what ``nobody`` must be able to read for the run as that user
CELLS = TESTS / "shape_cells.py"


# --- the data and the page -----------------------------------------------------------------------
def test_every_row_has_one_outcome_per_layout_and_profile() -> None:
    assert set(OUTCOMES) == set(ROWS)
    for row, (seed, hardened) in OUTCOMES.items():
        for cells in (seed, hardened):
            assert len(cells.split(" | ")) == len(LAYOUTS), row


def test_the_page_shows_the_table_of_the_data() -> None:
    shown = documented_block(DOC.read_text(encoding="utf-8"))
    assert shown, f"{DOC} has no generated disk-shapes block"
    assert shown == render_table(), (
        "docs/foreign-files.md differs from scenarios/_disk_shapes.py: run "
        "`.venv/bin/python -m scenarios._disk_shapes --write`"
    )


def test_hardened_shows_no_hazard_in_the_table() -> None:
    bad = [
        (path, shape, layout, outcome(path, shape, "hardened", layout))
        for path, shape in ROWS
        for layout in LAYOUTS
        if is_hazard(outcome(path, shape, "hardened", layout))
    ]
    assert not bad


# --- the cells ---------------------------------------------------------------------------------
def _skip_reason(shape: str, layout: str, backend: str) -> str | None:
    if layout == "sqlite" and backend == "fake":
        return "SQLite does its own I/O, which pyfakefs cannot see"
    if layout == "sqlite" and shape in MODE_SHAPES and IS_ROOT:
        return (
            "root: SQLite does its own I/O, which no seam can put under a non-root user's "
            "permission checks; test_mode_rows_as_a_user_who_is_not_root runs this cell"
        )
    return None


@pytest.mark.parametrize(("path_id", "shape"), ROWS, ids=[f"{p}.{s}" for p, s in ROWS])
def test_row(store_dir: str, backend: str, path_id: str, shape: str) -> None:
    """Every cell of one row (each layout and profile) on this backend, each in a folder
    of its own; the message lists every cell that differs from the table."""
    wrong: list[str] = []
    for profile in PROFILES:
        for layout in LAYOUTS:
            if _skip_reason(shape, layout, backend):
                continue
            root = os.path.join(os.path.dirname(store_dir), f"{profile}-{layout}")
            if layout == "sqlite" and shape == "fifo":
                observed = Observed(observe_contained(root, path_id, shape, profile, layout))
            else:
                observed = observe(root, path_id, shape, profile, layout)
            expected = outcome(path_id, shape, profile, layout)
            if backend == "fake":
                expected = FAKE_ANSWERS.get((path_id, shape, profile, layout), (expected, ""))[0]
            if observed.text != expected:
                wrong.append(
                    f"{profile}/{layout}: observed {observed.text!r}, the table says "
                    f"{expected!r} (error: {observed.error!r})"
                )
            elif profile == "hardened":
                wrong += [
                    f"hardened/{layout}: {problem}"
                    for problem in hardened_problems(observed, path_id, shape, root)
                ]
    assert not wrong, f"{path_id} / {shape} on {backend}:\n" + "\n".join(wrong)


#: cells where pyfakefs answers otherwise than Linux does (the seed meets the raw errno)
FAKE_ANSWERS: dict[tuple[str, str, str, str], tuple[str, str]] = {
    **{
        ("lock", "folder", "seed", layout): (
            "EISDIR@write; kept",
            "O_CREAT|O_EXCL on a folder: EISDIR from pyfakefs, EEXIST from Linux",
        )
        for layout in ("legacy", "directory", "auto")
    },
    ("store-file", "folder", "seed", "legacy"): (
        "ENOTEMPTY@write; kept",
        "a rename over a folder holding a file: ENOTEMPTY from pyfakefs, EISDIR from Linux",
    ),
    ("store-file", "folder", "seed", "auto"): (
        "EBADF@open; kept",
        "read() of a folder opened O_RDONLY: EBADF from pyfakefs, EISDIR from Linux",
    ),
    ("staging", "link-outside", "seed", "auto"): (
        "ENOTDIR@open; kept, followed, deleted",
        "an unlink leaves its folder's mtime alone in pyfakefs: the write out of the store's "
        "folder shows only as the planted bytes gone",
    ),
}


def hardened_problems(observed: Observed, path_id: str, shape: str, root: str) -> list[str]:
    """What hardened promises on every row, whatever the table says (empty: kept)."""
    problems: list[str] = []
    if is_hazard(observed.text):
        problems.append(f"a hazard: {observed.text}")
    error = observed.error
    if error is not None and not isinstance(error, StoreError):
        problems.append(f"not a store error: {error!r}")
    if isinstance(error, StorePathError):
        if not os.path.abspath(error.path).startswith(os.path.abspath(root)):
            problems.append(f"names a path not the store's: {error}")
        if error.path not in str(error) or not error.advice:
            problems.append(f"does not say which path and what to do: {error}")
    # Only what the store may count as its own goes: an empty file at one of its names,
    # a stale folder at its staging name.
    own = shape == "empty" or (path_id == "staging" and shape == "case")
    if "removed" in observed.text and not own:
        problems.append(f"deleted what it does not own: {observed.text}")
    return problems


# --- a user who is not root -------------------------------------------------------------------
MODE_CELLS = [
    (path, shape, profile, layout)
    for path, shape in ROWS
    if shape in MODE_SHAPES
    for profile in PROFILES
    for layout in LAYOUTS
]


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[dict[tuple[str, str, str, str], str]]:
    """Every mode cell, observed on a real folder by ``nobody`` (one child process)."""
    if not IS_ROOT:
        pytest.skip("not root: test_cell already meets this user's own permission checks")
    if SETPRIV is None:
        pytest.skip("setpriv is missing: cannot run a child as a user who is not root")
    user = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    # A checkout below a folder only its owner may enter (``mktemp -d`` makes one) is out
    # of nobody's reach, the project's code included: the machine does not allow the run.
    probe = subprocess.run(
        [*user, sys.executable, "-c", "import sys; open(sys.argv[1]).close()", str(CELLS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
        env=env,
    )
    if probe.returncode != 0 and "Permission denied" in probe.stderr:
        pytest.skip(
            "nobody cannot read the project (a parent folder is closed to other users): "
            "the mode rows ran under the emulated permission checks only"
        )
    folder = tempfile.mkdtemp(prefix="disk-shapes-")
    try:
        os.chmod(folder, 0o755)
        os.chown(folder, NOBODY, NOBODY)
        child = subprocess.run(
            [
                *user,
                sys.executable,
                str(CELLS),
                folder,
                json.dumps(MODE_CELLS),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=folder,
            env=env,
        )
        if child.returncode != 0:
            pytest.fail(f"the child as nobody failed:\n{child.stderr[-3000:]}")
        texts = json.loads(child.stdout)
        yield dict(zip(MODE_CELLS, texts, strict=True))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.real_only
@pytest.mark.parametrize(
    ("path_id", "shape"),
    [r for r in ROWS if r[1] in MODE_SHAPES],
    ids=[f"{p}.{s}" for p, s in ROWS if s in MODE_SHAPES],
)
def test_mode_rows_as_a_user_who_is_not_root(
    as_nobody: dict[tuple[str, str, str, str], str], path_id: str, shape: str
) -> None:
    """The emulated checks and a real kernel's give the same cells."""
    wrong = {
        (profile, layout): (as_nobody[(path_id, shape, profile, layout)], expected)
        for profile in PROFILES
        for layout in LAYOUTS
        if (expected := outcome(path_id, shape, profile, layout))
        != as_nobody[(path_id, shape, profile, layout)]
    }
    assert not wrong, f"(observed, the table) as nobody: {wrong}"


# --- the issue's own example ---------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["auto", "directory"])
def test_a_file_named_sessions_d_is_moved_aside_and_reported(store_dir: str, layout: str) -> None:
    store_path = os.path.join(store_dir, "sessions.json")
    Path(store_path).write_text('{"agent:main:a": {"sessionId": "a", "updatedAt": 1}}')
    Path(store_dir, "sessions.d").write_text("not a folder")

    store = open_store(store_path, layout, "hardened")
    try:
        store.update(lambda m: m.__setitem__("agent:main:b", {"sessionId": "b", "updatedAt": 2}))
        assert "agent:main:b" in store.load(skip_cache=True)
        (problem,) = [p for p in store.problems if p.path.endswith("sessions.d")]
        assert "moved aside to" in problem.reason
    finally:
        store.close()
    asides = [n for n in os.listdir(store_dir) if n.startswith("sessions.d.corrupt.")]
    assert [Path(store_dir, n).read_text() for n in asides] == ["not a folder"]


def test_a_refusal_says_which_path_and_what_to_do(store_dir: str) -> None:
    store_path = os.path.join(store_dir, "sessions.json")
    os.symlink("elsewhere.json", store_path)
    with pytest.raises(StorePathError) as caught:
        open_store(store_path, "legacy", "hardened")
    assert caught.value.path == store_path
    assert "symbolic link" in str(caught.value) and "mv TARGET" in str(caught.value)
    assert isinstance(caught.value, OSError)


def test_a_path_error_pickles_whole() -> None:
    import pickle

    error = StorePathError("/x/sessions.json", "permission denied (read)", "chmod it", errno=13)
    again = pickle.loads(pickle.dumps(error))
    assert again.path == "/x/sessions.json" and again.errno == 13
    assert (again.problem, again.advice) == ("permission denied (read)", "chmod it")


# --- the scenario ---------------------------------------------------------------------------
SCENARIO = scenarios.get("disk-shapes")


def test_the_scenario_has_every_row_in_every_layout_that_uses_its_path() -> None:
    planted = {(v.params["path"], v.params["shape"], v.params["layout"]) for v in SCENARIO.variants}
    wanted = {
        (owned.id, shape, layout)
        for owned in PATHS
        for shape in owned.shapes
        for layout in owned.layouts
        if layout != "sqlite"
    }
    assert planted == wanted


def _baseline(variant: str, profile: str) -> list[str]:
    layout = SCENARIO.variant(variant).params["layout"]
    spec = RunSpec("disk-shapes", variant, layout, profile, "real")
    return sorted({v.kind for v in run_once(SCENARIO, spec).violations})


#: seed cells the table marks as hazards that the scenario cannot see, and why: a read
#: through a link leaves nothing behind to judge (the store's own tests see it)
UNSEEN = {"followed"}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_scenario_judges_the_rows_as_the_table_does(profile: str) -> None:
    """Without a fault: hardened clean on every row; the seed violating exactly where
    its cell is a hazard the scenario can see."""
    mismatched = []
    for variant in SCENARIO.variants:
        params = variant.params
        cell = outcome(params["path"], params["shape"], profile, params["layout"])
        if cell == NO_FOLDER:
            continue
        kinds = _baseline(variant.name, profile)
        if bool(kinds) != is_hazard(_visible(cell)):
            mismatched.append((variant.name, cell, kinds))
    assert not mismatched


def _visible(cell: str) -> str:
    """The cell without the effects the scenario cannot see."""
    head, _sep, rest = cell.partition("; ")
    effects = [e for e in rest.split(", ") if e and e not in UNSEEN]
    return "; ".join([head, ", ".join(effects)]) if effects else head


#: seed hazards of the scenario, each with the violation kind that shows it
SEED_HAZARDS = [
    ("entries-folder.file.directory", "bare-os-error"),
    ("store-file.fifo.legacy", "hung"),
    ("staging.link-outside.auto", "escaped-folder"),
    ("entries-folder.link-outside.directory", "escaped-folder"),
]


@pytest.mark.parametrize(("variant", "kind"), SEED_HAZARDS, ids=[v for v, _k in SEED_HAZARDS])
def test_a_seed_hazard_has_a_replay_file_that_replays(
    variant: str, kind: str, tmp_path: Path
) -> None:
    layout = SCENARIO.variant(variant).params["layout"]
    result = run_once(SCENARIO, RunSpec("disk-shapes", variant, layout, "seed", "real"))
    assert kind in {v.kind for v in result.violations}, result.violations
    (written, *_rest) = write_replays(str(tmp_path), [result])
    replay = load_replay(written)
    again = run_once(SCENARIO, replay.spec)
    assert [op.to_json() for op in again.trace] == replay.raw["trace"]
    assert {v.kind for v in again.violations} == {v.kind for v in result.violations}
