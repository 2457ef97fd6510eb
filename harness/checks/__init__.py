"""The checkers beyond fixed scenarios: they generate their own calls, or race, or kill.

* ``_machine_model``, ``_machine_world``, ``_machine_base``, ``_machine_rules``,
  ``_reference_machine``, ``_differential_machine``: the Hypothesis state machines (the
  model is written once, at the top of ``_machine_model``); the public entry is
  ``harness.machines``, and ``_strategies`` (public as ``harness.strategies``);
* ``_concurrency``: worker processes racing one store, judged for lost updates and stale
  reads;
* ``_kill_spec``, ``_kill_run``, ``_realkill``: the workload in a child process, SIGKILLed
  at a chosen operation (or faced with a real full tmpfs), then judged like the explorer;
* ``_mutation``: seeded bugs (mutants) that every check must be seen to catch;
* ``_target_machine``, ``_target_concurrency``: the machine and concurrency checks bound
  to any store target, as the gate runs them;
* ``_adapter_target``, ``_contract``: a ``--store-cmd`` store as a target (every open a new
  adapter process, calls sent as data), and what its ``ping`` declares (layouts,
  profiles, the rewrites it makes on purpose).

May import: ``reference_store``, ``harness.faults``, ``harness.foreign``,
``harness.engine`` and the foundation; never ``harness.replay``, ``harness.gate``, the
front doors or ``scenarios``. Promise: a check is sound -- a store that keeps the spec
never fails it -- and every check is seen to fail on a seeded bug (``tests/mutants``).
"""

from harness.checks._concurrency import check_history, run_concurrency
from harness.checks._mutation import Mutant

__all__ = ["Mutant", "check_history", "run_concurrency"]
