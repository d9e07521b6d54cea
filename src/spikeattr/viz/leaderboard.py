"""The benchmark's leaderboard as one self-contained HTML page (``leaderboard.html``).

Rendered from ``templates/leaderboard.html.j2`` with autoescaping on: every value (task, model,
method names, paths) is HTML-escaped wherever it appears. Inline style, no scripts, no external
resources: the page opens offline.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from spikeattr import __version__
from spikeattr.evaluate.leaderboard import Leaderboard, headline_heading, model_label
from spikeattr.evaluate.summary import SIGNIFICANCE_RULE, format_number

TEMPLATE = "leaderboard.html.j2"


@functools.cache
def environment() -> jinja2.Environment:
    """The package's ``templates`` folder, autoescaping always on, and an error (not an empty
    string) for a value the template names but is not given."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("spikeattr.viz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _cell(entry: Mapping[str, Any] | None) -> dict[str, str]:
    if not entry:
        return {"value": "-", "ci": ""}
    low, high = entry.get("ci_low"), entry.get("ci_high")
    ci = ""
    if low is not None and high is not None and (low != entry["value"] or high != entry["value"]):
        ci = f"[{format_number(low)}, {format_number(high)}]"
    return {"value": format_number(entry.get("value")), "ci": ci}


def render_leaderboard_html(board: Leaderboard) -> str:
    """The self-contained HTML page of ``board``."""
    tasks = []
    for task in dict.fromkeys(row["task"] for row in board.rows):
        comparisons = []
        for comparison in board.comparisons:
            if comparison["task"] != task:
                continue
            ranking = comparison.get("ranking") or []
            scores = [k for k in ranking[0] if k not in ("method", "mean_rank")] if ranking else []
            comparisons.append(
                {
                    "model": model_label(comparison["model"]),
                    "scores": scores,
                    "ranking": [
                        {
                            "method": row["method"],
                            "mean_rank": f"{row['mean_rank']:.2f}",
                            "cells": [
                                f"{format_number(row[s]['value'])} (#{row[s]['rank']:g})"
                                for s in scores
                            ],
                        }
                        for row in ranking
                    ],
                    "total": len(comparison.get("pairs", [])),
                    "pairs": [
                        {
                            "first": p["first"],
                            "second": p["second"],
                            "score": p["score"],
                            "difference": f"{format_number(p['difference'])} "
                            f"[{format_number(p['ci_low'])}, {format_number(p['ci_high'])}]",
                            "p": f"{p['p_value']:.2g}",
                            "p_holm": f"{p['p_holm']:.2g}" if "p_holm" in p else "-",
                            "better": {"first": p["first"], "second": p["second"]}.get(
                                p["better"], "tie"
                            ),
                        }
                        for p in comparison.get("pairs", [])
                        if p.get("significant")
                    ],
                }
            )
        tasks.append(
            {
                "name": task,
                "rows": [
                    {
                        "model": row["layers"],
                        "label": row["label"],
                        "dtype": row.get("dtype") or "-",
                        "control": row["variant"] != "method",
                        "cells": [_cell(row["cells"].get(c["column"])) for c in board.columns],
                    }
                    for row in board.rows
                    if row["task"] == task
                ],
                "comparisons": comparisons,
            }
        )
    best = [
        {
            "task": b["task"],
            "model": b["layers"],
            "method": b["method"],
            "score": b["score"],
            "cell": _cell(b["cell"]),
            "dtype": b["dtype"] or "-",
            "tied": ", ".join(b["tied"]) or "-",
        }
        for b in board.best
    ]
    models = [
        {
            "task": m["task"],
            "model": m["layers"],
            "accuracy": f"{m['balanced_accuracy']:.4f}",
            "ci": (f"[{m['ci95'][0]:.4f}, {m['ci95'][1]:.4f}]" if m.get("ci95") else ""),
            "stamps": m["stamps"],
            "prevalence": format_number(m["prevalence"]),
            "checkpoint": m["model"],
        }
        for m in board.models
    ]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            headings=[headline_heading(c) for c in board.columns],
            protocols=[c["protocol"] for c in board.columns],
            models=models,
            best=best,
            tasks=tasks,
            significance_rule=SIGNIFICANCE_RULE,
            version=__version__,
            now=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
    )
