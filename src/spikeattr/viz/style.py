"""Names and colours shared by every figure: one colour per method, the same in every panel."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

#: Display names of the explanation methods (``spikeattr.explain.methods.METHODS`` keys).
METHOD_LABELS: dict[str, str] = {"s": "TSA-S", "ns": "TSA-NS", "sam": "SAM"}

#: Prefix of a method's random-attribution control in a results directory.
CONTROL_PREFIX = "random-"

#: Okabe-Ito colours (colour-blind safe), assigned to methods in order.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)

#: Base font size (points) of the metric figures.
FONT_SIZE = 10.0


def is_control(name: str) -> bool:
    """Whether ``name`` is a random control (``random-METHOD``)."""
    return name.startswith(CONTROL_PREFIX)


def base_method(name: str) -> str:
    """The method a name belongs to (``random-s`` -> ``s``)."""
    return name[len(CONTROL_PREFIX) :] if is_control(name) else name


def method_label(name: str) -> str:
    """``s`` -> ``TSA-S``; ``random-s`` -> ``random (TSA-S)``; unknown names unchanged."""
    label = METHOD_LABELS.get(base_method(name), base_method(name))
    return f"random ({label})" if is_control(name) else label


def model_label(model: str) -> str:
    """A short model name for crowded axes: ``published:synthetic_1L`` -> ``synthetic_1L``,
    ``runs/adl_model.json`` -> ``adl_model``."""
    if model.startswith("published:"):
        return model[len("published:") :]
    if model.endswith(".json") or "/" in model or "\\" in model:
        return PurePath(model.replace("\\", "/")).stem
    return model


def method_colours(methods: Sequence[str]) -> dict[str, str]:
    """A colour per base method, in the given order (a control uses its method's colour)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}
