"""Hyper-parameter tuning: the paper's greedy grid, and Optuna TPE with pruning (the default).

Both methods train candidates with :func:`spikeattr.snn.training.train` for ``epochs`` epochs
(paper: 20) and score each by its **validation NLL**: the lowest validation loss over those
epochs, i.e. the loss of the weights that early stopping on the validation loss keeps
(candidates train with ``monitor="val"``). Validation data is the series' ``val`` split, or the
last ``val_fraction`` of the training split when there is none (see :mod:`.training`).

Greedy (:func:`tune_greedy`, SPEC 3)
    One parameter at a time, in the order ``dt, tau_syn, tau_mem, lr, batch_size, hidden``:
    train one candidate per grid value (plus the current value), keep the best value, move on.
    Every candidate runs in ``out_dir/greedy/<hash of its config>`` with ``resume=True``, so an
    interrupted search restarted with the same arguments reuses finished candidates and resumes
    the one it was training.

Optuna (:func:`tune_optuna`)
    Tree-structured Parzen estimator over ``tau_syn``, ``tau_mem``, ``lr``, ``batch_size`` and
    the hidden widths (``dt`` stays fixed: the dynamics depend only on ``dt / tau_syn`` and
    ``dt / tau_mem``, so tuning ``dt`` beside both time constants is redundant), with a
    :class:`optuna.pruners.MedianPruner` stopping trials whose validation loss after an epoch is
    worse than the median of earlier trials at that epoch. Needs the ``tune`` extra::

        pip install "spikeattr[tune]"

    A study lives in an Optuna storage: by default the SQLite file ``out_dir/study.db``
    (``sqlite:////abs/path/study.db``); any database URL Optuna accepts works. Several workers
    (processes, or machines sharing a database) share one study by using the same ``storage``
    and ``study_name``. The worker that creates the study queues exactly ``n_trials`` trials
    (numbers ``0 .. n_trials-1``); every worker, the creator included, claims queued trials one
    at a time (the database moves a trial from WAITING to RUNNING for one worker only) and stops
    when none is left, so the study ends with exactly ``n_trials`` trials, none lost or run
    twice. Running again with a larger ``n_trials`` queues the difference. Trial ``k`` trains in
    ``out_dir/trials/0000k`` of the worker that ran it.

    SQLite is fine for a few processes on one machine. For many workers or machines, use
    PostgreSQL::

        # once, on the database host
        createuser --pwprompt spikeattr
        createdb --owner spikeattr spikeattr_tuning
        # on every worker machine (psycopg2 is the driver SQLAlchemy uses for postgresql://)
        pip install "spikeattr[tune]" psycopg2-binary
        spikeattr tune --data synthetic.npz --method optuna --trials 200 \\
            --storage postgresql://spikeattr:PASSWORD@dbhost:5432/spikeattr_tuning \\
            --study synthetic-2L --out runs/tune-$(hostname)

    Start the same command on each machine (each with its own ``--out``); they share the study.
    Workers send a heartbeat every 30 s: the trial of a worker that died is marked failed after
    two minutes without one and re-queued once (the retry gets a new number).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr._io import write_json_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.training import (
    EpochReport,
    TrainConfig,
    TrainConfigError,
    TrainingError,
    ensure_writable_dir,
    split_for_training,
    train,
)

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
TrialCallback = Callable[[dict[str, Any]], Any]


class TuningError(SpikeAttrError):
    """Tuning cannot run: missing Optuna, bad search settings, no finished trial."""


@dataclass
class TuningResult:
    """Outcome of a search.

    Attributes:
        method: ``"greedy"`` or ``"optuna"``.
        best_config: the best configuration found (with the base config's ``epochs``,
            ``monitor`` and ``patience``, ready for a full training run).
        best_score: its validation NLL.
        trials: one JSON record per candidate/trial (config or params, score, state).
        out_dir: the tuning directory.
        storage: Optuna storage URL (``None`` for greedy).
        study_name: Optuna study name (``None`` for greedy).
        seconds: wall time of this call.
    """

    method: str
    best_config: TrainConfig
    best_score: float
    trials: list[dict[str, Any]]
    out_dir: Path
    storage: str | None = None
    study_name: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the storage URL without its password)."""
        return {
            "method": self.method,
            "best_config": self.best_config.to_dict(),
            "best_score": self.best_score,
            "n_trials": len(self.trials),
            "trials": self.trials,
            "out_dir": str(self.out_dir),
            "storage": None if self.storage is None else redact_url(self.storage),
            "study_name": self.study_name,
            "seconds": self.seconds,
            **self.extra,
        }


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and manifests)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _candidate_config(base: TrainConfig, epochs: int, **changes: Any) -> TrainConfig:
    return base.replace(**changes, epochs=epochs, monitor="val")


