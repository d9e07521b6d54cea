"""The benchmark's leaderboard: task x model x method, read from the evaluation runs' files.

One row per (task, model, method, variant): the method's headline scores of every protocol the
runs hold (ground-truth localisation first, then the comparable protocol's faithfulness scores)
with 95 % CIs, beside the same scores of its permuted control. Columns, headings and directions
come from the metrics' declared :class:`~spikeattr.evaluate.metric.Score` s, nothing branches on
a metric's name. Per task and model, the methods are ranked and compared pairwise on the
localisation headline scores (:func:`~spikeattr.evaluate.summary.compare_methods`: paired
bootstrap CI and Wilcoxon p over stamps), and the model's balanced accuracy and the masks'
prevalence (the chance level of AUPRC) are recorded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spikeattr._io import load_json
from spikeattr._markdown import Markdown, markdown_table, markdown_text
from spikeattr.errors import RunStateError
from spikeattr.evaluate.registry import MetricSettings, build_metrics
from spikeattr.evaluate.results import (
    METHOD,
    MetricRecord,
    metric_path,
    read_metric,
    read_stamps,
    safe_model_name,
)
from spikeattr.evaluate.summary import (
    SIGNIFICANCE_RULE,
    compare_methods,
    format_cell,
    format_number,
    variant_label,
)

#: The protocol whose scores are ranked and compared pairwise.
RANKED_PROTOCOL = "localisation"
#: The score that holds the chance level of the localisation scores (the masks' prevalence).
CHANCE_SCORE = "prevalence"


class RunSpec(Protocol):
    """What the leaderboard needs to know of an evaluation run (an ``EvaluationConfig``)."""

    models: list[str]
    methods: list[str]
    metrics: MetricSettings
    protocols: list[str]
    stamps: list[int]

    def sha256(self) -> str:
        """The configuration hash every result file of the run carries."""
        ...


@dataclass
class Leaderboard:
    """Everything the leaderboard files show.

    Attributes:
        columns: per headline score, ``{"column", "metric", "score", "heading", "protocol",
            "higher_is_better"}`` in table order (``column`` is ``METRIC.SCORE``).
        rows: per (task, model, method, variant), ``{"task", "model", "layers", "method",
            "variant", "label", "cells": {column: {"value", "ci_low", "ci_high", "n"}}}``.
        models: per (task, model), its balanced accuracy on the test split with its CI, the
            stamps, and the mean prevalence of the stamps' masks.
        comparisons: per (task, model), the ranking and the paired comparisons of the methods
            on the localisation headline scores.
        best: per (task, model), the method with the best first localisation score (AUPRC of
            ``|a|``) with its CI, and the methods tied with it (:func:`best_methods`).
    """

    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    best: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content."""
        return {
            "columns": self.columns,
            "rows": self.rows,
            "models": self.models,
            "comparisons": self.comparisons,
            "best": self.best,
        }


def model_label(model: str) -> str:
    """``published:bench_rare_channel_2L`` or ``.../bench_rare_channel_2L.json`` -> ``2L``."""
    stem = Path(model.removeprefix("published:")).stem
    return stem.rsplit("_", 1)[-1] if stem.startswith("bench_") else stem


def collect_leaderboard(runs: Mapping[str, tuple[RunSpec, Path]], seed: int = 0) -> Leaderboard:
    """The leaderboard of evaluation runs ``{task: (config, run directory)}`` (every result file
    is read back and checked against its run's configuration)."""
    board = Leaderboard()
    for task, (config, run_dir) in runs.items():
        metrics = build_metrics(config.metrics, config.protocols)
        if not board.columns:
            board.columns = [
                {
                    "column": f"{m.name}.{s.key}",
                    "metric": m.name,
                    "score": s.key,
                    "heading": s.heading,
                    "protocol": m.protocol,
                    "higher_is_better": s.higher_is_better,
                }
                for m in metrics
                for s in m.scores
                if s.headline
            ]
        sha = config.sha256()
        for model in config.models:
            records: dict[tuple[str, str], MetricRecord] = {}
            for method in config.methods:
                for metric in metrics:
                    path = metric_path(run_dir, model, method, metric.name)
                    records[(method, metric.name)] = read_metric(path, sha)
            board.models.append(_model_entry(task, model, run_dir, records, config))
            for method in config.methods:
                variants = records[(method, metrics[0].name)].summary
                dtype = read_stamps(run_dir, model, method, sha).get("dtype")
                for variant in variants:
                    row = _row(task, model, method, variant, records, board.columns)
                    board.rows.append({**row, "dtype": dtype})
            comparison = compare_methods(
                records, metrics, config.methods, seed, protocol=RANKED_PROTOCOL
            )
            board.comparisons.append({"task": task, "model": model, **comparison})
    board.best = best_methods(board)
    return board


