"""How every command's ``--help`` reads: the command and group classes the app is built with.

typer's own help shows a type tag on every parameter (``--json <bool>``, ``--out <path>``) and
wraps a required argument in braces in the usage line (``report {run_dir}``), and rich reads a
help text's square brackets as markup (``pip install 'spikeattr[dask]'`` printed
``'spikeattr'``). These classes set, once, when typer builds each command:

* flags (``--json``, ``--resume/--no-resume``, ``--help``): no value shown;
* option values: click's upper-case names, ``TEXT``, ``INTEGER``, ``FLOAT``, ``PATH``;
* arguments: their name in upper case (``RUN_DIR``), bare in the usage line when required and
  ``[RUN_DIR]`` when optional, with the value's name beside it in the arguments panel;
* help texts: square brackets escaped for rich, so they print as written.

Every ``typer.Typer`` of the command line takes ``cls=CalmGroup`` and every command
``cls=CalmCommand``; ``tests/test_cli_help.py`` walks the whole app to keep it so.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup

#: typer's type tag (without its ``<>``) -> the upper-case name the help shows for a value.
VALUE_NAMES: dict[str, str] = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "path": "PATH",
    "list[str]": "TEXT",
    "list[int]": "INTEGER",
    "list[float]": "FLOAT",
    "list[path]": "PATH",
}


def value_name(param: Any, ctx: Any) -> str:
    """The upper-case name of ``param``'s value: ``TEXT``, ``INTEGER``, ``PATH``, ..."""
    tag = str(param.display_type(ctx)).strip("<>")
    return VALUE_NAMES.get(tag, tag.upper())


class _Argument(TyperArgument):
    """A positional argument shown as ``RUN_DIR`` (``[RUN_DIR]`` when optional)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return value_name(self, ctx)

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]


def _calm_param(param: Any, ctx: Any, rich: bool) -> None:
    """Give one parameter its help-time metavar and escape its help text (in place)."""
    if param.param_type_name == "argument" and isinstance(param, TyperArgument):
        if param.metavar is None and param.name:
            param.metavar = param.name.upper()
        param.__class__ = _Argument  # same state, the display methods above
    elif param.param_type_name == "option" and param.metavar is None:
        # an empty metavar: typer's help shows it as the value, so a flag shows none
        param.metavar = "" if param.is_flag or param.count else value_name(param, ctx)
    if rich and param.help:
        param.help = escape(param.help)


def _calm(command: Any) -> None:
    """Calm a command's (or group's) own parameters and help text."""
    rich = command.rich_markup_mode == "rich"
    for param in command.params:
        _calm_param(param, None, rich)
    if rich:
        command.help = escape(command.help) if command.help else command.help
        command.short_help = escape(command.short_help) if command.short_help else None


def _calm_help_option(option: Any) -> Any:
    if option is not None and option.metavar is None:
        option.metavar = ""
    return option


class CalmCommand(TyperCommand):
    """A typer command whose help shows no type tags or braces and keeps its brackets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _calm(self)

    def get_help_option(self, ctx: Any) -> Any:
        return _calm_help_option(super().get_help_option(ctx))


class CalmGroup(TyperGroup):
    """A typer group whose help shows no type tags or braces and keeps its brackets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _calm(self)

    def get_help_option(self, ctx: Any) -> Any:
        return _calm_help_option(super().get_help_option(ctx))