def _n_windows(series: SpikeSeries, config: TrainConfig) -> int:
    data = split_for_training(series, config.replace(monitor="val"))
    return max(1, -(-data.train_spikes.shape[0] // config.window))


def _check_common(series: SpikeSeries, base: TrainConfig, out: Path, epochs: int) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise TuningError(f"epochs per candidate must be an integer >= 1; got {epochs!r}")
    n_windows = _n_windows(series, base)
    if base.batch_size > n_windows:
        raise TrainingError(
            f"batch_size {base.batch_size} is larger than the number of training windows "
            f"({n_windows}); use batch_size <= {n_windows}"
        )
    ensure_writable_dir(out)
    return n_windows


def _score(result_loss: float) -> float:
    return result_loss if math.isfinite(result_loss) else math.inf


def _finish(
    out: Path,
    result: TuningResult,
    series: SpikeSeries,
    base: TrainConfig,
) -> TuningResult:
    from spikeattr.pipelines.manifest import write_manifest

    write_json_atomic(out / "tuning.json", result.to_dict())
    write_manifest(
        out,
        "tune",
        {"method": result.method, "base": base.to_dict(), "seed": base.seed},
        {**series.checksums(), "n_steps": series.n_steps},
        {"best_config": result.best_config.to_dict(), "best_score": result.best_score},
        {"tune": result.seconds},
    )
    return result


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


def _config_key(config: TrainConfig) -> str:
    text = json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tune_greedy(
    series: SpikeSeries,
    base: TrainConfig,
    out_dir: str | os.PathLike[str],
    grid: Mapping[str, Sequence[Any]] | None = None,
    epochs: int = TUNING_EPOCHS,
    progress: TrialCallback | None = None,
) -> TuningResult:
    """The paper's greedy one-parameter-at-a-time search (see the module docstring).

    Args:
        series: the data (``train`` split, and ``val`` if present).
        base: the starting configuration; its ``hidden`` depth is kept.
        out_dir: tuning directory; candidates train in ``out_dir/greedy/<key>``.
        grid: ``{parameter: values}`` to search (only these); default :func:`greedy_grid`.
        epochs: epochs per candidate (paper: 20).
        progress: called with each candidate's JSON record once it is scored.

    Returns:
        A :class:`TuningResult`; ``out_dir/tuning.json`` holds the same record.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    values = greedy_grid(base, grid)
    n_windows = _check_common(series, base, out, epochs)
    current = _candidate_config(base, epochs)
    records: list[dict[str, Any]] = []
    scores: dict[str, float] = {}

    def score(config: TrainConfig, parameter: str, value: Any) -> float:
        key = _config_key(config)
        if key not in scores:
            result = train(config, series, None, out / "greedy" / key, resume=True)
            scores[key] = _score(result.best_loss)
            record = {
                "parameter": parameter,
                "value": list(value) if isinstance(value, tuple) else value,
                "config": config.to_dict(),
                "score": scores[key],
                "run_dir": str(out / "greedy" / key),
            }
            records.append(record)
            write_json_atomic(out / "greedy.json", records)
            if progress is not None:
                progress(record)
        return scores[key]

    best_score = score(current, "base", None)
    for parameter, candidates in values.items():
        options = [getattr(current, parameter)]
        options += [v for v in candidates if v not in options]
        if parameter == "batch_size":
            options = [v for v in options if v <= n_windows]
        for value in options:
            candidate = current.replace(**{parameter: value})
            candidate_score = score(candidate, parameter, value)
            if candidate_score < best_score:
                best_score, current = candidate_score, candidate
    best = current.replace(epochs=base.epochs, monitor=base.monitor, patience=base.patience)
    result = TuningResult(
        method="greedy",
        best_config=best,
        best_score=best_score,
        trials=records,
        out_dir=out,
        seconds=time.perf_counter() - began,
    )
    return _finish(out, result, series, base)


# -- Optuna ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the Optuna search (log-uniform for the floats and widths).

    ``batch_sizes`` larger than the number of training windows are dropped.
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


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise TuningError(
            "Optuna tuning needs the optional 'tune' extra: pip install \"spikeattr[tune]\" "
            "(or use method 'greedy')"
        ) from exc
    return optuna


def default_storage(out_dir: str | os.PathLike[str]) -> str:
    """``sqlite:////abs/out_dir/study.db``."""
    return f"sqlite:///{(Path(out_dir) / 'study.db').resolve()}"


@dataclass
class OpenedStudy:
    """A study with its storage; ``created`` is true for the worker that created it."""

    study: Any
    storage: Any
    created: bool


def open_study(
    storage: str,
    study_name: str,
    sampler_seed: int | None = None,
    n_startup_trials: int = 4,
    n_warmup_steps: int = 1,
) -> OpenedStudy:
    """Create or load the study ``study_name`` in ``storage`` (TPE sampler, median pruner).

    Safe to call from several workers at once: exactly one creates the study (the database
    refuses a second study of that name); a worker that loses a race to create the tables or
    the study retries and loads it. Workers send a heartbeat every 30 s; a trial without one
    for 120 s is failed and re-queued once.
    """
    optuna = _optuna()
    storages = optuna.storages
    engine_kwargs: dict[str, Any] = {}
    if storage.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}

    def sampler() -> Any:
        return optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=n_startup_trials)

    def pruner() -> Any:
        return optuna.pruners.MedianPruner(
            n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps
        )

    last_error: Exception | None = None
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                stale: dict[str, Any]
                if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
                    retry = storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                    stale = {"heartbeat_stale_trial_callback": retry}
                else:
                    retry = storages.RetryFailedTrialCallback(max_retry=1)
                    stale = {"failed_trial_callback": retry}
                rdb = storages.RDBStorage(
                    storage,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=30,
                    grace_period=120,
                    **stale,
                )
            try:
                study = optuna.create_study(
                    storage=rdb,
                    study_name=study_name,
                    direction="minimize",
                    sampler=sampler(),
                    pruner=pruner(),
                )
                return OpenedStudy(study, rdb, created=True)
            except optuna.exceptions.DuplicatedStudyError:
                study = optuna.load_study(
                    study_name=study_name, storage=rdb, sampler=sampler(), pruner=pruner()
                )
                return OpenedStudy(study, rdb, created=False)
        except ImportError as exc:  # e.g. the database driver is missing
            raise TuningError(
                f"cannot open the Optuna storage {redact_url(storage)}: {exc}"
            ) from exc
        except Exception as exc:  # table/study creation race between workers: retry
            last_error = exc
            time.sleep(0.2 * (attempt + 1))
    raise TuningError(
        f"cannot open the Optuna storage {redact_url(storage)}: {last_error}"
    ) from last_error


