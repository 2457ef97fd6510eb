"""``index.html``: one self-contained page -- inline CSS, plots as base64 PNG data URIs,
no script, no external asset of any kind."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ._crash import CrashSummary, crash_tables
from ._findings import Finding
from ._markdown import data_tables, micro_section, mutation_section, run_facts
from ._micro import MicroSummary
from ._mutation import MutationScore
from ._plots import Plot
from ._results import BenchResults
from ._tables import Table

__all__ = ["render_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: 12.5px; }
th, td { border: 1px solid #d0d0d4; padding: .2rem .45rem; text-align: right; }
th { background: #f3f3f6; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .3rem 0; }
.note { color: #555; font-size: 12px; margin-top: -.6rem; }
.facts td { text-align: left; } code { background: #f3f3f6; padding: 0 .25rem; }
.verdict { font-weight: 700; padding: 0 .35rem; border-radius: 3px; }
.met { background: #d7f5dd; } .not-met { background: #fadcdc; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 12px; }
.scroll { overflow-x: auto; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_table(table: Table) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    parts = [
        '<div class="scroll"><table>',
        f"<caption>{_e(table.title)}</caption>",
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>",
    ]
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    return "".join(parts)


def _finding(finding: Finding) -> str:
    verdict = ""
    if finding.verdict:
        css = "met" if finding.verdict == "met" else "not-met"
        verdict = f' <span class="verdict {css}">goal {_e(finding.verdict)}</span>'
    tables = "".join(html_table(t) for t in finding.tables)
    return f"<h3>{_e(finding.question)}</h3><p>{_e(finding.answer)}{verdict}</p>{tables}"


def _plot(plot: Plot) -> str:
    return (
        f'<figure id="{_e(plot.key)}"><img alt="{_e(plot.title)}" '
        f'src="data:image/png;base64,{plot.png_base64}">'
        f"<figcaption>{_e(plot.title)}: {_e(plot.caption)}</figcaption></figure>"
    )


def _crash(crash: CrashSummary | None) -> str:
    if crash is None:
        return "<p>No crash-summary.json beside this report: no crash runs to summarize.</p>"
    if crash.error:
        return f"<p>crash-summary.json could not be read ({_e(crash.error)}).</p>"
    tables = crash_tables(crash)
    if not tables:
        return "<p>crash-summary.json holds no runs and no promises.</p>"
    text = "".join(html_table(t) for t in tables)
    if crash.skipped_rows:
        text += f"<p>{crash.skipped_rows} malformed rows of crash-summary.json were left out.</p>"
    return text


def render_html(
    results: BenchResults,
    findings: Sequence[Finding],
    plots: Sequence[Plot],
    crash: CrashSummary | None,
    *,
    rendered_by: str | None = None,
    micro: MicroSummary | None = None,
    mutation: MutationScore | None = None,
) -> str:
    micro_text, micro_tabs = micro_section(micro)
    mutation_text, mutation_tabs = mutation_section(mutation)
    facts = "".join(
        f"<tr><th>{_e(label)}</th><td>"
        + (f"<code>{_e(value)}</code>" if label in ("Command", "Rendered by") else _e(value))
        + "</td></tr>"
        for label, value in run_facts(results, rendered_by)
    )
    sections = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Session store benchmarks</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Session store benchmarks</h1>",
        f'<table class="facts">{facts}</table>',
        "<p>All durations are wall-clock milliseconds from <code>time.perf_counter_ns</code> "
        "on real temp folders; p50/p99 interpolate linearly between ranks.</p>",
        "<h2>Answers</h2>",
        *(_finding(f) for f in findings),
        "<h2>Plots</h2>",
        *(_plot(p) for p in plots),
        "<h2>Crash scenarios</h2>",
        _crash(crash),
        "<h2>Seeded bugs</h2>",
        *(f"<p>{_e(paragraph)}</p>" for paragraph in mutation_text),
        *(html_table(t) for t in mutation_tabs),
        "<h2>Micro-benchmarks</h2>",
        *(f"<p>{_e(paragraph)}</p>" for paragraph in micro_text),
        *(html_table(t) for t in micro_tabs),
        "<h2>All measurements</h2>",
        *(html_table(t) for t in data_tables(results)),
        "</body></html>",
    ]
    return "\n".join(sections) + "\n"
