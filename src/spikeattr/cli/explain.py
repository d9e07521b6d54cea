"""`spikeattr explain` and `spikeattr explain-series`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import (
    DataOption,
    ExplainSeriesVariantOption,
    JsonOption,
    ModelOption,
    PrecisionOption,
    QuietOption,
    SchedulerOption,
    SplitOption,
    VariantOption,
    fail,
    out,
    progress_bar,
    user_errors,
)


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
    precision: PrecisionOption = "float64",
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Explain predictions at time stamps of a data file (window mode, as in the paper)."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.pipelines.cluster import Scheduler, open_cluster
    from spikeattr.pipelines.explain import run_explain
    from spikeattr.snn.checkpoint import load_network

    with user_errors():
        where = None if scheduler is None else Scheduler.parse(scheduler)
        series = SpikeSeries.load(data)
        network = load_network(model)
        with (
            open_cluster(where) as cluster,
            progress_bar("explaining", len(stamp), quiet or as_json) as update,
        ):
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
                cluster=cluster,
                precision=precision,
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


def explain_series_command(
    model: ModelOption,
    data: DataOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")],
    split: SplitOption = "test",
    variant: ExplainSeriesVariantOption = "s",
    support: Annotated[
        int | None,
        typer.Option("--support", help="Steps kept per explanation (default: from --tolerance)."),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="Drop past steps whose decay factor is below this (TSA: beta^(L k); the exact "
            "methods: max(alpha, beta)^(k / L)).",
        ),
    ] = 1e-7,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue an interrupted run in --out.")
    ] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Explain the prediction at every step of a split from one forward pass (series mode)."""
    from spikeattr.data.series import SpikeSeries
    from spikeattr.explain.exact_series import EXACT_SERIES_METHODS
    from spikeattr.explain.tsa import VARIANTS
    from spikeattr.pipelines.explain import run_explain_series
    from spikeattr.snn.checkpoint import load_model

    known = (*VARIANTS, *EXACT_SERIES_METHODS)
    if variant not in known:  # before loading anything
        raise fail(
            f"unknown variant {variant!r} for series mode; choose one of {', '.join(known)} "
            "(the gradient methods explain windows: spikeattr explain --variant)"
        )
    with user_errors():
        series = SpikeSeries.load(data)
        network = load_model(model)
        steps = series.splits.get(split, (0, 0))
        with progress_bar("explaining series", steps[1] - steps[0], quiet or as_json) as update:
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
