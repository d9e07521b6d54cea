"""The report as one self-contained HTML page, rendered from ``templates/report.html.j2``.

The template is rendered with autoescaping on, so every value (model names, paths, class and
method names, error messages) is HTML-escaped wherever it appears; nothing is assembled by
string concatenation. The page has inline CSS (``templates/report.css``), figures as base64 PNG
``data:`` URIs, no scripts and no external links: it opens offline.
"""

from __future__ import annotations

import datetime as dt
import functools

import jinja2

from spikeattr import __version__
from spikeattr.viz.report_content import (
    ACCURACY_HEADINGS,
    MANIFEST_TABLES,
    SUMMARY_HEADINGS,
    UNIT_HEADINGS,
    ReportContent,
    accuracy_rows,
    config_rows,
    explained_stamps,
    manifest_sections,
    notes_under,
    split_interval,
    summary_cells,
    summary_facts,
    unit_rows,
)
from spikeattr.viz.style import is_control, method_label

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


def render_html(content: ReportContent) -> str:
    """The self-contained HTML page of ``content``."""
    run = content.run
    sections = manifest_sections(run)
    manifest_tables = [
        (title, headings, sections[key], ("code", "num" if key == "timings" else ""))
        for key, title, headings in MANIFEST_TABLES
        if sections[key]
    ]
    summary_rows = [
        {
            "model": row["model"],
            "method": row["method"],
            "control": is_control(row["method"]),
            "cells": [split_interval(cell) for cell in summary_cells(row)[2:]],
        }
        for row in content.summary
    ]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            name=run.path.name,
            path=str(run.path),
            facts=summary_facts(run),
            missing=run.missing,
            notes=content.notes,
            missing_under={
                "models": notes_under(run, "models/"),
                "results": notes_under(run, "results/"),
                "gallery": notes_under(run, "gallery/"),
                "run": notes_under(run, "config.json", "manifest.json"),
            },
            accuracy={"headings": ACCURACY_HEADINGS, "rows": accuracy_rows(run)},
            summary={"headings": SUMMARY_HEADINGS, "rows": summary_rows},
            units={"headings": UNIT_HEADINGS, "rows": unit_rows(run)},
            figures=content.figures,
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
