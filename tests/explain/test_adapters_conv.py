"""snnTorch and Norse convolutional models: TSA through the adapter equals SPEC 4 literally.

Each model is built from the library's own layers with convolutions and pooling (max pooling
before the neurons, over input currents, and after them, over spikes; average pooling), trained
for a few Adam steps on windows of a small generated event task, then explained. The oracle
records the spikes and the pooled values with forward hooks on the model's own forward pass,
expands every layer into its dense matrix (``literal_maps``) and multiplies SPEC 4 out per step
in float64; maps must agree to 1e-9 of their largest value.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import norse.torch as norse
import numpy as np
import pytest
import snntorch as snn
import snntorch.utils as snn_utils
import torch
from torch import nn

from spikeattr.data.events import generate_events
from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA
from spikeattr.explain.adapters import NorseAdapter, SnnTorchAdapter
from spikeattr.explain.online import OnlineExplainer
from spikeattr.explain.recording import MapRecording

from .literal import softmax
from .literal_maps import dense_matrix, max_pool_geometry, tsa_literal_maps
from .test_adapters import adam_steps

VARIANTS = ("s", "ns", "sam")
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: one thread is faster
WINDOW = 20
GRID = 8


def _windows(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    task = generate_events(seed=11, grid=GRID, splits={"train": 800}, noise=0.03)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 800 - WINDOW, size=count)
    series = task.series
    spikes = np.stack([series.spikes[s : s + WINDOW] for s in starts]).astype(np.float32)
    labels = np.stack([series.labels[s : s + WINDOW] for s in starts]).astype(np.int64)
    return torch.from_numpy(spikes).reshape(count, WINDOW, 2, GRID, GRID), torch.from_numpy(labels)


def _train(model: nn.Module, membranes: Callable[[torch.Tensor], torch.Tensor]) -> None:
    adam_steps(model, membranes, *_windows(8, seed=0), steps=3)


@pytest.fixture(scope="module")
def windows() -> torch.Tensor:
    return _windows(2, seed=1)[0]


class Hooks:
    """Records, at every call of the model, the outputs of its neuron layers and the inputs of
    its max poolings (the oracle's own recording, independent of the adapter)."""

    def __init__(self, neurons: list[nn.Module], pools: list[nn.Module]) -> None:
        self.spikes: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(neurons))}
        self.pooled: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(pools))}
        for index, module in enumerate(neurons):
            module.register_forward_hook(self._spike_hook(index))
        for index, module in enumerate(pools):
            module.register_forward_pre_hook(self._pool_hook(index))

    def _spike_hook(self, index: int) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            first = output[0] if isinstance(output, tuple) else output
            self.spikes[index].append(first.detach().clone())

        return hook

    def _pool_hook(self, index: int) -> Any:
        def hook(module: nn.Module, inputs: Any) -> None:
            self.pooled[index].append(inputs[0].detach().clone())

        return hook


