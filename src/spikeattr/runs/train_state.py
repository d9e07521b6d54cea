"""The resumable state of a training run: ``train_state.json`` + ``train_state-eNNNNN.safetensors``.

The tensor file holds the current and best weights, Adam's moments and step counts, the carried
LIF state of every stream and the torch RNG state; the JSON holds the epoch counter, the
early-stopping counters, the history, the config and data the run belongs to, and names the
tensor file with its SHA-256. The JSON is written last (atomically), so an interruption at any
point leaves the previous complete state in place. No pickle: tensors in safetensors, the rest
in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from spikeattr._io import atomic_path, file_sha256, load_json, write_json_atomic
from spikeattr.errors import RunStateError
from spikeattr.snn.lif import LIFState
from spikeattr.snn.training import TrainingSetup, TrainState, finite_or_none

STATE_FORMAT = "spikeattr-train-state"
STATE_FORMAT_VERSION = 1
STATE_NAME = "train_state.json"
_ADAM_KEYS = ("step", "exp_avg", "exp_avg_sq")
_FRESH = "use resume=False (--no-resume) to start afresh there, or another output directory"


def remove_train_state(out: Path) -> None:
    """Delete the state files of an earlier run in ``out`` (a fresh start)."""
    for path in out.glob("train_state*"):
        path.unlink()


def save_train_state(
    out: Path, setup: TrainingSetup, state: TrainState, data_record: Mapping[str, Any]
) -> None:
    """Write the state after ``state.epoch`` epochs; the previous tensor file is removed once
    the new JSON names the new one."""
    from safetensors.torch import save_file

    model, optimizer = setup.model, setup.optimizer
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    for index, weight in enumerate(model.weights):
        tensors[f"weight.{index}"] = weight.detach()
        tensors[f"best_weight.{index}"] = state.best_weights[index]
        moments = optimizer.state.get(weight, {})
        for key in _ADAM_KEYS:
            if key in moments:
                tensors[f"adam.{index}.{key}"] = moments[key]
    for layer, layer_state in enumerate(state.carried or []):
        tensors[f"carry.{layer}.syn"] = layer_state.syn
        tensors[f"carry.{layer}.mem"] = layer_state.mem
    tensors_path = out / f"train_state-e{state.epoch:05d}.safetensors"
    with atomic_path(tensors_path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    previous = read_state_json(out / STATE_NAME) if (out / STATE_NAME).is_file() else None
    write_json_atomic(
        out / STATE_NAME,
        {
            "format": STATE_FORMAT,
            "format_version": STATE_FORMAT_VERSION,
            "epoch": state.epoch,
            "best_loss": finite_or_none(state.best_loss),
            "best_epoch": state.best_epoch,
            "epochs_without_improvement": state.stale,
            "stop_reason": state.stop_reason,
            "config": setup.config.to_dict(),
            "data": dict(data_record),
            "tensors_file": tensors_path.name,
            "tensors_sha256": file_sha256(tensors_path),
            "history": state.history,
        },
    )
    if previous is not None and previous.get("tensors_file") != tensors_path.name:
        stale = out / str(previous.get("tensors_file"))
        if stale.is_file():
            stale.unlink()


def read_state_json(path: Path) -> dict[str, Any]:
    """The parsed ``train_state.json``; garbage, another format or version is a
    :class:`~spikeattr.errors.RunStateError` naming the file."""
    state = load_json(path, "spikeattr training state", RunStateError)
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise RunStateError(f"{path} is not a spikeattr training state; {_FRESH}")
    if state.get("format_version") != STATE_FORMAT_VERSION:
        raise RunStateError(
            f"{path}: format_version {state.get('format_version')!r} is not "
            f"{STATE_FORMAT_VERSION}; {_FRESH}"
        )
    return state


def load_train_state(out: Path, setup: TrainingSetup, data_record: Mapping[str, Any]) -> TrainState:
    """Restore the state in ``out`` into ``setup``'s model, optimizer and the torch RNG.

    Refused (:class:`~spikeattr.errors.RunStateError`): a state of another configuration (any
    key but ``epochs``), of other data, or whose tensor file is missing or changed.
    """
    path = out / STATE_NAME
    state = read_state_json(path)
    try:
        return _restore(out, path, state, setup, data_record)
    except RunStateError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a hand-edited state
        raise RunStateError(f"{path} is incomplete or inconsistent ({exc!r}); {_FRESH}") from exc


def _restore(
    out: Path,
    path: Path,
    state: dict[str, Any],
    setup: TrainingSetup,
    data_record: Mapping[str, Any],
) -> TrainState:
    from safetensors.torch import load_file

    model, optimizer, config = setup.model, setup.optimizer, setup.config
    saved_config = dict(state["config"])
    current = config.to_dict()
    defaults = type(config)().to_dict()  # a key newer than the state has its default there
    differing = sorted(
        k for k in current if k != "epochs" and saved_config.get(k, defaults[k]) != current[k]
    )
    if differing:
        details = ", ".join(f"{k}: {saved_config.get(k)!r} -> {current[k]!r}" for k in differing)
        raise RunStateError(f"{out} holds a run with another configuration ({details}); {_FRESH}")
    saved_data = state.get("data", {})
    for key in ("X_sha256", "y_sha256", "ranges"):
        if saved_data.get(key) != data_record.get(key):
            raise RunStateError(f"{out} holds a run on other data ({key} differs); {_FRESH}")
    tensors_path = out / str(state["tensors_file"])
    if not tensors_path.is_file() or file_sha256(tensors_path) != state.get("tensors_sha256"):
        raise RunStateError(
            f"{tensors_path} is missing or changed since {path} was written; {_FRESH}"
        )
    tensors = load_file(str(tensors_path))
    n_weights = len(model.weights)  # a convolutional layer may hold several weight tensors
    model.load_weights([tensors[f"weight.{i}"] for i in range(n_weights)])
    device = model.weights[0].device
    best_weights = [
        tensors[f"best_weight.{i}"].to(device=device, dtype=model.weights[0].dtype)
        for i in range(n_weights)
    ]
    optimizer_state = optimizer.state_dict()
    optimizer_state["state"] = {
        index: {
            key: tensors[f"adam.{index}.{key}"]
            for key in _ADAM_KEYS
            if f"adam.{index}.{key}" in tensors
        }
        for index in range(n_weights)
        if f"adam.{index}.step" in tensors
    }
    optimizer.load_state_dict(optimizer_state)
    carried = None
    if "carry.0.syn" in tensors:
        carried = [
            LIFState(
                tensors[f"carry.{layer}.syn"].to(device), tensors[f"carry.{layer}.mem"].to(device)
            )
            for layer in range(model.n_layers)
        ]
    torch.set_rng_state(tensors["rng.torch"])
    best_loss = state.get("best_loss")
    return TrainState(
        epoch=int(state["epoch"]),
        best_loss=math.inf if best_loss is None else float(best_loss),
        best_epoch=int(state["best_epoch"]),
        stale=int(state["epochs_without_improvement"]),
        stop_reason=state.get("stop_reason"),
        history=list(state["history"]),
        carried=carried,
        best_weights=best_weights,
    )
