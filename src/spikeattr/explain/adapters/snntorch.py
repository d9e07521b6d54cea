"""Explain snnTorch models with TSA: :class:`SnnTorchAdapter`.

Supported: a feed-forward stack of ``nn.Linear`` layers or convolutions (``nn.Conv1d/2d``, with
``nn.AvgPool1d/2d``, ``nn.MaxPool1d/2d`` and ``nn.Flatten`` around them), each followed by
``snntorch.Leaky`` or ``snntorch.Synaptic``, either as an ``nn.Sequential`` (typically with
``init_hidden=True``) or as the children of your own ``nn.Module`` whose ``forward`` loops over
time passing ``mem``/``syn`` explicitly. The adapter does not call your ``forward``: it steps
the layers itself, in the order they are registered (or the order you pass as ``layers=``), one
time step at a time, exactly as a ``Linear -> neuron -> Linear -> neuron`` loop does, starting
every window from zero state. The neurons' own state (``mem``, ``syn``) is restored afterwards,
so explaining does not disturb a simulation in progress.

What TSA gets from each weight layer ``l``:

* ``W_l``: the ``nn.Linear`` weight ``[out, in]`` transposed to ``[n_l, n_{l+1}]``; for a
  convolutional stage, the stage's layers as a linear map
  (:class:`~spikeattr.explain.linear_maps.LayerMap`). With graded spikes
  (``graded_spikes_factor = g`` on the layer emitting them), a spike enters the next layer as
  ``g * W``, so ``g`` is folded into the rows of ``W_l`` (a convolutional stage takes one ``g``
  per layer).
* ``beta_l``: the layer's ``beta`` (a float or a tensor, learnable or not), clamped to ``[0, 1]``
  as snnTorch does in its forward; snnTorch's membrane update is ``mem = beta * mem + input``
  (``Leaky``) or ``mem = beta * mem + syn`` (``Synaptic``), so ``beta`` is the decay per step.
  A per-neuron ``beta`` with different values is refused (TSA has one decay per layer).
* spikes: what the layer emits at each step (non-zero = spike), with snnTorch's own timing
  (a spike at step ``t`` comes from the membrane of step ``t``).
* class scores: the output layer's membrane ``mem`` after the last step, as for spikeattr's own
  networks (not spike counts); ``p`` is its softmax.

The exact LIF attribution (``lif_z``, ``lif_ab``; :meth:`SnnTorchAdapter.exact_recording`)
reads more of each layer, as it is: ``alpha`` (``Synaptic``; 0 for ``Leaky``, whose input enters
the membrane directly) and ``beta`` per neuron, the threshold, the reset mechanism
(``subtract``, ``zero`` or ``none``; for ``Leaky``, ``zero`` cuts only the carried membrane,
for ``Synaptic`` it zeroes the whole new membrane) and the ``nn.Linear`` biases, whose share it
keeps apart from the input cells (``ExactMaps.absorbed``). snnTorch's timing is kept: a spike at
step ``t`` comes from the membrane of ``t``, and its reset acts at ``t + 1``.

Biases: ``nn.Linear`` layers keep their bias in the forward pass (the recorded spikes and ``p``
are exactly the model's), but TSA's product ``D_0 W_0 ... W_{L-1} diag(p)`` attributes input
spikes only, so a bias current is not attributed to anything. Models are accepted with biases
because snnTorch's ``nn.Linear`` has one by default; :attr:`SnnTorchAdapter.ignored_biases` lists
them. Leak, threshold and reset are not attributed either.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from spikeattr.errors import MissingExtraError, UnsupportedLayerError
from spikeattr.explain.adapters._dense import (
    PASS_THROUGH,
    RECURRENT,
    AdapterTrace,
    DenseSpikingAdapter,
    LayerKind,
    NamedLayer,
    Stage,
    check_decay,
    flatten_modules,
    pair_stages,
    refuse,
    scalar_parameter,
    torch_layer_problem,
)
from spikeattr.explain.adapters._maps import LINEAR_LAYERS
from spikeattr.explain.exact import LIFRecording

SUPPORTED = (
    "Supported: feed-forward stacks of torch.nn.Linear or nn.Conv1d/2d (with nn.AvgPool1d/2d, "
    "nn.MaxPool1d/2d and nn.Flatten around them), each followed by snntorch.Leaky or "
    "snntorch.Synaptic (nn.Identity and nn.Dropout are skipped), in an nn.Sequential or "
    "registered in forward order on an nn.Module"
)
_STATE_ATTRIBUTES = ("mem", "syn", "reset")
_CARRIED = ("mem", "syn")  # what a step reads of the previous one (``reset`` derives from mem)


def import_snntorch() -> ModuleType:
    """``snntorch``, or a :class:`MissingExtraError` saying how to install it."""
    try:
        import snntorch
    except ImportError as error:
        raise MissingExtraError(
            "explaining snnTorch models needs snntorch: pip install 'spikeattr[snntorch]'"
        ) from error
    return snntorch


class SnnTorchAdapter(DenseSpikingAdapter):
    """Make an snnTorch model explainable: ``TSA(SnnTorchAdapter(model), "ns").attribute(x)``.

    See the module documentation for what is supported and how weights, decays, spikes and class
    scores are read.

    Args:
        model: an ``nn.Sequential`` or ``nn.Module`` of ``nn.Linear`` + ``snn.Leaky`` /
            ``snn.Synaptic`` layers.
        layers: optional modules of ``model`` in forward order, if the registration order
            differs from it.
        time_first: the spikes given to ``attribute`` are ``[T, B, ...]``, as snnTorch's own
            tools make them (default ``[B, T, ...]``, spikeattr's and Captum's layout; a call
            with more windows than steps then warns). The maps are ``[B, C, ..., T]`` either way.

    Raises:
        UnsupportedLayerError: for a layer TSA cannot explain (recurrent, convolution, pooling,
            another neuron type, a neuron layer without an ``nn.Linear`` before it), naming the
            layer. A per-neuron ``beta``, or ``beta`` of 0 or 1, is refused when TSA is asked
            for a map (TSA has one decay per layer in ``(0, 1)``); the exact LIF attribution
            takes them as they are.

    Examples:
        >>> import snntorch as snn
        >>> net = nn.Sequential(nn.Linear(3, 8), snn.Leaky(beta=0.9, init_hidden=True),
        ...                     nn.Linear(8, 4), snn.Leaky(beta=0.9, init_hidden=True))
        >>> adapter = SnnTorchAdapter(net)
        >>> adapter.layer_sizes, adapter.betas()
        ((3, 8, 4), [0.8999999761581421, 0.8999999761581421])
    """

    library = "snnTorch"

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module] | None = None,
        time_first: bool = False,
    ) -> None:
        self.time_first = time_first
        self._snn = import_snntorch()
        self.model = model
        self.stages = pair_stages(flatten_modules(model, layers), self._classify, SUPPORTED)
        for stage in self.stages:  # TSA's one decay per layer is checked when TSA asks for it
            if getattr(stage.neuron.module, "beta", None) is None:
                raise UnsupportedLayerError(f"{stage.neuron.describe()} has no beta attribute")

    def _classify(self, layer: NamedLayer) -> LayerKind:
        snn = self._snn
        module = layer.module
        if isinstance(module, LINEAR_LAYERS):
            return "linear"
        if isinstance(module, PASS_THROUGH):
            return "skip"
        if type(module) in (snn.Leaky, snn.Synaptic):
            return "neuron"
        if isinstance(module, (snn.RLeaky, snn.RSynaptic, snn.SLSTM, snn.SConv2dLSTM)):
            raise refuse(layer, RECURRENT, SUPPORTED)
        problem = torch_layer_problem(module)
        if problem is not None:
            raise refuse(layer, problem, SUPPORTED)
        if isinstance(module, snn.SpikingNeuron):
            raise refuse(
                layer,
                "is a neuron type TSA's adapter does not know (only the exact classes "
                "snntorch.Leaky and snntorch.Synaptic, whose membrane decays by beta per step)",
                SUPPORTED,
            )
        raise refuse(layer, "is not a layer TSA can explain", SUPPORTED)

    def betas(self) -> list[float]:
        """``beta`` of every neuron layer (clamped to ``[0, 1]`` as snnTorch does)."""
        betas = []
        for stage in self.stages:
            beta = getattr(stage.neuron.module, "beta", None)
            if beta is None:
                raise UnsupportedLayerError(f"{stage.neuron.describe()} has no beta attribute")
            value = scalar_parameter(
                torch.as_tensor(beta).detach().clamp(0, 1),
                stage,
                "beta",
                " Use a scalar beta, e.g. snn.Leaky(beta=0.9) or a one-element tensor.",
            )
            betas.append(check_decay(value, stage, "snnTorch's beta clamped to [0, 1]"))
        return betas

    def scales(self) -> list[float]:
        """Per weight layer, the graded-spike factor of the layer emitting its input (1 for the
        input); one value per layer."""
        scales = [1.0]
        for stage, emitter in itertools.pairwise(self.stages):
            factor = torch.as_tensor(getattr(emitter.neuron.module, "graded_spikes_factor", 1.0))
            factor = factor.detach().double().flatten()
            if factor.numel() != 1 or not float(factor[0]) > 0:
                raise UnsupportedLayerError(
                    f"{emitter.neuron.describe()} has graded_spikes_factor {factor.tolist()}; "
                    f"through {stage.linear.describe()} TSA takes one positive factor per layer"
                )
            scales.append(float(factor[0]))
        return scales

    def weights(self) -> list[torch.Tensor]:
        """``W_l [n_l, n_{l+1}]``, with the graded-spike factor of layer ``l``'s input folded in."""
        self.require_dense("weights()")
        weights = []
        for index, stage in enumerate(self.stages):
            weight = stage.weight
            if index > 0:
                emitter = self.stages[index - 1].neuron
                factor = torch.as_tensor(getattr(emitter.module, "graded_spikes_factor", 1.0))
                factor = factor.detach().to(weight.dtype).flatten()
                if factor.numel() == 1:
                    weight = weight * factor[0]
                elif factor.numel() == weight.shape[0]:
                    weight = weight * factor[:, None]
                else:
                    raise UnsupportedLayerError(
                        f"{emitter.describe()} has graded_spikes_factor of {factor.numel()} "
                        f"values for {weight.shape[0]} neurons; expected 1 or {weight.shape[0]}"
                    )
            weights.append(weight)
        return weights

    def exact_recording(self, spikes: torch.Tensor) -> LIFRecording:
        """What the exact LIF attribution needs from one run on ``spikes [B, T, n_0]`` (from
        zero state; ``[T, B, n_0]`` when the adapter takes time-first input): every layer's
        input and emitted spikes, effective weights, biases, per-neuron decays and thresholds,
        and reset mechanism, in float64 (see the module documentation)."""
        spikes = self.batch_first(spikes)
        self.require_dense("the exact LIF attribution")
        for stage in self.stages:
            _check_exact_neuron(stage)
        trace = self.run(spikes)
        layer_inputs = [spikes, *trace.layer_spikes[:-1]]
        alphas, betas, thresholds, resets = [], [], [], []
        biases: list[np.ndarray | None] = []
        weights = [w.detach().double().cpu().numpy() for w in self.weights()]
        for stage, weight in zip(self.stages, weights, strict=True):
            neuron: Any = stage.neuron.module
            size = int(weight.shape[1])
            is_synaptic = isinstance(neuron, self._snn.Synaptic)
            alpha = neuron.alpha if is_synaptic else 0.0
            alphas.append(_per_neuron(torch.as_tensor(alpha).clamp(0, 1), size, stage, "alpha"))
            betas.append(_per_neuron(torch.as_tensor(neuron.beta).clamp(0, 1), size, stage, "beta"))
            thresholds.append(
                _per_neuron(torch.as_tensor(neuron.threshold), size, stage, "threshold")
            )
            mechanism = str(neuron.reset_mechanism)
            resets.append("carry" if mechanism == "zero" and not is_synaptic else mechanism)
            bias = stage.fc.bias
            biases.append(None if bias is None else bias.detach().double().cpu().numpy())
        return LIFRecording(
            layer_inputs=[
                spikes.detach().double().cpu().numpy(),
                *(_numpy(x) for x in layer_inputs[1:]),
            ],
            layer_spikes=[_numpy(s) for s in trace.layer_spikes],
            weights=weights,
            alphas=alphas,
            betas=betas,
            scores=trace.scores.detach().double().cpu().numpy(),
            lag=0,
            resets=resets,
            thresholds=thresholds,
            biases=biases,
        )

    def run(
        self, spikes: torch.Tensor, state: list[Any] | None = None, pooled: bool = False
    ) -> AdapterTrace:
        """Step the layers over ``spikes [B, T, n_0]`` (``[B, T, *shape]``), recording every
        layer.

        From zero state, or from ``state`` (per neuron layer its ``mem``/``syn`` tensors, as
        returned in :attr:`AdapterTrace.state`). The neurons' own state is restored afterwards.
        ``pooled`` records the input of every max pooling at every step.
        """
        self.check_input(spikes)
        first: torch.Tensor = self.stages[0].linear.module.weight  # type: ignore[assignment]
        inputs = spikes.to(dtype=first.dtype, device=first.device)
        neurons: list[Any] = [stage.neuron.module for stage in self.stages]
        emitted: list[list[torch.Tensor]] = [[] for _ in self.stages]
        pools: list[dict[int, list[torch.Tensor]]] = [{} for _ in self.stages]
        with torch.no_grad(), _restored_state(neurons):
            for index, neuron in enumerate(neurons):
                neuron.reset_mem()
                for name, value in (state[index] if state is not None else {}).items():
                    setattr(neuron, name, value.clone())
            for step in range(inputs.shape[1]):
                activity = inputs[:, step]
                for stage, record, pool in zip(self.stages, emitted, pools, strict=True):
                    out = stage.neuron.module(stage.currents(activity, pool if pooled else None))
                    activity = out if isinstance(out, torch.Tensor) else out[0]
                    record.append(activity)
            scores = torch.as_tensor(neurons[-1].mem).detach().clone()
            final = [
                {
                    name: torch.as_tensor(getattr(neuron, name)).detach().clone()
                    for name in _CARRIED
                    if isinstance(getattr(neuron, name, None), torch.Tensor)
                }
                for neuron in neurons
            ]
        layer_spikes = [(torch.stack(record, 1) != 0).to(first.dtype) for record in emitted]
        recorded = [{k: torch.stack(v, 1) for k, v in pool.items()} for pool in pools]
        return AdapterTrace(layer_spikes, scores, final, recorded if pooled else None)


