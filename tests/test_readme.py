"""The README opens with the two commands CI runs, and its Python API example runs as pasted and
gives the shapes it promises (the other examples live in docs/, run by tests/docs)."""

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
