"""Each ``--variant`` option's help lists exactly the names its command accepts.

``spikeattr explain`` (window mode) takes every method of ``METHODS``; ``explain-series`` and
``stream`` the TSA variants and the exact LIF methods; each refuses the others in one line, exit
status 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperOption
from typer.testing import CliRunner

from spikeattr.cli import app

runner = CliRunner()


def _variant_names(help_text: str, known: set[str]) -> set[str]:
    return {
        name for name in known if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", help_text)
    }


def _variant_help(path: tuple[str, ...]) -> str:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    option = next(p for p in command.params if isinstance(p, TyperOption) and "--variant" in p.opts)
    return (option.help or "").replace("\\[", "[")


def test_explain_lists_every_method() -> None:
    from spikeattr.explain.methods import METHODS

    assert _variant_names(_variant_help(("explain",)), set(METHODS)) == set(METHODS)


@pytest.mark.parametrize("command", ["explain-series", "stream"])
def test_series_commands_list_the_tsa_variants_and_the_exact_methods(command: str) -> None:
    from spikeattr.explain.exact_series import EXACT_SERIES_METHODS
    from spikeattr.explain.methods import METHODS
    from spikeattr.explain.tsa import VARIANTS

    names = _variant_names(_variant_help((command,)), set(METHODS) | set(VARIANTS))
    assert names == set(VARIANTS) | set(EXACT_SERIES_METHODS)


def test_explain_series_refuses_a_window_method_in_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "explain-series",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(tmp_path / "absent.npz"),
            "--out",
            str(tmp_path / "out"),
            "--variant",
            "ig",
        ],
        env={"COLUMNS": "1000"},
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "'ig'" in lines[0]
    for name in ("s", "ns", "sam", "lif_z", "lif_ab"):
        assert re.search(rf"(?<![\w-]){name}(?![\w-])", lines[0].split("'ig'", 1)[1]), lines[0]
    assert not (tmp_path / "out").exists()
