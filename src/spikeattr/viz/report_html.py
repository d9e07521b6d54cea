"""The report as one self-contained HTML page, rendered from ``templates/report.html.j2``.

The template is rendered with autoescaping on, so every value (model names, paths, class and
method names, error messages) is HTML-escaped wherever it appears; nothing is assembled by
string concatenation. The page has inline CSS (``templates/report.css``), figures as base64 PNG
``data:`` URIs, no scripts and no external links: it opens offline.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import jinja2

from spikeattr import __version__
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
    split_interval,
    trust_table,
    unit_rows,
)
from spikeattr.viz.report_run import (
    MANIFEST_TABLES,
    config_rows,
    explained_stamps,
    manifest_sections,
    notes_under,
    run_title,
    summary_facts,
)
from spikeattr.viz.style import method_label

TEMPLATE = "report.html.j2"


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment: the package's ``templates`` folder, autoescaping always on,
    and an error (not an empty string) for a value the template names but is not given."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("spikeattr.viz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def table_context(table: Table | None, table_id: str = "") -> dict[str, Any] | None:
    """What the template's ``data_table`` macro draws: headings, and per row whether it is a
    control and its cells as ``(kind, value, interval)``."""
    if table is None:
        return None
    rows = []
    for index, row in enumerate(table.rows):
        cells = []
        for kind, cell in zip(table.kinds, row, strict=True):
            value, interval = split_interval(cell) if kind == "num" else (cell, "")
            cells.append((kind, value, interval))
        rows.append({"control": index in table.controls, "cells": cells})
    return {"id": table_id, "headings": table.headings, "rows": rows}


def render_html(content: ReportContent) -> str:
    """The self-contained HTML page of ``content``."""
    run = content.run
    sections = manifest_sections(run)
    manifest_tables = [
        (title, headings, sections[key], ("code", "num" if key == "timings" else ""))
        for key, title, headings in MANIFEST_TABLES
        if sections[key]
    ]
    model_comparisons = [
        {
            "model": c.model,
            "ranking": table_context(c.ranking) if c.ranking.rows else None,
            "caption": c.pairs_caption,
            "pairs": table_context(c.pairs) if c.pairs.rows else None,
        }
        for c in comparisons(run)
    ]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            name=run_title(run),
            path=str(run.path),
            facts=summary_facts(run),
            missing=run.missing,
            notes=run_notes(run) + content.notes,
            missing_under={
                "models": notes_under(run, "models/"),
                "results": notes_under(run, "results/", "comparisons/"),
                "gallery": notes_under(run, "gallery/"),
                "run": notes_under(run, "config.json", "manifest.json"),
            },
            accuracy={"headings": ACCURACY_HEADINGS, "rows": accuracy_rows(run)},
            trust_text=TRUST_TEXT,
            trust=table_context(trust_table(run), "best-methods"),
            protocols=PROTOCOL_TEXTS,
            comparable=table_context(score_table(run, "comparable"), "comparable"),
            comparisons=model_comparisons,
            sanity_text=SANITY_TEXT,
            sanity=table_context(sanity_table(run), "sanity"),
            paper=table_context(score_table(run, "paper"), "paper")
            if run.headline("paper")
            else None,
            figures=content.figures,
            units={"headings": UNIT_HEADINGS, "rows": unit_rows(run)},
            models=run.models,
            methods=[(method, method_label(method)) for method in run.methods],
            gallery=content.gallery,
            config_rows=config_rows(run) if run.config else [],
            stamps=explained_stamps(run),
            manifest_tables=manifest_tables,
            version=__version__,
            now=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
    )
