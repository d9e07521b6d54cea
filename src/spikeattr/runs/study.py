"""Opening an Optuna study in its storage.

A study lives in an Optuna RDB storage: by default the SQLite file ``OUT/study.db``, or any
database URL SQLAlchemy accepts. Several workers (processes, or machines sharing a database)
share one study by using the same storage URL and study name.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr.snn.search_space import TuningError


def optuna_module() -> Any:
    """``optuna``, or a :class:`TuningError` saying how to install it."""
    try:
        import optuna
    except ImportError as exc:
        raise TuningError(
            "Optuna tuning needs the optional 'tune' extra: pip install \"spikeattr[tune]\" "
            "(or use method 'greedy')"
        ) from exc
    return optuna


def default_storage(out_dir: str | Path) -> str:
    """``sqlite:////abs/out_dir/study.db``."""
    return f"sqlite:///{(Path(out_dir) / 'study.db').resolve()}"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and manifests)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


@dataclass
class OpenedStudy:
    """A study with its storage; ``created`` is true for the worker that created it."""

    study: Any
    storage: Any
    created: bool


def open_study(
    storage: str,
    study_name: str,
    n_startup_trials: int = 4,
    n_warmup_steps: int = 1,
) -> OpenedStudy:
    """Create or load the study ``study_name`` in ``storage`` (TPE sampler, median pruner; the
    worker replaces the sampler per trial, see :func:`trial_sampler`).

    Safe to call from several workers at once: exactly one creates the study (the database
    refuses a second study of that name); a worker that loses a race to create the tables or
    the study retries and loads it. Workers send a heartbeat every 30 s; a trial without one
    for 120 s is failed and re-queued once.
    """
    optuna = optuna_module()
    storages = optuna.storages
    engine_kwargs: dict[str, Any] = {}
    if storage.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}

    def sampler() -> Any:
        return trial_sampler(None, 0, n_startup_trials)

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


def trial_sampler(seed: int | None, trial_number: int, n_startup_trials: int = 4) -> Any:
    """The TPE sampler that draws the parameters of trial ``trial_number``.

    Its random state is keyed by ``(seed, trial_number)``, so a study is reproducible from its
    seed, two workers given the same seed still draw different candidates, and a worker
    restarted with the same seed does not replay the draws of its earlier trials (a sampler
    seeded once per worker would). TPE itself reads the whole study's history from the storage
    for every trial. ``seed=None`` draws from fresh entropy.
    """
    optuna = optuna_module()
    keyed = None
    if seed is not None:
        keyed = int(np.random.SeedSequence([seed, trial_number]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=keyed, n_startup_trials=n_startup_trials)
