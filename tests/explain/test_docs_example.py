"""The code of docs/explain_your_own_snn.md runs as pasted and does what the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "explain_your_own_snn.md"


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_documented_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("snntorch")
    pytest.importorskip("norse.torch")
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "expected the snnTorch and the Norse example"
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks:  # one session, as a reader pasting them in turn
        exec(compile(block, str(DOC), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 100)
    assert float(result.explanation.abs().max()) > 0
    maps = namespace["maps"]
    assert isinstance(maps, torch.Tensor) and tuple(maps.shape) == (1, 4, 3, 100)
    out = capsys.readouterr().out
    assert "predicted:" in out and "x0_bias" in out
    assert "beta per layer: [0.9, 0.9]" in out
