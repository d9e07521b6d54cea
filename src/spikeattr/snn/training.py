"""Training a :class:`~spikeattr.snn.network.LIFNetwork` with the paper's protocol (SPEC 2.3, 3).

The protocol, step by step:

1. The training split ``[T, n_inputs]`` is cut into consecutive windows of ``window`` steps
   (900), the last one padded with zero input and the ignored label ``IGNORE_LABEL`` (-100);
   unlabelled steps (label ``-1`` in a :class:`~spikeattr.data.series.SpikeSeries`) are ignored
   too.
2. The ``N`` windows are split into ``batch_size`` contiguous *streams* (stream ``i`` holds
   windows ``start_i .. start_i + len_i - 1``; the lengths differ by at most one). Batch ``k``
   holds window ``k`` of every stream, so consecutive windows of the series sit in the same
   batch position of consecutive batches. Streams shorter than the longest are padded with one
   fully ignored zero window in the last batch. See :func:`batch_window_indices`.
3. The layer state at the end of one batch is the initial state of the next (detached),
   including from the last batch of an epoch to the first of the next: every stream runs on
   through the epochs as one long sequence (a stream that ends with a padding window carries
   the state after those zero-input steps). Epoch 1 starts from zero state.
4. Adam on all weights; the loss of a batch is the NLL of the per-step log-softmax of the output
   membrane, averaged over its non-ignored steps. The epoch's training loss is the average over
   all non-ignored steps of the epoch (batches weighted by their labelled steps).
5. Early stopping: after every epoch the monitored loss (training loss by default, as in the
   paper; or validation loss with ``monitor="val"``) is compared with the best so far; an epoch
   improves if ``loss < best - min_delta``. Training stops after ``patience`` consecutive epochs
   without improvement (or after ``epochs``), and the best weights are kept.

Validation data (SPEC 2.1: the synthetic data set has no validation split): the series' ``val``
split when it has one; otherwise, if ``monitor="val"``, the last ``val_fraction`` (default 20 %)
of the training split, which is then left out of training. The validation loss is the NLL over
the whole validation series run from zero state as one sequence (its windows in order with the
state carried), so it does not depend on the batch size and candidates with different batch
sizes compare fairly in tuning. It is computed every epoch whenever validation data exists.

Files in the run directory ``out_dir``:

``model.json`` + ``model.safetensors``
    the best model so far (:func:`~spikeattr.snn.checkpoint.save_checkpoint`), written after
    every improvement; load it with :func:`~spikeattr.snn.checkpoint.load_model`.
``history.json``
    one record per epoch: training loss, validation loss, whether it improved, seconds.
``train_state.json`` + ``train_state-eNNNNN.safetensors``
    everything needed to resume: current and best weights, Adam's moments and step counts, the
    carried LIF state of every stream, the torch RNG state, the epoch counter, the history and
    the early-stopping counters. The JSON is written last and names the tensor file (with its
    SHA-256), so an interruption at any point leaves the previous complete state in place.
``manifest.json``
    config, seed, package versions, data checksums, results and timings.

No pickle anywhere: tensors in safetensors, everything else in JSON.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch
import torch.nn.functional as F

from spikeattr._io import (
    array_sha256,
    atomic_path,
    check_writable_dir,
    file_sha256,
    write_json_atomic,
)
from spikeattr.data.series import SpikeSeries
from spikeattr.data.windows import IGNORE_LABEL, training_windows
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.checkpoint import save_checkpoint
from spikeattr.snn.fused import fused_nll_loss, fused_supported
from spikeattr.snn.lif import LIFParameters, LIFState
from spikeattr.snn.network import LIFNetwork

Monitor = Literal["train", "val"]
STATE_FORMAT = "spikeattr-train-state"
STATE_FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.json"
STATE_NAME = "train_state.json"
HISTORY_NAME = "history.json"


class TrainConfigError(SpikeAttrError):
    """A training configuration is invalid: unknown key, wrong type or value out of range."""


class TrainingError(SpikeAttrError):
    """Training cannot start or resume with these data, model and output directory."""


# -- configuration ---------------------------------------------------------------------------
_FLOAT_FIELDS = ("dt", "tau_syn", "tau_mem", "lr", "min_delta", "val_fraction")
_INT_FIELDS = ("batch_size", "window", "epochs", "patience", "seed")
_STR_FIELDS = ("monitor", "train_split", "val_split")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run, validated on construction.

    Attributes:
        hidden: hidden layer sizes (``()`` = 1L, ``(10,)`` = 2L, ``(10, 10)`` = 3L).
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

    Example:
        >>> TrainConfig(hidden=(10,), epochs=50).to_dict()["hidden"]
        [10]
    """

    hidden: tuple[int, ...] = ()
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
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TrainConfigError(
                    f"config key {name!r} must be a number; got {value!r} ({type(value).__name__})"
                )
            if not math.isfinite(value):
                raise TrainConfigError(f"config key {name!r} must be finite; got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TrainConfigError(
                    f"config key {name!r} must be an integer; got {value!r} "
                    f"({type(value).__name__})"
                )
            object.__setattr__(self, name, int(value))
        for name in _STR_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TrainConfigError(
                    f"config key {name!r} must be a string; got {value!r} ({type(value).__name__})"
                )
        hidden = self.hidden
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)):
            raise TrainConfigError(
                f"config key 'hidden' must be a list of layer sizes, e.g. [10] or [50, 25] "
                f"([] for a 1L model); got {hidden!r}"
            )
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in hidden):
            raise TrainConfigError(f"config key 'hidden' must list integers; got {list(hidden)}")
        object.__setattr__(self, "hidden", tuple(int(n) for n in hidden))
        self._check_ranges()

    def _check_ranges(self) -> None:
        for name in ("dt", "tau_syn", "tau_mem"):
            if getattr(self, name) <= 0:
                raise TrainConfigError(
                    f"config key {name!r} must be > 0 seconds; got {getattr(self, name)}"
                )
        checks: list[tuple[bool, str]] = [
            (self.lr > 0, f"'lr' must be > 0; got {self.lr}"),
            (self.batch_size >= 1, f"'batch_size' must be >= 1; got {self.batch_size}"),
            (self.window >= 1, f"'window' must be >= 1 step; got {self.window}"),
            (self.epochs >= 1, f"'epochs' must be >= 1; got {self.epochs}"),
            (self.patience >= 1, f"'patience' must be >= 1 epoch; got {self.patience}"),
            (self.min_delta >= 0, f"'min_delta' must be >= 0; got {self.min_delta}"),
            (
                0 < self.val_fraction < 1,
                f"'val_fraction' must lie strictly between 0 and 1; got {self.val_fraction}",
            ),
            (self.seed >= 0, f"'seed' must be >= 0; got {self.seed}"),
            (
                self.monitor in ("train", "val"),
                f"'monitor' must be 'train' or 'val'; got {self.monitor!r}",
            ),
            (
                all(n >= 1 for n in self.hidden),
                f"'hidden' sizes must be >= 1; got {list(self.hidden)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainConfigError(f"config key {message}")

    # -- conversions ---------------------------------------------------------------------------
    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The accepted configuration keys."""
        return tuple(f.name for f in dataclasses.fields(cls))

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
        values = read_toml(path)
        return cls.from_dict({**values, **(overrides or {})}, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready dictionary (``hidden`` as a list)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
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


def _toml() -> Any:
    """The TOML parser: ``tomllib`` (Python >= 3.11) or the ``tomli`` package (Python 3.10)."""
    try:
        return importlib.import_module("tomllib")
    except ModuleNotFoundError:
        try:
            return importlib.import_module("tomli")
        except ModuleNotFoundError as exc:
            raise TrainConfigError(
                "reading TOML needs Python >= 3.11 or the 'tomli' package (pip install tomli)"
            ) from exc


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file into a dictionary; errors name the file."""
    toml = _toml()
    source = Path(path)
    if not source.is_file():
        raise TrainConfigError(f"config file {source} does not exist")
    try:
        with open(source, "rb") as handle:
            parsed: dict[str, Any] = toml.load(handle)
    except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrainConfigError(f"{source} is not valid TOML: {exc}") from exc
    return parsed


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a ``key=value`` override; the value is read as a TOML value, else as a string.

    Example:
        >>> parse_override("hidden=[50, 25]"), parse_override("monitor=val")
        (('hidden', [50, 25]), ('monitor', 'val'))
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise TrainConfigError(f"an override must look like key=value; got {text!r}")
    toml = _toml()
    try:
        value = toml.loads(f"value = {raw.strip()}")["value"]
    except toml.TOMLDecodeError:
        value = raw.strip()
    return key, value


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
    (:func:`parse_override`) and keyword ``options`` (``None`` values are skipped)."""
    values: dict[str, Any] = dict(read_toml(config_file)) if config_file is not None else {}
    source = str(config_file) if config_file is not None else "config"
    for text in overrides:
        key, value = parse_override(text)
        values[key] = value
    values.update({k: v for k, v in options.items() if v is not None})
    return TrainConfig.from_dict(values, source=source)


# -- data ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingData:
    """The arrays a run trains and validates on, with where they came from.

    Attributes:
        train_spikes: int8 ``[T_train, n_inputs]``.
        train_labels: int64 ``[T_train]`` (negative = ignored).
        val_spikes: int8 ``[T_val, n_inputs]`` or ``None`` (no validation).
        val_labels: int64 ``[T_val]`` or ``None``.
        description: JSON-ready record of the step ranges used.
    """

    train_spikes: np.ndarray
    train_labels: np.ndarray
    val_spikes: np.ndarray | None
    val_labels: np.ndarray | None
    description: dict[str, Any]


def split_for_training(series: SpikeSeries, config: TrainConfig) -> TrainingData:
    """Pick the training and validation steps of ``series`` as described in the module doc."""
    if config.train_split not in series.splits:
        raise TrainingError(
            f"the data has no split {config.train_split!r} to train on (it has "
            f"{sorted(series.splits) or 'no splits'}); set 'train_split' in the config"
        )
    start, stop = series.splits[config.train_split]
    description: dict[str, Any] = {"train": [start, stop], "val": None, "val_source": None}
    val_range: tuple[int, int] | None = None
    if config.val_split in series.splits and config.val_split != config.train_split:
        val_range = series.splits[config.val_split]
        description["val_source"] = f"split {config.val_split!r}"
    elif config.monitor == "val":
        n_val = round(config.val_fraction * (stop - start))
        if n_val < 1 or stop - n_val - start < 1:
            raise TrainingError(
                f"the {config.train_split!r} split ({stop - start} steps) is too short to carve "
                f"a validation tail of {config.val_fraction:.0%}; add a {config.val_split!r} "
                "split or use monitor='train'"
            )
        val_range = (stop - n_val, stop)
        stop -= n_val
        description["train"] = [start, stop]
        description["val_source"] = f"last {config.val_fraction:.0%} of {config.train_split!r}"
    if val_range is not None:
        description["val"] = list(val_range)
        if val_range[1] - val_range[0] < 1:
            raise TrainingError(f"the validation split {config.val_split!r} is empty")
    labels = series.labels.astype(np.int64)
    return TrainingData(
        train_spikes=series.spikes[start:stop],
        train_labels=labels[start:stop],
        val_spikes=None if val_range is None else series.spikes[val_range[0] : val_range[1]],
        val_labels=None if val_range is None else labels[val_range[0] : val_range[1]],
        description=description,
    )


def batch_window_indices(n_windows: int, batch_size: int) -> np.ndarray:
    """Which window sits in each batch position: int64 ``[n_batches, batch_size]``.

    The windows ``0 .. n_windows-1`` are split into ``batch_size`` contiguous streams, the first
    ``n_windows % batch_size`` of length ``ceil(n_windows / batch_size)``, the others one
    shorter; entry ``[k, i]`` is window ``k`` of stream ``i``, or ``-1`` (a padding window)
    where stream ``i`` has fewer than ``k + 1`` windows.

    Example:
        >>> batch_window_indices(7, 3).tolist()
        [[0, 3, 5], [1, 4, 6], [2, -1, -1]]
    """
    if batch_size < 1 or n_windows < batch_size:
        raise TrainingError(
            f"batch size {batch_size} needs at least {batch_size} windows; there are {n_windows}"
        )
    base, extra = divmod(n_windows, batch_size)
    lengths = np.full(batch_size, base, dtype=np.int64)
    lengths[:extra] += 1
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    n_batches = int(lengths.max())
    steps = np.arange(n_batches)[:, None]
    return np.where(steps < lengths[None, :], starts[None, :] + steps, -1)


@dataclass(frozen=True)
class Batches:
    """Training windows arranged in batches of streams (see :func:`batch_window_indices`).

    Attributes:
        spikes: int8 ``[n_batches, batch_size, window, n_inputs]``.
        labels: int64 ``[n_batches, batch_size, window]``, ``IGNORE_LABEL`` where ignored.
        window_index: int64 ``[n_batches, batch_size]``, ``-1`` for padding windows.
    """

    spikes: np.ndarray
    labels: np.ndarray
    window_index: np.ndarray

    @property
    def n_batches(self) -> int:
        """Number of batches per epoch."""
        return int(self.spikes.shape[0])


def arrange_batches(
    spikes: np.ndarray, labels: np.ndarray, window: int, batch_size: int
) -> Batches:
    """Cut ``spikes [T, n_inputs]``, ``labels [T]`` into windows and arrange them in batches.

    Negative labels (unlabelled steps) become ``IGNORE_LABEL``.
    """
    windows = training_windows(spikes, labels, window)
    index = batch_window_indices(windows.n_windows, batch_size)
    padded = np.concatenate(
        [windows.spikes, np.zeros((1, *windows.spikes.shape[1:]), dtype=windows.spikes.dtype)]
    )
    padded_labels = np.concatenate(
        [windows.labels, np.full((1, window), IGNORE_LABEL, dtype=np.int64)]
    )
    padded_labels[padded_labels < 0] = IGNORE_LABEL
    # index -1 picks the extra all-ignored zero window appended last
    return Batches(spikes=padded[index], labels=padded_labels[index], window_index=index)


def sequence_nll(membrane: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean NLL of the per-step log-softmax of ``membrane [B, T, C]`` over the steps whose
    ``labels [B, T]`` are not ``IGNORE_LABEL`` (one compiled pass on the CPU)."""
    if fused_supported(membrane):
        return fused_nll_loss(membrane, labels, IGNORE_LABEL)
    log_probs = torch.log_softmax(membrane, dim=-1)
    return F.nll_loss(
        log_probs.reshape(-1, membrane.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_LABEL
    )


@torch.no_grad()
def series_nll(
    model: LIFNetwork, spikes: np.ndarray, labels: np.ndarray, chunk_size: int = 65_536
) -> float:
    """Mean NLL over the labelled steps of one series ``[T, n_inputs]`` run from zero state.

    Steps with a negative label are ignored; ``nan`` if no step is labelled.
    """
    dtype = model.weights[0].dtype
    device = model.weights[0].device
    state: list[LIFState] | None = None
    total = 0.0
    count = 0
    for begin in range(0, spikes.shape[0], chunk_size):
        x = torch.from_numpy(np.ascontiguousarray(spikes[begin : begin + chunk_size]))
        y = torch.from_numpy(np.asarray(labels[begin : begin + chunk_size], dtype=np.int64))
        out = model(x.to(device=device, dtype=dtype).unsqueeze(0), state)
        state = out.state
        y = y.to(device)
        mask = y >= 0
        if mask.any():
            log_probs = out.log_probs[0][mask]
            total += float(-log_probs.gather(1, y[mask][:, None]).double().sum())
            count += int(mask.sum())
    return total / count if count else math.nan


# -- progress and results --------------------------------------------------------------------
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
        best_epoch: 1-based epoch of the best monitored loss.
        best_loss: the best monitored loss.
        epochs_run: number of epochs completed (all sessions together, if resumed).
        stop_reason: ``"early stopping"``, ``"max epochs"`` or ``"non-finite loss"``.
        checkpoint: path of the best checkpoint's JSON.
        out_dir: the run directory.
        seconds: wall time of this call.
        resumed_from: epochs already done when this call started (0 for a fresh run).
    """

    model: LIFNetwork
    history: list[dict[str, Any]]
    best_epoch: int
    best_loss: float
    epochs_run: int
    stop_reason: str
    checkpoint: Path
    out_dir: Path
    seconds: float
    resumed_from: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the model)."""
        return {
            "best_epoch": self.best_epoch,
            "best_loss": _json_float(self.best_loss),
            "epochs_run": self.epochs_run,
            "stop_reason": self.stop_reason,
            "checkpoint": str(self.checkpoint),
            "out_dir": str(self.out_dir),
            "seconds": self.seconds,
            "resumed_from": self.resumed_from,
        }


ProgressCallback = Callable[[EpochReport], Any]


# -- the run ---------------------------------------------------------------------------------
@dataclass
class _RunState:
    """Everything that changes from epoch to epoch (what a resume restores)."""

    epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    stale: int = 0
    stop_reason: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    carried: list[LIFState] | None = None
    best_weights: list[torch.Tensor] = field(default_factory=list)


def _resolve_model(
    model_or_config: LIFNetwork | TrainConfig | None, config: TrainConfig | None
) -> tuple[LIFNetwork | None, TrainConfig]:
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
    if not isinstance(model_or_config, LIFNetwork):
        raise TypeError(
            f"model_or_config must be a LIFNetwork or a TrainConfig; got "
            f"{type(model_or_config).__name__}"
        )
    model = model_or_config
    model_values: dict[str, Any] = {
        "hidden": tuple(model.layer_sizes[1:-1]),
        "dt": model.params.dt,
        "tau_syn": model.params.tau_syn,
        "tau_mem": model.params.tau_mem,
    }
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


def _check_model_matches_data(model: LIFNetwork, series: SpikeSeries) -> None:
    if model.layer_sizes[0] != series.n_inputs or model.layer_sizes[-1] != series.n_classes:
        raise TrainingError(
            f"the model has {model.layer_sizes[0]} inputs and {model.layer_sizes[-1]} classes; "
            f"the data has {series.n_inputs} inputs and {series.n_classes} classes"
        )
    default_inputs = tuple(f"in{i}" for i in range(model.layer_sizes[0]))
    default_classes = tuple(f"class{c}" for c in range(model.layer_sizes[-1]))
    if model.input_names == default_inputs and model.class_names == default_classes:
        # an unnamed model takes the data's names, so its checkpoint records them
        model.input_names = series.input_names
        model.class_names = series.class_names
        return
    model.check_data(series.input_names, series.class_names)


def ensure_writable_dir(out_dir: Path) -> None:
    """Create ``out_dir`` if needed and check a file can be written there."""
    try:
        check_writable_dir(out_dir)
    except OSError as exc:
        raise TrainingError(f"cannot write to the output directory {out_dir}: {exc}") from exc


def _data_record(series: SpikeSeries, data: TrainingData) -> dict[str, Any]:
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


def train(
    model_or_config: LIFNetwork | TrainConfig | None,
    series: SpikeSeries,
    config: TrainConfig | None,
    out_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    resume: bool = True,
) -> TrainResult:
    """Train a LIF network on ``series`` with the protocol of the module docstring.

    Args:
        model_or_config: a :class:`LIFNetwork` to train (its weights are the starting point;
            its names must match the data's, or be the defaults and are then replaced), or a
            :class:`TrainConfig` to build a fresh network from (``hidden``, time constants,
            ``seed``), or ``None`` when ``config`` is given.
        series: the data; its ``train_split`` (and ``val_split``, if present) are used.
        config: the hyper-parameters; ``None`` takes them from the first argument (with a
            model: the model's sizes and time constants and the defaults for the rest).
        out_dir: run directory (created); holds the checkpoint, history, resumable state and
            manifest.
        progress: called with an :class:`EpochReport` after every epoch, once the epoch's state
            is saved; an exception raised there interrupts training and a later call with
            ``resume=True`` continues from the next epoch.
        resume: continue from the state in ``out_dir`` if there is one (its config, except
            ``epochs``, and its data must match); ``False`` starts afresh.

    Returns:
        A :class:`TrainResult` whose model holds the best weights.

    Raises:
        TrainConfigError: invalid configuration (checked before any work).
        TrainingError: too few windows for the batch size, unwritable ``out_dir``, missing
            split, a state in ``out_dir`` that belongs to another run.
    """
    began = time.perf_counter()
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
    if given_model is not None:
        _check_model_matches_data(given_model, series)
    out = Path(out_dir)
    ensure_writable_dir(out)
    if given_model is not None:
        model = given_model
    else:
        model = LIFNetwork(
            config.layer_sizes(series.n_inputs, series.n_classes),
            dt=config.dt,
            tau_syn=config.tau_syn,
            tau_mem=config.tau_mem,
            input_names=series.input_names,
            class_names=series.class_names,
            seed=config.seed,
        )
    data_record = _data_record(series, data)
    batches = arrange_batches(
        data.train_spikes, data.train_labels, config.window, config.batch_size
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    run = _RunState(best_weights=[w.detach().clone() for w in model.weights])
    resumed_from = 0
    state_path = out / STATE_NAME
    if resume and state_path.is_file():
        run = _load_state(out, model, optimizer, config, data_record)
        resumed_from = run.epoch
    else:
        torch.manual_seed(config.seed)
        _remove_stale_state(out)
        write_json_atomic(out / HISTORY_NAME, [])
    write_manifest_for(out, config, data_record, None, {})

    if run.epoch >= config.epochs and run.stop_reason in (None, "max epochs"):
        run.stop_reason = "max epochs"
    elif run.stop_reason == "max epochs":
        run.stop_reason = None  # resumed with a larger 'epochs': go on
    finished = run.stop_reason is not None
    checkpoint = out / CHECKPOINT_NAME
    dtype = model.weights[0].dtype
    device = model.weights[0].device
    while not finished:
        epoch_began = time.perf_counter()
        model.train()
        loss_sum = 0.0
        loss_count = 0
        carried = run.carried
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
        run.carried = carried
        run.epoch += 1
        train_loss = loss_sum / loss_count if loss_count else math.nan
        val_loss = None
        if data.val_spikes is not None and data.val_labels is not None:
            model.eval()
            val_loss = series_nll(model, data.val_spikes, data.val_labels)
        monitored = train_loss if config.monitor == "train" else cast(float, val_loss)
        improved = math.isfinite(monitored) and monitored < run.best_loss - config.min_delta
        if improved:
            run.best_loss = monitored
            run.best_epoch = run.epoch
            run.best_weights = [w.detach().clone() for w in model.weights]
            run.stale = 0
            save_checkpoint(
                model,
                checkpoint,
                provenance={"trained_by": "spikeattr.snn.training.train"},
                training=_training_record(config, run, data_record),
            )
        else:
            run.stale += 1
        seconds = time.perf_counter() - epoch_began
        run.history.append(
            {
                "epoch": run.epoch,
                "train_loss": _json_float(train_loss),
                "val_loss": None if val_loss is None else _json_float(val_loss),
                "improved": improved,
                "seconds": seconds,
            }
        )
        if not math.isfinite(monitored):
            run.stop_reason = "non-finite loss"
        elif run.stale >= config.patience:
            run.stop_reason = "early stopping"
        elif run.epoch >= config.epochs:
            run.stop_reason = "max epochs"
        finished = run.stop_reason is not None
        _save_state(out, model, optimizer, config, data_record, run)
        write_json_atomic(out / HISTORY_NAME, run.history)
        if progress is not None:
            progress(
                EpochReport(
                    epoch=run.epoch,
                    max_epochs=config.epochs,
                    train_loss=train_loss,
                    val_loss=val_loss,
                    monitored_loss=monitored,
                    best_loss=run.best_loss,
                    best_epoch=run.best_epoch,
                    improved=improved,
                    epochs_without_improvement=run.stale,
                    seconds=seconds,
                )
            )

    model.load_weights(run.best_weights)
    model.eval()
    if run.best_epoch == 0 or not checkpoint.is_file():
        # no epoch ever improved (non-finite from the start): keep the initial weights on disk
        save_checkpoint(
            model,
            checkpoint,
            provenance={"trained_by": "spikeattr.snn.training.train"},
            training=_training_record(config, run, data_record),
        )
    result = TrainResult(
        model=model,
        history=list(run.history),
        best_epoch=run.best_epoch,
        best_loss=run.best_loss,
        epochs_run=run.epoch,
        stop_reason=str(run.stop_reason),
        checkpoint=checkpoint,
        out_dir=out,
        seconds=time.perf_counter() - began,
        resumed_from=resumed_from,
    )
    write_manifest_for(
        out,
        config,
        data_record,
        result.to_dict(),
        {"train": result.seconds, "per_epoch_mean": _mean_epoch_seconds(run.history)},
    )
    return result


def _json_float(value: float) -> float | None:
    """``value``, or ``None`` where JSON has no number (nan, inf)."""
    return value if math.isfinite(value) else None


def _mean_epoch_seconds(history: Sequence[Mapping[str, Any]]) -> float:
    seconds = [float(h["seconds"]) for h in history]
    return sum(seconds) / len(seconds) if seconds else 0.0


def _training_record(
    config: TrainConfig, run: _RunState, data_record: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "config": config.to_dict(),
        "epoch": run.best_epoch,
        "monitor": config.monitor,
        "best_loss": _json_float(run.best_loss),
        "data": {k: data_record[k] for k in ("X_sha256", "y_sha256", "ranges")},
    }


def write_manifest_for(
    out: Path,
    config: TrainConfig,
    data_record: Mapping[str, Any],
    results: dict[str, Any] | None,
    timings: dict[str, float],
) -> None:
    """Write the run's ``manifest.json`` (config, seed, versions, data checksums, results)."""
    from spikeattr.pipelines.manifest import write_manifest

    write_manifest(out, "train", config.to_dict(), dict(data_record), results, timings)


# -- resumable state -------------------------------------------------------------------------
def _remove_stale_state(out: Path) -> None:
    for path in out.glob("train_state*"):
        path.unlink()


def _save_state(
    out: Path,
    model: LIFNetwork,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    data_record: Mapping[str, Any],
    run: _RunState,
) -> None:
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    for index, weight in enumerate(model.weights):
        tensors[f"weight.{index}"] = weight.detach()
        tensors[f"best_weight.{index}"] = run.best_weights[index]
        moments = optimizer.state.get(weight, {})
        for key in ("step", "exp_avg", "exp_avg_sq"):
            if key in moments:
                tensors[f"adam.{index}.{key}"] = moments[key]
    for layer, layer_state in enumerate(run.carried or []):
        tensors[f"carry.{layer}.syn"] = layer_state.syn
        tensors[f"carry.{layer}.mem"] = layer_state.mem
    tensors_path = out / f"train_state-e{run.epoch:05d}.safetensors"
    with atomic_path(tensors_path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    previous = _read_state_json(out / STATE_NAME) if (out / STATE_NAME).is_file() else None
    write_json_atomic(
        out / STATE_NAME,
        {
            "format": STATE_FORMAT,
            "format_version": STATE_FORMAT_VERSION,
            "epoch": run.epoch,
            "best_loss": _json_float(run.best_loss),
            "best_epoch": run.best_epoch,
            "epochs_without_improvement": run.stale,
            "stop_reason": run.stop_reason,
            "config": config.to_dict(),
            "data": dict(data_record),
            "tensors_file": tensors_path.name,
            "tensors_sha256": file_sha256(tensors_path),
            "history": run.history,
        },
    )
    if previous is not None and previous.get("tensors_file") != tensors_path.name:
        stale = out / str(previous.get("tensors_file"))
        if stale.is_file():
            stale.unlink()


def _read_state_json(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainingError(f"{path} is not a readable training state: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise TrainingError(f"{path} is not a spikeattr training state")
    if state.get("format_version") != STATE_FORMAT_VERSION:
        raise TrainingError(
            f"{path}: format_version {state.get('format_version')!r} is not "
            f"{STATE_FORMAT_VERSION}; start afresh with resume=False (--no-resume)"
        )
    return state


def _load_state(
    out: Path,
    model: LIFNetwork,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    data_record: Mapping[str, Any],
) -> _RunState:
    from safetensors.torch import load_file

    path = out / STATE_NAME
    state = _read_state_json(path)
    saved_config = dict(state["config"])
    current = config.to_dict()
    differing = sorted(k for k in current if k != "epochs" and saved_config.get(k) != current[k])
    if differing:
        details = ", ".join(f"{k}: {saved_config.get(k)!r} -> {current[k]!r}" for k in differing)
        raise TrainingError(
            f"{out} holds a run with another configuration ({details}); use resume=False "
            "(--no-resume) to start afresh there, or another output directory"
        )
    saved_data = state.get("data", {})
    for key in ("X_sha256", "y_sha256", "ranges"):
        if saved_data.get(key) != data_record.get(key):
            raise TrainingError(
                f"{out} holds a run on other data ({key} differs); use resume=False "
                "(--no-resume) to start afresh there, or another output directory"
            )
    tensors_path = out / str(state["tensors_file"])
    if not tensors_path.is_file() or file_sha256(tensors_path) != state.get("tensors_sha256"):
        raise TrainingError(
            f"{tensors_path} is missing or changed since {path} was written; "
            "use resume=False (--no-resume) to start afresh"
        )
    tensors = load_file(str(tensors_path))
    n_layers = model.n_layers
    model.load_weights([tensors[f"weight.{i}"] for i in range(n_layers)])
    device = model.weights[0].device
    best_weights = [
        tensors[f"best_weight.{i}"].to(device=device, dtype=model.weights[0].dtype)
        for i in range(n_layers)
    ]
    optimizer_state = optimizer.state_dict()
    optimizer_state["state"] = {
        index: {
            key: tensors[f"adam.{index}.{key}"]
            for key in ("step", "exp_avg", "exp_avg_sq")
            if f"adam.{index}.{key}" in tensors
        }
        for index in range(n_layers)
        if f"adam.{index}.step" in tensors
    }
    optimizer.load_state_dict(optimizer_state)
    carried = None
    if "carry.0.syn" in tensors:
        carried = [
            LIFState(
                tensors[f"carry.{layer}.syn"].to(device), tensors[f"carry.{layer}.mem"].to(device)
            )
            for layer in range(n_layers)
        ]
    torch.set_rng_state(tensors["rng.torch"])
    best_loss = state.get("best_loss")
    return _RunState(
        epoch=int(state["epoch"]),
        best_loss=math.inf if best_loss is None else float(best_loss),
        best_epoch=int(state["best_epoch"]),
        stale=int(state["epochs_without_improvement"]),
        stop_reason=state.get("stop_reason"),
        history=list(state["history"]),
        carried=carried,
        best_weights=best_weights,
    )
