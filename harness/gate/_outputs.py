"""What CI reads from a gate result: JUnit XML, a Markdown summary, and the files beside
them. Rendering only: nothing here decides a verdict.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence

from harness.engine._oracle import VIOLATION_KINDS
from harness.engine._promises import PROMISES
from harness.gate._cases import CaseResult, _kinds_text
from harness.gate._plan import CONCURRENCY_CHECK, MACHINE_CHECK, Configuration, NotExplored
from harness.gate._promise_table import (
    load_default_catalog,
    promise_rows,
    promise_table_markdown,
)
from harness.gate._run import GateResult

__all__ = [
    "junit_xml",
    "markdown_summary",
    "not_explored_lines",
    "write_gate_reports",
]


# --- reports ---------------------------------------------------------------------------------
def junit_xml(result: GateResult) -> bytes:
    """JUnit XML: one test suite per scenario, one test case per configuration."""
    root = ET.Element(
        "testsuites",
        name=f"store-harness gate {result.target}",
        tests=str(len(result.cases) + len(result.unclaimed)),
        failures=str(len(result.failed)),
        errors="0",
        skipped=str(len(result.skipped) + len(result.unclaimed)),
        time=f"{sum(c.seconds for c in result.cases):.3f}",
    )
    suites: dict[str, list[tuple[Configuration, CaseResult | None]]] = {}
    for ran in result.cases:
        suites.setdefault(ran.configuration.scenario, []).append((ran.configuration, ran))
    for left_out in result.unclaimed:
        suites.setdefault(left_out.scenario, []).append((left_out, None))
    for scenario, members in suites.items():
        cases = [c for _cfg, c in members if c is not None]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=scenario,
            tests=str(len(members)),
            failures=str(sum(c.status == "failed" for c in cases)),
            errors="0",
            skipped=str(sum(c is None or c.status == "skipped" for _cfg, c in members)),
            time=f"{sum(c.seconds for c in cases):.3f}",
        )
        for config, case in members:
            element = ET.SubElement(
                suite,
                "testcase",
                classname=f"store_harness.{scenario}",
                name=config.name,
                time=f"{case.seconds:.3f}" if case else "0.000",
            )
            if case is None:
                reason = config.reason if isinstance(config, NotExplored) else ""
                ET.SubElement(element, "skipped", message=f"not explored: {reason}")
            elif case.status == "skipped":
                ET.SubElement(element, "skipped", message=case.reason)
            elif case.status == "failed":
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=_kinds_text(case.kinds),
                    type="violation",
                )
                failure.text = case.failure_text()
            else:
                out = ET.SubElement(element, "system-out")
                out.text = f"{case.runs} runs, no violation"
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_summary(result: GateResult, *, max_rows: int = 50) -> str:
    """A summary for a CI log or a pull request (GitHub-flavoured Markdown)."""
    icon = {"PASSED": "✅", "FAILED": "❌"}.get(result.verdict(), "⚠️")
    lines = [
        f"## {icon} store-harness gate: {result.verdict()}",
        "",
        f"store `{result.target}` · profile `{result.profile}` · promises "
        f"`{result.promises.name}` ({result.promises.description}) · shard {result.shard} · "
        f"seed {result.options.seed} · max points {result.options.max_points or 'all'}"
        + _checks_text(result),
        "",
        "| configurations | passed | failed | skipped (budget) | not explored | runs | time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(result.cases)} | {len(result.cases) - len(result.failed) - len(result.skipped)}"
        f" | {len(result.failed)} | {len(result.skipped)} | {len(result.unclaimed)}"
        f" | {result.runs} | {result.seconds:.0f} s |",
    ]
    if result.failed:
        lines += [
            "",
            "### Violations",
            "",
            "| scenario | configuration | violating runs | kinds | replay |",
            "|---|---|---:|---|---|",
        ]
        for case in result.failed[:max_rows]:
            replay = f"`{case.replays[0]}`" if case.replays else "-"
            if not case.replays and case.example:
                replay = "shrunk example below"
            more = f" (+{len(case.replays) - 1})" if len(case.replays) > 1 else ""
            lines.append(
                f"| {_md(case.configuration.scenario)} | {_md(case.configuration.name)} | "
                f"{case.violating_runs} / {case.runs} | {_md(_kinds_text(case.kinds))} | "
                f"{replay}{more} |"
            )
        if len(result.failed) > max_rows:
            lines.append(f"\n… and {len(result.failed) - max_rows} more (see junit.xml)")
        kinds = sorted({k for c in result.failed for k in c.kinds})
        lines += ["", "What the kinds mean:", ""]
        lines += [
            f"- `{k}` ({severity}): {meaning}"
            for k in kinds
            for severity, meaning in [VIOLATION_KINDS.get(k, ("?", "not a registered kind"))]
        ]
        lines += ["", "Re-run one failure: `store-harness replay <replay file>`."]
        lines += _machine_failures(result.failed)
    waived: Counter[str] = Counter()
    for case in result.cases:
        waived.update(case.waived)
    if waived:
        lines += ["", f"Waived by the promise profile (not failing): {_kinds_text(waived)}"]
    if result.skipped:
        lines += [
            "",
            f"### Skipped: budget of {result.budget:g} s spent"
            + (" (allowed)" if result.allow_partial else " (the gate does not pass)"),
            "",
        ]
        lines += [f"- {c.configuration.id}" for c in result.skipped[:max_rows]]
        if len(result.skipped) > max_rows:
            lines.append(f"- … and {len(result.skipped) - max_rows} more")
    if result.unclaimed:
        lines += [
            "",
            f"### Not explored (promises `{result.promises.name}`, store `{_md(result.target)}`)",
            "",
        ]
        lines += [f"- {_md(line)}" for line in not_explored_lines(result.unclaimed)]
    lines += ["", *promise_verdict_lines(result)]
    lines += [
        "",
        "<details><summary>Which check judges which promise, under which faults, "
        "proven by which seeded bug</summary>",
        "",
        promise_table_markdown(promise_rows(load_default_catalog())),
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def promise_verdicts(result: GateResult) -> list[tuple[str, str, str]]:
    """(promise id, verdict, detail) for every promise: ``broken`` when a failed case
    of one of its checks shows one of its kinds, ``kept`` when one of its checks ran
    and none did, ``not judged`` when none of its checks ran in this gate."""
    out: list[tuple[str, str, str]] = []
    for promise in PROMISES:
        cases = [c for c in result.cases if c.configuration.scenario in promise.checks]
        ran = [c for c in cases if c.status in ("passed", "failed")]
        broken = sorted({c.configuration.id for c in ran for k in c.kinds if k in promise.kinds})
        if broken:
            more = f" (+{len(broken) - 3})" if len(broken) > 3 else ""
            out.append((promise.id, "broken", ", ".join(broken[:3]) + more))
        elif ran:
            out.append((promise.id, "kept", f"{len(ran)} configurations"))
        else:
            out.append((promise.id, "not judged", "none of its checks ran"))
    return out


def promise_verdict_lines(result: GateResult) -> list[str]:
    lines = ["### Promises", "", "| promise | this run | where |", "|---|---|---|"]
    for promise_id, verdict, detail in promise_verdicts(result):
        shown = {"broken": "❌ broken", "kept": "✅ kept"}.get(verdict, verdict)
        lines.append(f"| {promise_id} | {shown} | {_md(detail)} |")
    return lines


def not_explored_lines(unclaimed: Iterable[NotExplored]) -> list[str]:
    """One line per scenario (or check) and reason: ``name (layouts): reason``, in plan
    order; what the terminal, the Markdown summary and the plugin's header say."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for config in unclaimed:
        where = config.layout if config.backend == "real" else f"{config.layout}/{config.backend}"
        places = grouped.setdefault((config.scenario, config.reason), [])
        if where not in places:
            places.append(where)
    return [f"{name} ({', '.join(places)}): {why}" for (name, why), places in grouped.items()]


