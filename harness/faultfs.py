"""The fault filesystem: the public entry point. The crash, disk-full, error and
non-atomic-rename models are written once, at the top of ``harness/faults/_faultfs.py``.
"""

from harness.faults._faultfs import (
    ERROR_KINDS,
    FaultFileSystem,
    FaultPlan,
    Operation,
    SimulatedCrash,
    SimulatedHang,
    os_error,
)

__all__ = [
    "ERROR_KINDS",
    "FaultFileSystem",
    "FaultPlan",
    "Operation",
    "SimulatedCrash",
    "SimulatedHang",
    "os_error",
]
