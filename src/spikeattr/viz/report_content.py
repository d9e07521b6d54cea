"""What the report of an evaluation run says, as plain text: shared by the HTML page and the
Markdown tables, so both show the same rows and numbers.

Every function returns unescaped strings; the renderers (:mod:`spikeattr.viz.report_html`
through an autoescaping template, :mod:`spikeattr.viz.report_markdown` through
:func:`spikeattr._markdown.markdown_text`) escape them for their format. Numbers come from the
files' ``summary`` objects and ``comparisons/MODEL.json``, formatted as ``summary.md`` formats
them (:func:`~spikeattr.evaluate.summary.format_cell`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from spikeattr.evaluate.leaderboard import best_and_tied
from spikeattr.evaluate.results import METHOD
from spikeattr.evaluate.summary import (
    PAIR_HEADINGS,
    format_cell,
    format_number,
    heading,
    ranking_rows,
    significant_pairs,
    stamp_notes,
    variant_label,
)
from spikeattr.viz.gallery import GalleryRow
from spikeattr.viz.rundir import EvaluationRun

#: A cell shown as a missing file, and one the variant does not have (a control of a metric
#: that has no such control).
MISSING = "missing"
NOT_APPLICABLE = "-"

#: Captions of the metric figures, by key.
FIGURE_CAPTIONS = {
    "deletion": (
        "Deletion at a fixed budget: the share of stamps whose prediction is still the original "
        "one (a fast fall is good) and the mean drop of the explained class's probability (a "
        "fast rise is good) after flipping the b most relevant cells. Bands: each control in "
        "its method's colour, from the lowest to the highest of its draws' mean curves."
    ),
    "fraction": (
        "Output-completeness by the share of cells kept: the top cells by |attribution| are "
        "kept, every other step of each channel permuted; the mean agreement with the original "
        "prediction (higher is better; 0 % keeps nothing). Dashed: the permuted control, mean "
        "over its draws. The table reports it relative to keeping nothing."
    ),
    "comparable-bars": (
        "Normalised continuity (relative change of the map under small duration changes) and "
        "the sanity check (rank correlation between the map on the trained and on a fully "
        "randomised model); lower is better for both, 95 % CIs over stamps (and draws)."
    ),
    "flipping": (
        "Correctness: balanced accuracy after flipping the k highest-ranked segments, against "
        "the original prediction and against the ground truth (a fast fall is good; ESS is the "
        "normalised area under the curve). Dashed: the uniform control, when the run has it."
    ),
    "completeness": (
        "Output-completeness versus epsilon: agreement with the original prediction when only "
        "segments above epsilon (a fraction of the method's largest |attribution|) are kept "
        "(higher is better), with 95 % bootstrap CI bands. Dashed: the uniform control."
    ),
    "paper-bars": (
        "Continuity (max-sensitivity to duration perturbations) and compactness (sum of "
        "|attribution|), means over stamps with 95 % CIs; lower is better. Diamonds: maximum "
        "over stamps."
    ),
}

#: Title and introduction of each protocol's section.
PROTOCOL_TEXTS: dict[str, tuple[str, str]] = {
    "comparable": (
        "Comparable protocol",
        "Scores comparable across methods and models (SPEC 5.1): deletion at a fixed budget of "
        "flipped cells, output-completeness by the fraction of cells kept (relative to keeping "
        "nothing), normalised continuity and the model-randomisation sanity check. 95 % "
        "bootstrap CIs over the stamps (a control's over stamps and draws) in brackets. The rows "
        "in italics are the controls, which a method should beat: permuted (the method's own "
        "values shuffled over its support) and random order (its segments flipped in a random "
        "order). Per model, the methods are ranked by their mean rank over these scores; the "
        "paired comparisons listed are those whose difference is significant after Holm's "
        "correction over all of the model's comparisons (Holm-adjusted Wilcoxon p < 0.05 and a "
        "paired bootstrap 95 % CI excluding 0).",
    ),
    "paper": (
        "Paper protocol",
        "The TSA paper's four metrics as published (SPEC 5): correctness (ESS), "
        "output-completeness at thresholds of the attribution, continuity (max-sensitivity) and "
        "compactness, with 95 % bootstrap CIs. ESS depends on how many segments a map has and "
        "compactness on the method's units: compare them within a method, and across methods "
        "with the comparable protocol.",
    ),
}

#: The introduction of the sanity check.
SANITY_TEXT = (
    "Model randomisation (Adebayo et al. 2018): the trained weights are replaced by random ones "
    "from the output layer down (level k: the last k weight matrices random; the last level: "
    "all of them) and each stamp is explained again. Shown: the Spearman rank correlation "
    "between the map on the trained and on the randomised model, mean over stamps (the first "
    "and last levels with 95 % CIs), computed on the signed maps with each step divided by its "
    "largest |attribution|. That takes out what no weight changes (the decay over time); "
    "Adebayo et al.'s own correlation of |attribution| stays near 1 on spiking networks for "
    "every method and is shown in the last column for comparison. A map that explains the model "
    "changes when the model does: lower is better. A method *passes* at the first level where "
    "the correlation falls below 0.5 (a deep network's lower layers can shape a faithful map "
    "while only the output layer is random) and *fails* when it stays at 0.5 or above at every "
    "level."
)
#: The rank correlation at or above which a level does not count as changed.
RANDOMISATION_FAILS_AT = 0.5

#: The introduction of the answer to "which method to trust" (runs on data with known evidence).
TRUST_TEXT = (
    "For each model, the method whose maps best find the input cells known to decide the "
    "class (the first ground-truth localisation score, 95 % CI over stamps), the methods tied "
    "with it (their CI reaches its value), and whether the best method's maps pass the "
    "model-randomisation check."
)

ACCURACY_HEADINGS = ("model", "balanced accuracy", "95 % CI", "accuracy", "steps", "layer sizes")
UNIT_HEADINGS = ("model", "method", "stamps", "seconds", "seconds per stamp")


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
class Table:
    """A table of the report.

    Attributes:
        headings: the column headings.
        kinds: per column, ``"name"`` (a name from the run, escaped), ``"num"`` (a number,
            possibly with its ``[low, high]`` interval, made by spikeattr) or ``"text"``.
        rows: the cells; ``controls`` the indices of the rows that are controls (in italics).
    """

    headings: list[str]
    kinds: list[str]
    rows: list[list[str]] = field(default_factory=list)
    controls: set[int] = field(default_factory=set)


@dataclass
class ModelComparison:
    """The ranking of one model's methods and its significant paired comparisons."""

    model: str
    ranking: Table
    pairs_caption: str
    pairs: Table


