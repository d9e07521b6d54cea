"""Paper protocol: correctness as explanation selectivity, by cumulative segment flipping (SPEC 5).

For each stamp, the ranked segments of its explanation are flipped (``x -> 1 - x``)
cumulatively and the window is re-run from zero state after each flip. The curve
``k -> balanced accuracy(original predictions, predictions after k flips)`` over all stamps
(a stamp with fewer than ``k`` segments keeps its last prediction) should fall fast for a good
explanation. ESS = area under the curve (trapezoid over ``k = 0 .. K``, ``K`` the largest
segment count) divided by ``K``; **lower is better**. The same curve against the ground-truth
labels is reported too.

Because ``K`` grows with the map's support, ESS compares poorly across methods and models; the
comparable protocol's :mod:`~spikeattr.evaluate.deletion` fixes the budget instead. The per-stamp
value kept for each stamp is the mean agreement over its own flips (independent of the other
stamps); the headline is computed from the per-stamp prediction rows.
"""

from __future__ import annotations

import numpy as np

from spikeattr.evaluate.forward import last_step_probs
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.perturb import cumulative_flips
from spikeattr.evaluate.segments import DEFAULT_WIDTH, segment_map
from spikeattr.evaluate.stats import agreement_columns


def ess(reference: np.ndarray, flips: np.ndarray) -> float:
    """Normalised area under the balanced-accuracy curve of ``flips [S, K + 1]``."""
    values = agreement_columns(reference, flips)
    if values.size == 1:
        return float(values[0])
    return float(np.sum((values[1:] + values[:-1]) / 2.0)) / (values.size - 1)


class Correctness(Metric):
    """Explanation selectivity (paper protocol).

    Args:
        width: segment width in steps (SPEC 5: 10).
    """

    name = "correctness"
    title = "Correctness: explanation selectivity (paper)"
    protocol = "paper"
    controls = ("uniform",)
    scores = (
        Score("ess_original", "ESS vs original", False),
        Score("ess_truth", "ESS vs truth", False),
    )

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        self.width = width

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        flips = np.asarray(per_stamp["flips"], dtype=np.int64)
        if flips.shape[0] == 0:
            return float("nan")
        against = "original" if key == "ess_original" else "labels"
        return ess(np.asarray(per_stamp[against], dtype=np.int64), flips)

    def __call__(self, data: StampSet) -> MetricResult:
        per_stamp_rows: list[np.ndarray] = []
        for window, explanation, first in zip(data.windows, data.maps, data.original, strict=True):
            segments = segment_map(explanation, self.width)
            predictions = np.asarray([int(first)], dtype=np.int64)
            if segments:
                copies = cumulative_flips(window, segments)
                first_step = min(s.start for s in segments)
                probs = last_step_probs(data.model, window, copies, first_step)
                predictions = np.concatenate([predictions, probs.argmax(-1).astype(np.int64)])
            per_stamp_rows.append(predictions)
        n_segments = np.array([p.size - 1 for p in per_stamp_rows], dtype=np.int64)
        width = int(n_segments.max(initial=0)) + 1
        flips = np.empty((len(per_stamp_rows), width), dtype=np.int64)
        for row, predictions in enumerate(per_stamp_rows):
            flips[row, : predictions.size] = predictions
            flips[row, predictions.size :] = predictions[-1]
        original = np.asarray(data.original, dtype=np.int64)
        labels = np.asarray(data.labels, dtype=np.int64)
        own = [np.mean(p == o) for p, o in zip(per_stamp_rows, original, strict=True)]
        own_truth = [np.mean(p == y) for p, y in zip(per_stamp_rows, labels, strict=True)]
        per_stamp = {
            "ess_original": np.asarray(own, dtype=np.float64),
            "ess_truth": np.asarray(own_truth, dtype=np.float64),
            "flips": flips,
            "original": original,
            "labels": labels,
            "n_segments": n_segments.astype(np.float64),
        }
        curves = {
            "original": agreement_columns(original, flips).tolist() if len(flips) else [],
            "truth": agreement_columns(labels, flips).tolist() if len(flips) else [],
        }
        return MetricResult(per_stamp, curves, {"max_segments": int(width - 1)})
