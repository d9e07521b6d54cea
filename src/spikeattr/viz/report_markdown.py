"""The report's tables in Markdown (``report.md``): the same rows as the HTML page, no figures.

Every name, path and message goes through :func:`spikeattr._markdown.markdown_text`, so a
model called ``<img src=x onerror=alert(1)>.json`` shows as that text in any Markdown viewer
and a ``|`` in a name cannot split a table cell. Numbers and their intervals, made by spikeattr,
stay ``0.089 [0.083, 0.100]``.
"""

from __future__ import annotations

from spikeattr._markdown import Markdown, markdown_table, markdown_text
from spikeattr.viz.report_content import (
    ACCURACY_HEADINGS,
    PROTOCOL_TEXTS,
    SANITY_TEXT,
    TRUST_TEXT,
    UNIT_HEADINGS,
    ReportContent,
    Table,
    accuracy_rows,
    comparisons,
    run_notes,
    sanity_table,
    score_table,
    trust_table,
    unit_rows,
)
from spikeattr.viz.report_run import MANIFEST_TABLES, config_rows, manifest_sections, run_title


def table_markdown(table: Table) -> str:
    """A :class:`Table` as a pipe table: names escaped, numbers as made, the method cell of a
    control row in italics."""
    rows = []
    for index, row in enumerate(table.rows):
        cells: list[object] = []
        for column, (kind, cell) in enumerate(zip(table.kinds, row, strict=True)):
            if kind == "num":
                cells.append(Markdown(cell))
            elif index in table.controls and column == 1:
                cells.append(Markdown(f"*{markdown_text(cell)}*"))
            else:
                cells.append(cell)
        rows.append(cells)
    return markdown_table(table.headings, rows)


def render_markdown(content: ReportContent) -> str:
    """``report.md``: missing files, notes, accuracy, the comparable protocol and its sanity
    check, the paper protocol, and the run's details."""
    run = content.run
    parts = [
        f"# Evaluation of {markdown_text(run_title(run))}\n",
        f"Run directory: {markdown_text(run.path.name)}\n",
    ]
    if run.missing:
        parts.append("## Missing\n")
        parts += [
            f"- Missing: {markdown_text(n.where)} ({markdown_text(n.why)})" for n in run.missing
        ]
        parts.append("")
    notes = run_notes(run) + content.notes
    if notes:
        parts += ["## Notes\n", *[f"- {markdown_text(n)}" for n in notes], ""]
    # the interval, made of two formatted floats, stays "[low, high]" as in the summary
    accuracy = [[*row[:2], Markdown(row[2]), *row[3:]] for row in accuracy_rows(run)]
    parts += ["## Model accuracy\n", markdown_table(ACCURACY_HEADINGS, accuracy)]
    trust = trust_table(run)
    if trust is not None:
        parts += ["## Which method to trust\n", TRUST_TEXT + "\n", table_markdown(trust)]
    title, text = PROTOCOL_TEXTS["comparable"]
    parts += [f"## {title}\n", text + "\n", table_markdown(score_table(run, "comparable"))]
    for comparison in comparisons(run):
        model = markdown_text(comparison.model)
        if comparison.ranking.rows:
            parts += [f"### Ranking of the methods: {model}\n", table_markdown(comparison.ranking)]
        if comparison.pairs_caption:
            parts.append(f"### Paired comparisons: {model} ({comparison.pairs_caption})\n")
            if comparison.pairs.rows:
                parts.append(table_markdown(comparison.pairs))
    sanity = sanity_table(run)
    parts += ["## Sanity check\n", SANITY_TEXT + "\n"]
    parts.append(table_markdown(sanity) if sanity else "Not computed by this run.\n")
    if run.headline("paper"):  # the run has the paper's metrics (the quick start has not)
        title, text = PROTOCOL_TEXTS["paper"]
        parts += [f"## {title}\n", text + "\n", table_markdown(score_table(run, "paper"))]
    parts.append("The figures and the gallery are in the HTML report beside this file.\n")
    parts.append("## Run details\n")
    parts.append(
        markdown_table(("setting", "value"), config_rows(run))
        if run.config
        else "Missing: configuration\n"
    )
    sections = manifest_sections(run)
    if run.manifest is None:
        parts.append("Missing: manifest.json\n")
    for key, title, headings in MANIFEST_TABLES:
        if sections[key]:
            parts += [f"### {title}\n", markdown_table(headings, sections[key])]
    parts += ["### Stamps and timing per unit\n", markdown_table(UNIT_HEADINGS, unit_rows(run))]
    return "\n".join(parts)
