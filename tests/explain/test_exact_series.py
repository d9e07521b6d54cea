"""Series mode of the exact LIF attribution: every step of one carried run.

The oracle is window mode from the series' first step: explaining step ``tau`` of a run that
started at step 0 from rest is the exact attribution of the window ``[0, tau + 1)``, whose last
``K`` columns series mode must give (the steps before them are the carried state's share).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data import generate_synthetic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain.exact_attribution import ExactLIFAttribution
from spikeattr.explain.exact_series import exact_support
from spikeattr.explain.series import SeriesExplanation, explain_series, iter_series
from spikeattr.snn import LIFNetwork, load_model


def _window_maps(model: object, spikes: np.ndarray, tau: int, rule: str, reference: object):
    explainer = ExactLIFAttribution(model, rule=rule, reference=reference)
    values = explainer.attribute(torch.from_numpy(spikes[None, : tau + 1].astype(np.float32)))
    return values.values[0].numpy()


def _random_model() -> LIFNetwork:
    model = LIFNetwork([5, 8, 6, 3], dt=1e-3, tau_syn=5e-3, tau_mem=8e-3, seed=4)
    with torch.no_grad():
        for weight in model.weights:
            weight.mul_(2.5)
    return model


@pytest.mark.parametrize(("name", "rule"), [("synthetic", "lif_z"), ("random", "lif_ab")])
def test_every_step_is_the_tail_of_window_mode_from_the_start(
    synthetic_test: SpikeSeries, name: str, rule: str
) -> None:
    if name == "synthetic":
        model = load_model("published:synthetic_2L")
        spikes = synthetic_test.spikes[7800:8100]
    else:
        model = _random_model()
        spikes = (np.random.default_rng(3).random((260, 5)) < 0.3).astype(np.int8)
    rates = spikes.mean(axis=0, dtype=np.float64)
    support = 45
    chunks = list(iter_series(model, spikes, rule, support=support, chunk_size=64))
    attribution = np.concatenate([c["attribution"] for c in chunks])
    carried = np.concatenate([c["carried"] for c in chunks])
    assert attribution.dtype == np.float64 and attribution.shape[1:] == (
        model.layer_sizes[-1],
        spikes.shape[1],
        support,
    )
    hidden = model(torch.from_numpy(spikes[None].astype(np.float32))).layer_spikes
    assert all(int(s.sum()) > 0 for s in hidden)
    method_rule = {"lif_z": "z", "lif_ab": "alpha_beta"}[rule]
    for tau in (0, 10, 44, 45, 63, 64, 150, spikes.shape[0] - 1):
        direct = _window_maps(model, spikes, tau, method_rule, rates)
        padded = np.concatenate([np.zeros((*direct.shape[:-1], support)), direct], -1)
        expected = padded[..., -support:]
        scale = np.abs(direct).max()
        np.testing.assert_allclose(attribution[tau], expected, rtol=1e-8, atol=1e-10 * scale)
        # the carried state's share: what the plain rule gives the steps before the window
        plain = _window_maps(model, spikes, tau, method_rule, "none")
        before = plain[..., : max(0, tau + 1 - support)].sum(axis=(1, 2))
        np.testing.assert_allclose(carried[tau], before, rtol=1e-7, atol=1e-9 * scale)
    predicted = np.concatenate([c["predicted"] for c in chunks])
    np.testing.assert_array_equal(predicted, model.predict_series(spikes).predicted)


def test_written_series_resume_and_read_back(synthetic_test: SpikeSeries, tmp_path: Path) -> None:
    model = load_model("published:synthetic_1L")
    spikes = synthetic_test.spikes[:600]
    info = explain_series(model, spikes, tmp_path / "run", variant="lif_z", chunk_size=256)
    assert info.complete and info.n_chunks == 3
    assert info.support == min(600, exact_support(model, 1e-7))
    first = SeriesExplanation(tmp_path / "run")
    reference = {step: first.attribution(step) for step in (0, 255, 256, 599)}
    assert reference[599].dtype == np.float64
    # lose the last two chunks: a rerun writes them again, from the recomputed run
    for name in ("chunk_000001.npz", "chunk_000002.npz"):
        (tmp_path / "run" / "chunks" / name).unlink()
    explain_series(model, spikes, tmp_path / "run", variant="lif_z", chunk_size=256)
    again = SeriesExplanation(tmp_path / "run")
    for step, values in reference.items():
        np.testing.assert_array_equal(again.attribution(step), values)
    shutil.rmtree(tmp_path / "run")


def test_a_support_longer_than_the_series_is_refused() -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match="support 50 is too long: the series has 20 steps"):
        list(iter_series(model, np.zeros((20, 3), dtype=np.int8), "lif_z", support=50))


def test_the_command_explains_a_series_with_the_exact_method(tmp_path: Path) -> None:
    data = generate_synthetic(n_steps=600, n_train=300).save(tmp_path / "data.npz")
    result = CliRunner().invoke(
        app,
        [
            "explain-series",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--variant",
            "lif_ab",
            "--support",
            "30",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    reader = SeriesExplanation(tmp_path / "out")
    assert reader.info.variant == "lif_ab" and reader.attribution(299).shape == (4, 3, 30)
