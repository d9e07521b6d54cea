"""A unit of the evaluation (one model, one method, some stamps) on the published 1L model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.metric import ExplainFn, StampSet
from spikeattr.explain.methods import make_explainer
from spikeattr.explain.stamps import explain_stamps
from spikeattr.snn import load_model


def explain_fn(method: str, model: Any) -> ExplainFn:
    """Re-explains windows with ``method`` for given classes (or the predicted ones)."""
    explainer = make_explainer(method, model)

    def explain(windows: np.ndarray, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        target = None if targets is None else [int(c) for c in targets]
        result = explainer.attribute(torch.from_numpy(np.asarray(windows)).float(), target=target)
        return result.explanation.detach().numpy(), result.predicted.numpy()

    return explain


def stamp_set(
    series: SpikeSeries,
    model_name: str,
    method: str,
    stamps: np.ndarray,
    window: int = 1000,
    precision: str = "float64",
) -> StampSet:
    """The :class:`StampSet` of ``stamps`` of ``series`` explained with ``method``."""
    model = load_model(model_name)
    result = explain_stamps(
        model, series.spikes, stamps, method, window=window, precision=precision
    )
    return StampSet(
        model=model,
        stamps=result.stamps,
        windows=[
            series.spikes[s:t] for s, t in zip(result.window_start, result.stamps, strict=True)
        ],
        maps=[np.ascontiguousarray(result.unpadded(i)) for i in range(len(stamps))],
        targets=result.target,
        original=result.predicted,
        labels=series.labels[result.stamps - 1].astype(np.int64),
        probs=result.probs.astype(np.float64),
        explain=explain_fn(method, model),
        explainer_for=lambda other: explain_fn(method, other),
        seed=3,
    )


@pytest.fixture(scope="module")
def unit_ns(synthetic_test: SpikeSeries) -> StampSet:
    """TSA-NS of the synthetic 1L model on 24 stamps (windows of 300 steps)."""
    rng = np.random.default_rng(5)
    stamps = np.sort(rng.choice(np.arange(2000, synthetic_test.n_steps), 24, replace=False))
    return stamp_set(synthetic_test, "published:synthetic_1L", "ns", stamps, window=300)
