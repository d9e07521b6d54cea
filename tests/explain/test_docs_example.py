"""The "Explain your own SNN" and "Convolutional networks" pages' examples run as pasted and do
what the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
from matplotlib.figure import Figure

DOCS = Path(__file__).resolve().parents[2] / "docs"


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _blocks(page: str, count: int) -> list[str]:
    blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"))
    assert len(blocks) == count, f"expected the snnTorch and Norse examples of {page}"
    return blocks


def test_the_documented_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in _blocks("own-snn.md", 4):  # one session, as a reader pasting them in turn
        exec(compile(block, str(DOCS / "own-snn.md"), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 100)
    assert float(result.explanation.abs().max()) > 0
    exact, exact_result = namespace["exact"], namespace["exact_result"]
    assert exact_result.values.dtype == torch.float64
    assert tuple(exact_result.values.shape) == (1, 4, 3, 100)
    assert float(exact_result.explanation.abs().max()) > 0 and exact.last_absorbed is not None
    maps = namespace["maps"]
    assert isinstance(maps, torch.Tensor) and tuple(maps.shape) == (1, 4, 3, 100)
    out = capsys.readouterr().out
    assert "predicted:" in out and "x0_bias" in out
    assert "beta per layer: [0.9, 0.9]" in out
    assert "explained:" in out and "| biases:" in out
    assert isinstance(namespace["figure"], Figure)  # "Draw it"


def test_the_convolutional_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in _blocks("conv.md", 2):  # a session of their own
        exec(compile(block, str(DOCS / "conv.md"), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 10, 2, 16, 16, 100)
    assert tuple(result.explanation.shape) == (1, 2, 16, 16, 100)
    assert float(result.explanation.abs().max()) > 0
    assert tuple(namespace["maps"].shape) == (1, 10, 2, 16, 16, 100)
    out = capsys.readouterr().out
    assert "maps of all classes: (1, 10, 2, 16, 16, 100)" in out
    assert "maps: (1, 10, 2, 16, 16, 100)" in out and "pixel with the largest attribution" in out
