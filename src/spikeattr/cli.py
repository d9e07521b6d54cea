"""The ``spikeattr`` command line: parse arguments, call a pipeline, print. No logic of its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from spikeattr import __version__
from spikeattr.errors import SpikeAttrError

app = typer.Typer(
    name="spikeattr",
    help="Explain the predictions of spiking neural networks with Temporal Spike Attribution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="Build data sets: the synthetic benchmark, the UCI ADL data.", no_args_is_help=True
)
model_app = typer.Typer(help="Inspect and evaluate models.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")

console = Console(stderr=True)
out = Console()

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn spikeattr's user-facing errors into a clear message and exit code 2."""
    try:
        yield
    except (SpikeAttrError, FileNotFoundError, PermissionError) as exc:
        raise _fail(str(exc)) from exc


@contextmanager
def _progress(description: str, total: int, quiet: bool) -> Iterator[Callable[[int], Any]]:
    """A rich progress bar; yields ``update(done)``. Silent with ``quiet`` or no terminal."""
    if quiet:
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


# -- data ------------------------------------------------------------------------------------
@data_app.command("synthetic")
def data_synthetic(
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")] = Path(
        "synthetic.npz"
    ),
    as_json: JsonOption = False,
) -> None:
    """Generate the synthetic benchmark (900 000 steps, SPEC 2.1) bit for bit."""
    from spikeattr.data.synthetic import generate_synthetic

    with _user_errors():
        series = generate_synthetic()
        series.save(out_path)
    _print_series_summary(series, out_path, as_json)