#: Dense matrices of the modules, per module (held weakly: a module's ``id`` may be reused by
#: another once it is freed, so the cache is keyed by the module itself) and (mode, shape).
_DENSE: weakref.WeakKeyDictionary[nn.Module, dict[tuple[str, tuple[int, ...]], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _stage_matrix(
    ops: list[nn.Module],
    in_shape: tuple[int, ...],
    pooled: dict[int, np.ndarray],
    t: int,
    variant: str,
    scale: float,
) -> np.ndarray:
    """The dense matrix of one stage at step ``t`` (max pooling by its recorded values)."""
    product = np.eye(math.prod(in_shape))
    shape = in_shape
    for op in ops:
        with torch.no_grad():
            out_shape = tuple(op(torch.zeros(1, *shape)).shape[1:])
        if isinstance(op, (nn.MaxPool1d, nn.MaxPool2d)):
            geometry = max_pool_geometry(op, shape)
            matrix = geometry.routing(pooled[id(op)][t].reshape(-1).astype(np.float64))
        else:
            cached = _DENSE.setdefault(op, {})
            key = ("ones" if variant == "sam" else "weights", shape)
            if key not in cached:
                cached[key] = dense_matrix(_double(op, ones=variant == "sam"), shape)
            matrix = cached[key]
        product = product @ matrix
        shape = out_shape
    return product * (1.0 if variant == "sam" else scale)


def _double(module: nn.Module, ones: bool) -> nn.Module:
    import copy

    clone = copy.deepcopy(module).double()
    if ones and hasattr(clone, "weight"):
        with torch.no_grad():
            clone.weight.fill_(1.0)
    return clone


def _check(
    adapter: SnnTorchAdapter | NorseAdapter,
    spikes: torch.Tensor,
    stages: list[list[nn.Module]],
    layer_spikes: list[torch.Tensor],  # [B, T, *shape] of every neuron layer but the last
    pooled: dict[int, torch.Tensor],  # id(pool) -> [B, T, *shape]
    scores: torch.Tensor,
    betas: list[float],
    scales: list[float],
) -> None:
    recording = adapter.record_spikes(spikes)
    assert isinstance(recording, MapRecording)
    for mine, theirs in zip(recording.layer_inputs[1:], layer_spikes, strict=True):
        assert torch.equal(mine, (theirs != 0).to(mine.dtype))
        assert 0 < float(mine.mean()) < 1  # neither silent nor saturated
    torch.testing.assert_close(recording.scores, scores, rtol=0, atol=0)
    assert adapter.betas() == pytest.approx(betas, rel=1e-12)
    inputs_shapes = [tuple(spikes.shape[2:]), *(tuple(s.shape[2:]) for s in layer_spikes)]
    for variant in VARIANTS:
        result = TSA(adapter, variant).attribute(spikes, dtype=torch.float64)
        assert tuple(result.values.shape) == (spikes.shape[0], 10, *spikes.shape[2:], WINDOW)
        for b in range(spikes.shape[0]):
            pools = {key: value[b].numpy() for key, value in pooled.items()}
            inputs = [spikes[b].reshape(WINDOW, -1).double().numpy()] + [
                (s[b] != 0).reshape(WINDOW, -1).double().numpy() for s in layer_spikes
            ]

            def matrices(
                layer: int, t: int, variant: str = variant, pools: dict[int, Any] = pools
            ) -> np.ndarray:
                return _stage_matrix(
                    stages[layer], inputs_shapes[layer], pools, t, variant, scales[layer]
                )

            probs = softmax(scores[b].double().numpy())
            slow = tsa_literal_maps(inputs, matrices, betas, probs, variant)
            fast = result.values[b].reshape(10, -1, WINDOW).numpy()
            assert np.abs(slow).max() > 0
            np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9 * np.abs(slow).max())


# -- snnTorch -----------------------------------------------------------------------------------
def _snn_conv() -> nn.Sequential:
    torch.manual_seed(4)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),  # [4, 8, 8]
        nn.MaxPool2d(2),  # over input currents: [4, 4, 4]
        snn.Leaky(beta=0.8, init_hidden=True),
        nn.Conv2d(4, 6, 2, bias=False),  # [6, 3, 3]
        snn.Leaky(beta=0.85, init_hidden=True),
        nn.AvgPool2d(2, stride=1),  # over spikes: [6, 2, 2]
        nn.Flatten(),
        nn.Linear(24, 10),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[3].weight.mul_(2.0)

    def membranes(spikes: torch.Tensor) -> torch.Tensor:
        snn_utils.reset(net)
        return torch.stack([net(spikes[:, t])[1] for t in range(spikes.shape[1])], 1)

    _train(net, membranes)
    return net


def test_snntorch_convolutional_sequential_equals_literal_tsa(windows: torch.Tensor) -> None:
    net: Any = _snn_conv()
    hooks = Hooks([net[2], net[4]], [net[1]])
    with torch.no_grad():
        snn_utils.reset(net)
        for t in range(WINDOW):
            _, mem = net(windows[:, t])
    adapter = SnnTorchAdapter(net)
    assert not adapter.is_dense and adapter.ignored_biases == ["0", "7"]
    _check(
        adapter,
        windows,
        stages=[[net[0], net[1]], [net[3]], [net[5], net[6], net[7]]],
        layer_spikes=[torch.stack(hooks.spikes[i], 1) for i in (0, 1)],
        pooled={id(net[1]): torch.stack(hooks.pooled[0], 1)},
        scores=mem,
        betas=[float(net[i].beta) for i in (2, 4, 8)],
        scales=[1.0, 1.0, 1.0],
    )
    with pytest.raises(ExplanationError, match=r"live explainer .* dense layers only"):
        OnlineExplainer(adapter)


