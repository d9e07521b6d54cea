"""The bootstrap CIs' numbers against a slow, literal implementation of what the code documents.

``Metric.summarise``: a percentile bootstrap 95 % CI over the rows, ``n_bootstrap`` (500)
resamples of the rows drawn with ``np.random.default_rng(seed).integers(0, R, (n, R))``, the
same rows for every score. ``compare``: a paired bootstrap (one resample of the stamps applied
to both methods), 1000 resamples, the same generator. Both: the 2.5th and 97.5th percentiles
(linear interpolation between order statistics) of the finite resampled values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.paired import compare

Values = dict[str, list[float]]


class _Means(Metric):
    name = "means"
    title = "two means"
    protocol = "comparable"
    scores = (Score("x", "x", True), Score("y", "y", False))

    def __call__(self, data: StampSet) -> MetricResult:
        raise NotImplementedError


class _Medians(_Means):
    """Aggregated otherwise: the median of the finite values (resampled row by row)."""

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        values = [float(v) for v in per_stamp[key] if math.isfinite(v)]
        return float(np.median(values)) if values else float("nan")


def _literal_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def _literal_median(values: list[float]) -> float:
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return float("nan")
    middle = len(finite) // 2
    return finite[middle] if len(finite) % 2 else (finite[middle - 1] + finite[middle]) / 2


def _percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile by linear interpolation between the sorted samples."""
    ordered = sorted(samples)
    position = q / 100 * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _resamples(rows: int, n: int, seed: int) -> list[list[int]]:
    """The documented draw: ``n`` resamples of ``rows`` row indices from one generator."""
    draws = np.random.default_rng(seed).integers(0, rows, size=(n, rows))
    return [[int(i) for i in d] for d in draws]


def _interval(samples: list[float]) -> tuple[float, float]:
    finite = [s for s in samples if math.isfinite(s)]
    return _percentile(finite, 2.5), _percentile(finite, 97.5)


def _values(rows: int, seed: int) -> Values:
    rng = np.random.default_rng(seed)
    x = [float(v) for v in rng.exponential(1.0, rows)]  # skewed: the tails differ
    y = [float(v) for v in rng.normal(0.0, 1.0, rows)]
    y[3] = float("nan")  # an undefined stamp: left out of each resample's statistic
    return {"x": x, "y": y}


@pytest.mark.parametrize(
    ("metric", "statistic"), [(_Means(), _literal_mean), (_Medians(), _literal_median)]
)
def test_summarise_is_the_literal_percentile_bootstrap_over_rows(
    metric: Metric, statistic: Callable[[list[float]], float]
) -> None:
    values = _values(23, seed=1)
    summary = metric.summarise({k: np.array(v) for k, v in values.items()}, seed=7)
    resamples = _resamples(23, 500, seed=7)  # the default: 500 resamples
    for key, column in values.items():
        low, high = _interval([statistic([column[i] for i in d]) for d in resamples])
        assert summary[key]["value"] == pytest.approx(statistic(column), rel=1e-12)
        assert summary[key]["ci_low"] == pytest.approx(low, rel=1e-12)
        assert summary[key]["ci_high"] == pytest.approx(high, rel=1e-12)
        assert summary[key]["n"] == 23
    # the interval is not degenerate, so a shifted percentile moves it
    assert summary["x"]["ci_low"] < summary["x"]["value"] < summary["x"]["ci_high"]


@pytest.mark.parametrize(
    ("metric", "statistic"), [(_Means(), _literal_mean), (_Medians(), _literal_median)]
)
def test_compare_is_the_literal_paired_percentile_bootstrap(
    metric: Metric, statistic: Callable[[list[float]], float]
) -> None:
    first, second = _values(19, seed=2), _values(19, seed=3)
    first["x"][5] = float("nan")  # left out of the first method's statistic only
    result = compare(
        metric,
        "x",
        {k: np.array(v) for k, v in first.items()},
        {k: np.array(v) for k, v in second.items()},
        seed=11,
    )
    a, b = first["x"], second["x"]
    resamples = _resamples(19, 1000, seed=11)  # the default: 1000 resamples, both methods
    low, high = _interval(
        [statistic([a[i] for i in d]) - statistic([b[i] for i in d]) for d in resamples]
    )
    assert result["difference"] == pytest.approx(statistic(a) - statistic(b), rel=1e-12)
    assert result["ci_low"] == pytest.approx(low, rel=1e-12)
    assert result["ci_high"] == pytest.approx(high, rel=1e-12)
    assert result["n"] == 19


def test_the_literal_percentile_is_the_hand_computed_one() -> None:
    """The test's own percentile on five numbers: position q/100 * 4 between order statistics."""
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert _percentile(samples, 2.5) == pytest.approx(1.1)  # 1 + 0.1 * (2 - 1)
    assert _percentile(samples, 97.5) == pytest.approx(4.9)  # 4 + 0.9 * (5 - 4)
    assert _percentile(samples, 50) == 3.0
