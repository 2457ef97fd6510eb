"""Settings shared by the machine tests.

Example counts follow the loaded Hypothesis profile (tests/conftest.py): a fifth of its
``max_examples`` under ``ci`` and ``dev`` so the whole suite stays fast, all of them
under ``deep`` (2,000 per machine). ``STORE_HARNESS_MACHINE_EXAMPLES`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from harness.machines import FAILURE_ENV

DEEP_THRESHOLD = 1000


def machine_examples() -> int:
    override = os.environ.get("STORE_HARNESS_MACHINE_EXAMPLES")
    if override:
        return int(override)
    profile = settings.default.max_examples
    return profile if profile >= DEEP_THRESHOLD else max(5, profile // 5)


def exploring() -> bool:
    """Long runs (``deep`` or an explicit count) explore with random seeds."""
    return bool(os.environ.get("STORE_HARNESS_MACHINE_EXAMPLES")) or (
        settings.default.max_examples >= DEEP_THRESHOLD
    )


def machine_settings(*, steps: int = 25) -> settings:
    """Bounded runs of a machine that must pass; failures print a reproduction blob.

    Derandomized unless exploring, so the everyday suite gives the same verdict on
    every run (a rare bug a random seed stumbles on is the deep run's to find).
    """
    return settings(
        settings.default,
        derandomize=not exploring(),
        max_examples=machine_examples(),
        stateful_step_count=steps,
        deadline=None,
        database=None,  # tests write only inside temp folders
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def finding_settings(*, examples: int = 300, steps: int = 6) -> settings:
    """Fixed, derandomized runs of a machine that must fail (same result every time).

    No ``explain`` phase: it re-runs the shrunk example many times over only to annotate
    which arguments did not matter, which would triple these tests' run time.
    """
    return settings(
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        max_examples=examples,
        stateful_step_count=steps,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(autouse=True)
def failure_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Crash failure files go to this test's temp folder."""
    folder = tmp_path / "machine-failures"
    monkeypatch.setenv(FAILURE_ENV, str(folder))
    return folder
