"""Compactness: how much attribution an explanation spends (SPEC 5).

Per stamp the sum of ``|attribution|`` of the explanation; reported as the mean over stamps
with a bootstrap 95 % CI. **Lower is better** (a more compact explanation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeattr.evaluate.stats import mean_ci


@dataclass
class CompactnessScores:
    """``total [S]``: sum of ``|attribution|`` per stamp."""

    total: np.ndarray
    higher_is_better: bool = False

    def summary(self, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
        """Mean over stamps with a 95 % CI."""
        return {"higher_is_better": False, "sum_abs": mean_ci(self.total, n_bootstrap, seed)}


class Compactness:
    """Sum of absolute attribution per explanation (Quantus shape)."""

    name = "compactness"
    higher_is_better = False

    def __call__(self, maps: Sequence[np.ndarray]) -> CompactnessScores:
        """``maps[s] [n_in, T_s]`` -> per-stamp sums."""
        return CompactnessScores(
            np.array([float(np.abs(m).astype(np.float64).sum()) for m in maps])
        )