def test_snntorch_conv1d_with_max_pooling_over_spikes(windows: torch.Tensor) -> None:
    torch.manual_seed(5)
    net: Any = nn.Sequential(
        nn.Conv1d(2, 4, 3, stride=2),  # on [2, 64] rows: [4, 31]
        snn.Leaky(beta=0.8, init_hidden=True),
        nn.MaxPool1d(3, stride=2),  # over spikes: [4, 15]
        nn.Flatten(),
        nn.Linear(60, 10),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    flat = windows.reshape(*windows.shape[:2], 2, GRID * GRID)
    hooks = Hooks([net[1]], [net[2]])
    with torch.no_grad():
        snn_utils.reset(net)
        for t in range(WINDOW):
            _, mem = net(flat[:, t])
    _check(
        SnnTorchAdapter(net),
        flat,
        stages=[[net[0]], [net[2], net[3], net[4]]],
        layer_spikes=[torch.stack(hooks.spikes[0], 1)],
        pooled={id(net[2]): torch.stack(hooks.pooled[0], 1)},
        scores=mem,
        betas=[float(net[i].beta) for i in (1, 5)],
        scales=[1.0, 1.0],
    )


# -- Norse --------------------------------------------------------------------------------------
def test_norse_convolutional_cells_equal_literal_tsa(windows: torch.Tensor) -> None:
    torch.manual_seed(6)
    p = norse.LIFParameters(tau_mem_inv=torch.as_tensor(200.0), v_th=torch.as_tensor(0.3))
    net: Any = norse.SequentialState(
        nn.Conv2d(2, 4, 3, stride=2, bias=False),  # [4, 3, 3]
        norse.LIFCell(p=p),
        nn.MaxPool2d(2, stride=1),  # over spikes: [4, 2, 2]
        nn.Flatten(),
        nn.Linear(16, 10),
        norse.LICell(),
    )
    with torch.no_grad():
        net[0].weight.mul_(4.0)

    def membranes(spikes: torch.Tensor) -> torch.Tensor:
        state = None
        outputs = []
        for t in range(spikes.shape[1]):
            out, state = net(spikes[:, t], state)
            outputs.append(out)
        return torch.stack(outputs, 1)

    _train(net, membranes)
    hooks = Hooks([net[1]], [net[2]])
    with torch.no_grad():
        state = None
        for t in range(WINDOW):
            _, state = net(windows[:, t], state)
    _check(
        NorseAdapter(net),
        windows,
        stages=[[net[0]], [net[2], net[3], net[4]]],
        layer_spikes=[torch.stack(hooks.spikes[0], 1)],
        pooled={id(net[2]): torch.stack(hooks.pooled[0], 1)},
        scores=state[-1].v,
        betas=[0.8, 0.9],
        scales=[0.2, 0.1],
    )


class NorseSequenceNet(nn.Module):
    """Norse's whole-sequence modules, time first, convolution applied to every step."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.conv = nn.Conv2d(2, 4, 3, stride=2)
        self.lif = norse.LIF(p=norse.LIFParameters(v_th=torch.as_tensor(0.3)))
        self.pool = nn.AvgPool2d(2, stride=1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, 10)
        self.out = norse.LI()
        with torch.no_grad():
            self.conv.weight.mul_(4.0)

    def forward(self, spikes: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """``spikes [T, B, 2, H, W]`` -> (read-out ``[T, B, 10]``, its final state)."""
        steps, batch = spikes.shape[:2]
        currents = self.conv(spikes.flatten(0, 1)).unflatten(0, (steps, batch))
        fired, _ = self.lif(currents)
        pooled = self.fc(self.flat(self.pool(fired.flatten(0, 1)))).unflatten(0, (steps, batch))
        return self.out(pooled)


def test_norse_sequence_modules_with_convolutions(windows: torch.Tensor) -> None:
    net = NorseSequenceNet()
    _train(net, lambda spikes: net(spikes.transpose(0, 1))[0].transpose(0, 1))
    hooks = Hooks([net.lif], [])
    with torch.no_grad():
        _, state = net(windows.transpose(0, 1))
    fired = hooks.spikes[0][0].transpose(0, 1)  # [B, T, 4, 3, 3]
    _check(
        NorseAdapter(net),
        windows,
        stages=[[net.conv], [net.pool, net.flat, net.fc]],
        layer_spikes=[fired],
        pooled={},
        scores=state.v,
        betas=[0.9, 0.9],
        scales=[0.1, 0.1],
    )


def test_pooling_a_flat_activity_is_refused_by_name(windows: torch.Tensor) -> None:
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(128, 8),
        snn.Leaky(beta=0.9, init_hidden=True),
        nn.MaxPool1d(2),
        nn.Linear(4, 10),
        snn.Leaky(beta=0.9, init_hidden=True),
    )
    with pytest.raises(ExplanationError, match=r"layer 3 .*MaxPool1d\) pools a flat activity"):
        TSA(SnnTorchAdapter(net), "s").attribute(windows)
