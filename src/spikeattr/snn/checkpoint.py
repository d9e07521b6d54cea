"""Model checkpoints: weights in safetensors or npz, metadata in JSON. Never pickle.

A checkpoint is two files side by side:

``NAME.json``
    ``{"format": "spikeattr-checkpoint", "format_version": 1, "name", "layer_sizes": [n_0, ..],
    "dt", "tau_syn", "tau_mem", "threshold", "input_names": [...], "class_names": [...],
    "weights_file": "NAME.safetensors", "weights_sha256", "provenance": {...},
    "training": {...}}``
``NAME.safetensors`` (or ``.npz``)
    tensors ``W0 .. W{L-1}``, ``W_l`` of shape ``[n_l, n_{l+1}]``.

A convolutional network (:class:`~spikeattr.snn.conv_network.ConvLIFNetwork`) is written with
``"format_version": 2`` and two more fields: ``"input_shape"`` (e.g. ``[2, 34, 34]``) and
``"layers"``, its layer records (:mod:`spikeattr.snn.conv_layers`); ``layer_sizes`` then counts
the inputs and the units of every neuron layer, and the weights ``W0 ..`` are those of its conv
and linear layers in order (``[out, in / groups, *kernel]`` and ``[n_in, n_out]``). Version 1
files (dense networks) read as before; a spikeattr that only knows version 1 refuses version 2.

Loading trusts nothing in the JSON: every field is type-checked (``threshold`` a positive finite
number, used by every simulation backend), ``weights_file`` must be a plain file name in the
checkpoint's own folder (no path, no link leading elsewhere) and ``weights_sha256`` must match
that file before it is parsed. A refused file's hash is never printed.

The six published models of the TSA paper ship with the package and load by name:
``load_model("published:synthetic_3L")`` (see :data:`PUBLISHED_MODELS`), and so do the twelve
models of the benchmark with known answers, ``published:bench_<task>_<L>L``, trained by
:mod:`spikeattr.pipelines.benchmark_models`.
"""

from __future__ import annotations

import itertools
import math
import os
from importlib import resources
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from spikeattr._io import atomic_path, file_sha256, load_json, load_npz, write_json_atomic
from spikeattr.errors import CheckpointError
from spikeattr.snn.conv_layers import LayerSpecError, layer_record, resolve_layers, weight_shapes
from spikeattr.snn.conv_network import ConvLIFNetwork
from spikeattr.snn.network import LIFNetwork

FORMAT = "spikeattr-checkpoint"
FORMAT_VERSION = 1
#: The version of checkpoints of convolutional networks (``input_shape`` and ``layers``).
CONV_FORMAT_VERSION = 2
PUBLISHED_PREFIX = "published:"
#: The six models of the TSA paper (its published weights).
PAPER_MODELS: tuple[str, ...] = (
    "synthetic_1L",
    "synthetic_2L",
    "synthetic_3L",
    "adl_1L",
    "adl_2L",
    "adl_3L",
)
#: The benchmark's tasks (``spikeattr.data.benchmark``), each with models of 1, 2 and 3 layers.
BENCHMARK_TASKS: tuple[str, ...] = ("synthetic", "delayed_motif", "rare_channel", "conjunction")
#: The twelve benchmark models, trained by spikeattr (``spikeattr.pipelines.benchmark_models``).
BENCHMARK_MODELS: tuple[str, ...] = tuple(
    f"bench_{task}_{depth}L" for task in BENCHMARK_TASKS for depth in (1, 2, 3)
)
PUBLISHED_MODELS: tuple[str, ...] = PAPER_MODELS + BENCHMARK_MODELS
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "layer_sizes": list,
    "dt": (int, float),
    "tau_syn": (int, float),
    "tau_mem": (int, float),
    "threshold": (int, float),
    "input_names": list,
    "class_names": list,
    "weights_file": str,
    "weights_sha256": str,
}
_WEIGHT_SUFFIXES = (".safetensors", ".npz")
_HEX = frozenset("0123456789abcdef")


