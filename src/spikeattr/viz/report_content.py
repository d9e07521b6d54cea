"""What the report of an evaluation run says, as plain text: shared by the HTML page and the
Markdown tables, so both show the same rows and numbers.

Every function returns unescaped strings; the renderers (:mod:`spikeattr.viz.report_html`
through an autoescaping template, :mod:`spikeattr.viz.report_markdown` through
:func:`spikeattr._markdown.markdown_text`) escape them for their format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr.evaluate.results import SUMMARY_COLUMNS, format_cell, format_number
from spikeattr.viz.gallery import GalleryRow
from spikeattr.viz.rundir import EvaluationRun, Missing

#: The manifest tables: (section key, title, column headings).
MANIFEST_TABLES: tuple[tuple[str, str, tuple[str, str]], ...] = (
    ("general", "Manifest", ("field", "value")),
    ("checksums", "Data checksums", ("data file", "SHA-256")),
    ("versions", "Versions", ("package", "version")),
    ("timings", "Timings", ("step", "seconds")),
)

ACCURACY_HEADINGS = ("model", "balanced accuracy", "95 % CI", "accuracy", "steps", "layer sizes")
UNIT_HEADINGS = ("model", "method", "stamps", "empty explanations", "seconds per stamp")
SUMMARY_HEADINGS = ("model", "method", *(title for _, title in SUMMARY_COLUMNS))

#: Captions of the metric figures, by key.
FIGURE_CAPTIONS = {
    "flipping": (
        "Correctness: balanced accuracy after flipping the k highest-ranked segments, against "
        "the original prediction and against the ground truth (a fast fall is good; ESS is the "
        "normalised area under the curve). Dashed: the random control in its method's colour."
    ),
    "completeness": (
        "Output-completeness versus epsilon: agreement with the original prediction when only "
        "segments above epsilon (a fraction of the method's largest |attribution|) are kept "
        "(higher is better), with 95 % bootstrap CI bands. Dashed: random control."
    ),
    "bars": (
        "Continuity (max-sensitivity to duration perturbations) and compactness (sum of "
        "|attribution|), means over stamps with 95 % CIs; lower is better. Hatched: random "
        "control; diamonds: maximum over stamps."
    ),
}


@dataclass(frozen=True)
class MetricFigure:
    """A metric figure of the report: ``key`` of :data:`FIGURE_CAPTIONS`, its title and PNG."""

    key: str
    title: str
    uri: str

    @property
    def caption(self) -> str:
        return FIGURE_CAPTIONS[self.key]


@dataclass
class ReportContent:
    """Everything a renderer shows.

    Attributes:
        run: the run as read (its ``missing`` notes complete once ``summary`` is computed).
        summary: :meth:`EvaluationRun.summary_rows`, one row per unit.
        notes: remarks on how something is shown (a gallery file without a time axis).
        figures: the metric figures; gallery: per model, one row per explained stamp.
    """

    run: EvaluationRun
    summary: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    figures: list[MetricFigure] = field(default_factory=list)
    gallery: dict[str, list[GalleryRow]] = field(default_factory=dict)


def _listed(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def config_rows(run: EvaluationRun) -> list[tuple[str, str]]:
    """``(setting, value)`` of the run's configuration; the stamps as their count."""
    config = run.config
    keys = ("models", "methods", "data", "data_sha256", "split")
    rows = [(key, _listed(config[key])) for key in keys if key in config]
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        rows.append(("stamps", f"{len(stamps)} stamps"))
    for key in ("window", "width", "epsilons", "n_perturbations", "random_control", "seed"):
        if key in config:
            rows.append((key, _listed(config[key])))
    shown = {r[0] for r in rows}
    rows += [(k, json.dumps(v)) for k, v in config.items() if k not in shown and k != "stamps"]
    return rows


def explained_stamps(run: EvaluationRun) -> list[int]:
    """The stamps of the run's configuration (empty if unknown)."""
    stamps = run.config.get("stamps")
    return [int(s) for s in stamps] if isinstance(stamps, list) else []


