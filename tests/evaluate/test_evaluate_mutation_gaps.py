"""Behaviours of the metrics that ``tools/mutate.py`` found no test for (each test kills the
survivor named in its docstring)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.completeness import OutputCompleteness
from spikeattr.evaluate.controls import control_maps, method_range, permuted_map
from spikeattr.evaluate.correctness import Correctness, ess
from spikeattr.evaluate.deletion import BudgetedDeletion
from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.localisation import GroundTruthLocalisation, mass_accuracy, rank_accuracy
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet, bootstrap_means
from spikeattr.evaluate.paired import compare, rank
from spikeattr.evaluate.randomisation import (
    ModelRandomisation,
    randomised_model,
    rank_correlation,
)
from spikeattr.evaluate.sensitivity import NormalisedSensitivity, perturb_activity
from spikeattr.snn import LIFNetwork, load_model


def test_rank_accuracy_of_an_empty_mask_is_nan() -> None:
    """Kills ``return float("nan")`` -> ``return None`` (evaluate/localisation.py)."""
    value = rank_accuracy(np.arange(6.0).reshape(2, 3), np.zeros((2, 3), dtype=bool))
    assert isinstance(value, float) and math.isnan(value)


def test_first_change_is_aggregated_as_a_median() -> None:
    """Kills ``float(np.median(values)) if values.size else nan`` -> ``nan`` (deletion.py)."""
    metric = BudgetedDeletion(budgets=(50,))
    assert metric.aggregate({"first_change": np.array([1.0, 5.0, 3.0, 51.0])}, "first_change") == 4
    assert math.isnan(metric.aggregate({"first_change": np.array([])}, "first_change"))
    assert metric.aggregate({"del_50": np.array([0.0, 1.0, 0.5, 0.5])}, "del_50") == 0.5


def test_a_map_without_support_never_changes_the_prediction(unit_ns: StampSet) -> None:
    """Kills ``np.where(changed.any(axis=1), changed.argmax(axis=1), largest + 1)`` ->
    ``largest - 1`` (evaluate/deletion.py): "never" is one past the largest budget."""
    empty = dataclasses.replace(unit_ns, maps=[np.zeros_like(m) for m in unit_ns.maps])
    result = BudgetedDeletion(budgets=(10, 20))(empty)
    assert result.per_stamp["first_change"].tolist() == [21.0] * len(unit_ns.maps)
    assert result.per_stamp["del_20"].tolist() == [1.0] * len(unit_ns.maps)


def test_paired_median_is_bootstrapped_with_medians_and_seed_0() -> None:
    """Kills, in evaluate/deletion.py, ``aggregated_otherwise``'s ``key == "first_change"`` ->
    ``!=`` (the interval of a median would be bootstrapped with means), and in
    evaluate/paired.py the default ``seed: int = 0`` -> ``1``: the interval is the percentiles of
    the medians' differences over ``default_rng(0)``'s resamples."""
    metric = BudgetedDeletion(budgets=(50,))
    rng = np.random.default_rng(7)
    first = {"first_change": rng.integers(0, 52, 30).astype(np.float64)}
    second = {"first_change": np.minimum(first["first_change"] + rng.integers(0, 9, 30), 51)}
    result = compare(metric, "first_change", first, second, n_bootstrap=200)
    draws = np.random.default_rng(0).integers(0, 30, size=(200, 30))
    samples = [
        np.median(first["first_change"][d]) - np.median(second["first_change"][d]) for d in draws
    ]
    low, high = np.percentile(samples, [2.5, 97.5])
    assert result["difference"] == np.median(first["first_change"]) - np.median(
        second["first_change"]
    )
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_a_difference_is_significant_only_below_alpha_0_05() -> None:
    """Kills ``ALPHA = 0.05`` -> ``1.05`` (evaluate/paired.py): four positive differences have a
    bootstrap interval above 0, but the exact two-sided Wilcoxon p is 2/16 = 0.125."""
    metric = BudgetedDeletion(budgets=(50,))
    first = {"aopc_50": np.array([0.5, 0.6, 0.7, 0.8])}
    second = {"aopc_50": np.array([0.1, 0.1, 0.1, 0.1])}
    result = compare(metric, "aopc_50", first, second, n_bootstrap=200)
    assert result["ci_low"] > 0 and result["better"] == "first"
    assert result["p_value"] == pytest.approx(0.125)
    assert result["significant"] is False
    many = compare(
        metric, "aopc_50", {"aopc_50": np.linspace(0.5, 0.9, 12)}, {"aopc_50": 0.1 * np.ones(12)}
    )
    assert many["p_value"] < 0.05 and many["significant"] is True


def test_method_range_of_empty_maps_is_zero() -> None:
    """Kills ``return (0.0, 0.0)`` -> ``(1.0, 0.0)`` (evaluate/controls.py)."""
    assert method_range([]) == (0.0, 0.0)
    assert method_range([np.zeros((3, 0)), np.zeros((0, 4))]) == (0.0, 0.0)
    assert method_range([np.zeros((3, 0)), np.array([[-2.0, 0.5]])]) == (-2.0, 0.5)


def test_uniform_control_draws_in_the_given_range_one_map_per_stamp() -> None:
    """Kills, in evaluate/controls.py, ``value_range if value_range is not None else
    method_range(maps)`` -> ``method_range(maps)`` and ``zip(maps, stamps, strict=True)`` ->
    ``strict=False`` in the uniform control."""
    maps = [np.array([[0.0, 0.2], [0.4, 0.0]]), np.array([[0.1, 0.0, 0.3]])]
    stamps = np.array([10, 20])
    given = control_maps("uniform", maps, stamps, seed=0, draw=0, value_range=(5.0, 6.0))
    for drawn, m in zip(given, maps, strict=True):
        assert ((drawn != 0) == (m != 0)).all()
        assert ((drawn[m != 0] >= 5.0) & (drawn[m != 0] < 6.0)).all()
    own = control_maps("uniform", maps, stamps, seed=0, draw=0)
    assert all(
        ((d[m != 0] >= 0.0) & (d[m != 0] < 0.4)).all() for d, m in zip(own, maps, strict=True)
    )
    for control in ("permuted", "uniform"):
        with pytest.raises(ValueError):
            control_maps(control, maps, np.array([10, 20, 30]), seed=0, draw=0)


def test_randomised_weights_are_the_keyed_centred_normal_draws() -> None:
    """Kills, in evaluate/randomisation.py, ``rng.normal(0.0, scale, ...)`` -> ``normal(1.0, ...)``
    and ``1 <= levels`` -> ``0 <= levels`` (no level randomised is refused)."""
    model = load_model("published:synthetic_3L")
    clone = randomised_model(model, 2, seed=4)
    for index, (trained, drawn) in enumerate(zip(model.weights, clone.weights, strict=True)):
        if index == 0:
            assert torch.equal(drawn, trained)
            continue
        scale = float(trained.detach().double().std(unbiased=False))
        expected = keyed_rng(4, "randomise-model", index).normal(0.0, scale, size=drawn.shape)
        np.testing.assert_allclose(drawn.detach().double().numpy(), expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(SpikeAttrError, match="levels"):
        randomised_model(model, 0, seed=4)


def test_output_completeness_headlines_and_per_stamp_agreement(unit_ns: StampSet) -> None:
    """Kills, in evaluate/completeness.py, the headline set ``{0.0, 0.10, 0.25, 0.50}`` with
    ``0.0`` -> ``1.0`` or ``0.10`` -> ``1.1``, ``e in headline`` -> ``not in``, the per-stamp
    ``predictions == original`` -> ``!=``, and ``zip(data.windows, data.maps, strict=True)`` ->
    ``strict=False``."""
    metric = OutputCompleteness()
    headline = [s.key for s in metric.scores if s.headline]
    assert headline == ["oc_0", "oc_10", "oc_25", "oc_50"]
    assert len(metric.scores) == 8 and all(s.higher_is_better for s in metric.scores)
    few = OutputCompleteness(epsilons=(0.0, 0.5))
    part = unit_ns.subset(range(4))
    result = few(part)
    predictions, original = result.per_stamp["predictions"], result.per_stamp["original"]
    np.testing.assert_array_equal(original, part.original)
    for column, key in enumerate(("oc_0", "oc_50")):
        expected = (predictions[:, column] == original).astype(np.float64)
        np.testing.assert_array_equal(result.per_stamp[key], expected)
    with pytest.raises(ValueError):
        few(dataclasses.replace(part, maps=part.maps[:3]))


def test_both_ess_scores_are_lower_is_better() -> None:
    """Kills ``Score("ess_truth", "ESS vs truth", False)`` -> ``True``
    (evaluate/correctness.py): a lower ESS against the truth ranks first."""
    metric = Correctness()
    assert [(s.key, s.higher_is_better) for s in metric.scores] == [
        ("ess_original", False),
        ("ess_truth", False),
    ]
    for key in ("ess_original", "ess_truth"):
        direction = metric.score(key).higher_is_better
        assert rank({"a": 0.2, "b": 0.6}, higher_is_better=direction) == {"a": 1.0, "b": 2.0}


def test_ess_of_a_single_stamp() -> None:
    """Kills ``if flips.shape[0] == 0`` -> ``== 1`` (evaluate/correctness.py): one stamp has an
    ESS; no stamp has none."""
    metric = Correctness()
    flips = np.array([[0, 0, 1]])
    per_stamp = {"flips": flips, "original": np.array([0]), "labels": np.array([1])}
    value = metric.aggregate(per_stamp, "ess_original")
    assert value == ess(np.array([0]), flips)
    assert math.isfinite(value)
    assert math.isfinite(metric.aggregate(per_stamp, "ess_truth"))
    empty = {"flips": np.zeros((0, 3)), "original": np.zeros(0), "labels": np.zeros(0)}
    assert math.isnan(metric.aggregate(empty, "ess_original"))


def test_correctness_refuses_a_stamp_set_of_unequal_lengths(unit_ns: StampSet) -> None:
    """Kills ``zip(data.windows, data.maps, data.original, strict=True)`` -> ``strict=False``
    (evaluate/correctness.py): 3 windows and maps but 2 predictions and labels; and the
    per-stamp ``np.mean(p == y)`` -> ``p != y`` against the labels."""
    part = unit_ns.subset(range(3))
    result = Correctness()(part).per_stamp
    assert result["flips"].shape[0] == 3
    for row in range(3):  # per stamp: the mean agreement over its own flips
        own = result["flips"][row, : int(result["n_segments"][row]) + 1]
        assert result["ess_original"][row] == np.mean(own == part.original[row])
        assert result["ess_truth"][row] == np.mean(own == part.labels[row])
    for short in (
        dataclasses.replace(part, maps=part.maps[:2]),
        dataclasses.replace(part, original=part.original[:2], labels=part.labels[:2]),
    ):
        with pytest.raises(ValueError):
            Correctness()(short)


def test_activity_perturbation_lengthens_shortens_and_sometimes_keeps() -> None:
    """Kills, in evaluate/sensitivity.py, ``rng.integers(0, ...)`` -> ``integers(1, ...)`` for the
    amount (an activity may keep its duration) and ``bool(rng.integers(0, 2))`` ->
    ``integers(1, 2)`` for ``lengthen`` (activities are shortened too)."""
    window = np.zeros((100, 1), dtype=np.int8)
    window[40:60, 0] = 1  # a 20-step run: changes of 0, 1 or 2 steps
    changes = set()
    for seed in range(60):
        out = perturb_activity(window, np.random.default_rng(seed))
        changes.add(int(out.sum()) - 20)
    assert changes == {-2, -1, 0, 1, 2}


def test_sensitivity_headline_is_the_median_and_the_rest_are_means() -> None:
    """Kills, in evaluate/sensitivity.py, ``Score("sens_mean", "sensitivity, mean", False, False)``
    -> higher is better ``True`` and ``return super().aggregate(per_stamp, key)`` ->
    ``return None``."""
    metric = NormalisedSensitivity()
    assert [s.key for s in metric.scores if s.headline] == ["sens_median"]
    assert not any(s.higher_is_better for s in metric.scores)  # a stable map changes least
    per_stamp = {
        "sens_median": np.array([0.1, 0.2, 0.9, np.nan]),
        "sens_mean": np.array([0.1, 0.2, 0.9, np.nan]),
        "sens_max": np.array([0.2, 0.4, 1.0, np.nan]),
        "unchanged": np.array([0.0, 0.5, 0.0, 1.0]),
    }
    assert metric.aggregate(per_stamp, "sens_median") == pytest.approx(0.2)
    assert metric.aggregate(per_stamp, "sens_mean") == pytest.approx(0.4)
    assert metric.aggregate(per_stamp, "sens_max") == pytest.approx(1.6 / 3)
    assert metric.aggregate(per_stamp, "unchanged") == pytest.approx(0.375)


def test_sensitivity_accepts_a_single_draw() -> None:
    """Kills ``if draws < 1`` -> ``draws <= 1`` (evaluate/sensitivity.py)."""
    assert NormalisedSensitivity(draws=1).draws == 1
    with pytest.raises(ValueError, match="draws"):
        NormalisedSensitivity(draws=0)


def test_summary_of_no_rows_and_no_scores_is_empty() -> None:
    """Kills ``rows = ... if per_stamp else 0`` -> ``rows = next(iter(per_stamp.values()))...``
    (evaluate/metric.py): a metric without scores summarises an empty result to nothing."""

    class Nothing(Metric):
        name = "nothing"
        title = "nothing"
        protocol = "comparable"
        scores = ()

        def __call__(self, data: StampSet) -> MetricResult:
            return MetricResult({}, {}, {})

    assert Nothing().summarise({}) == {}


def test_mass_accuracy_of_a_map_with_less_than_unit_mass() -> None:
    """Kills ``/ total if total > 0 else 0.0`` -> ``total > 1`` (evaluate/localisation.py)."""
    saliency = np.array([[0.1, 0.4], [0.0, 0.0]])
    mask = np.array([[True, False], [False, True]])
    assert mass_accuracy(saliency, mask) == pytest.approx(0.2)
    assert mass_accuracy(np.zeros((2, 2)), mask) == 0.0


def test_every_localisation_score_is_higher_is_better() -> None:
    """Kills ``Score("prevalence", ..., True, False)`` -> ``False`` (evaluate/localisation.py)."""
    scores = GroundTruthLocalisation.scores
    assert [s.key for s in scores][-1] == "prevalence"
    assert all(s.higher_is_better for s in scores)
    assert not scores[-1].headline


def test_deletion_budgets_default_and_must_be_positive() -> None:
    """Kills ``DEFAULT_BUDGETS = (10, 50, 100, 200)`` with ``200`` -> ``201`` and
    ``int(b) < 1`` -> ``int(b) < 0`` (evaluate/deletion.py)."""
    metric = BudgetedDeletion()
    assert metric.budgets == (10, 50, 100, 200)
    assert metric.scores[-1].heading == "cells to first change (median, 201 = never)"
    assert BudgetedDeletion(budgets=(1,)).budgets == (1,)
    for bad in ((0, 10), (-5,), ()):
        with pytest.raises(ValueError, match="budgets"):
            BudgetedDeletion(budgets=bad)


def test_score_direction_words() -> None:
    """Kills ``"higher is better" if self.higher_is_better else "lower is better"`` ->
    ``"higher is better"`` (evaluate/metric.py)."""
    assert Score("a", "A", True).direction == "higher is better"
    assert Score("b", "B", False).direction == "lower is better"


def test_a_stamp_set_is_the_method_s_own_draw_by_default(unit_ns: StampSet) -> None:
    """Kills ``draw: int = 0`` -> ``1`` (evaluate/metric.py): a stamp set built without a draw
    is the method itself, draw 0, and its control draws are numbered from there."""
    assert unit_ns.draw == 0 and unit_ns.control == ""
    assert unit_ns.with_maps(unit_ns.maps, "permuted").draw == 0
    assert unit_ns.with_maps(unit_ns.maps, "permuted", 2).draw == 2


def test_bootstrap_mean_of_a_resample_without_finite_values_is_nan() -> None:
    """Kills ``np.where(count > 0, ...)`` -> ``count >= 0`` in ``bootstrap_means``
    (evaluate/metric.py): a resample of NaN rows only has no mean (not 0)."""
    values = np.array([np.nan, 2.0, 4.0])
    draws = np.array([[0, 0, 0], [1, 2, 0], [2, 2, 2]])
    means = bootstrap_means(values, draws)
    assert math.isnan(means[0])
    assert means[1:].tolist() == [3.0, 4.0]


def test_permuted_control_shuffles_the_non_zero_cells_only() -> None:
    """Kills ``np.flatnonzero(out.ravel() != 0)`` -> ``== 0`` in ``permuted_map``
    (evaluate/controls.py): the zeros stay where they are, the non-zero values move."""
    explanation = np.zeros((3, 8))
    explanation[0, 1:6] = [1.0, 2.0, 3.0, 4.0, 5.0]
    explanation[2, 4] = -1.5
    moved = False
    for seed in range(5):
        out = permuted_map(explanation, np.random.default_rng(seed))
        np.testing.assert_array_equal(out == 0, explanation == 0)
        assert sorted(out[out != 0]) == sorted(explanation[explanation != 0])
        moved |= not np.array_equal(out, explanation)
    assert moved


def test_a_constant_layer_is_randomised_with_unit_scale() -> None:
    """Kills ``float(trained.std()) or 1.0`` -> ``or 0.0`` (evaluate/randomisation.py)."""
    model = LIFNetwork([3, 4, 2], seed=0)
    with torch.no_grad():
        model.weights[1].fill_(0.5)  # std 0
    clone = randomised_model(model, 1, seed=2)
    expected = keyed_rng(2, "randomise-model", 1).normal(0.0, 1.0, size=(4, 2))
    np.testing.assert_allclose(clone.weights[1].detach().double().numpy(), expected, rtol=1e-6)
    assert torch.equal(clone.weights[0], model.weights[0])


def test_rank_correlation_of_two_cells() -> None:
    """Kills ``if a.size < 2`` -> ``a.size < 3`` (evaluate/randomisation.py)."""
    two = rank_correlation(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0]))
    assert two == pytest.approx(1.0)
    assert rank_correlation(np.array([1.0, 2.0]), np.array([3.0, 1.0])) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(np.array([0.0, 2.0]), np.array([0.0, 1.0])))


def test_randomisation_scores_and_curve(unit_ns: StampSet) -> None:
    """Kills, in evaluate/randomisation.py, ``Score("rho_top", ..., False, False)`` -> higher is
    better ``True`` and ``_mean``'s ``... if finite.size else nan`` -> ``nan``."""
    metric = ModelRandomisation()
    assert [(s.key, s.higher_is_better, s.headline) for s in metric.scores] == [
        ("shape_top", False, False),
        ("shape_all", False, True),
        ("rho_top", False, False),
        ("rho_all", False, False),
    ]
    result = metric(unit_ns.subset(range(3)))
    for name in ("rho", "shape"):
        level = result.per_stamp[f"{name}_level_1"]
        assert np.isfinite(level).any()
        assert result.curves[f"{name}_by_level"] == [pytest.approx(float(np.nanmean(level)))]


