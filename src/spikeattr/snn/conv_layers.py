"""The layers of a convolutional LIF network, declared as data: text, JSON records, shapes.

A network is a list of layers applied to every time step of an input ``[*input_shape]`` (for
example ``[2, 34, 34]``: two polarities on a 34 x 34 grid); ``lif`` marks a layer of LIF neurons
and closes a weight layer ``W_l`` (everything between two neuron layers acts on the currents
of one step, so it is one linear map, pooling aside):

=====================================  =========================================================
text                                   layer
=====================================  =========================================================
``conv 8 5 [stride=2] [padding=1]``    convolution, 8 output channels, kernel 5 (or ``3x5``),
``[dilation=1] [groups=1]``            no bias; 1-D or 2-D after the input's spatial dimensions
``maxpool 2 [stride=2]``               max pooling (stride defaults to the kernel)
``avgpool 2 [stride=2]``               average pooling
``flatten``                            ``[*shape] -> [n]``
``linear 100``                         dense weights ``[n_in, 100]``, no bias (needs a flat input)
``lif``                                a layer of LIF neurons (SPEC 3), one per unit
=====================================  =========================================================

The same layers as JSON records (what a checkpoint stores): ``{"kind": "conv", "channels": 8,
"kernel": [5, 5], "stride": [2, 2], "padding": [0, 0], "dilation": [1, 1], "groups": 1}``,
``{"kind": "maxpool", "kernel": [2, 2], "stride": [2, 2]}``, ``{"kind": "flatten"}``,
``{"kind": "linear", "units": 100}``, ``{"kind": "lif"}``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]


class LayerSpecError(ValueError):
    """A declared layer list is malformed or does not fit the input shape."""


@dataclass(frozen=True)
class Conv:
    """A convolution without bias; tuples have one entry per spatial dimension."""

    channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int = 1


@dataclass(frozen=True)
class Pool:
    """Max (``mode="max"``) or average (``"avg"``) pooling without padding."""

    mode: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True)
class Flatten:
    """``[*shape] -> [n]``."""


@dataclass(frozen=True)
class Linear:
    """Dense weights ``[n_in, units]``, no bias."""

    units: int


@dataclass(frozen=True)
class LIF:
    """A layer of LIF neurons, one per unit of its input current."""


LayerSpec = Conv | Pool | Flatten | Linear | LIF
_KINDS = ("conv", "maxpool", "avgpool", "flatten", "linear", "lif")


def _positive(value: Any, what: str, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise LayerSpecError(f"{what} must be an integer >= {least}; got {value!r}")
    return value


def _tuple(value: Any, dims: int, what: str, least: int = 1) -> tuple[int, ...]:
    """An int (repeated) or a list of ``dims`` ints, each at least ``least``."""
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise LayerSpecError(f"{what} needs {dims} values (one per spatial dimension)")
        return tuple(_positive(v, what, least) for v in value)
    return (_positive(value, what, least),) * dims


def _number(text: str, what: str) -> int | list[int]:
    try:
        parts = [int(p) for p in text.split("x")]
    except ValueError:
        raise LayerSpecError(f"{what} must be an integer or AxB; got {text!r}") from None
    return parts[0] if len(parts) == 1 else parts


def parse_layer(text: str) -> dict[str, Any]:
    """A layer's JSON record from its text (see the module docstring); spatial values may still
    be single ints, expanded by :func:`resolve_layers`.

    Example:
        >>> parse_layer("conv 8 5 stride=2")
        {'kind': 'conv', 'channels': 8, 'kernel': 5, 'stride': 2}
    """
    words = str(text).split()
    if not words or words[0] not in _KINDS:
        raise LayerSpecError(
            f"layer {text!r} must start with one of {', '.join(_KINDS)} (e.g. 'conv 8 5', "
            "'maxpool 2', 'flatten', 'linear 100', 'lif')"
        )
    kind, rest = words[0], words[1:]
    positional = [w for w in rest if "=" not in w]
    options = dict(w.split("=", 1) for w in rest if "=" in w)
    names = {"conv": ["channels", "kernel"], "maxpool": ["kernel"], "avgpool": ["kernel"]}
    names["linear"] = ["units"]
    expected = names.get(kind, [])
    if len(positional) != len(expected):
        wanted = " ".join(n.upper() for n in expected) or "no values"
        raise LayerSpecError(f"layer {text!r}: '{kind}' takes {wanted}")
    allowed = {"conv": {"stride", "padding", "dilation", "groups"}, "maxpool": {"stride"}}
    allowed["avgpool"] = {"stride"}
    unknown = sorted(set(options) - allowed.get(kind, set()))
    if unknown:
        raise LayerSpecError(f"layer {text!r}: unknown option(s) {unknown} for '{kind}'")
    record: dict[str, Any] = {"kind": kind}
    for name, word in [*zip(expected, positional, strict=True), *options.items()]:
        record[name] = _number(word, f"layer {text!r}: {name}")
    return record


def resolve_layers(
    records: Sequence[Any], input_shape: Shape
) -> tuple[list[LayerSpec], list[Shape]]:
    """Layer specs from JSON records (or texts), checked against ``input_shape``, and the shape
    after each layer.

    Raises:
        LayerSpecError: naming the layer (its position and record) and what is wrong.
    """
    if not records:
        raise LayerSpecError("a network needs at least one layer")
    shape = tuple(input_shape)
    specs: list[LayerSpec] = []
    shapes: list[Shape] = []
    weighted = False
    for position, raw in enumerate(records):
        record = parse_layer(raw) if isinstance(raw, str) else raw
        where = f"layer {position} ({raw!r})"
        try:
            spec, shape = _resolve(record, shape)
        except LayerSpecError as exc:
            raise LayerSpecError(f"{where}: {exc}") from None
        if isinstance(spec, LIF):
            if not weighted:
                raise LayerSpecError(
                    f"{where}: a neuron layer needs a conv or linear layer before it (since the "
                    "previous neuron layer)"
                )
            weighted = False
        elif isinstance(spec, (Conv, Linear)):
            weighted = True
        specs.append(spec)
        shapes.append(shape)
    if not isinstance(specs[-1], LIF) or len(shapes[-1]) != 1:
        raise LayerSpecError(
            "the last layers must be 'linear C' and 'lif': the output neurons are the classes; "
            f"the network ends with {records[-1]!r} giving {list(shapes[-1])}"
        )
    return specs, shapes


def _resolve(record: Any, shape: Shape) -> tuple[LayerSpec, Shape]:
    if not isinstance(record, dict) or record.get("kind") not in _KINDS:
        raise LayerSpecError(f"must be a record with 'kind' one of {list(_KINDS)}")
    kind = record["kind"]
    fields = {
        "conv": {"kind", "channels", "kernel", "stride", "padding", "dilation", "groups"},
        "maxpool": {"kind", "kernel", "stride"},
        "avgpool": {"kind", "kernel", "stride"},
        "linear": {"kind", "units"},
    }
    unknown = sorted(set(record) - fields.get(kind, {"kind"}))
    if unknown:
        raise LayerSpecError(f"unknown field(s) {unknown}")
    if kind == "lif":
        return LIF(), shape
    if kind == "flatten":
        return Flatten(), (math.prod(shape),)
    if kind == "linear":
        if len(shape) != 1:
            raise LayerSpecError(
                f"'linear' needs a flat input; it gets {list(shape)} (add flatten)"
            )
        units = _positive(record.get("units"), "units")
        return Linear(units), (units,)
    dims = len(shape) - 1
    if dims not in (1, 2):
        raise LayerSpecError(
            f"'{kind}' needs an input [channels, length] or [channels, height, width]; it gets "
            f"{list(shape)}"
        )
    if "kernel" not in record:
        raise LayerSpecError("field 'kernel' is missing")
    kernel = _tuple(record["kernel"], dims, "kernel")
    if kind in ("maxpool", "avgpool"):
        stride = _tuple(record.get("stride", list(kernel)), dims, "stride")
        sizes = [(n - k) // s + 1 for n, k, s in zip(shape[1:], kernel, stride, strict=True)]
        if min(sizes) < 1:
            raise LayerSpecError(f"kernel {list(kernel)} is larger than the input {list(shape)}")
        return Pool(kind[:3], kernel, stride), (shape[0], *sizes)
    channels = _positive(record.get("channels"), "channels")
    groups = _positive(record.get("groups", 1), "groups")
    if shape[0] % groups or channels % groups:
        raise LayerSpecError(
            f"groups={groups} must divide the input channels ({shape[0]}) and the output "
            f"channels ({channels})"
        )
    stride = _tuple(record.get("stride", 1), dims, "stride")
    padding = _tuple(record.get("padding", 0), dims, "padding", least=0)
    dilation = _tuple(record.get("dilation", 1), dims, "dilation")
    sizes = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(shape[1:], kernel, stride, padding, dilation, strict=True)
    ]
    if min(sizes) < 1:
        raise LayerSpecError(f"kernel {list(kernel)} does not fit the input {list(shape)}")
    return Conv(channels, kernel, stride, padding, dilation, groups), (channels, *sizes)


def layer_record(spec: LayerSpec) -> dict[str, Any]:
    """The JSON record of a resolved layer (tuples as lists)."""
    if isinstance(spec, Conv):
        return {
            "kind": "conv",
            "channels": spec.channels,
            "kernel": list(spec.kernel),
            "stride": list(spec.stride),
            "padding": list(spec.padding),
            "dilation": list(spec.dilation),
            "groups": spec.groups,
        }
    if isinstance(spec, Pool):
        return {
            "kind": f"{spec.mode}pool",
            "kernel": list(spec.kernel),
            "stride": list(spec.stride),
        }
    if isinstance(spec, Linear):
        return {"kind": "linear", "units": spec.units}
    return {"kind": "flatten" if isinstance(spec, Flatten) else "lif"}


def weight_shapes(specs: Sequence[LayerSpec], input_shape: Shape) -> list[Shape]:
    """The shape of the weight of every conv and linear layer, in order."""
    shapes = []
    shape = tuple(input_shape)
    _, after = resolve_layers([layer_record(s) for s in specs], input_shape)
    for spec, out in zip(specs, after, strict=True):
        if isinstance(spec, Conv):
            shapes.append((spec.channels, shape[0] // spec.groups, *spec.kernel))
        elif isinstance(spec, Linear):
            shapes.append((shape[0], spec.units))
        shape = out
    return shapes


def default_layers(trunk: Sequence[str], hidden: Sequence[int], n_classes: int) -> list[str]:
    """The full layer list of a trunk (e.g. convolutions), dense hidden layers and the output:
    ``trunk + [flatten] + [linear h, lif] per hidden size + [linear C, lif]``."""
    return [
        *trunk,
        "flatten",
        *(f"{kind} {n}".strip() for h in hidden for kind, n in (("linear", h), ("lif", ""))),
        f"linear {n_classes}",
        "lif",
    ]
