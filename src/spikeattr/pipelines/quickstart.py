"""The main job on the built-in synthetic data: data -> published models -> evaluation -> report.

1. generate the paper's synthetic data set into ``OUT/synthetic.npz``;
2. score ``model`` (default the published 3L network) over the whole test split;
3. explain and evaluate the three published synthetic models with TSA-S, TSA-NS, SAM and the
   exact LIF attribution (``lif_z``) on the paper's stamps (``OUT/evaluation``, see
   :mod:`spikeattr.pipelines.evaluation`) with the comparable protocol, with lighter settings
   than ``spikeattr evaluate``'s defaults (one draw of each control, deletion budgets 10 and 50,
   completeness at 1 % and 5 % of the cells, one perturbation draw per stamp); the TSA paper's
   four metrics are ``spikeattr reproduce``'s;
4. write the HTML report ``OUT/evaluation/report.html`` and ``OUT/manifest.json``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spikeattr.data.stamps import resolve_stamps
from spikeattr.data.synthetic import SYNTHETIC_SEED, generate_synthetic
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.pipelines.model_eval import evaluate_on_split
from spikeattr.runs.manifest import write_manifest
from spikeattr.snn.accuracy import AccuracyReport
from spikeattr.snn.checkpoint import load_model

QUICKSTART_MODELS = ("published:synthetic_1L", "published:synthetic_2L", "published:synthetic_3L")
QUICKSTART_METHODS = ("s", "ns", "sam", "lif_z")
#: Draws of each control (``spikeattr evaluate``: 5).
QUICKSTART_CONTROL_DRAWS = 1
#: The comparable protocol only: the TSA paper's four metrics are ``spikeattr reproduce``'s.
QUICKSTART_PROTOCOLS = ("comparable",)


def quickstart_settings() -> MetricSettings:
    """The quick start's metric settings: deletion budgets 10 and 50, completeness at 1 % and
    5 % of the cells, one permutation / perturbation draw per stamp (``spikeattr evaluate``'s
    defaults go to 200 cells, 25 % and 5 draws)."""
    return MetricSettings(budgets=[10, 50], fractions=[0.01, 0.05], draws=1)


@dataclass
class HeadlineCell:
    """One method's headline score on one model, with its 95 % CI."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass
class QuickstartResult:
    """Where the quick-start run wrote its files and what it measured."""

    run_dir: Path
    data_path: Path
    model: str
    report: AccuracyReport
    evaluation_dir: Path
    report_path: Path
    timings_s: dict[str, float]
    n_stamps: int
    headline: str
    lower_is_better: bool
    cells: dict[str, dict[str, HeadlineCell]]  # model -> method -> its headline score


def headline_cells(
    rows: list[dict[str, Any]],
) -> tuple[str, bool, dict[str, dict[str, HeadlineCell]]]:
    """The comparable protocol's headline score (the first score marked ``headline``) of every
    model and method (the method's own maps, not its controls): heading, direction, cells."""
    chosen = [
        r
        for r in rows
        if r["headline"] and r["protocol"] == "comparable" and r["variant"] == "method"
    ]
    if not chosen:
        return "", False, {}
    key = (chosen[0]["metric"], chosen[0]["score"])
    cells: dict[str, dict[str, HeadlineCell]] = {}
    for row in chosen:
        if (row["metric"], row["score"]) == key:
            cell = HeadlineCell(row["value"], row["ci_low"], row["ci_high"])
            cells.setdefault(row["model"], {})[row["method"]] = cell
    return chosen[0]["heading"], not chosen[0]["higher_is_better"], cells


def run_quickstart(
    out_dir: str | os.PathLike[str],
    model: str = "published:synthetic_3L",
    stamps: str = "paper",
    progress: Callable[[int], Any] | None = None,
    log: Callable[[str], Any] = lambda message: None,
) -> QuickstartResult:
    """Run the main job into ``out_dir``; ``stamps`` is ``paper`` or a number per class."""
    from spikeattr.viz.report import build_report

    run_dir = Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    log("generating the synthetic data (900 000 steps)")
    series = generate_synthetic()
    data_path = series.save(run_dir / "synthetic.npz")
    timings["data"] = time.perf_counter() - start
    start = time.perf_counter()
    network = load_model(model)
    log(f"running {model} over the test split")
    report = evaluate_on_split(network, series, "test", progress=progress)
    timings["accuracy"] = time.perf_counter() - start
    stamp_list = resolve_stamps(series, "test", stamps)
    config = EvaluationConfig(
        models=list(QUICKSTART_MODELS),
        methods=list(QUICKSTART_METHODS),
        data=str(data_path),
        data_sha256=series.checksums()["X_sha256"],
        split="test",
        stamps=stamp_list,
        control_draws=QUICKSTART_CONTROL_DRAWS,
        metrics=quickstart_settings(),
        protocols=list(QUICKSTART_PROTOCOLS),
    )
    start = time.perf_counter()
    log(
        f"explaining and evaluating {len(QUICKSTART_MODELS)} models x "
        f"{len(QUICKSTART_METHODS)} methods on {len(stamp_list)} stamps"
    )
    evaluation_dir = run_dir / "evaluation"
    evaluated = run_evaluation(config, series, evaluation_dir, resume=True)
    heading, lower_is_better, cells = headline_cells(evaluated["rows"])
    timings["evaluate"] = time.perf_counter() - start
    start = time.perf_counter()
    log("writing the report")
    report_path = Path(build_report(evaluation_dir).html)
    timings["report"] = time.perf_counter() - start
    write_manifest(
        run_dir,
        command="quickstart",
        config={
            "model": model,
            "split": "test",
            "seed": SYNTHETIC_SEED,
            "data": "synthetic",
            "stamps": stamps,
            "methods": list(QUICKSTART_METHODS),
            "control_draws": QUICKSTART_CONTROL_DRAWS,
            "protocols": list(QUICKSTART_PROTOCOLS),
            "metrics": asdict(config.metrics),
            "evaluation": str(evaluation_dir),
        },
        data_checksums={"synthetic.npz": series.checksums()},
        results={"accuracy": report.to_dict(), "report": str(report_path)},
        timings=timings,
    )
    return QuickstartResult(
        run_dir,
        data_path,
        model,
        report,
        evaluation_dir,
        report_path,
        timings,
        len(stamp_list),
        heading,
        lower_is_better,
        cells,
    )
