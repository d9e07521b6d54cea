"""The explanation figure, checked as data: axes, ticks, colour scale, confidence panel."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError, ExplanationError
from spikeattr.explain.files import Explanations
from spikeattr.viz.explanation import default_steps, explanation_figure
from spikeattr.viz.figures import FigureError, save_figure
from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_data

from .checks import drawn_texts, inside_figure, overlapping, shown_tick_labels
from .conftest import CLASSES, INPUTS, SUPPORT, WINDOW, explanation_arrays


def _axes(figure: Figure, label: str) -> Axes:
    found = [a for a in figure.axes if a.get_label() == label]
    assert len(found) == 1, [a.get_label() for a in figure.axes]
    return found[0]


def _drawn(figure: Figure) -> Figure:
    figure.canvas.draw()
    return figure


def test_inputs_by_name_time_ticks_readable_and_labelled(explanations: Explanations) -> None:
    figure = _drawn(explanation_figure(explanations, 0, time_axis=TimeAxis(1e-3, None, "test")))
    heat = _axes(figure, "attribution")
    assert [t.get_text() for t in heat.get_yticklabels()] == list(INPUTS)
    assert heat.get_ylabel() == "input"
    assert heat.get_xlabel() == "time in the test split (s)"
    x_labels = shown_tick_labels(heat, "x")
    assert len(x_labels) >= 3
    assert not overlapping(figure, x_labels)
    assert not overlapping(figure, heat.get_yticklabels())
    # ticks are seconds of the split: the shown range ends at the stamp (1000 steps = 1 s)
    assert heat.get_xlim()[1] == pytest.approx(1.0)
    assert all(0.9 <= float(t.get_text()) <= 1.0 for t in x_labels)
    # no text leaves the figure
    assert not inside_figure(figure, drawn_texts(figure))


def test_title_names_stamp_predicted_and_true_class(explanations: Explanations) -> None:
    figure = explanation_figure(explanations, 1)
    title = figure.get_suptitle()
    assert title.startswith("Stamp 1100, explained at step 1099: predicted")
    assert "step step" not in title
    assert "predicted 'other' (0.60)" in title and "true 'eating'" in title
    assert "attribution of class 'other'" in _axes(figure, "attribution").get_title(loc="left")


def test_colour_scale_is_diverging_symmetric_and_has_real_values(
    explanations: Explanations,
) -> None:
    figure = _drawn(explanation_figure(explanations, 0, class_index=1))
    heat = _axes(figure, "attribution")
    image = heat.images[0]
    norm = image.norm
    assert norm.vmin == -norm.vmax
    assert norm.vmax == pytest.approx(2.0)  # the largest |attribution| shown, not rescaled
    assert image.get_cmap().name == "RdBu_r"
    assert np.allclose(
        image.get_array(), explanations.attribution[0, 1, :, -image.get_array().shape[1] :]
    )
    colour_bar = _axes(figure, "colour bar")
    assert colour_bar.get_ylabel() == "attribution"
    values = [
        float(t.get_text().replace("\u2212", "-")) for t in shown_tick_labels(colour_bar, "y")
    ]
    assert min(values) < 0 < max(values) and max(values) <= 2.0
    assert not overlapping(figure, shown_tick_labels(colour_bar, "y"))


def test_max_abs_normalisation(explanations: Explanations) -> None:
    figure = explanation_figure(explanations, 0, class_index=1, normalise="max-abs")
    image = _axes(figure, "attribution").images[0]
    assert image.norm.vmax == 1.0 and image.norm.vmin == -1.0
    assert np.abs(image.get_array()).max() == pytest.approx(1.0)
    assert _axes(figure, "colour bar").get_ylabel() == "attribution / max |attribution|"
    with pytest.raises(FigureError, match="normalise"):
        explanation_figure(explanations, 0, normalise="zscore")  # type: ignore[arg-type]


def test_confidence_panel_shows_every_class_with_its_probability(
    explanations: Explanations,
) -> None:
    figure = _drawn(explanation_figure(explanations, 1))
    panel = _axes(figure, "confidence")
    labels = [t.get_text() for t in panel.get_yticklabels()]
    assert len(labels) == len(CLASSES)
    for name, label in zip(CLASSES, labels, strict=True):
        assert label.startswith(name)
    assert "eating (true)" in labels and "other (shown)" in labels
    bold = [t.get_text() for t in panel.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["eating (true)"]
    widths = [patch.get_width() for patch in panel.patches]
    assert widths == pytest.approx(explanations.probs[1].tolist())
    assert panel.get_xlim() == (0.0, 1.0)
    assert not overlapping(figure, panel.get_yticklabels())
    assert not overlapping(figure, shown_tick_labels(panel, "x"))


def test_default_range_is_the_support_plus_a_margin(explanations: Explanations) -> None:
    attribution = explanations.attribution[0, 0]
    visible = int(np.sum(np.abs(attribution).max(axis=0) >= 1e-3 * np.abs(attribution).max()))
    assert visible == SUPPORT
    assert default_steps(attribution, WINDOW) == 33  # 30 steps + 10 %
    assert default_steps(attribution, WINDOW, relative=0.0) == 33
    assert default_steps(np.zeros_like(attribution), 120) == 120  # all zero: the valid window
    tiny = np.zeros_like(attribution)
    tiny[0, -2:] = 1.0
    assert default_steps(tiny, WINDOW) == 20  # at least 20 steps
    assert default_steps(tiny, 10) == 10  # never into the padding
    figure = explanation_figure(explanations, 0)
    assert _axes(figure, "attribution").images[0].get_array().shape == (len(INPUTS), 33)


def test_steps_option_never_shows_the_padding(explanations: Explanations) -> None:
    whole = explanation_figure(explanations, 0, steps=10_000)
    assert _axes(whole, "attribution").images[0].get_array().shape[1] == WINDOW
    padded = explanation_figure(explanations, 1, steps=10_000)  # window starts 150 steps back
    assert _axes(padded, "attribution").images[0].get_array().shape[1] == 150
    with pytest.raises(FigureError, match="steps"):
        explanation_figure(explanations, 0, steps=0)


def test_spike_raster_marks_every_spike_run(explanations: Explanations) -> None:
    figure = explanation_figure(
        explanations, 0, steps=WINDOW, time_axis=TimeAxis(None, None, "test")
    )
    heat = _axes(figure, "attribution")
    rows = {}
    for collection in heat.collections:
        paths = collection.get_paths()
        centre = float(np.mean(paths[0].vertices[:, 1]))
        rows[round(centre)] = len(paths)
    spikes = explanations.spikes[0]
    assert rows[0] == int(spikes[:, 0].sum())  # isolated spikes: one mark each
    assert rows[1] == 1 and rows[3] == 1  # one run each
    assert 2 not in rows  # no spikes, no marks
    assert heat.get_xlabel() == "step in the test split"


def test_clock_time_axis_for_data_with_a_start_time(explanations: Explanations) -> None:
    start = dt.datetime(2011, 11, 28, 10, 0, 0)
    figure = _drawn(
        explanation_figure(explanations, 0, steps=WINDOW, time_axis=TimeAxis(1.0, start, "test"))
    )
    heat = _axes(figure, "attribution")
    assert heat.get_xlabel() == "clock time (2011-11-28)"
    left, right = heat.get_xlim()
    end = mdates.num2date(right).replace(tzinfo=None)
    assert end == start + dt.timedelta(seconds=1000)  # the right edge is the stamp
    assert mdates.num2date(left).replace(tzinfo=None) == start + dt.timedelta(seconds=800)
    labels = shown_tick_labels(heat, "x")
    assert 3 <= len(labels) <= 7
    assert all(":" in t.get_text() for t in labels)
    assert not overlapping(figure, labels)
    assert "2011-11-28 10:16:39" in figure.get_suptitle()  # the explained step, stamp - 1


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("width", [4.8, 10.0])
def test_no_text_leaves_the_figure_or_hides_a_tick_label(
    explanations: Explanations, compact: bool, width: float
) -> None:
    start = dt.datetime(2011, 11, 28, 23, 58, 0)
    for time_axis in (TimeAxis(1.0, start, "test"), TimeAxis(1e-3, None, "test")):
        figure = explanation_figure(
            explanations, 1, time_axis=time_axis, compact=compact, width=width
        )
        figure.canvas.draw()
        assert not inside_figure(figure, drawn_texts(figure))
        for axes in figure.axes:
            for which in "xy":
                assert not overlapping(figure, shown_tick_labels(axes, which))
        assert len(shown_tick_labels(_axes(figure, "attribution"), "x")) >= 2


def test_long_windows_and_many_inputs_stay_readable() -> None:
    arrays = explanation_arrays()
    n_in, window = 60, 1000
    rng = np.random.default_rng(0)
    arrays["attribution"] = rng.normal(size=(2, 3, n_in, window)).astype(np.float32)
    arrays["spikes"] = (rng.random((2, window, n_in)) < 0.05).astype(np.int8)
    arrays["input_names"] = np.array([f"sensor_{i:02d}" for i in range(n_in)])
    arrays["window_start"] = np.array([0, 100])
    explanations = Explanations.from_arrays(arrays)
    figure = _drawn(explanation_figure(explanations, 0, time_axis=TimeAxis(1e-3)))
    heat = _axes(figure, "attribution")
    assert heat.images[0].get_array().shape == (n_in, window)
    x_labels = shown_tick_labels(heat, "x")
    assert 3 <= len(x_labels) <= 8 and not overlapping(figure, x_labels)
    y_labels = shown_tick_labels(heat, "y")
    assert 10 <= len(y_labels) < n_in  # a subset, by name
    assert all(t.get_text().startswith("sensor_") for t in y_labels)
    assert not overlapping(figure, y_labels)


def test_confidence_over_time_panel(explanations: Explanations) -> None:
    probs = np.tile(np.array([0.5, 0.3, 0.2]), (WINDOW, 1))
    figure = _drawn(
        explanation_figure(explanations, 0, probs_over_time=probs, time_axis=TimeAxis(1e-3))
    )
    panel = _axes(figure, "confidence over time")
    assert len(panel.lines) == len(CLASSES)
    assert panel.get_ylabel() == "confidence"
    assert panel.get_xlabel().startswith("time")
    legend = _axes(figure, "class legend").get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(CLASSES)
    assert not overlapping(figure, shown_tick_labels(panel, "x"))
    with pytest.raises(FigureError, match="probs_over_time"):
        explanation_figure(explanations, 0, probs_over_time=np.ones((5, 2)))


def test_class_and_index_choices(explanations: Explanations) -> None:
    figure = explanation_figure(explanations, 0, class_index=2, steps=50)
    shown = _axes(figure, "attribution").images[0].get_array()
    assert np.allclose(shown, explanations.attribution[0, 2, :, -50:])
    assert explanations.class_index("eating") == 1 and explanations.class_index("2") == 2
    assert explanations.index_of(1100) == 1
    with pytest.raises(ExplanationError, match="unknown class 'cooking'"):
        explanations.class_index("cooking")
    with pytest.raises(ExplanationError, match="out of range"):
        explanations.class_index(3)
    with pytest.raises(ExplanationError, match="stamp 5 is not in this file"):
        explanations.index_of(5)
    with pytest.raises(FigureError, match="index 2 out of range"):
        explanation_figure(explanations, 2)


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")]
)
def test_save_by_suffix(
    explanations: Explanations, tmp_path: Path, suffix: str, magic: bytes
) -> None:
    path = save_figure(explanation_figure(explanations, 0), tmp_path / f"figure{suffix}")
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"figure{suffix}"]  # no temporary left


def test_save_refuses_unknown_formats(explanations: Explanations, tmp_path: Path) -> None:
    with pytest.raises(FigureError, match=r"'\.gif'.*\.png, \.svg or \.pdf"):
        save_figure(explanation_figure(explanations, 0), tmp_path / "figure.gif")


def test_load_round_trip_and_errors(explanation_file: Path, tmp_path: Path) -> None:
    loaded = Explanations.load(explanation_file)
    assert loaded.input_names == INPUTS and loaded.class_names == CLASSES
    assert loaded.meta["variant"] == "ns" and loaded.window == WINDOW
    arrays = explanation_arrays()
    del arrays["spikes"]
    np.savez(tmp_path / "partial.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match="missing keys spikes"):
        Explanations.load(tmp_path / "partial.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match="not a readable"):
        Explanations.load(tmp_path / "junk.npz")
    bad = explanation_arrays()
    bad["probs"] = bad["probs"][:, :2]
    with pytest.raises(DataFormatError, match="'probs' has shape"):
        Explanations.from_arrays(bad)


def test_time_axis_from_data_files(tmp_path: Path) -> None:
    def data_file(name: str, meta: dict[str, object]) -> Path:
        series = SpikeSeries(
            spikes=np.zeros((100, 2), dtype=np.int8),
            labels=np.zeros(100, dtype=np.int8),
            input_names=("a", "b"),
            class_names=("c",),
            splits={"train": (0, 60), "test": (60, 100)},
            meta=meta,
        )
        return series.save(tmp_path / name)

    adl = data_file(
        "adl.npz", {"dataset": "adl", "start_time": "2011-11-28T02:27:59", "resolution_s": 1}
    )
    axis = time_axis_from_data(adl, "test")
    assert axis.start == dt.datetime(2011, 11, 28, 2, 28, 59) and axis.step_seconds == 1.0
    synthetic = data_file("synthetic.npz", {"dataset": "synthetic"})
    assert time_axis_from_data(synthetic, "test") == TimeAxis(1e-3, None, "test")
    other = data_file("other.npz", {"dataset": "mine"})
    assert time_axis_from_data(other, "train").step_seconds is None
    with pytest.raises(FigureError, match="no split 'val'"):
        time_axis_from_data(adl, "val")
    with pytest.raises(FigureError, match="cannot read"):
        time_axis_from_data(tmp_path / "absent.npz", "test")


def test_figures_leave_no_pyplot_state(explanation_file: Path, tmp_path: Path) -> None:
    """Building and saving figures never imports pyplot (no global figure registry)."""
    code = (
        "import sys\n"
        "from spikeattr.viz import Explanations, explanation_figure, save_figure\n"
        f"figure = explanation_figure(Explanations.load({str(explanation_file)!r}), 0)\n"
        f"save_figure(figure, {str(tmp_path / 'f.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_a_tiny_scale_goes_in_the_colour_bar_label_not_over_the_title() -> None:
    arrays = explanation_arrays()
    arrays["attribution"] = arrays["attribution"] * 1.5e-5  # largest |value|: 3e-5
    figure = _drawn(explanation_figure(Explanations.from_arrays(arrays), 0, class_index=1))
    colour_bar = _axes(figure, "colour bar")
    assert colour_bar.get_ylabel() == "attribution (× 1e-5)"
    assert colour_bar.yaxis.get_offset_text().get_text() == ""
    values = [float(t.get_text()) for t in shown_tick_labels(colour_bar, "y")]
    assert max(values) <= 3.0 and max(values) >= 1.0  # ticks in units of 1e-5
    assert not overlapping(figure, [*drawn_texts(figure)])
