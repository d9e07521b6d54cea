"""`spikeattr tune`: tune a network's hyper-parameters, alone or as one of several workers."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from spikeattr.cli._common import (
    JsonOption,
    QuietOption,
    console,
    fail,
    out,
    progress_bar,
    user_errors,
)
from spikeattr.cli.train import ConfigOption, HiddenOption, SetOption, config_from_options


def tune(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A data file written by 'spikeattr data' (not for --report)."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="This worker's directory: trials, tuning.json, best_config.toml (optional "
            "with --report).",
        ),
    ] = None,
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
            "for PostgreSQL a postgresql+psycopg2:// URL naming the user, password, host, port "
            "and database).",
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
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Optuna: once no trial is left to claim, wait for the trials other workers "
            "still run, so every worker reports the study's final best (default); "
            "--no-wait reports at once.",
        ),
    ] = True,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Optuna: train nothing; print the study's best over its finished trials "
            "(needs --study and --storage, or the --out of a default SQLite study).",
        ),
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Tune hyper-parameters by validation NLL; write OUT/tuning.json and OUT/best_config.toml.

    Train with the best ones: spikeattr train --config OUT/best_config.toml ...
    """
    from spikeattr.data.series import SpikeSeries
    from spikeattr.runs.study import default_storage
    from spikeattr.runs.tuning import TuningResult, report_study, tune_greedy, tune_optuna

    if method not in ("optuna", "greedy"):
        raise fail(f"--method must be 'optuna' or 'greedy'; got {method!r}")
    if method == "greedy" and (storage is not None or report):
        option = "--report" if report else "--storage"
        raise fail(f"{option} is for --method optuna; the greedy search keeps its runs in --out")
    result: TuningResult
    if method == "optuna":
        _quiet_library_logs()
    if report:
        if storage is not None:
            url = storage
        elif out_dir is not None:
            url = default_storage(out_dir)
        else:
            raise fail("--report needs --storage (or the --out of a run on the default SQLite)")
        with user_errors():
            result = report_study(url, study, out_dir)
        _print(result, as_json)
        return
    if data is None or out_dir is None:
        raise fail(f"{'--data' if data is None else '--out'} is required (except with --report)")
    with user_errors():
        base = config_from_options(config_file, sets, hidden)
        series = SpikeSeries.load(data)
        if method == "greedy":
            result = tune_greedy(series, base, out_dir, epochs=epochs)
        else:
            with progress_bar("tuning", trials, quiet or as_json) as update:
                done = [0]

                def after_trial(record: dict[str, Any]) -> None:
                    done[0] += 1
                    update(done[0])

                def waiting(running: list[int]) -> None:
                    if not (quiet or as_json):
                        console.print(f"waiting for trials {running} of other workers")

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
                    wait=wait,
                    on_wait=waiting,
                )
    _print(result, as_json)


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    if result.method == "greedy":
        out.print(
            f"greedy: {len(result.trials)} candidates; best validation NLL {result.best_score:.5f}",
            highlight=False,
        )
    else:
        states = result.extra["states"]
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
        out.print(
            f"optuna: study {result.study_name!r}, {len(result.trials)} trials ({counts}); "
            f"best trial {result.extra['best_trial']}, validation NLL {result.best_score:.5f}",
            highlight=False,
        )
        if result.running:
            out.print(
                f"{len(result.running)} trials still running ({result.running}): this best "
                f"may change; once every worker is done: spikeattr tune --report --study "
                f"{result.study_name} --storage URL",
                highlight=False,
            )
    if result.best_config_file is not None:
        out.print(f"best config: {result.best_config_file}", highlight=False)
    out.print(result.best_config.to_toml().rstrip(), highlight=False, markup=False)


def _quiet_library_logs() -> None:
    """Optuna logs every trial at INFO, and a lost database as multi-line WARNINGs (with the
    SQL) before raising; SQLAlchemy's pool logs a failed connection reset with a traceback.
    The progress bar and tune's own one-line errors say what matters."""
    logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())  # not Python's last resort
    try:
        import optuna
    except ImportError:  # tune_optuna explains how to install it
        return
    optuna.logging.set_verbosity(optuna.logging.ERROR)
