"""One-call plotting of results in memory: the CLI's figure, drawn from each kind of result,
their Jupyter previews, and what happens when nothing registered the figures."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from typer.testing import CliRunner

import spikeattr.viz
from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain import TemporalSpikeAttribution, display
from spikeattr.explain.files import Explanations
from spikeattr.explain.series import SeriesExplanation, explain_series
from spikeattr.explain.stamps import explain_stamps
from spikeattr.explain.tsa import Attribution
from spikeattr.snn import LIFNetwork, load_model
from spikeattr.viz import FigureError, ReportError, read_run, save_figure
from spikeattr.viz.comparable import deletion_figure
from spikeattr.viz.notebook import PREVIEW_DPI, PREVIEW_WIDTH

from .conftest import explanation_arrays

STAMP = 8170
WINDOW = 300


def _axes(figure: Figure, label: str) -> Axes:
    found = [a for a in figure.axes if a.get_label() == label]
    assert len(found) == 1, [a.get_label() for a in figure.axes]
    return found[0]


def _shown_map(figure: Figure) -> np.ndarray:
    """The attribution values the heat map shows, ``[n_in, shown steps]``."""
    return np.asarray(_axes(figure, "attribution").images[0].get_array())


def _png(html: str) -> np.ndarray:
    """The image embedded in a ``_repr_html_``, as an RGBA array."""
    found = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert found is not None, html[:200]
    return np.asarray(matplotlib.image.imread(io.BytesIO(base64.b64decode(found.group(1)))))


def _has_red_and_blue(image: np.ndarray) -> bool:
    red = (image[..., 0] > 0.6) & (image[..., 2] < 0.4)
    blue = (image[..., 2] > 0.6) & (image[..., 0] < 0.4)
    return bool(red.any() and blue.any())


@pytest.fixture(scope="module")
def model() -> LIFNetwork:
    return load_model("published:synthetic_1L")


@pytest.fixture(scope="module")
def window(synthetic_test: SpikeSeries) -> torch.Tensor:
    """The ``WINDOW`` steps before ``STAMP`` of the test split, batch first ``[1, T, 3]``."""
    return torch.from_numpy(synthetic_test.spikes[STAMP - WINDOW : STAMP]).unsqueeze(0)


@pytest.fixture(scope="module")
def result(model: LIFNetwork, window: torch.Tensor) -> Attribution:
    return TemporalSpikeAttribution(model, variant="ns").attribute(window)


def test_result_plot_is_the_cli_figure(
    result: Attribution,
    window: torch.Tensor,
    synthetic_series: SpikeSeries,
    synthetic_test: SpikeSeries,
    tmp_path: Path,
) -> None:
    data = synthetic_series.save(tmp_path / "synthetic.npz")
    runner = CliRunner()
    explain = ["explain", "--model", "published:synthetic_1L", "--data", str(data)]
    options = ["--variant", "ns", "--stamp", str(STAMP), "--window", str(WINDOW)]
    for args in (
        [*explain, *options, "--out", str(tmp_path / "e.npz")],
        ["plot", "explanation", str(tmp_path / "e.npz"), "--out", str(tmp_path / "cli.png")],
    ):
        answer = runner.invoke(app, args)
        assert answer.exit_code == 0, answer.output
    figure = result.plot(window, stamp=STAMP, series=synthetic_test)
    save_figure(figure, tmp_path / "notebook.png")
    # the same figure, pixel for pixel: the same arrays drawn by the same function
    assert (tmp_path / "notebook.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    shown = _shown_map(figure)
    target = int(result.target[0])
    assert np.array_equal(shown, result.values[0, target, :, -shown.shape[1] :].numpy())
    assert "Stamp 8170" in figure.get_suptitle()
    true_class = synthetic_test.class_names[int(synthetic_test.labels[STAMP - 1])]
    assert f"true '{true_class}'" in figure.get_suptitle()
    assert _axes(figure, "attribution").get_xlabel() == "time in the test split (s)"


def test_plot_without_a_series_takes_names_and_counts_steps_in_the_window(
    result: Attribution, window: torch.Tensor
) -> None:
    figure = spikeattr.viz.plot_attribution(
        result,
        window[0],  # [T, n_in] for one sample
        class_names=["a", "b", "c", "d"],
        input_names=["door", "fridge", "bed"],
        class_index="c",
        steps=40,
    )
    heat = _axes(figure, "attribution")
    assert [t.get_text() for t in heat.get_yticklabels()] == ["door", "fridge", "bed"]
    assert np.array_equal(_shown_map(figure), result.values[0, 2, :, -40:].numpy())
    assert heat.get_xlim() == (WINDOW - 40, WINDOW)  # steps of the window, stamp = T
    # the caller's own window, not a stamp of a series: the title names the sample and no
    # stamp the user never gave, and no true class (none is known)
    title = figure.get_suptitle()
    assert title.startswith("Sample 0, explained at the window's last step: predicted '")
    assert "Stamp" not in title and "true" not in title and "step step" not in title
    assert "attribution of class 'c'" in heat.get_title(loc="left")
    labelled = spikeattr.viz.plot_attribution(result, window, 0, label=1, class_names=list("abcd"))
    assert labelled.get_suptitle().endswith(", true 'b'")  # a label given: the true class


def test_one_sample_of_a_batch(model: LIFNetwork, synthetic_test: SpikeSeries) -> None:
    stamps = [8170, 10852]
    batch = torch.stack(
        [torch.from_numpy(synthetic_test.spikes[s - WINDOW : s]) for s in stamps]
    ).float()
    result = TemporalSpikeAttribution(model, variant="s").attribute(batch)
    figure = result.plot(batch, 1, stamp=10852, series=synthetic_test)
    shown = _shown_map(figure)
    assert np.array_equal(shown, result.explanation[1, :, -shown.shape[1] :].numpy())
    assert "Stamp 10852" in figure.get_suptitle()
    with pytest.raises(FigureError, match="index 2 out of range"):
        result.plot(batch, 2)


def test_in_memory_explanations_refuse_what_does_not_fit(
    result: Attribution, window: torch.Tensor, synthetic_test: SpikeSeries
) -> None:
    with pytest.raises(ExplanationError, match=r"\[1, 300, 3\]"):
        Explanations.from_result(result, window[:, :10])
    with pytest.raises(ExplanationError, match="smaller than the window length"):
        Explanations.from_result(result, window, stamps=100)
    with pytest.raises(ExplanationError, match="is stamp 9000 the step after"):
        Explanations.from_result(result, window, stamps=9000, series=synthetic_test)
    with pytest.raises(ExplanationError, match="expected 3 input names"):
        Explanations.from_result(result, window, input_names=["a"])


def test_stamp_explanations_plot(model: LIFNetwork, synthetic_test: SpikeSeries) -> None:
    explained = explain_stamps(model, synthetic_test.spikes, [8170, 10852], window=WINDOW)
    figure = explained.plot(synthetic_test, stamp=10852)
    shown = _shown_map(figure)
    assert np.array_equal(shown, explained.explanation[1, :, -shown.shape[1] :])
    assert "Stamp 10852" in figure.get_suptitle()
    # without the series: no spikes, numbered names, the same map
    bare = explained.plot(index=1)
    assert np.array_equal(_shown_map(bare), shown)
    assert _axes(bare, "attribution").get_yticklabels()[0].get_text() == "input 0"


@pytest.fixture(scope="module")
def series_dir(
    model: LIFNetwork, synthetic_test: SpikeSeries, tmp_path_factory: pytest.TempPathFactory
) -> SeriesExplanation:
    out = tmp_path_factory.mktemp("series") / "explained"
    explain_series(model, synthetic_test.spikes[:3000], out, variant="ns", chunk_size=1000)
    return SeriesExplanation(out)


def test_series_plot_shows_the_predictions_around_the_step_above_its_map(
    series_dir: SeriesExplanation, synthetic_test: SpikeSeries
) -> None:
    part = SpikeSeries(
        spikes=synthetic_test.spikes[:3000],
        labels=synthetic_test.labels[:3000],
        input_names=synthetic_test.input_names,
        class_names=synthetic_test.class_names,
    )
    step = 1500
    figure = series_dir.plot(step, part, span=600)
    shown = _shown_map(figure)
    expected = series_dir.attribution(step)
    predicted, _ = series_dir.predictions(900, 2101)
    assert np.array_equal(shown, expected[predicted[600], :, -shown.shape[1] :])
    timeline = _axes(figure, "timeline")
    lines = {line.get_label(): line for line in timeline.get_lines()}
    assert np.array_equal(lines["predicted class"].get_ydata(), predicted)
    assert np.array_equal(lines["true class"].get_ydata(), part.labels[900:2101].astype(float))
    assert timeline.get_xlim() == (900, 2101)
    assert f"Stamp {step + 1}" in "".join(t.get_text() for t in figure.subfigs[1].texts)
    # the chunk boundary at step 1000 and 2000 is crossed without a seam
    assert series_dir.predictions(999, 1001)[0].tolist() == series_dir.predicted[999:1001].tolist()


def test_explanation_files_plot_themselves(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    np.savez(path, **explanation_arrays())  # type: ignore[arg-type]
    explained = Explanations.load(path)
    figure = explained.plot(stamp=1100, class_index="eating", steps=30)
    assert np.array_equal(_shown_map(figure), explained.attribution[1, 1, :, -30:])
    with pytest.raises(FigureError, match="either index or stamp"):
        explained.plot(0, stamp=1100)
    with pytest.raises(ExplanationError, match="stamp 5 is not in this file"):
        explained.plot(stamp=5)


def test_jupyter_shows_a_summary_and_a_small_preview(
    result: Attribution, series_dir: SeriesExplanation, model: LIFNetwork, window: torch.Tensor
) -> None:
    explained = explain_stamps(model, window[0].numpy(), [WINDOW], window=WINDOW)
    for shown, words in (
        (result, "Attribution (ns) of 1 window: 4 classes x 3 inputs x 300 steps"),
        (explained, "StampExplanations (s) of 1 stamps (300)"),
        (series_dir, "SeriesExplanation (ns) of 3000 steps"),
    ):
        assert words in repr(shown)
        assert "\n" not in repr(shown) and "tensor(" not in repr(shown)
        html = shown._repr_html_()
        assert html is not None and words in html
        image = _png(html)
        assert image.shape[1] == pytest.approx(PREVIEW_WIDTH * PREVIEW_DPI, abs=2)
        assert _has_red_and_blue(image), type(shown).__name__
        assert shown.preview_png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_names_are_escaped_in_the_preview(tmp_path: Path) -> None:
    arrays = explanation_arrays()
    arrays["meta"] = np.array('{"variant": "<b>x</b>"}')
    html = Explanations.from_arrays(arrays)._repr_html_()
    assert html is not None and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.fixture
def no_renderers() -> Iterator[None]:
    """The registry as it is before ``import spikeattr.viz``, restored afterwards."""
    removed = {kind: display.unregister_renderer(kind) for kind in display.KINDS}
    yield
    for kind, found in removed.items():
        if found is not None:
            display.register_renderer(kind, found.plot, found.preview)


def test_without_viz_plot_says_what_to_import_and_jupyter_shows_text(
    result: Attribution, window: torch.Tensor, no_renderers: None
) -> None:
    with pytest.raises(display.RendererMissingError, match=r"import spikeattr\.viz"):
        result.plot(window)
    assert result._repr_html_() is None
    assert result.preview_png() is None
    assert repr(result).startswith("<Attribution (ns)")


def test_the_explain_stage_does_not_import_viz() -> None:
    script = (
        "import sys, torch\n"
        "from spikeattr.explain import TemporalSpikeAttribution\n"
        "from spikeattr.explain.series import SeriesExplanation\n"
        "from spikeattr.snn import load_model\n"
        "r = TemporalSpikeAttribution(load_model('published:synthetic_1L')).attribute("
        "torch.ones(1, 20, 3))\n"
        "assert r._repr_html_() is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('spikeattr.viz', 'matplotlib'))))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"


def test_a_run_plots_the_report_figures(tiny_run: Path) -> None:
    run = read_run(tiny_run)
    figure = run.plot("deletion")
    reference = deletion_figure(run)
    assert [[line.get_ydata().tolist() for line in a.get_lines()] for a in figure.axes] == [
        [line.get_ydata().tolist() for line in a.get_lines()] for a in reference.axes
    ]
    for kind in spikeattr.viz.RUN_FIGURES:
        assert isinstance(run.plot(kind), Figure)
    with pytest.raises(FigureError, match="unknown figure 'roc'"):
        run.plot("roc")
    assert repr(run).startswith(f"<EvaluationRun {tiny_run}: 1 model(s) x 2 method(s) (s, ns)")
    html = run._repr_html_()
    assert "3 stamps; 0 missing file(s)" in html and _png(html).shape[0] > 100
    gallery = run.explanations("published:synthetic_1L", "ns")
    assert isinstance(gallery.plot(), Figure)
    with pytest.raises(ReportError, match="no gallery file"):
        run.explanations("published:synthetic_1L", "sam")
