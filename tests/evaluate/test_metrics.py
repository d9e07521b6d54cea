"""The four metrics and the random control, on real published models and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.compactness import Compactness
from spikeattr.evaluate.completeness import OutputCompleteness
from spikeattr.evaluate.continuity import Continuity
from spikeattr.evaluate.correctness import Correctness, CorrectnessScores
from spikeattr.evaluate.perturb import (
    activity_runs,
    cumulative_flips,
    permute_outside,
    perturb_durations,
)
from spikeattr.evaluate.random_control import method_range, random_like
from spikeattr.evaluate.segments import segment_map
from spikeattr.evaluate.stats import agreement, agreement_columns
from spikeattr.explain.stamps import explain_stamps
from spikeattr.snn import load_model


@pytest.fixture(scope="module")
def explained_1l(synthetic_test: SpikeSeries) -> dict[str, object]:
    model = load_model("published:synthetic_1L")
    rng = np.random.default_rng(5)
    stamps = np.sort(rng.choice(np.arange(2000, synthetic_test.n_steps), 40, replace=False))
    result = explain_stamps(model, synthetic_test.spikes, stamps, "ns")
    windows = [synthetic_test.spikes[t - 1000 : t] for t in stamps]
    maps = [result.unpadded(i) for i in range(len(stamps))]
    labels = synthetic_test.labels[stamps - 1].astype(np.int64)
    return {
        "model": model,
        "windows": windows,
        "maps": maps,
        "original": result.predicted,
        "labels": labels,
    }


def test_flipping_every_segment_changes_the_input_exactly_on_the_segments(
    explained_1l: dict[str, object],
) -> None:
    windows = explained_1l["windows"]
    maps = explained_1l["maps"]
    assert isinstance(windows, list) and isinstance(maps, list)
    for window, explanation in zip(windows[:10], maps[:10], strict=True):
        segments = segment_map(explanation)
        assert segments, "TSA-NS maps of the 1L model have segments"
        flipped = cumulative_flips(window, segments)
        changed = flipped[-1] != window  # [T, n_in]
        np.testing.assert_array_equal(changed.T, explanation != 0)
        # each step k flips exactly the k-th segment
        for k, segment in enumerate(segments):
            previous = window if k == 0 else flipped[k - 1]
            diff = np.argwhere(flipped[k] != previous)
            assert diff[:, 1].tolist() == [segment.channel] * segment.length
            assert diff[:, 0].tolist() == list(range(segment.start, segment.stop))


def test_correctness_curve_starts_at_one_and_ess_is_in_unit_interval(
    explained_1l: dict[str, object],
) -> None:
    scores = Correctness()(
        explained_1l["model"],
        explained_1l["windows"],
        explained_1l["maps"],
        explained_1l["original"],
        explained_1l["labels"],
    )
    curve = scores.curve("original")
    assert curve[0] == 1.0
    assert curve.shape == (scores.n_segments.max() + 1,)
    for against in ("original", "truth"):
        assert 0.0 <= scores.ess(against) <= 1.0
    # a stamp with fewer segments keeps its last prediction
    row = int(np.argmin(scores.n_segments))
    k = int(scores.n_segments[row])
    assert (scores.predictions[row, k:] == scores.predictions[row, k]).all()


def test_random_control_is_no_better_than_tsa_on_the_synthetic_1l_model(
    explained_1l: dict[str, object],
) -> None:
    # Finding: TSA-NS's ESS is far lower (better) than that of random maps on the same support.
    maps = explained_1l["maps"]
    assert isinstance(maps, list)
    low, high = method_range(maps)
    rng = np.random.default_rng(0)
    random_maps = [random_like(m, low, high, rng) for m in maps]
    args = (explained_1l["model"], explained_1l["windows"])
    tsa = Correctness()(*args, maps, explained_1l["original"], explained_1l["labels"])
    control = Correctness()(*args, random_maps, explained_1l["original"], explained_1l["labels"])
    assert tsa.ess() < control.ess()


def test_ess_of_hand_made_predictions() -> None:
    predictions = np.array([[0, 1, 1], [1, 1, 1], [2, 2, 0]])
    scores = CorrectnessScores(
        predictions, np.array([1, 0, 2]), np.array([0, 1, 2]), np.array([0, 1, 1])
    )
    np.testing.assert_allclose(scores.curve("original"), [1.0, 2 / 3, 1 / 3])
    # trapezoid over k = 0..2, divided by 2
    assert scores.ess("original") == pytest.approx(((1 + 2 / 3) / 2 + (2 / 3 + 1 / 3) / 2) / 2)
    np.testing.assert_allclose(
        scores.curve("truth"),
        [
            agreement([0, 1, 1], [0, 1, 2]),
            agreement([0, 1, 1], [1, 1, 2]),
            agreement([0, 1, 1], [1, 1, 0]),
        ],
    )


def test_agreement_columns_equals_column_by_column() -> None:
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 4, 60)
    predictions = rng.integers(0, 4, (60, 9))
    expected = [agreement(reference, predictions[:, k]) for k in range(9)]
    np.testing.assert_allclose(agreement_columns(reference, predictions), expected)


def test_output_completeness_at_zero_epsilon_of_a_map_without_zeros_is_one(
    explained_1l: dict[str, object],
) -> None:
    windows = explained_1l["windows"]
    assert isinstance(windows, list)
    rng = np.random.default_rng(1)
    dense = [rng.normal(size=(w.shape[1], w.shape[0])) + 10.0 for w in windows]  # no zero
    scores = OutputCompleteness(epsilons=(0.0, 0.5))(
        explained_1l["model"], windows, dense, explained_1l["original"]
    )
    assert scores.scores()[0] == 1.0
    summary = scores.summary(n_bootstrap=20)
    assert summary["per_epsilon"][0]["value"] == 1.0 and summary["higher_is_better"]


def test_permutation_keeps_kept_segments_and_channel_counts() -> None:
    rng = np.random.default_rng(3)
    window = (rng.random((200, 3)) < 0.4).astype(np.int8)
    explanation = np.zeros((3, 200))
    explanation[1, 50:70] = 1.0
    kept = segment_map(explanation)
    out = permute_outside(window, kept, rng)
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


def test_continuity_is_zero_for_an_explanation_that_ignores_the_input() -> None:
    windows = [np.ones((50, 2), dtype=np.int8)] * 3
    constant = np.ones((2, 50))

    def explain(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.broadcast_to(constant, (len(batch), 2, 50)).copy(), np.zeros(len(batch))

    scores = Continuity(n_perturbations=3)(explain, windows, [constant] * 3)
    assert scores.sensitivity.shape == (3, 3)
    assert (scores.sensitivity == 0).all()
    assert scores.summary(n_bootstrap=10)["max_sensitivity_max"] == 0.0


def test_continuity_of_tsa_is_deterministic_and_positive(
    explained_1l: dict[str, object],
) -> None:
    from spikeattr.explain import TSA

    model = explained_1l["model"]
    explainer = TSA(model, "ns")

    def explain(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = explainer.attribute(torch.from_numpy(batch).float())
        return result.explanation.numpy(), result.predicted.numpy()

    windows, maps = explained_1l["windows"], explained_1l["maps"]
    assert isinstance(windows, list) and isinstance(maps, list)
    first = Continuity(n_perturbations=2, seed=4)(explain, windows[:8], maps[:8])
    second = Continuity(n_perturbations=2, seed=4)(explain, windows[:8], maps[:8])
    np.testing.assert_array_equal(first.sensitivity, second.sensitivity)
    assert first.sensitivity.max() > 0


def test_compactness_and_random_control_support() -> None:
    maps = [np.array([[1.0, -2.0, 0.0]]), np.array([[0.0, 0.0, 0.5]])]
    scores = Compactness()(maps)
    np.testing.assert_allclose(scores.total, [3.0, 0.5])
    assert scores.summary(n_bootstrap=10)["sum_abs"]["mean"] == pytest.approx(1.75)
    low, high = method_range(maps)
    assert (low, high) == (-2.0, 1.0)
    control = random_like(maps[0], low, high, np.random.default_rng(0))
    assert control[0, 2] == 0 and control[0, 0] != 0 and control[0, 1] != 0
    assert low <= control.min() and control.max() < high
