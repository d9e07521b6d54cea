"""Temporal Spike Attribution (TSA-S, TSA-NS) and the SAM baseline, exact and vectorised (SPEC 4).

For a prediction at the last step ``T-1`` of a window, with ``p`` the softmax of the output
scores at ``T-1``, ``S_0`` the input spikes and ``S_l`` the spikes of hidden layer ``l``, every
past step ``t`` and weight layer ``l`` get a diagonal matrix ``D_l(t)``:

* TSA-S:  ``D_l(t)[i, i] = beta^(T-t)`` if neuron ``i`` of layer ``l`` spiked at ``t``, else 0;
* TSA-NS: as TSA-S, but a silent neuron gets ``-(1/n_l) beta^(T-t)``;
* SAM:    TSA-S with every ``W_l`` replaced by ones (the TSA authors' adaptation of the
  spike activation map);

and ``A[c, i, t] = (D_0(t) W_0 D_1(t) W_1 ... D_{L-1}(t) W_{L-1} diag(p))[i, c]``.

Every factor carries ``beta^(T-t)``, so ``A[:, :, t] = beta^(L (T-t)) B(t) diag(p)`` with
``B(t) = d_0(t) * (W_0 diag(d_1(t)) W_1 ... W_{L-1})`` independent of ``T``: one batched
right-to-left product over all steps at once. With layer-specific decays the factor is
``prod_l beta_l^(T-t)``.

**Precision.** The algebra runs in float64 by default, over every step of the window, and the
decay is applied in log space: ``A = sign(B) exp(log|B| - L (T-t) log(1/beta))``. So a cell is 0
only where ``B`` is 0 or where the value itself lies below float64's smallest subnormal number
(about ``e^-745``). ``dtype=torch.float32`` is the paper's precision, kept for its reproduction:
the decay reaches float32's smallest normal number after ``87 / L`` steps for fast membranes
(``beta = e^-1``), so only the steps where it is representable are computed and the map is
exactly zero before (the *effective support*). An explicit ``tolerance`` truncates the same way
in either dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.display import Displayable
from spikeattr.explain.recording import MapRecording, RecordableNetwork, SpikeRecording

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from spikeattr.data.series import SpikeSeries

Variant = Literal["s", "ns", "sam"]
VARIANTS: tuple[str, ...] = ("s", "ns", "sam")
Target = int | Sequence[int] | torch.Tensor | None


@dataclass(repr=False)
class Attribution(Displayable):
    """The class-wise attribution maps of a batch of explained predictions.

    :meth:`plot` draws one sample's map over its input spikes (after ``import spikeattr.viz``);
    in Jupyter a result shows a one-line summary and a small preview of sample 0.

    Attributes:
        values: ``[B, C, n_in, T]`` attribution of every input and step to every class.
        probs: ``[B, C]`` class probabilities at the explained step.
        predicted: ``[B]`` predicted class (argmax of ``probs``).
        target: ``[B]`` the class each sample's explanation is for.
        variant: ``"s"``, ``"ns"`` or ``"sam"``.
        support: number of final steps computed (the rest is exactly 0): the whole window in
            float64, the steps whose decay is representable in float32 or above a tolerance.
    """

    values: torch.Tensor
    probs: torch.Tensor
    predicted: torch.Tensor
    target: torch.Tensor
    variant: str
    support: int

    display_kind = "attribution"

    @property
    def explanation(self) -> torch.Tensor:
        """The map of each sample's target class, ``[B, n_in, T]`` (``[B, *shape, T]``)."""
        lead = self.target.view(-1, *([1] * (self.values.ndim - 1)))
        index = lead.expand(-1, 1, *self.values.shape[2:])
        return self.values.gather(1, index).squeeze(1)

    def for_class(self, cls: int) -> torch.Tensor:
        """The map of class ``cls`` for every sample, ``[B, n_in, T]`` (``[B, *shape, T]``)."""
        n_classes = self.values.shape[1]
        if not 0 <= cls < n_classes:
            raise ExplanationError(f"class index {cls} out of range [0, {n_classes})")
        return self.values[:, cls]

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Plain arrays: ``values``, ``probs``, ``predicted``, ``target``."""
        return {
            "values": self.values.detach().cpu().numpy(),
            "probs": self.probs.detach().cpu().numpy(),
            "predicted": self.predicted.detach().cpu().numpy(),
            "target": self.target.detach().cpu().numpy(),
        }

    def describe(self) -> str:
        """One line: method, shapes, and sample 0's prediction and explained class."""
        batch, n_classes = self.values.shape[:2]
        n_steps = self.values.shape[-1]
        inputs = self.values.shape[2:-1]
        n_inputs = " x ".join(str(n) for n in inputs) if len(inputs) > 1 else str(inputs[0])
        first = ""
        if batch:
            predicted = int(self.predicted[0])
            p = float(self.probs[0, predicted])
            first = (
                f"; sample 0: predicted class {predicted} (p = {p:.2f}), "
                f"explained class {int(self.target[0])}"
            )
        return (
            f"Attribution ({self.variant}) of {batch} window{'s' if batch != 1 else ''}: "
            f"{n_classes} classes x {n_inputs} inputs x {n_steps} steps, support {self.support}"
            + first
        )

    def plot(
        self,
        spikes: torch.Tensor | np.ndarray,
        index: int = 0,
        *,
        stamp: int | None = None,
        series: SpikeSeries | None = None,
        label: int | None = None,
        class_names: Sequence[str] | None = None,
        input_names: Sequence[str] | None = None,
        class_index: int | str | None = None,
        steps: int | None = None,
        normalise: str = "none",
        width: float = 10.0,
    ) -> Figure:
        """The explanation figure of sample ``index``, as ``spikeattr plot explanation`` draws it.

        Args:
            spikes: the windows given to ``attribute``, ``[B, T, n_in]`` (or ``[T, n_in]``).
            index: the sample to draw.
            stamp: where the window ends in ``series`` (window ``[stamp - T, stamp)``, the
                explained step ``stamp - 1``); default ``T``, steps of the window.
            series: the series or split the window was cut from: names, time axis and, with
                ``stamp``, the true class.
            label: the true class of the explained step, if known.
            class_names: names of the classes (default: the series', else numbered).
            input_names: names of the inputs (default: the series', else numbered).
            class_index: class whose map is shown, by index or name (default: the explained
                one, ``target``).
            steps: show the last ``steps`` steps (default: the visible support of the map).
            normalise: ``"none"`` (real values) or ``"max-abs"`` (scaled to [-1, 1]).
            width: figure width in inches.

        Returns:
            A :class:`matplotlib.figure.Figure`; needs ``import spikeattr.viz`` (see
            :mod:`spikeattr.explain.display`).
        """
        return self._draw(
            spikes,
            index,
            stamp=stamp,
            series=series,
            label=label,
            class_names=class_names,
            input_names=input_names,
            class_index=class_index,
            steps=steps,
            normalise=normalise,
            width=width,
        )