def best_and_tied(
    cells: Mapping[str, Mapping[str, Any]], higher_is_better: bool
) -> tuple[str, list[str]] | None:
    """The method with the best value among ``cells`` (``{method: {"value", "ci_low",
    "ci_high"}}``) and the methods *tied* with it: those whose 95 % CI reaches its value.
    ``None`` when no method has a value."""
    valued = {m: c for m, c in cells.items() if c and c.get("value") is not None}
    if not valued:
        return None
    sign = 1.0 if higher_is_better else -1.0
    best = max(valued, key=lambda m: sign * valued[m]["value"])
    value = valued[best]["value"]
    reach = "ci_high" if higher_is_better else "ci_low"
    tied = []
    for method, cell in valued.items():
        edge = cell.get(reach)
        if method != best and sign * float(cell["value"] if edge is None else edge) >= sign * value:
            tied.append(method)
    return best, tied


def best_methods(board: Leaderboard) -> list[dict[str, Any]]:
    """Per (task, model): the method with the best value of the first localisation headline
    score, its CI, and every method *tied* with it (:func:`best_and_tied`); controls are never
    candidates."""
    ranked = next((c for c in board.columns if c["protocol"] == RANKED_PROTOCOL), None)
    if ranked is None:
        return []
    column = ranked["column"]
    out = []
    for entry in board.models:
        rows = {
            r["method"]: r
            for r in board.rows
            if r["task"] == entry["task"]
            and r["model"] == entry["model"]
            and r["variant"] == METHOD
        }
        chosen = best_and_tied(
            {m: r["cells"].get(column, {}) for m, r in rows.items()}, ranked["higher_is_better"]
        )
        if chosen is None:
            continue
        best, tied = chosen
        out.append(
            {
                "task": entry["task"],
                "model": entry["model"],
                "layers": entry["layers"],
                "score": ranked["heading"],
                "method": best,
                "dtype": rows[best].get("dtype"),
                "cell": dict(rows[best]["cells"][column]),
                "tied": tied,
            }
        )
    return out


def _row(
    task: str,
    model: str,
    method: str,
    variant: str,
    records: Mapping[tuple[str, str], MetricRecord],
    columns: list[dict[str, Any]],
) -> dict[str, Any]:
    cells = {}
    for column in columns:
        record = records.get((method, column["metric"]))
        entry = record.summary.get(variant, {}).get(column["score"]) if record else None
        if entry is not None:
            cells[column["column"]] = dict(entry)
    return {
        "task": task,
        "model": model,
        "layers": model_label(model),
        "method": method,
        "variant": variant,
        "label": variant_label(method, variant),
        "cells": cells,
    }


def _model_entry(
    task: str,
    model: str,
    run_dir: Path,
    records: Mapping[tuple[str, str], MetricRecord],
    config: RunSpec,
) -> dict[str, Any]:
    path = Path(run_dir) / "models" / f"{safe_model_name(model)}.json"
    accuracy = load_json(path, "model accuracy file of an evaluation run", RunStateError)
    if not isinstance(accuracy, dict) or "balanced_accuracy" not in accuracy:
        raise RunStateError(f"{path}: expected the model's balanced accuracy")
    prevalence = None  # the chance level, a score of whichever metric declares it
    for record in records.values():
        entry = record.summary.get(METHOD, {}).get(CHANCE_SCORE)
        if entry is not None:
            prevalence = entry.get("value")
            break
    return {
        "task": task,
        "model": model,
        "layers": model_label(model),
        "balanced_accuracy": accuracy["balanced_accuracy"],
        "ci95": accuracy.get("ci95"),
        "stamps": len(config.stamps),
        "prevalence": prevalence,
    }


