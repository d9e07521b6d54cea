"""The metric figures, checked as data against the results files of a tiny real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from spikeattr.viz.metrics import (
    completeness_figure,
    continuity_compactness_figure,
    flipping_figure,
    spans_decades,
)
from spikeattr.viz.rundir import EvaluationRun, read_run
from spikeattr.viz.style import method_label

from .checks import drawn_texts, inside_figure, overlapping, shown_tick_labels

MODEL = "published:synthetic_1L"


def _results(run_dir: Path, method: str, metric: str) -> dict[str, Any]:
    path = run_dir / "results" / "published_synthetic_1L" / method / f"{metric}.json"
    body: dict[str, Any] = json.loads(path.read_text())["results"]
    return body


def _lines_by_label(axes: Axes) -> dict[str, Any]:
    return {line.get_label(): line for line in axes.lines}


def _visible_axes(figure: Figure) -> list[Axes]:
    return [a for a in figure.axes if a.get_visible()]


def _all_tick_labels(figure: Figure) -> list[Any]:
    return [t for a in _visible_axes(figure) for w in "xy" for t in shown_tick_labels(a, w)]


def test_flipping_curves_per_model_and_reference(tiny_run: Path) -> None:
    figure = flipping_figure(read_run(tiny_run))
    figure.canvas.draw()
    panels = _visible_axes(figure)
    assert [a.get_title(loc="left") for a in panels] == [
        f"{MODEL}: vs original prediction",
        f"{MODEL}: vs ground truth",
    ]
    for axes, against in zip(panels, ("original", "truth"), strict=True):
        lines = _lines_by_label(axes)
        assert set(lines) == {"TSA-S", "random (TSA-S)", "TSA-NS", "random (TSA-NS)"}
        for method in ("s", "ns"):
            solid, dashed = lines[method_label(method)], lines[method_label(f"random-{method}")]
            assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
            assert to_hex(solid.get_color()) == to_hex(dashed.get_color())
            for line, name in ((solid, method), (dashed, f"random-{method}")):
                curve = _results(tiny_run, name, "correctness")[f"curve_{against}"]
                assert np.allclose(line.get_ydata(), curve)
                assert np.array_equal(line.get_xdata(), np.arange(len(curve)))
        assert to_hex(lines["TSA-S"].get_color()) != to_hex(lines["TSA-NS"].get_color())
        assert axes.get_ylim()[0] == 0.0
    assert panels[0].get_ylabel() == "balanced accuracy"
    assert panels[0].get_xlabel() == "flipped segments k"
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["TSA-S", "TSA-NS", "random control"]
    for axes in panels:
        assert not overlapping(figure, shown_tick_labels(axes, "x"))
        assert not overlapping(figure, shown_tick_labels(axes, "y"))
    assert not inside_figure(figure, drawn_texts(figure))


def test_output_completeness_with_ci_bands(tiny_run: Path) -> None:
    figure = completeness_figure(read_run(tiny_run))
    figure.canvas.draw()
    (axes,) = _visible_axes(figure)
    assert axes.get_title(loc="left") == MODEL
    assert axes.get_xlabel() == "epsilon (% of max |attribution|)"
    assert axes.get_ylabel() == "output-completeness"
    lines = _lines_by_label(axes)
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 4  # one CI band per method and control
    for name in ("s", "random-s", "ns", "random-ns"):
        table = _results(tiny_run, name, "output_completeness")["per_epsilon"]
        line = lines[method_label(name)]
        assert np.allclose(line.get_xdata(), [100 * e["epsilon"] for e in table])
        assert np.allclose(line.get_ydata(), [e["value"] for e in table])
        assert line.get_linestyle() == ("--" if name.startswith("random") else "-")
    # the band of TSA-S spans exactly its CIs
    table = _results(tiny_run, "s", "output_completeness")["per_epsilon"]
    vertices = bands[0].get_paths()[0].vertices
    assert np.isclose(vertices[:, 1].min(), min(e["ci_low"] for e in table))
    assert np.isclose(vertices[:, 1].max(), max(e["ci_high"] for e in table))
    assert not overlapping(figure, shown_tick_labels(axes, "x"))
    assert not inside_figure(figure, drawn_texts(figure))


def test_continuity_and_compactness_bars_with_ci(tiny_run: Path) -> None:
    figure = continuity_compactness_figure(read_run(tiny_run))
    figure.canvas.draw()
    continuity, compactness = _visible_axes(figure)
    assert continuity.get_title(loc="left").startswith("continuity")
    assert compactness.get_title(loc="left").startswith("compactness")
    for axes, metric in ((continuity, "continuity"), (compactness, "compactness")):
        heights = [p.get_height() for p in axes.patches]
        expected = []
        for name in ("s", "random-s", "ns", "random-ns"):
            results = _results(tiny_run, name, metric)
            summary = results["max_sensitivity_mean" if metric == "continuity" else "sum_abs"]
            expected.append(summary["mean"])
        assert heights == pytest.approx(expected)
        hatches = [p.get_hatch() for p in axes.patches]
        assert hatches == [None, "///", None, "///"]  # controls hatched
        errorbars = [c for c in axes.containers if isinstance(c, ErrorbarContainer)]
        assert len(errorbars) == 4  # one error bar (95 % CI) per bar
        assert [t.get_text() for t in axes.get_xticklabels()] == ["synthetic_1L"]
        assert axes.get_ylabel() == "mean over stamps (lower is better)"
        values = [v for v in expected if v > 0]
        assert axes.get_yscale() == ("log" if max(values) / min(values) >= 100 else "linear")
    assert not inside_figure(figure, drawn_texts(figure))


def _synthetic_run(continuity: list[float], compactness: list[float]) -> EvaluationRun:
    """A run of three models and one method (no control) with the given bar values."""
    models = ["published:synthetic_1L", "published:synthetic_2L", "published:synthetic_3L"]
    run = EvaluationRun(Path("run"), {}, None, models, ["s"], random_control=False)
    for model, sensitivity, total in zip(models, continuity, compactness, strict=True):
        run.metrics[(model, "s")] = {
            "continuity": {
                "results": {
                    "max_sensitivity_max": sensitivity * 2,
                    "max_sensitivity_mean": {
                        "mean": sensitivity,
                        "ci_low": sensitivity * 0.8,
                        "ci_high": sensitivity * 1.2,
                    },
                }
            },
            "compactness": {
                "results": {"sum_abs": {"mean": total, "ci_low": total * 0.9, "ci_high": total}}
            },
        }
    return run


def test_log_scale_only_when_values_span_decades() -> None:
    figure = continuity_compactness_figure(_synthetic_run([0.001, 0.5, 2.0], [1.0, 2.0, 3.0]))
    figure.canvas.draw()
    continuity, compactness = _visible_axes(figure)
    assert continuity.get_yscale() == "log"
    assert compactness.get_yscale() == "linear"
    labels = shown_tick_labels(continuity, "x")
    assert [t.get_text() for t in labels] == ["synthetic_1L", "synthetic_2L", "synthetic_3L"]
    assert not overlapping(figure, labels)
    # error bars span the CIs
    errorbars = [c for c in continuity.containers if isinstance(c, ErrorbarContainer)]
    segments = errorbars[0].lines[2][0].get_segments()
    assert np.allclose(segments[0][:, 1], [0.0008, 0.0012])
    assert spans_decades([1, 100]) and not spans_decades([1, 99]) and not spans_decades([0, 100])


def test_missing_results_are_marked_in_the_panels() -> None:
    run = EvaluationRun(Path("run"), {}, None, ["m"], ["s"], random_control=True)
    for figure in (flipping_figure(run), completeness_figure(run)):
        texts = [t.get_text() for a in figure.axes for t in a.texts]
        assert texts and all(t.startswith("Missing:") for t in texts)
    texts = [t.get_text() for a in continuity_compactness_figure(run).axes for t in a.texts]
    assert texts == ["Missing: continuity results", "Missing: compactness results"]
