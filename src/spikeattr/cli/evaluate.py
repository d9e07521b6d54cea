"""`spikeattr evaluate`: the four Co-12 metrics for models x methods x stamps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spikeattr.cli._common import (
    DataOption,
    JsonOption,
    PrecisionOption,
    QuietOption,
    SchedulerOption,
    SplitOption,
    fail,
    out,
    units_progress,
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
            "kim_panda_sam, lif_z, lif_ab (the exact LIF attribution).",
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
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="Which protocol's table leads the summary: 'comparable' (deletion at a fixed "
            "budget, completeness by fraction, normalised continuity, model randomisation, "
            "paired comparisons) or 'paper' (the TSA paper's four metrics). Both are computed.",
        ),
    ] = "comparable",
    controls: Annotated[
        str,
        typer.Option(
            "--controls",
            help="Comma-separated controls: permuted, random-order, uniform (the paper's "
            "uniform control); 'none' for no control.",
        ),
    ] = "permuted,random-order",
    control_draws: Annotated[
        int, typer.Option("--control-draws", help="Draws (seeds) of each control.")
    ] = 5,
    budgets: Annotated[
        str, typer.Option("--budgets", help="Deletion budgets in cells, comma-separated.")
    ] = "10,50,100,200",
    fractions: Annotated[
        str,
        typer.Option("--fractions", help="Fractions of cells kept (completeness), e.g. 0.01,0.1."),
    ] = "0.01,0.05,0.1,0.25",
    draws: Annotated[
        int,
        typer.Option("--draws", help="Permutation / perturbation draws per stamp (comparable)."),
    ] = 5,
    perturbations: Annotated[
        int, typer.Option("--perturbations", help="Paper continuity: draws per stamp (paper: 1).")
    ] = 1,
    no_randomisation: Annotated[
        bool,
        typer.Option("--no-randomisation", help="Skip the model-randomisation sanity check."),
    ] = False,
    no_control: Annotated[
        bool, typer.Option("--no-control", help="Run no control (same as --controls none).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    precision: PrecisionOption = "float64",
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run in --out (same configuration)."),
    ] = False,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Evaluate explanations with the comparable protocol and the paper's four metrics."""

    from spikeattr.data.series import SpikeSeries
    from spikeattr.evaluate.registry import MetricSettings
    from spikeattr.evaluate.results import to_json
    from spikeattr.pipelines.cluster import Scheduler, open_cluster
    from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation

    if protocol not in ("comparable", "paper"):
        raise fail(f"--protocol must be 'comparable' or 'paper'; got {protocol!r}")
    chosen = [] if no_control or controls.strip() == "none" else _names(controls)
    settings = MetricSettings(
        budgets=[_number(b, int, "--budgets") for b in _names(budgets)],
        fractions=[_number(f, float, "--fractions") for f in _names(fractions)],
        draws=draws,
        randomisation=not no_randomisation,
        perturbations=perturbations,
    )

    with user_errors():
        where = None if scheduler is None else Scheduler.parse(scheduler)
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
            controls=chosen,
            control_draws=control_draws,
            metrics=settings,
            seed=seed,
            precision=precision,
        )
        units = len(config.models) * len(config.methods)
        if where is not None:
            config.validate(series)  # refuse a bad configuration before a cluster starts
        with (
            open_cluster(where) as cluster,
            units_progress("evaluating", units, quiet or as_json) as update,
        ):
            result = run_evaluation(
                config,
                series,
                out_dir,
                resume=resume,
                progress=update,
                protocol=protocol,
                cluster=cluster,
            )
    if as_json:
        out.print_json(
            json.dumps(
                to_json(
                    {
                        "out": result["out"],
                        "n_stamps": len(stamp_list),
                        "protocol": protocol,
                        "summary": result["rows"],
                        "comparisons": result["comparisons"],
                        "notes": result["notes"],
                        "timings_s": result["timings_s"],
                    }
                )
            )
        )
        return
    out.print((Path(result["out"]) / "summary.md").read_text(encoding="utf-8"))
    total = sum(result["timings_s"].values())
    out.print(
        f"{len(stamp_list)} stamps; results in {result['out']} (summary.md, summary.csv, "
        f"comparisons/, manifest.json); {total:.1f} s of work"
    )


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str, kind: type, option: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise fail(f"{option} takes comma-separated numbers; got {text!r}") from None