# -- files ----------------------------------------------------------------------------------------
def leaderboard_csv(board: Leaderboard) -> str:
    """``leaderboard.csv``: one line per row, value and CI of every headline score."""
    buffer = io.StringIO()
    names = ["task", "model", "layers", "method", "variant", "balanced_accuracy", "maps_dtype"]
    for column in board.columns:
        names += [column["column"], f"{column['column']}_ci_low", f"{column['column']}_ci_high"]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    accuracy = {(m["task"], m["model"]): m["balanced_accuracy"] for m in board.models}
    for row in board.rows:
        line: list[Any] = [row["task"], row["model"], row["layers"], row["method"]]
        line += [row["variant"], accuracy.get((row["task"], row["model"]), "")]
        line.append(row.get("dtype") or "")
        for column in board.columns:
            entry = row["cells"].get(column["column"], {})
            line += [_csv_number(entry.get(k)) for k in ("value", "ci_low", "ci_high")]
        writer.writerow(line)
    return buffer.getvalue()


def _csv_number(value: Any) -> Any:
    return "" if value is None or value != value else value


def headline_heading(column: Mapping[str, Any]) -> str:
    """A column heading with the score's direction."""
    arrow = "higher" if column["higher_is_better"] else "lower"
    return f"{column['heading']} ({arrow} better)"


#: The two scores of the headline tables (the issue's: AUPRC of |a|, relevance mass accuracy).
HEADLINE_COLUMNS: tuple[str, ...] = ("localisation.auprc_abs", "localisation.mass_pos")


def headline_tables(
    board: Leaderboard, columns: tuple[str, ...] = HEADLINE_COLUMNS, controls: bool = True
) -> str:
    """Per task, a table of methods (rows) x models (columns) holding each of ``columns`` with
    its CI (the controls' rows too, unless ``controls`` is false) and the chance level below:
    the leaderboard at a glance."""
    known = {c["column"]: c for c in board.columns}
    chosen = [known[c] for c in columns if c in known]
    out = []
    for task in dict.fromkeys(row["task"] for row in board.rows):
        models = [m for m in board.models if m["task"] == task]
        rows = [r for r in board.rows if r["task"] == task]
        methods = [
            key
            for key in dict.fromkeys((r["method"], r["variant"]) for r in rows)
            if controls or key[1] == METHOD
        ]
        headings = ["method", *(f"{m['layers']} ({m['balanced_accuracy']:.3f})" for m in models)]
        body = []
        for method, variant in methods:
            cells = []
            for model in models:
                row = next(
                    (
                        r
                        for r in rows
                        if r["model"] == model["model"]
                        and r["method"] == method
                        and r["variant"] == variant
                    ),
                    None,
                )
                parts = [format_cell(row["cells"].get(c["column"])) if row else "-" for c in chosen]
                cells.append(Markdown(" / ".join(parts)))
            body.append((variant_label(method, variant), *cells))
        body.append(
            ("chance (prevalence)", *(Markdown(format_number(m["prevalence"])) for m in models))
        )
        title = " / ".join(c["heading"] for c in chosen)
        out += [f"### {markdown_text(task)}: {markdown_text(title)}", ""]
        out.append(markdown_table(headings, body))
    return "\n".join(out)


