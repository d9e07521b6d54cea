"""What ``spikeattr ... --help`` prints: every command of the app, walked from its click tree.

Flags show no value, arguments and values read as upper-case names (``RUN_DIR``, ``PATH``),
and square brackets in help texts survive rich's markup.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from spikeattr.cli import app

runner = CliRunner()

#: Wide enough that rich wraps no help text: a phrase is found on one line.
WIDE = {"COLUMNS": "1000"}


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path, groups included (typer's commands are its own vendored click's)."""
    paths = [path]
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            paths += _command_paths(sub, (*path, name))
    return paths


ROOT = typer.main.get_command(app)
COMMANDS = _command_paths(ROOT)


def _command(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.commands[name]
    return command


def _help(*path: str) -> str:
    result = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_finds_every_command() -> None:
    assert len(COMMANDS) > 20
    for path in [(), ("data", "adl"), ("explain-series",), ("plot", "explanation"), ("stream",)]:
        assert path in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "spikeattr")
def test_help_shows_no_type_tags_and_no_braces(path: tuple[str, ...]) -> None:
    text = _help(*path)
    assert "<bool>" not in text
    assert re.findall(r"<[a-z\[\]]+>", text) == []  # no <str>, <path>, <list[int]>
    assert re.findall(r"\{\w+\}", text) == []  # no {run_dir}
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    for param in _command(path).params:
        if isinstance(param, TyperArgument):
            name = param.name.upper() if param.name else ""
            assert name in usage, (name, usage)
            assert name in text.split("Usage:", 1)[1].split("\n", 2)[2], name


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "spikeattr")
def test_flags_show_no_value_and_values_read_upper_case(path: tuple[str, ...]) -> None:
    text = _help(*path)
    lines = [line for line in text.splitlines() if line.startswith("│")]  # the panels' rows
    for param in _command(path).params:
        if not isinstance(param, TyperOption) or param.hidden:
            continue
        opt = param.opts[0]
        row = next(line for line in lines if re.search(rf"{re.escape(opt)}(\s|,|$)", line))
        tokens = row.split(opt, 1)[1].replace("│", " ").split()
        while tokens and tokens[0].startswith("-"):  # its short and negative names
            tokens.pop(0)
        if param.is_flag:  # the help text comes next, no value
            assert tokens[:1] == (param.help or "").split()[:1], (opt, row)
        else:
            assert re.fullmatch(r"[A-Z][A-Z_]*(\.\.\.)?", tokens[0]), (opt, row)


def test_root_help_flags_have_no_value() -> None:
    text = _help()
    row = next(line for line in text.splitlines() if "--version" in line)
    assert row.split("--version", 1)[1].split()[0] == "Print"


def test_argument_reads_as_run_dir() -> None:
    text = _help("report")
    assert "Usage: spikeattr report [OPTIONS] RUN_DIR" in text
    assert "RUN_DIR" in text.split("Arguments", 1)[1]


@pytest.mark.parametrize("path", [("evaluate",), ("benchmark",), ("explain",)])
def test_square_brackets_in_help_survive_rich_markup(path: tuple[str, ...]) -> None:
    assert "spikeattr[dask]" in _help(*path)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "spikeattr")
def test_every_bracketed_phrase_of_a_help_text_is_printed(path: tuple[str, ...]) -> None:
    command = _command(path)
    texts = [param.help or "" for param in command.params if isinstance(param, TyperOption)]
    phrases = [p for t in texts for p in re.findall(r"\[[^\[\]]*\]", t)]
    text = _help(*path)
    for phrase in phrases:
        assert phrase.replace("\\[", "[") in text, phrase


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_every_summary_is_one_whole_sentence(path: tuple[str, ...]) -> None:
    """The line a command gets in its group's list is its help's first paragraph: one sentence
    on one line, ending with a full stop (a summary broken over several docstring lines shows
    those breaks mid-sentence in the list)."""
    text = _command(path).help or ""
    first = text.strip().split("\n\n")[0]
    assert "\n" not in first.strip(), first
    assert first.strip().endswith("."), first
    listed = _help(*path[:-1])
    assert first.strip() in " ".join(listed.split())
