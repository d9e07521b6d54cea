"""`spikeattr quickstart`: the main job on the built-in synthetic data."""

from __future__ import annotations

import json
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


def quickstart(
    out_dir: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path(
        "runs/quickstart"
    ),
    model: Annotated[str, typer.Option("--model", help="Model to run.")] = (
        "published:synthetic_3L"
    ),
    stamps: Annotated[
        str,
        typer.Option("--stamps", help="Stamps to evaluate: 'paper' (100) or a number per class."),
    ] = "paper",
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Also print every table of the evaluation (summary.md)."),
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The main job on the built-in synthetic data: data, published models, evaluation, report."""
    from spikeattr.pipelines.quickstart import QUICKSTART_METHODS, run_quickstart

    if stamps != "paper" and not stamps.isdigit():
        raise fail(f"--stamps must be 'paper' or a number of stamps per class; got {stamps!r}")

    def log(message: str) -> None:
        if not (quiet or as_json):
            console.print(message)

    with user_errors(), progress_bar("evaluating", 270_000, quiet or as_json) as update:
        result = run_quickstart(out_dir, model=model, stamps=stamps, progress=update, log=log)
    report = result.report
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "run_dir": str(result.run_dir),
                    "model": model,
                    **report.to_dict(),
                    "report": str(result.report_path),
                    "evaluation": str(result.evaluation_dir),
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
        f"explained {result.n_stamps} stamps of {len(result.cells)} published models with "
        f"{', '.join(QUICKSTART_METHODS)}, scored against their controls"
    )
    if verbose:
        out.print((result.evaluation_dir / "summary.md").read_text(encoding="utf-8"))
    else:
        _print_headline(result)
    out.print(f"all tables (or --verbose): {result.evaluation_dir / 'summary.md'}")
    out.print(f"report: {result.report_path}")


def _cell(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "-"
    interval = "" if low is None or high is None else f" [{low:.3f}, {high:.3f}]"
    return f"{value:.3f}{interval}"


def _print_headline(result: Any) -> None:
    """The headline score per model and method, and the best method of each model."""
    from rich.table import Table

    direction = "lower" if result.lower_is_better else "higher"
    out.print(f"\n{result.headline}, with 95% CIs ({direction} is more faithful):")
    out.print("how often the prediction survives as each map's top cells are flipped one by one")
    models = list(result.cells)
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column("method")
    for name in models:
        table.add_column(name.removeprefix("published:"), overflow="fold")
    methods = list(dict.fromkeys(m for cells in result.cells.values() for m in cells))
    for method in methods:
        row = [result.cells[name].get(method) for name in models]
        table.add_row(method, *(_cell(c.value, c.ci_low, c.ci_high) if c else "-" for c in row))
    out.print(table)
    best = []
    for name in models:
        scored = {m: c.value for m, c in result.cells[name].items() if c.value is not None}
        if scored:
            pick = min if result.lower_is_better else max
            best.append(
                f"{name.removeprefix('published:')}: {pick(scored, key=scored.__getitem__)}"
            )
    if best:
        out.print(f"{'lowest' if result.lower_is_better else 'highest'}: {'; '.join(best)}\n")
