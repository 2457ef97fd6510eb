"""The promise table is complete and the same everywhere (issue 22).

Every promise of docs/spec.md is in the registry (``harness.engine._promises``) and the
other way round; every violation kind breaks some promise; every check of the gate
judges some promise; every row (promise x check) has a fault family and a seeded bug
that breaks that promise -- ``tests/test_mutants.py`` then asserts the check reports
the bug as a breach of it. docs/gate.md carries the table the code builds.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutants import MUTANTS, by_name

import scenarios
from harness.cli import main
from harness.engine._explorer import ExploreOptions
from harness.engine._oracle import VIOLATION_KINDS
from harness.engine._promises import PROMISES
from harness.gate import (
    CHECKS,
    load_default_catalog,
    markdown_summary,
    promise_rows,
    promise_table_markdown,
    run_gate,
)
from harness.gate._outputs import promise_verdicts
from harness.gate._promise_table import unknown_checks

ROOT = Path(__file__).resolve().parent.parent


def _spec_ids() -> list[str]:
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    section = text[text.index("## 10. Promises") :]
    return re.findall(r"^\* \*\*(P-[a-zA-Z-]+)\*\* --", section, flags=re.MULTILINE)


def test_the_registry_is_the_spec_list() -> None:
    assert _spec_ids() == [p.id for p in PROMISES]


def test_every_violation_kind_breaks_a_promise_and_no_promise_names_an_unknown_kind() -> None:
    named = set().union(*(p.kinds for p in PROMISES))
    assert set(VIOLATION_KINDS) <= named, set(VIOLATION_KINDS) - named
    assert named <= set(VIOLATION_KINDS), named - set(VIOLATION_KINDS)


def test_every_check_judges_a_promise_and_every_named_check_exists() -> None:
    assert unknown_checks() == []
    judged = {c for p in PROMISES for c in p.checks}
    every = set(scenarios.names()) | set(CHECKS)
    assert every <= judged, every - judged


def test_every_row_has_a_check_a_fault_and_a_seeded_bug() -> None:
    rows = promise_rows(MUTANTS)
    gaps = [(r.promise.id, r.check, r.gap) for r in rows if r.gap]
    assert gaps == []


def test_a_row_without_its_seeded_bug_is_marked_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen to fail: a catalog without the only bug of P-modes leaves that row bare.
    rows = promise_rows([m for m in MUTANTS if m.name != "folders-by-umask"])
    assert [(r.promise.id, r.gap) for r in rows if r.gap] == [("P-modes", "no seeded bug")]
    assert "**no seeded bug**" in promise_table_markdown(rows)
    (tmp_path / "partial_catalog.py").write_text(
        textwrap.dedent(
            """
            from mutants import MUTANTS as ALL
            MUTANTS = [m for m in ALL if m.name != "folders-by-umask"]
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # --mutants imports from the current folder
    result = CliRunner().invoke(
        main, ["gate", "--promises", "--mutants", "partial_catalog:MUTANTS"]
    )
    assert result.exit_code == 1, result.output
    assert "P-modes" in result.output and "no seeded bug" in result.output


def test_gate_promises_prints_the_table_of_the_docs() -> None:
    result = CliRunner().invoke(main, ["gate", "--promises"])
    assert result.exit_code == 0, result.output
    table = promise_table_markdown(promise_rows(load_default_catalog()))
    assert result.output == table
    docs = (ROOT / "docs" / "gate.md").read_text(encoding="utf-8")
    start = docs.index("<!-- promise-table:start -->\n") + len("<!-- promise-table:start -->\n")
    end = docs.index("<!-- promise-table:end -->")
    assert docs[start:end] == table, "docs/gate.md: paste `store-harness gate --promises`"


@pytest.mark.parametrize(
    ("target", "verdict"), [("hardened", "kept"), ("write-in-place", "broken")]
)
def test_gate_summary_judges_each_promise(target: str, verdict: str) -> None:
    store = by_name(target).target() if target != "hardened" else "reference"
    result = run_gate(
        store,  # type: ignore[arg-type]
        scenarios=["update.kill"],
        layouts=["legacy"],
        options=ExploreOptions(jobs=1, max_points=10, run_timeout=5.0),
    )
    verdicts = {pid: v for pid, v, _detail in promise_verdicts(result)}
    assert verdicts["P-durable-crash"] == verdict
    assert verdicts["P-lock-excludes"] == "not judged"  # the concurrency check did not run
    summary = markdown_summary(result)
    assert "### Promises" in summary
    assert promise_table_markdown(promise_rows(load_default_catalog())) in summary