def _check_exact_neuron(stage: Stage) -> None:
    """Refuse the options of a neuron layer whose update the exact attribution does not model."""
    neuron: Any = stage.neuron.module
    for name, bad, why in (
        ("inhibition", True, "lets only the neuron with the highest membrane spike"),
        ("reset_delay", False, "resets the membrane in the step of the spike"),
    ):
        if bool(getattr(neuron, name, not bad)) == bad:
            raise UnsupportedLayerError(
                f"{stage.neuron.describe()} has {name}={bad} ({why}); the exact LIF attribution "
                f"models snnTorch's default update, {name}={not bad}"
            )
    if getattr(neuron, "state_quant", False):
        raise UnsupportedLayerError(
            f"{stage.neuron.describe()} quantises its state (state_quant); the exact LIF "
            "attribution needs the unquantised update"
        )
    if str(getattr(neuron, "reset_mechanism", "")) not in ("subtract", "zero", "none"):
        raise UnsupportedLayerError(
            f"{stage.neuron.describe()} has reset_mechanism "
            f"{getattr(neuron, 'reset_mechanism', None)!r}; expected subtract, zero or none"
        )


def _per_neuron(value: torch.Tensor, size: int, stage: Stage, what: str) -> np.ndarray:
    """``value`` (one number, or one per neuron) as float64 ``[size]``."""
    flat = value.detach().double().cpu().flatten()
    if flat.numel() == 1:
        flat = flat.expand(size)
    if flat.numel() != size or not bool(torch.isfinite(flat).all()):
        raise UnsupportedLayerError(
            f"{stage.neuron.describe()} has {flat.numel()} values of {what} for {size} neurons "
            "(or a value that is not finite); expected 1 or one per neuron"
        )
    return flat.numpy().copy()


def _numpy(spikes: torch.Tensor) -> np.ndarray:
    """0/1 int8 ``[B, T, n]``: where a spike happened (graded spikes count as spikes)."""
    return (spikes.detach().cpu() != 0).to(torch.int8).numpy()


@contextlib.contextmanager
def _restored_state(neurons: Sequence[nn.Module]) -> Iterator[None]:
    """Put back the neurons' ``mem``/``syn``/``reset`` attributes as they were."""
    missing = object()
    saved: list[dict[str, Any]] = [
        {name: getattr(neuron, name, missing) for name in _STATE_ATTRIBUTES} for neuron in neurons
    ]
    try:
        yield
    finally:
        for neuron, state in zip(neurons, saved, strict=True):
            for name, value in state.items():
                if value is missing:
                    if name in neuron.__dict__:
                        del neuron.__dict__[name]
                else:
                    setattr(neuron, name, value)
