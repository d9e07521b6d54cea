"""What the snnTorch and Norse adapters share: walking a model into ``linear -> neuron`` stages.

A model TSA can explain is a feed-forward stack of weight layers, each a linear map followed by
one layer of leaky spiking neurons (the last may be the read-out). The linear map of a stage is
one ``nn.Linear`` or ``nn.Conv1d/2d``, with any ``nn.AvgPool1d/2d``, ``nn.MaxPool1d/2d`` and
``nn.Flatten`` around it (:mod:`spikeattr.explain.adapters._maps`; max pooling is linearised by
routing, :mod:`spikeattr.explain.linear_maps`). The adapters flatten the model's children in
registration order (descending into ``nn.Sequential`` and ``nn.ModuleList``), drop modules that
are the identity at inference (``nn.Identity``, ``nn.Dropout``), and group the linear layers
before each neuron layer into its stage. Everything else is refused with an
:class:`~spikeattr.errors.UnsupportedLayerError` that names the layer (position, name, type) and
says what is supported.

A model of ``nn.Linear`` stages explained on ``[B, T, n]`` spikes gives a
:class:`~spikeattr.explain.recording.SpikeRecording` (dense matrices, as always); with
convolutions, pooling or shaped inputs ``[B, T, *shape]`` a
:class:`~spikeattr.explain.recording.MapRecording`.
"""

from __future__ import annotations

import abc
import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from spikeattr.errors import ExplanationError, LayoutWarning, UnsupportedLayerError
from spikeattr.explain.adapters._maps import (
    AVERAGE_POOLS,
    LINEAR_LAYERS,
    MAX_POOLS,
    WEIGHTED,
    linear_op,
)
from spikeattr.explain.linear_maps import LayerMap
from spikeattr.explain.recording import MapRecording, SpikeRecording

LayerKind = Literal["linear", "neuron", "readout", "skip"]
"""``neuron``: a spiking layer; ``readout``: a non-spiking leaky layer, allowed only last."""

PASS_THROUGH: tuple[type[nn.Module], ...] = (nn.Identity, nn.Dropout)
CONTAINERS: tuple[type[nn.Module], ...] = (nn.Sequential, nn.ModuleList)


@dataclass(frozen=True)
class NamedLayer:
    """One module of the flattened model: its position, qualified name and the module."""

    position: int
    name: str
    module: nn.Module

    def describe(self) -> str:
        """``layer 3 ('fc2', torch.nn.Linear)``: position, name and public class path."""
        return f"layer {self.position} ({self.name!r}, {public_name(type(self.module))})"


def public_name(cls: type) -> str:
    """``snntorch.Leaky`` rather than ``snntorch._neurons.leaky.Leaky``.

    The module path is cut before its first private or ``module(s)`` component, as the libraries
    re-export their layers there (``torch.nn``, ``snntorch``, ``norse.torch``).
    """
    parts = cls.__module__.split(".")
    public = list(itertools.takewhile(lambda p: not p.startswith("_"), parts))
    if "modules" in public or "module" in public:
        public = public[: min(public.index(m) for m in ("modules", "module") if m in public)]
    return f"{'.'.join(public or parts)}.{cls.__qualname__}"


