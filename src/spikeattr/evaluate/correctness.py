"""Correctness: explanation selectivity by cumulative segment flipping (SPEC 5).

For each stamp, the ranked segments of its explanation are flipped (``x -> 1 - x``)
cumulatively and the window is re-run from zero state after each flip. The curve
``k -> balanced accuracy(original predictions, predictions after k flips)`` over all stamps
(a stamp with fewer than ``k`` segments keeps its last prediction) should fall fast for a good
explanation. ESS = area under the curve (trapezoid over ``k = 0 .. K``) divided by ``K``;
**lower is better**. The same curve against the ground-truth labels is reported too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from spikeattr.evaluate.perturb import cumulative_flips
from spikeattr.evaluate.segments import DEFAULT_WIDTH, segment_map
from spikeattr.evaluate.stats import agreement_columns, bootstrap_ci


@dataclass
class CorrectnessScores:
    """Per-stamp predictions after ``k`` flips and the curves they give.

    Attributes:
        predictions: int64 ``[S, K + 1]``; column 0 is the unperturbed prediction, column ``k``
            the prediction after ``k`` flips (held at the last one past a stamp's segments).
        n_segments: int64 ``[S]`` segments per stamp.
        original: int64 ``[S]`` original predictions; labels: int64 ``[S]`` ground truth.
    """

    predictions: np.ndarray
    n_segments: np.ndarray
    original: np.ndarray
    labels: np.ndarray
    higher_is_better: bool = False

    def curve(self, against: str = "original", rows: np.ndarray | None = None) -> np.ndarray:
        """``[K + 1]`` balanced accuracy after ``k`` flips vs ``original`` or ``truth``."""
        rows = np.arange(len(self.original)) if rows is None else rows
        reference = (self.original if against == "original" else self.labels)[rows]
        return agreement_columns(reference, self.predictions[rows])

    def ess(self, against: str = "original", rows: np.ndarray | None = None) -> float:
        """Explanation selectivity score: normalised area under :meth:`curve` (lower is better)."""
        values = self.curve(against, rows)
        if values.size == 1:
            return float(values[0])
        area = float(np.sum((values[1:] + values[:-1]) / 2.0))
        return area / (values.size - 1)

    def summary(self, n_bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
        """ESS against original predictions and truth, with bootstrap 95 % CIs over stamps."""
        rows = np.arange(len(self.original))
        out: dict[str, Any] = {
            "higher_is_better": False,
            "n_stamps": int(rows.size),
            "max_segments": int(self.n_segments.max(initial=0)),
        }
        for against in ("original", "truth"):

            def statistic(sample: np.ndarray, reference: str = against) -> float:
                return self.ess(reference, sample)

            low, high = bootstrap_ci(rows, statistic, n_bootstrap, seed)
            out[f"ess_{against}"] = {"value": self.ess(against), "ci_low": low, "ci_high": high}
            out[f"curve_{against}"] = self.curve(against).tolist()
        return out


class Correctness:
    """Explanation selectivity (Quantus shape: settings here, data in ``__call__``).

    Args:
        width: segment width in steps (SPEC 5: 10).
        batch_size: windows per forward pass.
    """

    name = "correctness"
    higher_is_better = False

    def __init__(self, width: int = DEFAULT_WIDTH, batch_size: int = 256) -> None:
        self.width = width
        self.batch_size = batch_size

    def __call__(
        self,
        model: Any,
        windows: Sequence[np.ndarray],
        maps: Sequence[np.ndarray],
        original: np.ndarray,
        labels: np.ndarray,
    ) -> CorrectnessScores:
        """Score each stamp: ``windows[s] [T_s, n_in]``, ``maps[s] [n_in, T_s]`` (explained
        class), ``original [S]`` predictions, ``labels [S]`` ground truth."""
        per_stamp: list[np.ndarray] = []
        for window, explanation, first in zip(windows, maps, original, strict=True):
            segments = segment_map(explanation, self.width)
            predictions = [int(first)]
            if segments:
                flipped = torch.from_numpy(cumulative_flips(window, segments)).float()
                probs = model.predict_last(flipped, batch_size=self.batch_size)
                predictions += [int(c) for c in probs.argmax(-1).tolist()]
            per_stamp.append(np.asarray(predictions, dtype=np.int64))
        n_segments = np.array([p.size - 1 for p in per_stamp], dtype=np.int64)
        width = int(n_segments.max(initial=0)) + 1
        table = np.empty((len(per_stamp), width), dtype=np.int64)
        for row, stamp_predictions in enumerate(per_stamp):
            table[row, : stamp_predictions.size] = stamp_predictions
            table[row, stamp_predictions.size :] = stamp_predictions[-1]
        return CorrectnessScores(
            table,
            n_segments,
            np.asarray(original, dtype=np.int64),
            np.asarray(labels, dtype=np.int64),
        )
