"""`spikeattr plot ...`: figures from the files other commands write."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spikeattr.cli._common import console, fail, out, user_errors
from spikeattr.cli._help import CalmCommand, CalmGroup

plot_app = typer.Typer(
    cls=CalmGroup,
    help="Draw figures from explanation files.",
    no_args_is_help=True,
    add_completion=False,
)


@plot_app.command("explanation", cls=CalmCommand)
def explanation(
    path: Annotated[Path, typer.Argument(help="Explanation .npz written by 'spikeattr explain'.")],
    index: Annotated[
        int | None, typer.Option("--index", help="Row of the stamp in the file (default 0).")
    ] = None,
    stamp: Annotated[
        int | None, typer.Option("--stamp", help="The stamp to draw (instead of --index).")
    ] = None,
    class_name: Annotated[
        str | None,
        typer.Option(
            "--class", help="Class to show, by name or index (default: the explained class)."
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            help="Show the last N steps of the window (default: where |attribution| reaches "
            "0.1 % of its maximum, plus 10 %, at least 20 steps).",
        ),
    ] = None,
    normalise: Annotated[
        str,
        typer.Option(
            "--norm", help="none (real attribution values) or max-abs (scaled to [-1, 1])."
        ),
    ] = "none",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Data file whose time base labels the x-axis (clock time for ADL, seconds for "
            "synthetic); default: the time axis the explanation file records.",
        ),
    ] = None,
    confidence: Annotated[
        bool,
        typer.Option(
            "--confidence",
            help="Add the confidence of every class over the shown steps (re-runs the model "
            "named in the file's metadata).",
        ),
    ] = False,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Figure file: .png, .svg or .pdf (default FILE_stampT.png beside FILE)."
        ),
    ] = None,
    dpi: Annotated[int, typer.Option("--dpi", help="Resolution of a PNG (dots per inch).")] = 150,
) -> None:
    """Draw one explained stamp: attribution over the spike raster, and class confidences.

    For inputs with a shape (e.g. event frames): a strip of frames over the input grid.
    """
    from spikeattr.explain.files import Explanations
    from spikeattr.viz.explanation import confidence_over_window, explanation_figure
    from spikeattr.viz.figures import FigureError, check_dpi, check_figure_path, save_figure
    from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_data, time_axis_from_meta

    if index is not None and stamp is not None:
        raise fail("pass either --index or --stamp, not both")
    if normalise not in ("none", "max-abs"):
        raise fail(f"--norm must be 'none' or 'max-abs'; got {normalise!r}")
    with user_errors():
        # every argument is checked before the file is read or anything is drawn
        check_dpi(dpi, "--dpi")
        if steps is not None and steps < 1:
            raise FigureError(f"--steps must be at least 1; got {steps}")
        if out_path is not None:
            check_figure_path(out_path)
        explanations = Explanations.load(path)
        row = explanations.index_of(stamp) if stamp is not None else (index or 0)
        target = explanations.class_index(class_name) if class_name is not None else None
        if not 0 <= row < len(explanations):
            raise FigureError(
                f"--index {row} out of range; {path} holds {len(explanations)} stamps "
                f"(rows 0 to {len(explanations) - 1})"
            )
        shown = int(explanations.stamps[row])
        target_path = check_figure_path(out_path or path.with_name(f"{path.stem}_stamp{shown}.png"))
        split = str(explanations.meta.get("split", ""))
        if data is not None:
            time_axis = time_axis_from_data(data, split)
        else:
            recorded = time_axis_from_meta(explanations.meta)
            if recorded is None:
                console.print(
                    f"note: {path} records no time axis; the x-axis is in steps (pass --data "
                    "with its data file for seconds or clock time)"
                )
            time_axis = recorded or TimeAxis(None, None, split)
        probs = None
        if confidence:
            from spikeattr.snn.checkpoint import load_model

            model_name = explanations.meta.get("model")
            if not model_name:
                raise fail(f"{path}: its metadata names no model; --confidence needs one")
            probs = confidence_over_window(load_model(str(model_name)), explanations, row)
        if explanations.input_shape is not None:  # inputs on a grid: the frame strip
            from spikeattr.viz.frames import explanation_frames_figure

            figure = explanation_frames_figure(explanations, row, target, steps=steps)
        else:
            figure = explanation_figure(
                explanations,
                row,
                class_index=target,
                steps=steps,
                normalise="max-abs" if normalise == "max-abs" else "none",
                time_axis=time_axis,
                probs_over_time=probs,
            )
        save_figure(figure, target_path, dpi=dpi)
    out.print(f"wrote {target_path}")