@data_app.command("adl")
def data_adl(
    raw_dir: Annotated[
        Path,
        typer.Option(
            "--raw-dir", help="Folder with the raw UCI files (OrdonezA_Sensors.txt, ...)."
        ),
    ],
    subject: Annotated[str, typer.Option("--subject", help="A or B.")] = "A",
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")] = Path("adl.npz"),
    compat: Annotated[
        str,
        typer.Option(
            "--compat",
            help="'aligned' (correct, default) or 'reference' (the research code's "
            "encoding, on which the published ADL models were trained).",
        ),
    ] = "aligned",
    download: Annotated[
        bool, typer.Option("--download", help="Download the official UCI zip into --raw-dir first.")
    ] = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Skip the SHA-256 check of the raw files.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Encode one subject of the UCI ADL data set at 1-second resolution (SPEC 2.2)."""
    from spikeattr.data import adl

    subject = subject.upper()
    if subject not in ("A", "B"):
        raise _fail(f"--subject must be A or B; got {subject!r}")
    if compat not in ("aligned", "reference"):
        raise _fail(f"--compat must be 'aligned' or 'reference'; got {compat!r}")
    with _user_errors():
        if download:
            adl.download_uci_zip(raw_dir)
        series = adl.encode_subject(
            raw_dir,
            cast(adl.Subject, subject),
            compat=cast(adl.Compat, compat),
            verify=not no_verify,
        )
        series.save(out_path)
    _print_series_summary(series, out_path, as_json)


def _print_series_summary(series: Any, path: Path, as_json: bool) -> None:
    summary = {
        "path": str(path),
        "n_steps": series.n_steps,
        "inputs": list(series.input_names),
        "classes": list(series.class_names),
        "splits": {k: list(v) for k, v in series.splits.items()},
        **series.checksums(),
    }
    if "defects" in series.meta:
        summary["defects"] = series.meta["defects"]
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"wrote {path}: {series!r}")
    out.print(f"X sha256 {summary['X_sha256']}\ny sha256 {summary['y_sha256']}")
    if "defects" in summary:
        out.print(f"defects found and handled: {summary['defects']}")


# -- model -----------------------------------------------------------------------------------
@model_app.command("list")
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


@model_app.command("evaluate")
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
    from spikeattr.snn.checkpoint import load_model

    with _user_errors():
        series = SpikeSeries.load(data)
        network = load_model(model)
        start, stop = series.splits.get(split, (0, 0))
        with _progress(f"running {network.name}", stop - start, quiet or as_json) as update:
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


# -- explanations ----------------------------------------------------------------------------
ModelOption = Annotated[str, typer.Option("--model", help="published:NAME or a checkpoint .json.")]
DataOption = Annotated[
    Path, typer.Option("--data", help="A data file written by 'spikeattr data'.")
]
SplitOption = Annotated[str, typer.Option("--split", help="Split of the data file.")]
VariantOption = Annotated[
    str, typer.Option("--variant", help="s (TSA-S), ns (TSA-NS) or sam (SAM baseline).")
]


@app.command("explain")
def explain(
    model: ModelOption,
    data: DataOption,
    stamp: Annotated[
        list[int],
        typer.Option(
            "--stamp",
            help="Stamp t to explain (repeatable): the prediction at split step t-1 "
            "from the window [max(0, t-window), t).",
        ),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")],
    split: SplitOption = "test",
    variant: VariantOption = "s",
    window: Annotated[int, typer.Option("--window", help="Window length in steps.")] = 1000,
    target: Annotated[
        int | None,
        typer.Option("--target", help="Explain this class instead of the predicted one."),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Explain predictions at time stamps of a data file (window mode, as in the paper)."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.pipelines.explain import run_explain
    from spikeattr.snn.checkpoint import load_model

    with _user_errors():
        series = SpikeSeries.load(data)
        network = load_model(model)
        with _progress("explaining", len(stamp), quiet or as_json) as update:
            path, result = run_explain(
                network,
                series,
                split,
                stamp,
                variant,
                out_path,
                window=window,
                target=target,
                meta={"data": str(data)},
                progress=update,
            )
    rows = [
        {
            "stamp": int(t),
            "predicted": series.class_names[int(p)],
            "probability": float(result.probs[i, p]),
            "target": series.class_names[int(c)],
        }
        for i, (t, p, c) in enumerate(
            zip(result.stamps, result.predicted, result.target, strict=True)
        )
    ]
    if as_json:
        out.print_json(json.dumps({"out": str(path), "variant": variant, "stamps": rows}))
        return
    for row in rows:
        out.print(
            f"stamp {row['stamp']}: predicted {row['predicted']} "
            f"(p={row['probability']:.3f}); map for {row['target']}"
        )
    out.print(f"wrote {path}")


@app.command("explain-series")
def explain_series_command(
    model: ModelOption,
    data: DataOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")],
    split: SplitOption = "test",
    variant: VariantOption = "s",
    support: Annotated[
        int | None,
        typer.Option("--support", help="Steps kept per explanation (default: from --tolerance)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Drop past steps whose decay factor is below this.")
    ] = 1e-7,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue an interrupted run in --out.")
    ] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Explain the prediction at every step of a split from one forward pass (series mode)."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.pipelines.explain import run_explain_series
    from spikeattr.snn.checkpoint import load_model

    with _user_errors():
        series = SpikeSeries.load(data)
        network = load_model(model)
        steps = series.splits.get(split, (0, 0))
        with _progress("explaining series", steps[1] - steps[0], quiet or as_json) as update:
            info = run_explain_series(
                network,
                series,
                split,
                variant,
                out_dir,
                support=support,
                tolerance=tolerance,
                resume=resume,
                progress=update,
            )
    summary = {
        "out": str(out_dir),
        "n_steps": info.n_steps,
        "support": info.support,
        "chunks": info.n_chunks,
        "variant": info.variant,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"explained {info.n_steps} steps (support {info.support} steps each) into "
        f"{out_dir} ({info.n_chunks} chunks)"
    )


# -- main job --------------------------------------------------------------------------------
@app.command("quickstart")
def quickstart(
    out_dir: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path(
        "runs/quickstart"
    ),
    model: Annotated[str, typer.Option("--model", help="Model to run.")] = (
        "published:synthetic_3L"
    ),
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The main job on the built-in synthetic data: generate it, run a published model, score it."""
    from spikeattr.pipelines.quickstart import run_quickstart

    with _user_errors(), _progress("evaluating", 270_000, quiet or as_json) as update:
        result = run_quickstart(out_dir, model=model, progress=update)
    report = result.report
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "run_dir": str(result.run_dir),
                    "model": model,
                    **report.to_dict(),
                    "timings_s": result.timings_s,
                }
            )
        )
        return
    low, high = report.ci95
    out.print(f"synthetic data: {result.data_path}")
    out.print(
        f"{model}: test balanced accuracy {report.balanced_accuracy:.5f} "
        f"(95% CI {low:.5f}-{high:.5f}) over {report.n_steps} steps"
    )
    out.print(
        f"run directory: {result.run_dir} (manifest.json records config, versions, checksums)"
    )


def main() -> None:
    """Entry point of the ``spikeattr`` console script."""
    app()


if __name__ == "__main__":
    main()
