"""`spikeattr tune`: tune a network's hyper-parameters, alone or as one of several workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from spikeattr.cli._common import (
    DataOption,
    JsonOption,
    QuietOption,
    fail,
    out,
    progress_bar,
    user_errors,
)
from spikeattr.cli.train import ConfigOption, HiddenOption, SetOption, config_from_options


def tune(
    data: DataOption,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Tuning directory: trials, tuning.json, best config.")
    ],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="optuna (TPE with pruning, default) or greedy (the paper's one parameter at "
            "a time grid).",
        ),
    ] = "optuna",
    trials: Annotated[
        int, typer.Option("--trials", help="Optuna: total trials of the study, all workers.")
    ] = 50,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Optuna: storage URL shared by the workers (default sqlite:///OUT/study.db; "
            "e.g. postgresql://user:password@host/db).",
        ),
    ] = None,
    study: Annotated[
        str, typer.Option("--study", help="Optuna: study name to create or join.")
    ] = "spikeattr",
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per candidate (paper: 20).")] = 20,
    hidden: HiddenOption = None,
    config_file: ConfigOption = None,
    sets: SetOption = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Optuna: seeds every trial's draws, keyed by its trial number (workers may "
            "share it).",
        ),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Tune hyper-parameters by validation NLL; writes OUT/tuning.json and OUT/best_config.toml
    (train with it: spikeattr train --config OUT/best_config.toml ...)."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.runs.tuning import tune_greedy, tune_optuna

    if method not in ("optuna", "greedy"):
        raise fail(f"--method must be 'optuna' or 'greedy'; got {method!r}")
    if method == "greedy" and storage is not None:
        raise fail("--storage is for --method optuna; the greedy search keeps its runs in --out")
    with user_errors():
        base = config_from_options(config_file, sets, hidden)
        series = SpikeSeries.load(data)
        if method == "optuna":
            _quiet_optuna_logs()
            with progress_bar("tuning", trials, quiet or as_json) as update:
                done = [0]

                def after_trial(record: dict[str, Any]) -> None:
                    done[0] += 1
                    update(done[0])

                result = tune_optuna(
                    series,
                    base,
                    out_dir,
                    n_trials=trials,
                    storage=storage,
                    study_name=study,
                    epochs=epochs,
                    sampler_seed=seed,
                    progress=after_trial,
                )
        else:
            result = tune_greedy(series, base, out_dir, epochs=epochs)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    out.print(
        f"{result.method}: {len(result.trials)} trials; best validation NLL "
        f"{result.best_score:.5f}",
        highlight=False,
    )
    out.print(f"best config: {result.best_config_file}", highlight=False)
    out.print(result.best_config.to_toml().rstrip(), highlight=False, markup=False)


def _quiet_optuna_logs() -> None:
    """Optuna logs every trial at INFO; the progress bar says enough."""
    try:
        import optuna
    except ImportError:  # tune_optuna explains how to install it
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
