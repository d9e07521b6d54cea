"""The tuning run directory: the paper's greedy grid and Optuna TPE with pruning (the default).

Both searches train candidates (:mod:`spikeattr.snn.search_space`) with
:func:`~spikeattr.runs.training.run_training` and score each by its lowest validation NLL.

Greedy (:func:`tune_greedy`, SPEC 3)
    One parameter at a time, in the order ``dt, tau_syn, tau_mem, lr, batch_size, hidden``:
    train one candidate per grid value (plus the current value), keep the best value, move on.
    Every candidate runs in ``out_dir/greedy/<hash of its config>`` with ``resume=True``, so an
    interrupted search restarted with the same arguments reuses finished candidates and resumes
    the one it was training.

Optuna (:func:`tune_optuna`)
    Tree-structured Parzen estimator over ``tau_syn``, ``tau_mem``, ``lr``, ``batch_size`` and
    the hidden widths, with a median pruner stopping trials whose validation loss after an
    epoch is worse than the median of earlier trials at that epoch. Needs the ``tune`` extra
    (``pip install "spikeattr[tune]"``; for PostgreSQL ``spikeattr[postgres]``). Several
    workers share one study by using the same ``storage`` and ``study_name`` (see
    :mod:`spikeattr.runs.study` and :mod:`spikeattr.runs.trial_queue`); trial ``k`` trains in
    ``out_dir/trials/0000k`` of the worker that ran it. Every worker reports the best of the
    whole study over its finished trials; :func:`report_study` gives it at any time.

Files in ``out_dir``: ``tuning.json`` (the result: best config and score, every trial),
``best_config.toml`` (``spikeattr train --config`` reads it), ``manifest.json``, ``greedy.json``
(greedy: the candidates so far), ``study.db`` (Optuna's default SQLite storage) and the
candidates' run directories; ``.lock`` while a search runs there.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr._io import RunLock, atomic_path, write_json_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.runs.manifest import write_manifest
from spikeattr.runs.study import (
    default_storage,
    load_existing_study,
    open_study,
    optuna_module,
    redact_url,
    storage_errors,
    storage_location,
    trial_sampler,
)
from spikeattr.runs.training import run_training
from spikeattr.runs.trial_queue import plan_trials, run_worker
from spikeattr.snn.search_space import (
    TUNING_EPOCHS,
    SearchSpace,
    TuningError,
    candidate_config,
    check_tuning,
    config_from_params,
    final_config,
    greedy_grid,
    suggest_config,
)
from spikeattr.snn.train_config import TrainConfig
from spikeattr.snn.training import EpochReport

TrialCallback = Callable[[dict[str, Any]], Any]
#: The study records the settings its trials train with (base config, epochs, search space).
SETTINGS_ATTR = "spikeattr_settings"
TUNING_NAME = "tuning.json"
BEST_CONFIG_NAME = "best_config.toml"


@dataclass
class TuningResult:
    """Outcome of a search.

    Attributes:
        method: ``"greedy"`` or ``"optuna"``.
        best_config: the best configuration found (with the base config's ``epochs``,
            ``monitor`` and ``patience``, ready for a full training run).
        best_score: its validation NLL.
        trials: one JSON record per candidate/trial (config or params, score, state).
        out_dir: the tuning directory (``None`` for a report not written anywhere).
        storage: Optuna storage URL (``None`` for greedy).
        study_name: Optuna study name (``None`` for greedy).
        seconds: wall time of this call.
        extra: Optuna: ``best_trial`` (its number), ``states`` (trials per state) and
            ``running`` (numbers of the trials still running).
    """

    method: str
    best_config: TrainConfig
    best_score: float
    trials: list[dict[str, Any]]
    out_dir: Path | None
    storage: str | None = None
    study_name: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> list[int]:
        """Numbers of the study's trials still running when the result was taken."""
        return list(self.extra.get("running", []))

    @property
    def best_config_file(self) -> Path | None:
        """``OUT/best_config.toml``."""
        return None if self.out_dir is None else self.out_dir / BEST_CONFIG_NAME

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the storage URL without its password)."""
        return {
            "method": self.method,
            "best_config": self.best_config.to_dict(),
            "best_score": self.best_score,
            "n_trials": len(self.trials),
            "trials": self.trials,
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "best_config_file": None
            if self.best_config_file is None
            else str(self.best_config_file),
            "storage": None if self.storage is None else redact_url(self.storage),
            "study_name": self.study_name,
            "seconds": self.seconds,
            **self.extra,
        }


def _write_results(
    out: Path, result: TuningResult, command: str, config: dict[str, Any], data: dict[str, Any]
) -> TuningResult:
    """``tuning.json``, ``best_config.toml`` and ``manifest.json`` (call holding the lock)."""
    write_json_atomic(out / TUNING_NAME, result.to_dict())
    with atomic_path(out / BEST_CONFIG_NAME) as tmp:
        tmp.write_text(result.best_config.to_toml(), encoding="utf-8")
    write_manifest(
        out,
        command,
        config,
        data,
        {"best_config": result.best_config.to_dict(), "best_score": result.best_score},
        {"tune": result.seconds},
    )
    return result


def _data_checksums(series: SpikeSeries) -> dict[str, Any]:
    return {**series.checksums(), "n_steps": series.n_steps}


# -- greedy ----------------------------------------------------------------------------------
def _config_key(config: TrainConfig) -> str:
    text = json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _score(loss: float) -> float:
    return loss if math.isfinite(loss) else math.inf


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
        grid: ``{parameter: values}`` to search (only these); default
            :func:`~spikeattr.snn.search_space.greedy_grid`.
        epochs: epochs per candidate (paper: 20).
        progress: called with each candidate's JSON record once it is scored.

    Returns:
        A :class:`TuningResult`; ``out_dir/tuning.json`` holds the same record.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    values = greedy_grid(base, grid)
    n_windows = check_tuning(series, base, epochs)
    with RunLock(out, "tune --method greedy"):
        current = candidate_config(base, epochs)
        records: list[dict[str, Any]] = []
        scores: dict[str, float] = {}

        def score(config: TrainConfig, parameter: str, value: Any) -> float:
            key = _config_key(config)
            if key not in scores:
                result = run_training(config, series, None, out / "greedy" / key, resume=True)
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
        result = TuningResult(
            method="greedy",
            best_config=final_config(current, base),
            best_score=best_score,
            trials=records,
            out_dir=out,
            seconds=time.perf_counter() - began,
        )
        config = {"method": "greedy", "base": base.to_dict(), "seed": base.seed}
        return _write_results(out, result, "tune", config, _data_checksums(series))


# -- Optuna ----------------------------------------------------------------------------------
def _trial_record(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": dict(trial.params),
        "epochs_reported": len(trial.intermediate_values),
        **{k: v for k, v in trial.user_attrs.items() if k in ("run_dir", "best_epoch")},
    }


def _check_settings(study: Any, settings: dict[str, Any]) -> None:
    """Record the study's settings (first worker) or refuse a worker whose settings differ:
    trials of one study must train alike. The base's ``epochs`` and ``monitor`` only shape the
    final config and may differ (the study's recorded ones are used)."""
    recorded = study.user_attrs.get(SETTINGS_ATTR)
    if recorded is None:
        study.set_user_attr(SETTINGS_ATTR, settings)
        return

    def comparable(values: Mapping[str, Any]) -> dict[str, Any]:
        base = {k: v for k, v in values["base"].items() if k not in ("epochs", "monitor")}
        return {**{f"base.{k}": v for k, v in base.items()}, "epochs": values["epochs"]} | {
            f"space.{k}": v for k, v in values["space"].items()
        }

    theirs, ours = comparable(recorded), comparable(settings)
    differing = sorted(k for k in ours if theirs.get(k) != ours[k])
    if differing:
        details = ", ".join(f"{k}: {theirs.get(k)!r} -> {ours[k]!r}" for k in differing)
        raise TuningError(
            f"study {study.study_name!r} trains its trials with other settings ({details}); "
            "give every worker the same --config, --set, --hidden and --epochs, or use "
            "another --study"
        )


def summarize_study(study: Any, url: str, out: Path | None, seconds: float = 0.0) -> TuningResult:
    """The study's best over its finished trials, with every trial and the running ones."""
    optuna = optuna_module()
    settings = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(settings, dict):
        raise TuningError(
            f"study {study.study_name!r} at {storage_location(url)} was not made by "
            "spikeattr tune (it records no settings)"
        )
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name for t in trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    running = sorted(t.number for t in trials if t.state == optuna.trial.TrialState.RUNNING)
    if not complete:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "none"
        raise TuningError(
            f"study {study.study_name!r} has no complete trial yet ({len(trials)} trials: "
            f"{counts}); run more trials or wait for the running ones"
        )
    best_trial = min(complete, key=lambda t: (t.value, t.number))
    base = TrainConfig.from_dict(settings["base"], source=f"study {study.study_name!r}")
    best = config_from_params(base, best_trial.params, int(settings["epochs"]))
    return TuningResult(
        method="optuna",
        best_config=final_config(best, base),
        best_score=float(best_trial.value),
        trials=[_trial_record(t) for t in trials],
        out_dir=out,
        storage=url,
        study_name=study.study_name,
        seconds=seconds,
        extra={"best_trial": best_trial.number, "states": dict(states), "running": running},
    )


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
    wait: bool = True,
    on_wait: Callable[[list[int]], Any] | None = None,
) -> TuningResult:
    """Optuna TPE search with median pruning on the validation loss (see the module docstring).

    Args:
        series: the data (``train`` split, and ``val`` if present).
        base: the fixed settings (``dt``, window, seed, number of hidden layers...); every
            worker of a study must give the same (its ``epochs``/``monitor`` may differ).
        out_dir: this worker's directory (trial runs, ``tuning.json``, default SQLite storage).
        n_trials: total number of trials of the study, all workers together (queued by the
            worker that creates the study; a larger value later queues the difference).
        storage: an Optuna storage URL; default
            :func:`~spikeattr.runs.study.default_storage` of ``out_dir``.
        study_name: the study to create or join.
        epochs: epochs per trial (paper: 20); the pruner sees the validation loss per epoch.
        space: search ranges (:class:`~spikeattr.snn.search_space.SearchSpace`).
        sampler_seed: seeds the draws of every trial, keyed by the trial's number
            (:func:`~spikeattr.runs.study.trial_sampler`); ``None``: fresh entropy.
        progress: called with each finished trial's JSON record (this worker's trials).
        wait: once no trial is left to claim, wait for the trials other workers still run, so
            the result is the study's final one; ``False`` reports at once (see
            :attr:`TuningResult.running`).
        on_wait: called with the numbers of the trials still running while waiting.

    Returns:
        A :class:`TuningResult` over the whole study (every worker's trials).

    Raises:
        StorageError: the storage cannot be opened, or the connection was lost (the trial in
            progress stays RUNNING; rerunning the same call continues it).
        RunLockedError: another worker uses ``out_dir``.
    """
    began = time.perf_counter()
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise TuningError(f"n_trials must be an integer >= 1; got {n_trials!r}")
    optuna = optuna_module()
    out = Path(out_dir)
    space = space or SearchSpace()
    n_windows = check_tuning(series, base, epochs)
    url = storage or default_storage(out)
    settings = {"base": base.to_dict(), "epochs": epochs, "space": space.to_dict()}
    worker = f"{socket.gethostname()}:{out.resolve()}"

    def objective(trial: Any, resumed: bool) -> float:
        config = suggest_config(trial, base, space, n_windows, epochs)
        run_dir = out / "trials" / f"{trial.number:05d}"
        trial.set_user_attr("run_dir", str(run_dir))

        def report(epoch: EpochReport) -> None:
            trial.report(epoch.monitored_loss, epoch.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch.epoch}")

        result = run_training(config, series, None, run_dir, progress=report, resume=resumed)
        trial.set_user_attr("best_epoch", result.best_epoch)
        return _score(result.best_loss)

    def after_trial(frozen: Any) -> None:
        if progress is not None:
            progress(_trial_record(frozen))

    with RunLock(out, f"tune --study {study_name}"), storage_errors(url):
        opened = open_study(url, study_name)
        if opened.created:  # before the plan, which the other workers wait for
            _check_settings(opened.study, settings)
        plan_trials(opened, n_trials)
        if not opened.created:
            _check_settings(opened.study, settings)
        run_worker(
            opened,
            objective,
            worker,
            sampler_for=lambda number: trial_sampler(sampler_seed, number),
            after_trial=after_trial,
            wait=wait,
            on_wait=on_wait,
        )
        result = summarize_study(opened.study, url, out, time.perf_counter() - began)
        config = {"method": "optuna", "base": base.to_dict(), "seed": base.seed}
        config |= {"study": study_name, "storage": redact_url(url), "sampler_seed": sampler_seed}
        return _write_results(out, result, "tune", config, _data_checksums(series))


def report_study(
    storage: str, study_name: str, out_dir: str | os.PathLike[str] | None = None
) -> TuningResult:
    """The study's best over its finished trials, read from the storage (no training).

    With ``out_dir``, also written there (``tuning.json``, ``best_config.toml``, manifest).
    Read only: trials still running (or left RUNNING by a dead worker that nobody has failed
    yet) are listed as running.
    """
    began = time.perf_counter()
    out = None if out_dir is None else Path(out_dir)

    def read() -> TuningResult:
        with storage_errors(storage):
            study = load_existing_study(storage, study_name)
            return summarize_study(study, storage, out, time.perf_counter() - began)

    if out is None:
        return read()
    with RunLock(out, f"tune --report --study {study_name}"):
        result = read()
        config = {"method": "optuna", "study": study_name, "storage": redact_url(storage)}
        return _write_results(out, result, "tune --report", config, {})
