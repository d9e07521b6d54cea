"""snnTorch and Norse adapters: TSA through the adapter equals TSA by hand on real, trained models.

Every model is built with the library's own layers, trained for a few Adam steps on windows of
the synthetic training split, then explained. The oracle records spikes independently (the
model's own forward, or a manual loop over the library's layers / functional steps), builds the
weight matrices by hand and evaluates SPEC 4 literally (``tests/explain/literal.py``).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The real libraries are required (CI installs them): a missing one fails, never skips.
import norse.torch as norse
import numpy as np
import pytest
import snntorch as snn
import snntorch.utils as snn_utils
import torch
from norse.torch.functional.leaky_integrator import (
    LIState,
    li_feed_forward_step,
)
from norse.torch.functional.lif import (
    LIFFeedForwardState,
    lif_feed_forward_step,
)
from torch import nn

from spikeattr.data.synthetic import generate_synthetic
from spikeattr.errors import ExplanationError, LayoutWarning, UnsupportedLayerError
from spikeattr.explain import TSA
from spikeattr.explain.adapters import NorseAdapter, SnnTorchAdapter, adapt
from spikeattr.explain.methods import make_explainer

from .literal import softmax, tsa_literal

VARIANTS = ("s", "ns", "sam")
WINDOW = 100


@dataclass
class Recorded:
    """What the oracle records independently of the adapter, for a batch of windows."""

    layer_inputs: list[torch.Tensor]  # [B, T, n_l]: input, then hidden spikes
    output_spikes: torch.Tensor  # [B, T, C] (zeros for a non-spiking read-out)
    scores: torch.Tensor  # [B, C] output membrane at the last step
    weights: list[torch.Tensor]  # effective W_l [n_l, n_{l+1}]
    betas: list[float]


def _windows(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    train = generate_synthetic().split("train")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, train.n_steps - WINDOW, size=count)
    spikes = np.stack([train.spikes[s : s + WINDOW] for s in starts]).astype(np.float32)
    labels = np.stack([train.labels[s : s + WINDOW] for s in starts]).astype(np.int64)
    return torch.from_numpy(spikes), torch.from_numpy(labels)


def adam_steps(
    model: nn.Module,
    membranes: Callable[[torch.Tensor], torch.Tensor],
    spikes: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
) -> None:
    """``steps`` Adam steps on the per-step cross-entropy of the output membrane ``[B, T, C]``
    of ``spikes`` against ``labels [B, T]``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        scores = membranes(spikes)  # [B, T, C]
        loss = nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]), labels.flatten())
        loss.backward()
        optimizer.step()