@dataclass(frozen=True)
class Stage:
    """One weight layer ``l``: the linear layers computing its input current and its neurons.

    Attributes:
        index: ``l``.
        ops: the linear layers in forward order (exactly one ``nn.Linear`` or convolution, and
            any pooling and ``nn.Flatten``), as found in the model.
        neuron: the neuron layer after them.
        kind: ``"neuron"`` (spiking) or ``"readout"`` (non-spiking, last layer only).
    """

    index: int
    ops: tuple[NamedLayer, ...]
    neuron: NamedLayer
    kind: LayerKind

    @property
    def linear(self) -> NamedLayer:
        """The stage's ``nn.Linear`` or convolution (position and name, for messages)."""
        return next(op for op in self.ops if isinstance(op.module, WEIGHTED))

    @property
    def is_dense(self) -> bool:
        """Whether the stage is an ``nn.Linear`` (with at most ``nn.Flatten`` around it)."""
        return all(isinstance(op.module, (nn.Linear, nn.Flatten)) for op in self.ops)

    @property
    def fc(self) -> nn.Linear:
        """The ``nn.Linear`` of a dense stage."""
        module = self.linear.module
        if not isinstance(module, nn.Linear):
            raise ExplanationError(f"{self.linear.describe()} is not an nn.Linear")
        return module

    @property
    def weight(self) -> torch.Tensor:
        """``W_l [n_l, n_{l+1}]`` of a dense stage: the ``nn.Linear`` weight ``[out, in]``
        transposed, detached."""
        return self.fc.weight.detach().t()

    @property
    def has_bias(self) -> bool:
        """Whether the linear layer adds a bias current (TSA does not attribute it)."""
        return getattr(self.linear.module, "bias", None) is not None

    def currents(
        self, activity: torch.Tensor, pooled: dict[int, list[torch.Tensor]] | None = None
    ) -> torch.Tensor:
        """The stage's linear layers on ``activity [N, *shape]``; every max pooling's input is
        appended to ``pooled[position]`` when given."""
        for position, op in enumerate(self.ops):
            if isinstance(op.module, (*AVERAGE_POOLS, *MAX_POOLS)) and activity.ndim < 3:
                raise UnsupportedLayerError(
                    f"{op.describe()} pools a flat activity of {activity.shape[-1]} units; "
                    "pooling needs [channels, length] or [channels, height, width] per sample"
                )
            if pooled is not None and isinstance(op.module, MAX_POOLS):
                pooled.setdefault(position, []).append(activity)
            try:
                activity = op.module(activity)
            except RuntimeError as exc:
                raise ExplanationError(
                    f"{op.describe()} cannot take activity of shape {list(activity.shape[1:])}: "
                    f"{exc}"
                ) from exc
        return activity

    def layer_map(
        self, in_shape: tuple[int, ...], pooled: dict[int, torch.Tensor], scale: float
    ) -> LayerMap:
        """The stage as a linear map on samples of ``in_shape`` (``pooled``: ``[B, T, *shape]``
        per max pooling position)."""
        ops = []
        shape = tuple(in_shape)
        for position, op in enumerate(self.ops):
            linear = linear_op(op.module, shape, pooled.get(position), op.describe())
            ops.append(linear)
            shape = linear.out_shape
        return LayerMap(ops, scale)


@dataclass
class AdapterTrace:
    """A forward pass recorded by an adapter.

    Attributes:
        layer_spikes: spikes of every neuron layer, ``[B, T, n_{l+1}]`` for ``l = 0 .. L-1``
            (hidden layers, then the output layer; a non-spiking read-out gives zeros), as
            0/1 floats.
        scores: output-layer membrane at the last step ``[B, C]``.
        state: the neurons' state after the last step, one entry per neuron layer; pass it
            back as ``run(spikes, state=...)`` to continue the simulation (live streams).
        pooled: per stage, the input of each max pooling (by its position in the stage) at
            every step ``[B, T, *shape]``, when the run recorded them.
    """

    layer_spikes: list[torch.Tensor]
    scores: torch.Tensor
    state: list[Any] | None = None
    pooled: list[dict[int, torch.Tensor]] | None = None


def flatten_modules(
    model: nn.Module, layers: Sequence[nn.Module] | None = None
) -> list[NamedLayer]:
    """The modules of ``model`` in forward order, containers expanded.

    With ``layers`` given, those modules (in that order) replace the model's registration order;
    their names are looked up in ``model``.
    """
    names = {id(module): name for name, module in model.named_modules()}
    if layers is not None:
        flat = []
        for position, module in enumerate(layers):
            if not isinstance(module, nn.Module):
                raise ExplanationError(
                    f"layers[{position}] must be a torch.nn.Module; got {type(module).__name__}"
                )
            flat.append(NamedLayer(position, names.get(id(module), f"layers[{position}]"), module))
        return flat

    def walk(module: nn.Module, prefix: str) -> Iterator[tuple[str, nn.Module]]:
        for name, child in module.named_children():
            qualified = f"{prefix}{name}"
            if isinstance(child, CONTAINERS):
                yield from walk(child, f"{qualified}.")
            else:
                yield qualified, child

    if not isinstance(model, nn.Module):
        raise ExplanationError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    return [NamedLayer(i, name, module) for i, (name, module) in enumerate(walk(model, ""))]


