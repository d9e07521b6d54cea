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


def test_explain_your_own_snn(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = _run("own-snn.md")
    assert tuple(namespace["result"].values.shape) == (1, 4, 3, 100)
    assert tuple(namespace["maps"].shape) == (1, 4, 3, 100)
    assert isinstance(namespace["figure"], Figure)
    assert "beta per layer: [0.9, 0.9]" in capsys.readouterr().out


def test_live_explanation() -> None:
    namespace = _run("live.md")
    step, chunk = namespace["step"], namespace["chunk"]
    assert step.attribution.shape == (11, 14, 53)
    assert chunk.attribution.shape == (599, 11, 14, 53)
    assert namespace["explainer"].steps_seen == 0


def test_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = _run("training.md")
    assert namespace["result"].epochs_run == 3
    assert namespace["saved"].checkpoint == Path("runs/api-2L/model.json")


def test_convolutional_networks() -> None:
    namespace = _run("conv.md")
    assert tuple(namespace["result"].values.shape) == (1, 10, 2, 16, 16, 100)
    assert tuple(namespace["maps"].shape) == (1, 10, 2, 16, 16, 100)
    assert tuple(namespace["recent"].shape) == (16, 16)
