"""Names and colours shared by every figure: one colour per method, the same in every panel;
each control drawn in its method's colour, told apart by its own mark."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from spikeattr.evaluate.summary import CONTROL_LABELS

#: Display names of the explanation methods (``spikeattr.explain.methods.METHODS`` keys).
METHOD_LABELS: dict[str, str] = {"s": "TSA-S", "ns": "TSA-NS", "sam": "SAM"}

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

#: How a control's band is filled, in its method's colour: ``(alpha, hatch)``; a band with a
#: hatch is not filled, only hatched.
CONTROL_BANDS: dict[str, tuple[float, str | None]] = {
    "permuted": (0.22, None),
    "random-order": (0.0, "...."),
    "uniform": (0.0, "////"),
}


def method_label(name: str) -> str:
    """``s`` -> ``TSA-S``; unknown names unchanged."""
    return METHOD_LABELS.get(name, name)


def control_label(control: str) -> str:
    """``permuted`` -> ``permuted control``."""
    return CONTROL_LABELS.get(control, f"{control} control")


def model_label(model: str) -> str:
    """A short model name for crowded axes: ``published:synthetic_1L`` -> ``synthetic_1L``,
    ``runs/adl_model.json`` -> ``adl_model``."""
    if model.startswith("published:"):
        return model[len("published:") :]
    if model.endswith(".json") or "/" in model or "\\" in model:
        return PurePath(model.replace("\\", "/")).stem
    return model


def method_colours(methods: Sequence[str]) -> dict[str, str]:
    """A colour per method, in the given order (its controls use the same colour)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}
