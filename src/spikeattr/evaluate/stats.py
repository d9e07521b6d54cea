"""Summary statistics with confidence intervals, shared by the metrics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spikeattr.snn.accuracy import balanced_accuracy


def bootstrap_ci(
    samples: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95 % percentile interval of ``statistic`` over resamples of the rows of ``samples``."""
    samples = np.asarray(samples)
    if samples.shape[0] < 2:
        value = statistic(samples) if samples.shape[0] else float("nan")
        return (value, value)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, samples.shape[0], size=(n_bootstrap, samples.shape[0]))
    values = np.array([statistic(samples[d]) for d in draws], dtype=np.float64)
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return (float(low), float(high))


def mean_ci(values: np.ndarray, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, float]:
    """``{"mean", "ci_low", "ci_high", "n"}`` of per-stamp values (bootstrap 95 % CI)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = bootstrap_ci(values, lambda v: float(np.mean(v)), n_bootstrap, seed)
    return {
        "mean": float(values.mean()) if values.size else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "n": int(values.size),
    }


def agreement_columns(reference: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Balanced accuracy of every column of ``predictions [S, K]`` against ``reference [S]``.

    The same as :func:`agreement` per column (mean recall over the classes present in
    ``reference``), computed for all columns at once.
    """
    reference = np.asarray(reference)
    hits = np.asarray(predictions) == reference[:, None]
    recalls = [hits[reference == c].mean(axis=0) for c in np.unique(reference[reference >= 0])]
    return np.mean(recalls, axis=0)


def agreement(reference: np.ndarray, predictions: np.ndarray) -> float:
    """Balanced accuracy of ``predictions`` against ``reference`` labels (both ``[S]``)."""
    return balanced_accuracy(np.asarray(reference), np.asarray(predictions))