def pair_stages(
    flat: Sequence[NamedLayer],
    classify: Callable[[NamedLayer], LayerKind],
    supported: str,
) -> list[Stage]:
    """Group the linear layers before every neuron layer into a stage; refuse anything else.

    A stage holds exactly one ``nn.Linear`` or convolution, and any pooling and ``nn.Flatten``
    before or after it.

    Args:
        flat: the flattened model (:func:`flatten_modules`).
        classify: the framework's classifier; it raises :class:`UnsupportedLayerError` for a
            module it cannot explain.
        supported: a sentence naming what is supported, appended to every error.
    """
    stages: list[Stage] = []
    pending: list[NamedLayer] = []
    for layer in flat:
        kind = classify(layer)
        if kind == "skip":
            continue
        if stages and stages[-1].kind == "readout":
            raise UnsupportedLayerError(
                f"{layer.describe()} follows the non-spiking read-out "
                f"{stages[-1].neuron.describe()}; a read-out layer must be the last. {supported}"
            )
        weighted = [op for op in pending if isinstance(op.module, WEIGHTED)]
        if kind == "linear":
            if not isinstance(layer.module, LINEAR_LAYERS):  # classify() said "linear"
                raise UnsupportedLayerError(
                    f"{layer.describe()} is not a linear layer. {supported}"
                )
            if weighted and isinstance(layer.module, WEIGHTED):
                raise UnsupportedLayerError(
                    f"{layer.describe()} follows {weighted[0].describe()} without a neuron layer "
                    f"in between; every nn.Linear or convolution must be followed by a neuron "
                    f"layer. If the model's forward uses its modules in another order than they "
                    f"are registered, pass layers=[...] in forward order. {supported}"
                )
            pending.append(layer)
            continue
        if not weighted:
            raise UnsupportedLayerError(
                f"{layer.describe()} is a neuron layer not preceded by an nn.Linear or a "
                f"convolution: TSA needs the weights feeding every neuron layer. {supported}"
            )
        stages.append(Stage(len(stages), tuple(pending), layer, kind))
        pending = []
    if pending:
        raise UnsupportedLayerError(
            f"{pending[-1].describe()} is the last layer: TSA explains the membrane of a final "
            f"layer of neurons, so the last nn.Linear must be followed by one. {supported}"
        )
    if not stages:
        raise UnsupportedLayerError(f"the model has no nn.Linear -> neuron layer pair. {supported}")
    for previous, stage in itertools.pairwise(stages):
        if not (previous.is_dense and stage.is_dense):
            continue  # shapes of convolutional stages are checked on the first input
        if stage.fc.in_features != previous.fc.out_features:
            raise UnsupportedLayerError(
                f"{stage.linear.describe()} takes {stage.fc.in_features} inputs but "
                f"{previous.neuron.describe()} has {previous.fc.out_features} neurons"
            )
    return stages


RECURRENT = "is recurrent: TSA explains feed-forward networks (no weights from a layer to itself)"
CONVOLUTION = (
    "is a convolution TSA's adapters do not support (nn.Conv1d and nn.Conv2d are; transposed "
    "and 3-D convolutions are not)"
)
POOLING = (
    "is a pooling layer TSA's adapters do not support (nn.AvgPool1d/2d and nn.MaxPool1d/2d are; "
    "adaptive, fractional, LP and 3-D pooling are not)"
)


def torch_layer_problem(module: nn.Module) -> str | None:
    """Why a plain torch layer cannot be explained (recurrent, convolution, pooling), or None."""
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return RECURRENT
    if isinstance(module, LINEAR_LAYERS):
        return None
    if isinstance(module, nn.modules.conv._ConvNd):
        return CONVOLUTION
    if type(module).__module__ == "torch.nn.modules.pooling":
        return POOLING
    return None


def refuse(layer: NamedLayer, reason: str, supported: str) -> UnsupportedLayerError:
    """The error for a layer TSA cannot explain: which layer, why, and what is supported."""
    return UnsupportedLayerError(f"{layer.describe()} {reason}. {supported}")


