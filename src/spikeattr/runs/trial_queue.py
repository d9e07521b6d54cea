"""The trial queue that spikeattr's tuning workers share in one Optuna study.

Why this module exists: Optuna's ``study.optimize(n_trials=N)`` counts trials per *process*, so
k workers on one study run k x N trials, and a worker that dies leaves its trial RUNNING with
nothing to pick it up again. spikeattr wants a study that ends with exactly the trials asked
for, each run once, whatever the number of workers. The rules:

Plan (:func:`plan_trials`)
    The worker that creates the study queues exactly ``n_trials`` trials (WAITING, numbers
    ``0 .. n_trials-1``) and then records the plan in the study (``PLANNED_ATTR``); the others
    wait for that record. Running again with a larger ``n_trials`` queues the difference.

Claim (:func:`_claim_waiting_trial`)
    Every worker takes queued trials one at a time: the database moves a trial from WAITING to
    RUNNING for one worker only, and the worker stops when none is left.

Heartbeat (:func:`_heartbeat`)
    While a trial runs, its worker records a heartbeat every 30 s. Before each claim every worker
    fails the RUNNING trials silent for 120 s (a dead worker's) and re-queues each once (the
    retry has a new number and the same parameters).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from spikeattr.runs.study import OpenedStudy, optuna_module
from spikeattr.snn.search_space import TuningError

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
    optuna = optuna_module()
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
    sampler_for: Callable[[int], Any] | None = None,
) -> int:
    """Claim and run queued trials until none is left; returns how many this worker ran.

    ``objective(trial)`` returns the score or raises :class:`optuna.TrialPruned`; any other
    exception marks the trial failed and propagates. ``after_trial`` gets each finished
    :class:`optuna.trial.FrozenTrial`. ``sampler_for(number)`` gives the sampler that draws the
    parameters of trial ``number`` (set on the study before the trial starts).
    """
    optuna = optuna_module()
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
        if sampler_for is not None:
            study.sampler = sampler_for(int(opened.storage.get_trial_number_from_id(trial_id)))
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
