"""`spikeattr train` and `spikeattr tune`: train a LIF network, tune its hyper-parameters."""

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

HiddenOption = Annotated[
    str | None,
    typer.Option(
        "--hidden",
        help="Hidden layer sizes, comma-separated: 10 (2L), 50,25 (3L), none (1L). "
        "Default: the config's (1L).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file of training settings (key = value)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one setting, key=value (repeatable), e.g. --set lr=0.005 --set "
        "'hidden=[50, 25]'. Keys: hidden, dt, tau_syn, tau_mem, lr, batch_size, window, "
        "epochs, patience, min_delta, monitor, val_fraction, seed, train_split, val_split.",
    ),
]


def _config(
    config_file: Path | None, sets: list[str] | None, hidden: str | None, **options: Any
) -> Any:
    from spikeattr.snn.training import build_config, parse_hidden

    if hidden is not None:
        options["hidden"] = parse_hidden(hidden)
    return build_config(config_file, sets or (), **options)


def train(
    data: DataOption,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Run directory: checkpoint model.json, history, state."),
    ],
    hidden: HiddenOption = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Maximum number of epochs.")
    ] = None,
    config_file: ConfigOption = None,
    sets: SetOption = None,
    monitor: Annotated[
        str | None,
        typer.Option(
            "--monitor",
            help="Early stopping on the 'train' loss (paper) or the 'val' loss (the data's "
            "val split, else the last 20% of train).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="Continue an interrupted run in --out (default), or start afresh.",
        ),
    ] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Train a LIF network with the paper's protocol (900-step windows, state carried
    between batches, Adam, early stopping) and write a checkpoint to OUT/model.json."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.snn.training import EpochReport
    from spikeattr.snn.training import train as run_training

    with user_errors():
        config = _config(config_file, sets, hidden, epochs=epochs, monitor=monitor)
        series = SpikeSeries.load(data)
        with progress_bar("training", config.epochs, quiet or as_json) as update:

            def report(epoch: EpochReport) -> None:
                update(epoch.epoch)

            result = run_training(config, series, None, out_dir, progress=report, resume=resume)
    summary = {
        **result.to_dict(),
        "layer_sizes": list(result.model.layer_sizes),
        "config": config.to_dict(),
        "last_epoch": result.history[-1] if result.history else None,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    resumed = f", resumed after epoch {result.resumed_from}" if result.resumed_from else ""
    out.print(
        f"trained {list(result.model.layer_sizes)} for {result.epochs_run} epochs "
        f"({result.stop_reason}{resumed}); best epoch {result.best_epoch}, "
        f"{config.monitor} loss {result.best_loss:.5f}",
        highlight=False,
    )
    out.print(f"checkpoint: {result.checkpoint}", highlight=False)
    out.print(
        f"evaluate it: spikeattr model evaluate --model {result.checkpoint} --data {data}",
        highlight=False,
    )


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
        typer.Option("--seed", help="Optuna: sampler seed (give each worker its own)."),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Tune hyper-parameters by validation NLL; writes OUT/tuning.json and OUT/best_config.toml
    (train with it: spikeattr train --config OUT/best_config.toml ...)."""
    from spikeattr._io import atomic_path
    from spikeattr.data.series import SpikeSeries
    from spikeattr.snn.tuning import tune_greedy, tune_optuna

    if method not in ("optuna", "greedy"):
        raise fail(f"--method must be 'optuna' or 'greedy'; got {method!r}")
    if method == "greedy" and storage is not None:
        raise fail("--storage is for --method optuna; the greedy search keeps its runs in --out")
    with user_errors():
        base = _config(config_file, sets, hidden)
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
        best_path = Path(out_dir) / "best_config.toml"
        with atomic_path(best_path) as tmp:
            tmp.write_text(result.best_config.to_toml(), encoding="utf-8")
    summary = {**result.to_dict(), "best_config_file": str(best_path)}
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"{result.method}: {len(result.trials)} trials; best validation NLL "
        f"{result.best_score:.5f}",
        highlight=False,
    )
    out.print(f"best config: {best_path}", highlight=False)
    out.print(result.best_config.to_toml().rstrip(), highlight=False, markup=False)


def _quiet_optuna_logs() -> None:
    """Optuna logs every trial at INFO; the progress bar says enough."""
    try:
        import optuna
    except ImportError:  # tune_optuna explains how to install it
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