def scalar_parameter(value: object, stage: Stage, what: str, hint: str = "") -> float:
    """A per-layer constant read from a neuron layer: a number or a tensor of equal values."""
    tensor = torch.as_tensor(value).detach().double().flatten()
    if tensor.numel() == 0:
        raise UnsupportedLayerError(f"{stage.neuron.describe()} has an empty {what}")
    if not bool(torch.all(tensor == tensor[0])):
        raise UnsupportedLayerError(
            f"{stage.neuron.describe()} has one {what} per neuron (from {float(tensor.min()):.6g} "
            f"to {float(tensor.max()):.6g}); TSA uses one membrane decay per layer (SPEC 4), so "
            f"every neuron of a layer needs the same {what}.{hint}"
        )
    return float(tensor[0])


def check_decay(beta: float, stage: Stage, derivation: str) -> float:
    """``beta`` if it lies in ``(0, 1)``; else an error naming the layer and how it was derived."""
    if not (math.isfinite(beta) and 0.0 < beta < 1.0):
        raise UnsupportedLayerError(
            f"{stage.neuron.describe()} has a membrane decay per step beta = {beta:.6g} "
            f"({derivation}); TSA weighs a spike t steps back by beta^t and needs 0 < beta < 1 "
            f"(a leaky neuron)"
        )
    return beta


