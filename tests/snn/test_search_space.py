"""What tuning searches: the greedy grid, the Optuna space, candidates from trial parameters."""

from __future__ import annotations

import optuna  # required: CI installs it; a missing Optuna fails, never skips
import pytest

from spikeattr.snn.search_space import (
    SearchSpace,
    TuningError,
    config_from_params,
    final_config,
    greedy_grid,
    suggest_config,
)
from spikeattr.snn.train_config import TrainConfig, TrainConfigError

BASE = TrainConfig(window=100, batch_size=4, lr=0.05, seed=0)


def test_greedy_grid_is_validated_before_any_training() -> None:
    assert list(greedy_grid(BASE)) == ["dt", "tau_syn", "tau_mem", "lr", "batch_size"]
    assert greedy_grid(BASE.replace(hidden=[5, 5]))["hidden"][0] == (10, 10)
    with pytest.raises(TuningError, match=r"unknown parameters \['momentum'\]"):
        greedy_grid(BASE, {"momentum": [0.9]})
    with pytest.raises(TrainConfigError, match="'tau_mem' must be > 0"):
        greedy_grid(BASE, {"tau_mem": [1e-3, 0.0]})
    with pytest.raises(TuningError, match="empty"):
        greedy_grid(BASE, {"lr": []})


def test_a_trial_and_its_parameters_give_the_same_candidate() -> None:
    base = BASE.replace(hidden=[5, 5], epochs=300, patience=7)
    space = SearchSpace(batch_sizes=(2, 4, 64), hidden_width=(3, 9))
    trial = optuna.trial.FixedTrial(
        {"hidden_0": 4, "hidden_1": 8, "tau_syn": 0.02, "tau_mem": 0.003, "lr": 0.01}
        | {"batch_size": 2}
    )
    candidate = suggest_config(trial, base, space, n_windows=10, epochs=3)
    assert candidate.hidden == (4, 8) and (candidate.epochs, candidate.monitor) == (3, "val")
    assert (candidate.tau_syn, candidate.tau_mem, candidate.lr, candidate.batch_size) == (
        0.02,
        0.003,
        0.01,
        2,
    )
    assert config_from_params(base, trial.params, epochs=3) == candidate
    final = final_config(candidate, base)
    assert (final.epochs, final.monitor, final.patience, final.hidden) == (300, "train", 7, (4, 8))
    with pytest.raises(TuningError, match="search range lr"):
        SearchSpace(lr=(0.1, 0.01))
