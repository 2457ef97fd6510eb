"""Legacy, directory and SQLite agree on every result and every load (hardened)."""

from __future__ import annotations

from conftest import machine_settings
from hypothesis.stateful import run_state_machine_as_test

from harness.machines import differential_machine


def test_hardened_layouts_agree() -> None:
    run_state_machine_as_test(differential_machine("hardened"), settings=machine_settings())
