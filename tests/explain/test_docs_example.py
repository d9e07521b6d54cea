"""The README's "Explain your own SNN" examples run as pasted and do what the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Explain your own SNN"


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    blocks = python_blocks(text[start:end])
    assert len(blocks) == 4, "expected the snnTorch and Norse examples, dense and convolutional"
    return blocks


def test_the_documented_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in _blocks()[:2]:  # one session, as a reader pasting them in turn
        exec(compile(block, str(README), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 100)
    assert float(result.explanation.abs().max()) > 0
    maps = namespace["maps"]
    assert isinstance(maps, torch.Tensor) and tuple(maps.shape) == (1, 4, 3, 100)
    out = capsys.readouterr().out
    assert "predicted:" in out and "x0_bias" in out
    assert "beta per layer: [0.9, 0.9]" in out


def test_the_convolutional_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in _blocks()[2:]:  # a session of their own
        exec(compile(block, str(README), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 10, 2, 16, 16, 100)
    assert tuple(result.explanation.shape) == (1, 2, 16, 16, 100)
    assert float(result.explanation.abs().max()) > 0
    assert tuple(namespace["maps"].shape) == (1, 10, 2, 16, 16, 100)
    out = capsys.readouterr().out
    assert "maps of all classes: (1, 10, 2, 16, 16, 100)" in out
    assert "maps: (1, 10, 2, 16, 16, 100)" in out and "pixel with the largest attribution" in out
