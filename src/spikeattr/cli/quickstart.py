"""`spikeattr quickstart`: the main job on the built-in synthetic data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The main job on the built-in synthetic data: data, published models, evaluation, report."""
    from spikeattr.pipelines.quickstart import run_quickstart

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
    summary = (result.evaluation_dir / "summary.md").read_text(encoding="utf-8")
    out.print("\nevaluation of the published synthetic models (95% CIs in brackets):")
    out.print(summary)
    out.print(
        f"run directory: {result.run_dir} (manifest.json records config, versions, checksums)"
    )
    out.print(f"report: {result.report_path}")
