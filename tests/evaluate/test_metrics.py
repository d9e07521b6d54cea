"""The paper protocol's four metrics and the controls, on a published model and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.evaluate.compactness import Compactness
from spikeattr.evaluate.completeness import OutputCompleteness
from spikeattr.evaluate.continuity import Continuity
from spikeattr.evaluate.controls import control_maps, method_range, permuted_map, uniform_map
from spikeattr.evaluate.correctness import Correctness, ess
from spikeattr.evaluate.metric import StampSet
from spikeattr.evaluate.perturb import (
    activity_runs,
    cumulative_flips,
    permute_outside,
    perturb_durations,
)
from spikeattr.evaluate.segments import segment_map
from spikeattr.evaluate.stats import agreement, agreement_columns


def test_flipping_every_segment_changes_the_input_exactly_on_the_segments(
    unit_ns: StampSet,
) -> None:
    for window, explanation in zip(unit_ns.windows[:10], unit_ns.maps[:10], strict=True):
        segments = segment_map(explanation)
        assert segments, "TSA-NS maps of the 1L model have segments"
        flipped = cumulative_flips(window, segments)
        changed = flipped[-1] != window  # [T, n_in]
        np.testing.assert_array_equal(changed.T, explanation != 0)
        for k, segment in enumerate(segments):  # each step k flips exactly the k-th segment
            previous = window if k == 0 else flipped[k - 1]
            diff = np.argwhere(flipped[k] != previous)
            assert diff[:, 1].tolist() == [segment.channel] * segment.length
            assert diff[:, 0].tolist() == list(range(segment.start, segment.stop))


def test_correctness_curve_starts_at_one_and_ess_is_in_unit_interval(unit_ns: StampSet) -> None:
    metric = Correctness()
    result = metric(unit_ns)
    flips = result.per_stamp["flips"]
    assert result.curves["original"][0] == 1.0
    assert flips.shape == (len(unit_ns), int(result.per_stamp["n_segments"].max()) + 1)
    summary = metric.summarise(result.per_stamp, n_bootstrap=20)
    for key in ("ess_original", "ess_truth"):
        assert 0.0 <= summary[key]["value"] <= 1.0
        assert summary[key]["ci_low"] <= summary[key]["value"] <= summary[key]["ci_high"]
    row = int(np.argmin(result.per_stamp["n_segments"]))  # fewer segments: keeps its last one
    k = int(result.per_stamp["n_segments"][row])
    assert (flips[row, k:] == flips[row, k]).all()


def test_uniform_control_is_no_better_than_tsa_on_the_synthetic_1l_model(
    unit_ns: StampSet,
) -> None:
    """TSA-NS's ESS is far lower (better) than that of uniform maps on the same support."""
    metric = Correctness()
    control = unit_ns.with_maps(
        control_maps("uniform", unit_ns.maps, unit_ns.stamps, seed=0, draw=0), "uniform"
    )
    tsa = metric.aggregate(metric(unit_ns).per_stamp, "ess_original")
    assert tsa < metric.aggregate(metric(control).per_stamp, "ess_original")


def test_ess_of_hand_made_predictions() -> None:
    flips = np.array([[0, 1, 1], [1, 1, 1], [2, 2, 0]])
    original, labels = np.array([0, 1, 2]), np.array([0, 1, 1])
    np.testing.assert_allclose(agreement_columns(original, flips), [1.0, 2 / 3, 1 / 3])
    assert ess(original, flips) == pytest.approx(((1 + 2 / 3) / 2 + (2 / 3 + 1 / 3) / 2) / 2)
    metric = Correctness()
    per_stamp = {"flips": flips, "original": original, "labels": labels}
    assert metric.aggregate(per_stamp, "ess_original") == ess(original, flips)
    truth = [agreement(labels, flips[:, k]) for k in range(3)]
    expected = ((truth[0] + truth[1]) / 2 + (truth[1] + truth[2]) / 2) / 2
    assert metric.aggregate(per_stamp, "ess_truth") == pytest.approx(expected)


def test_agreement_columns_equals_column_by_column() -> None:
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 4, 60)
    predictions = rng.integers(0, 4, (60, 9))
    expected = [agreement(reference, predictions[:, k]) for k in range(9)]
    np.testing.assert_allclose(agreement_columns(reference, predictions), expected)


def test_output_completeness_at_zero_epsilon_of_a_map_without_zeros_is_one(
    unit_ns: StampSet,
) -> None:
    rng = np.random.default_rng(1)
    dense = [rng.normal(size=(w.shape[1], w.shape[0])) + 10.0 for w in unit_ns.windows]
    metric = OutputCompleteness(epsilons=(0.0, 0.5))
    result = metric(unit_ns.with_maps(dense, "dense"))
    summary = metric.summarise(result.per_stamp, n_bootstrap=20)
    assert summary["oc_0"]["value"] == 1.0 and metric.score("oc_0").higher_is_better


