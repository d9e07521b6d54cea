"""The viz package stays in small modules of one job each (STYLE.md: a module over ~500 lines
usually hides two)."""

from __future__ import annotations

from pathlib import Path

import spikeattr.viz

LIMIT = 400


def test_every_viz_module_is_under_the_limit() -> None:
    folder = Path(spikeattr.viz.__file__).parent
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.py")}
    assert {"explanation.py", "timeaxis.py", "figures.py", "report.py", "gallery.py"} <= set(sizes)
    assert {name: n for name, n in sizes.items() if n >= LIMIT} == {}