PLANNED_ATTR = "spikeattr_planned_trials"
QUEUED_ATTR = "spikeattr_queued"


def plan_trials(opened: OpenedStudy, n_trials: int, wait_s: float = 120.0) -> int:
    """Make the study hold ``n_trials`` trials in all, queued as WAITING; returns the plan.

    The worker that created the study queues them and then records the plan; the others wait
    for the record. A later call with a larger ``n_trials`` queues the difference (run that
    one worker first, then start the others). Queued trials are claimed one at a time by
    :func:`run_worker`, so no worker ever creates a trial beyond the plan.
    """
    study = opened.study
    if not opened.created:
        deadline = time.monotonic() + wait_s
        while PLANNED_ATTR not in study.user_attrs:
            existing = study.get_trials(deepcopy=False)
            if any(QUEUED_ATTR not in t.user_attrs for t in existing):
                # a study made without spikeattr's plan: count the trials it has as planned
                study.set_user_attr(PLANNED_ATTR, len(existing))
                break
            if time.monotonic() > deadline:
                raise TuningError(
                    f"study {study.study_name!r} exists but its first worker never queued its "
                    f"trials; delete the study or use another --study name"
                )
            time.sleep(0.2)
    planned = int(study.user_attrs.get(PLANNED_ATTR, 0))
    for _ in range(max(0, n_trials - planned)):
        study.enqueue_trial({}, user_attrs={QUEUED_ATTR: True})
    if n_trials > planned:
        study.set_user_attr(PLANNED_ATTR, n_trials)
    return max(planned, n_trials)


