"""Tuning runs: the greedy grid and Optuna with pruning (several workers on one study:
test_distributed_tuning.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.runs.study import redact_url
from spikeattr.runs.tuning import tune_greedy, tune_optuna
from spikeattr.snn import TrainConfig
from spikeattr.snn.batching import TrainingError
from spikeattr.snn.search_space import SearchSpace, TuningError

# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


BASE = TrainConfig(window=100, batch_size=4, lr=0.05, seed=0)


@pytest.fixture(scope="module")
def tiny_series() -> SpikeSeries:
    """3 000 training steps (the last 20 % validate) and a short test split."""
    return generate_synthetic(n_steps=3_500, n_train=3_000)


def test_greedy_keeps_the_best_value_of_each_parameter(
    tiny_series: SpikeSeries, tmp_path: Path
) -> None:
    grid = {"lr": [0.005, 0.1], "batch_size": [2, 8]}
    seen: list[dict[str, Any]] = []
    result = tune_greedy(tiny_series, BASE, tmp_path, grid=grid, epochs=1, progress=seen.append)
    # only the parameters given are searched, in the paper's order
    params = [r["parameter"] for r in result.trials]
    assert params == ["base", "lr", "lr", "batch_size", "batch_size"]
    assert seen == result.trials
    by_param: dict[str, list[dict[str, Any]]] = {}
    for record in result.trials:
        by_param.setdefault(record["parameter"], []).append(record)
    # lr candidates: 0.05 (current, scored as 'base') and the grid values
    lr_scores = {r["value"]: r["score"] for r in by_param["lr"]}
    lr_scores[0.05] = by_param["base"][0]["score"]
    best_lr = min(lr_scores, key=lr_scores.__getitem__)
    assert result.best_config.lr == best_lr
    last = by_param["batch_size"]
    assert all(r["config"]["lr"] == best_lr for r in last)  # later steps start from the best
    assert result.best_score == min(r["score"] for r in result.trials)
    assert result.best_config.monitor == BASE.monitor and result.best_config.epochs == BASE.epochs
    saved = json.loads((tmp_path / "tuning.json").read_text())
    assert saved["best_config"] == result.best_config.to_dict()
    # a rerun reuses the finished candidates (each resumes as finished) and agrees
    again = tune_greedy(tiny_series, BASE, tmp_path, grid=grid, epochs=1)
    assert again.best_config == result.best_config and again.best_score == result.best_score


def test_tuning_refusals(tiny_series: SpikeSeries, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="batch_size 64 is larger than the number of"):
        tune_greedy(tiny_series, BASE.replace(batch_size=64), tmp_path / "a", epochs=1)
    with pytest.raises(TuningError, match="n_trials must be an integer >= 1"):
        tune_optuna(tiny_series, BASE, tmp_path / "b", n_trials=0)
    with pytest.raises(TuningError, match="search range lr"):
        SearchSpace(lr=(0.1, 0.01))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_missing_optuna_gives_a_clear_error(
    tiny_series: SpikeSeries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes 'import optuna' fail
    with pytest.raises(TuningError, match=r"pip install \"spikeattr\[tune\]\""):
        tune_optuna(tiny_series, BASE, tmp_path, n_trials=2)


def test_redact_url() -> None:
    assert redact_url("postgresql://me:secret@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert redact_url("sqlite:////tmp/study.db") == "sqlite:////tmp/study.db"


def test_optuna_study_with_pruning(tiny_series: SpikeSeries, tmp_path: Path) -> None:
    space = SearchSpace(batch_sizes=(2, 4, 8), hidden_width=(3, 8))
    records: list[dict[str, Any]] = []
    result = tune_optuna(
        tiny_series,
        BASE.replace(hidden=[4]),
        tmp_path,
        n_trials=5,
        epochs=2,
        space=space,
        sampler_seed=1,
        progress=records.append,
    )
    assert [r["number"] for r in result.trials] == [0, 1, 2, 3, 4]
    assert {r["state"] for r in result.trials} <= {"COMPLETE", "PRUNED"}
    assert len(records) == 5
    complete = [r for r in result.trials if r["state"] == "COMPLETE"]
    assert result.best_score == min(r["value"] for r in complete)
    best = next(r for r in complete if r["value"] == result.best_score)
    assert result.best_config.lr == best["params"]["lr"]
    assert result.best_config.hidden == (best["params"]["hidden_0"],)
    assert result.best_config.dt == BASE.dt  # dt is not searched
    assert result.storage == f"sqlite:///{(tmp_path / 'study.db').resolve()}"
    assert (tmp_path / "study.db").is_file() and (tmp_path / "trials" / "00004").is_dir()
    # the study continues where it stopped: 2 more trials
    more = tune_optuna(
        tiny_series,
        BASE.replace(hidden=[4]),
        tmp_path,
        n_trials=7,
        epochs=2,
        space=space,
        sampler_seed=2,
    )
    assert [r["number"] for r in more.trials] == list(range(7))


def test_a_trial_worse_than_the_median_is_pruned_after_its_first_epoch(
    tiny_series: SpikeSeries, tmp_path: Path
) -> None:
    """Four finished trials whose validation loss was 0 at every epoch (an NLL is > 0): the
    median pruner must stop the next trial after epoch 1 of 2 (warm-up: 1 step)."""
    import optuna

    space = SearchSpace(batch_sizes=(2, 4, 8), hidden_width=(3, 8))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="minimize")
    distributions = {
        "hidden_0": optuna.distributions.IntDistribution(*space.hidden_width, log=True),
        "tau_syn": optuna.distributions.FloatDistribution(*space.tau_syn, log=True),
        "tau_mem": optuna.distributions.FloatDistribution(*space.tau_mem, log=True),
        "lr": optuna.distributions.FloatDistribution(*space.lr, log=True),
        "batch_size": optuna.distributions.CategoricalDistribution([2, 4, 8]),
    }
    params = {"hidden_0": 4, "tau_syn": 0.01, "tau_mem": 0.01, "lr": 0.01, "batch_size": 4}
    for _ in range(4):
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=0.0,
                intermediate_values={1: 0.0, 2: 0.0},
            )
        )
    records: list[dict[str, Any]] = []
    result = tune_optuna(
        tiny_series,
        BASE.replace(hidden=[4]),
        tmp_path / "worker",
        n_trials=5,
        storage=storage,
        study_name="s",
        epochs=2,
        space=space,
        sampler_seed=1,
        progress=records.append,
    )
    assert [r["number"] for r in records] == [4]
    assert records[0]["state"] == "PRUNED" and records[0]["epochs_reported"] == 1
    assert result.extra["states"] == {"COMPLETE": 4, "PRUNED": 1}


def test_a_rerun_continues_the_trial_its_dead_run_left_running(
    tiny_series: SpikeSeries, tmp_path: Path
) -> None:
    """A worker killed mid-trial leaves the trial RUNNING, claimed under its identity (host and
    --out). The same command run again continues that trial (same number, training resumed)
    instead of waiting two minutes for its heartbeat to go stale and retrying it."""
    import socket

    from spikeattr.runs.study import open_study
    from spikeattr.runs.trial_queue import _claim_waiting_trial, plan_trials

    out = tmp_path / "worker"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    dead = open_study(storage, "s")
    plan_trials(dead, 2)
    assert _claim_waiting_trial(dead, f"{socket.gethostname()}:{out.resolve()}") is not None
    assert _claim_waiting_trial(dead, "another-host:/elsewhere") is not None  # not ours
    result = tune_optuna(
        tiny_series, BASE, out, n_trials=2, storage=storage, study_name="s", epochs=1, wait=False
    )
    states = {t["number"]: t["state"] for t in result.trials}
    assert states[0] == "COMPLETE" and states[1] == "RUNNING"  # trial 1 belongs to another
    assert result.running == [1]
    assert (out / "trials" / "00000" / "model.json").is_file()
    assert not (out / "trials" / "00001").exists()
