"""The ``spikeattr`` command line: parse arguments, call a pipeline, print. No logic of its own.

Each command group lives in its own module; this module assembles them into one app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from spikeattr import __version__
from spikeattr.cli import (
    benchmark,
    evaluate,
    explain,
    plot,
    quickstart,
    report,
    reproduce,
    stream,
    train,
    tune,
)
from spikeattr.cli._common import out
from spikeattr.cli._help import CalmCommand, CalmGroup
from spikeattr.cli.data import data_app
from spikeattr.cli.model import model_app

app = typer.Typer(
    cls=CalmGroup,
    name="spikeattr",
    help="Explain the predictions of spiking neural networks with Temporal Spike Attribution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.command("quickstart", cls=CalmCommand)(quickstart.quickstart)
app.command("explain", cls=CalmCommand)(explain.explain)
app.command("explain-series", cls=CalmCommand)(explain.explain_series_command)
app.command("evaluate", cls=CalmCommand)(evaluate.evaluate)
app.command("report", cls=CalmCommand)(report.report)
app.add_typer(plot.plot_app, name="plot")
app.command("train", cls=CalmCommand)(train.train)
app.command("tune", cls=CalmCommand)(tune.tune)
app.command("reproduce", cls=CalmCommand)(reproduce.reproduce)
app.command("stream", cls=CalmCommand)(stream.stream)
data_app.command("adl-replay", cls=CalmCommand)(stream.adl_replay)
app.command("benchmark", cls=CalmCommand)(benchmark.benchmark)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"spikeattr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Explain the predictions of spiking neural networks with Temporal Spike Attribution."""


def main() -> None:
    """Entry point of the ``spikeattr`` console script."""
    app()
