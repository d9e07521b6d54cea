"""Fixtures of the figure and report tests: a small explanation file and a tiny real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.explain.files import Explanations
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation

#: Three stamps of the synthetic test split whose explained steps have labels 0, 1 and 2.
RUN_STAMPS = [8170, 8974, 30458]

INPUTS = ("door", "fridge", "bed", "tv")
CLASSES = ("sleeping", "eating", "other")
WINDOW = 200
SUPPORT = 30  # non-zero columns at the right of every map


def explanation_arrays(window_start: tuple[int, int] = (800, 950)) -> dict[str, np.ndarray]:
    """Two stamps (1000, 1100) of 4 inputs x 3 classes, window 200; the second window is
    padded (it starts 150 steps before its stamp). Maps are non-zero in the last 30 columns,
    positive for input 0 and negative for input 1, with a peak of 2.0 in class 1."""
    stamps = np.array([1000, 1100], dtype=np.int64)
    attribution = np.zeros((2, len(CLASSES), len(INPUTS), WINDOW), dtype=np.float32)
    ramp = np.linspace(0.01, 1.0, SUPPORT, dtype=np.float32)
    for c in range(len(CLASSES)):
        attribution[:, c, 0, -SUPPORT:] = ramp * (c + 1)
        attribution[:, c, 1, -SUPPORT:] = -ramp * (c + 1) / 2
    attribution[:, 1, 0, -1] = 2.0
    spikes = np.zeros((2, WINDOW, len(INPUTS)), dtype=np.int8)
    spikes[:, ::7, 0] = 1
    spikes[:, 100:160, 1] = 1
    spikes[:, -20:, 3] = 1
    spikes[1, :50] = 0  # the padding of the second window
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32)
    return {
        "stamps": stamps,
        "attribution": attribution,
        "probs": probs,
        "predicted": np.array([0, 2], dtype=np.int64),
        "target": np.array([0, 2], dtype=np.int64),
        "label": np.array([0, 1], dtype=np.int64),
        "window_start": np.array(window_start, dtype=np.int64),
        "spikes": spikes,
        "input_names": np.array(INPUTS),
        "class_names": np.array(CLASSES),
        "meta": np.array(json.dumps({"model": "m", "split": "test", "variant": "ns"})),
    }


@pytest.fixture
def explanations() -> Explanations:
    """The content of :func:`explanation_arrays`."""
    return Explanations.from_arrays(explanation_arrays())


@pytest.fixture
def explanation_file(tmp_path: Path) -> Path:
    """:func:`explanation_arrays` written as an explanation ``.npz``."""
    path = tmp_path / "explained.npz"
    np.savez(path, **explanation_arrays())  # type: ignore[arg-type]
    return path


#: The tiny run's controls and settings: every control, two draws each, two budgets and
#: fractions (small, so the run takes seconds; enough for bands, dashed curves and CIs).
RUN_CONTROLS = ["permuted", "random-order", "uniform"]
RUN_SETTINGS = MetricSettings(budgets=[10, 50], fractions=[0.01, 0.05], draws=2)


@pytest.fixture(scope="session")
def tiny_run(synthetic_series: SpikeSeries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real evaluation run (synthetic_1L; TSA-S and TSA-NS with every control; 3 stamps)
    with its data file beside it. Read-only: copy it (:func:`copy_run`) to change it."""
    root = tmp_path_factory.mktemp("tiny_run")
    data = synthetic_series.save(root / "synthetic.npz")
    config = EvaluationConfig(
        models=["published:synthetic_1L"],
        methods=["s", "ns"],
        data=str(data),
        data_sha256=synthetic_series.checksums()["X_sha256"],
        split="test",
        stamps=RUN_STAMPS,
        controls=RUN_CONTROLS,
        control_draws=2,
        metrics=RUN_SETTINGS,
    )
    run_evaluation(config, synthetic_series, root / "run")
    return root / "run"


def copy_run(run: Path, target: Path) -> Path:
    """A writable copy of a run directory."""
    return Path(shutil.copytree(run, target / run.name))
