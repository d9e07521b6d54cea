"""Evaluate a model over a whole split of a series, run as one sequence from zero state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spikeattr.data.series import SpikeSeries
from spikeattr.snn.accuracy import AccuracyReport, accuracy_report
from spikeattr.snn.conv_network import SpikingNetwork


def evaluate_on_split(
    model: SpikingNetwork,
    series: SpikeSeries,
    split: str = "test",
    progress: Callable[[int], Any] | None = None,
) -> AccuracyReport:
    """Balanced accuracy (with CI) of ``model`` over split ``split`` of ``series``.

    The model must have been trained on the same input channels in the same order (checked).
    """
    model.check_data(series.input_names, series.class_names)
    part = series.split(split)
    prediction = model.predict_series(part.spikes, keep_probs=False, progress=progress)
    return accuracy_report(part.labels, prediction.predicted, series.class_names)
