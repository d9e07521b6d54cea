"""The one configuration mechanism of the command line: TOML files and ``--set`` overrides.

``spikeattr train``/``tune`` (flat ``key = value`` settings of a
:class:`~spikeattr.snn.train_config.TrainConfig`) and ``spikeattr reproduce`` (``[section]``
tables) read their settings the same way, in increasing precedence:

1. the defaults of the command;
2. a TOML file (:func:`read_toml`);
3. ``--set key=value`` or ``--set section.key=value`` overrides (:func:`parse_override`): the
   value is read as a TOML literal (``5``, ``1e-3``, ``true``, ``[50, 25]``, ``"text"``), and a
   bare word that is no TOML literal is taken as a string (``--set monitor=val``).

:func:`apply_layers` lays these sources over the defaults, refusing unknown keys and sections
and (with :func:`check_like_default`) values whose type differs from the default's. Every error
is one line naming the source (file, ``--set``), the key and what was expected.
"""

from __future__ import annotations

import copy
import importlib
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from spikeattr.errors import SpikeAttrError

#: ``check(name, value, default) -> value`` validates (and may convert) one setting; it raises a
#: :class:`~spikeattr.errors.SpikeAttrError` whose message starts with ``name``.
Checker = Callable[[str, Any, Any], Any]


class ConfigError(SpikeAttrError):
    """A configuration file or override is unreadable, unknown or of the wrong type."""


def _toml() -> Any:
    """``tomllib`` (Python >= 3.11) or the ``tomli`` package (Python 3.10)."""
    try:
        return importlib.import_module("tomllib")
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        return importlib.import_module("tomli")


def read_toml(
    path: str | os.PathLike[str],
    what: str = "TOML config file",
    error: type[SpikeAttrError] = ConfigError,
) -> dict[str, Any]:
    """Parse a TOML file; a missing file, a directory, a binary file or invalid TOML is one
    ``error`` naming the file.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.toml").write_text("lr = 0.01\\n[run]\\nseed = 1\\n")
        >>> read_toml(folder / "a.toml")
        {'lr': 0.01, 'run': {'seed': 1}}
        >>> read_toml(folder)
        Traceback (most recent call last):
        ...
        spikeattr.config.ConfigError: ... is a directory; expected a TOML config file
    """
    toml = _toml()
    source = Path(path)
    if source.is_dir():
        raise error(f"{source} is a directory; expected a {what}")
    if not source.exists():
        raise error(f"config file {source} does not exist; expected a {what}")
    try:
        text = source.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{source} is not a text file (not UTF-8); expected a {what}") from None
    except OSError as exc:
        raise error(f"{source}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        parsed: dict[str, Any] = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise error(f"{source} is not valid TOML: {' '.join(str(exc).split())}") from None
    return parsed


def parse_value(text: str) -> Any:
    """An override's value: a TOML literal, or the bare text when it is none.

    Examples:
        >>> parse_value("5"), parse_value("[50, 25]"), parse_value("val"), parse_value('"5"')
        (5, [50, 25], 'val', '5')
    """
    toml = _toml()
    stripped = text.strip()
    try:
        return toml.loads(f"value = {stripped}")["value"]
    except toml.TOMLDecodeError:
        return stripped


def parse_override(text: str, error: type[SpikeAttrError] = ConfigError) -> tuple[str, Any]:
    """``"key=value"`` or ``"section.key=value"`` -> ``(key, value)`` (see :func:`parse_value`).

    Examples:
        >>> parse_override("hidden=[50, 25]"), parse_override("evaluate.stamps = 5")
        (('hidden', [50, 25]), ('evaluate.stamps', 5))
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise error(f"an override must look like key=value; got {text!r}")
    return key, parse_value(raw)


def check_like_default(name: str, value: Any, default: Any) -> Any:
    """``value`` if it has the type of ``default`` (an int is accepted for a float); else a
    :class:`ConfigError` saying what setting ``name`` must be.

    A list default takes a list whose items have the type of the default's items (strings when
    the default list is empty).
    """
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false; got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer; got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number; got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be finite; got {value!r}")
        return float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string; got {value!r}")
    elif isinstance(default, (list, tuple)):
        item = type(default[0]) if default else str
        if not isinstance(value, list) or not all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{name} must be a list of {_plural(item)}; got {value!r}")
        return list(value)
    return value


def _plural(kind: type) -> str:
    return {str: "strings", int: "integers", float: "numbers"}.get(kind, kind.__name__)


def apply_layers(
    defaults: Mapping[str, Any],
    layers: Iterable[tuple[str, Mapping[str, Any]]],
    error: type[SpikeAttrError] = ConfigError,
    check: Checker | None = check_like_default,
) -> dict[str, Any]:
    """Lay each ``(source, values)`` over a copy of ``defaults``, later layers winning.

    ``defaults`` is flat (``{"lr": 0.01, ...}``) or made of sections
    (``{"evaluate": {"window": 1000, ...}, ...}``); in a sectioned config a layer gives a
    section as a table or its keys dotted (``{"evaluate.window": 5}``, as ``--set`` does).
    Unknown keys and sections are refused naming the source; each value goes through
    ``check(name, value, default)`` (``None``: taken as given). Errors are raised as ``error``,
    prefixed with the source.

    Examples:
        >>> apply_layers({"run": {"seed": 0, "report": True}}, [("--set", {"run.seed": 3})])
        {'run': {'seed': 3, 'report': True}}
        >>> apply_layers({"lr": 0.01}, [("a.toml", {"lrate": 1})])
        Traceback (most recent call last):
        ...
        spikeattr.config.ConfigError: a.toml: unknown key 'lrate'; known keys: lr
    """
    config = copy.deepcopy(dict(defaults))
    sectioned = bool(defaults) and all(isinstance(v, Mapping) for v in defaults.values())
    for source, layer in layers:
        if not isinstance(layer, Mapping):
            raise error(f"{source}: expected a table of key = value settings")
        for name, value in layer.items():
            if not sectioned:
                config[name] = _checked(source, name, value, defaults, error, check)
                continue
            section, dot, key = name.partition(".")
            if section not in defaults:
                hint = "" if dot else " (an override is section.key=value)"
                raise error(
                    f"{source}: unknown section [{section}]{hint}; known sections: "
                    f"{', '.join(defaults)}"
                )
            if dot:
                values: Mapping[str, Any] = {key: value}
            elif isinstance(value, Mapping):
                values = value
            else:
                raise error(
                    f"{source}: [{section}] must be a table of settings (or set "
                    f"{section}.KEY=value)"
                )
            for key, item in values.items():
                config[section][key] = _checked(
                    source, key, item, defaults[section], error, check, section
                )
    return config


def _checked(
    source: str,
    key: str,
    value: Any,
    defaults: Mapping[str, Any],
    error: type[SpikeAttrError],
    check: Checker | None,
    section: str | None = None,
) -> Any:
    name = f"{section}.{key}" if section else key
    if key not in defaults:
        where = f"[{section}] knows" if section else "known keys:"
        raise error(f"{source}: unknown key {name!r}; {where} {', '.join(defaults)}")
    if check is None:
        return value
    try:
        return check(name, value, defaults[key])
    except SpikeAttrError as exc:
        raise error(f"{source}: {exc}") from None
