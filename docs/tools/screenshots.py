"""Make the two screenshots of the documentation, in headless Chromium.

* ``docs/tutorial_figure.png``: the tutorial's explanation figure as the notebook shows it. The
  notebook is executed (nbclient, in a temporary folder), and its cell tagged
  ``explanation-figure`` (code and output) is rendered on a notebook-like page and captured.
* ``docs/site_page.png``: a page of the built site (``mkdocs build --strict`` into a temporary
  folder, served on 127.0.0.1), captured after checking that the page requested nothing from
  any other host and logged no error.

Run from the repository root with the ``docs`` extra installed and Chromium on ``PATH`` (or
``SPIKEATTR_CHROMIUM``): ``python docs/tools/screenshots.py``. Uses the standard-library
DevTools driver of the tests (``tests/viz/chromium.py``).
"""

from __future__ import annotations

import functools
import html
import http.server
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.viz.chromium import Chromium, find_chromium  # noqa: E402

DOCS = ROOT / "docs"
FIGURE_TAG = "explanation-figure"
SITE_PAGE = "getting-started.html#draw-it-one-call-in-a-notebook-or-a-script"

CELL_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #fff; font-family: system-ui, sans-serif; }}
.cell {{ display: inline-block; padding: 16px 20px; }}
.row {{ display: flex; gap: 10px; align-items: flex-start; }}
.prompt {{ width: 52px; text-align: right; color: #303f9f; font: 13px monospace;
          padding-top: 9px; }}
.prompt.out {{ color: #d84315; }}
pre {{ margin: 0; padding: 8px 12px; background: #f5f5f5; border: 1px solid #e0e0e0;
      border-radius: 2px; font: 13px/1.4 monospace; width: 1000px; white-space: pre-wrap; }}
img {{ width: 1000px; margin-top: 6px; }}
</style></head><body><div class="cell" id="cell">
<div class="row"><div class="prompt">[{count}]:</div><pre>{source}</pre></div>
<div class="row"><div class="prompt out">[{count}]:</div>
<img src="data:image/png;base64,{png}"></div>
</div></body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site without logging every request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def executed_figure_cell(workdir: Path) -> nbformat.NotebookNode:
    """The tutorial's tagged cell after running the notebook up to it in ``workdir``."""
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    index = next(
        i
        for i, cell in enumerate(notebook.cells)
        if FIGURE_TAG in cell.get("metadata", {}).get("tags", [])
    )
    notebook.cells = notebook.cells[: index + 1]
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(workdir)}}).execute()
    return notebook.cells[index]


def clip_of(browser: Chromium, selector: str) -> dict[str, float]:
    box = browser.evaluate(
        f"(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
    )
    return {key: float(value) for key, value in box.items()}


def tutorial_figure(browser: Chromium, workdir: Path) -> Path:
    cell = executed_figure_cell(workdir)
    image = next(o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {}))
    page = workdir / "cell.html"
    page.write_text(
        CELL_PAGE.format(
            count=cell.execution_count, source=html.escape(cell.source), png=image.strip()
        ),
        encoding="utf-8",
    )
    browser.open(page.as_uri(), width=1140, height=800)
    target = DOCS / "tutorial_figure.png"
    target.write_bytes(browser.screenshot(clip_of(browser, "#cell")))
    return target


def site_page(browser: Chromium, workdir: Path) -> Path:
    site = workdir / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        check=True,
    )
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = f"http://127.0.0.1:{server.server_address[1]}/"
        browser.open(local + SITE_PAGE, width=1280, height=900)
        time.sleep(1.5)  # the header's title fades between the site's and the page's name
        problems = [p for p in browser.problems() if not p.startswith(f"network request: {local}")]
        if problems:
            raise SystemExit("the site page has problems:\n" + "\n".join(problems))
        target = DOCS / "site_page.png"
        target.write_bytes(browser.screenshot())
    finally:
        server.shutdown()
    return target


def main() -> None:
    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found: put it on PATH or set SPIKEATTR_CHROMIUM")
    with (
        tempfile.TemporaryDirectory(prefix="spikeattr-docs-") as folder,
        Chromium(executable) as browser,
    ):
        for made in (tutorial_figure(browser, Path(folder)), site_page(browser, Path(folder))):
            print(f"wrote {made.relative_to(ROOT)} ({made.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
