"""What the snnTorch and Norse adapters share: walking a model into ``Linear -> neuron`` stages.

A model TSA can explain is a feed-forward stack of weight layers, each an ``nn.Linear`` followed
by one layer of leaky spiking neurons (the last may be the read-out). The adapters flatten the
model's children in registration order (descending into ``nn.Sequential`` and ``nn.ModuleList``),
drop modules that are the identity on ``[B, n]`` activity at inference (``nn.Identity``,
``nn.Flatten``, ``nn.Dropout``), and pair each ``nn.Linear`` with the neuron layer after it.
Everything else is refused with an :class:`~spikeattr.errors.UnsupportedLayerError` that names
the layer (position, name, type) and says what is supported.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from spikeattr.errors import ExplanationError, UnsupportedLayerError
from spikeattr.explain.recording import SpikeRecording

LayerKind = Literal["linear", "neuron", "readout", "skip"]
"""``neuron``: a spiking layer; ``readout``: a non-spiking leaky layer, allowed only last."""

PASS_THROUGH: tuple[type[nn.Module], ...] = (nn.Identity, nn.Flatten, nn.Dropout)
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
    """One weight layer ``l``: the ``nn.Linear`` computing its input current and its neurons.

    Attributes:
        index: ``l``.
        linear: the ``nn.Linear`` as found in the model (position and name, for messages).
        fc: the same module, typed.
        neuron: the neuron layer after it.
        kind: ``"neuron"`` (spiking) or ``"readout"`` (non-spiking, last layer only).
    """

    index: int
    linear: NamedLayer
    fc: nn.Linear
    neuron: NamedLayer
    kind: LayerKind

    @property
    def weight(self) -> torch.Tensor:
        """``W_l [n_l, n_{l+1}]``: the ``nn.Linear`` weight ``[out, in]`` transposed, detached."""
        return self.fc.weight.detach().t()

    @property
    def has_bias(self) -> bool:
        """Whether the ``nn.Linear`` adds a bias current (TSA does not attribute it)."""
        return self.fc.bias is not None


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
    """

    layer_spikes: list[torch.Tensor]
    scores: torch.Tensor
    state: list[Any] | None = None


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
    """Pair every ``nn.Linear`` with the neuron layer that follows it; refuse anything else.

    Args:
        flat: the flattened model (:func:`flatten_modules`).
        classify: the framework's classifier; it raises :class:`UnsupportedLayerError` for a
            module it cannot explain.
        supported: a sentence naming what is supported, appended to every error.
    """
    stages: list[Stage] = []
    pending: NamedLayer | None = None
    for layer in flat:
        kind = classify(layer)
        if kind == "skip":
            continue
        if stages and stages[-1].kind == "readout":
            raise UnsupportedLayerError(
                f"{layer.describe()} follows the non-spiking read-out "
                f"{stages[-1].neuron.describe()}; a read-out layer must be the last. {supported}"
            )
        if kind == "linear":
            if pending is not None:
                raise UnsupportedLayerError(
                    f"{layer.describe()} follows {pending.describe()} without a neuron layer in "
                    f"between; every nn.Linear must be followed by a neuron layer. If the model's "
                    f"forward uses its modules in another order than they are registered, pass "
                    f"layers=[...] in forward order. {supported}"
                )
            pending = layer
            continue
        if pending is None:
            raise UnsupportedLayerError(
                f"{layer.describe()} is a neuron layer not preceded by an nn.Linear: TSA needs "
                f"the weight matrix feeding every neuron layer. {supported}"
            )
        if not isinstance(pending.module, nn.Linear):  # classify() said "linear"
            raise UnsupportedLayerError(f"{pending.describe()} is not an nn.Linear. {supported}")
        stages.append(Stage(len(stages), pending, pending.module, layer, kind))
        pending = None
    if pending is not None:
        raise UnsupportedLayerError(
            f"{pending.describe()} is the last layer: TSA explains the membrane of a final layer "
            f"of neurons, so the last nn.Linear must be followed by one. {supported}"
        )
    if not stages:
        raise UnsupportedLayerError(f"the model has no nn.Linear -> neuron layer pair. {supported}")
    for previous, stage in itertools.pairwise(stages):
        if stage.fc.in_features != previous.fc.out_features:
            raise UnsupportedLayerError(
                f"{stage.linear.describe()} takes {stage.fc.in_features} inputs but "
                f"{previous.neuron.describe()} has {previous.fc.out_features} neurons"
            )
    return stages