def test_output_completeness_thresholds_use_the_given_scale(unit_ns: StampSet) -> None:
    """The paper's thresholds are fractions of a scale fixed per data set and method."""
    metric = OutputCompleteness(epsilons=(0.25,))
    own = metric(unit_ns).details["scale"]
    assert own == max(float(np.abs(m).max()) for m in unit_ns.maps)
    fixed = metric(StampSet(**{**vars(unit_ns), "scale": 2.0 * own}))
    assert fixed.details["thresholds"] == [0.5 * own]


def test_permutation_keeps_kept_segments_and_channel_counts() -> None:
    rng = np.random.default_rng(3)
    window = (rng.random((200, 3)) < 0.4).astype(np.int8)
    explanation = np.zeros((3, 200))
    explanation[1, 50:70] = 1.0
    out = permute_outside(window, segment_map(explanation), rng)
    np.testing.assert_array_equal(out[50:70, 1], window[50:70, 1])
    np.testing.assert_array_equal(out.sum(axis=0), window.sum(axis=0))
    assert not np.array_equal(out[:, 0], window[:, 0])  # no kept segment: permuted entirely


def test_duration_perturbation_moves_only_run_edges_by_at_most_ten_percent() -> None:
    window = np.zeros((400, 2), dtype=np.int8)
    window[100:200, 0] = 1  # 100 steps: at most 10 steps change
    window[300:320, 1] = 1  # 20 steps: at most 2
    changed_any = False
    for seed in range(30):
        out = perturb_durations(window, np.random.default_rng(seed))
        runs0, runs1 = activity_runs(out[:, 0]), activity_runs(out[:, 1])
        assert len(runs0) == 1 and len(runs1) == 1
        (a0, b0), (a1, b1) = runs0[0], runs1[0]
        assert abs(a0 - 100) + abs(b0 - 200) <= 10 and (a0 == 100 or b0 == 200)
        assert abs(a1 - 300) + abs(b1 - 320) <= 2
        changed_any |= not np.array_equal(out, window)
    assert changed_any


def test_continuity_is_zero_for_an_explanation_that_ignores_the_input(unit_ns: StampSet) -> None:
    windows = [np.ones((50, 2), dtype=np.int8)] * 3
    constant = np.ones((2, 50))

    def explain(batch: np.ndarray, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return np.broadcast_to(constant, (len(batch), 2, 50)).copy(), np.zeros(len(batch))

    data = StampSet(**{**vars(unit_ns.subset([0, 1, 2])), "windows": windows, "explain": explain})
    data.maps = [constant] * 3
    metric = Continuity(perturbations=3)
    result = metric(data)
    assert (result.per_stamp["maxsens_mean"] == 0).all()
    assert metric.summarise(result.per_stamp, n_bootstrap=10)["maxsens_max"]["value"] == 0.0


def test_continuity_of_tsa_is_deterministic_and_positive(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(8))
    first = Continuity(perturbations=2)(data).per_stamp["maxsens_mean"]
    second = Continuity(perturbations=2)(data).per_stamp["maxsens_mean"]
    np.testing.assert_array_equal(first, second)
    assert first.max() > 0


def test_compactness_and_the_controls_keep_the_support() -> None:
    maps = [np.array([[1.0, -2.0, 0.0]]), np.array([[0.0, 0.0, 0.5]])]
    metric = Compactness()
    data = StampSet(
        None, np.array([1, 2]), [], maps, *(np.zeros(2, np.int64),) * 3, np.zeros((2, 1))
    )
    result = metric(data)
    np.testing.assert_allclose(result.per_stamp["sum_abs"], [3.0, 0.5])
    assert metric.summarise(result.per_stamp, n_bootstrap=10)["sum_abs"]["value"] == 1.75
    low, high = method_range(maps)
    assert (low, high) == (-2.0, 1.0)
    control = uniform_map(maps[0], low, high, np.random.default_rng(0))
    assert control[0, 2] == 0 and control[0, 0] != 0 and control[0, 1] != 0
    assert low <= control.min() and control.max() < high
    shuffled = permuted_map(np.array([[0.0, 1.0, 2.0, 0.0, 3.0]]), np.random.default_rng(1))
    assert sorted(shuffled[0, [1, 2, 4]].tolist()) == [1.0, 2.0, 3.0]
    assert shuffled[0, 0] == 0 and shuffled[0, 3] == 0
