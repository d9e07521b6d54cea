"""Explanation methods by name, for pipelines and the command line.

Every method has TSA's call shape: ``make_explainer(name, model).attribute(spikes, target)``
returns an :class:`~spikeattr.explain.attribution.Attribution` with ``values [B, C, n_in, T]``.

``rates`` (the data's per-channel spike rates ``[n_in]``) is the reference input of the exact
LIF methods (:mod:`spikeattr.explain.exact_attribution`); the other methods ignore it. Callers
that explain windows of a series pass the series' rates (:func:`channel_rates`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.tsa import Attribution, Target, TemporalSpikeAttribution


class Explainer(Protocol):
    """Anything with Captum's ``attribute(spikes, target)`` returning an Attribution."""

    def attribute(self, spikes: torch.Tensor, target: Target = None) -> Attribution:
        """Explain the last step of each window of ``spikes [B, T, n_in]``."""
        ...


Factory = Callable[[Any, np.ndarray | None], Explainer]


def _tsa(variant: str) -> Factory:
    return lambda model, rates: TemporalSpikeAttribution(model, variant=variant)


def _gradient(method: str) -> Factory:
    def build(model: Any, rates: np.ndarray | None) -> Explainer:
        from spikeattr.explain.gradients import GradientAttribution

        return GradientAttribution(model, method=method)

    return build


def _kim_panda(model: Any, rates: np.ndarray | None) -> Explainer:
    from spikeattr.explain.kim_panda_sam import KimPandaSAM

    return KimPandaSAM(model)


def _exact(name: str, rule: str) -> Factory:
    def build(model: Any, rates: np.ndarray | None) -> Explainer:
        from spikeattr.explain.exact_attribution import ExactLIFAttribution

        reference = "window" if rates is None else rates
        return ExactLIFAttribution(model, rule=rule, reference=reference, name=name)

    return build


#: name -> (factory, one-line description)
METHODS: dict[str, tuple[Factory, str]] = {
    "s": (_tsa("s"), "TSA-S: spiking neurons only"),
    "ns": (_tsa("ns"), "TSA-NS: silent neurons count negatively"),
    "sam": (_tsa("sam"), "SAM baseline of the TSA paper (TSA-S with unit weights)"),
    "saliency": (_gradient("saliency"), "Saliency |d log p_c / d x| (Captum, surrogate gradient)"),
    "ixg": (_gradient("input_x_gradient"), "Input x Gradient (Captum, surrogate gradient)"),
    "ig": (_gradient("ig"), "Integrated Gradients from the no-spike baseline (Captum)"),
    "kim_panda_sam": (_kim_panda, "Spike Activation Map of Kim & Panda 2021 (class-independent)"),
    "lif_z": (
        _exact("lif_z", "z"),
        "Exact LIF attribution, z-rule: synaptic current, membrane and resets, contrastive",
    ),
    "lif_ab": (
        _exact("lif_ab", "alpha_beta"),
        "Exact LIF attribution, alpha-beta rule (excitation only), contrastive",
    ),
}


#: The precisions of the methods whose maps take one (TSA, SAM, Kim & Panda): float64 keeps
#: every tail; float32 is the TSA paper's, zero wherever its decay underflows.
PRECISIONS: tuple[str, ...] = ("float64", "float32")
#: The methods that take a precision; the others have their own (the exact LIF methods compute
#: in float64, the gradients in the model's dtype).
PRECISION_METHODS = frozenset({"s", "ns", "sam", "kim_panda_sam"})


def method_dtype(name: str, precision: str) -> torch.dtype | None:
    """The ``dtype`` to pass to method ``name``'s ``attribute`` for ``precision`` (``None``:
    the method has a fixed precision)."""
    if precision not in PRECISIONS:
        raise ExplanationError(
            f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}"
        )
    return getattr(torch, precision) if name in PRECISION_METHODS else None


def make_explainer(name: str, model: Any, rates: np.ndarray | None = None) -> Explainer:
    """The explainer called ``name`` for ``model``; a clear error lists the known names.

    ``rates [n_in]``: the data's per-channel spike rates (the exact LIF methods' reference;
    without them they take each window's own rates)."""
    if name not in METHODS:
        raise ExplanationError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHODS[name][0](model, rates)


def channel_rates(spikes: np.ndarray | torch.Tensor) -> np.ndarray:
    """The spike rate of each channel of a series ``[T, n_in]`` (float64 ``[n_in]``)."""
    array = spikes.detach().cpu().numpy() if isinstance(spikes, torch.Tensor) else spikes
    total = np.zeros(array.shape[-1], dtype=np.float64)
    for start in range(0, array.shape[0], 1 << 16):  # int8 series: no float copy of it all
        total += array[start : start + (1 << 16)].sum(axis=0, dtype=np.float64)
    return total / max(1, array.shape[0])
