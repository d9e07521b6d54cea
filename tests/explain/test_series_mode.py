"""Series mode: every step of a long series from one forward pass with carried state."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA
from spikeattr.explain.series import (
    SeriesExplanation,
    explain_series,
    iter_series,
    series_support,
)
from spikeattr.snn import load_model

from .literal import tsa_literal


def _series(synthetic_test: SpikeSeries, n_steps: int) -> np.ndarray:
    return synthetic_test.spikes[:n_steps]


@pytest.mark.parametrize("variant", ["s", "ns", "sam"])
def test_every_step_equals_the_window_from_the_series_start(
    synthetic_test: SpikeSeries, tmp_path: Path, variant: str
) -> None:
    # Explaining step tau of a run that started at step 0 from zero state is exactly window
    # mode with the window [0, tau + 1): the carried state is the window's own state.
    model = load_model("published:synthetic_2L")
    spikes = _series(synthetic_test, 3000)
    info = explain_series(
        model, spikes, tmp_path / "run", variant=variant, support=40, chunk_size=700
    )
    assert info.complete and info.n_chunks == 5
    reader = SeriesExplanation(tmp_path / "run")
    for tau in (0, 3, 39, 40, 699, 700, 1234, 2999):
        window = torch.from_numpy(spikes[: tau + 1]).unsqueeze(0)
        direct = TSA(model, variant).attribute(window).values[0].numpy()
        padded = np.concatenate([np.zeros((4, 3, 40)), direct], axis=-1)[..., -40:]
        scale = max(float(np.abs(direct).max()), 1e-30)
        np.testing.assert_allclose(reader.attribution(tau), padded, rtol=1e-5, atol=1e-6 * scale)
    predicted = reader.predicted
    full = model.predict_series(spikes)
    np.testing.assert_array_equal(predicted, full.predicted)


def test_series_mode_against_the_literal_formula(
    synthetic_test: SpikeSeries, tmp_path: Path
) -> None:
    model = load_model("published:synthetic_1L")
    spikes = _series(synthetic_test, 120)
    explain_series(model, spikes, tmp_path, variant="ns", support=30, chunk_size=50)
    reader = SeriesExplanation(tmp_path)
    weights = [w.detach().double().numpy() for w in model.weights]
    for tau in (10, 64, 119):
        chunk_probs = next(c for c in reader.chunks() if c["start"] <= tau < c["start"] + 50)
        probs = chunk_probs["probs"][tau - int(chunk_probs["start"])].astype(np.float64)
        slow = tsa_literal([spikes[: tau + 1].astype(np.float64)], weights, model.beta, probs, "ns")
        expected = np.concatenate([np.zeros((4, 3, 30)), slow], axis=-1)[..., -30:]
        np.testing.assert_allclose(reader.attribution(tau), expected, rtol=1e-5, atol=1e-10)


def test_series_mode_is_accurate_where_float32_products_cancel(
    synthetic_test: SpikeSeries, tmp_path: Path
) -> None:
    # Step 11221 of the synthetic test split under the 3L model and TSA-S: a map whose largest
    # value (2.6e-6) comes from terms that cancel. With B(t) accumulated in float32 the map was
    # off by 1.34e-6 of its largest value; accumulated in float64 and rounded once it is exact
    # to float32 rounding.
    model = load_model("published:synthetic_3L")
    tau = 11221
    spikes = _series(synthetic_test, tau + 1)
    explain_series(model, spikes, tmp_path, variant="s", support=5)
    reader = SeriesExplanation(tmp_path)
    with torch.no_grad():
        out = model(torch.from_numpy(spikes).unsqueeze(0))
    inputs = [spikes[-5:].astype(np.float64)] + [
        s[0, -5:].double().numpy() for s in out.layer_spikes
    ]
    weights = [w.detach().double().numpy() for w in model.weights]
    probs = torch.softmax(out.membrane[0, -1].double(), -1).numpy()
    expected = tsa_literal(inputs, weights, model.beta, probs, "s")
    error = np.abs(reader.attribution(tau) - expected).max() / np.abs(expected).max()
    assert error < 5e-7


def test_interrupted_run_resumes_to_the_same_result(
    synthetic_test: SpikeSeries, tmp_path: Path
) -> None:
    model = load_model("published:synthetic_3L")
    spikes = _series(synthetic_test, 5000)
    explain_series(model, spikes, tmp_path / "full", variant="s", chunk_size=600)

    calls = {"n": 0}

    def interrupt(done: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        explain_series(
            model, spikes, tmp_path / "cut", variant="s", chunk_size=600, progress=interrupt
        )
    status = json.loads((tmp_path / "cut" / "series.json").read_text())
    assert status["completed_chunks"] == 3
    with pytest.raises(ExplanationError, match="only 3 of 9 chunks"):
        SeriesExplanation(tmp_path / "cut")
    resumed_from: list[int] = []
    explain_series(
        model, spikes, tmp_path / "cut", variant="s", chunk_size=600, progress=resumed_from.append
    )
    assert resumed_from[0] == 2400  # the fourth chunk is the first one computed again
    full, cut = SeriesExplanation(tmp_path / "full"), SeriesExplanation(tmp_path / "cut")
    for a, b in zip(full.chunks(), cut.chunks(), strict=True):
        for key in ("predicted", "probs", "attribution"):
            np.testing.assert_array_equal(a[key], b[key])


def test_iter_series_yields_the_chunks_explain_series_writes(
    synthetic_test: SpikeSeries, tmp_path: Path
) -> None:
    model = load_model("published:synthetic_2L")
    spikes = _series(synthetic_test, 2500)
    explain_series(model, spikes, tmp_path, variant="ns", support=12, chunk_size=600)
    written = list(SeriesExplanation(tmp_path).chunks())
    in_memory = list(iter_series(model, spikes, variant="ns", support=12, chunk_size=600))
    assert len(in_memory) == len(written) == 5
    for a, b in zip(written, in_memory, strict=True):
        assert set(b) == {"start", "predicted", "probs", "attribution"}
        for key in b:
            np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ExplanationError, match="support 13 is too long"):
        next(iter_series(model, spikes[:12], support=13))


def test_resume_with_other_config_is_refused(synthetic_test: SpikeSeries, tmp_path: Path) -> None:
    model = load_model("published:synthetic_1L")
    spikes = _series(synthetic_test, 500)
    explain_series(model, spikes, tmp_path, variant="s", chunk_size=100)
    with pytest.raises(ExplanationError, match="different configuration"):
        explain_series(model, spikes, tmp_path, variant="ns", chunk_size=100)
    explain_series(model, spikes, tmp_path, variant="ns", chunk_size=100, resume=False)
    assert SeriesExplanation(tmp_path).info.variant == "ns"


def test_support_from_tolerance() -> None:
    model = load_model("published:synthetic_3L")
    assert series_support(model, 1e-7) == 5  # e^(-3 k) >= 1e-7 for k <= 5.37
    assert series_support(load_model("published:adl_1L"), 1e-7) == 161  # e^(-0.1 k)
    with pytest.raises(ExplanationError, match="tolerance"):
        series_support(model, 0.0)


def test_bad_input_is_refused(tmp_path: Path) -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match=r"\[T, n_in=3\]"):
        explain_series(model, np.ones((10, 4), dtype=np.int8), tmp_path)
    with pytest.raises(ExplanationError, match="binary"):
        explain_series(model, np.full((10, 3), 3, dtype=np.int8), tmp_path)
    with pytest.raises(ExplanationError, match="unknown variant"):
        explain_series(model, np.ones((10, 3), dtype=np.int8), tmp_path, variant="q")
    with pytest.raises(ExplanationError, match=r"no series\.json"):
        SeriesExplanation(tmp_path / "nothing")
