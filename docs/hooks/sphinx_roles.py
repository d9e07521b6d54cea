"""Griffe extension: the Sphinx roles of the docstrings become cross-references on the site.

The docstrings name other objects the Sphinx way (``:class:`~spikeattr.explain.tsa.Attribution```,
``:func:`atomic_path```, ``:meth:`Title <spikeattr.x.Y.z>```), which mkdocstrings would show
as literal text. At load time this extension rewrites each role into an *optional* autorefs
cross-reference: a link when the target is documented on the site, plain code otherwise (an
external class, a private helper), never a warning. Targets are resolved as Sphinx does:
a dotted ``spikeattr.`` path as is, a bare name in the object's class, then in its module.

Registered in ``mkdocs.yml`` (``extensions:`` of the Python handler); the source is unchanged.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?P<role>class|func|meth|mod|data|attr|exc|obj|const):`"
    r"(?:(?P<title>[^`<]+?)\s*<(?P<named>[\w.]+)>|(?P<tilde>~?)(?P<target>[\w.]+)(?P<call>\(\))?)`"
)


def _scope(obj: Any) -> tuple[str, str]:
    """The class and module a bare name in ``obj``'s docstring is looked up in."""
    module = obj.module.path
    if obj.is_class:
        return obj.path, module
    parent = obj.parent
    if parent is not None and parent.is_class:
        return parent.path, module
    return module, module


def rewrite(text: str, obj: Any) -> str:
    """``text`` with every Sphinx role replaced by an optional cross-reference."""
    scope, module = _scope(obj)

    def replace(match: re.Match[str]) -> str:
        target = match["named"] or match["target"]
        if match["title"]:
            title = match["title"]
        elif match["tilde"]:
            title = target.rsplit(".", 1)[-1]
        else:
            title = target
        title += match["call"] or ""
        code = f"<code>{html.escape(title)}</code>"
        if target.startswith("spikeattr."):
            identifier = target
        elif "." in target and target[0].islower():
            return code  # another package's object (matplotlib.figure.Figure): no page here
        elif match["role"] in ("meth", "attr") and "." not in target:
            identifier = f"{scope}.{target}"
        else:
            identifier = f"{module}.{target}"
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring when its object is loaded."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value, obj)
