"""The training loop of the paper's protocol (SPEC 2.3, 3), in memory.

After the data are cut and batched (:mod:`.batching`):

3. The layer state at the end of one batch is the initial state of the next (detached),
   including from the last batch of an epoch to the first of the next: every stream runs on
   through the epochs as one long sequence (a stream that ends with a padding window carries
   the state after those zero-input steps). Epoch 1 starts from zero state.
4. Adam on all weights; the loss of a batch is the NLL of the per-step log-softmax of the output
   membrane, averaged over its non-ignored steps (:func:`~.losses.sequence_nll`). The epoch's
   training loss is the average over all non-ignored steps of the epoch (batches weighted by
   their labelled steps).
5. Early stopping: after every epoch the monitored loss (training loss by default, as in the
   paper; or validation loss with ``monitor="val"``) is compared with the best so far; an epoch
   improves if ``loss < best - min_delta``. Training stops after ``patience`` consecutive epochs
   without improvement (or after ``epochs``), and the best weights are kept.

The validation loss is the NLL over the whole validation series run from zero state as one
sequence (:func:`~.losses.series_nll`), so it does not depend on the batch size and candidates
with different batch sizes compare fairly in tuning. It is computed every epoch whenever
validation data exists.

The loop knows nothing about files. A :class:`TrainingStore` passed to :func:`fit` (or
:func:`train`) restores a saved :class:`TrainState` before the first epoch and is handed the
state after every epoch; the run directory of :func:`spikeattr.runs.training.run_training`
(checkpoint, history, resumable state, manifest, lock) is such a store. Without one, training
runs in memory from the config's seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.data.windows import IGNORE_LABEL
from spikeattr.snn.batching import (
    Batches,
    TrainingData,
    TrainingError,
    arrange_batches,
    split_for_training,
)
from spikeattr.snn.conv_layers import LayerSpecError, default_layers
from spikeattr.snn.conv_network import ConvLIFNetwork, SpikingNetwork, input_names_for
from spikeattr.snn.lif import LIFState
from spikeattr.snn.losses import sequence_nll, series_nll
from spikeattr.snn.network import LIFNetwork
from spikeattr.snn.train_config import TrainConfig, TrainConfigError


def finite_or_none(value: float) -> float | None:
    """``value``, or ``None`` where JSON has no number (nan, inf)."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class EpochReport:
    """What the progress callback receives after every epoch (1-based ``epoch``)."""

    epoch: int
    max_epochs: int
    train_loss: float
    val_loss: float | None
    monitored_loss: float
    best_loss: float
    best_epoch: int
    improved: bool
    epochs_without_improvement: int
    seconds: float


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Attributes:
        model: the network with the best weights loaded.
        history: one JSON record per epoch.
        best_epoch: 1-based epoch of the best monitored loss (0: no epoch improved).
        best_loss: the best monitored loss.
        epochs_run: number of epochs completed (all sessions together, if resumed).
        stop_reason: ``"early stopping"``, ``"max epochs"`` or ``"non-finite loss"``.
        seconds: wall time of this call.
        resumed_from: epochs already done when this call started (0 for a fresh run).
        checkpoint: path of the best checkpoint's JSON, for a run in a run directory.
        out_dir: the run directory, for a run in one.
    """

    model: SpikingNetwork
    history: list[dict[str, Any]]
    best_epoch: int
    best_loss: float
    epochs_run: int
    stop_reason: str
    seconds: float
    resumed_from: int = 0
    checkpoint: Path | None = None
    out_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the model)."""
        return {
            "best_epoch": self.best_epoch,
            "best_loss": finite_or_none(self.best_loss),
            "epochs_run": self.epochs_run,
            "stop_reason": self.stop_reason,
            "checkpoint": None if self.checkpoint is None else str(self.checkpoint),
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "seconds": self.seconds,
            "resumed_from": self.resumed_from,
        }


ProgressCallback = Callable[[EpochReport], Any]


