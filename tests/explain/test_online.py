"""The online explainer equals series mode (and the literal formula) step for step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.data.adl import encode_subject
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain.online import OnlineExplainer
from spikeattr.explain.online_kernels import ProductOperands
from spikeattr.explain.series import iter_series
from spikeattr.explain.tsa import layer_factors, propagate
from spikeattr.snn import load_model

from .literal import tsa_literal

MODELS = ("synthetic_1L", "synthetic_2L", "synthetic_3L", "adl_1L", "adl_2L", "adl_3L")


@pytest.fixture(scope="module")
def adl_test() -> np.ndarray:
    return encode_subject(None, "A", compat="reference").split("test").spikes


def _check_chunk(online: object, series: dict[str, np.ndarray]) -> None:
    """Maps to 1e-6 of each map's largest value, identical predictions, float-exact probs."""
    attribution = getattr(online, "attribution")  # noqa: B009 - typed as object on purpose
    expected = series["attribution"]
    steps = expected.shape[0]
    scale = np.abs(expected).reshape(steps, -1).max(axis=1)
    error = np.abs(attribution - expected).reshape(steps, -1).max(axis=1)
    worst = int(np.argmax(error / np.maximum(scale, 1e-30)))
    assert error[worst] <= 1e-6 * scale[worst], (int(series["start"]) + worst, error[worst])
    np.testing.assert_array_equal(getattr(online, "predicted"), series["predicted"])  # noqa: B009
    np.testing.assert_allclose(getattr(online, "probs"), series["probs"], rtol=1e-6, atol=1e-9)  # noqa: B009


def test_online_equals_series_mode_over_the_whole_test_split(synthetic_test: SpikeSeries) -> None:
    # the whole 270 000-step synthetic test split, TSA-NS, the published 3L model
    model = load_model("published:synthetic_3L")
    explainer = OnlineExplainer(model, variant="ns")
    spikes = synthetic_test.spikes
    steps = 0
    for series in iter_series(model, spikes, "ns", support=explainer.support, chunk_size=8192):
        start = int(series["start"])
        online = explainer.feed(spikes[start : start + series["predicted"].shape[0]])
        assert online.start == start
        _check_chunk(online, series)
        steps += len(online)
    assert steps == synthetic_test.n_steps == explainer.steps_seen == 270_000


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("variant", ["s", "ns", "sam"])
def test_every_model_and_variant_equals_series_mode(
    name: str, variant: str, synthetic_test: SpikeSeries, adl_test: np.ndarray
) -> None:
    model = load_model(f"published:{name}")
    spikes = (synthetic_test.spikes if name.startswith("synthetic") else adl_test)[:1500]
    explainer = OnlineExplainer(model, variant=variant)
    cuts = iter([1, 2, 40, 299, 300, 500])  # chunks of the stream: 1, 1, 38, 259, 1, 200 steps
    done = 0
    for series in iter_series(model, spikes, variant, support=explainer.support, chunk_size=500):
        stop = int(series["start"]) + series["predicted"].shape[0]
        pieces = []
        while done < stop:
            end = min(stop, next(cuts, stop))
            pieces.append(explainer.feed(spikes[done:end]))
            done = end
        merged = {
            key: np.concatenate([getattr(piece, key) for piece in pieces])
            for key in ("attribution", "predicted", "probs")
        }
        _check_chunk(type("Chunk", (), merged)(), series)


def test_step_by_step_equals_one_chunk_and_the_literal_formula(
    synthetic_test: SpikeSeries,
) -> None:
    model = load_model("published:synthetic_2L")
    spikes = synthetic_test.spikes[:200]
    chunk = OnlineExplainer(model, variant="ns", support=30).feed(spikes)
    stepper = OnlineExplainer(model, variant="ns", support=30)
    for tau in range(200):
        step = stepper.step(spikes[tau])
        assert step.step == tau and step.predicted == chunk.predicted[tau]
        np.testing.assert_array_equal(step.attribution, chunk.attribution[tau])
        np.testing.assert_array_equal(step.probs, chunk.probs[tau])
        assert step.changed == (tau in chunk.changes)
        np.testing.assert_array_equal(step.explanation, chunk.explanation[tau])
    with torch.no_grad():
        out = model(torch.from_numpy(spikes).unsqueeze(0))
    inputs = [spikes.astype(np.float64)] + [s[0].double().numpy() for s in out.layer_spikes]
    weights = [w.detach().double().numpy() for w in model.weights]
    for tau in (0, 7, 29, 30, 118, 199):
        probs = torch.softmax(out.membrane[0, tau].double(), -1).numpy()
        window = [layer[: tau + 1] for layer in inputs]
        slow = tsa_literal(window, weights, model.beta, probs, "ns")
        expected = np.concatenate([np.zeros((4, 3, 30)), slow], -1)[..., -30:]
        scale = np.abs(expected).max()
        np.testing.assert_allclose(chunk.attribution[tau], expected, rtol=0, atol=1e-6 * scale)


