"""pytest plugin ``store_harness``: gate a session store from its own test suite.

Registered through ``[project.entry-points.pytest11]``, so installing store-harness loads
it in every pytest run. It therefore promises to cost nothing unless asked: without
``--store-impl`` it collects nothing, and it imports none of the harness until a fixture
or an item needs it.

With ``--store-impl module:factory`` every configuration of the scenario catalog (a
scenario, a variant group, a layout, a backend -- the same unit as the CI gate's JUnit
test cases and ``--shard``) and of the gate's own checks (``machine`` and ``concurrency``,
one per layout, at the gate's default bounds) becomes one test item, so pytest-xdist
spreads them::

    pytest --store-impl mypkg.store:open_store -p store_harness -n auto

A failing item prints the violation kinds, a few details and its replay files.

Fixtures (usable with or without ``--store-impl``):

* ``harness_seam`` (parametrized: ``fake`` on pyfakefs, ``real`` in a temp folder),
  ``harness_seam_fake``, ``harness_seam_real``: a :class:`SeamRoot` -- the seam and an
  empty folder to put a store in;
* ``fault_fs``: a factory of :class:`harness.faults._faultfs.FaultFileSystem` over a seam;
* ``store_target``: the store under test (``--store-impl``, else the reference store);
* ``explore_store``: a factory running the gate on some scenarios, returning a
  :class:`harness.gate.GateResult` (replays in the test's temp folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.engine._target import StoreTarget
    from harness.faults._faultfs import FaultFileSystem, FaultPlan
    from harness.gate import CaseResult, Configuration, GateResult, PromiseProfile
    from reference_store.fs import FileSystem

__all__ = ["SeamRoot"]

FAKE_ROOT = "/harness/seam"
MARKER = "store_harness"


@dataclass(frozen=True)
class SeamRoot:
    """An empty folder on one backend and the seam to reach it."""

    backend: str
    root: str
    fs: FileSystem

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)


# --- options -----------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("store-harness", "store-harness: gate a session store")
    group.addoption(
        "--store-impl",
        metavar="MODULE:FACTORY",
        default=None,
        help="Collect every store-harness scenario as tests of this store (a factory with "
        "reference_store.open_store's signature, or a harness StoreTarget).",
    )
    group.addoption(
        "--store-profile",
        default=None,
        help="Profile the store is opened with (default: hardened when the store knows it).",
    )
    group.addoption(
        "--store-promises",
        default="hardened",
        help="Promise profile the store claims: hardened, no-power-loss, process-crash.",
    )
    group.addoption(
        "--store-scenario",
        action="append",
        default=None,
        metavar="NAME",
        help="Only these scenarios (name or glob, repeatable; the gate's checks are named "
        "'machine' and 'concurrency'; default: all, checks included).",
    )
    group.addoption(
        "--store-backend",
        default="real",
        choices=("real", "fake", "both"),
        help="Where the scenarios run: a real temp folder (default), pyfakefs, or both.",
    )
    group.addoption(
        "--store-max-points",
        type=int,
        default=None,
        help="Fault points per fault family and configuration (default: the gate's 25; "
        "0: every one).",
    )
    group.addoption("--store-seed", type=int, default=0, help="Seed for sampled fault points.")
    group.addoption(
        "--store-full", action="store_true", help="Also the heavy (1,000-entry) variants."
    )
    group.addoption(
        "--store-replays",
        default=None,
        metavar="DIR",
        help="Folder for replay files (default: .pytest_cache/d/store-harness-replays).",
    )


@dataclass(frozen=True)
class _Plan:
    target: StoreTarget
    profile: str
    promises: PromiseProfile
    configurations: tuple[Configuration, ...]
    replays: str
    seed: int
    max_points: int
    full: bool
    #: what does not run, and why (``harness.gate.not_explored_lines``)
    not_explored: tuple[str, ...] = ()


_PLAN = pytest.StashKey["_Plan | None"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: a store-harness scenario run against --store-impl"
    )
    ref = config.getoption("--store-impl")
    config.stash[_PLAN] = None if ref is None else _make_plan(config, str(ref))


def _make_plan(config: pytest.Config, ref: str) -> _Plan:
    from harness.engine._preflight import preflight
    from harness.engine._target import resolve_target
    from harness.gate import (
        DEFAULT_MAX_POINTS,
        default_profile,
        not_explored_lines,
        plan_run,
        promise_profile,
    )

    from ._errors import HarnessError

    backend = str(config.getoption("--store-backend"))
    max_points = config.getoption("--store-max-points")
    try:
        target = resolve_target(ref)
        profile = config.getoption("--store-profile") or default_profile(target)
        promises = promise_profile(str(config.getoption("--store-promises")))
        full = bool(config.getoption("--store-full"))
        claimed, unclaimed = plan_run(
            config.getoption("--store-scenario") or ["all"],
            target=target,
            backends=("fake", "real") if backend == "both" else (backend,),
            promises=promises,
            full=full,
        )
        # The gate's pre-flight: a store the harness cannot drive is a usage error, not
        # one failing item per configuration. xdist workers leave it to the controller.
        if not hasattr(config, "workerinput"):
            preflight(target, profile=profile, layouts=[c.layout for c in claimed[:1]])
    except HarnessError as exc:
        raise pytest.UsageError(f"--store-impl: {exc}") from None
    replays = config.getoption("--store-replays")
    if replays is None:
        cache = getattr(config, "cache", None)
        replays = (
            str(cache.mkdir("store-harness-replays"))
            if cache is not None
            else os.path.join(str(config.rootpath), ".store-harness-replays")
        )
    return _Plan(
        target=target,
        profile=profile,
        promises=promises,
        configurations=tuple(claimed),
        replays=str(replays),
        seed=int(config.getoption("--store-seed")),
        max_points=DEFAULT_MAX_POINTS if max_points is None else int(max_points),
        full=full,
        not_explored=tuple(not_explored_lines(unclaimed)),
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        return []
    return [
        f"store-harness: {plan.target.name}, profile {plan.profile}, promises "
        f"{plan.promises.name}, {len(plan.configurations)} configurations, "
        f"max points {plan.max_points or 'all'}, replays in {plan.replays}",
        *(f"store-harness: not explored: {line}" for line in plan.not_explored),
    ]


# --- collection --------------------------------------------------------------------------------
class StoreViolationError(Exception):
    """A configuration of the catalog broke a promise of the store."""

    def __init__(self, case: CaseResult) -> None:
        super().__init__(case.failure_text())
        self.case = case


class ScenarioItem(pytest.Item):
    """One configuration of the catalog, explored against ``--store-impl``."""

    def __init__(self, *, configuration: Configuration, plan: _Plan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configuration = configuration
        self.plan = plan
        self.add_marker(MARKER)
        self.extra_keyword_matches.update(
            {configuration.scenario, configuration.layout, configuration.backend}
        )

    def runtest(self) -> None:
        from harness.engine._run_spec import ExploreOptions
        from harness.gate import run_case

        plan = self.plan
        case = run_case(
            self.configuration,
            target=plan.target,
            profile=plan.profile,
            # xdist parallelises across items; processes inside one would only compete.
            options=ExploreOptions(
                jobs=1, seed=plan.seed, max_points=plan.max_points, full=plan.full
            ),
            promises=plan.promises,
            replays_dir=plan.replays,
        )
        self.user_properties.append(("runs", case.runs))
        if case.waived:
            self.user_properties.append(("waived", dict(case.waived)))
        if case.status == "failed":
            raise StoreViolationError(case)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, StoreViolationError):
            return excinfo.value.case.failure_text()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"store-harness {self.configuration.id}"


class ScenarioCatalog(pytest.Collector):
    """The scenario catalog, as a collector of :class:`ScenarioItem`."""

    def __init__(self, *, plan: _Plan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [
            ScenarioItem.from_parent(self, name=config.id, configuration=config, plan=self.plan)
            for config in self.plan.configurations
        ]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: the items must exist before -k, -m and other plugins deselect or reorder.
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        return
    # An explicit id: the session's own id is empty, which would start ours with "::".
    catalog = ScenarioCatalog.from_parent(
        session, name="store-harness", nodeid="store-harness", plan=plan
    )
    collected = catalog.collect()
    # Reported like any collection, so "collected N items" counts them.
    session.ihook.pytest_collectreport(
        report=pytest.CollectReport(catalog.nodeid, "passed", None, collected)
    )
    items += [i for i in collected if isinstance(i, pytest.Item)]


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def harness_seam_real(tmp_path: Path) -> SeamRoot:
    """An empty real folder and the real seam."""
    from reference_store.fs import OsFileSystem

    root = tmp_path / "harness-seam"
    root.mkdir()
    return SeamRoot("real", str(root), OsFileSystem())


@pytest.fixture
def harness_seam_fake() -> Iterator[SeamRoot]:
    """An empty folder on pyfakefs (patched ``os``) and the same real seam class."""
    from pyfakefs.fake_filesystem_unittest import Patcher

    from reference_store.fs import OsFileSystem

    with Patcher() as patcher:
        assert patcher.fs is not None
        patcher.fs.create_dir(FAKE_ROOT)
        yield SeamRoot("fake", FAKE_ROOT, OsFileSystem())


@pytest.fixture(params=("fake", "real"))
def harness_seam(request: pytest.FixtureRequest) -> SeamRoot:
    """Each test twice: on pyfakefs and in a real temp folder."""
    seam = request.getfixturevalue(f"harness_seam_{request.param}")
    assert isinstance(seam, SeamRoot)
    return seam


@pytest.fixture
def fault_fs(harness_seam_real: SeamRoot) -> Callable[..., FaultFileSystem]:
    """``fault_fs(plan=None, *, seam=None, track_durability=False)``: a fault filesystem
    over ``seam`` (default: a real temp folder), recording every operation and breaking
    the ones ``plan`` names."""
    from harness.faults._faultfs import FaultFileSystem

    def make(
        plan: FaultPlan | None = None,
        *,
        seam: SeamRoot | None = None,
        track_durability: bool = False,
    ) -> FaultFileSystem:
        where = seam or harness_seam_real
        return FaultFileSystem(where.fs, where.root, plan, track_durability=track_durability)

    return make


@pytest.fixture
def store_target(pytestconfig: pytest.Config) -> StoreTarget:
    """The store under test: ``--store-impl``, else the reference store."""
    from harness.engine._target import REFERENCE

    plan = pytestconfig.stash.get(_PLAN, None)
    return REFERENCE if plan is None else plan.target


@pytest.fixture
def explore_store(store_target: StoreTarget, tmp_path: Path) -> Callable[..., GateResult]:
    """``explore_store(*scenarios, store=None, max_points=8, **gate_options)``: the gate
    on a few scenarios (names or globs) against ``store`` (default: ``store_target``);
    one job, replays under the test's temp folder."""
    from harness.engine._run_spec import ExploreOptions
    from harness.gate import run_gate

    def run(
        *scenarios: str,
        store: str | StoreTarget | None = None,
        max_points: int = 8,
        seed: int = 0,
        backends: Sequence[str] = ("real",),
        **gate_options: Any,
    ) -> GateResult:
        return run_gate(
            store or store_target,
            scenarios=scenarios or ("all",),
            backends=backends,
            options=ExploreOptions(jobs=1, seed=seed, max_points=max_points),
            replays_dir=str(tmp_path / "replays"),
            **gate_options,
        )

    return run