def check_spikes(
    spikes: torch.Tensor, n_inputs: int | None = None, input_shape: Sequence[int] | None = None
) -> None:
    """Raise :class:`ExplanationError` unless ``spikes`` is a binary ``[B, T, n_in]`` tensor.

    With ``input_shape`` (a network with shaped inputs), ``[B, T, *input_shape]`` and the
    flattened ``[B, T, n_in]`` are accepted; with neither ``n_inputs`` nor ``input_shape``, any
    ``[B, T, ...]``.
    """
    if not isinstance(spikes, torch.Tensor):
        raise ExplanationError(
            f"spikes must be a torch.Tensor [B, T, n_in]; got {type(spikes).__name__}"
        )
    shaped = input_shape is not None and tuple(spikes.shape[2:]) == tuple(input_shape)
    if spikes.ndim != 3 and not shaped and (spikes.ndim < 3 or n_inputs is not None):
        raise ExplanationError(
            f"spikes must have shape [B, T, n_in] (batch first); got {tuple(spikes.shape)}"
            + (" — add a batch dimension with spikes.unsqueeze(0)" if spikes.ndim == 2 else "")
        )
    if input_shape is not None and not shaped and spikes.shape[2:] != (math.prod(input_shape),):
        raise ExplanationError(
            f"spikes must have shape [B, T, {', '.join(map(str, input_shape))}] or flattened "
            f"[B, T, {math.prod(input_shape)}] (the model's input); got {tuple(spikes.shape)}"
        )
    if n_inputs is not None and spikes.shape[2] != n_inputs:
        raise ExplanationError(
            f"spikes has {spikes.shape[2]} inputs in its last dimension; the model has "
            f"{n_inputs} (shape must be [B, T, {n_inputs}])"
        )
    if spikes.shape[1] == 0:
        raise ExplanationError("spikes has no time steps (T = 0); nothing to explain")
    if spikes.is_complex() or not (
        spikes.dtype.is_floating_point
        or spikes.dtype
        in (torch.bool, torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)
    ):
        raise ExplanationError(f"spikes must be a real or integer tensor; got {spikes.dtype}")
    if spikes.dtype != torch.bool and not bool(((spikes == 0) | (spikes == 1)).all()):
        bad = spikes[(spikes != 0) & (spikes != 1)]
        raise ExplanationError(
            f"spikes must be binary (0 or 1); found {bad.numel()} other values, e.g. "
            f"{bad.flatten()[0].item()!r}"
        )