def test_output_completeness_accepts_epsilon_one() -> None:
    """Kills ``0 <= e <= 1`` -> ``0 <= e < 1`` (evaluate/completeness.py)."""
    assert OutputCompleteness(epsilons=(0.0, 1.0)).epsilons == (0.0, 1.0)
    for bad in ((1.5,), (-0.1,), ()):
        with pytest.raises(ValueError, match="epsilons"):
            OutputCompleteness(epsilons=bad)


def test_ess_of_a_curve_of_one_point_is_that_point() -> None:
    """Kills ``if values.size == 1`` -> ``values.size == 0`` in ``ess``
    (evaluate/correctness.py): no stamp has a segment to flip."""
    assert ess(np.array([0, 1, 1]), np.array([[0], [1], [1]])) == 1.0
    assert ess(np.array([0, 1]), np.array([[1], [0]])) == 0.0


def test_correctness_reports_the_largest_segment_count(unit_ns: StampSet) -> None:
    """Kills ``{"max_segments": int(width - 1)}`` -> ``width + 1`` or ``width - 0``
    (evaluate/correctness.py): ``width`` counts the unflipped column too."""
    result = Correctness()(unit_ns.subset(range(3)))
    most = int(result.per_stamp["n_segments"].max())
    assert most > 0
    assert result.details["max_segments"] == most
    assert result.per_stamp["flips"].shape[1] == most + 1
