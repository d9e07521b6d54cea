"""The figures of an evaluation run by name: those the report embeds, and what
``read_run(RUN_DIR).plot(kind)`` returns in a notebook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.figure import Figure

from spikeattr.viz.comparable import comparable_bars_figure, deletion_figure, fraction_figure
from spikeattr.viz.figures import FigureError
from spikeattr.viz.paper import completeness_figure, flipping_figure, paper_bars_figure
from spikeattr.viz.run_contents import RunContents


@dataclass(frozen=True)
class RunFigure:
    """One figure of a run: its protocol, its title in the report, and how it is drawn."""

    protocol: str
    title: str
    draw: Callable[[RunContents], Figure]


#: The run's figures by name, in the report's order (comparable protocol first).
RUN_FIGURES: dict[str, RunFigure] = {
    "deletion": RunFigure("comparable", "Deletion curves", deletion_figure),
    "fraction": RunFigure("comparable", "Output-completeness by fraction kept", fraction_figure),
    "comparable-bars": RunFigure(
        "comparable", "Normalised continuity and sanity check", comparable_bars_figure
    ),
    "flipping": RunFigure("paper", "Flipping curves", flipping_figure),
    "completeness": RunFigure("paper", "Output-completeness versus epsilon", completeness_figure),
    "paper-bars": RunFigure("paper", "Continuity and compactness", paper_bars_figure),
}


def run_figure(run: RunContents, kind: str) -> Figure:
    """The figure ``kind`` (a key of :data:`RUN_FIGURES`) of ``run``."""
    if kind not in RUN_FIGURES:
        raise FigureError(f"unknown figure {kind!r}; choose one of {', '.join(RUN_FIGURES)}")
    return RUN_FIGURES[kind].draw(run)
