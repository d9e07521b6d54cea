"""Continuity: max-sensitivity of the explanation to small changes of activity durations (SPEC 5).

Every contiguous activity (run of ones) of every channel is shortened or lengthened at its start
or end by a random ``0 .. round(0.1 n)`` steps (``n`` its length); the perturbed window is
explained again and the sensitivity is the Frobenius norm of the difference between the two
explanations (each of its own predicted class). Per stamp the max (and mean) over
``n_perturbations`` draws is kept; reported: the max and the mean over stamps. **Lower is
better.**
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeattr.evaluate.perturb import perturb_durations
from spikeattr.evaluate.stats import mean_ci

#: ``windows [P, T, n_in] -> (maps [P, n_in, T] of each predicted class, predicted [P])``
ExplainFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class ContinuityScores:
    """``sensitivity [S, n_perturbations]`` and the perturbed predictions."""

    sensitivity: np.ndarray
    perturbed_predictions: np.ndarray
    higher_is_better: bool = False

    @property
    def max_per_stamp(self) -> np.ndarray:
        """``[S]`` max-sensitivity of each stamp."""
        return self.sensitivity.max(axis=1)

    @property
    def mean_per_stamp(self) -> np.ndarray:
        """``[S]`` mean sensitivity of each stamp."""
        return self.sensitivity.mean(axis=1)

    def summary(self, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
        """Max and mean over stamps of the per-stamp max-sensitivity (mean with a 95 % CI)."""
        per_stamp = self.max_per_stamp
        return {
            "higher_is_better": False,
            "n_stamps": int(per_stamp.size),
            "n_perturbations": int(self.sensitivity.shape[1]),
            "max_sensitivity_max": float(per_stamp.max(initial=0.0)),
            "max_sensitivity_mean": mean_ci(per_stamp, n_bootstrap, seed),
            "mean_sensitivity_mean": mean_ci(self.mean_per_stamp, n_bootstrap, seed),
        }


class Continuity:
    """Max-sensitivity to duration perturbations (Quantus shape).

    Args:
        n_perturbations: perturbed copies per stamp (paper: 1).
        max_fraction: largest change of an activity, as a fraction of its length (0.1).
        seed: stamp ``s`` draws from ``default_rng((seed, s))``.
    """

    name = "continuity"
    higher_is_better = False

    def __init__(self, n_perturbations: int = 1, max_fraction: float = 0.1, seed: int = 0) -> None:
        if n_perturbations < 1:
            raise ValueError(f"n_perturbations must be at least 1; got {n_perturbations}")
        self.n_perturbations = n_perturbations
        self.max_fraction = max_fraction
        self.seed = seed

    def perturbations(self, window: np.ndarray, row: int) -> np.ndarray:
        """The ``[n_perturbations, T, n_in]`` perturbed copies of stamp ``row``'s window."""
        rng = np.random.default_rng((self.seed, row))
        return np.stack(
            [perturb_durations(window, rng, self.max_fraction) for _ in range(self.n_perturbations)]
        )

    def __call__(
        self,
        explain: ExplainFn,
        windows: Sequence[np.ndarray],
        maps: Sequence[np.ndarray],
    ) -> ContinuityScores:
        """Score each stamp: ``explain`` re-explains the perturbed windows of one stamp."""
        sensitivity = np.zeros((len(windows), self.n_perturbations))
        predicted = np.zeros((len(windows), self.n_perturbations), dtype=np.int64)
        for row, (window, explanation) in enumerate(zip(windows, maps, strict=True)):
            perturbed_maps, perturbed_pred = explain(self.perturbations(window, row))
            difference = perturbed_maps - explanation[None]
            sensitivity[row] = np.sqrt((difference.astype(np.float64) ** 2).sum(axis=(1, 2)))
            predicted[row] = perturbed_pred
        return ContinuityScores(sensitivity, predicted)
