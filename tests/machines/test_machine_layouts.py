"""Every layout of the hardened profile passes its state machine, on pyfakefs and on a
real temp folder (SQLite: real only). Each layout x backend is its own pytest item, so
xdist spreads them over workers."""

from __future__ import annotations

import pytest
from conftest import machine_settings
from hypothesis.stateful import run_state_machine_as_test

from harness.machines import reference_machine

CONFIGS = [
    ("legacy", "fake"),
    ("legacy", "real"),
    ("directory", "fake"),
    ("directory", "real"),
    ("auto", "fake"),
    ("auto", "real"),
    ("sqlite", "real"),
]


@pytest.mark.parametrize(("layout", "machine_backend"), CONFIGS)
def test_hardened_machine_passes(layout: str, machine_backend: str) -> None:
    """Save/update/update_entry/route/reads/loads/restarts by two processes, with
    crashes (not SQLite), corrupt files and case-variant keys: the store always loads
    a state the model allows, keeps every corrupt file, and never fails valid input."""
    machine = reference_machine(layout, "hardened", machine_backend)
    run_state_machine_as_test(machine, settings=machine_settings())