def record_network(model: Any, spikes: torch.Tensor) -> SpikeRecording | MapRecording:
    """Run ``model`` on ``spikes [B, T, n_in]`` (or ``[B, T, *shape]``) from zero state and
    record what TSA needs."""
    from spikeattr.snn.conv_network import ConvLIFNetwork
    from spikeattr.snn.network import LIFNetwork

    if isinstance(model, ConvLIFNetwork):
        from spikeattr.explain.tsa_maps import record_conv_network

        check_spikes(spikes, input_shape=model.input_shape)
        return record_conv_network(model, spikes)
    if isinstance(model, LIFNetwork):
        check_spikes(spikes, model.layer_sizes[0])
        with torch.no_grad():
            out = model(spikes)
        weights = [w.detach() for w in model.weights]
        inputs = [spikes.to(weights[0].dtype), *out.layer_spikes]
        return SpikeRecording(inputs, weights, [model.beta] * model.n_layers, out.membrane[:, -1])
    if isinstance(model, RecordableNetwork):
        check_spikes(spikes)
        return model.record_spikes(spikes)
    raise ExplanationError(
        f"cannot explain a {type(model).__name__}: TSA needs a spikeattr LIFNetwork or a model "
        "with record_spikes(spikes) -> SpikeRecording (see spikeattr.explain.recording)"
    )


def layer_factors(spikes: torch.Tensor, variant: str) -> torch.Tensor:
    """The diagonal of ``D_l(t)`` without the decay, same shape as ``spikes``.

    ``s``/``sam``: 1 where the neuron spiked, else 0. ``ns``: 1 where it spiked, else ``-1/n_l``
    (``n_l`` = the size of the last dimension).
    """
    fired = (spikes > 0).to(spikes.dtype)
    if variant == "ns":
        n = spikes.shape[-1]
        return fired * (1.0 + 1.0 / n) - 1.0 / n
    return fired


def propagate(
    factors: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], last: torch.Tensor | None
) -> torch.Tensor:
    """``B(t) = d_0(t) * (W_0 diag(d_1(t)) W_1 ... W_{L-1})`` for all steps: ``[B, C, n_0, K]``.

    Computed right to left, class-major, so that every product is one batched matrix product
    ``W_{l-1} [n_{l-1}, n_l] @ [B, C, n_l, K]`` and the result needs no transposition.

    Args:
        factors: ``L`` tensors ``[B, n_l, K]`` (the diagonals of ``D_l``, step-minor).
        weights: ``L`` matrices ``W_l [n_l, n_{l+1}]``.
        last: optional ``[B, n_{L-1}, C]`` replacing ``W_{L-1}`` (e.g. ``W_{L-1} diag(p)``).
    """
    right = last if last is not None else weights[-1].unsqueeze(0)
    product = right.transpose(1, 2).unsqueeze(-1)  # [B, C, n_{L-1}, 1]
    for layer in range(len(weights) - 1, 0, -1):
        product = torch.matmul(weights[layer - 1], factors[layer].unsqueeze(1) * product)
    return factors[0].unsqueeze(1) * product


