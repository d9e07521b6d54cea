"""The README opens with the two commands CI runs, both installing the exact versions of
constraints.txt, which pins everything they pull in; its Python API example runs as pasted and
gives the shapes it promises (the other examples live in docs/, run by tests/docs)."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

README = Path(__file__).resolve().parents[1] / "README.md"
CONSTRAINTS = README.parent / "constraints.txt"


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
    # every install, the README's and CI's, takes the committed exact versions
    installs = [p for c in commands for p in c.split(" && ") if p.startswith("python -m pip")]
    # CI's own: the README's two, the build tools, and the wheel into its venv outside the clone
    installs += re.findall(r"^\s*(\S*python\"? -m pip install .*)$", ci, re.M)
    assert len(installs) == 7
    assert [p for p in installs if "-c constraints.txt " not in p] == []


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.!]+", version), f"not an exact pin: {line}"
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.skipif(
    os.environ.get("SPIKEATTR_CI_LATEST") == "1", reason="CI's latest mode installs no constraints"
)
def test_the_constraints_pin_everything_the_test_install_pulls_in() -> None:
    """constraints.txt pins, exactly, every distribution that ``spikeattr[dev]`` requires here,
    directly or not, and the two the README names (torch's CPU build, Norse): a dependency added
    to pyproject.toml without refreshing the file fails here, not later on a fresh machine."""
    pins = _pins()
    assert pins["torch"] == "2.13.0" and pins["norse"] == "1.1.0"
    assert not [name for name in pins if name.startswith("nvidia-")]  # the CPU build needs none
    assert "spikeattr" not in pins  # the project itself is installed from the checkout
    needed, todo = set(), [("spikeattr", frozenset({"dev"}))]
    while todo:
        name, extras = todo.pop()
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                continue
            key = canonicalize_name(requirement.name)
            if key not in needed:
                needed.add(key)
                todo.append((requirement.name, frozenset(requirement.extras)))
    assert len(needed) > 80
    assert sorted(needed - set(pins)) == [], "installed with spikeattr[dev] but not pinned"
