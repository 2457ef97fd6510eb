"""The engine: what a run is, how it is run under faults, and how it is judged.

* ``_workload``: the steps a workload calls (save, update, update_entry, ...);
* ``_scenario``: a scenario -- setup, workload, variants, its own check;
* ``_oracle``: the crash oracle -- which states a store may be in after a fault, and the
  registry of violation kinds (``VIOLATION_KINDS``);
* ``_target`` / ``_target_source``: the store under test, and how a replay finds it again;
* ``_run_spec``, ``_run_once``, ``_fault_plans``, ``_explorer``: one run's records, one
  run, the fault plans of a scenario, and many runs in parallel;
* ``_promises``: THE registry of the store's promises (ids of docs/spec.md, the kinds
  that break each, the checks that judge it);
* ``_summary``: the promise x fault-family counts of an exploration;
* ``_contain``: a run in a child process with a deadline, so a hang is a verdict;
* ``_preflight``: the checks before a run that a store can be driven at all.

May import: ``reference_store``, ``harness.faults``, ``harness.foreign`` and the
foundation (``harness._errors``, ``harness._roots``); never ``scenarios`` or anything
above. Promise: a run is a pure function of its scenario and spec (deterministic clock,
counter temp names, root-relative traces), and a verdict names the store, never the
harness: a harness error surfaces as a harness error.
"""

from harness.engine._target import REFERENCE, StoreTarget, resolve_target

__all__ = ["REFERENCE", "StoreTarget", "resolve_target"]
