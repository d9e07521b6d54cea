"""TSA-S, TSA-NS and SAM against the research code's maps and against the literal formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA, SpikeRecording, TemporalSpikeAttribution
from spikeattr.explain.tsa import attribute_recording, record_network, support_length
from spikeattr.snn import LIFNetwork, load_model

from .literal import large_product_case, simulate_literal, softmax, tsa_literal

VARIANTS = ("s", "ns", "sam")
REFERENCE_FILES = {"synthetic": "synthetic", "adl_A_1L": "adl"}


def _reference_cases(reference_dir: Path) -> list[tuple[str, str, str]]:
    cases = []
    for file_name, dataset in REFERENCE_FILES.items():
        with np.load(reference_dir / "explanations" / f"{file_name}.npz") as archive:
            prefixes = sorted({k[: -len("_X")] for k in archive.files if k.endswith("_X")})
        cases += [(file_name, dataset, prefix) for prefix in prefixes]
    return cases


def _relative_error(values: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(values - reference).max() / np.abs(reference).max())


def test_reference_cases_are_all_found(reference_dir: Path) -> None:
    cases = _reference_cases(reference_dir)
    # 3 synthetic models x 6 stamps + ADL 1L x 4 stamps
    assert len(cases) == 22


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_reference_map_is_reproduced_in_float32(reference_dir: Path, variant: str) -> None:
    for file_name, dataset, prefix in _reference_cases(reference_dir):
        with np.load(reference_dir / "explanations" / f"{file_name}.npz") as archive:
            spikes = torch.from_numpy(archive[f"{prefix}_X"]).unsqueeze(0)
            reference = archive[f"{prefix}_{variant}_attr"]
            reference_pred = int(archive[f"{prefix}_pred"])
            reference_probs = archive[f"{prefix}_probs_last"]
        model = load_model(f"published:{dataset}_{prefix.split('_')[0]}")
        result = TSA(model, variant=variant).attribute(spikes, dtype=torch.float32)
        assert result.values.dtype == torch.float32
        assert result.values.shape == (1, *reference.shape)
        error = _relative_error(result.values[0].numpy(), reference)
        assert error < 1e-5, f"{file_name} {prefix} {variant}: relative error {error:.2e}"
        assert int(result.predicted[0]) == reference_pred
        np.testing.assert_allclose(result.probs[0].numpy(), reference_probs, atol=1e-6)


def test_float64_equals_the_literal_formula_on_reference_windows(reference_dir: Path) -> None:
    # Literal oracle in float64 on the spikes of the float32 forward pass (as the product does).
    for file_name, dataset, prefix in _reference_cases(reference_dir)[::5]:
        with np.load(reference_dir / "explanations" / f"{file_name}.npz") as archive:
            spikes = torch.from_numpy(archive[f"{prefix}_X"]).unsqueeze(0)
        model = load_model(f"published:{dataset}_{prefix.split('_')[0]}")
        recording = record_network(model, spikes)
        inputs = [s[0].double().numpy() for s in recording.layer_inputs]
        weights = [w.double().numpy() for w in recording.weights]
        probs = softmax(recording.scores[0].double().numpy())
        for variant in VARIANTS:
            fast = TSA(model, variant).attribute(spikes, dtype=torch.float64).values[0].numpy()
            slow = tsa_literal(inputs, weights, model.beta, probs, variant)
            assert _relative_error(fast, slow) < 1e-9, (prefix, variant)


@st.composite
def _networks(draw: st.DrawFn) -> tuple[LIFNetwork, torch.Tensor]:
    depth = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 6)) for _ in range(depth + 1)]
    dt = draw(st.floats(1e-4, 1e-2))
    tau_syn = draw(st.floats(1e-3, 5e-2))
    tau_mem = draw(st.floats(1e-3, 5e-2))
    # the decay must stay representable over the window for an exact comparison
    tau_mem = max(tau_mem, dt / 3)
    steps = draw(st.integers(1, 40))
    batch = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    generator = torch.Generator().manual_seed(seed)
    model = LIFNetwork(sizes, dt=dt, tau_syn=tau_syn, tau_mem=tau_mem).double()
    with torch.no_grad():
        for weight in model.weights:  # large enough that hidden neurons do spike
            weight.copy_(torch.randn(weight.shape, generator=generator, dtype=torch.float64) * 3)
    rate = draw(st.floats(0.1, 0.9))
    spikes = (torch.rand(batch, steps, sizes[0], generator=generator) < rate).double()
    return model, spikes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_networks(), st.sampled_from(VARIANTS))
def test_fast_equals_literal_on_random_networks(
    case: tuple[LIFNetwork, torch.Tensor], variant: str
) -> None:
    model, spikes = case
    result = TSA(model, variant=variant).attribute(spikes, dtype=torch.float64)
    for b in range(spikes.shape[0]):
        weights = [w.detach().numpy() for w in model.weights]
        inputs, membrane = simulate_literal(spikes[b].numpy(), weights, model.alpha, model.beta)
        probs = softmax(membrane[-1])
        slow = tsa_literal(inputs, weights, model.beta, probs, variant)
        fast = result.values[b].numpy()
        scale = max(np.abs(slow).max(), 1e-300)
        assert np.abs(fast - slow).max() <= 1e-9 * scale + 1e-300
        np.testing.assert_allclose(result.probs[b].numpy(), probs, rtol=1e-9, atol=1e-12)


def test_random_networks_really_spike() -> None:
    # Guard for the property test: with its weight scale, hidden layers do emit spikes.
    model = LIFNetwork([4, 6, 6, 3], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2, seed=0).double()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for weight in model.weights:
            weight.copy_(torch.randn(weight.shape, generator=generator, dtype=torch.float64) * 3)
    spikes = (torch.rand(1, 40, 4, generator=generator) < 0.5).double()
    recording = record_network(model, spikes)
    assert all(float(s.sum()) > 0 for s in recording.layer_inputs[1:])


def test_target_selection_and_result_object() -> None:
    model = load_model("published:synthetic_2L")
    spikes = torch.zeros(3, 50, 3)
    spikes[:, :, 0] = 1
    spikes[1, :, 1] = 1
    spikes[2, :, 2] = 1
    explainer = TemporalSpikeAttribution(model, variant="ns")
    default = explainer.attribute(spikes)
    assert torch.equal(default.target, default.predicted)
    assert torch.equal(default.predicted, default.probs.argmax(-1))
    assert default.explanation.shape == (3, 3, 50)
    for b in range(3):
        torch.testing.assert_close(default.explanation[b], default.values[b, default.target[b]])
    fixed = explainer.attribute(spikes, target=2)
    assert fixed.target.tolist() == [2, 2, 2]
    torch.testing.assert_close(fixed.explanation, fixed.for_class(2))
    per_sample = explainer.attribute(spikes, target=torch.tensor([0, 1, 3]))
    assert per_sample.target.tolist() == [0, 1, 3]
    torch.testing.assert_close(per_sample.explanation[2], per_sample.values[2, 3])
    arrays = per_sample.to_numpy()
    assert arrays["values"].shape == (3, 4, 3, 50)
    assert set(arrays) == {"values", "probs", "predicted", "target"}
    # the full class-wise map does not depend on the target
    torch.testing.assert_close(default.values, fixed.values)


def test_float32_support_is_exact_to_the_dtype() -> None:
    model = load_model("published:synthetic_3L")  # beta = e^-1, three layers: e^-3 per step
    assert support_length([model.beta] * 3, 1000, torch.float32) == 29
    assert support_length([model.beta] * 3, 10, torch.float32) == 10
    spikes = torch.ones(1, 200, 3)
    result = TSA(model, "ns").attribute(spikes, dtype=torch.float32)
    assert result.support == 29
    assert bool((result.values[..., : 200 - 29] == 0).all())
    assert float(result.values[..., -1].abs().max()) > 0


def test_a_tolerance_truncates_in_float64_too() -> None:
    model = load_model("published:synthetic_3L")
    result = TSA(model, "ns", tolerance=1e-30).attribute(torch.ones(1, 200, 3))
    assert result.values.dtype == torch.float64
    assert result.support == support_length([model.beta] * 3, 200, torch.float64, 1e-30) == 23
    assert bool((result.values[..., : 200 - 23] == 0).all())


def test_float64_and_float32_agree() -> None:
    model = load_model("published:adl_1L")
    generator = torch.Generator().manual_seed(3)
    spikes = (torch.rand(2, 300, 14, generator=generator) < 0.3).float()
    spikes[..., 0] = 1
    single = TSA(model, "s").attribute(spikes, dtype=torch.float32).values
    double = TSA(model, "s").attribute(spikes).values
    assert single.dtype == torch.float32
    assert double.dtype == torch.float64
    assert _relative_error(single.double().numpy(), double.numpy()) < 1e-5


# float64's smallest normal and smallest subnormal numbers, as natural logarithms
_LOG_NORMAL = float(np.log(np.finfo(np.float64).tiny))
_LOG_SUBNORMAL = float(np.log(np.nextafter(0.0, 1.0)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_default_float64_keeps_every_representable_tail(reference_dir: Path, variant: str) -> None:
    # The literal B(t) diag(p) (no decay) with the decay added as a logarithm: the exact value of
    # every cell, even where beta^(L (T-t)) alone is far below float64's range.
    truncated_cases = 0
    for file_name, dataset, prefix in _reference_cases(reference_dir)[::4]:
        with np.load(reference_dir / "explanations" / f"{file_name}.npz") as archive:
            spikes = torch.from_numpy(archive[f"{prefix}_X"][-400:]).unsqueeze(0)
        model = load_model(f"published:{dataset}_{prefix.split('_')[0]}")
        result = TSA(model, variant).attribute(spikes)
        assert result.values.dtype == torch.float64
        assert result.support == 400
        fast = result.values[0].numpy()
        recording = record_network(model, spikes)
        inputs = [s[0].double().numpy() for s in recording.layer_inputs]
        weights = [w.double().numpy() for w in recording.weights]
        probs = softmax(recording.scores[0].double().numpy())
        plain = tsa_literal(inputs, weights, 1.0, probs, variant)  # B(t) diag(p)
        back = np.arange(400, 0, -1, dtype=np.float64)
        with np.errstate(divide="ignore"):
            exact_log = np.log(np.abs(plain)) + model.n_layers * np.log(model.beta) * back
        normal = exact_log > _LOG_NORMAL + 1e-9
        assert bool((fast[plain == 0] == 0).all())
        assert bool((fast[exact_log < _LOG_SUBNORMAL - 1] == 0).all())
        assert bool((np.sign(fast[normal]) == np.sign(plain[normal])).all())
        with np.errstate(divide="ignore"):
            error = np.abs(np.log(np.abs(fast[normal])) - exact_log[normal])
        assert float(error.max()) < 1e-9, (prefix, variant)
        # the tails float32 cuts off are there: nonzero wherever the exact value is normal
        cut = 400 - support_length([model.beta] * model.n_layers, 400, torch.float32)
        if cut > 0:
            assert bool((fast[..., :cut] != 0).any()), (prefix, variant)
            truncated_cases += 1
    assert truncated_cases >= 3  # the synthetic models' float32 support is shorter than 400


def test_custom_recording_is_explained_like_the_native_one() -> None:
    model = load_model("published:synthetic_2L")
    spikes = torch.ones(1, 30, 3)
    native = record_network(model, spikes)
    copy = SpikeRecording(
        [s.clone() for s in native.layer_inputs],
        [w.clone() for w in native.weights],
        list(native.betas),
        native.scores.clone(),
    )
    torch.testing.assert_close(
        attribute_recording(copy, "ns").values, TSA(model, "ns").attribute(spikes).values
    )


def test_a_large_product_keeps_the_steps_whose_decay_alone_underflows() -> None:
    # B = W diag(p) of order 1e100: at 800 steps back (beta = e^-1) the decay e^-800 is below
    # float64's range but the value e^(230 - 800) is not; only log space keeps it.
    steps = 1000
    spikes, weight, scores = (torch.from_numpy(a) for a in large_product_case(steps))
    recording = SpikeRecording([spikes], [weight], [float(np.exp(-1.0))], scores)
    values = attribute_recording(recording, "s").values[0].numpy()  # [C, n_in, T]
    probs = softmax(scores[0].numpy())
    back = np.arange(steps, 0, -1, dtype=np.float64)
    exact_log = np.log(np.abs(weight.numpy().T * probs[:, None]))[..., None] - back
    representable = exact_log > _LOG_NORMAL
    assert bool(representable[..., steps - 800].all())
    assert bool((values[representable] != 0).all())
    error = np.abs(np.log(np.abs(values[representable])) - exact_log[representable])
    assert float(error.max()) < 1e-12
    assert bool((np.sign(values[:, 1][representable[:, 1]]) == -1).all())


@pytest.mark.parametrize(
    ("spikes", "message"),
    [
        (torch.ones(30, 3), "batch dimension"),
        (torch.ones(1, 30, 4), "the model has 3"),
        (torch.full((1, 30, 3), 2.0), "binary"),
        (torch.ones(1, 0, 3), "no time steps"),
        (np.ones((1, 30, 3)), "torch.Tensor"),
    ],
)
def test_bad_spikes_are_refused(spikes: object, message: str) -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match=message):
        TSA(model).attribute(spikes)  # type: ignore[arg-type]


def test_bad_variant_and_target_are_refused() -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match="unknown variant 'x'"):
        TSA(model, variant="x")
    spikes = torch.ones(2, 10, 3)
    with pytest.raises(ExplanationError, match="out of range"):
        TSA(model).attribute(spikes, target=4)
    with pytest.raises(ExplanationError, match="out of range"):
        TSA(model).attribute(spikes, target=-1)
    with pytest.raises(ExplanationError, match="one per sample"):
        TSA(model).attribute(spikes, target=[0, 1, 2])
    with pytest.raises(ExplanationError, match="one per sample"):
        TSA(model).attribute(spikes, target=torch.tensor([0.5, 1.0]))
    with pytest.raises(ExplanationError, match="out of range"):
        TSA(model).attribute(spikes).for_class(9)


def test_unsupported_model_names_the_interface() -> None:
    with pytest.raises(ExplanationError, match="record_spikes"):
        TSA(torch.nn.Linear(3, 4)).attribute(torch.ones(1, 5, 3))
