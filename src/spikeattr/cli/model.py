"""`spikeattr model ...`: list and evaluate models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import (
    JsonOption,
    QuietOption,
    out,
    progress_bar,
    user_errors,
)
from spikeattr.cli._help import CalmCommand, CalmGroup

model_app = typer.Typer(cls=CalmGroup, help="Inspect and evaluate models.", no_args_is_help=True)


@model_app.command("list", cls=CalmCommand)
def model_list() -> None:
    """List the published models that ship with spikeattr."""
    from spikeattr.snn.checkpoint import (
        PUBLISHED_MODELS,
        published_model_path,
        read_checkpoint_metadata,
    )

    for name in PUBLISHED_MODELS:
        meta = read_checkpoint_metadata(published_model_path(name))
        out.print(f"published:{name}  layers {meta['layer_sizes']}  tau_mem {meta['tau_mem']}")


@model_app.command("evaluate", cls=CalmCommand)
def model_evaluate(
    model: Annotated[str, typer.Option("--model", help="published:NAME or a checkpoint .json.")],
    data: Annotated[Path, typer.Option("--data", help="A data file written by 'spikeattr data'.")],
    split: Annotated[str, typer.Option("--split", help="Split to evaluate on.")] = "test",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Balanced accuracy over a whole split, run as one sequence from zero state."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.pipelines.model_eval import evaluate_on_split
    from spikeattr.snn.checkpoint import load_network

    with user_errors():
        series = SpikeSeries.load(data)
        network = load_network(model)
        start, stop = series.splits.get(split, (0, 0))
        with progress_bar(f"running {network.name}", stop - start, quiet or as_json) as update:
            report = evaluate_on_split(network, series, split, progress=update)
    result = {"model": model, "data": str(data), "split": split, **report.to_dict()}
    if as_json:
        out.print_json(json.dumps(result))
        return
    low, high = report.ci95
    out.print(
        f"{model} on {data} [{split}]: balanced accuracy {report.balanced_accuracy:.5f} "
        f"(95% CI {low:.5f}-{high:.5f}), accuracy {report.accuracy:.5f}, "
        f"{report.n_steps} steps"
    )
