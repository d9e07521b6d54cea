"""The layout and summary of an evaluation results directory, shared by writer and readers.

``pipelines.evaluation`` writes ``results/MODEL/METHOD/METRIC.json``; the summary table and
the report read them back. The names, the flattening of a metric's results into table cells
and the cell format live here once.
"""

from __future__ import annotations

from typing import Any

#: The metric files of every (model, method) unit.
METRICS: tuple[str, ...] = ("correctness", "output_completeness", "continuity", "compactness")

#: Summary columns: (row key, heading).
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ess_original", "ESS vs original (lower better)"),
    ("ess_truth", "ESS vs truth (lower better)"),
    ("oc_0", "OC eps 0% (higher better)"),
    ("oc_10", "OC eps 10%"),
    ("oc_25", "OC eps 25%"),
    ("oc_50", "OC eps 50%"),
    ("maxsens_max", "max-sensitivity max (lower better)"),
    ("maxsens_mean", "max-sensitivity mean"),
    ("compactness", "sum abs attribution (lower better)"),
)


def safe_model_name(model: str) -> str:
    """A model name as a directory name (``published:x_1L`` -> ``published_x_1L``;
    a checkpoint path ``runs/a/model.json`` -> ``runs_a_model``)."""
    return model.removesuffix(".json").replace(":", "_").replace("/", "_").replace("\\", "_")


def flatten_metric(metric: str, results: dict[str, Any]) -> dict[str, Any]:
    """The summary values of one metric's ``results`` object, each ``KEY`` with ``KEY_ci``.

    Raises ``KeyError``/``TypeError`` on a results object without the expected fields.
    """
    row: dict[str, Any] = {}
    if metric == "correctness":
        for against in ("original", "truth"):
            ess = results[f"ess_{against}"]
            row[f"ess_{against}"] = float(ess["value"])
            row[f"ess_{against}_ci"] = (float(ess["ci_low"]), float(ess["ci_high"]))
    elif metric == "output_completeness":
        for entry in results["per_epsilon"]:
            key = f"oc_{round(float(entry['epsilon']) * 100):d}"
            row[key] = float(entry["value"])
            row[f"{key}_ci"] = (float(entry["ci_low"]), float(entry["ci_high"]))
    elif metric == "continuity":
        mean = results["max_sensitivity_mean"]
        row["maxsens_max"] = float(results["max_sensitivity_max"])
        row["maxsens_mean"] = float(mean["mean"])
        row["maxsens_mean_ci"] = (float(mean["ci_low"]), float(mean["ci_high"]))
    elif metric == "compactness":
        total = results["sum_abs"]
        row["compactness"] = float(total["mean"])
        row["compactness_ci"] = (float(total["ci_low"]), float(total["ci_high"]))
    return row


def format_number(value: float, digits: int = 3) -> str:
    """``digits`` decimals, or ``digits`` significant digits below 0.01."""
    if abs(value) < 1e-2 and value != 0:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def format_cell(row: dict[str, Any], key: str, digits: int = 3) -> str:
    """A summary cell: ``value [low, high]`` (the CI in the value's style), or ``missing``."""
    if key not in row:
        return "missing"
    value = float(row[key])
    text = format_number(value, digits)
    if f"{key}_ci" in row:
        low, high = row[f"{key}_ci"]
        small = abs(value) < 1e-2 and value != 0
        spec = f".{digits}g" if small else f".{digits}f"
        text += f" [{low:{spec}}, {high:{spec}}]"
    return text
