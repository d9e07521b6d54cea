"""Figures of maps over an input grid: the frame strip, the animated GIF, and the report's
gallery, which shows the GIF for explanation files of shaped inputs."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spikeattr.data.events import generate_events
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.explain.files import Explanations
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.snn import ConvLIFNetwork, save_checkpoint
from spikeattr.viz.figures import FigureError
from spikeattr.viz.frames import (
    colour_limit,
    explanation_frames,
    frame_groups,
    frame_strip_figure,
    frames_gif,
)
from spikeattr.viz.report import build_report

from .conftest import copy_run

GALLERY = Path("gallery") / "published_synthetic_1L"


def _map(steps: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """A map ``[2, 5, 6, T]`` growing towards the explained step, and its spikes."""
    attribution = np.zeros((2, 5, 6, steps))
    attribution[1, 2, 3] = np.linspace(0.0, 1.0, steps)
    attribution[0, 0, 0, -1] = -0.5
    spikes = np.zeros((steps, 2, 5, 6), dtype=np.int8)
    spikes[:, 1, 2, 3] = 1
    return attribution, spikes


def test_frame_groups_end_at_the_explained_step() -> None:
    groups = frame_groups(100, 10, 4)
    assert groups[-1].stop == 100 and groups[0].start == 90
    assert sum(len(g) for g in groups) == 10 and len(groups) == 4
    assert frame_groups(5, 50, 8) == [range(i, i + 1) for i in range(5)]


def test_the_strip_has_one_frame_per_group_and_the_probability_panel() -> None:
    attribution, spikes = _map()
    figure = frame_strip_figure(
        attribution, spikes, np.array([0.2, 0.8]), ("a", "b"), 1, 0, 1, frames=4, steps=12
    )
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[:4] == ["t-11…t-9", "t-8…t-6", "t-5…t-3", "t-2…t-0"]
    frames = [axes for axes in figure.axes if axes.images]
    assert len(frames) == 4
    last = frames[-1].images[0].get_array()
    assert last[2, 3] == pytest.approx(attribution[1, 2, 3, -3:].sum())  # summed over steps
    assert any("confidence" in axes.get_title(loc="left") for axes in figure.axes)


def test_one_strong_frame_does_not_whiten_the_others() -> None:
    heats = np.zeros((4, 2, 2))
    heats[0, 0, 0], heats[1, 1, 1], heats[2, 0, 1] = 1.0, -8.0, 2.0  # frame 3 is empty
    assert colour_limit(heats) == (2.0, True)  # the median of the frames' peaks
    assert colour_limit(np.zeros((2, 3, 3))) == (1.0, False)


def test_wrong_shapes_are_refused() -> None:
    attribution, spikes = _map()
    with pytest.raises(FigureError, match="spikes must have shape"):
        frame_strip_figure(attribution, spikes[:, :1])
    with pytest.raises(FigureError, match=r"\[channels, height, width, T\]"):
        frame_strip_figure(attribution[0, 0], spikes)


def test_the_gif_has_a_frame_per_step_of_the_support(tmp_path: Path) -> None:
    attribution, spikes = _map(steps=80)
    data = frames_gif(attribution, spikes, tmp_path / "map.gif", steps=20)
    assert data[:6] == b"GIF89a" and (tmp_path / "map.gif").read_bytes() == data
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 20
    with Image.open(io.BytesIO(frames_gif(attribution, spikes))) as image:
        assert image.n_frames == 60  # the visible support is longer: its last 60 steps


def _gif_cells(html: str) -> list[bytes]:
    return [
        base64.b64decode(m) for m in re.findall(r"data:image/gif;base64,([A-Za-z0-9+/=]+)", html)
    ]


def test_the_gallery_shows_a_gif_for_shaped_inputs(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    path = run / GALLERY / "ns.npz"
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "input_shape": [1, 1, 3]}))
    np.savez(path, **arrays)  # type: ignore[arg-type]
    explanations = Explanations.load(path)
    attribution, spikes, target = explanation_frames(explanations, 0)
    assert attribution.shape[:3] == (1, 1, 3) and spikes.shape[1:] == (1, 1, 3)
    assert target == int(explanations.target[0])
    result = build_report(run)
    gifs = _gif_cells(result.html.read_text())
    assert len(gifs) == 3 and all(g[:6] == b"GIF89a" for g in gifs)  # TSA-NS: one per class
    assert result.html.read_text().count("data:image/png;base64,") > 3  # TSA-S as before
    with pytest.raises(FigureError, match="records no input_shape"):
        explanation_frames(Explanations.load(run / GALLERY / "s.npz"), 0)


def test_an_evaluation_run_of_a_convolutional_model_reports_gifs(tmp_path: Path) -> None:
    series = generate_events(seed=4, grid=8, splits={"train": 200, "test": 400}, noise=0.02).series
    data = series.save(tmp_path / "frames.npz")
    net = ConvLIFNetwork(
        series.input_shape or (),
        ["conv 4 3 stride=2", "lif", "flatten", "linear 10", "lif"],
        tau_mem=2e-2,
        input_names=series.input_names,
        class_names=series.class_names,
        seed=0,
    )
    with torch.no_grad():
        net.weights[0].mul_(4.0)
    model = save_checkpoint(net, tmp_path / "conv.json")
    labels = series.split("test").labels
    stamps = [int(np.flatnonzero(labels == c)[-1]) + 1 for c in np.unique(labels)[:2]]
    config = EvaluationConfig(
        models=[str(model)],
        methods=["ns"],
        data=str(data),
        data_sha256=series.checksums()["X_sha256"],
        split="test",
        stamps=stamps,
        window=60,
        controls=["permuted"],
        control_draws=1,
        metrics=MetricSettings(budgets=[10], fractions=[0.05], draws=1),
    )
    run_evaluation(config, series, tmp_path / "run")
    gifs = _gif_cells(build_report(tmp_path / "run").html.read_text())
    assert len(gifs) == 2 and all(g[:6] == b"GIF89a" for g in gifs)


def test_an_in_memory_result_of_shaped_inputs_plots_as_a_frame_strip() -> None:
    """``Attribution.plot`` and ``Explanations.from_result`` take maps ``[B, C, *shape, T]`` and
    windows ``[B, T, *shape]``: the figure is the frame strip, the file keeps flat maps."""
    import spikeattr.viz  # noqa: F401  (registers the renderers)
    from spikeattr.explain import TemporalSpikeAttribution

    layers = ["conv 3 3 stride=2", "lif", "flatten", "linear 3", "lif"]
    network = ConvLIFNetwork((2, 8, 8), layers, tau_mem=5e-3, seed=0)
    window = torch.rand(2, 20, 2, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.3
    result = TemporalSpikeAttribution(network, variant="ns").attribute(window.float())
    assert tuple(result.values.shape) == (2, 3, 2, 8, 8, 20)
    assert "3 classes x 2 x 8 x 8 inputs x 20 steps" in result.describe()
    explanations = Explanations.from_result(result, window)
    assert explanations.attribution.shape == (2, 3, 128, 20)
    assert explanations.input_shape == (2, 8, 8)
    np.testing.assert_array_equal(
        explanations.attribution[1], result.values[1].flatten(1, 3).numpy()
    )
    figure = result.plot(window, index=1)
    grids = [
        axes for axes in figure.axes if axes.images and axes.images[0].get_array().shape == (8, 8)
    ]
    assert len(grids) >= 4  # one panel per group of steps, over the 8 x 8 grid