@dataclass
class ReportContent:
    """Everything a renderer shows.

    Attributes:
        run: the run as read (its ``missing`` notes complete once the gallery is drawn).
        notes: the stamps of each model (classes, warnings) and remarks on how something is
            shown (a gallery file without a time axis).
        figures: the metric figures by protocol (``comparable``, ``paper``).
        gallery: per model, one row per explained stamp.
    """

    run: EvaluationRun
    notes: list[str] = field(default_factory=list)
    figures: dict[str, list[MetricFigure]] = field(default_factory=dict)
    gallery: dict[str, list[GalleryRow]] = field(default_factory=dict)


def score_table(run: EvaluationRun, protocol: str) -> Table:
    """The headline scores of ``protocol``: per model, each method's row, then a row per
    control (in italics); ``missing`` where the file is, ``-`` where the metric has no such
    control. The same cells as ``summary.md``."""
    columns = run.headline(protocol)
    table = Table(
        ["model", "method", *(heading(s.heading, s.higher_is_better) for _, s in columns)],
        ["name", "name", *("num" for _ in columns)],
    )
    for model in run.models:
        for method in run.methods:
            for variant in [METHOD, *run.controls_of(protocol)]:
                cells = []
                for metric, score in columns:
                    record = run.record(model, method, metric.name)
                    if record is None:
                        cells.append(MISSING)
                    elif variant not in record.summary:
                        cells.append(NOT_APPLICABLE)
                    else:
                        entry = record.summary[variant].get(score.key)
                        cells.append(format_cell(entry, count=score.count))
                if variant != METHOD and all(c in (MISSING, NOT_APPLICABLE) for c in cells):
                    continue
                if variant != METHOD:
                    table.controls.add(len(table.rows))
                table.rows.append([model, variant_label(method, variant), *cells])
    return table


