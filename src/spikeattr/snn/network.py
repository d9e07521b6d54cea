"""A feed-forward stack of LIF layers (SPEC 3) as a ``torch.nn.Module``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from spikeattr.errors import DataFormatError, ModelDataMismatchError
from spikeattr.snn.fused import FUSED_DTYPES, lif_layer_fused
from spikeattr.snn.lif import LIFParameters, LIFState, lif_layer_torch, zero_state

Backend = Literal["auto", "torch", "numba", "fused"]


@dataclass
class NetworkOutput:
    """What one forward pass produces.

    Attributes:
        membrane: output-layer membrane ``[B, T, C]`` (the class scores, before log-softmax).
        layer_spikes: spikes of each hidden layer ``[B, T, n_l]`` (``l = 1 .. L-1``), if recorded.
        state: the state of every layer after the last step (pass it back to continue).
    """

    membrane: torch.Tensor
    layer_spikes: list[torch.Tensor]
    state: list[LIFState]

    @property
    def log_probs(self) -> torch.Tensor:
        """Per-step log-softmax over classes ``[B, T, C]``."""
        return torch.log_softmax(self.membrane, dim=-1)

    @property
    def probs(self) -> torch.Tensor:
        """Per-step softmax over classes ``[B, T, C]``."""
        return torch.softmax(self.membrane, dim=-1)


@dataclass
class SeriesPrediction:
    """Per-step outputs of a network run over a long series from zero state.

    Attributes:
        predicted: int64 ``[T]`` argmax class per step.
        probs: float32 ``[T, C]`` softmax of the output membrane (``None`` if not kept).
    """

    predicted: np.ndarray
    probs: np.ndarray | None


class WeightedLIFModule(nn.Module):
    """What a dense and a convolutional LIF network share: the LIF parameters (``params``), the
    decays, the data check and the checked copy of weights into ``weights``."""

    params: LIFParameters
    weights: nn.ParameterList
    input_names: tuple[str, ...]
    class_names: tuple[str, ...]

    @property
    def alpha(self) -> float:
        """Synaptic decay per step."""
        return self.params.alpha

    @property
    def beta(self) -> float:
        """Membrane decay per step (TSA's decay)."""
        return self.params.beta

    def _weight_note(self, index: int) -> str:
        """What weight ``index``'s shape means, appended to a shape error (e.g. `` [n_0, n_1]``)."""
        return ""

    def load_weights(self, weights: Sequence[torch.Tensor | np.ndarray]) -> None:
        """Copy ``weights`` (one tensor per weight layer, in order) in, checking every shape."""
        if len(weights) != len(self.weights):
            raise ValueError(f"expected {len(self.weights)} weight tensors; got {len(weights)}")
        with torch.no_grad():
            for index, (target, value) in enumerate(zip(self.weights, weights, strict=True)):
                tensor = torch.as_tensor(
                    np.asarray(value) if isinstance(value, np.ndarray) else value
                )
                if tuple(tensor.shape) != tuple(target.shape):
                    raise ValueError(
                        f"W{index} must have shape {tuple(target.shape)}"
                        f"{self._weight_note(index)}; got {tuple(tensor.shape)}"
                    )
                target.copy_(tensor.to(target.dtype))

    def check_data(
        self,
        input_names: Sequence[str],
        class_names: Sequence[str] | None = None,
    ) -> None:
        """Raise :class:`ModelDataMismatchError` unless the data's inputs (and classes) match."""
        check_names(self, input_names, class_names)


class LIFNetwork(WeightedLIFModule):
    """``L`` weight matrices ``W_l [n_l, n_{l+1}]``, each followed by a LIF layer; no bias.

    The output is the membrane of the last layer; class scores per step are its log-softmax.

    Examples:
        >>> net = LIFNetwork([3, 10, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)
        >>> out = net(torch.ones(2, 50, 3))
        >>> tuple(out.membrane.shape)
        (2, 50, 4)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
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
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ValueError(
                f"layer_sizes needs at least an input and an output size, all >= 1; got {sizes}"
            )
        self.layer_sizes: tuple[int, ...] = tuple(sizes)
        self.params = LIFParameters(dt=dt, tau_syn=tau_syn, tau_mem=tau_mem, threshold=threshold)
        self.input_names: tuple[str, ...] = tuple(
            input_names if input_names is not None else (f"in{i}" for i in range(sizes[0]))
        )
        self.class_names: tuple[str, ...] = tuple(
            class_names if class_names is not None else (f"class{c}" for c in range(sizes[-1]))
        )
        if len(self.input_names) != sizes[0]:
            raise ValueError(f"{len(self.input_names)} input names for {sizes[0]} inputs")
        if len(self.class_names) != sizes[-1]:
            raise ValueError(f"{len(self.class_names)} class names for {sizes[-1]} classes")
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.empty(n_in, n_out)) for n_in, n_out in itertools.pairwise(sizes)]
        )
        if weights is not None:
            self.load_weights(weights)
        else:
            self.reset_parameters(seed)

    # -- parameters --------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.weights)

    def reset_parameters(self, seed: int | None = None) -> None:
        """Normal init with std ``7 (1 - beta) / sqrt(n_in)`` (the usual SNN tutorial scale)."""
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        scale = 7.0 * (1.0 - self.beta)
        with torch.no_grad():
            for weight in self.weights:
                std = scale / math.sqrt(weight.shape[0])
                weight.copy_(torch.randn(weight.shape, generator=generator) * std)

    def _weight_note(self, index: int) -> str:
        return f" [n_{index}, n_{index + 1}]"

    # -- simulation --------------------------------------------------------------------------
    def _check_spikes(self, spikes: torch.Tensor) -> None:
        if spikes.ndim != 3 or spikes.shape[-1] != self.layer_sizes[0]:
            raise DataFormatError(
                f"spikes must have shape [B, T, n_inputs={self.layer_sizes[0]}]; "
                f"got {tuple(spikes.shape)}"
            )

    def forward(
        self,
        spikes: torch.Tensor,
        state: list[LIFState] | None = None,
        backend: Backend = "auto",
    ) -> NetworkOutput:
        """Simulate the network on ``spikes [B, T, n_inputs]`` from ``state`` (zero if ``None``).

        ``backend="auto"`` uses the compiled CPU kernel when no gradient is needed and the data
        is on the CPU, the fused differentiable CPU layer (:mod:`spikeattr.snn.fused`, forward
        and backward compiled) when gradients are needed, else (other devices) the per-step
        torch loop; all give the same numbers and the same gradients.
        """
        self._check_spikes(spikes)
        dtype = self.weights[0].dtype
        x = spikes.to(dtype)
        needs_grad = torch.is_grad_enabled() and (
            spikes.requires_grad
            or any(w.requires_grad for w in self.weights)
            or any(s.syn.requires_grad or s.mem.requires_grad for s in state or ())
        )
        mode = lif_mode(backend, x, needs_grad)
        layer_spikes: list[torch.Tensor] = []
        new_state: list[LIFState] = []
        membrane = x
        for index, weight in enumerate(self.weights):
            currents = input_currents(x, weight)
            layer_state = (
                state[index]
                if state is not None
                else zero_state(x.shape[0], weight.shape[1], currents)
            )
            x, membrane, layer_state = lif_layer(currents, layer_state, self.params, mode)
            new_state.append(layer_state)
            if index < self.n_layers - 1:
                layer_spikes.append(x)
        return NetworkOutput(membrane=membrane, layer_spikes=layer_spikes, state=new_state)

    def predict_last(self, spikes: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities at the last step of each window, ``[B, T, n_in] -> [B, C]``.

        Each window runs from zero state; windows are simulated ``batch_size`` at a time, so
        memory stays bounded however many perturbed windows are scored.
        """
        self._check_spikes(spikes)
        return predict_last(self, spikes, batch_size)

    def predict_series(
        self,
        spikes: np.ndarray | torch.Tensor,
        chunk_size: int = 65_536,
        keep_probs: bool = True,
        progress: Callable[[int], Any] | None = None,
    ) -> SeriesPrediction:
        """Run one long series ``[T, n_inputs]`` from zero state in chunks, carrying the state.

        Memory grows only with the recorded outputs (``[T]`` predictions and, if
        ``keep_probs``, ``[T, C]`` float32 probabilities), not with the simulation.
        ``progress`` is called with the number of steps done after every chunk.
        """
        return predict_series(self, spikes, chunk_size, keep_probs, progress)

    def extra_repr(self) -> str:
        return (
            f"layer_sizes={list(self.layer_sizes)}, dt={self.params.dt}, "
            f"tau_syn={self.params.tau_syn}, tau_mem={self.params.tau_mem}, "
            f"threshold={self.params.threshold}"
        )


def check_names(
    model: Any, input_names: Sequence[str], class_names: Sequence[str] | None = None
) -> None:
    """Raise :class:`ModelDataMismatchError` unless the data's inputs (and classes) match the
    ``input_names`` and ``class_names`` of ``model``."""
    if tuple(input_names) != model.input_names:
        raise ModelDataMismatchError(
            "the data's input channels differ from the model's (name or order):\n"
            f"  model: {list(model.input_names)}\n  data:  {list(input_names)}\n"
            "Re-encode the data in the model's order or use a model trained on this data."
        )
    if class_names is not None and tuple(class_names) != model.class_names:
        raise ModelDataMismatchError(
            "the data's classes differ from the model's:\n"
            f"  model: {list(model.class_names)}\n  data:  {list(class_names)}"
        )


@torch.no_grad()
def predict_last(model: Any, spikes: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Probabilities at the last step of each window of ``spikes [B, T, ...]``, ``[B, C]``, for
    any network whose ``forward`` returns a :class:`NetworkOutput`, ``batch_size`` at a time."""
    outputs = [
        torch.softmax(model.forward(spikes[i : i + batch_size]).membrane[:, -1], dim=-1)
        for i in range(0, spikes.shape[0], batch_size)
    ]
    if not outputs:
        return spikes.new_zeros(0, model.layer_sizes[-1], dtype=model.weights[0].dtype)
    return torch.cat(outputs)


@torch.no_grad()
def predict_series(
    model: Any,
    spikes: np.ndarray | torch.Tensor,
    chunk_size: int = 65_536,
    keep_probs: bool = True,
    progress: Callable[[int], Any] | None = None,
) -> SeriesPrediction:
    """:meth:`LIFNetwork.predict_series` for any network whose ``forward`` takes flattened
    spikes ``[B, T, n_inputs]`` and a carried state."""
    series = torch.as_tensor(spikes)
    if series.ndim != 2:
        raise DataFormatError(f"spikes must have shape [T, n_inputs]; got {tuple(series.shape)}")
    n_steps = series.shape[0]
    predicted = np.empty(n_steps, dtype=np.int64)
    probs = np.empty((n_steps, model.layer_sizes[-1]), dtype=np.float32) if keep_probs else None
    state: list[LIFState] | None = None
    device = model.weights[0].device
    for start in range(0, n_steps, chunk_size):
        chunk = series[start : start + chunk_size].to(device).unsqueeze(0)
        out = model.forward(chunk, state)
        state = out.state
        membrane = out.membrane[0]
        predicted[start : start + chunk.shape[1]] = membrane.argmax(-1).cpu().numpy()
        if probs is not None:
            probs[start : start + chunk.shape[1]] = (
                torch.softmax(membrane, -1).float().cpu().numpy()
            )
        if progress is not None:
            progress(min(start + chunk_size, n_steps))
    return SeriesPrediction(predicted=predicted, probs=probs)


def input_currents(spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``spikes [B, T, n_in] @ weight [n_in, n_out]``, the same for every step however the
    series is cut into chunks.

    A float32 matrix product may round differently depending on how many rows it gets, which
    would make a long series' result depend on its chunk size in the last bit. For float32 the
    product is accumulated in float64, where sums of float32 weights are exact, and rounded
    once: a compiled loop without gradients, a float64 matmul with them (same numbers).
    """
    if spikes.device.type == "cpu" and not (
        torch.is_grad_enabled() and (spikes.requires_grad or weight.requires_grad)
    ):
        from spikeattr.snn.kernels import input_currents_numba

        return torch.from_numpy(
            input_currents_numba(spikes.detach().numpy(), weight.detach().numpy())
        )
    # With gradients: the same float64 accumulation, so training, inference and explanation
    # all see bit-identical currents (costs training ~30 %; worth the consistency).
    if weight.dtype == torch.float32:
        return torch.matmul(spikes.double(), weight.double()).float()
    return torch.matmul(spikes, weight)


def lif_mode(backend: Backend, x: torch.Tensor, needs_grad: bool) -> str:
    """The LIF implementation ``backend`` means for input ``x``: ``"numba"`` on the CPU without
    gradients, ``"fused"`` on the CPU with them, ``"torch"`` elsewhere (``"auto"``)."""
    if backend != "auto":
        return backend
    if x.device.type == "cpu" and x.dtype in FUSED_DTYPES:
        return "fused" if needs_grad else "numba"
    return "torch"


def lif_layer(
    currents: torch.Tensor, state: LIFState, params: LIFParameters, mode: str
) -> tuple[torch.Tensor, torch.Tensor, LIFState]:
    """One LIF layer over ``currents [B, T, n]`` from ``state``: ``(spikes, membrane, state)``.

    ``mode``: ``"numba"`` (compiled, CPU, no gradient), ``"fused"`` (compiled forward and
    backward, CPU) or ``"torch"`` (the per-step loop, any device); the same numbers.
    """
    if mode == "numba":
        return _numba_layer(currents, state, params)
    if mode == "fused":
        return lif_layer_fused(currents, state, params.alpha, params.beta, params.threshold)
    return lif_layer_torch(currents, state, params.alpha, params.beta, params.threshold)


def _numba_layer(
    currents: torch.Tensor, state: LIFState, params: LIFParameters
) -> tuple[torch.Tensor, torch.Tensor, LIFState]:
    from spikeattr.snn.kernels import lif_layer_numba

    syn = state.syn.detach().cpu().numpy().copy()
    mem = state.mem.detach().cpu().numpy().copy()
    spikes, membrane = lif_layer_numba(
        currents.detach().cpu().numpy(), syn, mem, params.alpha, params.beta, params.threshold
    )
    return (
        torch.from_numpy(spikes),
        torch.from_numpy(membrane),
        LIFState(torch.from_numpy(syn), torch.from_numpy(mem)),
    )