def _train(model: nn.Module, membranes: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """A handful of Adam steps on the per-step cross-entropy of the output membrane."""
    adam_steps(model, membranes, *_windows(16, seed=0), steps=4)


@pytest.fixture(scope="module")
def explained_windows() -> torch.Tensor:
    return _windows(3, seed=1)[0]


def _check_against_literal(adapter: object, spikes: torch.Tensor, recorded: Recorded) -> None:
    # the per-layer decays multiply into one factor per step back, so the literal oracle (one
    # beta for all layers) gets their geometric mean
    beta = math.prod(recorded.betas) ** (1.0 / len(recorded.betas))
    weights = [w.double().numpy() for w in recorded.weights]
    for variant in VARIANTS:
        result = TSA(adapter, variant).attribute(spikes, dtype=torch.float64)
        for b in range(spikes.shape[0]):
            probs = softmax(recorded.scores[b].double().numpy())
            inputs = [layer[b].double().numpy() for layer in recorded.layer_inputs]
            slow = tsa_literal(inputs, weights, beta, probs, variant)
            fast = result.values[b].numpy()
            assert np.abs(slow).max() > 0, variant
            error = np.abs(fast - slow).max() / np.abs(slow).max()
            assert error < 1e-9, (variant, b, error)
            np.testing.assert_allclose(result.probs[b].numpy(), probs, rtol=1e-6)


def _check_recording(
    adapter: SnnTorchAdapter | NorseAdapter, spikes: torch.Tensor, recorded: Recorded
) -> None:
    trace = adapter.run(spikes)
    hidden = recorded.layer_inputs[1:]
    assert len(trace.layer_spikes) == len(hidden) + 1
    for mine, theirs in zip(trace.layer_spikes[:-1], hidden, strict=True):
        assert torch.equal(mine, theirs)
    assert torch.equal(trace.layer_spikes[-1], recorded.output_spikes)
    torch.testing.assert_close(trace.scores, recorded.scores, rtol=0, atol=0)
    for mine, theirs in zip(adapter.weights(), recorded.weights, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-7, atol=0)
    assert adapter.betas() == pytest.approx(recorded.betas, rel=1e-12)
    # the test would be vacuous without hidden activity, and without silence
    for layer in hidden:
        assert 0 < float(layer.mean()) < 1


# -- snnTorch: nn.Sequential, init_hidden=True, Leaky ---------------------------------------------
def _snn_sequential() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(3, 10),
        snn.Leaky(beta=0.9, init_hidden=True),
        nn.Linear(10, 4),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )

    def membranes(spikes: torch.Tensor) -> torch.Tensor:
        snn_utils.reset(net)
        return torch.stack([net(spikes[:, t])[1] for t in range(spikes.shape[1])], 1)

    _train(net, membranes)
    return net


@pytest.fixture(scope="module")
def snn_sequential() -> nn.Sequential:
    return _snn_sequential()


def _record_snn_sequential(net: Any, spikes: torch.Tensor) -> Recorded:
    hidden, output, own_output = [], [], []
    with torch.no_grad():
        snn_utils.reset(net)  # a manual loop over the library's layers
        for t in range(spikes.shape[1]):
            spk1 = net[1](net[0](spikes[:, t]))
            spk2, mem2 = net[3](net[2](spk1))
            hidden.append(spk1)
            output.append(spk2)
        scores = mem2.clone()
        snn_utils.reset(net)  # and the model's own forward
        for t in range(spikes.shape[1]):
            spk, mem = net(spikes[:, t])
            own_output.append(spk)
        assert torch.equal(torch.stack(own_output, 1), torch.stack(output, 1))
        assert torch.equal(mem, scores)
    return Recorded(
        layer_inputs=[spikes, torch.stack(hidden, 1)],
        output_spikes=torch.stack(output, 1),
        scores=scores,
        weights=[net[0].weight.detach().t(), net[2].weight.detach().t()],
        betas=[float(net[1].beta), float(net[3].beta)],
    )


def test_snntorch_sequential_equals_literal_tsa(
    snn_sequential: nn.Sequential, explained_windows: torch.Tensor
) -> None:
    adapter = SnnTorchAdapter(snn_sequential)
    recorded = _record_snn_sequential(snn_sequential, explained_windows)
    _check_recording(adapter, explained_windows, recorded)
    _check_against_literal(adapter, explained_windows, recorded)
    assert adapter.ignored_biases == ["0", "2"]
    assert adapter.layer_sizes == (3, 10, 4)


def test_snntorch_state_is_restored(
    snn_sequential: nn.Sequential, explained_windows: torch.Tensor
) -> None:
    snn_utils.reset(snn_sequential)
    snn_sequential(explained_windows[:, 0])
    before = [snn_sequential[i].mem for i in (1, 3)]
    SnnTorchAdapter(snn_sequential).record_spikes(explained_windows)
    assert all(snn_sequential[i].mem is m for i, m in zip((1, 3), before, strict=True))


