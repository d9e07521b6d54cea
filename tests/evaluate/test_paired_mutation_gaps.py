"""Tests for the survivors of the seed-33 mutation sample of ``evaluate/paired.py``."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.evaluate.deletion import BudgetedDeletion
from spikeattr.evaluate.paired import adjust_pairs, benjamini_hochberg, compare, holm


def test_one_p_value_is_its_own_adjustment() -> None:
    """Kills ``if finite.size == 0`` -> ``== 1`` in ``holm``."""
    np.testing.assert_allclose(holm([0.03]), [0.03])
    np.testing.assert_allclose(benjamini_hochberg([0.03]), [0.03])


def test_a_ci_that_touches_zero_does_not_exclude_it() -> None:
    """Kills ``pair["ci_high"] < 0`` -> ``<= 0`` in ``adjust_pairs``."""
    pairs = [
        {"p_value": 0.001, "ci_low": -0.2, "ci_high": 0.0, "better": "second"},
        {"p_value": 0.001, "ci_low": 0.0, "ci_high": 0.2, "better": "first"},
        {"p_value": 0.001, "ci_low": -0.2, "ci_high": -0.1, "better": "second"},
    ]
    adjust_pairs(pairs)
    assert [p["significant"] for p in pairs] == [False, False, True]


def test_the_better_method_follows_the_direction_of_the_score() -> None:
    """Kills ``"first" if direction * difference > 0 else "second"`` -> ``"first"``: aopc is
    higher-is-better and del is lower-is-better."""
    metric = BudgetedDeletion(budgets=(50,))
    low = {"aopc_50": np.full(6, 0.1), "del_50": np.full(6, 0.1)}
    high = {"aopc_50": np.linspace(0.5, 0.9, 6), "del_50": np.linspace(0.5, 0.9, 6)}
    assert compare(metric, "aopc_50", low, high, n_bootstrap=50)["better"] == "second"
    assert compare(metric, "aopc_50", high, low, n_bootstrap=50)["better"] == "first"
    assert compare(metric, "del_50", low, high, n_bootstrap=50)["better"] == "first"
    assert compare(metric, "del_50", high, low, n_bootstrap=50)["better"] == "second"
    assert pytest.approx(compare(metric, "del_50", low, low)["difference"]) == 0.0
