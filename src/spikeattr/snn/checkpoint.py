"""Model checkpoints: weights in safetensors or npz, metadata in JSON. Never pickle.

A checkpoint is two files side by side:

``NAME.json``
    ``{"format": "spikeattr-checkpoint", "format_version": 1, "name", "layer_sizes": [n_0, ..],
    "dt", "tau_syn", "tau_mem", "threshold", "input_names": [...], "class_names": [...],
    "weights_file": "NAME.safetensors", "weights_sha256", "provenance": {...},
    "training": {...}}``
``NAME.safetensors`` (or ``.npz``)
    tensors ``W0 .. W{L-1}``, ``W_l`` of shape ``[n_l, n_{l+1}]``.

The six published models of the TSA paper ship with the package and load by name:
``load_model("published:synthetic_3L")`` (see :data:`PUBLISHED_MODELS`).
"""

from __future__ import annotations

import itertools
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikeattr._io import atomic_path, file_sha256, write_json_atomic
from spikeattr.errors import CheckpointError
from spikeattr.snn.network import LIFNetwork

FORMAT = "spikeattr-checkpoint"
FORMAT_VERSION = 1
PUBLISHED_PREFIX = "published:"
PUBLISHED_MODELS: tuple[str, ...] = (
    "synthetic_1L",
    "synthetic_2L",
    "synthetic_3L",
    "adl_1L",
    "adl_2L",
    "adl_3L",
)
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "layer_sizes": list,
    "dt": (int, float),
    "tau_syn": (int, float),
    "tau_mem": (int, float),
    "input_names": list,
    "class_names": list,
    "weights_file": str,
}


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
    model: LIFNetwork,
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
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": model.name if model.name != "unnamed" else json_path.stem,
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
    if not json_path.is_file():
        raise CheckpointError(f"checkpoint {json_path} does not exist")
    try:
        metadata = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint {json_path} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{json_path} is not a spikeattr checkpoint (field 'format' must be {FORMAT!r})"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{json_path}: field 'format_version' is {metadata.get('format_version')!r}; this "
            f"version of spikeattr reads format_version {FORMAT_VERSION}"
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
    if len(sizes) < 2 or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise CheckpointError(
            f"{json_path}: field 'layer_sizes' must list at least two positive integers; "
            f"got {sizes}"
        )
    for field, count in (("input_names", sizes[0]), ("class_names", sizes[-1])):
        if len(metadata[field]) != count:
            raise CheckpointError(
                f"{json_path}: field {field!r} has {len(metadata[field])} names but "
                f"layer_sizes says {count}"
            )
    for field in ("dt", "tau_syn", "tau_mem"):
        if not metadata[field] > 0:
            raise CheckpointError(
                f"{json_path}: field {field!r} must be > 0; got {metadata[field]}"
            )
    return metadata


def _read_weights(weights_path: Path) -> dict[str, np.ndarray]:
    if weights_path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            return dict(load_file(str(weights_path)))
        except Exception as exc:  # safetensors raises its own error types
            raise CheckpointError(
                f"{weights_path} is not a readable safetensors file: {exc}"
            ) from exc
    if weights_path.suffix == ".npz":
        try:
            with np.load(weights_path, allow_pickle=False) as archive:
                return {k: archive[k] for k in archive.files}
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{weights_path} is not a readable .npz file: {exc}") from exc
    raise CheckpointError(
        f"{weights_path}: weights must be a .safetensors or .npz file (no pickle)"
    )


def load_model(
    name_or_path: str | os.PathLike[str], device: Any = None, dtype: torch.dtype = torch.float32
) -> LIFNetwork:
    """Load a checkpoint: ``published:NAME``, a checkpoint ``.json``, or its weights file.

    Every weight shape is checked against ``layer_sizes``; the weights file's SHA-256 against
    ``weights_sha256`` when present.
    """
    text = str(name_or_path)
    if text.startswith(PUBLISHED_PREFIX):
        json_path = published_model_path(text)
    else:
        json_path = Path(text)
        if json_path.suffix in (".safetensors", ".npz"):
            json_path = json_path.with_suffix(".json")
    metadata = read_checkpoint_metadata(json_path)
    weights_path = json_path.parent / metadata["weights_file"]
    if not weights_path.is_file():
        raise CheckpointError(f"{json_path}: weights file {weights_path} does not exist")
    expected_sha = metadata.get("weights_sha256")
    if expected_sha and file_sha256(weights_path) != expected_sha:
        raise CheckpointError(
            f"{weights_path}: SHA-256 {file_sha256(weights_path)} differs from the "
            f"checkpoint's weights_sha256 {expected_sha}; the weights file was changed"
        )
    arrays = _read_weights(weights_path)
    sizes = metadata["layer_sizes"]
    weights = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        key = f"W{index}"
        if key not in arrays:
            raise CheckpointError(
                f"{weights_path}: tensor {key!r} is missing (has {sorted(arrays)})"
            )
        array = arrays[key]
        if array.shape != (n_in, n_out):
            raise CheckpointError(
                f"{weights_path}: tensor {key!r} has shape {tuple(array.shape)}; layer_sizes "
                f"{sizes} in {json_path.name} needs [{n_in}, {n_out}]"
            )
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise CheckpointError(f"{weights_path}: tensor {key!r} must be finite floats")
        weights.append(array)
    extra = sorted(set(arrays) - {f"W{i}" for i in range(len(sizes) - 1)})
    if extra:
        raise CheckpointError(f"{weights_path}: unexpected tensors {extra} for layer_sizes {sizes}")
    model = LIFNetwork(
        sizes,
        dt=float(metadata["dt"]),
        tau_syn=float(metadata["tau_syn"]),
        tau_mem=float(metadata["tau_mem"]),
        input_names=metadata["input_names"],
        class_names=metadata["class_names"],
        weights=weights,
        name=str(metadata.get("name", json_path.stem)),
    )
    model.provenance = dict(metadata.get("provenance", {}))
    return model.to(device=device, dtype=dtype).eval()