def published_model_path(name: str) -> Path:
    """Path of the JSON of a published model (``synthetic_3L`` or ``published:synthetic_3L``)."""
    short = name.removeprefix(PUBLISHED_PREFIX)
    if short not in PUBLISHED_MODELS:
        raise CheckpointError(
            f"unknown published model {name!r}; available: "
            + ", ".join(PUBLISHED_PREFIX + m for m in PUBLISHED_MODELS)
        )
    return Path(str(resources.files("spikeattr.snn") / "published" / f"{short}.json"))


def save_checkpoint(
    model: LIFNetwork | ConvLIFNetwork,
    path: str | os.PathLike[str],
    provenance: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    weights_format: str = "safetensors",
) -> Path:
    """Write ``model`` to ``path`` (the ``.json``) and its weights beside it, atomically.

    Returns the path of the JSON file.
    """
    from safetensors.torch import save_file

    json_path = Path(path)
    if json_path.suffix != ".json":
        json_path = json_path.with_suffix(".json")
    if weights_format not in ("safetensors", "npz"):
        raise ValueError(f"weights_format must be 'safetensors' or 'npz'; got {weights_format!r}")
    weights_path = json_path.with_suffix("." + weights_format)
    tensors = {f"W{i}": w.detach().cpu().contiguous() for i, w in enumerate(model.weights)}
    with atomic_path(weights_path) as tmp:
        if weights_format == "safetensors":
            save_file(tensors, str(tmp))
        else:
            with open(tmp, "wb") as handle:
                np.savez(handle, **{k: v.numpy() for k, v in tensors.items()})
    conv = isinstance(model, ConvLIFNetwork)
    metadata = {
        "format": FORMAT,
        "format_version": CONV_FORMAT_VERSION if conv else FORMAT_VERSION,
        "name": model.name if model.name != "unnamed" else json_path.stem,
        **(
            {"input_shape": list(model.input_shape), "layers": model.layer_records()}
            if isinstance(model, ConvLIFNetwork)
            else {}
        ),
        "layer_sizes": list(model.layer_sizes),
        "dt": model.params.dt,
        "tau_syn": model.params.tau_syn,
        "tau_mem": model.params.tau_mem,
        "threshold": model.params.threshold,
        "input_names": list(model.input_names),
        "class_names": list(model.class_names),
        "weights_file": weights_path.name,
        "weights_sha256": file_sha256(weights_path),
        "provenance": provenance or {},
        "training": training or {},
    }
    write_json_atomic(json_path, metadata)
    return json_path


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a checkpoint's JSON; errors name the file and the field."""
    json_path = Path(path)
    metadata = load_json(
        json_path, "checkpoint .json (written by 'spikeattr train')", CheckpointError
    )
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{json_path} is not a spikeattr checkpoint (field 'format' must be {FORMAT!r})"
        )
    version = metadata.get("format_version")
    if version not in (FORMAT_VERSION, CONV_FORMAT_VERSION) or isinstance(version, bool):
        raise CheckpointError(
            f"{json_path}: field 'format_version' is {version!r}; this version of spikeattr "
            f"reads format_version {FORMAT_VERSION} (dense) and {CONV_FORMAT_VERSION} "
            "(convolutional)"
        )
    for field, kind in _REQUIRED.items():
        if field not in metadata:
            raise CheckpointError(f"{json_path}: required field {field!r} is missing")
        if not isinstance(metadata[field], kind) or isinstance(metadata[field], bool):
            raise CheckpointError(
                f"{json_path}: field {field!r} has the wrong type "
                f"({type(metadata[field]).__name__})"
            )
    sizes = metadata["layer_sizes"]
    if len(sizes) < 2 or not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes
    ):
        raise CheckpointError(
            f"{json_path}: field 'layer_sizes' must list at least two positive integers; "
            f"got {sizes}"
        )
    for field, count in (("input_names", sizes[0]), ("class_names", sizes[-1])):
        names = metadata[field]
        if len(names) != count:
            raise CheckpointError(
                f"{json_path}: field {field!r} has {len(names)} names but layer_sizes says {count}"
            )
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise CheckpointError(f"{json_path}: field {field!r} must list distinct strings")
    for field in ("dt", "tau_syn", "tau_mem", "threshold"):
        if not (math.isfinite(metadata[field]) and metadata[field] > 0):
            raise CheckpointError(
                f"{json_path}: field {field!r} must be a positive finite number; "
                f"got {metadata[field]}"
            )
    if version == CONV_FORMAT_VERSION:
        _check_layers(json_path, metadata)
    elif "layers" in metadata or "input_shape" in metadata:
        raise CheckpointError(
            f"{json_path}: fields 'layers' and 'input_shape' belong to format_version "
            f"{CONV_FORMAT_VERSION} (convolutional networks); this file says {version}"
        )
    _check_weights_name(json_path, metadata["weights_file"])
    digest = metadata["weights_sha256"]
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise CheckpointError(
            f"{json_path}: field 'weights_sha256' must be 64 lower-case hex digits"
        )
    return metadata