# -- snnTorch: own nn.Module, explicit state, Synaptic, learnable beta, 3 weight layers ---------
class ExplicitSynapticNet(nn.Module):
    """The snnTorch tutorial pattern: explicit syn/mem state passed in a forward loop over time."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.fc1 = nn.Linear(3, 10)
        self.lif1 = snn.Synaptic(alpha=0.8, beta=0.7)
        self.fc2 = nn.Linear(10, 8, bias=False)
        self.lif2 = snn.Synaptic(alpha=0.8, beta=0.8)
        self.fc3 = nn.Linear(8, 4)
        self.lif3 = snn.Synaptic(alpha=0.8, beta=torch.tensor(0.85), learn_beta=True)

    def forward(self, spikes: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """``spikes [B, T, 3]`` -> (spikes of every layer ``[B, T, n]``, output membrane)."""
        syn1, mem1 = self.lif1.reset_mem()
        syn2, mem2 = self.lif2.reset_mem()
        syn3, mem3 = self.lif3.reset_mem()
        records: list[list[torch.Tensor]] = [[], [], []]
        membrane = []
        for t in range(spikes.shape[1]):
            spk1, syn1, mem1 = self.lif1(self.fc1(spikes[:, t]), syn1, mem1)
            spk2, syn2, mem2 = self.lif2(self.fc2(spk1), syn2, mem2)
            spk3, syn3, mem3 = self.lif3(self.fc3(spk2), syn3, mem3)
            for record, spk in zip(records, (spk1, spk2, spk3), strict=True):
                record.append(spk)
            membrane.append(mem3)
        return [torch.stack(r, 1) for r in records], torch.stack(membrane, 1)


@pytest.fixture(scope="module")
def snn_explicit() -> ExplicitSynapticNet:
    net = ExplicitSynapticNet()
    _train(net, lambda spikes: net(spikes)[1])
    assert float(net.lif3.beta.detach()) != pytest.approx(0.85)  # the learnable beta did move
    return net


def test_snntorch_explicit_state_module_equals_literal_tsa(
    snn_explicit: ExplicitSynapticNet, explained_windows: torch.Tensor
) -> None:
    with torch.no_grad():
        layer_spikes, membrane = snn_explicit(explained_windows)  # the model's own forward
    recorded = Recorded(
        layer_inputs=[explained_windows, *layer_spikes[:2]],
        output_spikes=layer_spikes[2],
        scores=membrane[:, -1],
        weights=[
            fc.weight.detach().t() for fc in (snn_explicit.fc1, snn_explicit.fc2, snn_explicit.fc3)
        ],
        betas=[
            float(lif.beta.detach().clamp(0, 1))
            for lif in (snn_explicit.lif1, snn_explicit.lif2, snn_explicit.lif3)
        ],
    )
    adapter = SnnTorchAdapter(snn_explicit)
    _check_recording(adapter, explained_windows, recorded)
    _check_against_literal(adapter, explained_windows, recorded)
    assert adapter.ignored_biases == ["fc1", "fc3"]


def test_snntorch_graded_spikes_are_folded_into_the_next_weights(
    explained_windows: torch.Tensor,
) -> None:
    torch.manual_seed(2)
    net: Any = nn.Sequential(
        nn.Linear(3, 10),
        snn.Leaky(beta=0.8, init_hidden=True, graded_spikes_factor=2.5),
        nn.Linear(10, 4),
        snn.Leaky(beta=0.8, init_hidden=True),
    )
    adapter = SnnTorchAdapter(net)
    torch.testing.assert_close(adapter.weights()[1], 2.5 * net[2].weight.detach().t())
    recording = adapter.record_spikes(explained_windows)
    hidden = recording.layer_inputs[1]
    assert set(hidden.unique().tolist()) <= {0.0, 1.0} and float(hidden.sum()) > 0


def test_layers_argument_gives_the_forward_order(explained_windows: torch.Tensor) -> None:
    class Shuffled(nn.Module):  # registered in another order than used
        def __init__(self) -> None:
            super().__init__()
            self.fc2 = nn.Linear(10, 4)
            self.fc1 = nn.Linear(3, 10)
            self.lif1 = snn.Leaky(beta=0.9)
            self.lif2 = snn.Leaky(beta=0.9)

    net = Shuffled()
    with pytest.raises(UnsupportedLayerError, match=r"layer 1 \('fc1'.*follows.*'fc2'.*layers="):
        SnnTorchAdapter(net)
    adapter = SnnTorchAdapter(net, layers=[net.fc1, net.lif1, net.fc2, net.lif2])
    assert adapter.layer_sizes == (3, 10, 4)
    assert TSA(adapter, "ns").attribute(explained_windows).values.shape == (3, 4, 3, WINDOW)


# -- Norse ----------------------------------------------------------------------------------------
def _norse_cells() -> Any:
    torch.manual_seed(3)
    net = norse.SequentialState(
        nn.Linear(3, 10),
        norse.LIFCell(p=norse.LIFParameters(tau_mem_inv=torch.as_tensor(200.0))),
        nn.Linear(10, 4),
        norse.LICell(),
    )

    def membranes(spikes: torch.Tensor) -> torch.Tensor:
        state = None
        outputs = []
        for t in range(spikes.shape[1]):
            out, state = net(spikes[:, t], state)
            outputs.append(out)
        return torch.stack(outputs, 1)

    _train(net, membranes)
    return net


def test_norse_cells_with_readout_equal_literal_tsa(explained_windows: torch.Tensor) -> None:
    net = _norse_cells()
    lif, li = net[1], net[3]
    # the oracle: Norse's functional steps, called by hand
    state = LIFFeedForwardState(v=lif.p.v_leak.clone(), i=torch.zeros(3, 10))
    readout = LIState(v=li.p.v_leak.clone(), i=torch.zeros(3, 4))
    hidden, own = [], []
    with torch.no_grad():
        for t in range(WINDOW):
            z, state = lif_feed_forward_step(net[0](explained_windows[:, t]), state, lif.p, lif.dt)
            v, readout = li_feed_forward_step(net[2](z), readout, li.p, li.dt)
            hidden.append(z)
        model_state = None
        for t in range(WINDOW):  # and the model's own forward, one step at a time
            out, model_state = net(explained_windows[:, t], model_state)
            own.append(out)
    torch.testing.assert_close(own[-1], v, rtol=0, atol=0)
    gains = [lif.dt * float(lif.p.tau_mem_inv), li.dt * float(li.p.tau_mem_inv)]
    recorded = Recorded(
        layer_inputs=[explained_windows, torch.stack(hidden, 1)],
        output_spikes=torch.zeros(3, WINDOW, 4),
        scores=v,
        weights=[g * fc.weight.detach().t() for g, fc in zip(gains, (net[0], net[2]), strict=True)],
        betas=[1.0 - g for g in gains],
    )
    assert recorded.betas == pytest.approx([0.8, 0.9])
    adapter = NorseAdapter(net)
    _check_recording(adapter, explained_windows, recorded)
    _check_against_literal(adapter, explained_windows, recorded)


def test_norse_sequence_modules_equal_literal_tsa(explained_windows: torch.Tensor) -> None:
    torch.manual_seed(4)
    net = norse.SequentialState(
        nn.Linear(3, 10), norse.LIF(), nn.Linear(10, 4), norse.LIF(), return_hidden=True
    )
    # LIF returns spikes over time and its final state: train on the last-step membrane
    _train(
        net,
        lambda spikes: (
            net(spikes.transpose(0, 1))[1][3].v.unsqueeze(1).expand(-1, spikes.shape[1], -1)
        ),
    )
    with torch.no_grad():  # the model's own forward, time first, returning every module's output
        outputs, states = net(explained_windows.transpose(0, 1).contiguous())
    gain = net[1].dt * float(net[1].p.tau_mem_inv)  # Norse's defaults: 1e-3 * 100
    recorded = Recorded(
        layer_inputs=[explained_windows, outputs[1].transpose(0, 1)],
        output_spikes=outputs[3].transpose(0, 1),
        scores=states[3].v,
        weights=[gain * net[0].weight.detach().t(), gain * net[2].weight.detach().t()],
        betas=[1.0 - gain, 1.0 - gain],
    )
    adapter = NorseAdapter(net)
    _check_recording(adapter, explained_windows, recorded)
    _check_against_literal(adapter, explained_windows, recorded)
    # the same layers recording their state at every step give the same recording
    recording_states = norse.SequentialState(
        net[0], norse.LIF(record_states=True), net[2], norse.LIF(record_states=True)
    )
    _check_recording(NorseAdapter(recording_states), explained_windows, recorded)


@pytest.mark.parametrize("cell", ["lif", "box"])
def test_norse_membrane_decays_by_one_minus_dt_tau_mem_inv(cell: str) -> None:
    # The derivation of beta and of the input gain, checked against Norse's own update: below
    # threshold, v[t] = beta v[t-1] + gain * i[t] with i[t] = alpha i[t-1] + I[t] (LIF) or
    # v[t] = beta v[t-1] + gain * I[t] (LIFBox), beta = 1 - gain, gain = dt * tau_mem_inv.
    p_lif = norse.LIFParameters(tau_mem_inv=torch.as_tensor(150.0), v_th=torch.as_tensor(1e9))
    p_box = norse.LIFBoxParameters(tau_mem_inv=torch.as_tensor(150.0), v_th=torch.as_tensor(1e9))
    module = norse.LIFCell(p=p_lif) if cell == "lif" else norse.LIFBoxCell(p=p_box)
    dt = module.dt
    gain = dt * 150.0
    adapter = NorseAdapter(nn.Sequential(nn.Linear(2, 2), module))
    assert adapter.betas() == pytest.approx([1.0 - gain], rel=1e-12)
    alpha = 1.0 - dt * float(p_lif.tau_syn_inv)
    currents = torch.rand(20, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    state, v, i = (
        None,
        torch.zeros(1, 2, dtype=torch.float64),
        torch.zeros(1, 2, dtype=torch.float64),
    )
    for current in currents:
        _, state = module(current, state)
        i = alpha * i + current if cell == "lif" else current
        v = (1.0 - gain) * v + gain * i
        torch.testing.assert_close(state.v.double(), v, rtol=1e-5, atol=1e-7)


# -- errors ---------------------------------------------------------------------------------------
def _norse_parameters(**values: torch.Tensor) -> object:
    return norse.LIFParameters(**values)


@pytest.mark.parametrize(
    ("build", "adapter", "message"),
    [
        (
            lambda: nn.Sequential(nn.Linear(3, 10), snn.RLeaky(beta=0.9, linear_features=10)),
            SnnTorchAdapter,
            r"layer 1 \('1', snntorch\.RLeaky\) is recurrent",
        ),
        (
            lambda: nn.Sequential(nn.ConvTranspose1d(3, 4, 1), snn.Leaky(beta=0.9)),
            SnnTorchAdapter,
            r"layer 0 \('0', torch\.nn\.ConvTranspose1d\) is a convolution .* do not support",
        ),
        (
            lambda: nn.Sequential(
                nn.Conv2d(2, 4, 3),
                snn.Leaky(beta=0.9),
                nn.AdaptiveMaxPool2d(2),
                nn.Flatten(),
                nn.Linear(16, 4),
                snn.Leaky(beta=0.9),
            ),
            SnnTorchAdapter,
            r"layer 2 .*AdaptiveMaxPool2d\) is a pooling layer .* do not support",
        ),
        (
            lambda: nn.Sequential(nn.Linear(3, 10), snn.Lapicque(beta=0.9)),
            SnnTorchAdapter,
            r"layer 1 .*Lapicque\) is a neuron type .* does not know",
        ),
        (
            lambda: nn.Sequential(snn.Leaky(beta=0.9), nn.Linear(3, 4), snn.Leaky(beta=0.9)),
            SnnTorchAdapter,
            r"layer 0 .*Leaky\) is a neuron layer not preceded by an nn.Linear",
        ),
        (
            lambda: nn.Sequential(
                nn.Linear(3, 10), nn.ReLU(), nn.Linear(10, 4), snn.Leaky(beta=0.9)
            ),
            SnnTorchAdapter,
            r"layer 1 .*ReLU\) is not a layer TSA can explain",
        ),
        (
            lambda: nn.Sequential(nn.Linear(3, 10), snn.Leaky(beta=0.9), nn.Linear(10, 4)),
            SnnTorchAdapter,
            r"layer 2 .*Linear\) is the last layer",
        ),
        (
            lambda: nn.Sequential(
                nn.Linear(3, 10), snn.Leaky(beta=0.9), nn.Linear(9, 4), snn.Leaky(beta=0.9)
            ),
            SnnTorchAdapter,
            r"layer 2 .* takes 9 inputs but layer 1 .* has 10 neurons",
        ),
        (
            lambda: norse.SequentialState(nn.Linear(3, 10), norse.LIFRecurrentCell(10, 10)),
            NorseAdapter,
            r"layer 1 .*LIFRecurrentCell\) is recurrent",
        ),
        (
            lambda: norse.SequentialState(nn.Linear(3, 10), norse.LIFAdExCell()),
            NorseAdapter,
            r"layer 1 .*LIFAdExCell\) is a neuron type",
        ),
        (
            lambda: norse.SequentialState(norse.LILinearCell(3, 4)),
            NorseAdapter,
            r"layer 0 .*LILinearCell\) holds its own weights",
        ),
        (
            lambda: norse.SequentialState(
                nn.Linear(3, 10), norse.LICell(), nn.Linear(10, 4), norse.LIFCell()
            ),
            NorseAdapter,
            r"layer 2 .* follows the non-spiking read-out layer 1",
        ),
        (
            lambda: norse.SequentialState(nn.Conv3d(1, 2, 3), norse.LIFCell()),
            NorseAdapter,
            r"layer 0 .*Conv3d\) is a convolution",
        ),
    ],
    ids=[
        "snntorch-recurrent",
        "snntorch-conv",
        "snntorch-pool",
        "snntorch-other-neuron",
        "snntorch-neuron-first",
        "snntorch-relu",
        "snntorch-linear-last",
        "snntorch-shapes",
        "norse-recurrent",
        "norse-other-neuron",
        "norse-linear-cell",
        "norse-readout-in-the-middle",
        "norse-conv",
    ],
)
def test_unsupported_layers_are_refused_by_name(
    build: Callable[[], nn.Module], adapter: type, message: str
) -> None:
    with pytest.raises(UnsupportedLayerError, match=message) as caught:
        adapter(build())
    assert isinstance(caught.value, ExplanationError)
    if re.search("recurrent|convolution|pooling|neuron type|not a layer", message):
        assert "Supported: feed-forward stacks of torch.nn.Linear" in str(caught.value)


@pytest.mark.parametrize(
    ("beta", "message"),
    [
        (torch.linspace(0.5, 0.9, 4), r"layer 1 .*Leaky\) has one beta per neuron"),
        (torch.tensor(1.0), r"layer 1 .*beta = 1 .*0 < beta < 1"),
    ],
    ids=["per-neuron-beta", "no-leak"],
)
def test_snntorch_decays_tsa_cannot_use_are_refused_by_tsa_only(
    beta: torch.Tensor, message: str
) -> None:
    """TSA has one decay per layer in (0, 1); the exact LIF attribution takes any decay in
    [0, 1], per neuron, so the adapter accepts the model and TSA refuses it when it is asked."""
    net = nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=beta, init_hidden=True))
    adapter = SnnTorchAdapter(net)
    spikes = torch.ones(1, 6, 3)
    with pytest.raises(UnsupportedLayerError, match=message):
        TSA(adapter, "ns").attribute(spikes)
    maps = make_explainer("lif_z", adapter).attribute(spikes).values
    assert tuple(maps.shape) == (1, 4, 3, 6) and bool(torch.isfinite(maps).all())


@pytest.mark.parametrize(
    ("tau_mem_inv", "message"),
    [
        (torch.tensor([100.0, 100.0, 50.0, 100.0]), r"layer 1 .*LIFCell\) has one tau_mem_inv"),
        (torch.tensor(1000.0), r"layer 1 .*beta = 0 \(1 - dt \* tau_mem_inv"),
    ],
    ids=["per-neuron-tau", "beta-zero"],
)
def test_norse_decays_tsa_cannot_use_are_refused_by_tsa_only(
    tau_mem_inv: torch.Tensor, message: str
) -> None:
    """As for snnTorch: the exact LIF attribution takes per-neuron time constants and a decay
    of 0; TSA refuses them when it is asked for a map."""
    parameters = _norse_parameters(tau_mem_inv=tau_mem_inv)
    adapter = NorseAdapter(norse.SequentialState(nn.Linear(3, 4), norse.LIFCell(parameters)))
    spikes = torch.ones(1, 6, 3)
    with pytest.raises(UnsupportedLayerError, match=message):
        TSA(adapter, "ns").attribute(spikes)
    maps = make_explainer("lif_z", adapter).attribute(spikes).values
    assert tuple(maps.shape) == (1, 4, 3, 6) and bool(torch.isfinite(maps).all())


def test_adapt_picks_the_library_and_refuses_others() -> None:
    assert isinstance(adapt(nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5))), SnnTorchAdapter)
    assert isinstance(adapt(nn.Sequential(nn.Linear(3, 4), norse.LIFCell())), NorseAdapter)
    with pytest.raises(ExplanationError, match="no snnTorch or Norse layer"):
        adapt(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))


def test_input_width_is_checked(snn_sequential: nn.Sequential) -> None:
    with pytest.raises(ExplanationError, match="takes 3"):
        TSA(SnnTorchAdapter(snn_sequential), "s").attribute(torch.ones(1, 10, 5))


def test_time_first_input_gives_the_batch_first_maps(snn_sequential: nn.Sequential) -> None:
    # snnTorch's spikegen and Norse's encoders make [T, B, N]: with time_first=True the adapter
    # takes that layout and returns the same batch-first maps as for the transposed spikes
    spikes = _windows(12, seed=4)[0][:, :8]  # 12 windows of 8 steps: more windows than steps
    for adapter_class, model in ((SnnTorchAdapter, snn_sequential), (NorseAdapter, _norse_cells())):
        plain = TSA(adapter_class(model), "ns").attribute(spikes)
        turned = TSA(adapter_class(model, time_first=True), "ns").attribute(spikes.transpose(0, 1))
        assert tuple(turned.values.shape) == (12, 4, 3, 8)
        torch.testing.assert_close(turned.values, plain.values, rtol=0, atol=0)
    assert adapt(snn_sequential, time_first=True).time_first


def test_an_ambiguous_batch_first_call_warns_how_to_be_explicit(
    snn_sequential: nn.Sequential,
) -> None:
    adapter = SnnTorchAdapter(snn_sequential)
    ambiguous = _windows(12, seed=4)[0][:, :8]  # B = 12 > T = 8: perhaps [T, B, N]
    with pytest.warns(LayoutWarning, match=r"12 windows of 8 steps.*time_first=True"):
        TSA(adapter, "s").attribute(ambiguous)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        TSA(adapter, "s").attribute(ambiguous[:4])  # B = 4 < T = 8: no warning
        explicit = SnnTorchAdapter(snn_sequential, time_first=True)
        TSA(explicit, "s").attribute(ambiguous.transpose(0, 1))  # said so: no warning
