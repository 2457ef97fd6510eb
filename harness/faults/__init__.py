"""The fault layer: wrappers of the store's seam (``reference_store.fs``) that break it.

* ``_faultfs``: numbers every seam call and crashes, fills the disk, injects errors or
  makes ``replace`` non-atomic at chosen calls -- the crash models are written at its top;
* ``_durability``: power loss -- which unsynced effects survive (its model at its top);
* ``_foreignfs``: the name rules of other file systems (case-folding, Unicode forms);
* ``_planting``: hostile disk shapes planted at the store's paths (links, folders where
  files belong, modes), and the check that nothing outside the store changed;
* ``_tmpfs``: a small real tmpfs for disk full on a real kernel
  (``python -m harness.faults`` says whether this machine allows one).

May import: ``reference_store`` and ``harness._errors`` / ``harness._roots`` only.
Promise: a wrapper changes nothing but what its plan names -- with an empty plan every
call reaches the seam beneath unchanged, and every failure it injects is a real
``OSError`` with a real ``errno`` (or the crash, a ``BaseException`` no store catches).
"""

from harness.faults._durability import DurabilityTracker, Effect, PowerLossChoice
from harness.faults._faultfs import (
    ERROR_KINDS,
    FaultFileSystem,
    FaultPlan,
    Operation,
    SimulatedCrash,
    SimulatedHang,
    os_error,
)
from harness.faults._foreignfs import FS_SEMANTICS, NameRules, foreign_fs, semantics

__all__ = [
    "ERROR_KINDS",
    "FS_SEMANTICS",
    "DurabilityTracker",
    "Effect",
    "FaultFileSystem",
    "FaultPlan",
    "NameRules",
    "Operation",
    "PowerLossChoice",
    "SimulatedCrash",
    "SimulatedHang",
    "foreign_fs",
    "os_error",
    "semantics",
]
