"""`spikeattr evaluate`: the four Co-12 metrics for models x methods x stamps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from spikeattr.cli._common import (
    DataOption,
    JsonOption,
    QuietOption,
    SplitOption,
    console,
    fail,
    out,
    user_errors,
)

if TYPE_CHECKING:
    from spikeattr.data.series import SpikeSeries


def _parse_stamps(text: str, series: SpikeSeries, split: str) -> list[int]:
    from spikeattr._io import load_json
    from spikeattr.data.stamps import resolve_stamps
    from spikeattr.errors import DataFormatError

    if text == "paper" or text.isdigit():
        return resolve_stamps(series, split, text)
    path = Path(text)
    if path.suffix != ".json":
        raise fail(
            f"--stamps must be 'paper', a number of stamps per class, or a .json file with a "
            f"list of stamps; got {text!r}"
        )
    values = load_json(path, "stamps file (a JSON list of integer stamps)", DataFormatError)
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    ):
        raise fail(f"{path} must hold a non-empty JSON list of integer stamps")
    return values


def evaluate(
    models: Annotated[
        str,
        typer.Option(
            "--models", help="Comma-separated models: published:NAME or checkpoint .json paths."
        ),
    ],
    data: DataOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Results directory.")],
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            help="Comma-separated methods: s, ns, sam (TSA-S, TSA-NS, SAM), saliency, ixg, ig, "
            "kim_panda_sam.",
        ),
    ] = "s,ns,sam",
    split: SplitOption = "test",
    stamps: Annotated[
        str,
        typer.Option(
            "--stamps",
            help="'paper' (the paper's stamps), N (N per class, balanced, seed 123) or "
            "a .json list of stamps.",
        ),
    ] = "paper",
    window: Annotated[int, typer.Option("--window", help="Window length in steps.")] = 1000,
    perturbations: Annotated[
        int, typer.Option("--perturbations", help="Continuity draws per stamp (paper: 1).")
    ] = 1,
    no_control: Annotated[
        bool, typer.Option("--no-control", help="Skip the random-attribution control.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run in --out (same configuration)."),
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Evaluate explanations: correctness, output-completeness, continuity, compactness."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from spikeattr.data.series import SpikeSeries
    from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation, summary_markdown

    with user_errors():
        series = SpikeSeries.load(data)
        stamp_list = _parse_stamps(stamps, series, split)
        config = EvaluationConfig(
            models=[m.strip() for m in models.split(",") if m.strip()],
            methods=[m.strip() for m in methods.split(",") if m.strip()],
            data=str(data),
            data_sha256=series.checksums()["X_sha256"],
            split=split,
            stamps=stamp_list,
            window=window,
            n_perturbations=perturbations,
            random_control=not no_control,
            seed=seed,
        )
        units = len(config.models) * len(config.methods)
        if quiet or as_json:
            result = run_evaluation(config, series, out_dir, resume=resume)
        else:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} units"),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("evaluating", total=units)

                def update(label: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, description=label)

                result = run_evaluation(config, series, out_dir, resume=resume, progress=update)
    if as_json:
        rows = [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in row.items()}
            for row in result["rows"]
        ]
        out.print_json(
            json.dumps(
                {
                    "out": result["out"],
                    "n_stamps": len(stamp_list),
                    "summary": rows,
                    "timings_s": result["timings_s"],
                },
                default=float,
            )
        )
        return
    out.print(summary_markdown(result["rows"]))
    out.print(
        f"{len(stamp_list)} stamps; results in {result['out']} (summary.md, summary.csv, "
        f"manifest.json); {sum(result['timings_s'].values()):.1f} s of work "
        f"({np.round(list(result['timings_s'].values()), 1).tolist()})"
    )