@dataclass
class TrainState:
    """Everything that changes from epoch to epoch: what a resume restores.

    Attributes:
        epoch: epochs completed.
        best_loss: best monitored loss so far (``inf`` before the first finite one).
        best_epoch: its 1-based epoch (0: none yet).
        stale: consecutive epochs without improvement.
        stop_reason: why training stopped, ``None`` while it goes on.
        history: one JSON record per completed epoch.
        carried: the LIF state of every layer at the end of the last batch, ``[batch_size, n]``
            per layer, or ``None`` before the first epoch.
        best_weights: the weights of ``best_epoch`` (the initial weights before any).
    """

    epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    stale: int = 0
    stop_reason: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    carried: list[LIFState] | None = None
    best_weights: list[torch.Tensor] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingSetup:
    """A validated run, ready for :func:`fit`: the model, its optimizer, config and data."""

    model: SpikingNetwork
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    series: SpikeSeries
    data: TrainingData
    batches: Batches


class TrainingStore(Protocol):
    """Where :func:`fit` saves its state and finds it again (a run directory, for example)."""

    def restore(self, setup: TrainingSetup) -> TrainState | None:
        """Load a saved state into ``setup.model``/``setup.optimizer`` (and the torch RNG) and
        return it; ``None`` starts afresh from the config's seed."""
        ...

    def save(self, setup: TrainingSetup, state: TrainState, improved: bool) -> None:
        """Keep the state after an epoch (``improved``: the model holds new best weights)."""
        ...


def _resolve_model(
    model_or_config: SpikingNetwork | TrainConfig | None, config: TrainConfig | None
) -> tuple[SpikingNetwork | None, TrainConfig]:
    if isinstance(model_or_config, TrainConfig):
        if config is not None and config != model_or_config:
            raise TrainConfigError(
                "two different TrainConfigs were given; pass the config once (first argument "
                "or 'config')"
            )
        return None, model_or_config
    if model_or_config is None:
        if config is None:
            raise TrainConfigError("pass a TrainConfig (or a model) to train")
        return None, config
    if not isinstance(model_or_config, (LIFNetwork, ConvLIFNetwork)):
        raise TypeError(
            f"model_or_config must be a LIFNetwork, a ConvLIFNetwork or a TrainConfig; got "
            f"{type(model_or_config).__name__}"
        )
    model = model_or_config
    model_values: dict[str, Any] = {
        "dt": model.params.dt,
        "tau_syn": model.params.tau_syn,
        "tau_mem": model.params.tau_mem,
    }
    if isinstance(model, LIFNetwork):  # a convolutional model's layers are its own
        model_values["hidden"] = tuple(model.layer_sizes[1:-1])
    if config is None:
        return model, TrainConfig(**model_values)
    differing = {
        k: (getattr(config, k), v) for k, v in model_values.items() if getattr(config, k) != v
    }
    if differing:
        details = ", ".join(f"{k}: config {a!r} vs model {b!r}" for k, (a, b) in differing.items())
        raise TrainConfigError(
            f"the config does not describe the given model ({details}); pass config=None or "
            "config.replace(...) with the model's values"
        )
    return model, config


def _check_model_matches_data(model: SpikingNetwork, series: SpikeSeries) -> None:
    if model.layer_sizes[0] != series.n_inputs or model.layer_sizes[-1] != series.n_classes:
        raise TrainingError(
            f"the model has {model.layer_sizes[0]} inputs and {model.layer_sizes[-1]} classes; "
            f"the data has {series.n_inputs} inputs and {series.n_classes} classes"
        )
    default_inputs = tuple(f"in{i}" for i in range(model.layer_sizes[0]))
    if isinstance(model, ConvLIFNetwork):
        if series.input_shape != model.input_shape:
            raise TrainingError(
                f"the model takes inputs of shape {list(model.input_shape)}; the data's are "
                f"{series.input_shape and list(series.input_shape)}"
            )
        default_inputs = input_names_for(model.input_shape)
    default_classes = tuple(f"class{c}" for c in range(model.layer_sizes[-1]))
    if model.input_names == default_inputs and model.class_names == default_classes:
        # an unnamed model takes the data's names, so its checkpoint records them
        model.input_names = series.input_names
        model.class_names = series.class_names
        return
    model.check_data(series.input_names, series.class_names)