#: The precision of TSA, SAM and Kim & Panda's maps when the caller names none.
DEFAULT_DTYPE = torch.float64


def decay_exponents(betas: Sequence[float]) -> float:
    """``-log(prod_l beta_l)``: the decay of ``A`` per step back in time."""
    return -sum(math.log(beta) for beta in betas)


def support_length(
    betas: Sequence[float], n_steps: int, dtype: torch.dtype, tolerance: float | None = None
) -> int:
    """Number of final steps whose decay ``prod_l beta_l^(T-t)`` is at least ``tolerance``.

    The default tolerance is the smallest normal number of ``dtype``: below it the decay itself
    is no longer representable, so those steps are set to exactly 0.
    """
    tol = torch.finfo(dtype).tiny if tolerance is None else tolerance
    if not 0 < tol < 1:
        raise ExplanationError(f"tolerance must lie in (0, 1); got {tolerance}")
    rate = decay_exponents(betas)
    if rate <= 0:
        return n_steps
    # largest k with exp(-rate * k) >= tol, for k = T - t in 1..T
    return max(0, min(n_steps, math.floor(-math.log(tol) / rate)))


def check_dtype(dtype: torch.dtype | None) -> torch.dtype:
    """``dtype``, or :data:`DEFAULT_DTYPE`; refused unless it is a floating-point dtype."""
    chosen = DEFAULT_DTYPE if dtype is None else dtype
    if not isinstance(chosen, torch.dtype) or not chosen.is_floating_point:
        raise ExplanationError(f"dtype must be a floating-point torch dtype; got {dtype}")
    return chosen


def keeps_tails(dtype: torch.dtype, tolerance: float | None) -> bool:
    """Whether every step is computed, the decay applied in log space (float64, no
    ``tolerance``), rather than the steps whose decay is representable (the paper's float32)."""
    return tolerance is None and dtype == torch.float64


def apply_decay(values: torch.Tensor, exponents: torch.Tensor) -> torch.Tensor:
    """``values * exp(-exponents)`` along the last axis, in log space.

    ``sign(v) exp(log|v| - e)``: the decay alone would underflow long before the product does
    whenever ``|v| > 1``, so the product is formed before leaving log space. ``values [..., K]``,
    ``exponents [K]`` (``>= 0``); a 0 stays 0.
    """
    exponents = exponents.to(values.dtype)
    return torch.sign(values) * torch.exp(torch.log(values.abs()) - exponents)