def manifest_sections(run: EvaluationRun) -> dict[str, list[tuple[str, str]]]:
    """The rows of each table of :data:`MANIFEST_TABLES`, by section key."""
    manifest = run.manifest or {}
    general = [
        (key, str(manifest[key])) for key in ("command", "created", "seed") if key in manifest
    ]
    versions = [(k, str(v)) for k, v in (manifest.get("versions") or {}).items()]
    checksums: list[tuple[str, str]] = []
    for source, values in (manifest.get("data_checksums") or {}).items():
        if isinstance(values, dict):
            checksums += [(f"{source} ({k})", str(v)) for k, v in values.items()]
        else:
            checksums.append((str(source), str(values)))
    timings = [
        (k, f"{float(v):.2f}")
        for k, v in (manifest.get("timings_s") or {}).items()
        if isinstance(v, (int, float))
    ]
    return {"general": general, "versions": versions, "checksums": checksums, "timings": timings}


def accuracy_rows(run: EvaluationRun) -> list[list[str]]:
    """One row of :data:`ACCURACY_HEADINGS` per model; ``missing`` where its file is."""
    rows = []
    for model in run.models:
        body = run.accuracy.get(model)
        if body is None:
            rows.append([model, "missing", "", "", "", ""])
            continue
        ci = body.get("ci95") or []
        ci_text = (
            f"[{format_number(float(ci[0]))}, {format_number(float(ci[1]))}]"
            if len(ci) == 2
            else ""
        )
        accuracy = body.get("balanced_accuracy")
        rows.append(
            [
                model,
                format_number(float(accuracy)) if accuracy is not None else "missing",
                ci_text,
                format_number(float(body["accuracy"])) if "accuracy" in body else "",
                str(body.get("n_steps", "")),
                "-".join(str(n) for n in body.get("layer_sizes", [])),
            ]
        )
    return rows


def summary_cells(row: dict[str, Any]) -> list[str]:
    """The cells of one summary row under :data:`SUMMARY_HEADINGS`, as in ``summary.md``."""
    return [row["model"], row["method"]] + [format_cell(row, key) for key, _ in SUMMARY_COLUMNS]


def split_interval(cell: str) -> tuple[str, str]:
    """``"0.12 [0.1, 0.2]"`` -> ``("0.12", "[0.1, 0.2]")``; no interval -> ``(cell, "")``."""
    value, bracket, rest = cell.partition(" [")
    return (value, "[" + rest) if bracket else (cell, "")


def incomplete_units(summary: Sequence[dict[str, Any]]) -> list[str]:
    """``MODEL / METHOD: metrics`` of every unit with missing metrics."""
    return [f"{r['model']} / {r['method']}: {r['missing']}" for r in summary if r["missing"]]


def unit_rows(run: EvaluationRun) -> list[list[str]]:
    """One row of :data:`UNIT_HEADINGS` per unit: stamps, empty explanations, timing."""
    rows = []
    for model, name in run.units():
        stamps = run.stamps.get((model, name))
        bodies = run.metrics.get((model, name), {})
        seconds = next((b.get("seconds_per_stamp") for b in bodies.values()), None)
        if stamps is None:
            rows.append([model, name, "missing", "missing", ""])
            continue
        count = len(stamps.get("stamps") or [])
        empty = len(stamps.get("empty_explanations") or [])
        rows.append(
            [
                model,
                name,
                str(count),
                str(empty),
                f"{float(seconds):.3f}" if isinstance(seconds, (int, float)) else "",
            ]
        )
    return rows


def summary_facts(run: EvaluationRun) -> list[tuple[str, str]]:
    """What the run evaluated, as ``(text, code)`` pieces of one sentence: ``code`` (a file
    name) is shown as code after ``text``, or is empty."""
    config = run.config
    facts = [
        (
            f"{len(run.models)} model(s) x {len(run.methods)} method(s)"
            + (" with random controls" if run.random_control else ""),
            "",
        )
    ]
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        facts.append((f"{len(stamps)} stamps of the {config.get('split', '?')} split", ""))
    if "data" in config:
        facts.append(("data ", Path(str(config["data"])).name))
    for key in ("window", "seed"):
        if key in config:
            facts.append((f"{key} {config[key]}", ""))
    created = (run.manifest or {}).get("created")
    if created:
        facts.append((f"created {created}", ""))
    return facts


def notes_under(run: EvaluationRun, *prefixes: str) -> list[Missing]:
    """The run's missing notes whose path starts with one of ``prefixes``."""
    return [n for n in run.missing if n.where.startswith(prefixes)]