def leaderboard_markdown(board: Leaderboard) -> str:
    """``leaderboard.md``: models' accuracies, the table per task, rankings, paired comparisons;
    every name escaped."""
    out = ["# Benchmark leaderboard", ""]
    out += [
        "Scores against the cells known to decide each explained step (localisation) and "
        "the comparable protocol's faithfulness scores, per task x model x method, with 95 % "
        "bootstrap CIs over stamps (a control over stamps x draws). Chance AUPRC = the masks' "
        "prevalence.",
        "",
        "## Models",
        "",
    ]
    out.append(
        markdown_table(
            (
                "task",
                "model",
                "balanced accuracy (test) [95 % CI]",
                "stamps",
                "chance AUPRC",
                "checkpoint",
            ),
            [
                (
                    m["task"],
                    m["layers"],
                    Markdown(_accuracy_text(m)),
                    str(m["stamps"]),
                    Markdown(format_number(m["prevalence"])),
                    m["model"],
                )
                for m in board.models
            ],
        )
    )
    out += [
        "## Which method to trust",
        "",
        "Per task and model, the method whose maps best find the cells known to decide the "
        "class (the first localisation score, 95 % CI), and the methods tied with it (their CI "
        "reaches its value). `maps` is the precision the maps were computed in.",
        "",
        markdown_table(
            ("task", "model", "best method", "score", "value [95 % CI]", "maps", "tied"),
            [
                (
                    b["task"],
                    b["layers"],
                    b["method"],
                    b["score"],
                    Markdown(format_cell(b["cell"])),
                    b["dtype"] or "-",
                    ", ".join(b["tied"]) or "-",
                )
                for b in board.best
            ],
        ),
        "## At a glance",
        "",
        "Per task: methods x models (balanced accuracy in the heading); each cell is "
        "AUPRC of |a| / relevance mass accuracy of max(a, 0), with 95 % CIs.",
        "",
        headline_tables(board),
    ]
    for task in dict.fromkeys(row["task"] for row in board.rows):
        out += [f"## {markdown_text(task)}", ""]
        body = [
            (
                row["layers"],
                row["label"],
                row.get("dtype") or "-",
                *(Markdown(format_cell(row["cells"].get(c["column"]))) for c in board.columns),
            )
            for row in board.rows
            if row["task"] == task
        ]
        headings = ("model", "method", "maps", *(headline_heading(c) for c in board.columns))
        out.append(markdown_table(headings, body))
        for comparison in board.comparisons:
            if comparison["task"] == task:
                out += _comparison_section(comparison)
    return "\n".join(out).rstrip() + "\n"


def _accuracy_text(model: Mapping[str, Any]) -> str:
    text = f"{model['balanced_accuracy']:.4f}"
    if model.get("ci95"):
        low, high = model["ci95"]
        text += f" [{low:.4f}, {high:.4f}]"
    return text


def _ranked(entry: Mapping[str, Any]) -> str:
    return f"{format_number(entry['value'])} (#{entry['rank']:g})"


def _comparison_section(comparison: Mapping[str, Any]) -> list[str]:
    label = model_label(comparison["model"])
    out = []
    ranking = comparison.get("ranking") or []
    if ranking:
        scores = [k for k in ranking[0] if k not in ("method", "mean_rank")]
        out += [f"### {markdown_text(label)}: ranking by localisation (mean rank)", ""]
        out.append(
            markdown_table(
                ("rank", "method", "mean rank", *scores),
                [
                    (
                        str(index + 1),
                        row["method"],
                        f"{row['mean_rank']:.2f}",
                        *(_ranked(row[s]) for s in scores),
                    )
                    for index, row in enumerate(ranking)
                ],
            )
        )
    pairs = [p for p in comparison.get("pairs", []) if p.get("significant")]
    total = len(comparison.get("pairs", []))
    if total:
        out += [
            f"### {markdown_text(label)}: paired comparisons ({len(pairs)} of {total} "
            f"{SIGNIFICANCE_RULE})",
            "",
        ]
        if pairs:
            out.append(
                markdown_table(
                    ("first", "second", "score", "difference [95 % CI]", "p", "p (Holm)", "better"),
                    [
                        (
                            p["first"],
                            p["second"],
                            p["score"],
                            Markdown(
                                f"{format_number(p['difference'])} "
                                f"[{format_number(p['ci_low'])}, {format_number(p['ci_high'])}]"
                            ),
                            f"{p['p_value']:.2g}",
                            f"{p['p_holm']:.2g}" if "p_holm" in p else "-",
                            {"first": p["first"], "second": p["second"]}.get(p["better"], "tie"),
                        )
                        for p in pairs
                    ],
                )
            )
    return out
