"""The CI gate: every scenario and check against one store, one verdict, what CI reads.

Layer: the top of the engine, below the front doors. It may import every lower layer
(``faults``, ``foreign``, ``engine``, ``checks``, ``replay``) and the scenario catalog;
only ``harness.cli`` and the pytest plugin import it.

* ``_plan``: configurations, checks, promise profiles and shards (pure);
* ``_cases``: one configuration or check, run and judged;
* ``_run``: :func:`run_gate` and :class:`GateResult` -- the gate's promises are there;
* ``_outputs``: JUnit XML and the Markdown summary;
* ``_mutants``: seeded bugs through the gate and the mutation score;
* ``_promise_table``: promise x check x faults x seeded bug, built from the code.
"""

from harness.engine._run_spec import DEFAULT_MAX_POINTS
from harness.gate._cases import (
    CaseResult,
    run_case,
    run_configuration,
)
from harness.gate._mutants import (
    MutantLike,
    MutantVerdict,
    mutation_score,
    mutation_score_json,
    run_mutants,
    write_mutation_score,
)
from harness.gate._outputs import (
    junit_xml,
    markdown_summary,
    not_explored_lines,
    write_gate_reports,
)
from harness.gate._plan import (
    CHECKS,
    CONCURRENCY_CHECK,
    GATE_LAYOUTS,
    KILL_BACKEND,
    MACHINE_CHECK,
    PROMISE_PROFILES,
    CheckOptions,
    Configuration,
    NotExplored,
    PromiseProfile,
    Shard,
    plan_checks,
    plan_gate,
    plan_run,
    promise_profile,
    select_checks,
    select_scenarios,
)
from harness.gate._promise_table import (
    PROMISE_TABLE_NAME,
    PromiseRow,
    load_default_catalog,
    promise_rows,
    promise_table_markdown,
    write_promise_table,
)
from harness.gate._run import GateResult, default_profile, run_gate

__all__ = [
    "CHECKS",
    "CONCURRENCY_CHECK",
    "DEFAULT_MAX_POINTS",
    "GATE_LAYOUTS",
    "KILL_BACKEND",
    "MACHINE_CHECK",
    "PROMISE_PROFILES",
    "PROMISE_TABLE_NAME",
    "CaseResult",
    "CheckOptions",
    "Configuration",
    "GateResult",
    "MutantLike",
    "MutantVerdict",
    "NotExplored",
    "PromiseProfile",
    "PromiseRow",
    "Shard",
    "default_profile",
    "junit_xml",
    "load_default_catalog",
    "markdown_summary",
    "mutation_score",
    "mutation_score_json",
    "not_explored_lines",
    "plan_checks",
    "plan_gate",
    "plan_run",
    "promise_profile",
    "promise_rows",
    "promise_table_markdown",
    "run_case",
    "run_configuration",
    "run_gate",
    "run_mutants",
    "select_checks",
    "select_scenarios",
    "write_gate_reports",
    "write_mutation_score",
    "write_promise_table",
]
