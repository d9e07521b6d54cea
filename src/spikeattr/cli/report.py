"""`spikeattr report`: one self-contained HTML page (and Markdown tables) for an evaluation run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import QuietOption, console, out, progress_bar, user_errors


def report(
    run_dir: Annotated[
        Path, typer.Argument(help="Results directory written by 'spikeattr evaluate --out'.")
    ],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="HTML file to write (default RUN_DIR/report.html); the Markdown tables go "
            "beside it with the suffix .md.",
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Write the HTML report of an evaluation run (and its tables as Markdown).

    It holds the models' accuracy, the comparable protocol (scores with CIs, controls, rankings,
    paired comparisons, figures), the sanity check, the paper protocol, a gallery of explained
    stamps and the run's details. Missing results are listed, not fatal.
    """
    from spikeattr.viz.report import build_report, report_paths

    with user_errors():
        report_paths(run_dir, out_path)  # refuse a bad directory or --out before drawing
        with progress_bar("rendering the gallery", 100, quiet) as update:
            result = build_report(
                run_dir, out_path, progress=lambda done, total: update(100 * done // max(1, total))
            )
    out.print(f"wrote {result.html} and {result.markdown} ({result.figures} figures)")
    for note in result.notes:
        console.print(f"note: {note}")
    if result.missing:
        console.print(
            f"warning: the run is incomplete; {len(result.missing)} item(s) are marked "
            "'Missing' in the report:"
        )
        for item in result.missing:
            console.print(f"  {item}")
