"""Comparing methods on the same stamps: paired differences, tests and a ranking (SPEC 5.1).

Two methods explained the same stamps of the same model, so their scores pair up stamp by
stamp. For each score, the difference of the two aggregates (as :meth:`Metric.aggregate`
defines them) gets a paired bootstrap 95 % CI (one resample of stamps, applied to both
methods) and a Wilcoxon signed-rank p-value on the per-stamp differences. The ranking orders
methods by each headline score in its declared direction; ties share their mean rank.

A model's comparisons are many tests at once (every pair of methods, every method against its
controls, on every headline score), so their p-values are adjusted together: Holm's step-down
method (:func:`holm`, which controls the family-wise error rate) decides the "significant" flag;
Benjamini-Hochberg's (:func:`benjamini_hochberg`, the false discovery rate) is reported beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from spikeattr.evaluate.metric import Metric, bootstrap_means

#: Significance level of the "significant" flag.
ALPHA = 0.05


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (NaN pairs dropped).

    1.0 when every difference is zero; NaN with no pair. Zero differences are dropped; the
    exact null distribution is used for up to 50 pairs without tied ``|d|``, else the normal
    approximation with tie correction (recent SciPy's ``method="auto"`` runs a permutation test
    with ties, about 2 s per call, which made a benchmark's comparisons take minutes).
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return 1.0
    ties = np.unique(np.abs(nonzero)).size < nonzero.size
    method = "exact" if nonzero.size <= 50 and not ties else "approx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="wilcox", method=method).pvalue)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values of ``m`` tests (NaN stays NaN and is not counted).

    With the finite p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of the
    ``i``-th is ``max_{j <= i} min(1, (m - j + 1) p_(j))``; rejecting where it is below
    ``alpha`` keeps the probability of any false rejection at most ``alpha``.
    """
    p, out, order = _ascending(p_values)
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (the false discovery rate; NaN stays NaN).

    With the finite p-values sorted, the adjusted value of the ``i``-th is
    ``min_{j >= i} min(1, m p_(j) / j)``.
    """
    p, out, order = _ascending(p_values)
    m = order.size
    scaled = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    out[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return out


def _ascending(p_values: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The p-values as float64, an all-NaN result of their shape, and the positions of the
    finite ones in ascending order of p (ties in their given order)."""
    p = np.asarray(p_values, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(p))
    return p, np.full(p.shape, np.nan), finite[np.argsort(p[finite], kind="stable")]


def adjust_pairs(pairs: list[dict[str, Any]]) -> None:
    """Add ``p_holm`` and ``p_bh`` to every pair of one model's comparisons (one family) and
    set ``significant``: Holm-adjusted p below :data:`ALPHA`, a bootstrap CI excluding 0, and
    a direction."""
    raw = [float(p["p_value"]) for p in pairs]
    for pair, p_holm, p_bh in zip(pairs, holm(raw), benjamini_hochberg(raw), strict=True):
        pair["p_holm"] = float(p_holm)
        pair["p_bh"] = float(p_bh)
        pair["significant"] = bool(
            np.isfinite(p_holm)
            and p_holm < ALPHA
            and (pair["ci_low"] > 0 or pair["ci_high"] < 0)
            and pair["better"] != "tie"
        )


def compare(
    metric: Metric,
    key: str,
    first: Mapping[str, np.ndarray],
    second: Mapping[str, np.ndarray],
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """``first - second`` for score ``key`` of ``metric`` on the same ``S`` stamps.

    ``first`` and ``second`` map score keys to per-stamp ``[S]`` values in the same stamp order.
    Returns ``{"difference", "ci_low", "ci_high", "p_value", "n", "better", "significant"}``;
    ``better`` is ``"first"``, ``"second"`` or ``"tie"`` by the score's declared direction;
    ``significant`` is for this test alone (:func:`adjust_pairs` adjusts a family of them).
    """
    a = {k: np.asarray(v, dtype=np.float64) for k, v in first.items()}
    b = {k: np.asarray(v, dtype=np.float64) for k, v in second.items()}
    rows = a[key].shape[0]
    if b[key].shape[0] != rows:
        raise ValueError(f"paired scores need the same stamps; got {rows} and {b[key].shape[0]}")
    difference = metric.aggregate(a, key) - metric.aggregate(b, key)
    low = high = difference
    if rows > 1:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, rows, size=(n_bootstrap, rows))
        if metric.aggregated_otherwise(key):
            samples = np.asarray(
                [
                    metric.aggregate({k: v[d] for k, v in a.items()}, key)
                    - metric.aggregate({k: v[d] for k, v in b.items()}, key)
                    for d in draws
                ]
            )
        else:  # the mean: every resample in one vectorised step
            samples = bootstrap_means(a[key], draws) - bootstrap_means(b[key], draws)
        finite = samples[np.isfinite(samples)]
        if finite.size:
            low, high = (float(x) for x in np.percentile(finite, [2.5, 97.5]))
    p_value = wilcoxon_p(a[key] - b[key])
    direction = 1.0 if metric.score(key).higher_is_better else -1.0
    better = (
        "tie"
        if difference == 0 or not np.isfinite(difference)
        else ("first" if direction * difference > 0 else "second")
    )
    significant = bool(
        np.isfinite(p_value) and p_value < ALPHA and (low > 0 or high < 0) and better != "tie"
    )
    return {
        "difference": float(difference),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": p_value,
        "n": int(rows),
        "better": better,
        "significant": significant,
    }


def rank(values: Mapping[str, float], higher_is_better: bool) -> dict[str, float]:
    """Rank of each name by its value (1 = best; ties share their mean rank; NaN ranks last)."""
    names = list(values)
    array = np.array([values[n] for n in names], dtype=np.float64)
    keyed = np.where(np.isfinite(array), -array if higher_is_better else array, np.inf)
    ranks = stats.rankdata(keyed, method="average")
    return {name: float(r) for name, r in zip(names, ranks, strict=True)}


def ranking_table(
    headline: Sequence[tuple[Metric, str]], values: Mapping[str, Mapping[str, float]]
) -> list[dict[str, Any]]:
    """One row per method, sorted by mean rank over the ``headline`` (metric, score key) pairs.

    ``values[method]["METRIC.KEY"]`` is the method's aggregate of that score. Each row holds
    ``method``, ``mean_rank`` and ``rank`` / ``value`` per score.
    """
    methods = list(values)
    rows: dict[str, dict[str, Any]] = {m: {"method": m} for m in methods}
    per_score_ranks: dict[str, list[float]] = {m: [] for m in methods}
    for metric, key in headline:
        column = f"{metric.name}.{key}"
        ranks = rank(
            {m: values[m].get(column, float("nan")) for m in methods},
            metric.score(key).higher_is_better,
        )
        for method in methods:
            rows[method][column] = {"value": values[method].get(column), "rank": ranks[method]}
            per_score_ranks[method].append(ranks[method])
    for method in methods:
        rows[method]["mean_rank"] = float(np.mean(per_score_ranks[method]))
    return sorted(rows.values(), key=lambda row: (row["mean_rank"], row["method"]))
