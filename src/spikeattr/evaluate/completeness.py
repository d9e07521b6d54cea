"""Output-completeness: does the explanation alone preserve the prediction? (SPEC 5)

For each threshold ``epsilon`` (a fraction of the method's largest ``|attribution|`` over all
its explanations), the segments with ``|mean attribution| > epsilon`` are kept and every other
step of each channel is randomly permuted within that channel (a channel with no kept segment
is permuted entirely). Score = balanced accuracy(original predictions, predictions on the
perturbed windows); **higher is better**. At ``epsilon = 0`` a map with no zero keeps every step,
so its score is 1 by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from spikeattr.evaluate.perturb import permute_outside
from spikeattr.evaluate.segments import DEFAULT_WIDTH, segment_map
from spikeattr.evaluate.stats import agreement_columns, bootstrap_ci

PAPER_EPSILONS: tuple[float, ...] = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.50, 0.75)


@dataclass
class CompletenessScores:
    """``predictions [S, n_eps]`` on the perturbed windows, per threshold fraction."""

    epsilons: tuple[float, ...]
    scale: float
    predictions: np.ndarray
    original: np.ndarray
    higher_is_better: bool = True

    def scores(self, rows: np.ndarray | None = None) -> np.ndarray:
        """``[n_eps]`` balanced accuracy against the original predictions."""
        rows = np.arange(len(self.original)) if rows is None else rows
        return agreement_columns(self.original[rows], self.predictions[rows])

    def summary(self, n_bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
        """Score per epsilon with bootstrap 95 % CIs over stamps."""
        rows = np.arange(len(self.original))
        values = self.scores()
        table = []
        for index, epsilon in enumerate(self.epsilons):

            def statistic(sample: np.ndarray, column: int = index) -> float:
                return float(self.scores(sample)[column])

            low, high = bootstrap_ci(rows, statistic, n_bootstrap, seed)
            table.append(
                {
                    "epsilon": epsilon,
                    "threshold": epsilon * self.scale,
                    "value": float(values[index]),
                    "ci_low": low,
                    "ci_high": high,
                }
            )
        return {
            "higher_is_better": True,
            "n_stamps": int(rows.size),
            "scale": self.scale,
            "per_epsilon": table,
        }


class OutputCompleteness:
    """Output-completeness (Quantus shape).

    Args:
        epsilons: thresholds as fractions of the method's largest ``|attribution|``.
        width: segment width in steps.
        seed: seed of the permutations (stamp ``s`` uses ``default_rng((seed, s))``).
    """

    name = "output_completeness"
    higher_is_better = True

    def __init__(
        self,
        epsilons: Sequence[float] = PAPER_EPSILONS,
        width: int = DEFAULT_WIDTH,
        seed: int = 0,
        batch_size: int = 256,
    ) -> None:
        if any(not 0 <= e <= 1 for e in epsilons):
            raise ValueError(f"epsilons are fractions in [0, 1]; got {list(epsilons)}")
        self.epsilons = tuple(float(e) for e in epsilons)
        self.width = width
        self.seed = seed
        self.batch_size = batch_size

    def __call__(
        self,
        model: Any,
        windows: Sequence[np.ndarray],
        maps: Sequence[np.ndarray],
        original: np.ndarray,
        scale: float | None = None,
    ) -> CompletenessScores:
        """Score each stamp; ``scale`` defaults to the largest ``|attribution|`` of ``maps``."""
        if scale is None:
            scale = max((float(np.abs(m).max()) for m in maps if m.size), default=0.0)
        predictions = np.empty((len(windows), len(self.epsilons)), dtype=np.int64)
        for row, (window, explanation) in enumerate(zip(windows, maps, strict=True)):
            rng = np.random.default_rng((self.seed, row))
            segments = segment_map(explanation, self.width)
            batch = np.stack(
                [
                    permute_outside(window, [s for s in segments if abs(s.mean) > e * scale], rng)
                    for e in self.epsilons
                ]
            )
            probs = model.predict_last(torch.from_numpy(batch).float(), self.batch_size)
            predictions[row] = probs.argmax(-1).numpy()
        return CompletenessScores(
            self.epsilons, float(scale), predictions, np.asarray(original, dtype=np.int64)
        )
