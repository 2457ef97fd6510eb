"""``index.html``: one self-contained page -- inline CSS, plots as base64 PNG data URIs,
no script, no external asset of any kind."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from harness.engine._promises import PROMISE_TABLE_NAME

from ._crash import GLOSSARY, CrashSummary, crash_tables, findings_table, replay_groups
from ._findings import Finding
from ._markdown import (
    TITLE,
    crash_intro,
    data_tables,
    grid_name,
    micro_section,
    mutation_section,
    run_facts,
    whole_run,
)
from ._micro import MicroSummary
from ._mutation import MutationScore
from ._plots import Plot
from ._results import BenchResults
from ._tables import FEW_NOTE, Table

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
/* Long cells wrap inside the page instead of widening it (names with dots and dashes,
   lists of kinds). */
table.wrap { width: 100%; table-layout: auto; }
table.wrap td, table.wrap th { overflow-wrap: break-word; }
table.wrap td.t, table.wrap th { text-align: left; } td.n { white-space: nowrap; }
.lead { font-size: 15px; } .lead li { margin: .15rem 0; }
.broken { color: #a01010; font-weight: 600; }
details { margin: .3rem 0; } summary { cursor: pointer; }
dl.glossary dt { font-weight: 600; float: left; clear: left; width: 9rem; }
dl.glossary dd { margin-left: 9.5rem; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_NUMBER = re.compile(r"^[-+]?[\d,.]+\s*(x|%|ms)?[*~]?$")


def _td(cell: str) -> str:
    # numbers stay whole and right-aligned; words wrap from the left
    return (
        f'<td class="n">{_e(cell)}</td>'
        if _NUMBER.match(cell)
        else f'<td class="t">{_e(cell)}</td>'
    )


def html_table(table: Table, *, wrap: bool = False) -> str:
    """``wrap``: the table takes the page's width and its cells wrap (for tables of
    words, where a scroll bar would hide columns)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(_td(c) if wrap else f"<td>{_e(c)}</td>" for c in row) + "</tr>"
        for row in table.rows
    )
    parts = [
        '<div class="scroll"><table class="wrap">' if wrap else '<div class="scroll"><table>',
        f"<caption>{_e(table.title)}</caption>",
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>",
    ]
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    return "".join(parts)


def _finding(finding: Finding, grid: str) -> str:
    verdict = ""
    if finding.verdict:
        css = "met" if finding.verdict == "met" else "not-met"
        verdict = f' <span class="verdict {css}">goal {_e(finding.verdict)} ({_e(grid)})</span>'
    tables = "".join(html_table(t) for t in finding.tables)
    return f"<h3>{_e(finding.question)}</h3><p>{_e(finding.answer)}{verdict}</p>{tables}"


def _plot(plot: Plot) -> str:
    return (
        f'<figure id="{_e(plot.key)}"><img alt="{_e(plot.title)}" '
        f'src="data:image/png;base64,{plot.png_base64}">'
        f"<figcaption>{_e(plot.title)}: {_e(plot.caption)}</figcaption></figure>"
    )


def _crash_lead(crash: CrashSummary | None) -> str:
    """The first screen: each profile's count, the table per profile and layout, and the
    replay files behind it."""
    parts = ['<ul class="lead">', *(f"<li>{_e(line)}</li>" for line in crash_intro(crash)), "</ul>"]
    if crash is not None and not crash.error:
        table = findings_table(crash)
        if table is not None:
            parts.append(html_table(table, wrap=True))
        for label, files in replay_groups(crash):
            links = "".join(f'<li><a href="{_e(f.link)}">{_e(f.name)}</a></li>' for f in files)
            parts.append(
                f"<details><summary>{_e(label)}: {len(files)} replay files</summary>"
                f"<ul>{links}</ul></details>"
            )
    terms = "".join(f"<dt>{_e(t)}</dt><dd>{_e(m)}</dd>" for t, m in GLOSSARY)
    parts.append(f'<h3>Counting words</h3><dl class="glossary">{terms}</dl>')
    return "".join(parts)


def _crash(crash: CrashSummary | None) -> str:
    if crash is None or crash.error:
        return ""
    tables = crash_tables(crash)
    text = "".join(html_table(t, wrap=True) for t in tables)
    if crash.skipped_rows:
        text += f"<p>{crash.skipped_rows} malformed rows of crash-summary.json were left out.</p>"
    return text


def _inline(text: str) -> str:
    """The little Markdown the promise table uses: `code` and **bold**."""
    out = _e(text)
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]*)\*\*", r"<strong>\1</strong>", out)


def _promise_table_html(markdown: str | None) -> str:
    """``promise-table.md`` (the gate's Markdown) as HTML: its table, then its lines."""
    if markdown is None:
        return (
            f"<p>No {_e(PROMISE_TABLE_NAME)} beside this report: the seeded-bug step of "
            "<code>store-harness report</code> writes it; <code>store-harness gate "
            "--promises</code> prints it.</p>"
        )
    rows: list[list[str]] = []
    rest: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(c) <= {"-", ":"} for c in cells):
                rows.append([c.replace("\\|", "|") for c in cells])
        elif line.startswith("- "):
            rest.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            rest.append(f"<p>{_inline(line)}</p>")
    head, *body = rows or [[]]
    table = (
        "<table><thead><tr>"
        + "".join(f"<th>{_inline(c)}</th>" for c in head)
        + "</tr></thead><tbody>"
        + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
        + "</tbody></table>"
    )
    items = "".join(x for x in rest if x.startswith("<li>"))
    paragraphs = "".join(x for x in rest if x.startswith("<p>"))
    return table + paragraphs + (f"<ul>{items}</ul>" if items else "")


def render_html(
    results: BenchResults,
    findings: Sequence[Finding],
    plots: Sequence[Plot],
    crash: CrashSummary | None,
    *,
    rendered_by: str | None = None,
    micro: MicroSummary | None = None,
    mutation: MutationScore | None = None,
    promise_table: str | None = None,
    phases: Sequence[tuple[str, int]] = (),
) -> str:
    grid = grid_name(results)
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
        f"<title>{_e(TITLE)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(TITLE)}</h1>",
        f"<p><strong>Whole run:</strong> {_e(whole_run(results, phases))}</p>",
        "<h2>Crash findings</h2>",
        _crash_lead(crash),
        _crash(crash),
        "<h2>Seeded bugs</h2>",
        *(f"<p>{_e(paragraph)}</p>" for paragraph in mutation_text),
        *(html_table(t, wrap=True) for t in mutation_tabs),
        "<h2>Promises: which check judges what, proven by which seeded bug</h2>",
        _promise_table_html(promise_table),
        "<h2>Benchmark run</h2>",
        f'<table class="facts">{facts}</table>',
        "<p>All durations are wall-clock milliseconds from <code>time.perf_counter_ns</code> "
        "on real temp folders; p50/p99 interpolate linearly between ranks. Verdicts are "
        f"those of this run's {_e(grid)}. {_e(FEW_NOTE)}</p>",
        "<h2>Answers</h2>",
        *(_finding(f, grid) for f in findings),
        "<h2>Plots</h2>",
        *(_plot(p) for p in plots),
        "<h2>Micro-benchmarks</h2>",
        *(f"<p>{_e(paragraph)}</p>" for paragraph in micro_text),
        *(html_table(t) for t in micro_tabs),
        "<h2>All measurements</h2>",
        *(html_table(t) for t in data_tables(results)),
        "</body></html>",
    ]
    return "\n".join(sections) + "\n"
