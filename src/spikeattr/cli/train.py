"""`spikeattr train`: train a LIF network in a run directory (resumable, locked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from spikeattr.cli._common import (
    DataOption,
    JsonOption,
    QuietOption,
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
ConvOption = Annotated[
    str | None,
    typer.Option(
        "--conv",
        help="Convolutional layers before the dense ones, separated by ';', for data whose "
        "inputs have a shape (spikeattr data events): e.g. 'conv 8 5 stride=2; lif; conv 16 3 "
        "stride=2; lif'. Layers: conv C K [stride= padding= dilation= groups=], maxpool K, "
        "avgpool K, flatten, linear N, lif.",
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
        "'hidden=[50, 25]'. Keys: hidden, conv, dt, tau_syn, tau_mem, lr, batch_size, window, "
        "epochs, patience, min_delta, monitor, val_fraction, seed, train_split, val_split.",
    ),
]


def config_from_options(
    config_file: Path | None,
    sets: list[str] | None,
    hidden: str | None,
    conv: str | None = None,
    **options: Any,
) -> Any:
    """The training config of ``--config``, ``--set``, ``--hidden``, ``--conv`` and other
    options."""
    from spikeattr.snn.train_config import build_config, parse_hidden

    if hidden is not None:
        options["hidden"] = parse_hidden(hidden)
    if conv is not None:
        options["conv"] = [layer.strip() for layer in conv.split(";") if layer.strip()]
    return build_config(config_file, sets or (), **options)


def train(
    data: DataOption,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Run directory: checkpoint model.json, history, state."),
    ],
    hidden: HiddenOption = None,
    conv: ConvOption = None,
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
    """Train a LIF network with the paper's protocol and write OUT/model.json.

    The protocol: 900-step windows, the state carried between batches, Adam, early stopping.
    With --conv, a convolutional network (for data whose inputs have a shape).
    """
    from spikeattr.data.series import SpikeSeries
    from spikeattr.runs.training import run_training
    from spikeattr.snn.training import EpochReport

    with user_errors():
        config = config_from_options(
            config_file, sets, hidden, conv, epochs=epochs, monitor=monitor
        )
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
