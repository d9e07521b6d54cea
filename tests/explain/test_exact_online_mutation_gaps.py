"""Tests for the survivors of the seed-33 mutation sample of ``explain/exact_online.py`` (see
docs/development.md, "Mutation testing")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain.exact_online import ExactOnlineExplainer
from spikeattr.snn import load_model


def test_sizes_are_read_from_the_first_and_last_layers() -> None:
    """Kills ``weights[-1]`` -> ``weights[1]`` in ``n_classes`` (a 3-layer model)."""
    explainer = ExactOnlineExplainer(load_model("published:synthetic_3L"), support=5)
    assert (explainer.n_inputs, explainer.n_classes) == (3, 4)


def test_changes_and_what_moved_across_chunks(synthetic_test: SpikeSeries) -> None:
    """Kills ``changed=len(...) > 0`` -> ``>= 0``, ``self._previous = attribution[-1]`` ->
    ``[0]`` and ``out[:, :-1] -= earlier`` -> ``+=``: around step 6154 of the synthetic test
    split the 1L model's prediction changes twice; the stream is cut at the first change, so the
    second chunk's first row reads the previous chunk's last map."""
    model = load_model("published:synthetic_1L")
    spikes = synthetic_test.spikes[6124:6214]
    whole = ExactOnlineExplainer(model, support=25).feed(spikes)
    assert whole.attribution is not None
    changes = whole.changes.tolist()
    assert len(changes) >= 3 and changes[0] == 0
    cut = changes[1]
    split = ExactOnlineExplainer(model, support=25)
    first = split.feed(spikes[:cut])
    steps = [split.step(row) for row in spikes[cut : cut + 3]]
    assert [s.changed for s in steps] == [True, False, False]
    explainer = ExactOnlineExplainer(model, support=25)
    explainer.feed(spikes[:cut])
    second = explainer.feed(spikes[cut:], maps="predicted")
    assert first.moved is not None and second.moved is not None
    assert second.changes[0] == 0  # the cut is a change
    best = int(whole.predicted[cut])
    expected = whole.attribution[cut, best].copy()
    expected[:, :-1] -= whole.attribution[cut - 1, best][:, 1:]
    np.testing.assert_allclose(second.moved[0], expected, rtol=1e-12, atol=1e-15)
    assert np.abs(whole.attribution[cut - 1, best][:, 1:]).max() > 0  # the subtraction matters


def test_tensors_that_require_grad_are_read() -> None:
    """Kills ``np.asarray(spikes.detach().cpu() if ... else spikes)`` -> ``np.asarray(spikes)``:
    a tensor that requires grad cannot be turned into an array without ``detach``."""
    explainer = ExactOnlineExplainer(load_model("published:synthetic_1L"), support=5)
    rows = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], requires_grad=True)
    chunk = explainer.feed(rows)
    assert chunk.predicted.shape == (2,)


def test_a_chunk_of_the_wrong_width_names_its_layout() -> None:
    """Kills the message's ``"[n_in]" if ... else "[t, n_in]"`` -> ``"[n_in]"``."""
    explainer = ExactOnlineExplainer(load_model("published:synthetic_1L"), support=5)
    with pytest.raises(ExplanationError, match=r"shape \[t, n_in\] with n_in = 3; got \(2, 4\)"):
        explainer.feed(np.zeros((2, 4), dtype=np.int8))
