"""`spikeattr quickstart`: the main job on the built-in synthetic data."""

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

    with user_errors(), progress_bar("evaluating", 270_000, quiet or as_json) as update:
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
