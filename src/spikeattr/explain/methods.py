"""Explanation methods by name, for pipelines and the command line.

Every method has TSA's call shape: ``make_explainer(name, model).attribute(spikes, target)``
returns an :class:`~spikeattr.explain.tsa.Attribution` with ``values [B, C, n_in, T]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.tsa import Attribution, Target, TemporalSpikeAttribution


class Explainer(Protocol):
    """Anything with Captum's ``attribute(spikes, target)`` returning an Attribution."""

    def attribute(self, spikes: torch.Tensor, target: Target = None) -> Attribution:
        """Explain the last step of each window of ``spikes [B, T, n_in]``."""
        ...


def _tsa(variant: str) -> Callable[[Any], Explainer]:
    return lambda model: TemporalSpikeAttribution(model, variant=variant)


def _gradient(method: str) -> Callable[[Any], Explainer]:
    def build(model: Any) -> Explainer:
        from spikeattr.explain.gradients import GradientAttribution

        return GradientAttribution(model, method=method)

    return build


def _kim_panda(model: Any) -> Explainer:
    from spikeattr.explain.kim_panda_sam import KimPandaSAM

    return KimPandaSAM(model)


#: name -> (factory, one-line description)
METHODS: dict[str, tuple[Callable[[Any], Explainer], str]] = {
    "s": (_tsa("s"), "TSA-S: spiking neurons only"),
    "ns": (_tsa("ns"), "TSA-NS: silent neurons count negatively"),
    "sam": (_tsa("sam"), "SAM baseline of the TSA paper (TSA-S with unit weights)"),
    "saliency": (_gradient("saliency"), "Saliency |d log p_c / d x| (Captum, surrogate gradient)"),
    "ixg": (_gradient("input_x_gradient"), "Input x Gradient (Captum, surrogate gradient)"),
    "ig": (_gradient("ig"), "Integrated Gradients from the no-spike baseline (Captum)"),
    "kim_panda_sam": (_kim_panda, "Spike Activation Map of Kim & Panda 2021 (class-independent)"),
}


def make_explainer(name: str, model: Any) -> Explainer:
    """The explainer called ``name`` for ``model``; a clear error lists the known names."""
    if name not in METHODS:
        raise ExplanationError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHODS[name][0](model)
