"""`spikeattr reproduce synthetic|adl`: the paper's whole pipeline from one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import JsonOption, QuietOption, console, out, user_errors


def reproduce(
    dataset: Annotated[str, typer.Argument(help="synthetic, adl or benchmark.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/reproduce-DATASET).")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML file with [data], [models], [evaluate], [run] settings."
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override one setting: section.key=value (repeatable), e.g. "
            "--set evaluate.stamps=5 --set models.epochs=50.",
        ),
    ] = None,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="Train the models from scratch instead of using the published "
            "ones (same as --set models.retrain=true).",
        ),
    ] = False,
    raw_dir: Annotated[
        Path | None,
        typer.Option("--raw-dir", help="ADL: folder with the raw UCI files (data.raw_dir)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue an interrupted run in --out.")
    ] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Reproduce the paper: data -> models -> explanations and evaluation -> report."""
    from spikeattr.config import parse_override
    from spikeattr.pipelines.reproduce import ReproduceConfigError, build_config, run_reproduce

    target = out_dir or Path("runs") / f"reproduce-{dataset}"
    with user_errors():
        values = dict(parse_override(item, ReproduceConfigError) for item in overrides or [])
        if retrain:
            values["models.retrain"] = True
        if raw_dir is not None:
            values["data.raw_dir"] = str(raw_dir)
        config = build_config(dataset, config_file, values)

        def log(message: str) -> None:
            if not (quiet or as_json):
                console.print(message)

        def progress(label: str, done: int, total: int) -> None:
            log(f"  [{done}/{total}] {label}")

        result = run_reproduce(dataset, config, target, resume=resume, log=log, progress=progress)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "run_dir": str(result.run_dir),
                    "models": result.models,
                    "evaluations": {k: str(v) for k, v in result.evaluations.items()},
                    "reports": {k: str(v) for k, v in result.reports.items()},
                    "timings_s": result.timings_s,
                }
            )
        )
        return
    for name, path in result.evaluations.items():
        out.print(f"{name}: results in {path}")
    for name, path in result.reports.items():
        out.print(f"{name}: report {path}")
    out.print(f"done in {result.timings_s['total']:.0f} s; manifest {result.run_dir}/manifest.json")
