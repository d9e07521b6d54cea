"""The HTML and Markdown report of an evaluation run, and the `report` / `plot` commands."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.snn.checkpoint import load_model
from spikeattr.viz import Explanations, confidence_over_window
from spikeattr.viz.report import build_report
from spikeattr.viz.rundir import ReportError, read_run

from .checks import parse_report, summary_md_rows
from .conftest import copy_run

runner = CliRunner()
UNIT = "results/published_synthetic_1L"


@pytest.fixture(scope="module")
def report(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The report of the tiny run: (html path, html text, markdown text)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = build_report(tiny_run, out)
    assert result.html == out and result.markdown == out.with_suffix(".md")
    assert result.missing == [] and result.notes == []
    return out, out.read_text(encoding="utf-8"), result.markdown.read_text(encoding="utf-8")


def test_tables_hold_the_numbers_of_the_results_files(
    tiny_run: Path, report: tuple[Path, str, str]
) -> None:
    _, page, markdown = report
    correctness = json.loads((tiny_run / UNIT / "ns" / "correctness.json").read_text())
    ess = correctness["results"]["ess_original"]
    cell = f"{ess['value']:.3f} [{ess['ci_low']:.3f}, {ess['ci_high']:.3f}]"
    parsed = parse_report(page)
    ns_row = next(r for r in parsed.summary if r[1] == "ns")
    assert ns_row[2] == cell
    assert cell in markdown
    # every row of the run's summary.md, cell by cell, in the HTML table and in report.md
    expected = summary_md_rows(tiny_run)
    assert len(expected) == 4
    assert parsed.summary == expected
    for row in expected:
        assert "| " + " | ".join(row) + " |" in markdown
    compactness = json.loads((tiny_run / UNIT / "random-s" / "compactness.json").read_text())
    mean = compactness["results"]["sum_abs"]["mean"]
    random_row = next(r for r in parsed.summary if r[1] == "random-s")
    assert random_row[-1].startswith(f"{mean:.3f} [")


def test_run_summary_manifest_and_accuracy(tiny_run: Path, report: tuple[Path, str, str]) -> None:
    _, page, markdown = report
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    accuracy = json.loads((tiny_run / "models" / "published_synthetic_1L.json").read_text())
    for text in (page, markdown):
        assert f"{accuracy['balanced_accuracy']:.3f}" in text
        assert manifest["config"]["data_sha256"] in text
        assert manifest["versions"]["torch"] in text
        assert "published:synthetic_1L / s" in text  # a timing row
        assert "8170, 8974, 30458" in page
    assert "Model accuracy" in page and "## Model accuracy" in markdown
    assert "Missing" not in page and "Missing" not in markdown


def test_page_is_self_contained(report: tuple[Path, str, str]) -> None:
    path, page, _ = report
    parsed = parse_report(page)
    assert len(parsed.images) == 3 + 2 * 3  # metric figures + 2 methods x 3 classes
    for source in parsed.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"https?://", page)
    for forbidden in ("<script", "<link", "@import", "url(", "@font-face", "<iframe"):
        assert forbidden not in page
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html", "report.md"]


def test_gallery_shows_one_stamp_per_class_methods_side_by_side(
    report: tuple[Path, str, str],
) -> None:
    _, page, _ = report
    gallery = page[page.index('id="gallery"') : page.index('id="run"')]
    assert gallery.count("<img") == 6
    for heading in ("x1_only (stamp 8170)", "both (stamp 8974)", "x2_only (stamp 30458)"):
        assert heading in gallery
    assert gallery.index("TSA-S") < gallery.index("TSA-NS")


def test_a_partial_run_reports_what_is_missing(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / UNIT / "ns" / "continuity.json").unlink()
    (run / UNIT / "s" / "compactness.json").write_text('{"results": ')
    (run / UNIT / "random-s" / "correctness.json").write_text('{"results": {}}')
    (run / "gallery" / "published_synthetic_1L" / "ns.npz").unlink()
    (run / "config.json").write_text("{ not json")
    result = build_report(run)
    page = result.html.read_text()
    markdown = result.markdown.read_text()
    assert result.html == run / "report.html" and result.markdown == run / "report.md"
    expected = {
        f"{UNIT}/ns/continuity.json": "missing",
        f"{UNIT}/s/compactness.json": "not valid JSON",
        f"{UNIT}/random-s/correctness.json": "unexpected content",
        "gallery/published_synthetic_1L/ns.npz": "missing",
        "config.json": "not valid JSON",
    }
    assert {m.where for m in result.missing} == set(expected)
    section = page[page.index('id="missing"') : page.index('id="accuracy"')]
    assert "<h2>Missing</h2>" in section
    for where, why in expected.items():
        assert where in section and why in section
        assert f"- Missing: {where} ({why}" in markdown
    rows = {(r[0], r[1]): r for r in parse_report(page).summary}
    assert rows[("published:synthetic_1L", "ns")][8:10] == ["missing", "missing"]
    assert rows[("published:synthetic_1L", "s")][-1] == "missing"
    assert rows[("published:synthetic_1L", "random-s")][2:4] == ["missing", "missing"]
    assert rows[("published:synthetic_1L", "s")][2] != "missing"  # the rest is still shown
    # the configuration comes from the manifest; the gallery has TSA-S and a gap for TSA-NS
    gallery = page[page.index('id="gallery"') : page.index('id="run"')]
    assert gallery.count("<img") == 3 and gallery.count("Missing") >= 3
    assert "Missing results: published:synthetic_1L / s: compactness" in markdown


def test_a_run_without_models_gallery_or_manifest(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    for path in sorted((run / "models").iterdir()) + sorted((run / "gallery").rglob("*.npz")):
        path.unlink()
    (run / "manifest.json").unlink()
    result = build_report(run, tmp_path / "out" / "page.html")
    page = result.html.read_text()
    assert result.markdown == tmp_path / "out" / "page.md"
    missing = {m.where for m in result.missing}
    assert {"models/published_synthetic_1L.json", "manifest.json"} <= missing
    assert "gallery/published_synthetic_1L/s.npz" in missing
    accuracy = page[page.index('id="accuracy"') : page.index('id="metrics"')]
    assert "missing" in accuracy and "Missing:" in accuracy
    assert "no gallery for published:synthetic_1L" in page
    assert len(parse_report(page).images) == 3  # the metric figures only
    assert parse_report(page).summary == summary_md_rows(run)  # metrics are intact


def test_a_run_without_configuration_is_read_from_its_directories(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "config.json").unlink()
    (run / "manifest.json").unlink()
    parsed = read_run(run)
    assert parsed.models == ["published_synthetic_1L"] and parsed.methods == ["ns", "s"]
    assert parsed.random_control
    assert {(m.where, m.why) for m in parsed.missing} == {
        ("config.json", "missing"),
        ("manifest.json", "missing"),
    }


def test_a_directory_that_is_not_a_run_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReportError, match="is not an evaluation run"):
        build_report(tmp_path)
    with pytest.raises(ReportError, match="no such directory"):
        build_report(tmp_path / "absent")
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not an evaluation run" in " ".join(result.output.split())
    assert not (tmp_path / "report.html").exists()


def test_cli_report(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", str(tiny_run), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".md").is_file()
    assert "wrote" in result.output and "9 figures" in " ".join(result.output.split())
    bad = runner.invoke(app, ["report", str(tiny_run), "--out", str(tmp_path / "page.pdf")])
    assert bad.exit_code == 2 and ".html" in bad.output


def test_cli_report_warns_about_missing_results(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / UNIT / "ns" / "continuity.json").unlink()
    result = runner.invoke(app, ["report", str(run), "-q"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 item(s) are marked 'Missing'" in text and "ns/continuity.json" in text


def test_cli_plot_explanation(tiny_run: Path, tmp_path: Path) -> None:
    gallery = tiny_run / "gallery" / "published_synthetic_1L" / "s.npz"
    out = tmp_path / "figure.svg"
    args = ["plot", "explanation", str(gallery), "--stamp", "8974", "--class", "both"]
    result = runner.invoke(app, [*args, "--steps", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"<?xml")
    both = runner.invoke(app, ["plot", "explanation", str(gallery), "--index", "0", "--stamp", "8"])
    assert both.exit_code == 2 and "either --index or --stamp" in both.output
    absent = runner.invoke(app, ["plot", "explanation", str(gallery), "--stamp", "8"])
    assert absent.exit_code == 2 and "stamp 8 is not in this file" in absent.output
    copy = tmp_path / "copy.npz"
    copy.write_bytes(gallery.read_bytes())
    default = runner.invoke(
        app, ["plot", "explanation", str(copy), "--confidence", "--norm", "max-abs"]
    )
    assert default.exit_code == 0, default.output
    assert (tmp_path / "copy_stamp8170.png").read_bytes()[:4] == b"\x89PNG"


def test_confidence_over_the_window_ends_at_the_explained_probabilities(tiny_run: Path) -> None:
    explanations = Explanations.load(tiny_run / "gallery" / "published_synthetic_1L" / "ns.npz")
    probs = confidence_over_window(load_model("published:synthetic_1L"), explanations, 1)
    assert probs.shape == (explanations.window, len(explanations.class_names))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(probs[-1], explanations.probs[1], atol=1e-5)
