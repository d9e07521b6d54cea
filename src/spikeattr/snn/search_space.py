"""What hyper-parameter tuning searches: the paper's greedy grid and the Optuna search space.

Every candidate is a :class:`~spikeattr.snn.train_config.TrainConfig` trained for ``epochs``
epochs (paper: 20) with early stopping on the validation loss (``monitor="val"``), scored by its
lowest validation NLL. The searches that train and score the candidates, in their run
directories, are :func:`spikeattr.runs.tuning.tune_greedy` and
:func:`spikeattr.runs.tuning.tune_optuna`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.batching import TrainingError, split_for_training
from spikeattr.snn.train_config import TrainConfig

GREEDY_ORDER: tuple[str, ...] = ("dt", "tau_syn", "tau_mem", "lr", "batch_size", "hidden")
DEFAULT_GREEDY_GRID: dict[str, tuple[Any, ...]] = {
    "dt": (5e-4, 1e-3, 2e-3),
    "tau_syn": (5e-3, 1e-2, 2e-2, 5e-2),
    "tau_mem": (1e-3, 2e-3, 5e-3, 1e-2),
    "lr": (1e-3, 3e-3, 1e-2, 3e-2),
    "batch_size": (32, 64, 128, 256),
}
"""Grid of the greedy search around the paper's values; ``hidden`` defaults to
:data:`DEFAULT_HIDDEN_WIDTHS` applied to every hidden layer of the base config."""
DEFAULT_HIDDEN_WIDTHS: tuple[int, ...] = (10, 25, 50, 100)
TUNING_EPOCHS = 20


class TuningError(SpikeAttrError):
    """Tuning cannot run: missing Optuna, bad search settings, no finished trial."""


def candidate_config(base: TrainConfig, epochs: int, **changes: Any) -> TrainConfig:
    """``base`` with ``changes``, trained for ``epochs`` epochs with ``monitor="val"``."""
    return base.replace(**changes, epochs=epochs, monitor="val")


def final_config(candidate: TrainConfig, base: TrainConfig) -> TrainConfig:
    """A tuned candidate ready for a full run: ``base``'s ``epochs``, ``monitor``, ``patience``."""
    return candidate.replace(epochs=base.epochs, monitor=base.monitor, patience=base.patience)


def n_training_windows(series: SpikeSeries, config: TrainConfig) -> int:
    """Number of training windows of a candidate (the validation tail left out)."""
    data = split_for_training(series, config.replace(monitor="val"))
    return max(1, -(-data.train_spikes.shape[0] // config.window))


def check_tuning(series: SpikeSeries, base: TrainConfig, epochs: int) -> int:
    """Refuse bad tuning settings before any work; returns the number of training windows."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise TuningError(f"epochs per candidate must be an integer >= 1; got {epochs!r}")
    n_windows = n_training_windows(series, base)
    if base.batch_size > n_windows:
        raise TrainingError(
            f"batch_size {base.batch_size} is larger than the number of training windows "
            f"({n_windows}); use batch_size <= {n_windows}"
        )
    return n_windows


# -- greedy ----------------------------------------------------------------------------------
def greedy_grid(
    base: TrainConfig, grid: Mapping[str, Sequence[Any]] | None = None
) -> dict[str, list[Any]]:
    """The candidate values per parameter, in :data:`GREEDY_ORDER`.

    Without ``grid``: :data:`DEFAULT_GREEDY_GRID`, plus :data:`DEFAULT_HIDDEN_WIDTHS` for every
    hidden layer when ``base`` has hidden layers. With ``grid``: exactly the parameters it names
    (unknown names and invalid values are refused before any training).
    """
    chosen: dict[str, Sequence[Any]]
    if grid is None:
        chosen = dict(DEFAULT_GREEDY_GRID)
        if base.hidden:
            chosen["hidden"] = [(w,) * len(base.hidden) for w in DEFAULT_HIDDEN_WIDTHS]
    else:
        unknown = sorted(set(grid) - set(GREEDY_ORDER))
        if unknown:
            raise TuningError(
                f"the greedy grid has unknown parameters {unknown}; tunable: {list(GREEDY_ORDER)}"
            )
        chosen = dict(grid)
    out: dict[str, list[Any]] = {}
    for name in GREEDY_ORDER:
        if name not in chosen:
            continue
        values = [tuple(v) if name == "hidden" else v for v in chosen[name]]
        if not values:
            raise TuningError(f"the greedy grid for {name!r} is empty")
        for value in values:
            base.replace(**{name: value})  # validates every value up front
        out[name] = values
    return out


# -- Optuna ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the Optuna search (log-uniform for the floats and widths).

    ``dt`` is not searched: the dynamics depend only on ``dt / tau_syn`` and ``dt / tau_mem``,
    so tuning ``dt`` beside both time constants is redundant. ``batch_sizes`` larger than the
    number of training windows are dropped.
    """

    tau_syn: tuple[float, float] = (1e-3, 1e-1)
    tau_mem: tuple[float, float] = (1e-4, 1e-1)
    lr: tuple[float, float] = (1e-4, 1e-1)
    batch_sizes: tuple[int, ...] = (16, 32, 64, 128, 256)
    hidden_width: tuple[int, int] = (4, 128)

    def __post_init__(self) -> None:
        for name in ("tau_syn", "tau_mem", "lr", "hidden_width"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise TuningError(
                    f"search range {name} must satisfy 0 < low <= high; got {low, high}"
                )
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise TuningError(f"batch_sizes must list sizes >= 1; got {self.batch_sizes}")

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-ready ranges (lists)."""
        return {
            "tau_syn": list(self.tau_syn),
            "tau_mem": list(self.tau_mem),
            "lr": list(self.lr),
            "batch_sizes": list(self.batch_sizes),
            "hidden_width": list(self.hidden_width),
        }


def config_from_params(base: TrainConfig, params: Mapping[str, Any], epochs: int) -> TrainConfig:
    """The candidate of a trial's ``params`` (``tau_syn``, ``tau_mem``, ``lr``, ``batch_size``,
    ``hidden_0`` ...) on ``base``.

    Examples:
        >>> params = {"tau_syn": 0.02, "tau_mem": 2e-3, "lr": 3e-3, "batch_size": 4, "hidden_0": 7}
        >>> config_from_params(TrainConfig(hidden=(10,)), params, epochs=5).hidden
        (7,)
    """
    hidden = tuple(int(params[f"hidden_{layer}"]) for layer in range(len(base.hidden)))
    return candidate_config(
        base,
        epochs,
        tau_syn=params["tau_syn"],
        tau_mem=params["tau_mem"],
        lr=params["lr"],
        batch_size=params["batch_size"],
        hidden=hidden,
    )


def suggest_config(
    trial: Any, base: TrainConfig, space: SearchSpace, n_windows: int, epochs: int
) -> TrainConfig:
    """The trial's candidate: ``base`` with sampled time constants, lr, batch size, widths."""
    batch_sizes = [b for b in space.batch_sizes if b <= n_windows] or [n_windows]
    params: dict[str, Any] = {
        f"hidden_{layer}": trial.suggest_int(f"hidden_{layer}", *space.hidden_width, log=True)
        for layer in range(len(base.hidden))
    }
    params["tau_syn"] = trial.suggest_float("tau_syn", *space.tau_syn, log=True)
    params["tau_mem"] = trial.suggest_float("tau_mem", *space.tau_mem, log=True)
    params["lr"] = trial.suggest_float("lr", *space.lr, log=True)
    params["batch_size"] = trial.suggest_categorical("batch_size", batch_sizes)
    return config_from_params(base, params, epochs)
