"""Hypothesis state machines for session stores: the public entry point.

How to use it on your own store (docs/machines.md has the long version)::

    class MyStoreMachine(SessionStoreMachine):
        def open_store(self, ctx: StoreContext) -> StoreLike:
            return my_pkg.open(ctx.store_path, fs=ctx.fs, clock=ctx.runtime.now_ms)

    TestMyStore = MyStoreMachine.TestCase

The machines live in :mod:`harness.checks`; the model they check against is written once,
at the top of ``harness/checks/_machine_model.py``.
"""

from harness.checks._differential_machine import DifferentialMachine, differential_machine
from harness.checks._machine_base import MachineBase
from harness.checks._machine_model import (
    FAILURE_ENV,
    FAILURE_FORMAT,
    RULES,
    AnyString,
    IntRange,
    MachineFailureError,
    StoreLike,
    model_migrate,
    model_route,
    model_update_entry,
    resolve,
)
from harness.checks._machine_rules import SessionStoreMachine
from harness.checks._machine_world import (
    MachineClock,
    NoSyncFileSystem,
    StoreContext,
    failure_dir,
    reference_file_of,
)
from harness.checks._reference_machine import ReferenceStoreMachine, reference_machine

__all__ = [
    "FAILURE_ENV",
    "FAILURE_FORMAT",
    "RULES",
    "AnyString",
    "DifferentialMachine",
    "IntRange",
    "MachineBase",
    "MachineClock",
    "MachineFailureError",
    "NoSyncFileSystem",
    "ReferenceStoreMachine",
    "SessionStoreMachine",
    "StoreContext",
    "StoreLike",
    "differential_machine",
    "failure_dir",
    "model_migrate",
    "model_route",
    "model_update_entry",
    "reference_file_of",
    "reference_machine",
    "resolve",
]
