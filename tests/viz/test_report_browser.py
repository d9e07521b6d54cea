"""The report in a real browser: headless Chromium driven over the DevTools protocol.

Needs Chromium, found on ``PATH`` or named by ``$SPIKEATTR_CHROMIUM`` (``.ci/run`` installs
Debian's); without it the test fails with an instruction to install it rather than being skipped.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from spikeattr.viz.report import build_report

from .checks import keyed, summary_md_tables
from .chromium import CHROMIUM_ENV, INSTALL_HINT, Chromium, find_chromium

WIDTH, HEIGHT = 1400, 1000

IMAGES = """Array.from(document.images).map(i => ({
  source: i.getAttribute('src').slice(0, 22), width: i.naturalWidth, height: i.naturalHeight,
  complete: i.complete, shown: i.getBoundingClientRect().width}))"""
COMPARABLE = """Array.from(document.querySelectorAll('#comparable tbody tr'))
  .map(r => Array.from(r.cells).map(c => c.textContent.trim().split(/\\s+/).join(' ')))"""
PAGE_SIZE = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"


@pytest.fixture(scope="module")
def chromium() -> Path:
    executable = find_chromium()
    if executable is None:
        pytest.fail(f"no Chromium found: {INSTALL_HINT}")
    if not executable.is_file():
        pytest.fail(f"{CHROMIUM_ENV}={executable} is not a file: {INSTALL_HINT}")
    return executable


def _png_pixels(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(imread(io.BytesIO(data), format="png"))


def test_report_loads_cleanly_in_chromium(chromium: Path, tiny_run: Path, tmp_path: Path) -> None:
    page = build_report(tiny_run, tmp_path / "report.html").html
    with Chromium(chromium) as browser:
        browser.open(page.as_uri(), WIDTH, HEIGHT)
        images = browser.evaluate(IMAGES)
        comparable = browser.evaluate(COMPARABLE)
        width, height = browser.evaluate(PAGE_SIZE)
        screenshot = browser.screenshot()
        problems = browser.problems()
    assert problems == [], problems  # no console error, exception, failed load or request
    assert len(images) == 6 + 6  # metric figures + the gallery
    for image in images:
        assert image["source"] == "data:image/png;base64,"
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
        assert image["shown"] >= 300  # laid out at a readable size
    # the numbers of the run's summary.md, method rows then their controls
    assert keyed(comparable) == summary_md_tables(tiny_run)["comparable"]
    assert width <= WIDTH  # nothing overflows sideways
    assert height > HEIGHT
    pixels = _png_pixels(screenshot)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert len(screenshot) > 10_000 and float(pixels[..., :3].std()) > 0.01  # not blank


def test_the_browser_check_catches_broken_pages(chromium: Path, tmp_path: Path) -> None:
    """The harness itself: a broken image, a console error and a request are reported (the
    request goes to a closed loopback port, so it never leaves the machine)."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='data:image/png;base64,AAAA'>"
        "<img src='http://127.0.0.1:9/x.png'><script>console.error('boom')</script></body></html>"
    )
    with Chromium(chromium) as browser:
        browser.open(page.as_uri(), 400, 300)
        widths = [image["width"] for image in browser.evaluate(IMAGES)]
        problems = browser.problems()
    assert widths == [0, 0]
    assert any("console.error: boom" in p for p in problems)
    assert any("network request: http://127.0.0.1:9/x.png" in p for p in problems)
