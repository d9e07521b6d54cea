"""The Python examples of the documentation's pages run as pasted (each page's blocks in order,
in one namespace, as a reader pastes them into one session) and give what they promise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _run(page: str) -> dict[str, Any]:
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks, page
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks:
        exec(compile(block, str(DOCS / page), "exec"), namespace)
    return namespace


def test_getting_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = _run("getting-started.md")
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 1000)
    assert tuple(result.explanation.shape) == (1, 3, 1000)
    assert namespace["stamps"].values.shape == (2, 4, 3, 1000)
    assert namespace["prediction"].predicted.shape == (270_000,)
    assert isinstance(namespace["figure"], Figure) and (tmp_path / "stamp8170.png").is_file()


def test_live_explanation() -> None:
    namespace = _run("live.md")
    step, chunk = namespace["step"], namespace["chunk"]
    assert step.attribution.shape == (11, 14, 53) and step.probs.shape == (11,)
    assert chunk.attribution.shape == (599, 11, 14, 53) and chunk.start == 1
    assert chunk.moved.shape[1:] == (14, 53) and len(chunk.changes) == chunk.moved.shape[0]
    assert namespace["explainer"].steps_seen == 0  # reset at the end
    exact = namespace["exact"]  # the exact online explainer's example
    assert exact.steps_seen == 200 and exact.support == 100


def test_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = _run("training.md")
    result, saved = namespace["result"], namespace["saved"]
    assert result.checkpoint is None and result.epochs_run == 3
    assert [h["train_loss"] for h in saved.history] == [h["train_loss"] for h in result.history]
    assert saved.checkpoint == Path("runs/api-2L/model.json") and saved.checkpoint.is_file()


def test_exact_attribution_page() -> None:
    """The exact LIF page's example gives float64 maps of the promised shape, whose plain-rule
    version conserves the contrastive target."""
    import torch

    from spikeattr.explain.exact_attribution import ExactLIFAttribution

    namespace = _run("exact.md")
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 500)
    assert result.values.dtype == torch.float64
    plain = ExactLIFAttribution(namespace["model"], reference="none")
    values = plain.attribute(namespace["spikes"]).values
    assert plain.last_target is not None
    total = values.sum(dim=(2, 3)).numpy()
    assert abs(total - plain.last_target).max() < 1e-9 * (1 + abs(plain.last_target).max())
