"""The main job on the built-in synthetic data: data -> published model -> accuracy."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikeattr.data.synthetic import SYNTHETIC_SEED, generate_synthetic
from spikeattr.pipelines.manifest import write_manifest
from spikeattr.pipelines.model_eval import evaluate_on_split
from spikeattr.snn.accuracy import AccuracyReport
from spikeattr.snn.checkpoint import load_model


@dataclass
class QuickstartResult:
    """Where the quick-start run wrote its files and what it measured."""

    run_dir: Path
    data_path: Path
    model: str
    report: AccuracyReport
    timings_s: dict[str, float]


def run_quickstart(
    out_dir: str | os.PathLike[str],
    model: str = "published:synthetic_3L",
    progress: Callable[[int], Any] | None = None,
) -> QuickstartResult:
    """Generate the synthetic data, load ``model``, measure its test balanced accuracy.

    Writes ``synthetic.npz``, ``accuracy.json`` and ``manifest.json`` into ``out_dir``.
    """
    run_dir = Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    series = generate_synthetic()
    data_path = series.save(run_dir / "synthetic.npz")
    timings["data"] = time.perf_counter() - start
    start = time.perf_counter()
    network = load_model(model)
    report = evaluate_on_split(network, series, "test", progress=progress)
    timings["evaluate"] = time.perf_counter() - start
    write_manifest(
        run_dir,
        command="quickstart",
        config={"model": model, "split": "test", "seed": SYNTHETIC_SEED, "data": "synthetic"},
        data_checksums={"synthetic.npz": series.checksums()},
        results={"accuracy": report.to_dict()},
        timings=timings,
    )
    return QuickstartResult(run_dir, data_path, model, report, timings)
