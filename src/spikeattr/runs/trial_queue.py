"""The trial queue that spikeattr's tuning workers share in one Optuna study.

Why this module exists: Optuna's ``study.optimize(n_trials=N)`` counts trials per *process*, so
k workers on one study run k x N trials, and a worker that dies leaves its trial RUNNING with
nothing to pick it up again. spikeattr wants a study that ends with exactly the trials asked
for, each run once, whatever the number of workers and whoever dies or restarts. The rules:

Plan (:func:`plan_trials`)
    The worker that creates the study queues exactly ``n_trials`` trials (WAITING, numbers
    ``0 .. n_trials-1``) and then records the plan in the study (``PLANNED_ATTR``); the others
    wait for that record. Running again with a larger ``n_trials`` queues the difference.

Claim (:func:`_claim_waiting_trial`)
    Every worker takes queued trials one at a time: the database moves a trial from WAITING to
    RUNNING for one worker only. The worker records a heartbeat of the trial *before* claiming
    it and marks the claim with its identity (``CLAIM_ATTR``) after, so no claimed trial is ever
    without a heartbeat.

Heartbeat (:func:`_heartbeat`)
    While a trial runs, its worker records a heartbeat every 30 s. Before each claim every worker
    fails the RUNNING trials silent for 120 s (a dead worker's) and re-queues each once (the
    retry has a new number and the same parameters). A heartbeat that cannot reach the database
    is skipped: the worker itself notices a lost database at its next write and stops with one
    line (:func:`spikeattr.runs.study.storage_errors`).

Own trials of a dead run (:func:`orphaned_trials`)
    A worker's identity is its host and its resolved output directory, which it holds locked
    (:class:`~spikeattr._io.RunLock`) while it runs. So a RUNNING trial claimed under the same
    identity when a worker starts belongs to an earlier run of the same command that died (a
    lost database, a kill): the worker continues it first (same number, same parameters, its
    training resumed from the trial's run directory) before claiming new ones. "Rerun the same
    command" therefore finishes the interrupted trial at once, without waiting for its heartbeat
    to go stale.

Wait (``run_worker(wait=True)``)
    A worker whose queue is empty waits until no trial is RUNNING (taking over the retries of
    dead workers' trials), so every worker reports the same final best of the whole study.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from spikeattr.runs.study import OpenedStudy, is_connection_error, optuna_module
from spikeattr.snn.search_space import TuningError

PLANNED_ATTR = "spikeattr_planned_trials"
QUEUED_ATTR = "spikeattr_queued"
CLAIM_ATTR = "spikeattr_claim"

#: ``objective(trial, resumed)``: the trial's score, or raise ``optuna.TrialPruned``;
#: ``resumed`` is true for a trial continued from a dead run of the same worker.
Objective = Callable[[Any, bool], float]


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


@contextlib.contextmanager
def _heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Record a heartbeat of ``trial_id`` every heartbeat interval while the block runs."""
    interval = storage.get_heartbeat_interval() if hasattr(storage, "record_heartbeat") else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # database away: the worker finds out itself
                storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5.0)


def _study_id(opened: OpenedStudy) -> int:
    return int(opened.storage.get_study_id_from_name(opened.study.study_name))


def _claim_waiting_trial(opened: OpenedStudy, worker: str) -> int | None:
    """Move one WAITING trial of the study to RUNNING for ``worker``; its trial id, or ``None``
    if none is left."""
    optuna = optuna_module()
    storage = opened.storage
    study_id = _study_id(opened)
    waiting = storage.get_all_trials(
        study_id, deepcopy=False, states=(optuna.trial.TrialState.WAITING,)
    )
    for frozen in waiting:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
        if hasattr(storage, "record_heartbeat"):
            storage.record_heartbeat(trial_id)  # a claimed trial always has a heartbeat
        try:
            claimed = storage.set_trial_state_values(
                trial_id, state=optuna.trial.TrialState.RUNNING
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        if claimed:
            storage.set_trial_user_attr(
                trial_id, CLAIM_ATTR, {"worker": worker, "trial_id": int(trial_id)}
            )
            return int(trial_id)
    return None


def orphaned_trials(opened: OpenedStudy, worker: str) -> list[int]:
    """Ids of the RUNNING trials claimed under ``worker`` (by an earlier, dead run of it)."""
    optuna = optuna_module()
    storage = opened.storage
    study_id = _study_id(opened)
    running = storage.get_all_trials(
        study_id, deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
    )
    orphans = []
    for frozen in running:
        trial_id = int(storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number))
        claim = frozen.user_attrs.get(CLAIM_ATTR)
        # a retry copies the user attributes of the trial it retries: match the trial id too
        if isinstance(claim, dict) and claim == {"worker": worker, "trial_id": trial_id}:
            orphans.append(trial_id)
    return orphans


