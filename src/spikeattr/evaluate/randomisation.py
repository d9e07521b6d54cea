"""The model-randomisation sanity check of Adebayo et al. (2018), in a form that can fail on
spiking networks.

The trained weights are replaced by random ones of the same shape and scale (normal, with the
standard deviation of the trained matrix), cascading from the output layer down: level ``k``
randomises the last ``k`` weight matrices. Each stamp is explained again for the same class on
each randomised model and the two maps are compared. A method that explains the model must
change when the model does: **lower is better**. Matrix ``l`` is drawn from
``keyed_rng(seed, "randomise-model", l)``, the same for every method, so methods are compared
on the same random models.

Two correlations per stamp and level:

* ``shape`` (the check's verdict): Spearman's rho between the **signed, per-step-normalised**
  maps ``a[..., t] / max |a[..., t]|``, over the cells either map gives a non-zero value. On a
  spiking network the ranks of ``|a|`` are set by what no weight touches: which cells hold a
  spike, and the temporal kernel (a spike ``k`` steps back is weighed by a decay of ``k``, so
  a recent cell outranks an old one by orders of magnitude under any weights). Dividing each
  step by its own largest ``|a|`` takes the kernel out, and keeping the sign keeps what the
  weights decide (whether a cell speaks for or against the class). A map that cannot be ranked
  after that (fewer than two non-zero cells, or one value on all of them, as for a map that is
  the input spikes times any function of time) scores 1: nothing in it shows that it depends on
  the model. If only the randomised map cannot be ranked, the map has changed: 0.
* ``rho`` (Adebayo et al.'s own statistic, kept for comparison): Spearman's rho of ``|a|`` over
  the cells that either map gives a non-zero value. On the published spiking models it stays at
  0.96-1.00 for every method, integrated gradients included, so it cannot fail there.

Read the cascade, not the output layer alone: a faithful map of a deep network can keep its
shape while only the output layer is random, because its lower layers shape it; a map that
ignores the weights keeps it at every level.
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


def step_normalised(values: np.ndarray) -> np.ndarray:
    """``a[..., t] / max |a[..., t]|`` (float64, same shape): each step of a map ``[..., T]``
    scaled by its own largest magnitude, so that every step's largest cell is +-1 (a step that
    is all 0 stays 0)."""
    array = np.asarray(values, dtype=np.float64)
    flat = array.reshape(-1, array.shape[-1])
    scale = np.abs(flat).max(axis=0) if flat.size else np.zeros(array.shape[-1])
    out = np.divide(flat, scale, out=np.zeros_like(flat), where=scale > 0)
    return out.reshape(array.shape)


def shape_correlation(trained: np.ndarray, randomised: np.ndarray) -> float:
    """Spearman's rho between the signed, step-normalised maps (:func:`step_normalised`) over
    the cells where either is non-zero; 1 when the trained map cannot be ranked there (fewer
    than two cells, or one value on all of them), 0 when only the randomised one cannot."""
    a, b = np.ravel(step_normalised(trained)), np.ravel(step_normalised(randomised))
    either = (a != 0) | (b != 0)
    a, b = a[either], b[either]
    if a.size < 2 or np.all(a == a[0]):
        return 1.0
    if np.all(b == b[0]):
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.spearmanr(a, b).statistic)


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
    """Rank correlations between the maps of the trained and the randomised models (see the
    module documentation): ``shape_*`` the check's, ``rho_*`` Adebayo et al.'s ``|a|``."""

    name = "randomisation"
    title = "Sanity check: model randomisation (Adebayo et al. 2018)"
    protocol = "comparable"
    scores = (
        Score("shape_top", "signed shape rank corr., output layer random", False, False),
        Score("shape_all", "signed shape rank corr., all layers random", False),
        Score("rho_top", "|a| rank corr., output layer random", False, False),
        Score("rho_all", "|a| rank corr., all layers random", False, False),
    )

    def __call__(self, data: StampSet) -> MetricResult:
        if data.explainer_for is None:
            raise SpikeAttrError("the randomisation check needs a way to explain other models")
        n_layers = len(list(data.model.weights))
        rho = np.full((len(data), n_layers), np.nan)
        shape = np.full((len(data), n_layers), np.nan)
        for level in range(1, n_layers + 1):
            explain = data.explainer_for(randomised_model(data.model, level, data.seed))
            for row in range(len(data)):
                window = data.windows[row][None]
                maps, _ = explain(window, data.targets[row : row + 1])
                rho[row, level - 1] = rank_correlation(np.abs(data.maps[row]), np.abs(maps[0]))
                shape[row, level - 1] = shape_correlation(data.maps[row], maps[0])
        per_stamp = {
            "shape_top": shape[:, 0],
            "shape_all": shape[:, -1],
            "rho_top": rho[:, 0],
            "rho_all": rho[:, -1],
        }
        per_stamp.update({f"rho_level_{k + 1}": rho[:, k] for k in range(n_layers)})
        per_stamp.update({f"shape_level_{k + 1}": shape[:, k] for k in range(n_layers)})
        curves = {
            "shape_by_level": [_mean(shape[:, k]) for k in range(n_layers)],
            "rho_by_level": [_mean(rho[:, k]) for k in range(n_layers)],
        }
        return MetricResult(per_stamp, curves, {"levels": n_layers})


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
