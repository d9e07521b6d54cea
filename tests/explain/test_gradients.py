"""Gradient baselines (via Captum) against gradients computed directly with torch.autograd."""

from __future__ import annotations

import importlib

import captum  # noqa: F401  (required: CI installs it; a missing Captum fails, never skips)
import numpy as np
import pytest
import torch

from spikeattr.data.synthetic import generate_synthetic
from spikeattr.errors import ExplanationError, MissingExtraError
from spikeattr.explain import TSA, GradientAttribution
from spikeattr.explain.gradients import import_captum
from spikeattr.snn import LIFNetwork, load_model

STEPS = 40


@pytest.fixture(scope="module")
def windows() -> torch.Tensor:
    """Two windows of the synthetic test split, in float64."""
    test = generate_synthetic().split("test")
    starts = np.random.default_rng(0).integers(0, test.n_steps - STEPS, size=2)
    return torch.from_numpy(np.stack([test.spikes[s : s + STEPS] for s in starts])).double()


@pytest.fixture(scope="module")
def model() -> LIFNetwork:
    """The published 2-layer synthetic model in float64 (so batching cannot flip a spike)."""
    return load_model("published:synthetic_2L").double()


def _direct_gradients(model: LIFNetwork, spikes: torch.Tensor) -> torch.Tensor:
    """``d log_softmax(mem[T-1])_c / d x`` for every class, ``[B, C, n_in, T]``, by autograd."""
    inputs = spikes.clone().requires_grad_(True)
    scores = torch.log_softmax(model(inputs, backend="torch").membrane[:, -1], dim=-1)
    grads = [
        torch.autograd.grad(scores[:, c].sum(), inputs, retain_graph=True)[0]
        for c in range(scores.shape[1])
    ]
    return torch.stack(grads, 1).transpose(2, 3)


def test_saliency_and_input_x_gradient_equal_autograd(
    model: LIFNetwork, windows: torch.Tensor
) -> None:
    direct = _direct_gradients(model, windows)
    assert float(direct.abs().amax(dim=(2, 3)).min()) > 0  # every class has a gradient
    saliency = GradientAttribution(model, "saliency").attribute(windows)
    torch.testing.assert_close(saliency.values, direct.abs(), rtol=1e-10, atol=1e-14)
    times_input = GradientAttribution(model, "input_x_gradient").attribute(windows)
    expected = windows.transpose(1, 2).unsqueeze(1) * direct
    torch.testing.assert_close(times_input.values, expected, rtol=1e-10, atol=1e-14)


def test_result_object_matches_tsa(model: LIFNetwork, windows: torch.Tensor) -> None:
    result = GradientAttribution(model, "saliency").attribute(windows, target=2)
    reference = TSA(model, "s").attribute(windows)
    assert result.values.shape == (2, 4, 3, STEPS)
    assert result.variant == "saliency" and result.support == STEPS
    torch.testing.assert_close(result.probs, reference.probs)
    assert torch.equal(result.predicted, reference.predicted)
    assert result.target.tolist() == [2, 2]
    torch.testing.assert_close(result.explanation, result.values[:, 2])


def test_max_batch_does_not_change_the_result(model: LIFNetwork, windows: torch.Tensor) -> None:
    whole = GradientAttribution(model, "ig", n_steps=8).attribute(windows)
    chunked = GradientAttribution(model, "ig", n_steps=8, max_batch=8).attribute(windows)
    torch.testing.assert_close(whole.values, chunked.values, rtol=1e-10, atol=1e-14)


def test_integrated_gradients_is_the_riemann_sum_of_autograd_gradients(
    model: LIFNetwork, windows: torch.Tensor
) -> None:
    # Captum's midpoint rule, from the all-zero baseline: x * (1/n) sum_k grad f(a_k x), with
    # Captum's nodes a_k = (k + 1/2)/n as it computes them (torch.linspace in float32: the exact
    # nodes could flip a spike that sits at the threshold) and its weights 1/n as float32
    # (relative error < 1e-7, hence rtol=1e-6).
    n_steps = 6
    result = GradientAttribution(model, "ig", n_steps=n_steps, integration="riemann_middle")
    values = result.attribute(windows).values
    nodes = torch.linspace(1 / (2 * n_steps), 1 - 1 / (2 * n_steps), n_steps).tolist()
    total = sum(_direct_gradients(model, node * windows) for node in nodes)
    assert isinstance(total, torch.Tensor)
    expected = windows.transpose(1, 2).unsqueeze(1) * total / n_steps
    torch.testing.assert_close(values, expected, rtol=1e-6, atol=1e-12)


