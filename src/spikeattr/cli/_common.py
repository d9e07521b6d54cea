"""Shared pieces of the command line: consoles, common options, error and progress handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from spikeattr.errors import SpikeAttrError

console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
out = Console(markup=False, highlight=False, soft_wrap=True)

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def fail(message: str) -> typer.Exit:
    console.print(Text("error: ", style="bold red") + Text(message))
    return typer.Exit(code=2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn spikeattr's user-facing errors into a clear message and exit code 2."""
    try:
        yield
    except SpikeAttrError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:  # a file-system refusal: name the path and the reason, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from exc


@contextmanager
def progress_bar(description: str, total: int, quiet: bool) -> Iterator[Callable[[int], Any]]:
    """A rich progress bar; yields ``update(done)``. Silent with ``quiet`` or no terminal (rich
    would still end with an empty line there, before any error message)."""
    if quiet or not console.is_terminal:
        yield lambda done: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def units_progress(
    description: str, total: int, quiet: bool
) -> Iterator[Callable[[str, int, int], Any] | None]:
    """A rich progress bar over a run's units; yields the ``progress(label, done, total)`` that
    the pipelines call, or None with ``quiet`` or no terminal (nothing drawn)."""
    if quiet or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} units"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def update(label: str, done: int, _total: int) -> None:
            bar.update(task, completed=done, description=label)

        yield update


ModelOption = Annotated[str, typer.Option("--model", help="published:NAME or a checkpoint .json.")]
DataOption = Annotated[
    Path, typer.Option("--data", help="A data file written by 'spikeattr data'.")
]
SplitOption = Annotated[str, typer.Option("--split", help="Split of the data file.")]
PrecisionOption = Annotated[
    str,
    typer.Option(
        "--precision",
        help="Precision of the TSA, SAM and Kim & Panda maps: float64 keeps every tail; float32 "
        "is the TSA paper's (0 wherever its decay underflows). The other methods keep their own.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run the work as Dask tasks (pip install 'spikeattr[dask]'): 'local' or 'local:N' "
        "(a cluster of N worker processes on this machine; default N: its cores) or "
        "tcp://HOST:PORT (a running 'dask scheduler'; its workers must see the output folder "
        "under the same path). Same results as without it, which runs in this process.",
    ),
]
#: Window mode (``spikeattr explain``): every method of ``spikeattr.explain.methods.METHODS``.
VariantOption = Annotated[
    str,
    typer.Option(
        "--variant",
        help="s (TSA-S), ns (TSA-NS), sam (SAM baseline); also saliency, ixg, ig (Captum "
        "gradients), kim_panda_sam, and lif_z, lif_ab (the exact LIF attribution).",
    ),
]
#: Stream and series modes: the TSA variants and the exact LIF methods.
EXPLAIN_SERIES_VARIANTS_HELP = (
    "s (TSA-S), ns (TSA-NS), sam (SAM baseline), or lif_z, lif_ab (the exact LIF attribution, "
    "float64, the split's spike rates as reference). The gradient methods explain windows "
    "only: spikeattr explain --variant."
)
STREAM_VARIANTS_HELP = (
    "ns (TSA-NS), s (TSA-S), sam (SAM baseline), or lif_z, lif_ab (the exact LIF attribution, "
    "plain rule: silent cells get 0; slower, one window explanation per step). The gradient "
    "methods explain windows only: spikeattr explain --variant."
)
StreamVariantOption = Annotated[str, typer.Option("--variant", help=STREAM_VARIANTS_HELP)]
ExplainSeriesVariantOption = Annotated[
    str, typer.Option("--variant", help=EXPLAIN_SERIES_VARIANTS_HELP)
]
