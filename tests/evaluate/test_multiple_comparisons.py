"""Holm and Benjamini-Hochberg adjustments, against literal implementations and a worked
example, and the "significant" flag of a model's comparisons taken after Holm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikeattr.evaluate.paired import ALPHA, adjust_pairs, benjamini_hochberg, holm


def _holm_literal(p: list[float]) -> list[float]:
    finite = [(value, index) for index, value in enumerate(p) if not math.isnan(value)]
    finite.sort()
    m = len(finite)
    out = [math.nan] * len(p)
    running = 0.0
    for rank, (value, index) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * value))
        out[index] = running
    return out


def _bh_literal(p: list[float]) -> list[float]:
    finite = [(value, index) for index, value in enumerate(p) if not math.isnan(value)]
    finite.sort()
    m = len(finite)
    out = [math.nan] * len(p)
    for rank, (_, index) in enumerate(finite):
        out[index] = min(min(1.0, m * v / (r + 1)) for r, (v, _) in enumerate(finite) if r >= rank)
    return out


def test_the_worked_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])


@pytest.mark.parametrize("seed", range(6))
def test_adjustments_match_the_literal_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = list(rng.random(rng.integers(1, 40)) ** 3)
    p[::7] = [math.nan] * len(p[::7])  # NaN p-values are left out of the family
    if len(p) > 3:
        p[1] = p[2]  # ties
    np.testing.assert_allclose(holm(p), _holm_literal(p), equal_nan=True)
    np.testing.assert_allclose(benjamini_hochberg(p), _bh_literal(p), equal_nan=True)
    finite = np.isfinite(p)
    assert bool((holm(p)[finite] >= np.asarray(p)[finite]).all())
    assert bool((holm(p)[finite] >= benjamini_hochberg(p)[finite] - 1e-15).all())


def test_significance_is_taken_after_holm_over_the_family() -> None:
    def pair(p_value: float, low: float, high: float, better: str = "first") -> dict:
        return {"p_value": p_value, "ci_low": low, "ci_high": high, "better": better}

    pairs = [
        pair(0.001, 0.1, 0.2),  # survives (Holm: 4 x 0.001)
        pair(0.03, 0.1, 0.2),  # raw-significant, not after Holm (2 x 0.03 = 0.06)
        pair(0.001, -0.1, 0.2),  # CI crosses 0
        pair(0.0005, 0.1, 0.2, "tie"),  # no direction
        pair(math.nan, 0.1, 0.2),
        pair(0.5, 0.1, 0.2),
    ]
    adjust_pairs(pairs)
    assert [p["significant"] for p in pairs] == [True, False, False, False, False, False]
    assert pairs[1]["p_holm"] == pytest.approx(0.06) and pairs[1]["p_value"] < ALPHA
    assert pairs[0]["p_holm"] == pytest.approx(0.004)
    assert math.isnan(pairs[4]["p_holm"]) and math.isnan(pairs[4]["p_bh"])
    assert pairs[0]["p_bh"] == pytest.approx(5 * 0.001 / 3)  # the min over the ranks above
