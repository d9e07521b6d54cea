"""The live view renders the prediction, the timeline and the attribution bars (no terminal)."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from spikeattr.data.adl import encode_subject
from spikeattr.explain.online import OnlineExplainer
from spikeattr.snn import load_model
from spikeattr.viz.live import LiveView


def _text(view: LiveView) -> str:
    console = Console(record=True, width=110, file=io.StringIO(), color_system=None)
    console.print(view.render())
    return console.export_text()


def test_a_frame_shows_prediction_timeline_changes_and_bars() -> None:
    model = load_model("published:adl_3L")
    spikes = encode_subject(None, "A", compat="reference").split("test").spikes[24_000:26_000]
    explainer = OnlineExplainer(model, variant="ns")
    view = LiveView(
        model.input_names,
        model.class_names,
        "adl_3L · TSA-NS",
        history=40,
        clock=lambda offset: f"t+{offset:.0f}s",
    )
    assert "waiting for the first step" in _text(view)
    previous = None
    for start in range(0, 2000, 500):
        chunk = explainer.feed(spikes[start : start + 500], maps="predicted")
        view.update(chunk, np.arange(start, start + 500, dtype=np.float64), previous)
        previous = int(chunk.predicted[-1])
    text = _text(view)
    predicted = model.class_names[previous]
    lines = text.splitlines()
    assert f"now  {predicted}  p = {chunk.probs[-1, previous]:.3f}" in text
    assert "step 1,999" in text and "t+1999s" in text
    assert "last 40 steps  " + "▇" * 40 in text
    # the last five changes, newest first
    changes = [line for line in lines if "→" in line]
    assert len(changes) == 5 and f"→ {predicted}" in changes[0]
    # one bar per channel, its sign and its strongest step
    totals = chunk.explanation[-1].sum(axis=1, dtype=np.float64)  # type: ignore[union-attr]
    assert f"why {predicted}: attribution per channel" in text
    for name, total in zip(model.input_names, totals.tolist(), strict=True):
        row = next(line for line in lines if line.startswith(f"│  {name} "))
        drawn = abs(total) >= np.abs(totals).max() / 48  # at least half a cell of 24
        assert f"{total:+.3g}" in row and ("█" in row) == drawn
        assert "strongest" in row
    assert "spikeattr stream · adl_3L · TSA-NS" in lines[0] and "Ctrl-C to quit" in lines[-1]