@contextmanager
def _heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Record a heartbeat of ``trial_id`` every heartbeat interval while the block runs."""
    interval = storage.get_heartbeat_interval() if hasattr(storage, "record_heartbeat") else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim_waiting_trial(opened: OpenedStudy) -> int | None:
    """Move one WAITING trial of the study to RUNNING; its trial id, or ``None`` if none."""
    optuna = _optuna()
    storage = opened.storage
    study_id = storage.get_study_id_from_name(opened.study.study_name)
    waiting = storage.get_all_trials(
        study_id, deepcopy=False, states=(optuna.trial.TrialState.WAITING,)
    )
    for frozen in waiting:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
        try:
            if storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.RUNNING):
                return int(trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def run_worker(
    opened: OpenedStudy,
    objective: Callable[[Any], float],
    after_trial: Callable[[Any], Any] | None = None,
) -> int:
    """Claim and run queued trials until none is left; returns how many this worker ran.

    ``objective(trial)`` returns the score or raises :class:`optuna.TrialPruned`; any other
    exception marks the trial failed and propagates. ``after_trial`` gets each finished
    :class:`optuna.trial.FrozenTrial`.
    """
    optuna = _optuna()
    states = optuna.trial.TrialState
    study = opened.study
    ran = 0
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # re-queues the trials of dead workers
        trial_id = _claim_waiting_trial(opened)
        if trial_id is None:
            return ran
        trial = optuna.trial.Trial(study, trial_id)
        with _heartbeat(opened.storage, trial_id):
            try:
                value = objective(trial)
            except optuna.TrialPruned:
                frozen = study.tell(trial, state=states.PRUNED)
            except BaseException:
                study.tell(trial, state=states.FAIL)
                raise
            else:
                frozen = study.tell(trial, value)
        ran += 1
        if after_trial is not None:
            after_trial(frozen)


def suggest_config(
    trial: Any, base: TrainConfig, space: SearchSpace, n_windows: int, epochs: int
) -> TrainConfig:
    """The trial's candidate: ``base`` with sampled time constants, lr, batch size, widths."""
    batch_sizes = [b for b in space.batch_sizes if b <= n_windows] or [n_windows]
    hidden = tuple(
        trial.suggest_int(f"hidden_{layer}", *space.hidden_width, log=True)
        for layer in range(len(base.hidden))
    )
    return _candidate_config(
        base,
        epochs,
        tau_syn=trial.suggest_float("tau_syn", *space.tau_syn, log=True),
        tau_mem=trial.suggest_float("tau_mem", *space.tau_mem, log=True),
        lr=trial.suggest_float("lr", *space.lr, log=True),
        batch_size=trial.suggest_categorical("batch_size", batch_sizes),
        hidden=hidden,
    )