def _check_layers(json_path: Path, metadata: dict[str, Any]) -> None:
    """``input_shape`` and ``layers`` of a convolutional checkpoint, against ``layer_sizes``."""
    shape = metadata.get("input_shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise CheckpointError(
            f"{json_path}: field 'input_shape' must list positive integers (e.g. [2, 34, 34]); "
            f"got {shape!r}"
        )
    layers = metadata.get("layers")
    if not isinstance(layers, list) or not all(isinstance(r, dict) for r in layers):
        raise CheckpointError(f"{json_path}: field 'layers' must be a list of layer records")
    try:
        specs, shapes = resolve_layers(layers, tuple(shape))
    except LayerSpecError as exc:
        raise CheckpointError(f"{json_path}: field 'layers': {exc}") from None
    if [layer_record(spec) for spec in specs] != layers:
        raise CheckpointError(
            f"{json_path}: field 'layers' must list every field of each layer (as spikeattr "
            "writes them)"
        )
    sizes = [math.prod(shape)] + [
        math.prod(out)
        for spec, out in zip(specs, shapes, strict=True)
        if type(spec).__name__ == "LIF"
    ]
    if metadata["layer_sizes"] != sizes:
        raise CheckpointError(
            f"{json_path}: field 'layer_sizes' is {metadata['layer_sizes']} but input_shape and "
            f"layers give {sizes}"
        )


def _check_weights_name(json_path: Path, name: str) -> None:
    """``weights_file`` must name a file beside the JSON: no folder, no absolute path."""
    pure = PurePath(name)
    if (
        not name
        or name != pure.name
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name in (".", "..")
        or pure.suffix not in _WEIGHT_SUFFIXES
    ):
        raise CheckpointError(
            f"{json_path}: field 'weights_file' must be the plain name of a .safetensors or "
            f".npz file in the checkpoint's folder; got {name!r}"
        )


def _weights_path(json_path: Path, name: str) -> Path:
    """The weights file, confined to the checkpoint's folder (a link may not lead out)."""
    weights_path = json_path.parent / name
    if not weights_path.is_file():
        what = "is a directory" if weights_path.is_dir() else "does not exist"
        raise CheckpointError(f"{json_path}: weights file {weights_path} {what}")
    if weights_path.resolve().parent != json_path.parent.resolve():
        raise CheckpointError(
            f"{json_path}: weights file {name!r} is a link that leads out of the "
            "checkpoint's folder; refusing to read it"
        )
    return weights_path


def _read_weights(weights_path: Path) -> dict[str, np.ndarray]:
    if weights_path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            return dict(load_file(str(weights_path)))
        except Exception as exc:  # safetensors raises its own error types
            raise CheckpointError(
                f"{weights_path} is not a readable safetensors file: {exc}"
            ) from exc
    return load_npz(weights_path, "weights file", error=CheckpointError)


