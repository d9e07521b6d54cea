"""The metric figures, checked as data against the result files of a tiny real run: every line,
band and bar holds the numbers of the files (read here as plain JSON)."""

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

from spikeattr.evaluate.registry import MetricSettings, build_metrics
from spikeattr.evaluate.results import MetricRecord, VariantResult
from spikeattr.viz.comparable import comparable_bars_figure, deletion_figure, fraction_figure
from spikeattr.viz.metrics import spans_decades
from spikeattr.viz.paper import completeness_figure, flipping_figure, paper_bars_figure
from spikeattr.viz.rundir import EvaluationRun, read_run

from .checks import drawn_texts, inside_figure, overlapping, shown_tick_labels

MODEL = "published:synthetic_1L"
LABELS = {"s": "TSA-S", "ns": "TSA-NS"}


def _file(run_dir: Path, method: str, metric: str) -> dict[str, Any]:
    path = run_dir / "results" / "published_synthetic_1L" / method / f"{metric}.json"
    body: dict[str, Any] = json.loads(path.read_text())
    return body


def _draws(body: dict[str, Any], variant: str) -> list[dict[str, Any]]:
    draws: list[dict[str, Any]] = body["variants"][variant]["draws"]
    return draws


def _lines(axes: Axes) -> dict[str, Any]:
    return {line.get_label(): line for line in axes.lines}


def _bands(axes: Axes) -> dict[str, PolyCollection]:
    return {c.get_label(): c for c in axes.collections if isinstance(c, PolyCollection)}


def _visible(figure: Figure) -> list[Axes]:
    return [a for a in figure.axes if a.get_visible()]


def _band_limits(band: PolyCollection, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest y of the band's outline at each ``x``."""
    vertices = band.get_paths()[0].vertices
    low = np.array([vertices[vertices[:, 0] == v, 1].min() for v in x])
    high = np.array([vertices[vertices[:, 0] == v, 1].max() for v in x])
    return low, high


def _readable(figure: Figure) -> None:
    """No tick label overlaps another, no text leaves the figure."""
    for axes in _visible(figure):
        for which in "xy":
            assert not overlapping(figure, shown_tick_labels(axes, which))
    assert not inside_figure(figure, drawn_texts(figure))


def test_deletion_curves_with_a_band_per_control(tiny_run: Path) -> None:
    figure = deletion_figure(read_run(tiny_run))
    figure.canvas.draw()
    agreement, drop = _visible(figure)
    assert agreement.get_title(loc="left") == f"{MODEL}: agreement (lower is better)"
    assert drop.get_title(loc="left") == f"{MODEL}: probability drop (higher is better)"
    assert agreement.get_xlabel() == drop.get_xlabel() == "cells flipped b"
    for axes, curve in ((agreement, "agreement"), (drop, "drop")):
        lines, bands = _lines(axes), _bands(axes)
        assert set(lines) == set(LABELS.values())
        assert len(bands) == 4  # permuted and random-order, for each method
        for method, label in LABELS.items():
            body = _file(tiny_run, method, "deletion")
            expected = _draws(body, "method")[0]["curves"][curve]
            assert len(expected) == 51  # b = 0 .. 50, the largest budget
            line = lines[label]
            assert np.allclose(line.get_ydata(), expected)
            assert np.array_equal(line.get_xdata(), np.arange(51))
            for control in ("permuted", "random-order"):
                draws = np.array([d["curves"][curve] for d in _draws(body, control)])
                assert draws.shape == (2, 51)  # two draws
                band = bands[f"{label} ({control} control)"]
                low, high = _band_limits(band, np.arange(51))
                assert np.allclose(low, draws.min(axis=0))
                assert np.allclose(high, draws.max(axis=0))
                colour = band.get_facecolor() if control == "permuted" else band.get_edgecolor()
                assert to_hex(colour[0][:3]) == to_hex(line.get_color())
            assert bands[f"{label} (random-order control)"].get_hatch() == "...."
            assert bands[f"{label} (permuted control)"].get_hatch() is None
    assert agreement.get_ylim() == (0.0, 1.03)
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "TSA-S",
        "TSA-NS",
        "permuted control (range over draws)",
        "random-order control (range over draws)",
    ]
    _readable(figure)