RECURRENT = "is recurrent: TSA explains feed-forward networks (no weights from a layer to itself)"
CONVOLUTION = "is a convolution: TSA needs dense weight matrices W_l [n_l, n_{l+1}] (nn.Linear)"
POOLING = "is a pooling layer: TSA needs dense weight matrices between spiking layers (nn.Linear)"


def torch_layer_problem(module: nn.Module) -> str | None:
    """Why a plain torch layer cannot be explained (recurrent, convolution, pooling), or None."""
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return RECURRENT
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
    :meth:`weights` and :meth:`run`. Weights and decays are read from the model at every call,
    so an adapter follows a model that keeps training.
    """

    model: nn.Module
    stages: list[Stage]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_0, n_1, ..., n_L)``: inputs, each neuron layer, classes."""
        return (*(stage.fc.in_features for stage in self.stages), self.stages[-1].fc.out_features)

    @property
    def ignored_biases(self) -> list[str]:
        """Names of the ``nn.Linear`` layers whose bias TSA does not attribute."""
        return [stage.linear.name for stage in self.stages if stage.has_bias]

    @abc.abstractmethod
    def betas(self) -> list[float]:
        """Membrane decay per step of every weight layer, ``L`` floats in ``(0, 1)``."""

    @abc.abstractmethod
    def weights(self) -> list[torch.Tensor]:
        """Effective ``W_l [n_l, n_{l+1}]``: the weight by which a spike enters the membrane."""

    @abc.abstractmethod
    def run(self, spikes: torch.Tensor, state: list[Any] | None = None) -> AdapterTrace:
        """Run the model on ``spikes [B, T, n_0]`` and record it.

        From the resting state, or from ``state`` (the :attr:`AdapterTrace.state` of an earlier
        run) to continue where that run stopped.
        """

    def check_input(self, spikes: torch.Tensor) -> None:
        """Raise :class:`ExplanationError` unless ``spikes`` is ``[B, T, n_0]`` with ``T > 0``."""
        n_inputs = self.layer_sizes[0]
        if not isinstance(spikes, torch.Tensor) or spikes.ndim != 3:
            shape = tuple(spikes.shape) if isinstance(spikes, torch.Tensor) else type(spikes)
            raise ExplanationError(f"spikes must be a tensor [B, T, {n_inputs}]; got {shape}")
        if spikes.shape[2] != n_inputs:
            raise ExplanationError(
                f"spikes has {spikes.shape[2]} inputs in its last dimension; the model's first "
                f"nn.Linear ({self.stages[0].linear.name!r}) takes {n_inputs}"
            )
        if spikes.shape[1] == 0:
            raise ExplanationError("spikes has no time steps (T = 0); nothing to explain")

    def record_spikes(self, spikes: torch.Tensor) -> SpikeRecording:
        """What TSA needs from one run on ``spikes [B, T, n_0]`` (see :class:`SpikeRecording`)."""
        trace = self.run(spikes)
        weights = self.weights()
        dtype = weights[0].dtype
        layer_inputs = [spikes.to(dtype), *(s.to(dtype) for s in trace.layer_spikes[:-1])]
        return SpikeRecording(layer_inputs, weights, self.betas(), trace.scores.to(dtype))

    def __repr__(self) -> str:
        stages = ", ".join(
            f"{stage.linear.name}->{stage.neuron.name}({type(stage.neuron.module).__name__})"
            for stage in self.stages
        )
        return f"{type(self).__name__}({stages})"