def load_network(
    name_or_path: str | os.PathLike[str], device: Any = None, dtype: torch.dtype = torch.float32
) -> LIFNetwork | ConvLIFNetwork:
    """Load a checkpoint of a dense or convolutional network: ``published:NAME``, a checkpoint
    ``.json``, or its weights file.

    Every weight shape is checked against ``layer_sizes`` (and ``layers``); the weights file (a
    plain name in the checkpoint's folder) against ``weights_sha256`` before it is parsed.
    """
    text = str(name_or_path)
    if text.startswith(PUBLISHED_PREFIX):
        json_path = published_model_path(text)
    else:
        json_path = Path(text)
        if json_path.suffix in (".safetensors", ".npz"):
            json_path = json_path.with_suffix(".json")
    metadata = read_checkpoint_metadata(json_path)
    weights_path = _weights_path(json_path, metadata["weights_file"])
    if file_sha256(weights_path) != metadata["weights_sha256"]:
        raise CheckpointError(
            f"{weights_path}: its SHA-256 differs from the weights_sha256 recorded in "
            f"{json_path.name}; the weights file was changed or belongs to another checkpoint"
        )
    arrays = _read_weights(weights_path)
    sizes = metadata["layer_sizes"]
    conv = metadata["format_version"] == CONV_FORMAT_VERSION
    if conv:
        input_shape = tuple(metadata["input_shape"])
        specs, _ = resolve_layers(metadata["layers"], input_shape)
        shapes = weight_shapes(specs, input_shape)
        what = f"layers in {json_path.name}"
    else:
        shapes = list(itertools.pairwise(sizes))
        what = f"layer_sizes {sizes} in {json_path.name}"
    weights = []
    for index, shape in enumerate(shapes):
        key = f"W{index}"
        if key not in arrays:
            raise CheckpointError(
                f"{weights_path}: tensor {key!r} is missing (has {sorted(arrays)})"
            )
        array = arrays[key]
        if array.shape != tuple(shape):
            raise CheckpointError(
                f"{weights_path}: tensor {key!r} has shape {tuple(array.shape)}; {what} needs "
                f"[{', '.join(map(str, shape))}]"
            )
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise CheckpointError(f"{weights_path}: tensor {key!r} must be finite floats")
        weights.append(array)
    extra = sorted(set(arrays) - {f"W{i}" for i in range(len(shapes))})
    if extra:
        raise CheckpointError(f"{weights_path}: unexpected tensors {extra} for {what}")
    common: dict[str, Any] = {
        "dt": float(metadata["dt"]),
        "tau_syn": float(metadata["tau_syn"]),
        "tau_mem": float(metadata["tau_mem"]),
        "input_names": metadata["input_names"],
        "class_names": metadata["class_names"],
        "weights": weights,
        "name": str(metadata.get("name", json_path.stem)),
        "threshold": float(metadata["threshold"]),
    }
    model: LIFNetwork | ConvLIFNetwork
    if conv:
        model = ConvLIFNetwork(tuple(metadata["input_shape"]), metadata["layers"], **common)
    else:
        model = LIFNetwork(sizes, **common)
    model.provenance = dict(metadata.get("provenance", {}))
    return model.to(device=device, dtype=dtype).eval()


def load_model(
    name_or_path: str | os.PathLike[str], device: Any = None, dtype: torch.dtype = torch.float32
) -> LIFNetwork:
    """Load a checkpoint of a dense :class:`LIFNetwork` (see :func:`load_network`); a
    convolutional checkpoint is refused, for the code that needs dense weight matrices."""
    model = load_network(name_or_path, device, dtype)
    if isinstance(model, ConvLIFNetwork):
        raise CheckpointError(
            f"{name_or_path} holds a convolutional network ({model.name!r}, input shape "
            f"{list(model.input_shape)}); this needs a dense LIF network (no convolution or "
            "pooling)"
        )
    return model
