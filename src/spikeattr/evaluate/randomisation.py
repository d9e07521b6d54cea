"""The model-randomisation sanity check of Adebayo et al. (2018) (SPEC 5.1).

The trained weights are replaced by random ones of the same shape and scale (normal, with the
standard deviation of the trained matrix), cascading from the output layer down: level ``k``
randomises the last ``k`` weight matrices. Each stamp is explained again for the same class on
each randomised model, and the Spearman rank correlation between ``|a|`` on the trained model
and on the randomised one is computed over the cells that either map gives a non-zero value
(over the whole window, the cells that both maps leave at exactly zero, e.g. beyond TSA's
decay support, would make any two maps look alike). A method that explains the model
must change when the model does: **lower is better**. Matrix ``l`` is drawn from
``keyed_rng(seed, "randomise-model", l)``, the same for every method, so methods are compared
on the same random models.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch
from scipy import stats

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet


def randomised_model(model: Any, levels: int, seed: int) -> Any:
    """A copy of ``model`` whose last ``levels`` weight matrices are random (see module doc)."""
    weights = list(model.weights)
    if not 1 <= levels <= len(weights):
        raise SpikeAttrError(f"levels must lie in [1, {len(weights)}]; got {levels}")
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for index in range(len(weights) - levels, len(weights)):
            trained = weights[index].detach().cpu().numpy().astype(np.float64)
            scale = float(trained.std()) or 1.0
            rng = keyed_rng(seed, "randomise-model", index)
            drawn = rng.normal(0.0, scale, size=trained.shape)
            clone.weights[index].copy_(torch.from_numpy(drawn).to(clone.weights[index].dtype))
    return clone


def rank_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rho over the cells where either map is non-zero (ties share their mean rank);
    NaN if fewer than two such cells or one map is constant there."""
    a, b = np.ravel(first), np.ravel(second)
    either = (a != 0) | (b != 0)
    a, b = a[either], b[either]
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.spearmanr(a, b).statistic)


class ModelRandomisation(Metric):
    """Spearman correlation of ``|a|`` between the trained and the randomised models."""

    name = "randomisation"
    title = "Sanity check: model randomisation (Adebayo et al. 2018)"
    protocol = "comparable"
    scores = (
        Score("rho_top", "rank corr., output layer random", False, False),
        Score("rho_all", "rank corr., all layers random", False),
    )

    def __call__(self, data: StampSet) -> MetricResult:
        if data.explainer_for is None:
            raise SpikeAttrError("the randomisation check needs a way to explain other models")
        n_layers = len(list(data.model.weights))
        rho = np.full((len(data), n_layers), np.nan)
        for level in range(1, n_layers + 1):
            explain = data.explainer_for(randomised_model(data.model, level, data.seed))
            for row in range(len(data)):
                window = data.windows[row][None]
                maps, _ = explain(window, data.targets[row : row + 1])
                rho[row, level - 1] = rank_correlation(np.abs(data.maps[row]), np.abs(maps[0]))
        per_stamp = {"rho_top": rho[:, 0], "rho_all": rho[:, -1]}
        per_stamp.update({f"rho_level_{k + 1}": rho[:, k] for k in range(n_layers)})
        curves = {"rho_by_level": [_mean(rho[:, k]) for k in range(n_layers)]}
        return MetricResult(per_stamp, curves, {"levels": n_layers})


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
