"""Markdown that shows names as text: the escaping every Markdown file of spikeattr goes through.

``summary.md`` and ``report.md`` show model names, paths, class and method names and error
messages, all of which a user (or whoever sent them a checkpoint) chose. A Markdown viewer
renders raw HTML and follows links, so a checkpoint named ``<img src=x onerror=alert(1)>.json``
would run script there, and a ``|`` in a name would split a table cell. :func:`markdown_text`
turns any value into inline text that renders as exactly that text:

* ``<``, ``>`` and ``&`` become the entities ``&lt;``, ``&gt;``, ``&amp;`` (no raw HTML, no
  autolink ``<http://...>``, no entity smuggled in);
* ``\\``, a backtick, ``[``, ``]`` and ``|`` are backslash-escaped (no code span, no link or
  image, no extra table cell);
* line breaks and other control characters become spaces (a name cannot start a new block).

Text that spikeattr made itself and that is Markdown already (a number with its interval,
``0.089 [0.083, 0.100]``, as in ``summary.md``) is marked :class:`Markdown` and written as is,
as markupsafe's ``Markup`` is in HTML.

Examples:
    >>> markdown_text("<img src=x onerror=alert(1)>|[x](y)")
    '&lt;img src=x onerror=alert(1)&gt;\\\\|\\\\[x\\\\](y)'
    >>> print(markdown_table(("model", "score"), [("a|b", "0.5")]), end="")
    | model | score |
    |---|---|
    | a\\|b | 0.5 |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKSLASHED = frozenset("\\`[]|")


class Markdown(str):
    """Markdown made by spikeattr from trusted values (formatted numbers), never from a name;
    :func:`markdown_text` returns it unchanged."""

    __slots__ = ()


def markdown_text(value: object) -> str:
    """``str(value)`` as Markdown inline text that renders as itself (see the module docs);
    a :class:`Markdown` value is returned as it is."""
    if isinstance(value, Markdown):
        return str(value)
    out = []
    for char in str(value):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _BACKSLASHED:
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def markdown_table(headings: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-style pipe table; every heading and cell goes through :func:`markdown_text`
    (so only a :class:`Markdown` cell keeps its brackets unescaped)."""
    lines = ["| " + " | ".join(markdown_text(h) for h in headings) + " |"]
    lines.append("|" + "---|" * len(headings))
    lines += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
