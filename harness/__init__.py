"""store-harness: crash-consistency, fault-injection and contention harness for session stores.

The layers, from the seam up (each package's ``__init__`` says what it holds, what it may
import and what it promises; docs/design.md has the picture). A package imports only
from the packages above it in this list, never from one below:

* ``reference_store`` (its own package): the stores, the seam ``fs.py`` and the adapter
  protocol ``protocol.py``;
* ``harness._errors``, ``harness._roots``: the error root and the temp roots, for all;
* ``harness.faults``: wrappers of the seam that crash, fill, fail, tear, lose power and
  take foreign name rules and hostile disk shapes;
* ``harness.foreign``: the client that drives a store in another process;
* ``harness.engine``: workloads, scenarios, the oracle, targets and the explorer;
* ``harness.checks``: state machines, concurrency, real kills, seeded bugs;
* ``harness.replay``: replay files, written, validated and re-run;
* ``harness.gate``: every scenario and check against one store, one verdict;
* ``harness.bench``, ``harness.report``: contention benchmarks and the reports;
* ``harness.cli`` and ``harness.pytest_plugin``: the front doors (with ``harness.gate``
  the only code that loads the ``scenarios`` catalog).

Outsiders import ``harness.machines``, ``harness.strategies``, ``harness.faultfs``,
``harness.gate`` and the pytest plugin; those names are kept stable.
"""

from ._errors import HarnessError

__all__ = ["HarnessError"]