def resolve_target(target: Target, predicted: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Turn ``target`` (None, int, sequence or tensor) into a ``[B]`` long tensor, checked."""
    batch = predicted.shape[0]
    if target is None:
        return predicted.clone()
    if isinstance(target, bool):
        raise ExplanationError(f"target must be a class index; got {target!r}")
    if isinstance(target, int):
        resolved = torch.full((batch,), target, dtype=torch.long, device=predicted.device)
    else:
        resolved = torch.as_tensor(target, device=predicted.device)
        if resolved.is_floating_point() or resolved.ndim != 1 or resolved.shape[0] != batch:
            raise ExplanationError(
                f"target must be None, an int or {batch} integer class indices (one per sample); "
                f"got shape {tuple(resolved.shape)} dtype {resolved.dtype}"
            )
        resolved = resolved.long()
    if bool(((resolved < 0) | (resolved >= n_classes)).any()):
        raise ExplanationError(
            f"target class {resolved.tolist()} out of range: the model has {n_classes} classes "
            f"(0..{n_classes - 1})"
        )
    return resolved


def attribute_recording(
    recording: SpikeRecording | MapRecording,
    variant: str = "s",
    target: Target = None,
    dtype: torch.dtype | None = None,
    tolerance: float | None = None,
) -> Attribution:
    """TSA of the last step of a recorded window; see the module docstring for the formula.

    A :class:`MapRecording` (convolutions, pooling, shaped layers) is explained by
    :func:`spikeattr.explain.tsa_maps.attribute_maps`.
    """
    if isinstance(recording, MapRecording):
        from spikeattr.explain.tsa_maps import attribute_maps

        return attribute_maps(recording, variant, target, dtype, tolerance)
    if variant not in VARIANTS:
        raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    dtype = check_dtype(dtype)
    n_steps = recording.n_steps
    scores = recording.scores.to(dtype)
    probs = torch.softmax(scores, dim=-1)
    predicted = probs.argmax(dim=-1)
    chosen = resolve_target(target, predicted, recording.n_classes)
    in_log_space = keeps_tails(dtype, tolerance)
    support = (
        n_steps if in_log_space else support_length(recording.betas, n_steps, dtype, tolerance)
    )
    batch = recording.batch_size
    n_inputs = recording.layer_inputs[0].shape[-1]
    values = torch.zeros(
        batch, recording.n_classes, n_inputs, n_steps, dtype=dtype, device=scores.device
    )
    if support > 0:
        start = n_steps - support
        back = torch.arange(support, 0, -1, dtype=torch.float64, device=scores.device)
        factors = [
            layer_factors(s[:, start:].to(dtype), variant).transpose(1, 2)  # [B, n_l, K]
            for s in recording.layer_inputs
        ]
        if not in_log_space:  # the paper's float32: the decay of all layers at once
            factors[0] = factors[0] * torch.exp(-decay_exponents(recording.betas) * back).to(dtype)
        weights = [
            torch.ones_like(w, dtype=dtype) if variant == "sam" else w.to(dtype)
            for w in recording.weights
        ]
        last = weights[-1].unsqueeze(0) * probs.unsqueeze(1)  # W_{L-1} diag(p): [B, n, C]
        product = propagate(factors, weights, last)
        if in_log_space:
            product = apply_decay(product, decay_exponents(recording.betas) * back)
        values[..., start:] = product
    return Attribution(
        values=values,
        probs=probs,
        predicted=predicted,
        target=chosen,
        variant=variant,
        support=support,
    )


class TemporalSpikeAttribution:
    """Temporal Spike Attribution of a spiking network's prediction at the last input step.

    Captum's call shape: the constructor takes the model, :meth:`attribute` the data.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork`, or any model with
            ``record_spikes(spikes) -> SpikeRecording``.
        variant: ``"s"`` (TSA-S, spikes only), ``"ns"`` (TSA-NS, silent neurons count
            negatively) or ``"sam"`` (the SAM baseline).
        tolerance: decay below which past steps are set to 0 (default: none in float64, the
            default precision; the dtype's smallest normal number otherwise).

    Examples:
        >>> from spikeattr.snn import load_model
        >>> model = load_model("published:synthetic_1L")
        >>> spikes = torch.ones(1, 100, 3)
        >>> result = TemporalSpikeAttribution(model, variant="ns").attribute(spikes)
        >>> tuple(result.values.shape)  # [B, C, n_in, T]
        (1, 4, 3, 100)
    """

    def __init__(self, model: Any, variant: str = "s", tolerance: float | None = None) -> None:
        if variant not in VARIANTS:
            raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
        self.model = model
        self.variant = variant
        self.tolerance = tolerance

    def attribute(
        self, spikes: torch.Tensor, target: Target = None, dtype: torch.dtype | None = None
    ) -> Attribution:
        """Explain the prediction at the last step of each window of ``spikes [B, T, n_in]``
        (``[B, T, *shape]`` for a network with shaped inputs, e.g. ``[B, T, 2, 34, 34]``).

        Each window is run from zero state. ``target=None`` explains the predicted class; an int
        or one index per sample picks other classes. ``dtype`` sets the precision of the
        attribution algebra (the forward pass stays in the model's dtype): float64 by default,
        every step kept; ``torch.float32`` is the paper's, truncated where the decay underflows.

        Returns:
            :class:`Attribution` with ``values [B, C, n_in, T]`` (``[B, C, *shape, T]``: the
            maps are laid out like the spikes).
        """
        recording = record_network(self.model, spikes)
        result = attribute_recording(recording, self.variant, target, dtype, self.tolerance)
        if tuple(result.values.shape[2:-1]) != tuple(spikes.shape[2:]):
            # a shaped network given flattened spikes: maps laid out like the spikes
            result.values = result.values.reshape(
                *spikes.shape[:1], -1, *spikes.shape[2:], spikes.shape[1]
            )
        return result


TSA = TemporalSpikeAttribution
