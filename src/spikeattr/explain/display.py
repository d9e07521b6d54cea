"""How explanation results draw themselves, although the explain stage never imports viz.

Data flows one way, ``data -> snn -> explain -> evaluate -> viz``: results are data here, and
figures are drawn in :mod:`spikeattr.viz`. Yet a notebook user wants ``result.plot(spikes)`` on
the result in hand, and Jupyter wants the result to display itself. This module inverts the
dependency: it holds a tiny registry of *renderers*, one per kind of result, that
:mod:`spikeattr.viz` fills when it is imported (``register_renderer``). The results
(:class:`~spikeattr.explain.attribution.Attribution`,
:class:`~spikeattr.explain.stamps.StampExplanations`,
:class:`~spikeattr.explain.series.SeriesExplanation`,
:class:`~spikeattr.explain.files.Explanations`) mix in :class:`Displayable`, whose ``plot``
looks the renderer up and calls it; nothing here knows how a figure is drawn.

Usage::

    import spikeattr.viz  # registers the renderers (once per process)

    result = TemporalSpikeAttribution(model, variant="ns").attribute(spikes)
    figure = result.plot(spikes, class_names=..., input_names=...)  # a matplotlib Figure

Without ``import spikeattr.viz``, ``plot`` raises :class:`RendererMissingError` saying so, and
in Jupyter the results show as their one-line text (``__repr__``), never an error. With it,
Jupyter shows the one-line summary above a small, low-resolution preview figure
(``_repr_html_``); a terminal only ever asks for ``__repr__``, so nothing is drawn there.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from spikeattr.errors import ExplanationError

#: The kinds of results that can be drawn, and the class of each.
KINDS: dict[str, str] = {
    "attribution": "spikeattr.explain.attribution.Attribution",
    "stamps": "spikeattr.explain.stamps.StampExplanations",
    "series": "spikeattr.explain.series.SeriesExplanation",
    "explanations": "spikeattr.explain.files.Explanations",
}


class RendererMissingError(ExplanationError):
    """No renderer is registered for a kind of result: ``import spikeattr.viz`` first."""


@dataclass(frozen=True)
class Renderer:
    """How one kind of result is drawn.

    Attributes:
        plot: ``plot(result, *args, **kwargs)`` returns a :class:`matplotlib.figure.Figure`;
            its arguments are those of the result's ``plot`` method.
        preview: ``preview(result)`` returns a small PNG (bytes) for Jupyter.
    """

    plot: Callable[..., Any]
    preview: Callable[[Any], bytes]


_RENDERERS: dict[str, Renderer] = {}


def register_renderer(kind: str, plot: Callable[..., Any], preview: Callable[[Any], bytes]) -> None:
    """Register how results of ``kind`` (a key of :data:`KINDS`) are drawn; replaces any
    earlier renderer of that kind."""
    if kind not in KINDS:
        raise ExplanationError(f"unknown kind of result {kind!r}; kinds: {', '.join(KINDS)}")
    _RENDERERS[kind] = Renderer(plot, preview)


def unregister_renderer(kind: str) -> Renderer | None:
    """Remove the renderer of ``kind`` and return it (``None`` if there was none)."""
    return _RENDERERS.pop(kind, None)


def renderer(kind: str) -> Renderer:
    """The renderer of ``kind``.

    Raises:
        RendererMissingError: none is registered; the message says to ``import spikeattr.viz``.
    """
    found = _RENDERERS.get(kind)
    if found is None:
        raise RendererMissingError(
            f"cannot draw a {KINDS.get(kind, kind).rsplit('.', 1)[-1]}: no renderer is "
            "registered. Run 'import spikeattr.viz' first (the explain stage does not import "
            "the figures; spikeattr.viz registers them when it is imported)"
        )
    return found


class Displayable:
    """Mixin of the results that draw themselves: ``plot`` and the Jupyter preview.

    A subclass sets :attr:`display_kind` and implements :meth:`describe`; its ``plot`` method
    states its own arguments and calls :meth:`_draw` with them.
    """

    display_kind: ClassVar[str]

    def describe(self) -> str:
        """One line saying what the result holds."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    def _draw(self, *args: Any, **kwargs: Any) -> Any:
        """The registered renderer's figure of this result."""
        return renderer(self.display_kind).plot(self, *args, **kwargs)

    def preview_png(self) -> bytes | None:
        """The small PNG preview Jupyter shows; ``None`` without a renderer."""
        found = _RENDERERS.get(self.display_kind)
        return None if found is None else found.preview(self)

    def _repr_html_(self) -> str | None:
        """Jupyter's view: the one-line summary above the PNG preview; ``None`` (so Jupyter
        shows ``__repr__``) without a renderer.

        The only rich representation, so Jupyter draws the preview once per display, and
        terminal IPython, which asks for plain text only, never draws it.
        """
        png = self.preview_png()
        if png is None:
            return None
        text = html.escape(self.describe())
        source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return (
            f'<div class="spikeattr-result"><p><code>{text}</code></p>'
            f'<img src="{source}" alt="{text}"></div>'
        )