def _trial_record(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": dict(trial.params),
        "epochs_reported": len(trial.intermediate_values),
        **{k: v for k, v in trial.user_attrs.items() if k in ("run_dir", "best_epoch")},
    }


def tune_optuna(
    series: SpikeSeries,
    base: TrainConfig,
    out_dir: str | os.PathLike[str],
    n_trials: int,
    storage: str | None = None,
    study_name: str = "spikeattr",
    epochs: int = TUNING_EPOCHS,
    space: SearchSpace | None = None,
    sampler_seed: int | None = None,
    progress: TrialCallback | None = None,
) -> TuningResult:
    """Optuna TPE search with median pruning on the validation loss (see the module docstring).

    Args:
        series: the data (``train`` split, and ``val`` if present).
        base: the fixed settings (``dt``, window, seed, number of hidden layers...).
        out_dir: tuning directory (trial runs, ``tuning.json``, default SQLite storage).
        n_trials: total number of trials of the study, all workers together (queued by the
            worker that creates the study; a larger value later queues the difference).
        storage: an Optuna storage URL; default :func:`default_storage` of ``out_dir``.
        study_name: the study to create or join.
        epochs: epochs per trial (paper: 20); the pruner sees the validation loss per epoch.
        space: search ranges (:class:`SearchSpace`).
        sampler_seed: seed of the TPE sampler (give each worker its own, or ``None``).
        progress: called with each finished trial's JSON record (this worker's trials).

    Returns:
        A :class:`TuningResult` over the whole study (every worker's trials).
    """
    began = time.perf_counter()
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise TuningError(f"n_trials must be an integer >= 1; got {n_trials!r}")
    optuna = _optuna()
    out = Path(out_dir)
    space = space or SearchSpace()
    n_windows = _check_common(series, base, out, epochs)
    url = storage or default_storage(out)
    opened = open_study(url, study_name, sampler_seed=sampler_seed)
    plan_trials(opened, n_trials)

    def objective(trial: Any) -> float:
        config = suggest_config(trial, base, space, n_windows, epochs)
        run_dir = out / "trials" / f"{trial.number:05d}"
        trial.set_user_attr("run_dir", str(run_dir))

        def report(epoch: EpochReport) -> None:
            trial.report(epoch.monitored_loss, epoch.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch.epoch}")

        result = train(config, series, None, run_dir, progress=report, resume=False)
        trial.set_user_attr("best_epoch", result.best_epoch)
        return _score(result.best_loss)

    def after_trial(frozen: Any) -> None:
        if progress is not None:
            progress(_trial_record(frozen))

    run_worker(opened, objective, after_trial)
    study = opened.study
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise TuningError(
            f"study {study_name!r} has no complete trial yet ({len(trials)} trials, all pruned "
            "or failed); run more trials"
        )
    best_trial = min(complete, key=lambda t: t.value)
    best = suggest_config(
        optuna.trial.FixedTrial(best_trial.params), base, space, n_windows, epochs
    ).replace(epochs=base.epochs, monitor=base.monitor, patience=base.patience)
    result = TuningResult(
        method="optuna",
        best_config=best,
        best_score=float(best_trial.value),
        trials=[_trial_record(t) for t in trials],
        out_dir=out,
        storage=url,
        study_name=study_name,
        seconds=time.perf_counter() - began,
        extra={"best_trial": best_trial.number},
    )
    return _finish(out, result, series, base)


__all__ = [
    "DEFAULT_GREEDY_GRID",
    "DEFAULT_HIDDEN_WIDTHS",
    "GREEDY_ORDER",
    "OpenedStudy",
    "SearchSpace",
    "TrainConfigError",
    "TuningError",
    "TuningResult",
    "default_storage",
    "greedy_grid",
    "open_study",
    "plan_trials",
    "redact_url",
    "run_worker",
    "suggest_config",
    "tune_greedy",
    "tune_optuna",
]