def comparisons(run: EvaluationRun) -> list[ModelComparison]:
    """Per model with a ``comparisons/MODEL.json``: the ranking and the significant pairs,
    scores named by their headings."""
    labels = {
        f"{m.name}.{s.key}": heading(s.heading, s.higher_is_better)
        for m, s in run.headline("comparable")
    }
    out = []
    for model in run.models:
        result = run.comparisons.get(model)
        if result is None:
            continue
        counts = {f"{m.name}.{s.key}" for m, s in run.headline("comparable") if s.count}
        headings, rows = ranking_rows(result, labels, counts)
        ranking = Table(
            headings,
            ["text", "name", "num", *("num" for _ in headings[3:])],
            [list(r) for r in rows],
        )
        caption, pairs = significant_pairs(result, labels)
        pair_table = Table(
            list(PAIR_HEADINGS),
            ["name", "name", "text", "num", "num", "num", "name"],
            [list(r) for r in pairs],
        )
        out.append(ModelComparison(model, ranking, caption, pair_table))
    return out


def sanity_table(run: EvaluationRun) -> Table | None:
    """The model-randomisation check: per model and method, the mean shape correlation at
    each level (the last ``k`` weight matrices random; the output-layer and all-layer levels
    with their 95 % CIs), Adebayo et al.'s ``|a|`` correlation with the output layer random,
    and the verdict. ``None`` when the run did not compute it."""
    metric = run.metric("randomisation")
    if metric is None:
        return None
    levels = 1
    for found in run.records.values():
        if found.metric == metric.name and METHOD in found.variants:
            levels = max(levels, len(_shape_curve(found.variants[METHOD].draws[0])))
    headings = ["model", "method"]
    headings += [f"level {k}" + (" (output layer)" if k == 1 else "") for k in range(1, levels + 1)]
    headings += ["|a|, output layer", "check"]
    table = Table(headings, ["name", "name", *("num" for _ in range(levels + 1)), "name"])
    for model in run.models:
        for method in run.methods:
            record = run.record(model, method, metric.name)
            if record is None or METHOD not in record.variants:
                table.rows.append([model, method, *(MISSING for _ in range(levels + 2))])
                continue
            summary = record.summary.get(METHOD, {})
            curve = _shape_curve(record.variants[METHOD].draws[0])
            cells = []
            for level in range(1, levels + 1):
                if level > len(curve):
                    cells.append(NOT_APPLICABLE)
                elif level == len(curve):
                    cells.append(format_cell(summary.get("shape_all")))
                elif level == 1:
                    cells.append(format_cell(summary.get("shape_top")))
                else:
                    cells.append(format_number(curve[level - 1]))
            cells.append(format_cell(summary.get("rho_top")))
            table.rows.append([model, method, *cells, randomisation_verdict(curve)])
    return table


def _shape_curve(draw: dict[str, Any]) -> list[float]:
    """The mean shape correlation per level of one draw (``[]`` for a run written before the
    shape correlation existed)."""
    return list(draw.get("curves", {}).get("shape_by_level") or [])