class DenseSpikingAdapter(abc.ABC):
    """Base of the framework adapters: a :class:`~spikeattr.explain.recording.RecordableNetwork`.

    Subclasses parse the model into :class:`Stage` s and implement :meth:`betas`,
    :meth:`weights`, :meth:`scales` and :meth:`run`. Weights and decays are read from the model
    at every call, so an adapter follows a model that keeps training. (The name is historical:
    stages may be convolutional; :attr:`is_dense` says whether all are ``nn.Linear``.)
    """

    model: nn.Module
    stages: list[Stage]
    #: Whether ``record_spikes`` takes ``[T, B, ...]`` (the layout of snnTorch's ``spikegen``
    #: and of Norse's encoders) rather than spikeattr's and Captum's ``[B, T, ...]``.
    time_first: bool = False
    #: The library's name, for messages.
    library: str = "the library"

    def batch_first(self, spikes: torch.Tensor) -> torch.Tensor:
        """``spikes`` as ``[B, T, ...]``: swapped when the adapter takes time-first input.

        A batch-first call with more windows than steps (``B > T``) is ambiguous for a library
        whose own tools produce ``[T, B, ...]``: it gets a :class:`~spikeattr.errors.LayoutWarning`
        that says how to be explicit.
        """
        if not isinstance(spikes, torch.Tensor) or spikes.ndim < 3:
            return spikes  # check_input refuses it with its own message
        if self.time_first:
            return spikes.transpose(0, 1)
        batch, steps = int(spikes.shape[0]), int(spikes.shape[1])
        if batch > steps:
            warnings.warn(
                f"spikes of shape {tuple(spikes.shape)} are read batch first: {batch} windows of "
                f"{steps} steps each. {self.library}'s own tools give time-first [T, B, ...]; if "
                f"these are {steps} windows of {batch} steps, create the adapter with "
                "time_first=True (or pass spikes.transpose(0, 1))",
                LayoutWarning,
                stacklevel=5,  # batch_first, record_spikes, record_network, attribute
            )
        return spikes

    @property
    def is_dense(self) -> bool:
        """Whether every stage is an ``nn.Linear`` (dense matrices ``W_l``)."""
        return all(stage.is_dense for stage in self.stages)

    def require_dense(self, what: str) -> None:
        """Raise :class:`ExplanationError` naming the first convolutional stage."""
        if not self.is_dense:
            stage = next(s for s in self.stages if not s.is_dense)
            raise ExplanationError(
                f"{what} needs dense layers (nn.Linear); the model's stage {stage.index} has "
                f"{', '.join(op.describe() for op in stage.ops)}"
            )

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_0, n_1, ..., n_L)``: inputs, each neuron layer, classes (dense models only: a
        convolutional model's sizes follow from its input's shape)."""
        self.require_dense("layer_sizes")
        return (*(stage.fc.in_features for stage in self.stages), self.stages[-1].fc.out_features)

    @property
    def ignored_biases(self) -> list[str]:
        """Names of the ``nn.Linear`` layers and convolutions whose bias TSA does not
        attribute."""
        return [stage.linear.name for stage in self.stages if stage.has_bias]

    @abc.abstractmethod
    def betas(self) -> list[float]:
        """Membrane decay per step of every weight layer, ``L`` floats in ``(0, 1)``."""

    @abc.abstractmethod
    def weights(self) -> list[torch.Tensor]:
        """Effective ``W_l [n_l, n_{l+1}]``: the weight by which a spike enters the membrane."""

    @abc.abstractmethod
    def scales(self) -> list[float]:
        """Per weight layer, the positive factor by which its layers' output enters the
        membrane (the effective weight is ``scale * W``)."""

    @abc.abstractmethod
    def run(
        self, spikes: torch.Tensor, state: list[Any] | None = None, pooled: bool = False
    ) -> AdapterTrace:
        """Run the model on ``spikes [B, T, n_0]`` (``[B, T, *shape]``) and record it.

        From the resting state, or from ``state`` (the :attr:`AdapterTrace.state` of an earlier
        run) to continue where that run stopped. ``pooled`` records every max pooling's input.
        """

    def check_input(self, spikes: torch.Tensor) -> None:
        """Raise :class:`ExplanationError` unless ``spikes`` is ``[B, T, n_0]`` (a dense model)
        or ``[B, T, *shape]`` (a convolutional one) with ``T > 0``."""
        if not isinstance(spikes, torch.Tensor) or spikes.ndim < 3:
            shape = tuple(spikes.shape) if isinstance(spikes, torch.Tensor) else type(spikes)
            raise ExplanationError(
                f"spikes must be a tensor [B, T, ...] (batch first); got {shape}"
            )
        if self.stages[0].is_dense and isinstance(self.stages[0].ops[0].module, nn.Linear):
            n_inputs = self.stages[0].fc.in_features
            if spikes.ndim != 3:
                raise ExplanationError(
                    f"spikes must be a tensor [B, T, {n_inputs}]; got {tuple(spikes.shape)}"
                )
            if spikes.shape[2] != n_inputs:
                raise ExplanationError(
                    f"spikes has {spikes.shape[2]} inputs in its last dimension; the model's "
                    f"first nn.Linear ({self.stages[0].linear.name!r}) takes {n_inputs}"
                )
        if spikes.shape[1] == 0:
            raise ExplanationError("spikes has no time steps (T = 0); nothing to explain")

    def record_spikes(self, spikes: torch.Tensor) -> SpikeRecording | MapRecording:
        """What TSA needs from one run on ``spikes [B, T, n_0]`` (see :class:`SpikeRecording`),
        or on ``[B, T, *shape]`` through convolutions (see :class:`MapRecording`); ``[T, B, ...]``
        when the adapter takes time-first input (:attr:`time_first`). The recording, and so
        every map, is batch first."""
        spikes = self.batch_first(spikes)
        if self.is_dense and spikes.ndim == 3:
            trace = self.run(spikes)
            weights = self.weights()
            dtype = weights[0].dtype
            layer_inputs = [spikes.to(dtype), *(s.to(dtype) for s in trace.layer_spikes[:-1])]
            return SpikeRecording(layer_inputs, weights, self.betas(), trace.scores.to(dtype))
        trace = self.run(spikes, pooled=True)
        dtype = trace.scores.dtype
        layer_inputs = [
            spikes.to(dtype=dtype, device=trace.scores.device),
            *(s.to(dtype) for s in trace.layer_spikes[:-1]),
        ]
        pooled = trace.pooled or [{} for _ in self.stages]
        layers = [
            stage.layer_map(tuple(inputs.shape[2:]), pools, scale)
            for stage, inputs, pools, scale in zip(
                self.stages, layer_inputs, pooled, self.scales(), strict=True
            )
        ]
        return MapRecording(layer_inputs, layers, self.betas(), trace.scores.to(dtype))

    def __repr__(self) -> str:
        stages = ", ".join(
            f"{'+'.join(op.name for op in stage.ops)}->{stage.neuron.name}"
            f"({type(stage.neuron.module).__name__})"
            for stage in self.stages
        )
        return f"{type(self).__name__}({stages})"
