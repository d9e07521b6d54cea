"""`spikeattr data ...`: build data sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from spikeattr.cli._common import (
    JsonOption,
    console,
    fail,
    out,
    user_errors,
)
from spikeattr.cli._help import CalmCommand, CalmGroup

data_app = typer.Typer(
    cls=CalmGroup,
    help="Build data sets: the synthetic benchmark, the UCI ADL data, the tasks with known "
    "answers, the event-camera task.",
    no_args_is_help=True,
)


@data_app.command("synthetic", cls=CalmCommand)
def data_synthetic(
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")] = Path(
        "synthetic.npz"
    ),
    as_json: JsonOption = False,
) -> None:
    """Generate the synthetic benchmark (900 000 steps, SPEC 2.1) bit for bit."""
    from spikeattr.data.synthetic import generate_synthetic

    with user_errors():
        series = generate_synthetic()
        series.save(out_path)
    _print_series_summary(series, out_path, as_json)


@data_app.command("events", cls=CalmCommand)
def data_events(
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")] = Path("events.npz"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator.")] = 2024,
    as_json: JsonOption = False,
) -> None:
    """Generate the synthetic event-camera task: shapes crossing a 2 x 34 x 34 sensor.

    10 classes (shape x direction), 24 000 train and 6 000 test steps, exactly from the seed.
    """
    from spikeattr.data.events import generate_events

    with user_errors():
        if seed < 0:
            raise fail(f"--seed must be >= 0; got {seed}")
        series = generate_events(seed=seed).series
        series.save(out_path)
    _print_series_summary(series, out_path, as_json)


@data_app.command("benchmark", cls=CalmCommand)
def data_benchmark(
    name: Annotated[
        str,
        typer.Argument(help="Task: synthetic, delayed_motif, rare_channel or conjunction."),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Output .npz file.")],
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed (default: the task's own, checksummed).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a task with known answers: spikes, labels and the evidence mask of every step."""
    from spikeattr.data.benchmark import generate_task, get_task

    if seed is not None and seed < 0:
        raise fail(f"--seed must be >= 0; got {seed}")
    with user_errors():
        task = get_task(name)
        series = generate_task(name, seed)
        series.save(out_path)
    published = seed is None or seed == task.default_seed
    matches = published and series.checksums() == dict(task.checksums)
    _print_series_summary(series, out_path, as_json, {"matches_published": matches})
    if published and not matches:
        console.print(
            f"warning: the generated {name!r} differs from the published series (checksums in "
            "spikeattr.data.benchmark.registry): the published models were trained on other data"
        )


@data_app.command("adl", cls=CalmCommand)
def data_adl(
    raw_dir: Annotated[
        Path | None,
        typer.Option(
            "--raw-dir",
            help="Folder with your own copy of the raw UCI files (OrdonezA_Sensors.txt, ...); "
            "default: the official files that ship with spikeattr.",
        ),
    ] = None,
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
        bool,
        typer.Option(
            "--download",
            help="Download the official UCI zip into --raw-dir first (needs --raw-dir).",
        ),
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
        raise fail(f"--subject must be A or B; got {subject!r}")
    if compat not in ("aligned", "reference"):
        raise fail(f"--compat must be 'aligned' or 'reference'; got {compat!r}")
    if download and raw_dir is None:
        raise fail("--download needs --raw-dir: the folder to download the UCI archive into")
    with user_errors():
        if download and raw_dir is not None:
            adl.download_uci_zip(raw_dir)
        series = adl.encode_subject(
            raw_dir,
            cast(adl.Subject, subject),
            compat=cast(adl.Compat, compat),
            verify=not no_verify,
        )
        series.save(out_path)
    _print_series_summary(series, out_path, as_json)


def _print_series_summary(
    series: Any, path: Path, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    summary = {
        "path": str(path),
        "n_steps": series.n_steps,
        "inputs": list(series.input_names),
        "classes": list(series.class_names),
        "input_shape": None if series.input_shape is None else list(series.input_shape),
        "splits": {k: list(v) for k, v in series.splits.items()},
        **series.checksums(),
    }
    if "defects" in series.meta:
        summary["defects"] = series.meta["defects"]
    if series.evidence is not None:
        summary["evidence_cells"] = int(series.evidence.cells.shape[0])
    summary.update(extra or {})
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"wrote {path}: {series!r}")
    out.print(f"X sha256 {summary['X_sha256']}\ny sha256 {summary['y_sha256']}")
    if "evidence_sha256" in summary:
        out.print(
            f"evidence sha256 {summary['evidence_sha256']} ({summary['evidence_cells']} cells)"
        )
    if "defects" in summary:
        out.print(f"defects found and handled: {summary['defects']}")
