"""The exact online explainer: step by step, equal to series mode and to window mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain.exact_attribution import ExactLIFAttribution
from spikeattr.explain.exact_online import ExactOnlineExplainer
from spikeattr.explain.series import iter_series
from spikeattr.snn import load_model


@pytest.mark.parametrize("method", ["lif_z", "lif_ab"])
def test_steps_and_chunks_equal_series_mode(synthetic_test: SpikeSeries, method: str) -> None:
    model = load_model("published:synthetic_2L")
    spikes = synthetic_test.spikes[7900:8150]
    rates = spikes.mean(axis=0, dtype=np.float64)
    series = list(iter_series(model, spikes, method, support=40, chunk_size=100))
    expected = np.concatenate([c["attribution"] for c in series])
    explainer = ExactOnlineExplainer(model, method, support=40, rates=rates)
    one_by_one = [explainer.step(row) for row in spikes[:60]]
    assert [s.step for s in one_by_one] == list(range(60))
    for index, result in enumerate(one_by_one):
        np.testing.assert_allclose(result.attribution, expected[index], rtol=1e-12, atol=1e-15)
    chunk = explainer.feed(spikes[60:], maps="all")
    assert chunk.start == 60 and chunk.attribution is not None
    np.testing.assert_allclose(chunk.attribution, expected[60:], rtol=1e-12, atol=1e-15)
    predicted = np.concatenate([c["predicted"] for c in series])
    np.testing.assert_array_equal(chunk.predicted, predicted[60:])
    assert [s.predicted for s in one_by_one] == predicted[:60].tolist()


def test_window_mode_from_the_start_and_what_moved(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_1L")
    spikes = synthetic_test.spikes[8000:8200]
    explainer = ExactOnlineExplainer(model, support=30)
    chunk = explainer.feed(spikes, maps="predicted")
    assert chunk.attribution is None and chunk.explanation is not None
    for tau in (0, 29, 30, 199):
        window = torch.from_numpy(spikes[None, : tau + 1].astype(np.float32))
        direct = ExactLIFAttribution(model, reference="none").attribute(window).values[0]
        direct = direct.numpy()[chunk.predicted[tau]]
        padded = np.concatenate([np.zeros((3, 30)), direct], axis=-1)[:, -30:]
        np.testing.assert_allclose(chunk.explanation[tau], padded, rtol=1e-9, atol=1e-14)
    assert chunk.changes[0] == 0 and chunk.moved is not None  # the first step is a change
    full = ExactOnlineExplainer(model, support=30).feed(spikes, maps="all")
    assert full.attribution is not None
    for index, j in enumerate(chunk.changes):
        best = chunk.predicted[j]
        now = full.attribution[j, best]
        earlier = full.attribution[j - 1, best] if j else np.zeros_like(now)
        expected = now.copy()
        expected[:, :-1] -= earlier[:, 1:]
        np.testing.assert_allclose(chunk.moved[index], expected, rtol=1e-12, atol=1e-15)
    nothing = ExactOnlineExplainer(model, support=30).feed(spikes, maps="none")
    assert nothing.explanation is None and nothing.moved is None
    np.testing.assert_array_equal(nothing.predicted, chunk.predicted)


def test_reset_starts_a_new_stream_and_bad_input_is_refused(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_1L")
    spikes = synthetic_test.spikes[:50]
    explainer = ExactOnlineExplainer(model, support=20)
    first = explainer.feed(spikes)
    explainer.reset()
    again = explainer.feed(spikes)
    assert again.start == 0 and first.attribution is not None and again.attribution is not None
    np.testing.assert_array_equal(first.attribution, again.attribution)
    with pytest.raises(ExplanationError, match=r"shape \[n_in\] with n_in = 3; got \(4,\)"):
        explainer.step(np.array([1, 0, 1, 0]))
    with pytest.raises(ExplanationError, match="0 or 1 only"):
        explainer.step(np.array([1, 2, 0]))
    with pytest.raises(ExplanationError, match="unknown method 'ig'"):
        ExactOnlineExplainer(model, "ig")
    with pytest.raises(ExplanationError, match="needs a spikeattr LIFNetwork"):
        ExactOnlineExplainer(torch.nn.Linear(3, 4))
    with pytest.raises(ExplanationError, match=r"support 1000000000 needs .* GiB .* at most"):
        ExactOnlineExplainer(model, support=10**9)  # refused before anything is allocated
    with pytest.raises(ExplanationError, match="support must be at least 1 step; got 0"):
        ExactOnlineExplainer(model, support=0)
    with pytest.raises(ExplanationError, match="tolerance must lie in"):
        ExactOnlineExplainer(model, tolerance=1.5)