def test_completeness_by_fraction_with_the_permuted_control_dashed(tiny_run: Path) -> None:
    figure = fraction_figure(read_run(tiny_run))
    figure.canvas.draw()
    (axes,) = _visible(figure)
    assert axes.get_title(loc="left") == MODEL
    assert [t.get_text() for t in shown_tick_labels(axes, "x")] == ["0", "1", "5"]
    assert axes.get_xlabel() == "cells kept (% of the window)"
    lines = _lines(axes)
    for method, label in LABELS.items():
        body = _file(tiny_run, method, "fraction_completeness")
        own = _draws(body, "method")[0]
        assert own["details"]["fractions"] == [0.0, 0.01, 0.05]
        solid, dashed = lines[label], lines[f"{label} (permuted control)"]
        assert np.allclose(solid.get_ydata(), own["curves"]["oc"])
        control = np.mean([d["curves"]["oc"] for d in _draws(body, "permuted")], axis=0)
        assert np.allclose(dashed.get_ydata(), control)
        assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
        assert to_hex(solid.get_color()) == to_hex(dashed.get_color())
        assert np.array_equal(solid.get_xdata(), [0, 1, 2])
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["TSA-S", "TSA-NS", "permuted control (mean over draws)"]
    _readable(figure)


def _errorbar_spans(axes: Axes) -> list[float]:
    """``[low, high, low, high, ...]`` of the error bars, bar by bar."""
    spans = []
    for container in axes.containers:
        if isinstance(container, ErrorbarContainer):
            segment = container.lines[2][0].get_segments()[0]
            spans += [float(segment[0, 1]), float(segment[1, 1])]
    return spans


def _check_bars(axes: Axes, run_dir: Path, metric: str, key: str) -> None:
    summaries = [_file(run_dir, m, metric)["summary"]["method"][key] for m in LABELS]
    assert [p.get_height() for p in axes.patches] == pytest.approx([s["value"] for s in summaries])
    assert _errorbar_spans(axes) == pytest.approx(
        [b for s in summaries for b in (s["ci_low"], s["ci_high"])]
    )
    assert [t.get_text() for t in shown_tick_labels(axes, "x")] == ["synthetic_1L"]


def test_normalised_continuity_and_sanity_check_bars(tiny_run: Path) -> None:
    figure = comparable_bars_figure(read_run(tiny_run))
    figure.canvas.draw()
    continuity, sanity = _visible(figure)
    assert continuity.get_title(loc="left") == "normalised continuity: relative sensitivity"
    assert sanity.get_title(loc="left") == "sanity check: all layers randomised"
    _check_bars(continuity, tiny_run, "sensitivity", "sens_median")
    _check_bars(sanity, tiny_run, "randomisation", "shape_all")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["TSA-S", "TSA-NS"]
    _readable(figure)


def _padded_mean(curves: list[list[float]]) -> np.ndarray:
    length = max(len(c) for c in curves)
    return np.mean([c + [c[-1]] * (length - len(c)) for c in curves], axis=0)


def test_flipping_curves_with_the_uniform_control_dashed(tiny_run: Path) -> None:
    figure = flipping_figure(read_run(tiny_run))
    figure.canvas.draw()
    panels = _visible(figure)
    assert [a.get_title(loc="left") for a in panels] == [
        f"{MODEL}: vs original prediction",
        f"{MODEL}: vs ground truth",
    ]
    for axes, against in zip(panels, ("original", "truth"), strict=True):
        lines = _lines(axes)
        assert set(lines) == {
            "TSA-S",
            "TSA-NS",
            "TSA-S (uniform control)",
            "TSA-NS (uniform control)",
        }
        for method, label in LABELS.items():
            body = _file(tiny_run, method, "correctness")
            solid, dashed = lines[label], lines[f"{label} (uniform control)"]
            curve = _draws(body, "method")[0]["curves"][against]
            assert np.allclose(solid.get_ydata(), curve)
            assert np.array_equal(solid.get_xdata(), np.arange(len(curve)))
            control = _padded_mean([d["curves"][against] for d in _draws(body, "uniform")])
            assert np.allclose(dashed.get_ydata(), control)
            assert dashed.get_linestyle() == "--"
            assert to_hex(solid.get_color()) == to_hex(dashed.get_color())
        assert axes.get_ylim()[0] == 0.0
    assert panels[0].get_ylabel() == "balanced accuracy"
    assert panels[0].get_xlabel() == "flipped segments k"
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["TSA-S", "TSA-NS", "uniform control (mean over draws)"]
    _readable(figure)


