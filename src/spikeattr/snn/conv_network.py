"""A convolutional network of LIF layers (SPEC 3 dynamics) as a ``torch.nn.Module``.

The layers are declared as data (:mod:`spikeattr.snn.conv_layers`): convolutions, pooling,
flatten and dense layers act on the input currents of one step; every ``lif`` layer is a layer
of current-based LIF neurons with the network's ``dt``, ``tau_syn``, ``tau_mem`` and
threshold, exactly the dynamics of :class:`~spikeattr.snn.network.LIFNetwork` (the same
compiled kernels), one neuron per unit. Because the operations between two neuron layers have no
memory, they run on all steps of a window at once (``[B * T, *shape]``); only the neurons loop
over time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spikeattr.errors import DataFormatError
from spikeattr.snn.conv_layers import (
    LIF,
    Conv,
    Flatten,
    LayerSpec,
    Linear,
    Pool,
    Shape,
    layer_record,
    resolve_layers,
    weight_shapes,
)
from spikeattr.snn.lif import LIFParameters, LIFState, zero_state
from spikeattr.snn.network import (
    Backend,
    LIFNetwork,
    NetworkOutput,
    SeriesPrediction,
    WeightedLIFModule,
    lif_layer,
    lif_mode,
    predict_last,
    predict_series,
)


@dataclass
class ConvTrace:
    """A forward pass with what TSA needs (:meth:`ConvLIFNetwork.record`).

    Attributes:
        inputs: the input spikes ``[B, T, *input_shape]``.
        layer_spikes: spikes of every neuron layer ``[B, T, *shape]`` (the last: the output).
        pooled: for every max pooling (by its position in ``layers``), the values it pooled at
            each step ``[B, T, *shape]`` (spikes, or currents when it comes before neurons).
        membrane: output-layer membrane ``[B, T, C]``.
    """

    inputs: torch.Tensor
    layer_spikes: list[torch.Tensor]
    pooled: dict[int, torch.Tensor]
    membrane: torch.Tensor


def input_names_for(input_shape: Shape) -> tuple[str, ...]:
    """Default names of the flattened inputs: ``c0_y3_x7`` (2-D) or ``c0_x7`` (1-D)."""
    axes = ["c", "y", "x"] if len(input_shape) == 3 else ["c", "x"][: len(input_shape)]
    if len(input_shape) > 3:
        axes = [f"d{i}_" for i in range(len(input_shape))]
    return tuple(
        "_".join(f"{a}{i}" for a, i in zip(axes, index, strict=True))
        for index in np.ndindex(*input_shape)
    )


class ConvLIFNetwork(WeightedLIFModule):
    """Convolutional LIF network: ``layers`` (see :mod:`~spikeattr.snn.conv_layers`) on inputs of
    shape ``input_shape``; the last layer's neurons are the classes.

    Spikes go in as ``[B, T, *input_shape]`` or flattened ``[B, T, n_inputs]`` (the data file's
    layout); the output is a :class:`~spikeattr.snn.network.NetworkOutput` whose
    ``layer_spikes`` and ``state`` are flattened per layer ``[B, T, n_l]`` / ``[B, n_l]``, as for
    :class:`~spikeattr.snn.network.LIFNetwork`, so training, accuracy and evaluation code runs
    both.

    Example:
        >>> net = ConvLIFNetwork((2, 8, 8), ["conv 4 3 stride=2", "lif", "flatten",
        ...                      "linear 3", "lif"], seed=0)
        >>> net.layer_sizes, tuple(net(torch.ones(1, 5, 2, 8, 8)).membrane.shape)
        ((128, 36, 3), (1, 5, 3))
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        layers: Sequence[str | dict[str, Any]],
        dt: float = 1e-3,
        tau_syn: float = 1e-2,
        tau_mem: float = 1e-3,
        input_names: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
        weights: Sequence[torch.Tensor | np.ndarray] | None = None,
        seed: int | None = None,
        name: str = "unnamed",
        threshold: float = 1.0,
    ) -> None:
        super().__init__()
        self.name = name
        self.provenance: dict[str, Any] = {}
        self.input_shape: Shape = tuple(int(n) for n in input_shape)
        if not self.input_shape or min(self.input_shape) < 1:
            raise ValueError(f"input_shape must list positive sizes; got {list(input_shape)}")
        specs, shapes = resolve_layers(list(layers), self.input_shape)
        self.layers: tuple[LayerSpec, ...] = tuple(specs)
        self.shapes: tuple[Shape, ...] = tuple(shapes)
        self.neuron_shapes: tuple[Shape, ...] = tuple(
            shape for spec, shape in zip(specs, shapes, strict=True) if isinstance(spec, LIF)
        )
        self.layer_sizes: tuple[int, ...] = (
            math.prod(self.input_shape),
            *(math.prod(shape) for shape in self.neuron_shapes),
        )
        self.params = LIFParameters(dt=dt, tau_syn=tau_syn, tau_mem=tau_mem, threshold=threshold)
        n_in, n_classes = self.layer_sizes[0], self.layer_sizes[-1]
        self.input_names: tuple[str, ...] = tuple(
            input_names if input_names is not None else input_names_for(self.input_shape)
        )
        self.class_names: tuple[str, ...] = tuple(
            class_names if class_names is not None else (f"class{c}" for c in range(n_classes))
        )
        if len(self.input_names) != n_in:
            raise ValueError(f"{len(self.input_names)} input names for {n_in} inputs")
        if len(self.class_names) != n_classes:
            raise ValueError(f"{len(self.class_names)} class names for {n_classes} classes")
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.empty(shape)) for shape in weight_shapes(specs, self.input_shape)]
        )
        if weights is not None:
            self.load_weights(weights)
        else:
            self.reset_parameters(seed)

    # -- parameters --------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L`` (= neuron layers)."""
        return len(self.neuron_shapes)

    def layer_records(self) -> list[dict[str, Any]]:
        """The layers as JSON records (what a checkpoint stores)."""
        return [layer_record(spec) for spec in self.layers]

    def reset_parameters(self, seed: int | None = None) -> None:
        """Normal init with std ``7 (1 - beta) / sqrt(fan_in)``, as :class:`LIFNetwork`."""
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        scale = 7.0 * (1.0 - self.beta)
        with torch.no_grad():
            for weight in self.weights:
                fan_in = weight.shape[0] if weight.ndim == 2 else math.prod(weight.shape[1:])
                std = scale / math.sqrt(fan_in)
                weight.copy_(torch.randn(weight.shape, generator=generator) * std)

    # -- simulation --------------------------------------------------------------------------
    def shaped(self, spikes: torch.Tensor) -> torch.Tensor:
        """``spikes`` as ``[B, T, *input_shape]`` (flattened ``[B, T, n_inputs]`` accepted)."""
        if spikes.ndim >= 3 and tuple(spikes.shape[2:]) == self.input_shape:
            return spikes
        if spikes.ndim == 3 and spikes.shape[2] == self.layer_sizes[0]:
            return spikes.reshape(*spikes.shape[:2], *self.input_shape)
        raise DataFormatError(
            f"spikes must have shape [B, T, {', '.join(map(str, self.input_shape))}] or "
            f"[B, T, n_inputs={self.layer_sizes[0]}]; got {tuple(spikes.shape)}"
        )

    def _layer(self, spec: LayerSpec, x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        """One non-neuron layer on frames ``x [N, *shape]``."""
        if isinstance(spec, Conv):
            conv: Any = F.conv1d if len(spec.kernel) == 1 else F.conv2d
            return conv(x, weight, None, spec.stride, spec.padding, spec.dilation, spec.groups)
        if isinstance(spec, Pool):
            pools: dict[tuple[str, int], Any] = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d}
            pools |= {("avg", 1): F.avg_pool1d, ("avg", 2): F.avg_pool2d}
            result: torch.Tensor = pools[(spec.mode, len(spec.kernel))](x, spec.kernel, spec.stride)
            return result
        if isinstance(spec, Flatten):
            return x.reshape(x.shape[0], -1)
        assert isinstance(spec, Linear) and weight is not None
        return torch.matmul(x, weight)

    def _run(
        self,
        spikes: torch.Tensor,
        state: list[LIFState] | None,
        backend: Backend,
        pooled: dict[int, torch.Tensor] | None,
    ) -> tuple[list[torch.Tensor], torch.Tensor, list[LIFState]]:
        """Spikes of every neuron layer ``[B, T, n_l]``, output membrane, final state."""
        x = self.shaped(spikes).to(self.weights[0].dtype)
        batch, steps = x.shape[:2]
        needs_grad = torch.is_grad_enabled() and (
            spikes.requires_grad
            or any(w.requires_grad for w in self.weights)
            or any(s.syn.requires_grad or s.mem.requires_grad for s in state or ())
        )
        mode = lif_mode(backend, x, needs_grad)
        frames = x.reshape(batch * steps, *self.input_shape)
        weights = iter(self.weights)
        emitted: list[torch.Tensor] = []
        new_state: list[LIFState] = []
        membrane = x
        for position, spec in enumerate(self.layers):
            if not isinstance(spec, LIF):
                if pooled is not None and isinstance(spec, Pool) and spec.mode == "max":
                    pooled[position] = frames.reshape(batch, steps, *frames.shape[1:])
                weighted = isinstance(spec, (Conv, Linear))
                frames = self._layer(spec, frames, next(weights) if weighted else None)
                continue
            currents = frames.reshape(batch, steps, -1)
            index = len(new_state)
            layer_state = (
                state[index]
                if state is not None
                else zero_state(batch, currents.shape[2], currents)
            )
            out, membrane, layer_state = lif_layer(currents, layer_state, self.params, mode)
            out = out.to(device=x.device)
            membrane = membrane.to(device=x.device)
            new_state.append(layer_state)
            emitted.append(out)
            frames = out.reshape(batch * steps, *self.shapes[position])
        return emitted, membrane, new_state

    def forward(
        self,
        spikes: torch.Tensor,
        state: list[LIFState] | None = None,
        backend: Backend = "auto",
    ) -> NetworkOutput:
        """Simulate on ``spikes [B, T, *input_shape]`` (or ``[B, T, n_inputs]``) from ``state``
        (zero if ``None``); backends as :meth:`LIFNetwork.forward`."""
        emitted, membrane, new_state = self._run(spikes, state, backend, None)
        return NetworkOutput(membrane=membrane, layer_spikes=emitted[:-1], state=new_state)

    @torch.no_grad()
    def record(self, spikes: torch.Tensor) -> ConvTrace:
        """A forward pass from zero state keeping what TSA needs (see :class:`ConvTrace`)."""
        pooled: dict[int, torch.Tensor] = {}
        emitted, membrane, _ = self._run(spikes, None, "auto", pooled)
        inputs = self.shaped(spikes)
        batch, steps = inputs.shape[:2]
        layer_spikes = [
            spikes_l.reshape(batch, steps, *shape)
            for spikes_l, shape in zip(emitted, self.neuron_shapes, strict=True)
        ]
        return ConvTrace(inputs, layer_spikes, pooled, membrane)

    def predict_last(self, spikes: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities at the last step of each window ``[B, T, ...] -> [B, C]``, each
        window from zero state."""
        self.shaped(spikes)
        return predict_last(self, spikes, batch_size)

    def predict_series(
        self,
        spikes: np.ndarray | torch.Tensor,
        chunk_size: int = 8_192,
        keep_probs: bool = True,
        progress: Callable[[int], Any] | None = None,
    ) -> SeriesPrediction:
        """Run one long series ``[T, n_inputs]`` from zero state in chunks, carrying the state
        (see :meth:`LIFNetwork.predict_series`)."""
        return predict_series(self, spikes, chunk_size, keep_probs, progress)

    def extra_repr(self) -> str:
        return (
            f"input_shape={list(self.input_shape)}, layers={self.layer_records()}, "
            f"dt={self.params.dt}, tau_syn={self.params.tau_syn}, "
            f"tau_mem={self.params.tau_mem}, threshold={self.params.threshold}"
        )


SpikingNetwork = LIFNetwork | ConvLIFNetwork
"""A spikeattr network: dense (:class:`LIFNetwork`) or convolutional."""
