"""The model-randomisation check's shape correlation: a slow, literal implementation, the
properties that make it fit for spiking networks, and its separation of a map that ignores the
weights from maps that follow them, on a published model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.metric import StampSet
from spikeattr.evaluate.randomisation import (
    ModelRandomisation,
    shape_correlation,
    step_normalised,
)
from spikeattr.viz.report_content import MISSING, randomisation_verdict

from .conftest import stamp_set


def _ranks(values: list[float]) -> list[float]:
    """Ranks 1..n, ties sharing their mean rank (written out)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _literal(trained: np.ndarray, randomised: np.ndarray) -> float:
    """Every step divided by its largest |a|, then Spearman (Pearson of the ranks) over the
    cells either map leaves non-zero; 1 / 0 when the trained / randomised map is constant."""
    steps = trained.shape[-1]
    first = trained.reshape(-1, steps)
    second = randomised.reshape(-1, steps)
    a: list[float] = []
    b: list[float] = []
    for t in range(steps):
        top_a = max(abs(float(v)) for v in first[:, t])
        top_b = max(abs(float(v)) for v in second[:, t])
        for i in range(first.shape[0]):
            u = float(first[i, t]) / top_a if top_a > 0 else 0.0
            v = float(second[i, t]) / top_b if top_b > 0 else 0.0
            if u != 0 or v != 0:
                a.append(u)
                b.append(v)
    if len(a) < 2 or len(set(a)) == 1:
        return 1.0
    if len(set(b)) == 1:
        return 0.0
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var_a = sum((x - ma) ** 2 for x in ra)
    var_b = sum((y - mb) ** 2 for y in rb)
    return cov / math.sqrt(var_a * var_b)


@pytest.mark.parametrize("shape", [(3, 40), (2, 3, 25), (1, 7)])
def test_shape_correlation_matches_the_literal_definition(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    for _ in range(20):
        trained = rng.normal(size=shape) * (rng.random(shape) < 0.6)
        randomised = rng.normal(size=shape) * (rng.random(shape) < 0.6)
        trained[..., ::5] = np.round(trained[..., ::5])  # ties, and whole zero steps
        randomised[..., 3] = 0.0
        expected = _literal(trained, randomised)
        assert shape_correlation(trained, randomised) == pytest.approx(expected, abs=1e-12)


def test_the_kernel_is_taken_out_and_the_sign_kept() -> None:
    """Any positive factor per step (a decay over time, on either map) leaves the correlation
    as it is; flipping the signs of the randomised map flips it."""
    rng = np.random.default_rng(1)
    trained = rng.normal(size=(4, 60))
    randomised = trained + 0.8 * rng.normal(size=(4, 60))
    base = shape_correlation(trained, randomised)
    assert 0.3 < base < 0.95
    decay = 0.37 ** np.arange(60)[::-1]
    other = np.exp(rng.normal(size=60))
    assert shape_correlation(trained * decay, randomised * other) == pytest.approx(base)
    assert shape_correlation(trained, -randomised) == pytest.approx(-base)
    # Adebayo's |a| correlation is set by the decay alone: about 1 for these two maps
    from spikeattr.evaluate.randomisation import rank_correlation

    assert rank_correlation(np.abs(trained * decay), np.abs(randomised * decay)) > 0.99


def test_a_map_that_cannot_be_ranked_fails() -> None:
    spikes = (np.random.default_rng(2).random((3, 50)) < 0.3).astype(np.float64)
    blind = spikes * 0.9 ** np.arange(50)[::-1]  # the input spikes times a function of time
    other_blind = spikes * np.linspace(1.0, 2.0, 50)
    assert step_normalised(blind) == pytest.approx(spikes)
    assert shape_correlation(blind, other_blind) == 1.0
    assert shape_correlation(np.zeros((3, 50)), blind) == 1.0  # an empty map
    changed = np.random.default_rng(3).normal(size=(3, 50))
    assert shape_correlation(changed, np.zeros((3, 50))) == 0.0  # only the random map is flat
    assert shape_correlation(changed, 2.0 * changed) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def published_stamps(synthetic_test: SpikeSeries) -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.sort(rng.choice(np.arange(2000, synthetic_test.n_steps), 6, replace=False))


@pytest.mark.parametrize(
    ("model", "method", "verdict"),
    [
        ("published:synthetic_1L", "sam", "FAILS"),
        ("published:synthetic_2L", "sam", "passes once 2 layers are random"),
        ("published:synthetic_1L", "ns", "passes"),
        ("published:synthetic_1L", "lif_z", "passes"),
        ("published:synthetic_2L", "lif_z", "passes"),
    ],
)
def test_the_check_separates_weight_blind_maps_on_published_models(
    synthetic_test: SpikeSeries,
    published_stamps: np.ndarray,
    model: str,
    method: str,
    verdict: str,
) -> None:
    """SAM (TSA-S with unit weights) reads no weight: shape correlation 1 on every stamp while
    only the output layer is random; on 2L it changes once the first layer is random too,
    because its map follows the hidden spikes. TSA-NS and the exact LIF attribution follow
    the output weights. Adebayo's |a| correlation keeps TSA-NS at 1."""
    data: StampSet = stamp_set(synthetic_test, model, method, published_stamps, window=300)
    metric = ModelRandomisation()
    result = metric(data)
    top = metric.aggregate(result.per_stamp, "shape_top")
    assert randomisation_verdict(result.curves["shape_by_level"]).startswith(verdict)
    if method == "sam":
        np.testing.assert_array_equal(result.per_stamp["shape_top"], 1.0)
        assert metric.aggregate(result.per_stamp, "rho_top") == 1.0
    else:
        assert top < 0.5
    if method == "ns":
        assert metric.aggregate(result.per_stamp, "rho_top") > 0.99


def test_the_verdict_reads_the_cascade() -> None:
    assert randomisation_verdict([0.2, 0.1]) == "passes"
    assert randomisation_verdict([0.7, 0.3, 0.1]) == "passes once 2 layers are random"
    assert randomisation_verdict([0.5, 0.5]).startswith("FAILS")
    assert "lowest 0.5" in randomisation_verdict([0.9, 0.5])
    assert randomisation_verdict([]) == MISSING
    assert randomisation_verdict([0.2, float("nan")]) == MISSING
