"""Every violation kind the code can emit is registered, documented and waivable.

``harness.engine._oracle.VIOLATION_KINDS`` is the one registry. These tests hold the rest to
it: docs/gate.md's table of kinds, the gate summary's legend and ``--waive``'s choices
list exactly the registered kinds, and a scan of the source finds no kind literal that
is not registered (``wrong-result`` was emitted by the machine check for a long time
without being any of these).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from harness.engine._oracle import SEVERITIES, VIOLATION_KINDS, Violation, check_kind
from harness.gate import (
    PROMISE_PROFILES,
    CaseResult,
    Configuration,
    GateResult,
    Shard,
    markdown_summary,
)
from harness.machines import MachineFailureError

ROOT = Path(__file__).resolve().parents[1]
#: where kinds are emitted: the harness and the scenario catalog
SOURCES = [*sorted((ROOT / "harness").rglob("*.py")), *sorted((ROOT / "scenarios").rglob("*.py"))]
#: calls whose first argument is a violation kind
EMITTERS = {"Violation", "_fail", "MachineFailureError", "check_kind"}
#: string literals the scan reaches that are kinds of something else
NOT_VIOLATIONS = {
    "new": "machines._draw_key: the kind of key a rule draws (_KEY_KINDS), not a violation",
}


def _documented() -> dict[str, str]:
    """docs/gate.md's table of kinds: kind -> severity."""
    text = (ROOT / "docs" / "gate.md").read_text(encoding="utf-8")
    section = text.split("## What each violation kind means", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \| ([a-z]+) \|", section, flags=re.MULTILINE)
    assert len(rows) == len(dict(rows)), "a kind is listed twice"
    return dict(rows)


def test_docs_table_lists_every_registered_kind_with_its_severity() -> None:
    assert _documented() == {kind: severity for kind, (severity, _) in VIOLATION_KINDS.items()}
    assert {severity for severity, _ in VIOLATION_KINDS.values()} <= set(SEVERITIES)


def test_summary_legend_explains_every_kind() -> None:
    cases = tuple(
        CaseResult(
            Configuration("update.kill", ("default",), "legacy", f"real-{i}"),
            "failed",
            runs=1,
            kinds={kind: 1},
            violating_runs=1,
        )
        for i, kind in enumerate(VIOLATION_KINDS)
    )
    result = GateResult("test", "hardened", PROMISE_PROFILES["hardened"], Shard(), cases)
    legend = markdown_summary(result).split("What the kinds mean:", 1)[1]
    for kind, (severity, meaning) in VIOLATION_KINDS.items():
        assert f"- `{kind}` ({severity}): {meaning}" in legend


def test_waive_offers_every_kind() -> None:
    from harness.cli._gate import gate_command

    (waive,) = [p for p in gate_command.params if p.name == "waive"]
    assert isinstance(waive.type, click.Choice)
    assert sorted(waive.type.choices) == sorted(VIOLATION_KINDS)
    waived = PROMISE_PROFILES["hardened"].with_waived(VIOLATION_KINDS)
    assert waived.waived_kinds == frozenset(VIOLATION_KINDS)


def test_an_unregistered_kind_cannot_be_emitted() -> None:
    for make in (lambda: Violation("made-up", "x"), lambda: MachineFailureError("made-up", "x")):
        with pytest.raises(ValueError, match="unregistered violation kind 'made-up'"):
            make()
    assert check_kind("wrong-result") == "wrong-result"


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literals(node: ast.expr | None) -> Iterator[str]:
    """The string constants ``node`` may evaluate to: a constant, either side of an
    ``if``-expression, the fallback of an ``or``, the items of a list or tuple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literals(value)
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            yield from _literals(item)


def _kind_literals(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(kind, line) for every literal in a place where the code emits a kind."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            if called in EMITTERS and node.args:
                yield from ((k, node.lineno) for k in _literals(node.args[0]))
            for keyword in node.keywords:
                if keyword.arg == "kind" and called in {"MachineRun", "Violation"}:
                    yield from ((k, node.lineno) for k in _literals(keyword.value))
                if keyword.arg == "kinds" and isinstance(keyword.value, ast.Dict):
                    for key in keyword.value.keys:
                        yield from ((k, node.lineno) for k in _literals(key))
            # gate._judged(config, {kind: count}, ...)
            if called == "_judged" and len(node.args) > 1 and isinstance(node.args[1], ast.Dict):
                for key in node.args[1].keys:
                    yield from ((k, node.lineno) for k in _literals(key))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                # kind = "..." ; kinds = ... or ["..."] ; found = "hung" if ... else "..."
                if isinstance(target, ast.Name) and (
                    target.id in {"kind", "kinds", "found"} or target.id.endswith("_kind")
                ):
                    yield from ((k, node.lineno) for k in _literals(node.value))
                # kind, message = "unexpected-error", f"..."
                if (
                    isinstance(target, ast.Tuple)
                    and target.elts
                    and _name(target.elts[0]) == "kind"
                    and isinstance(node.value, ast.Tuple)
                ):
                    yield from ((k, node.lineno) for k in _literals(node.value.elts[0]))
        elif isinstance(node, ast.FunctionDef) and node.name == "_explain":
            # machines._explain returns (kind, detail)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Tuple):
                    yield from ((k, inner.lineno) for k in _literals(inner.value.elts[0]))


def test_every_kind_literal_in_the_source_is_registered() -> None:
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for kind, line in _kind_literals(tree):
            found.setdefault(kind, []).append(f"{path.relative_to(ROOT)}:{line}")
    unregistered = {
        kind: places
        for kind, places in found.items()
        if kind not in VIOLATION_KINDS and kind not in NOT_VIOLATIONS
    }
    assert unregistered == {}, "register these in harness.engine._oracle.VIOLATION_KINDS"
    # The scan reaches every way kinds are emitted (else it would pass vacuously).
    for kind in ("wrong-result", "wrong-read", "divergence", "mismatch", "lost-update"):
        assert kind in found, kind
    for kind in ("hung", "store-crashed", "unexpected-error", "half-applied", "baseline"):
        assert kind in found, kind
