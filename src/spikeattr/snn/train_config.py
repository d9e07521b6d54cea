"""The hyper-parameters of one training run (:class:`TrainConfig`), validated once at the edge.

Every setting is checked on its own by :func:`check_setting` (type, finiteness, range), both
when a :class:`TrainConfig` is built in Python and when a TOML file or a ``--set key=value``
override names it (:func:`build_config`, through :mod:`spikeattr.config`), so an error names the
file or override it came from.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeattr.config import apply_layers, parse_override, read_toml
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.conv_layers import LayerSpecError, parse_layer
from spikeattr.snn.lif import LIFParameters


class TrainConfigError(SpikeAttrError):
    """A training configuration is invalid: unknown key, wrong type or value out of range."""


_SECONDS = ("dt", "tau_syn", "tau_mem")
_FLOATS = (*_SECONDS, "lr", "min_delta", "val_fraction")
_INTS = ("batch_size", "window", "epochs", "patience", "seed")
_STRINGS = ("monitor", "train_split", "val_split")
_AT_LEAST = {"batch_size": (1, ""), "window": (1, " step"), "epochs": (1, "")}
_AT_LEAST |= {"patience": (1, " epoch"), "seed": (0, "")}


def check_setting(name: str, value: Any) -> Any:
    """``value`` checked (and normalised: floats, ``hidden`` as a tuple) for the setting ``name``;
    else a :class:`TrainConfigError` naming the key and what it must be.

    Examples:
        >>> check_setting("hidden", [50, 25]), check_setting("lr", 1)
        ((50, 25), 1.0)
    """
    key = f"config key {name!r}"
    if name == "conv":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TrainConfigError(
                f'{key} must be a list of layers, e.g. ["conv 8 5 stride=2", "lif"] ([] for '
                f"a dense network); got {value!r}"
            )
        for layer in value:
            if not isinstance(layer, str):
                raise TrainConfigError(f"{key} must list layers as text; got {layer!r}")
            try:
                parse_layer(layer)
            except LayerSpecError as exc:
                raise TrainConfigError(f"{key}: {exc}") from None
        return tuple(value)
    if name == "hidden":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TrainConfigError(
                f"{key} must be a list of layer sizes, e.g. [10] or [50, 25] ([] for a 1L "
                f"model); got {value!r}"
            )
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in value):
            raise TrainConfigError(f"{key} must list integers; got {list(value)}")
        if not all(n >= 1 for n in value):
            raise TrainConfigError(f"config key 'hidden' sizes must be >= 1; got {list(value)}")
        return tuple(int(n) for n in value)
    if name in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise TrainConfigError(
                f"{key} must be a number; got {value!r} ({type(value).__name__})"
            )
        if not math.isfinite(value):
            raise TrainConfigError(f"{key} must be finite; got {value!r}")
        number = float(value)
        if name in _SECONDS and number <= 0:
            raise TrainConfigError(f"{key} must be > 0 seconds; got {number}")
        if name == "lr" and number <= 0:
            raise TrainConfigError(f"{key} must be > 0; got {number}")
        if name == "min_delta" and number < 0:
            raise TrainConfigError(f"{key} must be >= 0; got {number}")
        if name == "val_fraction" and not 0 < number < 1:
            raise TrainConfigError(f"{key} must lie strictly between 0 and 1; got {number}")
        return number
    if name in _INTS:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TrainConfigError(
                f"{key} must be an integer; got {value!r} ({type(value).__name__})"
            )
        least, unit = _AT_LEAST[name]
        if value < least:
            raise TrainConfigError(f"{key} must be >= {least}{unit}; got {value}")
        return int(value)
    if name in _STRINGS:
        if not isinstance(value, str):
            raise TrainConfigError(
                f"{key} must be a string; got {value!r} ({type(value).__name__})"
            )
        if name == "monitor" and value not in ("train", "val"):
            raise TrainConfigError(f"{key} must be 'train' or 'val'; got {value!r}")
        return value
    raise TrainConfigError(f"unknown config key {name!r}; valid keys: {', '.join(_keys())}")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run, validated on construction.

    Attributes:
        hidden: hidden layer sizes (``()`` = 1L, ``(10,)`` = 2L, ``(10, 10)`` = 3L).
        conv: the convolutional layers before them (:mod:`~spikeattr.snn.conv_layers` texts,
            e.g. ``("conv 8 5 stride=2", "lif")``), for data whose inputs have a shape; the
            network is then ``conv + flatten + [linear h, lif] per hidden size + linear C, lif``
            (a :class:`~spikeattr.snn.conv_network.ConvLIFNetwork`). ``()``: a dense network.
        dt: simulation step in seconds; ``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_mem)``.
        tau_syn: synaptic time constant (s).
        tau_mem: membrane time constant (s).
        lr: Adam learning rate.
        batch_size: number of streams, i.e. windows per batch.
        window: steps per training window (SPEC 2.3: 900).
        epochs: maximum number of epochs.
        patience: stop after this many consecutive epochs without improvement.
        min_delta: an epoch improves if its loss is below ``best - min_delta``.
        monitor: ``"train"`` (paper) or ``"val"``: the loss early stopping watches.
        val_fraction: tail of the training split used for validation when the series has no
            ``val_split`` and a validation loss is needed.
        seed: seeds the weight initialisation and torch's global RNG.
        train_split: name of the training split of the series.
        val_split: name of the validation split, used when the series has it.

    Examples:
        >>> TrainConfig(hidden=(10,), epochs=50).to_dict()["hidden"]
        [10]
    """

    hidden: tuple[int, ...] = ()
    conv: tuple[str, ...] = ()
    dt: float = 1e-3
    tau_syn: float = 1e-2
    tau_mem: float = 1e-3
    lr: float = 1e-2
    batch_size: int = 128
    window: int = 900
    epochs: int = 1000
    patience: int = 20
    min_delta: float = 0.0
    monitor: str = "train"
    val_fraction: float = 0.2
    seed: int = 0
    train_split: str = "train"
    val_split: str = "val"

    def __post_init__(self) -> None:
        for name in self.keys():
            object.__setattr__(self, name, check_setting(name, getattr(self, name)))

    # -- conversions ---------------------------------------------------------------------------
    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The accepted configuration keys."""
        return _keys()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "config") -> TrainConfig:
        """Build a config from a mapping; unknown keys and wrong types raise
        :class:`TrainConfigError` naming the key (and ``source``, e.g. the file)."""
        if not isinstance(values, Mapping):
            raise TrainConfigError(f"{source}: a training config must be a table of key = value")
        unknown = sorted(set(values) - set(cls.keys()))
        if unknown:
            raise TrainConfigError(
                f"{source}: unknown config key(s) {unknown}; valid keys: {', '.join(cls.keys())}"
            )
        try:
            return cls(**dict(values))
        except TrainConfigError as exc:
            raise TrainConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
    ) -> TrainConfig:
        """Read a TOML file of top-level ``key = value`` pairs (see :meth:`keys`).

        Example file::

            hidden = [10]
            lr = 0.01
            batch_size = 128
            monitor = "train"
        """
        layers = [(str(path), read_toml(path, error=TrainConfigError))]
        layers.append(("overrides", dict(overrides or {})))
        return cls(**_layered(layers))

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready dictionary (``hidden`` and ``conv`` as lists)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        out["conv"] = list(self.conv)
        return out

    def to_toml(self) -> str:
        """The config as a TOML document that :meth:`from_toml` reads back."""
        return "".join(f"{k} = {json.dumps(v)}\n" for k, v in self.to_dict().items())

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated; unknown keys refused)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def layer_sizes(self, n_inputs: int, n_classes: int) -> list[int]:
        """``[n_inputs, *hidden, n_classes]``."""
        return [n_inputs, *self.hidden, n_classes]

    @property
    def params(self) -> LIFParameters:
        """The LIF time constants as :class:`LIFParameters`."""
        return LIFParameters(dt=self.dt, tau_syn=self.tau_syn, tau_mem=self.tau_mem)


def _keys() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


def _layered(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The defaults with ``layers`` applied; each value checked where it is set."""
    defaults = TrainConfig().to_dict()
    return apply_layers(
        defaults,
        layers,
        error=TrainConfigError,
        check=lambda name, value, default: check_setting(name, value),
    )


