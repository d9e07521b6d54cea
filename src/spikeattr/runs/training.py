"""The training run directory: :func:`run_training` trains in ``out_dir`` and can resume there.

Files in ``out_dir``:

``model.json`` + ``model.safetensors``
    the best model so far (:func:`~spikeattr.snn.checkpoint.save_checkpoint`), written after
    every improvement; load it with :func:`~spikeattr.snn.checkpoint.load_model`.
``history.json``
    one record per epoch: training loss, validation loss, whether it improved, seconds.
``train_state.json`` + ``train_state-eNNNNN.safetensors``
    everything needed to resume (:mod:`spikeattr.runs.train_state`).
``manifest.json``
    config, seed, package versions, data checksums, results and timings
    (:mod:`spikeattr.runs.manifest`).
``.lock``
    held while a run writes there (:class:`~spikeattr._io.RunLock`): a second ``spikeattr train``
    on the same directory is refused, naming the holder; temporary files of a killed run are
    swept when the next run takes the lock.

The training itself is :func:`spikeattr.snn.training.fit`; this module is the
:class:`~spikeattr.snn.training.TrainingStore` it saves to and restores from.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from spikeattr._io import RunLock, array_sha256, write_json_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.runs.manifest import write_manifest
from spikeattr.runs.train_state import (
    STATE_NAME,
    load_train_state,
    remove_train_state,
    save_train_state,
)
from spikeattr.snn.batching import TrainingData
from spikeattr.snn.checkpoint import save_checkpoint
from spikeattr.snn.conv_network import SpikingNetwork
from spikeattr.snn.train_config import TrainConfig
from spikeattr.snn.training import (
    ProgressCallback,
    TrainingSetup,
    TrainResult,
    TrainState,
    finite_or_none,
    fit,
    mean_epoch_seconds,
    prepare_training,
)

CHECKPOINT_NAME = "model.json"
HISTORY_NAME = "history.json"


def data_record(series: SpikeSeries, data: TrainingData) -> dict[str, Any]:
    """What a run records about its data: checksums, names, the step ranges used."""
    record: dict[str, Any] = {
        **series.checksums(),
        "n_steps": series.n_steps,
        "input_names": list(series.input_names),
        "class_names": list(series.class_names),
        "ranges": data.description,
        "train_sha256": array_sha256(data.train_spikes) + ":" + array_sha256(data.train_labels),
    }
    if "dataset" in series.meta:
        record["dataset"] = series.meta["dataset"]
    return record


class TrainingRunStore:
    """The run directory as a :class:`~spikeattr.snn.training.TrainingStore`.

    ``restore`` resumes the state in the directory (``resume=True``) or clears an earlier run's
    state; ``save`` writes the checkpoint on improvement, then the state and the history.
    """

    def __init__(self, out: Path, setup: TrainingSetup, resume: bool) -> None:
        self.out = out
        self.resume = resume
        self.data = data_record(setup.series, setup.data)
        self.checkpoint = out / CHECKPOINT_NAME

    def restore(self, setup: TrainingSetup) -> TrainState | None:
        """The saved state, or ``None`` (and an empty history) for a fresh start."""
        state = None
        if self.resume and (self.out / STATE_NAME).is_file():
            state = load_train_state(self.out, setup, self.data)
        else:
            remove_train_state(self.out)
            write_json_atomic(self.out / HISTORY_NAME, [])
        self.write_manifest(setup.config, None, {})
        return state

    def save(self, setup: TrainingSetup, state: TrainState, improved: bool) -> None:
        """Checkpoint (if ``improved``), state, history: in that order."""
        if improved:
            self.save_checkpoint(setup.model, setup.config, state.best_epoch, state.best_loss)
        save_train_state(self.out, setup, state, self.data)
        write_json_atomic(self.out / HISTORY_NAME, state.history)

    def save_checkpoint(
        self, model: SpikingNetwork, config: TrainConfig, best_epoch: int, best_loss: float
    ) -> None:
        """``model.json`` + weights, with the training record (config, epoch, loss, data)."""
        save_checkpoint(
            model,
            self.checkpoint,
            provenance={"trained_by": "spikeattr.runs.training.run_training"},
            training={
                "config": config.to_dict(),
                "epoch": best_epoch,
                "monitor": config.monitor,
                "best_loss": finite_or_none(best_loss),
                "data": {k: self.data[k] for k in ("X_sha256", "y_sha256", "ranges")},
            },
        )

    def write_manifest(
        self, config: TrainConfig, results: dict[str, Any] | None, timings: dict[str, float]
    ) -> None:
        """The run's ``manifest.json`` (config, seed, versions, data checksums, results)."""
        write_manifest(self.out, "train", config.to_dict(), dict(self.data), results, timings)


def run_training(
    model_or_config: SpikingNetwork | TrainConfig | None,
    series: SpikeSeries,
    config: TrainConfig | None,
    out_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    resume: bool = True,
) -> TrainResult:
    """Train as :func:`spikeattr.snn.training.train` does, in the run directory ``out_dir``.

    Args:
        model_or_config: a :class:`LIFNetwork` to train, or a :class:`TrainConfig` to build a
            fresh network from, or ``None`` when ``config`` is given (see
            :func:`~spikeattr.snn.training.prepare_training`).
        series: the data; its ``train_split`` (and ``val_split``, if present) are used.
        config: the hyper-parameters (``None``: from the first argument).
        out_dir: run directory (created; see the module docstring).
        progress: called after every epoch, once the epoch's state is saved; an exception
            raised there interrupts training, and a later call continues from the next epoch.
        resume: continue from the state in ``out_dir`` if there is one (its config, except
            ``epochs``, and its data must match); ``False`` starts afresh.

    Returns:
        A :class:`TrainResult` whose model holds the best weights, with ``checkpoint`` and
        ``out_dir`` set.

    Raises:
        TrainConfigError, TrainingError: as :func:`~spikeattr.snn.training.prepare_training`,
            before anything is written.
        RunLockedError: another process writes in ``out_dir``.
        RunStateError: ``out_dir`` holds a state of another configuration or other data, or
            an unreadable one.
        SpikeAttrError: ``out_dir`` cannot be written.
    """
    began = time.perf_counter()
    setup = prepare_training(model_or_config, series, config)
    out = Path(out_dir)
    with RunLock(out, "train"):
        store = TrainingRunStore(out, setup, resume)
        result = fit(setup, progress=progress, store=store)
        if result.best_epoch == 0 or not store.checkpoint.is_file():
            # no epoch ever improved (non-finite from the start): keep the initial weights
            store.save_checkpoint(result.model, setup.config, result.best_epoch, result.best_loss)
        result.checkpoint = store.checkpoint
        result.out_dir = out
        result.seconds = time.perf_counter() - began
        store.write_manifest(
            setup.config,
            result.to_dict(),
            {"train": result.seconds, "per_epoch_mean": mean_epoch_seconds(result.history)},
        )
    return result
