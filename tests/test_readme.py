"""The README's Python API example runs as pasted and gives the shapes it promises."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_python_api_example_runs() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", _section("Python API"), re.DOTALL | re.M)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    result = namespace["result"]
    assert tuple(result.values.shape) == (1, 4, 3, 1000)
    assert tuple(result.explanation.shape) == (1, 3, 1000)
    assert namespace["stamps"].values.shape == (2, 4, 3, 1000)
    assert namespace["prediction"].predicted.shape == (270_000,)


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^```bash\n(.*?)\n```", text, re.DOTALL | re.M)[:2]
    assert commands[0].endswith("spikeattr quickstart")
    assert commands[1].endswith("python -m pytest")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    # CI runs the README's test command: the same installs, then pytest
    for part in commands[1].split(" && "):
        assert part.replace("python -m pip install ", "python -m pip install -q ") in ci or (
            part == "python -m pytest" and "python -m pytest" in ci
        ), part


def test_live_explanation_example_runs() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", _section("Live explanation"), re.DOTALL | re.M)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    step, chunk = namespace["step"], namespace["chunk"]
    assert step.attribution.shape == (11, 14, 53) and step.probs.shape == (11,)
    assert chunk.attribution.shape == (599, 11, 14, 53) and chunk.start == 1
    assert chunk.moved.shape[1:] == (14, 53) and len(chunk.changes) == chunk.moved.shape[0]
    assert namespace["explainer"].steps_seen == 0  # reset at the end


def test_training_example_runs(tmp_path: Path, monkeypatch: Any) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", _section("Training and tuning"), re.S | re.M)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    result, saved = namespace["result"], namespace["saved"]
    assert result.checkpoint is None and result.epochs_run == 3
    assert [h["train_loss"] for h in saved.history] == [h["train_loss"] for h in result.history]
    assert saved.checkpoint == Path("runs/api-2L/model.json") and saved.checkpoint.is_file()