def parse_hidden(text: str) -> list[int]:
    """Hidden sizes from text: ``"10"`` -> ``[10]``, ``"50,25"`` -> ``[50, 25]``, ``""`` or
    ``"none"`` -> ``[]`` (a 1L model)."""
    cleaned = text.strip().strip("[]").strip()
    if cleaned.lower() in ("", "none"):
        return []
    try:
        return [int(part) for part in cleaned.replace(" ", "").split(",")]
    except ValueError:
        raise TrainConfigError(
            f"hidden sizes must be comma-separated integers like 10 or 50,25; got {text!r}"
        ) from None


def build_config(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    **options: Any,
) -> TrainConfig:
    """A config from, in increasing precedence: defaults, a TOML file, ``key=value`` overrides
    (:func:`spikeattr.config.parse_override`) and keyword ``options`` (``None`` values are
    skipped; errors name them as ``--option``)."""
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if config_file is not None:
        layers.append((str(config_file), read_toml(config_file, error=TrainConfigError)))
    layers.append(("--set", dict(parse_override(o, TrainConfigError) for o in overrides)))
    for key, value in options.items():
        if value is not None:
            layers.append((f"--{key.replace('_', '-')}", {key: value}))
    return TrainConfig(**_layered(layers))


__all__ = [
    "TrainConfig",
    "TrainConfigError",
    "build_config",
    "check_setting",
    "parse_hidden",
]
