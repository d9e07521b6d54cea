"""Balanced accuracy and its block-bootstrap confidence interval."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.accuracy import accuracy_report, balanced_accuracy
from spikeattr.snn.checkpoint import load_model


def literal_balanced_accuracy(y_true: list[int], y_pred: list[int]) -> float:
    """Mean over the classes present in ``y_true`` of (correct in class) / (steps in class)."""
    recalls = []
    for cls in sorted(set(y_true)):
        steps = [i for i, y in enumerate(y_true) if y == cls]
        correct = sum(1 for i in steps if y_pred[i] == cls)
        recalls.append(correct / len(steps))
    return sum(recalls) / len(recalls)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=200))
def test_equals_literal_computation(pairs: list[tuple[int, int]]) -> None:
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    expected = literal_balanced_accuracy(y_true, y_pred)
    assert balanced_accuracy(np.array(y_true), np.array(y_pred)) == pytest.approx(
        expected, abs=1e-12
    )
    report = accuracy_report(np.array(y_true), np.array(y_pred), block_length=7, n_bootstrap=20)
    assert report.balanced_accuracy == pytest.approx(expected, abs=1e-12)
    assert report.accuracy == pytest.approx(np.mean(np.array(y_true) == np.array(y_pred)))


def test_hand_computed_value() -> None:
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 2, 2, 0, 0])
    # recalls 3/4, 1/2, 2/4
    assert balanced_accuracy(y_true, y_pred) == pytest.approx((0.75 + 0.5 + 0.5) / 3)


def test_classes_absent_from_truth_are_ignored() -> None:
    y_true = np.array([1, 1, 3, 3])
    y_pred = np.array([1, 5, 3, 0])  # class 5 predicted but never true; 0, 2, 4 never true
    assert balanced_accuracy(y_true, y_pred) == pytest.approx(0.5)
    report = accuracy_report(y_true, y_pred, class_names=[f"c{i}" for i in range(6)])
    assert report.per_class_recall == {"c1": 0.5, "c3": 0.5}
    assert report.balanced_accuracy == pytest.approx(0.5)


def test_perfect_and_useless_predictions() -> None:
    y = np.repeat(np.arange(4), 250)
    assert balanced_accuracy(y, y) == 1.0
    assert balanced_accuracy(y, np.zeros_like(y)) == pytest.approx(0.25)
    report = accuracy_report(y, y, block_length=50, n_bootstrap=200)
    assert report.ci95 == (1.0, 1.0)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        balanced_accuracy(np.zeros(3, dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="equal length"):
        balanced_accuracy(np.zeros((2, 2), dtype=int), np.zeros((2, 2), dtype=int))
    with pytest.raises(SpikeAttrError, match="none is labelled"):
        balanced_accuracy(np.zeros(0, dtype=int), np.zeros(0, dtype=int))
    with pytest.raises(SpikeAttrError, match="none is labelled"):
        accuracy_report(np.full(5, -1), np.zeros(5, dtype=int))


def test_unlabelled_steps_are_left_out() -> None:
    y_true = np.array([-1, 0, 0, 1, -1, 1])
    y_pred = np.array([3, 0, 1, 1, 3, 1])
    assert balanced_accuracy(y_true, y_pred) == pytest.approx((0.5 + 1.0) / 2)
    report = accuracy_report(y_true, y_pred, block_length=2, n_bootstrap=50)
    assert report.balanced_accuracy == pytest.approx(0.75)
    assert report.n_steps == 4
    assert report.accuracy == pytest.approx(0.75)


def _realistic(seed: int = 0, n_steps: int = 60_000) -> tuple[np.ndarray, np.ndarray]:
    """Labels in long runs (like the data sets) and predictions wrong in bursts."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 600, size=n_steps // 50)
    y_true = np.repeat(rng.integers(0, 4, size=lengths.size), lengths)[:n_steps]
    flips = np.repeat(rng.random(lengths.size) < 0.2, lengths)[:n_steps]
    y_pred = np.where(flips, (y_true + 1) % 4, y_true)
    return y_true, y_pred


def test_ci_contains_point_estimate_and_is_seeded() -> None:
    y_true, y_pred = _realistic()
    report = accuracy_report(y_true, y_pred, class_names=["a", "b", "c", "d"], seed=5)
    low, high = report.ci95
    assert low < report.balanced_accuracy < high
    assert 0.0 < high - low < 0.2
    assert report.n_steps == y_true.size
    assert report.block_length == 1000 and report.n_bootstrap == 1000
    assert set(report.per_class_recall) == {"a", "b", "c", "d"}
    again = accuracy_report(y_true, y_pred, class_names=["a", "b", "c", "d"], seed=5)
    assert again == report
    other = accuracy_report(y_true, y_pred, class_names=["a", "b", "c", "d"], seed=6)
    assert other.ci95 != report.ci95
    assert other.balanced_accuracy == report.balanced_accuracy


def test_ci_of_a_published_model(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_2L")
    predicted = model.predict_series(synthetic_test.spikes, keep_probs=False).predicted
    report = accuracy_report(synthetic_test.labels, predicted, synthetic_test.class_names)
    low, high = report.ci95
    assert low <= report.balanced_accuracy <= high
    assert high - low < 0.05
    assert report.balanced_accuracy == pytest.approx(0.96174, abs=1e-4)


def test_to_dict_is_json_ready() -> None:
    y_true, y_pred = _realistic(n_steps=5000)
    report = accuracy_report(y_true, y_pred, block_length=100, n_bootstrap=50)
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["ci95"] == list(report.ci95)
    assert set(payload) == {
        "balanced_accuracy",
        "ci95",
        "accuracy",
        "n_steps",
        "per_class_recall",
        "block_length",
        "n_bootstrap",
    }
