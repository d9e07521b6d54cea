"""The result of Temporal Spike Attribution and what every way of computing it shares.

:class:`Attribution` holds the maps of a batch of explained predictions, whichever network they
come from: dense (:func:`spikeattr.explain.tsa.attribute_recording`), or linear maps of any kind
(:func:`spikeattr.explain.tsa_maps.attribute_maps`), and Kim & Panda's SAM. The helpers are the
parts both computations read the same way: the variants, the explained class (``target``), the
precision (``dtype``) and the decay ``prod_l beta_l^(T-t)`` with its support; the formula and
the precision are described in :mod:`spikeattr.explain.tsa`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.display import Displayable

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
