"""Reports of benchmark results: JSON for machines, Markdown for a pull request, and one
self-contained HTML page with plots.

Importing this package is cheap (matplotlib loads only when plots are drawn), so the
benchmark workers can use the results schema without pulling in the plotting stack.
"""

from ._crash import CRASH_SUMMARY_NAME, CrashSummary, load_crash_summary
from ._findings import FLOOR_GOAL, GAIN_GOAL, Finding, findings
from ._micro import MICRO_NAME, MicroBenchmark, MicroSummary, load_micro
from ._mutation import MUTATION_NAME, MutationScore, load_mutation_score
from ._results import (
    SCHEMA,
    BenchResults,
    ContentionResult,
    Diagnosis,
    LatencyStats,
    MachineInfo,
    MigrationResult,
    ProfileRow,
    ResultsError,
    RunInfo,
    SeamRow,
    SingleResult,
    SkippedCell,
)
from ._tables import Table
from ._write import ReportFiles, load_results, write_report, write_results

__all__ = [
    "CRASH_SUMMARY_NAME",
    "FLOOR_GOAL",
    "GAIN_GOAL",
    "MICRO_NAME",
    "MUTATION_NAME",
    "SCHEMA",
    "BenchResults",
    "ContentionResult",
    "CrashSummary",
    "Diagnosis",
    "Finding",
    "LatencyStats",
    "MachineInfo",
    "MicroBenchmark",
    "MicroSummary",
    "MigrationResult",
    "MutationScore",
    "ProfileRow",
    "ReportFiles",
    "ResultsError",
    "RunInfo",
    "SeamRow",
    "SingleResult",
    "SkippedCell",
    "Table",
    "findings",
    "load_crash_summary",
    "load_micro",
    "load_mutation_score",
    "load_results",
    "write_report",
    "write_results",
]