def _checks_text(result: GateResult) -> str:
    ran = {c.configuration.scenario for c in result.cases}
    parts = []
    if MACHINE_CHECK in ran:
        checks = result.checks
        parts.append(f"machines {checks.machine_examples} examples x {checks.machine_steps} steps")
    if CONCURRENCY_CHECK in ran:
        parts.append(f"concurrency {result.checks.concurrency_rounds} rounds")
    return "".join(f" · {p}" for p in parts)


def _machine_failures(failed: Sequence[CaseResult]) -> list[str]:
    """Each failing machine: its first line, the shrunk example, how to reproduce it."""
    lines: list[str] = []
    for case in failed:
        if case.configuration.scenario != MACHINE_CHECK:
            continue
        if not lines:
            lines += ["", "### Machine failures (shrunk by Hypothesis)"]
        first = case.details[0] if case.details else _kinds_text(case.kinds)
        lines += ["", f"**{_md(case.configuration.id)}**: {_md(first)}", "", "```"]
        lines += list(case.example) or ["(no example printed)"]
        lines += ["```"]
        if case.reproduce:
            lines += ["", f"Reproduce: `{case.reproduce}`"]
    return lines


def write_gate_reports(
    result: GateResult,
    out: str,
    *,
    junit: str | None = None,
    step_summary: str | None = None,
) -> dict[str, str]:
    """Write ``gate.json``, ``gate-summary.md`` and the JUnit XML (default
    ``out/junit.xml``); append the Markdown to ``step_summary`` when given (the file
    ``$GITHUB_STEP_SUMMARY`` names). Returns the paths written, by kind."""
    os.makedirs(out, exist_ok=True)
    paths = {
        "json": os.path.join(out, "gate.json"),
        "markdown": os.path.join(out, "gate-summary.md"),
        "junit": junit or os.path.join(out, "junit.xml"),
    }
    markdown = markdown_summary(result)
    _write_text(paths["json"], json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    _write_text(paths["markdown"], markdown)
    os.makedirs(os.path.dirname(paths["junit"]) or ".", exist_ok=True)
    with open(paths["junit"], "wb") as handle:
        handle.write(junit_xml(result))
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    return paths


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
