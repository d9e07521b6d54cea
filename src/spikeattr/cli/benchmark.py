"""`spikeattr benchmark`: every task x model x method scored against the known evidence."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import (
    JsonOption,
    QuietOption,
    SchedulerOption,
    out,
    units_progress,
    user_errors,
)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def benchmark(
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")],
    tasks: Annotated[
        str | None,
        typer.Option(
            "--tasks",
            help="Comma-separated tasks (default all): synthetic, delayed_motif, "
            "rare_channel, conjunction.",
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated depths (default 1L,2L,3L)."),
    ] = None,
    methods: Annotated[
        str | None,
        typer.Option(
            "--methods",
            help="Comma-separated methods (default all): s, ns, sam, kim_panda_sam, saliency, "
            "ixg, ig, lif_z, lif_ab.",
        ),
    ] = None,
    stamps: Annotated[
        int | None, typer.Option("--stamps", help="Stamps per class (default 25).")
    ] = None,
    control_draws: Annotated[
        int | None,
        typer.Option("--control-draws", help="Draws of the permuted control (default 5)."),
    ] = None,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--models-dir",
            help="Folder of retrained checkpoints bench_TASK_<L>L.json to use instead of the "
            "published models.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted benchmark in --out.")
    ] = False,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Benchmark explanation methods on tasks whose evidence is known; write the leaderboard."""

    from spikeattr.evaluate.results import to_json
    from spikeattr.pipelines.benchmark import BenchmarkConfig, parse_depths, run_benchmark
    from spikeattr.pipelines.cluster import Scheduler, open_cluster

    with user_errors(), contextlib.ExitStack() as stack:
        where = None if scheduler is None else Scheduler.parse(scheduler)
        config = BenchmarkConfig(seed=seed)
        if tasks is not None:
            config.tasks = _names(tasks) or []
        if models is not None:
            config.depths = parse_depths(_names(models) or [])
        if methods is not None:
            config.methods = _names(methods) or []
        if stamps is not None:
            config.stamps = stamps
        if control_draws is not None:
            config.control_draws = control_draws
        if models_dir is not None:
            config.models_dir = str(models_dir)
        config.validate()
        total = len(config.tasks) * len(config.depths) * len(config.methods)
        cluster = stack.enter_context(open_cluster(where))
        update = stack.enter_context(units_progress("benchmark", total, quiet or as_json))
        result = run_benchmark(config, out_dir, resume=resume, progress=update, cluster=cluster)
    if as_json:
        out.print_json(
            json.dumps(
                to_json(
                    {
                        "out": str(result.out),
                        "files": {k: str(v) for k, v in result.files.items()},
                        "leaderboard": result.leaderboard.to_dict(),
                        "timings_s": result.timings_s,
                    }
                )
            )
        )
        return
    out.print(result.files["md"].read_text(encoding="utf-8"))
    out.print(
        f"leaderboard: {result.files['md']}, {result.files['csv']}, {result.files['html']}; "
        f"{result.timings_s['total']:.0f} s"
    )
