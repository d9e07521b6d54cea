"""The report's tables in Markdown (``report.md``): the same rows as the HTML page, no figures.

Every name, path and message goes through :func:`spikeattr._markdown.markdown_text`, so a
model called ``<img src=x onerror=alert(1)>.json`` shows as that text in any Markdown viewer
and a ``|`` in a name cannot split a table cell.
"""

from __future__ import annotations

from spikeattr._markdown import Markdown, markdown_table, markdown_text
from spikeattr.viz.report_content import (
    ACCURACY_HEADINGS,
    MANIFEST_TABLES,
    SUMMARY_HEADINGS,
    UNIT_HEADINGS,
    ReportContent,
    accuracy_rows,
    config_rows,
    incomplete_units,
    manifest_sections,
    summary_cells,
    unit_rows,
)


def render_markdown(content: ReportContent) -> str:
    """``report.md``: missing files, notes, configuration, manifest, accuracy and metrics."""
    run = content.run
    parts = [f"# Evaluation report: {markdown_text(run.path.name)}\n"]
    if run.missing:
        parts.append("## Missing\n")
        parts += [
            f"- Missing: {markdown_text(n.where)} ({markdown_text(n.why)})" for n in run.missing
        ]
        parts.append("")
    if content.notes:
        parts += ["## Notes\n", *[f"- {markdown_text(n)}" for n in content.notes], ""]
    parts.append("## Run\n")
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
    # the interval, made of two formatted floats, stays "[low, high]" as in the summary
    accuracy = [[*row[:2], Markdown(row[2]), *row[3:]] for row in accuracy_rows(run)]
    parts += ["## Model accuracy\n", markdown_table(ACCURACY_HEADINGS, accuracy)]
    parts.append("## Metrics\n")
    summary = [summary_cells(row) for row in content.summary]
    # names are escaped; the numbers and their intervals stay as summary.md writes them
    rows = [[model, method, *map(Markdown, cells)] for model, method, *cells in summary]
    parts.append(markdown_table(SUMMARY_HEADINGS, rows))
    incomplete = incomplete_units(content.summary)
    if incomplete:
        parts.append("Missing results: " + "; ".join(map(markdown_text, incomplete)) + "\n")
    parts += ["### Stamps and timing per unit\n", markdown_table(UNIT_HEADINGS, unit_rows(run))]
    return "\n".join(parts)