def running_trial_numbers(opened: OpenedStudy) -> list[int]:
    """Numbers of the study's RUNNING trials."""
    optuna = optuna_module()
    running = opened.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return sorted(t.number for t in running)


def fail_stale_trials(study: Any) -> None:
    """Fail (and re-queue once) the RUNNING trials whose heartbeat stopped (dead workers)."""
    optuna = optuna_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def run_worker(
    opened: OpenedStudy,
    objective: Objective,
    worker: str,
    sampler_for: Callable[[int], Any] | None = None,
    after_trial: Callable[[Any], Any] | None = None,
    wait: bool = True,
    on_wait: Callable[[list[int]], Any] | None = None,
    poll_s: float = 1.0,
) -> int:
    """Continue this worker's orphaned trials, then claim and run queued trials until none is
    left; returns how many trials this call ran.

    Args:
        opened: the study (:func:`spikeattr.runs.study.open_study`).
        objective: see :data:`Objective`; any exception other than ``optuna.TrialPruned`` marks
            the trial failed and propagates, except a lost database, which leaves the trial
            RUNNING for the rerun to continue.
        worker: this worker's identity (host and output directory).
        sampler_for: the sampler for a trial number (set before the trial draws).
        after_trial: gets each finished :class:`optuna.trial.FrozenTrial`.
        wait: once the queue is empty, wait until no trial of the study is RUNNING.
        on_wait: called with the numbers of the running trials whenever they change while
            waiting.
        poll_s: seconds between two looks at the study while waiting.
    """
    ran = 0
    announced: list[int] | None = None
    for orphan in orphaned_trials(opened, worker):
        if _run_trial(opened, orphan, objective, sampler_for, after_trial, resumed=True):
            ran += 1
    while True:
        fail_stale_trials(opened.study)  # re-queues the trials of dead workers
        claimed = _claim_waiting_trial(opened, worker)
        if claimed is not None:
            if _run_trial(opened, claimed, objective, sampler_for, after_trial, resumed=False):
                ran += 1
            continue
        running = running_trial_numbers(opened) if wait else []
        if not running:
            return ran
        if on_wait is not None and running != announced:
            on_wait(running)
        announced = running
        time.sleep(poll_s)


def _run_trial(
    opened: OpenedStudy,
    trial_id: int,
    objective: Objective,
    sampler_for: Callable[[int], Any] | None,
    after_trial: Callable[[Any], Any] | None,
    resumed: bool,
) -> bool:
    """Run one claimed trial and tell the study its outcome; ``False`` if another worker had
    already failed it (its heartbeat went stale) and its retry will run instead."""
    optuna = optuna_module()
    states = optuna.trial.TrialState
    study = opened.study
    if sampler_for is not None:
        study.sampler = sampler_for(int(opened.storage.get_trial_number_from_id(trial_id)))
    trial = optuna.trial.Trial(study, trial_id)
    outcome: dict[str, Any]
    with _heartbeat(opened.storage, trial_id):
        try:
            outcome = {"values": objective(trial, resumed)}
        except optuna.TrialPruned:
            outcome = {"state": states.PRUNED}
        except optuna.exceptions.UpdateFinishedTrialError:
            return False  # another worker failed it (stale heartbeat); its retry runs instead
        except BaseException as exc:
            if not is_connection_error(exc):  # a lost database leaves it RUNNING for a rerun
                with contextlib.suppress(Exception):
                    study.tell(trial, state=states.FAIL)
            raise
        if opened.storage.get_trial(trial_id).state != states.RUNNING:
            return False
        frozen = study.tell(trial, **outcome)
    if after_trial is not None:
        after_trial(frozen)
    return True
