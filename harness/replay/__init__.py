"""Replay files: one failure, written down, checked, and re-run deterministically.

* ``_scenario_replay``: replays of explorer and real-kill runs (``store-harness.replay/1``);
* ``_machine_replay``: replays of state-machine failures (``store-harness.machine-replay/1``);
* ``_validate``: the structural check of a replay file before anything runs (a bad file
  is a usage error with exit 2, never a verdict);
* ``_verdict``: what a re-run may conclude -- exit 0 only when the same fault ran and no
  violation was seen, 3 when the same fault could not run.

May import: every layer below (``engine``, ``checks``, ``faults``, ``foreign``) and the
foundation; never ``harness.gate`` or the front doors. Promise: re-running a replay
reproduces its run -- same spec, same target, same trace -- or says exactly what differs,
and never calls a bug fixed from a run that did not meet the same fault.
"""