def test_integrated_gradients_is_complete_where_no_spike_changes() -> None:
    # One layer, weights small enough that the membrane stays below threshold at x. The dynamics
    # are linear from zero state, so the membrane along the path a*x is a times that at x: no
    # spike anywhere on the path, the surrogate never enters, and f(a) = log_softmax(a m)_c is
    # analytic in a. Gauss-Legendre quadrature then converges exponentially with n_steps: at 64
    # points its own error is negligible, and what remains is Captum storing the quadrature
    # weights as float32 (relative error ~6e-8 each), so completeness must hold to 1e-6 relative
    # to f(x) - f(0); a real failure (a missing factor x, a surrogate entering) is of the order
    # of f(x) - f(0) itself.
    generator = torch.Generator().manual_seed(0)
    model = LIFNetwork([5, 3], tau_mem=1e-2, seed=0).double()
    with torch.no_grad():
        model.weights[0].copy_(torch.randn(5, 3, generator=generator, dtype=torch.float64) * 0.004)
    spikes = (torch.rand(2, 50, 5, generator=generator) < 0.5).double()
    with torch.no_grad():
        assert float(model(spikes, backend="torch").membrane.max()) < 1.0  # never spikes
    explainer = GradientAttribution(model, "ig", n_steps=64)
    result = explainer.attribute(spikes)
    with torch.no_grad():
        gap = explainer.explained_output(spikes) - explainer.explained_output(0 * spikes)
    assert float(gap.abs().min()) > 0.05  # not a trivial identity
    torch.testing.assert_close(result.values.sum(dim=(2, 3)), gap, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("output", ["softmax", "membrane"])
def test_other_outputs(model: LIFNetwork, windows: torch.Tensor, output: str) -> None:
    explainer = GradientAttribution(model, "input_x_gradient", output=output)
    inputs = windows.clone().requires_grad_(True)
    membrane = model(inputs, backend="torch").membrane[:, -1]
    scores = torch.softmax(membrane, -1) if output == "softmax" else membrane
    (grad,) = torch.autograd.grad(scores[:, 1].sum(), inputs)
    expected = (inputs * grad).detach().transpose(1, 2)
    torch.testing.assert_close(explainer.attribute(windows).values[:, 1], expected)


def test_bad_arguments_are_refused(model: LIFNetwork) -> None:
    with pytest.raises(ExplanationError, match="need a spikeattr LIFNetwork"):
        GradientAttribution(torch.nn.Linear(3, 4))
    with pytest.raises(ExplanationError, match="unknown method 'lrp'"):
        GradientAttribution(model, "lrp")
    with pytest.raises(ExplanationError, match="unknown output"):
        GradientAttribution(model, output="logits")
    with pytest.raises(ExplanationError, match="unknown integration rule"):
        GradientAttribution(model, "ig", integration="simpson")
    with pytest.raises(ExplanationError, match="n_steps must be an int >= 2"):
        GradientAttribution(model, "ig", n_steps=1)
    with pytest.raises(ExplanationError, match="backend 'numba' has no gradient"):
        GradientAttribution(model, backend="numba")
    with pytest.raises(ExplanationError, match="binary"):
        GradientAttribution(model).attribute(torch.full((1, 5, 3), 0.5))


def test_missing_captum_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_captum(name: str, package: str | None = None) -> object:
        if name.startswith("captum"):
            raise ImportError("No module named 'captum'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_captum)
    with pytest.raises(MissingExtraError, match=r"pip install 'spikeattr\[captum\]'") as caught:
        import_captum()
    assert isinstance(caught.value, ImportError)