def build_network(config: TrainConfig, series: SpikeSeries) -> SpikingNetwork:
    """A fresh network for ``series``: dense (``config.conv`` empty) or convolutional."""
    common: dict[str, Any] = {
        "dt": config.dt,
        "tau_syn": config.tau_syn,
        "tau_mem": config.tau_mem,
        "input_names": series.input_names,
        "class_names": series.class_names,
        "seed": config.seed,
    }
    if not config.conv:
        return LIFNetwork(config.layer_sizes(series.n_inputs, series.n_classes), **common)
    if series.input_shape is None:
        raise TrainingError(
            "config key 'conv' needs data whose inputs have a shape (the data file's "
            "'input_shape', e.g. from 'spikeattr data events'); these inputs are a flat "
            f"vector of {series.n_inputs}"
        )
    layers = default_layers(config.conv, config.hidden, series.n_classes)
    try:
        return ConvLIFNetwork(series.input_shape, layers, **common)
    except LayerSpecError as exc:
        raise TrainConfigError(
            f"config key 'conv' does not fit inputs of shape {list(series.input_shape)}: {exc}"
        ) from None


def prepare_training(
    model_or_config: SpikingNetwork | TrainConfig | None,
    series: SpikeSeries,
    config: TrainConfig | None = None,
) -> TrainingSetup:
    """Check the config, model and data against each other and build what :func:`fit` runs.

    ``model_or_config`` is a :class:`LIFNetwork` or
    :class:`~spikeattr.snn.conv_network.ConvLIFNetwork` to train (its weights are the starting
    point; its names must match the data's, or be the defaults and are then replaced), or a
    :class:`TrainConfig` to build a fresh network from, or ``None`` when ``config`` is given.
    ``config=None`` with a model takes the model's sizes and time constants and the defaults for
    the rest. Nothing is written anywhere.

    Raises:
        TrainConfigError: invalid or contradictory configuration.
        TrainingError: too few windows for the batch size, missing split, no labelled step,
            a model whose sizes differ from the data's.
    """
    given_model, config = _resolve_model(model_or_config, config)
    data = split_for_training(series, config)
    n_windows = max(1, -(-data.train_spikes.shape[0] // config.window))
    if config.batch_size > n_windows:
        raise TrainingError(
            f"batch_size {config.batch_size} is larger than the number of training windows "
            f"({n_windows} windows of {config.window} steps in {data.train_spikes.shape[0]} "
            f"steps); use batch_size <= {n_windows}"
        )
    if not (data.train_labels >= 0).any():
        raise TrainingError(
            f"the {config.train_split!r} split has no labelled step (all labels are negative)"
        )
    model: SpikingNetwork
    if given_model is not None:
        _check_model_matches_data(given_model, series)
        model = given_model
    else:
        model = build_network(config, series)
    batches = arrange_batches(
        data.train_spikes, data.train_labels, config.window, config.batch_size
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return TrainingSetup(model, optimizer, config, series, data, batches)


def train(
    model_or_config: SpikingNetwork | TrainConfig | None,
    series: SpikeSeries,
    config: TrainConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    store: TrainingStore | None = None,
) -> TrainResult:
    """Train a LIF network on ``series`` with the protocol of the module docstring, in memory.

    ``fit(prepare_training(model_or_config, series, config), progress, store)``; for a run
    directory with a checkpoint, history, manifest and resumable state use
    :func:`spikeattr.runs.training.run_training`.

    Examples:
        >>> from spikeattr.data import generate_synthetic
        >>> series = generate_synthetic(n_steps=1_200, n_train=1_000)
        >>> result = train(TrainConfig(window=100, batch_size=2, epochs=2), series)
        >>> result.epochs_run, result.model.layer_sizes
        (2, (3, 4))
    """
    return fit(prepare_training(model_or_config, series, config), progress=progress, store=store)


def fit(
    setup: TrainingSetup,
    progress: ProgressCallback | None = None,
    store: TrainingStore | None = None,
) -> TrainResult:
    """Run epochs until early stopping or ``config.epochs``; returns the best model.

    Args:
        setup: from :func:`prepare_training`.
        progress: called with an :class:`EpochReport` after every epoch, once ``store`` has
            saved the epoch's state; an exception raised there interrupts training, and with a
            store a later call continues from the next epoch.
        store: restores a saved state first and saves the state after every epoch.

    Returns:
        A :class:`TrainResult` whose model holds the best weights.
    """
    began = time.perf_counter()
    model, config = setup.model, setup.config
    state = store.restore(setup) if store is not None else None
    if state is None:
        torch.manual_seed(config.seed)
        state = TrainState(best_weights=[w.detach().clone() for w in model.weights])
    resumed_from = state.epoch
    if state.epoch >= config.epochs and state.stop_reason in (None, "max epochs"):
        state.stop_reason = "max epochs"
    elif state.stop_reason == "max epochs":
        state.stop_reason = None  # resumed with a larger 'epochs': go on
    while state.stop_reason is None:
        epoch_began = time.perf_counter()
        train_loss = _train_epoch(setup, state)
        val_loss = None
        if setup.data.val_spikes is not None and setup.data.val_labels is not None:
            model.eval()
            val_loss = series_nll(model, setup.data.val_spikes, setup.data.val_labels)
        monitored = train_loss if config.monitor == "train" else cast(float, val_loss)
        improved = math.isfinite(monitored) and monitored < state.best_loss - config.min_delta
        if improved:
            state.best_loss = monitored
            state.best_epoch = state.epoch
            state.best_weights = [w.detach().clone() for w in model.weights]
            state.stale = 0
        else:
            state.stale += 1
        seconds = time.perf_counter() - epoch_began
        state.history.append(
            {
                "epoch": state.epoch,
                "train_loss": finite_or_none(train_loss),
                "val_loss": None if val_loss is None else finite_or_none(val_loss),
                "improved": improved,
                "seconds": seconds,
            }
        )
        if not math.isfinite(monitored):
            state.stop_reason = "non-finite loss"
        elif state.stale >= config.patience:
            state.stop_reason = "early stopping"
        elif state.epoch >= config.epochs:
            state.stop_reason = "max epochs"
        if store is not None:
            store.save(setup, state, improved)
        if progress is not None:
            progress(
                EpochReport(
                    epoch=state.epoch,
                    max_epochs=config.epochs,
                    train_loss=train_loss,
                    val_loss=val_loss,
                    monitored_loss=monitored,
                    best_loss=state.best_loss,
                    best_epoch=state.best_epoch,
                    improved=improved,
                    epochs_without_improvement=state.stale,
                    seconds=seconds,
                )
            )
    model.load_weights(state.best_weights)
    model.eval()
    return TrainResult(
        model=model,
        history=list(state.history),
        best_epoch=state.best_epoch,
        best_loss=state.best_loss,
        epochs_run=state.epoch,
        stop_reason=str(state.stop_reason),
        seconds=time.perf_counter() - began,
        resumed_from=resumed_from,
    )


def _train_epoch(setup: TrainingSetup, state: TrainState) -> float:
    """One pass over the batches with Adam, carrying the LIF state; advances ``state.epoch``
    and ``state.carried`` and returns the epoch's training loss."""
    model, optimizer, batches = setup.model, setup.optimizer, setup.batches
    dtype = model.weights[0].dtype
    device = model.weights[0].device
    model.train()
    loss_sum = 0.0
    loss_count = 0
    carried = state.carried
    for k in range(batches.n_batches):
        x = torch.from_numpy(batches.spikes[k]).to(device=device, dtype=dtype)
        y = torch.from_numpy(batches.labels[k]).to(device)
        output = model(x, carried)
        carried = [LIFState(s.syn.detach(), s.mem.detach()) for s in output.state]
        n_labelled = int((y != IGNORE_LABEL).sum())
        if n_labelled == 0:
            continue
        loss = sequence_nll(output.membrane, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * n_labelled
        loss_count += n_labelled
    state.carried = carried
    state.epoch += 1
    return loss_sum / loss_count if loss_count else math.nan


def mean_epoch_seconds(history: list[dict[str, Any]]) -> float:
    """Mean of the ``seconds`` of the epoch records (0 for none)."""
    seconds = [float(h["seconds"]) for h in history]
    return sum(seconds) / len(seconds) if seconds else 0.0


__all__ = [
    "EpochReport",
    "ProgressCallback",
    "TrainConfig",
    "TrainConfigError",
    "TrainResult",
    "TrainState",
    "TrainingError",
    "TrainingSetup",
    "TrainingStore",
    "fit",
    "prepare_training",
    "train",
]
