"""Paper protocol: output-completeness at thresholds of the attribution (SPEC 5).

For each threshold ``epsilon`` (a fraction of the method's largest ``|attribution|``), the
segments with ``|mean attribution| > epsilon`` are kept and every other step of each channel is
randomly permuted within that channel (a channel with no kept segment is permuted entirely).
Score = balanced accuracy(original predictions, predictions on the perturbed windows); **higher
is better**. At ``epsilon = 0`` a map with no zero keeps every step, so its score is 1 by
construction.

The scale (the method's largest ``|attribution|``) is fixed per data set, model and method over
the data set's reference stamps (the paper's stamps, or 25 per class), not over the stamps of
the current run, so a run on a subset uses the same thresholds (``StampSet.scale``; the maps'
own largest value only when no scale is given). Each stamp's permutations are drawn from
``keyed_rng(seed, "paper-completeness", stamp)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.forward import last_step_probs
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.perturb import permute_outside
from spikeattr.evaluate.segments import DEFAULT_WIDTH, segment_map
from spikeattr.evaluate.stats import agreement

PAPER_EPSILONS: tuple[float, ...] = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.50, 0.75)


def _key(epsilon: float) -> str:
    return f"oc_{round(epsilon * 100):d}"


class OutputCompleteness(Metric):
    """Output-completeness (paper protocol).

    Args:
        epsilons: thresholds as fractions of the method's largest ``|attribution|``.
        width: segment width in steps.
    """

    name = "output_completeness"
    title = "Output-completeness at attribution thresholds (paper)"
    protocol = "paper"
    controls = ("uniform",)

    def __init__(
        self, epsilons: Sequence[float] = PAPER_EPSILONS, width: int = DEFAULT_WIDTH
    ) -> None:
        if not epsilons or any(not 0 <= e <= 1 for e in epsilons):
            raise ValueError(f"epsilons are fractions in [0, 1]; got {list(epsilons)}")
        self.epsilons = tuple(float(e) for e in epsilons)
        self.width = width
        headline = {0.0, 0.10, 0.25, 0.50}
        self.scores = tuple(
            Score(_key(e), f"OC eps {round(e * 100)}%", True, e in headline) for e in self.epsilons
        )

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        column = [_key(e) for e in self.epsilons].index(key)
        predictions = np.asarray(per_stamp["predictions"], dtype=np.int64)
        if predictions.shape[0] == 0:
            return float("nan")
        return agreement(np.asarray(per_stamp["original"], np.int64), predictions[:, column])

    def __call__(self, data: StampSet) -> MetricResult:
        scale = data.scale
        if scale is None:
            scale = max((float(np.abs(m).max()) for m in data.maps if m.size), default=0.0)
        predictions = np.empty((len(data), len(self.epsilons)), dtype=np.int64)
        for row, (window, explanation) in enumerate(zip(data.windows, data.maps, strict=True)):
            rng = keyed_rng(data.seed, "paper-completeness", int(data.stamps[row]), data.draw)
            segments = segment_map(explanation, self.width)
            copies = np.stack(
                [
                    permute_outside(window, [s for s in segments if abs(s.mean) > e * scale], rng)
                    for e in self.epsilons
                ]
            )
            predictions[row] = last_step_probs(data.model, window, copies, 0).argmax(-1)
        original = np.asarray(data.original, dtype=np.int64)
        per_stamp: dict[str, np.ndarray] = {
            _key(e): (predictions[:, i] == original).astype(np.float64)
            for i, e in enumerate(self.epsilons)
        }
        per_stamp["predictions"] = predictions
        per_stamp["original"] = original
        return MetricResult(
            per_stamp,
            {},
            {"scale": float(scale), "thresholds": [e * float(scale) for e in self.epsilons]},
        )
