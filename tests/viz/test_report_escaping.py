"""Hostile names in a run (a checkpoint named like an HTML tag, a data path with a script) show
as text in report.html and report.md; the page comes from the package's autoescaping template."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from markupsafe import escape

from spikeattr._markdown import markdown_text
from spikeattr.evaluate.results import safe_model_name
from spikeattr.viz.report import build_report

from .checks import TABLE_TAGS, parse_report, render_markdown
from .conftest import copy_run

HOSTILE_MODEL = "runs/<img src=x onerror=alert(1)>|[x](javascript:alert(1)).json"
HOSTILE_DATA = "/data/<script>alert(1)</script>/synthetic.npz"
HOSTILE_RUN = "run<svg onload=alert(1)>"
#: (raw text that would be markup, how it shows once escaped) in both formats.
RAW_AND_ESCAPED = (
    ("<img src=x", "&lt;img src=x onerror=alert(1)&gt;"),
    ("<script", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<svg", "&lt;svg onload=alert(1)&gt;"),
)


@pytest.fixture(scope="module")
def hostile_report(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The tiny run renamed: its model is HOSTILE_MODEL, its data HOSTILE_DATA, its directory
    HOSTILE_RUN; returns (report.html, report.md)."""
    run = copy_run(tiny_run, tmp_path_factory.mktemp("hostile")).rename(
        tmp_path_factory.mktemp("renamed") / HOSTILE_RUN
    )
    safe = safe_model_name(HOSTILE_MODEL)
    for folder in ("results", "gallery"):
        (run / folder / "published_synthetic_1L").rename(run / folder / safe)
    for folder in ("models", "comparisons"):
        (run / folder / "published_synthetic_1L.json").rename(run / folder / f"{safe}.json")
    config = json.loads((run / "config.json").read_text())
    config.update(models=[HOSTILE_MODEL], data=HOSTILE_DATA)
    (run / "config.json").write_text(json.dumps(config))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"] = config
    manifest["data_checksums"] = {HOSTILE_DATA: {"X_sha256": config["data_sha256"]}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = build_report(run)
    assert result.missing == []
    return result.html.read_text(encoding="utf-8"), result.markdown.read_text(encoding="utf-8")


def test_hostile_names_are_text_in_the_html(hostile_report: tuple[str, str]) -> None:
    page, _ = hostile_report
    for raw, escaped in RAW_AND_ESCAPED:
        assert raw not in page
        assert escaped in page
    parsed = parse_report(page)
    for table, rows in (("comparable", 6), ("paper", 4), ("sanity", 2)):
        assert [row[0] for row in parsed.tables[table]] == [HOSTILE_MODEL] * rows  # as the name
    assert f"<li>{escape(HOSTILE_MODEL)}: 3 stamps" in page  # the notes on the stamps, too
    assert len(parsed.images) == 6 + 6
    assert all(source.startswith("data:image/png;base64,") for source in parsed.images)


def test_hostile_names_are_text_in_the_markdown(hostile_report: tuple[str, str]) -> None:
    _, markdown = hostile_report
    for raw, escaped in RAW_AND_ESCAPED:
        assert raw not in markdown
        assert escaped in markdown
    assert "[x](javascript" not in markdown and "\\[x\\](javascript" in markdown  # no link
    rendered = render_markdown(markdown)  # raw HTML allowed, as a permissive viewer renders it
    allowed = TABLE_TAGS | {"h1", "h2", "h3", "p", "ul", "li", "em"}
    assert set(rendered.tags) <= allowed, rendered.tags
    comparable = [row for row in rendered.rows if len(row) == 9 and row[0] == HOSTILE_MODEL]
    assert [row[1] for row in comparable] == [
        "s",
        "s (permuted control)",
        "s (random-order control)",
        "ns",
        "ns (permuted control)",
        "ns (random-order control)",
    ]
    paper = [row for row in rendered.rows if len(row) == 11 and row[0] == HOSTILE_MODEL]
    assert len(paper) == 4
    # no cell split off: every row has one of the widths of the report's tables
    # (the sanity table of a 1L model: model, method, one level, Adebayo's |a| and the check)
    assert {len(row) for row in rendered.rows} <= {2, 4, 5, 6, 9, 10, 11}
    assert f"- {markdown_text(HOSTILE_MODEL)}: 3 stamps" in markdown
    setting = dict(row for row in rendered.rows if len(row) == 2)
    assert setting["models"] == HOSTILE_MODEL and setting["data"] == HOSTILE_DATA


def test_the_template_ships_with_the_package_and_escapes() -> None:
    templates = resources.files("spikeattr.viz") / "templates"
    assert (templates / "report.html.j2").is_file() and (templates / "report.css").is_file()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"viz/templates/*"' in pyproject and '"jinja2>=3.1"' in pyproject
    from spikeattr.viz.report_html import environment

    assert environment().from_string("{{ name }}").render(name="<b>") == "&lt;b&gt;"