def trust_table(run: EvaluationRun) -> Table | None:
    """Per model, the best method on known evidence, its CI, the methods tied with it and its
    sanity check; ``None`` when the run scored no localisation (data without evidence)."""
    headline = run.headline("localisation")
    if not headline:
        return None
    metric, score = headline[0]
    randomisation = run.metric("randomisation")
    table = Table(
        ["model", "best method", score.heading, "tied", "sanity check"],
        ["name", "name", "num", "name", "text"],
    )
    for model in run.models:
        cells = {m: run.summary(model, m, metric.name, score.key) or {} for m in run.methods}
        chosen = best_and_tied(cells, score.higher_is_better)
        if chosen is None:
            table.rows.append([model, MISSING, MISSING, "", ""])
            continue
        best, tied = chosen
        check = "not computed"
        record = run.record(model, best, randomisation.name) if randomisation else None
        if record is not None and METHOD in record.variants:
            check = randomisation_verdict(_shape_curve(record.variants[METHOD].draws[0]))
        table.rows.append([model, best, format_cell(cells[best]), ", ".join(tied) or "-", check])
    return table


def randomisation_verdict(curve: list[float]) -> str:
    """The check's verdict from the mean shape correlation per level (output layer first):
    ``passes`` when it is below the threshold with the output layer random, ``passes once k
    layers are random`` when that happens first at level ``k``, else ``FAILS``."""
    values = [v for v in curve if v is not None and math.isfinite(v)]
    if not values or len(values) != len(curve):
        return MISSING
    for level, value in enumerate(values, start=1):
        if value < RANDOMISATION_FAILS_AT:
            if level == 1:
                return "passes"
            return f"passes once {level} layers are random"
    worst = format_number(min(values))
    return f"FAILS (rho >= {RANDOMISATION_FAILS_AT} at every level; lowest {worst})"


def run_notes(run: EvaluationRun) -> list[str]:
    """The notes of ``summary.md`` on each model's stamps: how many, which true classes, and a
    warning when fewer than two classes are present (from the first method's ``stamps.json``)."""
    notes = []
    for model in run.models:
        body = next((run.stamps[(model, m)] for m in run.methods if (model, m) in run.stamps), None)
        if body is None:
            continue
        counts = (body.get("class_counts") or {}).get("label") or {}
        notes += stamp_notes(model, len(body.get("stamps") or []), counts)
    return notes


def accuracy_rows(run: EvaluationRun) -> list[list[str]]:
    """One row of :data:`ACCURACY_HEADINGS` per model; ``missing`` where its file is."""
    rows = []
    for model in run.models:
        body = run.accuracy.get(model)
        if body is None:
            rows.append([model, MISSING, "", "", "", ""])
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
                format_number(float(accuracy)) if accuracy is not None else MISSING,
                ci_text,
                format_number(float(body["accuracy"])) if "accuracy" in body else "",
                str(body.get("n_steps", "")),
                "-".join(str(n) for n in body.get("layer_sizes", [])),
            ]
        )
    return rows


def unit_rows(run: EvaluationRun) -> list[list[str]]:
    """One row of :data:`UNIT_HEADINGS` per model and method: stamps and the metrics' time."""
    rows = []
    for model in run.models:
        for method in run.methods:
            stamps = run.stamps.get((model, method))
            records = [r for (a, b, _), r in run.records.items() if (a, b) == (model, method)]
            seconds = sum(r.seconds for r in records)
            count = len((stamps or {}).get("stamps") or [])
            rows.append(
                [
                    model,
                    method,
                    str(count) if stamps is not None else MISSING,
                    f"{seconds:.2f}" if records else "",
                    f"{seconds / count:.3f}" if records and count else "",
                ]
            )
    return rows


def split_interval(cell: str) -> tuple[str, str]:
    """``"0.12 [0.1, 0.2]"`` -> ``("0.12", "[0.1, 0.2]")``; no interval -> ``(cell, "")``."""
    value, bracket, rest = cell.partition(" [")
    return (value, "[" + rest) if bracket else (cell, "")