def test_map_modes_and_what_moved_the_prediction(adl_test: np.ndarray) -> None:
    model = load_model("published:adl_3L")
    spikes = adl_test[24_000:28_000]  # a busy afternoon: 28 changes of prediction
    full = OnlineExplainer(model, variant="ns").feed(spikes, maps="all")
    assert full.attribution is not None and full.explanation is not None
    predicted = OnlineExplainer(model, variant="ns").feed(spikes, maps="predicted")
    bare = OnlineExplainer(model, variant="ns").feed(spikes, maps="none")
    rows = np.arange(len(full))
    np.testing.assert_array_equal(predicted.explanation, full.attribution[rows, full.predicted])
    for chunk in (predicted, bare):
        np.testing.assert_array_equal(chunk.predicted, full.predicted)
        np.testing.assert_array_equal(chunk.probs, full.probs)
        np.testing.assert_array_equal(chunk.changes, full.changes)
    assert bare.explanation is None and bare.moved is None and bare.attribution is None
    expected_changes = np.flatnonzero(np.diff(full.predicted, prepend=-1) != 0)
    np.testing.assert_array_equal(full.changes, expected_changes)
    assert full.changes[0] == 0 and len(full.changes) > 20  # the test needs real changes
    assert full.moved is not None
    for m, j in enumerate(full.changes.tolist()):
        klass = full.predicted[j]
        after = full.attribution[j, klass].astype(np.float64)
        before = np.zeros_like(after)
        if j > 0:  # the previous map of the same class, moved one column to the left
            before[:, :-1] = full.attribution[j - 1, klass, :, 1:]
        scale = max(np.abs(after).max(), np.abs(before).max())
        np.testing.assert_allclose(full.moved[m], after - before, rtol=0, atol=2e-6 * scale)


def test_reset_and_constant_memory(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_3L")
    explainer = OnlineExplainer(model, variant="s")

    def held_bytes() -> int:
        arrays = [*vars(explainer).values(), *vars(explainer._stepper).values()]
        return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))

    start = held_bytes()
    first = explainer.feed(synthetic_test.spikes[:1000])
    for offset in range(1000, 100_000, 9_000):
        explainer.feed(synthetic_test.spikes[offset : offset + 9_000], maps="none")
    assert held_bytes() == start and explainer.steps_seen == 100_000
    explainer.reset()
    again = explainer.feed(synthetic_test.spikes[:1000])
    assert again.start == 0
    np.testing.assert_array_equal(again.attribution, first.attribution)
    np.testing.assert_array_equal(again.changes, first.changes)


def test_bad_input_is_refused_and_changes_nothing(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_1L")
    explainer = OnlineExplainer(model, variant="ns")
    spikes = synthetic_test.spikes[:50]
    bad = spikes.astype(np.float32)
    bad[20, 2] = 2.0
    explainer.feed(spikes[:10])
    with pytest.raises(ExplanationError, match=r"row 20 holds 2\.0.*0 or 1"):
        explainer.feed(bad)
    with pytest.raises(ExplanationError, match=r"shape \[n_in=3\]"):
        explainer.step(np.zeros(4))
    with pytest.raises(ExplanationError, match=r"shape \[t, n_in=3\]"):
        explainer.feed(np.zeros(3))
    with pytest.raises(ExplanationError, match="maps must be one of"):
        explainer.feed(spikes, maps="some")  # type: ignore[arg-type]
    assert explainer.steps_seen == 10
    reference = OnlineExplainer(model, variant="ns")
    reference.feed(spikes[:10])
    np.testing.assert_array_equal(
        explainer.feed(spikes[10:]).attribution, reference.feed(spikes[10:]).attribution
    )
    with pytest.raises(ExplanationError, match="unknown variant"):
        OnlineExplainer(model, variant="x")
    with pytest.raises(ExplanationError, match=r"support must lie in \[1, 873\]"):
        OnlineExplainer(load_model("published:adl_1L"), support=874)
    with pytest.raises(ExplanationError, match="cannot explain a Linear online"):
        OnlineExplainer(torch.nn.Linear(3, 4))


@pytest.mark.parametrize("variant", ["s", "ns", "sam"])
@pytest.mark.parametrize("name", ["synthetic_1L", "adl_2L", "adl_3L"])
def test_compiled_product_equals_the_torch_product_in_float64(
    name: str, variant: str, adl_test: np.ndarray
) -> None:
    # B(t) of the kernels (shared by series mode) against tsa.propagate in float64
    model = load_model(f"published:{name}")
    spikes = torch.from_numpy(adl_test[:3000] if name.startswith("adl") else adl_test[:3000, :3])
    with torch.no_grad():
        out = model(spikes.unsqueeze(0).float())
    layers = [spikes.unsqueeze(0).double(), *(s.double() for s in out.layer_spikes)]
    weights = [w.detach().double() for w in model.weights]
    if variant == "sam":
        weights = [torch.ones_like(w) for w in weights]
    factors = [layer_factors(s, variant).transpose(1, 2) for s in layers]
    expected = propagate(factors, weights, None)[0].numpy()  # [C, n_in, T]
    operands = ProductOperands.of([w.detach().numpy() for w in model.weights], variant)
    flat = np.concatenate([layer[0].numpy() for layer in layers], axis=1)
    got = operands.products(flat, np.float64)
    assert got.shape == expected.shape and np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