def test_output_completeness_versus_epsilon_with_ci_bands(tiny_run: Path) -> None:
    figure = completeness_figure(read_run(tiny_run))
    figure.canvas.draw()
    (axes,) = _visible(figure)
    assert axes.get_xlabel() == "epsilon (% of max |attribution|)"
    assert axes.get_ylabel() == "output-completeness"
    lines = _lines(axes)
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 4  # a CI band per method and per uniform control
    for method, label in LABELS.items():
        body = _file(tiny_run, method, "output_completeness")
        epsilons = body["settings"]["epsilons"]
        keys = [f"oc_{round(100 * e)}" for e in epsilons]
        for variant, name in (("method", label), ("uniform", f"{label} (uniform control)")):
            line = lines[name]
            summary = body["summary"][variant]
            assert np.allclose(line.get_xdata(), [100 * e for e in epsilons])
            assert np.allclose(line.get_ydata(), [summary[k]["value"] for k in keys])
            assert line.get_linestyle() == ("-" if variant == "method" else "--")
    # the first band, TSA-S's, spans exactly its CIs
    body = _file(tiny_run, "s", "output_completeness")
    keys = [f"oc_{round(100 * e)}" for e in body["settings"]["epsilons"]]
    low, high = _band_limits(bands[0], lines["TSA-S"].get_xdata())
    assert np.allclose(low, [body["summary"]["method"][k]["ci_low"] for k in keys])
    assert np.allclose(high, [body["summary"]["method"][k]["ci_high"] for k in keys])
    _readable(figure)


def test_continuity_and_compactness_bars_with_ci(tiny_run: Path) -> None:
    figure = paper_bars_figure(read_run(tiny_run))
    figure.canvas.draw()
    continuity, compactness = _visible(figure)
    assert continuity.get_title(loc="left").startswith("continuity")
    assert compactness.get_title(loc="left").startswith("compactness")
    _check_bars(continuity, tiny_run, "continuity", "maxsens_mean")
    _check_bars(compactness, tiny_run, "compactness", "sum_abs")
    diamonds = [line.get_ydata()[0] for line in continuity.lines if line.get_marker() == "D"]
    expected = [
        _file(tiny_run, m, "continuity")["summary"]["method"]["maxsens_max"] for m in LABELS
    ]
    assert diamonds == pytest.approx([e["value"] for e in expected])
    for axes in (continuity, compactness):
        assert axes.get_ylabel() == "mean over stamps (lower is better)"
        values = [p.get_height() for p in axes.patches]
        spread = min(values) > 0 and max(values) / min(values) >= 100
        assert axes.get_yscale() == ("log" if spread else "linear")
    _readable(figure)


def _synthetic_run(continuity: list[float], compactness: list[float]) -> EvaluationRun:
    """A run of three models and one method whose files hold the given bar values."""
    models = ["published:synthetic_1L", "published:synthetic_2L", "published:synthetic_3L"]
    run = EvaluationRun(Path("run"), {}, None, models, ["s"], [], build_metrics(MetricSettings()))
    stamps = np.array([1, 2])
    empty = {"method": VariantResult([{"per_stamp": {}, "curves": {}, "details": {}}])}
    for model, sensitivity, total in zip(models, continuity, compactness, strict=True):
        summaries = {
            "continuity": {
                "maxsens_max": {"value": sensitivity * 2},
                "maxsens_mean": {
                    "value": sensitivity,
                    "ci_low": sensitivity * 0.8,
                    "ci_high": sensitivity * 1.2,
                },
            },
            "compactness": {"sum_abs": {"value": total, "ci_low": total * 0.9, "ci_high": total}},
        }
        for metric, summary in summaries.items():
            run.records[(model, "s", metric)] = MetricRecord(
                model, "s", metric, "paper", stamps, empty, {"method": summary}
            )
    return run


def test_log_scale_only_when_values_span_decades() -> None:
    figure = paper_bars_figure(_synthetic_run([0.001, 0.5, 2.0], [1.0, 2.0, 3.0]))
    figure.canvas.draw()
    continuity, compactness = _visible(figure)
    assert continuity.get_yscale() == "log"
    assert compactness.get_yscale() == "linear"
    labels = shown_tick_labels(continuity, "x")
    assert [t.get_text() for t in labels] == ["synthetic_1L", "synthetic_2L", "synthetic_3L"]
    assert not overlapping(figure, labels)
    assert _errorbar_spans(continuity)[:2] == pytest.approx([0.0008, 0.0012])  # the CI
    assert spans_decades([1, 100]) and not spans_decades([1, 99]) and not spans_decades([0, 100])


def test_missing_results_are_marked_in_the_panels() -> None:
    run = EvaluationRun(Path("run"), {}, None, ["m"], ["s"], [], build_metrics(MetricSettings()))
    for draw in (deletion_figure, fraction_figure, flipping_figure, completeness_figure):
        texts = [t.get_text() for a in draw(run).axes for t in a.texts]
        assert texts and all(t.startswith("Missing:") for t in texts), draw.__name__
    texts = [t.get_text() for a in comparable_bars_figure(run).axes for t in a.texts]
    assert texts == ["Missing: sensitivity results", "Missing: randomisation results"]
    texts = [t.get_text() for a in paper_bars_figure(run).axes for t in a.texts]
    assert texts == ["Missing: continuity results", "Missing: compactness results"]
