"""Explain Norse models with TSA: :class:`NorseAdapter`.

Supported: a feed-forward stack of ``torch.nn.Linear`` layers or convolutions (``nn.Conv1d/2d``,
with ``nn.AvgPool1d/2d``, ``nn.MaxPool1d/2d`` and ``nn.Flatten`` around them), each followed by
``norse.torch.LIFCell``, ``LIFBoxCell`` or ``LIF`` (the whole-sequence module), optionally ending
with a non-spiking leaky-integrator read-out ``LICell`` / ``LI``, in a
``norse.torch.SequentialState``, an ``nn.Sequential`` or registered in forward order on an
``nn.Module``. The adapter runs the layers itself, layer by layer over the window, each from the
state Norse gives it when none is passed (its resting state: ``v = v_leak``, no current).

The membrane decay per step (derived from Norse's update, ``norse/torch/functional/lif.py``,
``lif_feed_forward_step``; ``LIFBox`` and ``LI`` update ``v`` the same way). One explicit-Euler
step of ``dv/dt = tau_mem_inv (v_leak - v + i)`` is::

    i_new = i + I_in                                   # I_in = the nn.Linear's output
    v     = v + dt * tau_mem_inv * ((v_leak - v) + i_new)
          = (1 - dt * tau_mem_inv) * v + dt * tau_mem_inv * (i_new + v_leak)
    z     = H(v - v_th);   v = (1 - z) v + z v_reset

so the membrane decays by ``beta = 1 - dt * tau_mem_inv`` per step (not ``exp(-dt * tau_mem_inv)``;
the two agree only for ``dt * tau_mem_inv << 1``; Norse's defaults ``dt = 1e-3``,
``tau_mem_inv = 100`` give ``beta = 0.9``), and a current enters the membrane scaled by
``dt * tau_mem_inv``. Mapped onto the current-based LIF of SPEC 3
(``syn = alpha syn + x W``, ``mem = beta mem + syn``, ``alpha = 1 - dt * tau_syn_inv``), Norse's
layer has the effective weight ``W_l = dt * tau_mem_inv * W^T``: that is the ``W_l`` given to TSA.
The gain is positive and the same for every weight of a layer, so it scales the map of every
class alike. ``beta`` must lie in ``(0, 1)``, i.e. ``0 < dt * tau_mem_inv < 1``, and be the same
for every neuron of the layer.

The exact LIF attribution (``lif_z``, ``lif_ab``; :meth:`NorseAdapter.exact_recording`) reads
each layer as it is, per neuron: with ``g = dt * tau_mem_inv`` and ``i_new = i + I_in``, Norse's
step is ``v' = (1 - g) v + g i_new`` (``alpha = 1 - dt * tau_syn_inv`` per step for the current;
``LIFBox`` has no current, ``alpha = 0``), a spike ``z = H(v' - v_th)`` in the same step, and the
reset ``v = (1 - z) v'``. So the membrane before the reset follows spikeattr's kernel with the
carried membrane cut after a spike, the spike comes from the membrane of its own step, and the
class scores are read after the last step's reset. ``nn.Linear`` biases are constant input
currents (``g * b``). A layer with a non-zero ``v_leak`` or ``v_reset``, or a ``LIFBox`` that
does not reset to its value, is refused.

Spikes are Norse's output ``z`` at each step (a spike at step ``t`` comes from the membrane of
step ``t``). Class scores: the output layer's membrane ``v`` after the last step (after the reset
for a spiking output layer; the read-out's ``v`` for ``LICell``/``LI``); ``p`` is its softmax.
Bias currents (``nn.Linear`` biases, a non-zero ``v_leak``) act in the forward pass but are not
attributed by TSA; :attr:`NorseAdapter.ignored_biases` lists the biased ``nn.Linear`` layers.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    "nn.MaxPool1d/2d and nn.Flatten around them), each followed by norse.torch.LIFCell, "
    "LIFBoxCell or LIF, optionally ending with a LICell or LI read-out (nn.Identity and "
    "nn.Dropout are skipped), in a SequentialState, an nn.Sequential or registered in forward "
    "order on an nn.Module"
)


def import_norse() -> tuple[ModuleType, ModuleType]:
    """``(norse.torch, norse.torch.module.snn)``, or a :class:`MissingExtraError` if missing."""
    try:
        import norse.torch
        import norse.torch.module.snn
    except ImportError as error:
        raise MissingExtraError(
            "explaining Norse models needs norse: pip install --no-deps norse nir nirtorch h5py "
            "(see the README; Norse declares torchvision, which spikeattr does not need)"
        ) from error
    return norse.torch, norse.torch.module.snn


class NorseAdapter(DenseSpikingAdapter):
    """Make a Norse model explainable: ``TSA(NorseAdapter(model), "ns").attribute(x)``.

    Input spikes are batch first, ``[B, T, n_in]``, as everywhere in spikeattr (the adapter
    transposes them for Norse's time-first modules). See the module documentation for the
    derivation of ``beta`` and of the effective weights.

    Args:
        model: a ``SequentialState``, ``nn.Sequential`` or ``nn.Module`` of ``nn.Linear`` +
            ``LIFCell`` / ``LIFBoxCell`` / ``LIF`` layers, optionally ending with ``LICell`` /
            ``LI``.
        layers: optional modules of ``model`` in forward order, if the registration order
            differs from it.
        time_first: the spikes given to ``attribute`` are ``[T, B, ...]``, as Norse's own
            tools make them (default ``[B, T, ...]``, spikeattr's and Captum's layout; a call
            with more windows than steps then warns). The maps are ``[B, C, ..., T]`` either way.

    Raises:
        UnsupportedLayerError: for a layer TSA cannot explain (recurrent, convolution, pooling,
            another neuron type, a neuron layer without an ``nn.Linear`` before it), naming the
            layer. Per-neuron time constants, or a decay of 0, are refused when TSA is asked for
            a map (TSA has one decay per layer in ``(0, 1)``); the exact LIF attribution takes
            them as they are.

    Examples:
        >>> import norse.torch as norse
        >>> net = norse.SequentialState(nn.Linear(3, 8), norse.LIFCell(),
        ...                             nn.Linear(8, 4), norse.LICell())
        >>> adapter = NorseAdapter(net)
        >>> adapter.layer_sizes, [round(beta, 6) for beta in adapter.betas()]
        ((3, 8, 4), [0.9, 0.9])
    """

    library = "Norse"

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module] | None = None,
        time_first: bool = False,
    ) -> None:
        self.time_first = time_first
        self._norse, self._base = import_norse()
        self.model = model
        self.stages = pair_stages(flatten_modules(model, layers), self._classify, SUPPORTED)

    def _classify(self, layer: NamedLayer) -> LayerKind:
        norse = self._norse
        module = layer.module
        if isinstance(module, LINEAR_LAYERS):
            return "linear"
        if isinstance(module, PASS_THROUGH):
            return "skip"
        if type(module) in (norse.LIFCell, norse.LIFBoxCell, norse.LIF):
            return "neuron"
        if type(module) in (norse.LICell, norse.LI):
            return "readout"
        base = self._base
        recurrent = (base.SNNRecurrentCell, base.SNNRecurrent, norse.RecurrentSequential)
        if isinstance(module, recurrent):
            raise refuse(layer, RECURRENT, SUPPORTED)
        problem = torch_layer_problem(module)
        if problem is not None:
            raise refuse(layer, problem, SUPPORTED)
        if isinstance(module, norse.LILinearCell):
            raise refuse(
                layer,
                "holds its own weights; write it as nn.Linear followed by norse.torch.LICell",
                SUPPORTED,
            )
        if isinstance(module, (base.SNNCell, base.SNN)):
            raise refuse(
                layer,
                "is a neuron type TSA's adapter does not know (only the exact classes LIFCell, "
                "LIFBoxCell, LIF, and LICell/LI as the read-out)",
                SUPPORTED,
            )
        raise refuse(layer, "is not a layer TSA can explain", SUPPORTED)

    def _gain(self, stage: Stage) -> tuple[float, float]:
        """``(dt * tau_mem_inv, dt)`` of a neuron layer, checked."""
        neuron: Any = stage.neuron.module
        dt = float(neuron.dt)
        tau_mem_inv = scalar_parameter(
            neuron.p.tau_mem_inv,
            stage,
            "tau_mem_inv",
            " Give the layer a scalar tau_mem_inv in its parameters.",
        )
        return dt * tau_mem_inv, dt

    def betas(self) -> list[float]:
        """``1 - dt * tau_mem_inv`` of every neuron layer (see the module documentation)."""
        betas = []
        for stage in self.stages:
            gain, dt = self._gain(stage)
            derivation = f"1 - dt * tau_mem_inv with dt = {dt:g}, tau_mem_inv = {gain / dt:g}"
            betas.append(check_decay(1.0 - gain, stage, derivation))
        return betas

    def scales(self) -> list[float]:
        """``dt * tau_mem_inv`` of every neuron layer: the gain of its input current."""
        return [self._gain(stage)[0] for stage in self.stages]

    def weights(self) -> list[torch.Tensor]:
        """``W_l = dt * tau_mem_inv * W^T [n_l, n_{l+1}]``: how a spike enters the membrane."""
        self.require_dense("weights()")
        return [stage.weight * self._gain(stage)[0] for stage in self.stages]

    def exact_recording(self, spikes: torch.Tensor) -> LIFRecording:
        """What the exact LIF attribution needs from one run on ``spikes [B, T, n_0]`` (from
        rest; ``[T, B, n_0]`` when the adapter takes time-first input), in float64, per neuron
        (see the module documentation)."""
        spikes = self.batch_first(spikes)
        self.require_dense("the exact LIF attribution")
        layers = [self._exact_layer(stage) for stage in self.stages]
        trace = self.run(spikes)
        return LIFRecording(
            layer_inputs=[
                spikes.detach().double().cpu().numpy(),
                *((s.detach().cpu() != 0).to(torch.int8).numpy() for s in trace.layer_spikes[:-1]),
            ],
            layer_spikes=[
                (s.detach().cpu() != 0).to(torch.int8).numpy() for s in trace.layer_spikes
            ],
            weights=[layer["weight"] for layer in layers],
            alphas=[layer["alpha"] for layer in layers],
            betas=[layer["beta"] for layer in layers],
            scores=trace.scores.detach().double().cpu().numpy(),
            lag=0,
            resets=[layer["reset"] for layer in layers],
            biases=[layer["bias"] for layer in layers],
            scores_after_reset=True,
        )

    def _exact_layer(self, stage: Stage) -> dict[str, Any]:
        """One layer's per-neuron decays, effective weight ``[n_in, n]``, bias and reset."""
        neuron: Any = stage.neuron.module
        params = neuron.p
        size = int(stage.fc.out_features)
        dt = float(neuron.dt)

        def per_neuron(name: str) -> np.ndarray:
            value = torch.as_tensor(getattr(params, name)).detach().double().cpu().flatten()
            if value.numel() == 1:
                value = value.expand(size)
            if value.numel() != size or not bool(torch.isfinite(value).all()):
                raise UnsupportedLayerError(
                    f"{stage.neuron.describe()} has {value.numel()} values of {name} for "
                    f"{size} neurons (or one that is not finite); expected 1 or one per neuron"
                )
            return value.numpy().copy()

        for name in ("v_leak", "v_reset"):
            if hasattr(params, name) and np.any(per_neuron(name) != 0):
                raise UnsupportedLayerError(
                    f"{stage.neuron.describe()} has a non-zero {name}; the exact LIF attribution "
                    "needs v_leak = v_reset = 0 (a membrane at rest at 0)"
                )
        reset_method = getattr(params, "reset_method", None)
        if reset_method is not None and getattr(reset_method, "__name__", "") != "reset_value":
            name = getattr(reset_method, "__name__", reset_method)
            raise UnsupportedLayerError(
                f"{stage.neuron.describe()} resets with {name}; the exact LIF attribution "
                "models reset_value"
            )
        gain = dt * per_neuron("tau_mem_inv")
        beta = 1.0 - gain
        alpha = (
            1.0 - dt * per_neuron("tau_syn_inv")
            if hasattr(params, "tau_syn_inv")
            else np.zeros(size)
        )
        for name, decay in (("1 - dt * tau_mem_inv", beta), ("1 - dt * tau_syn_inv", alpha)):
            if not bool(((decay >= 0) & (decay <= 1)).all()):
                raise UnsupportedLayerError(
                    f"{stage.neuron.describe()} has a decay per step {name} outside [0, 1] "
                    f"(from {decay.min():.6g} to {decay.max():.6g}); dt is too large for its "
                    "time constants"
                )
        weight = stage.weight.detach().double().cpu().numpy() * gain[None, :]
        bias = stage.fc.bias
        return {
            "weight": weight,
            "alpha": alpha,
            "beta": beta,
            "bias": None if bias is None else bias.detach().double().cpu().numpy() * gain,
            "reset": "carry" if stage.kind == "neuron" else "none",
        }

    def run(
        self, spikes: torch.Tensor, state: list[Any] | None = None, pooled: bool = False
    ) -> AdapterTrace:
        """Run the layers over ``spikes [B, T, n_0]`` (``[B, T, *shape]``), recording every
        layer.

        From rest, or from ``state`` (per neuron layer the Norse state after an earlier run,
        as returned in :attr:`AdapterTrace.state`). ``pooled`` records the input of every max
        pooling at every step.
        """
        self.check_input(spikes)
        first: torch.Tensor = self.stages[0].linear.module.weight  # type: ignore[assignment]
        batch, steps = spikes.shape[:2]
        activity = spikes.to(dtype=first.dtype, device=first.device).transpose(0, 1).contiguous()
        layer_spikes = []
        final: list[Any] = []
        recorded: list[dict[int, torch.Tensor]] = []
        membrane = activity
        with torch.no_grad():
            for index, stage in enumerate(self.stages):
                neuron: Any = stage.neuron.module
                layer_state: Any = state[index] if state is not None else None
                pools: dict[int, list[torch.Tensor]] = {}
                if isinstance(neuron, self._base.SNN):  # whole sequence, time first
                    frames = activity.reshape(steps * batch, *activity.shape[2:])
                    currents = stage.currents(frames, pools if pooled else None)
                    currents = currents.reshape(steps, batch, *currents.shape[1:])
                    out, layer_state = neuron(currents, layer_state)
                    if getattr(neuron, "record_states", False):  # states of every step
                        layer_state = type(layer_state)(*(field[-1] for field in layer_state))
                    pooled_inputs = {
                        k: v[0].reshape(steps, batch, *v[0].shape[1:]).transpose(0, 1)
                        for k, v in pools.items()
                    }
                else:
                    outputs = []
                    for step in range(steps):
                        currents = stage.currents(activity[step], pools if pooled else None)
                        output, layer_state = neuron(currents, layer_state)
                        outputs.append(output)
                    out = torch.stack(outputs)
                    pooled_inputs = {k: torch.stack(v, 1) for k, v in pools.items()}
                recorded.append(pooled_inputs)
                final.append(layer_state)
                membrane = layer_state.v
                fired = (
                    (out != 0)
                    if stage.kind == "neuron"
                    else torch.zeros_like(out, dtype=torch.bool)
                )
                layer_spikes.append(fired.to(first.dtype).transpose(0, 1))
                activity = out
        width = int(membrane.shape[-1])
        scores = torch.broadcast_to(membrane.detach(), (batch, width)).clone()
        return AdapterTrace(layer_spikes, scores, final, recorded if pooled else None)
