"""The HTML and Markdown report of an evaluation run, and the `report` / `plot` commands."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.evaluate.summary import format_cell, format_number
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.snn.checkpoint import load_model
from spikeattr.viz import Explanations, confidence_over_window
from spikeattr.viz.report import build_report
from spikeattr.viz.rundir import ReportError, read_run

from .checks import keyed, parse_report, summary_md_tables
from .conftest import RUN_STAMPS, copy_run

runner = CliRunner()
MODEL = "published:synthetic_1L"
UNIT = "results/published_synthetic_1L"
COMPARISONS = "comparisons/published_synthetic_1L.json"
#: Metric figures: three of the comparable protocol, three of the paper's.
METRIC_FIGURES = 6


@pytest.fixture(scope="module")
def report(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The report of the tiny run: (html path, html text, markdown text)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = build_report(tiny_run, out)
    assert result.html == out and result.markdown == out.with_suffix(".md")
    assert result.missing == [] and result.notes == []
    return out, out.read_text(encoding="utf-8"), result.markdown.read_text(encoding="utf-8")


def _summary(run: Path, method: str, metric: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((run / UNIT / method / f"{metric}.json").read_text())
    return dict(body["summary"])


def _markdown_rows(markdown: str, section: str) -> dict[tuple[str, str], list[str]]:
    """The rows of the first table under the heading ``section`` of report.md, keyed."""
    part = markdown[markdown.index(section) :]
    part = part[: part.index("\n\n", part.index("|---"))]
    rows = []
    for line in part.splitlines()[2:]:
        if line.startswith("| published"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            rows.append([c.strip("*") for c in cells])
    return keyed(rows)


def test_score_tables_hold_the_summaries_of_the_files(
    tiny_run: Path, report: tuple[Path, str, str]
) -> None:
    _, page, markdown = report
    parsed = parse_report(page)
    comparable, paper = keyed(parsed.tables["comparable"]), keyed(parsed.tables["paper"])
    # a cell, from the file's own summary: TSA-NS's deletion@50 and its permuted control's
    deletion = _summary(tiny_run, "ns", "deletion")
    assert comparable[(MODEL, "ns")][0] == format_cell(deletion["method"]["del_50"])
    assert comparable[(MODEL, "ns (permuted control)")][0] == format_cell(
        deletion["permuted"]["del_50"]
    )
    assert "[" in comparable[(MODEL, "ns")][0]  # with its CI
    # a count (cells to the first change) reads as a whole number, not 15.000
    first = deletion["method"]["first_change"]
    assert comparable[(MODEL, "ns")][2] == format_cell(first, count=True)
    assert float(first["value"]).is_integer() and "." not in comparable[(MODEL, "ns")][2]
    ess = _summary(tiny_run, "s", "correctness")["uniform"]["ess_original"]
    assert paper[(MODEL, "s (uniform control)")][0] == format_cell(ess)
    # every row of the run's summary.md, cell by cell, in the HTML tables and in report.md
    expected = summary_md_tables(tiny_run)
    assert comparable == expected["comparable"] and len(comparable) == 6
    assert paper == expected["paper"] and len(paper) == 4
    assert _markdown_rows(markdown, "## Comparable protocol") == expected["comparable"]
    assert _markdown_rows(markdown, "## Paper protocol") == expected["paper"]
    # method rows first, then their controls, in italics
    assert [r[1] for r in parsed.tables["comparable"]] == [
        "s",
        "s (permuted control)",
        "s (random-order control)",
        "ns",
        "ns (permuted control)",
        "ns (random-order control)",
    ]
    assert parsed.controls["comparable"] == [False, True, True, False, True, True]
    assert "| published:synthetic_1L | *s (permuted control)* |" in markdown


def test_sections_lead_with_the_comparable_protocol(report: tuple[Path, str, str]) -> None:
    _, page, markdown = report
    order = [
        'id="notes"',
        'id="accuracy"',
        'id="comparable-protocol"',
        'id="comparable"',
        "Ranking of the methods",
        'id="comparable-figures"',
        'id="figure-deletion"',
        'id="sanity-check"',
        'id="paper-protocol"',
        'id="figure-flipping"',
        'id="gallery"',
        'id="run"',
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    titles = re.findall(r"^## (.+)$", markdown, re.M)
    assert titles == [
        "Notes",
        "Model accuracy",
        "Comparable protocol",
        "Sanity check",
        "Paper protocol",
        "Run details",
    ]
    assert "Missing" not in page and "Missing" not in markdown


def test_notes_say_which_classes_the_stamps_hold(
    tiny_run: Path, report: tuple[Path, str, str]
) -> None:
    _, page, markdown = report
    note = "published:synthetic_1L: 3 stamps; true classes x1_only 1, both 1, x2_only 1"
    assert f"- {note}" in (tiny_run / "summary.md").read_text()  # as summary.md says
    assert f"<li>{note}</li>" in page and f"- {note}" in markdown
    assert "fewer than two classes" not in page


def test_ranking_and_sanity_check_come_from_the_files(
    tiny_run: Path, report: tuple[Path, str, str]
) -> None:
    _, page, markdown = report
    comparisons = json.loads((tiny_run / COMPARISONS).read_text())
    ranking = comparisons["ranking"]
    section = page[page.index("Ranking of the methods") : page.index('id="comparable-figures"')]
    parsed = parse_report(section.replace("<table ", '<table id="ranking" ', 1))
    rows = parsed.tables["ranking"]
    assert [r[1] for r in rows] == [r["method"] for r in ranking]
    assert [r[2] for r in rows] == [f"{r['mean_rank']:.2f}" for r in ranking]
    value = ranking[0]["deletion.del_50"]
    assert rows[0][3] == f"{value['value']:.3f} (#{value['rank']:g})"
    assert "deletion@50 (agreement) (lower better)" in section  # scores by their headings
    total = len(comparisons["pairs"])
    significant = sum(p["significant"] for p in comparisons["pairs"])
    assert f"{significant} of {total} significant at 5 %" in section
    assert f"{significant} of {total} significant at 5 %" in markdown
    sanity = keyed(parse_report(page).tables["sanity"])
    for method in ("s", "ns"):
        summary = _summary(tiny_run, method, "randomisation")["method"]
        # one level (the 1L model: the shape correlation with every layer random), Adebayo's
        # |a| correlation, then the verdict by the shape correlation
        shape = summary["shape_all"]
        top = summary["shape_top"]["value"]
        assert top == shape["value"]
        verdict = (
            "passes"
            if top < 0.5
            else f"FAILS (rho >= 0.5 at every level; lowest {format_number(top)})"
        )
        assert sanity[(MODEL, method)] == [
            format_cell(shape),
            format_cell(summary["rho_top"]),
            verdict,
        ]


def test_significant_pairs_are_listed_with_their_difference(tiny_run: Path, tmp_path: Path) -> None:
    """The report shows the comparisons file's own verdicts (here one pair made significant)."""
    run = copy_run(tiny_run, tmp_path)
    comparisons = json.loads((run / COMPARISONS).read_text())
    pair = comparisons["pairs"][0]
    pair.update(
        significant=True,
        difference=-0.25,
        ci_low=-0.5,
        ci_high=-0.125,
        p_value=0.0123,
        p_holm=0.0456,
    )
    (run / COMPARISONS).write_text(json.dumps(comparisons))
    result = build_report(run)
    page, markdown = result.html.read_text(), result.markdown.read_text()
    section = page[page.index("Paired comparisons") : page.index('id="comparable-figures"')]
    parsed = parse_report(section.replace("<table ", '<table id="pairs" ', 1))
    (row,) = parsed.tables["pairs"]
    assert row[:2] == [pair["first"], pair["second"]]
    assert row[3:6] == ["-0.250 [-0.500, -0.125]", "0.012", "0.046"]
    assert f"1 of {len(comparisons['pairs'])} significant at 5 % after Holm" in section
    assert "-0.250 [-0.500, -0.125] | 0.012 | 0.046 |" in markdown
    # folded away: a long list of pairs does not come before the rest of the page
    assert f'<details class="pairs"><summary><strong>Paired comparisons: {MODEL}' in page
    assert section.index("</details>") > section.index("-0.250")


def test_the_title_names_the_models_and_the_data(report: tuple[Path, str, str]) -> None:
    _, page, markdown = report
    title = "synthetic_1L on synthetic.npz (test split)"  # the run's models, data and split
    assert f"<h1>Evaluation of {title}</h1>" in page
    assert f"<title>spikeattr: {title}</title>" in page
    assert markdown.startswith(f"# Evaluation of {title}\n")


def test_run_details_manifest_and_accuracy(tiny_run: Path, report: tuple[Path, str, str]) -> None:
    _, page, markdown = report
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    accuracy = json.loads((tiny_run / "models" / "published_synthetic_1L.json").read_text())
    for text in (page, markdown):
        assert f"{accuracy['balanced_accuracy']:.3f}" in text
        assert manifest["config"]["data_sha256"] in text
        assert manifest["versions"]["torch"] in text
        assert "metrics.budgets" in text and "permuted, random-order, uniform" in text
        assert "published:synthetic_1L / s" in text  # a timing row
    assert "8170, 8974, 30458" in page
    assert "with the permuted, random-order, uniform control(s), 2 draws each" in page


def test_page_is_self_contained(report: tuple[Path, str, str]) -> None:
    path, page, _ = report
    parsed = parse_report(page)
    assert len(parsed.images) == METRIC_FIGURES + 2 * 3  # + 2 methods x 3 classes
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
    (run / UNIT / "ns" / "sensitivity.json").unlink()
    (run / UNIT / "s" / "compactness.json").write_text('{"summary": ')
    (run / UNIT / "s" / "deletion.json").write_text('{"format": "something else"}')
    (run / COMPARISONS).unlink()
    (run / "gallery" / "published_synthetic_1L" / "ns.npz").unlink()
    (run / "config.json").write_text("{ not json")
    result = build_report(run)
    page = result.html.read_text()
    markdown = result.markdown.read_text()
    assert result.html == run / "report.html" and result.markdown == run / "report.md"
    expected = {
        f"{UNIT}/ns/sensitivity.json": "missing",
        f"{UNIT}/s/compactness.json": "not valid JSON",
        f"{UNIT}/s/deletion.json": "not a spikeattr-metric-result file",
        COMPARISONS: "missing",
        "gallery/published_synthetic_1L/ns.npz": "missing",
        "config.json": "not valid JSON",
    }
    assert {m.where for m in result.missing} == set(expected)
    section = page[page.index('id="missing"') : page.index('id="accuracy"')]
    assert "<h2>Missing</h2>" in section
    for where, why in expected.items():
        assert where in section and why in section
        assert f"- Missing: {where} (" in markdown and why in markdown
    # the configuration comes from the manifest; absent files are 'missing' cells
    parsed = parse_report(page)
    comparable, paper = keyed(parsed.tables["comparable"]), keyed(parsed.tables["paper"])
    assert comparable[(MODEL, "s")][:3] == ["missing"] * 3  # deletion's three headline scores
    assert comparable[(MODEL, "ns")][5] == "missing"  # sensitivity
    assert comparable[(MODEL, "ns")][0] != "missing"  # the rest is still shown
    assert (MODEL, "s (random-order control)") not in comparable  # only deletion had it
    assert paper[(MODEL, "s")][-1] == "missing"
    assert "Ranking of the methods" not in page  # no comparisons file, no ranking
    gallery = page[page.index('id="gallery"') : page.index('id="run"')]
    assert gallery.count("<img") == 3 and gallery.count("Missing") >= 3


def test_a_run_without_the_sanity_check_says_so(tiny_run: Path, tmp_path: Path) -> None:
    """A run made with --no-randomisation: no randomisation files are expected, the section
    says the check was not computed, the bars figure has the continuity panel only."""
    run = copy_run(tiny_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["metrics"]["randomisation"] = False
    (run / "config.json").write_text(json.dumps(config))
    for method in ("s", "ns"):
        (run / UNIT / method / "randomisation.json").unlink()
    parsed = read_run(run)
    assert parsed.metric("randomisation") is None and parsed.missing == []
    result = build_report(run)
    page = result.html.read_text()
    sanity = page[page.index('id="sanity-check"') : page.index('id="paper-protocol"')]
    assert "Not computed by this run." in sanity and "<table" not in sanity
    assert "Not computed by this run." in result.markdown.read_text()
    headings = page[
        page.index('id="comparable"') : page.index("</thead>", page.index('id="comparable"'))
    ]
    assert "rank corr." not in headings


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
    accuracy = page[page.index('id="accuracy"') : page.index('id="comparable-protocol"')]
    assert "missing" in accuracy and "Missing:" in accuracy
    assert "no gallery for published:synthetic_1L" in page
    parsed = parse_report(page)
    assert len(parsed.images) == METRIC_FIGURES
    assert keyed(parsed.tables["comparable"]) == summary_md_tables(run)["comparable"]


def test_a_run_without_configuration_is_read_from_its_files(tiny_run: Path, tmp_path: Path) -> None:
    run = copy_run(tiny_run, tmp_path)
    (run / "config.json").unlink()
    (run / "manifest.json").unlink()
    parsed = read_run(run)
    assert parsed.models == ["published_synthetic_1L"] and parsed.methods == ["ns", "s"]
    assert parsed.controls == ["permuted", "random-order", "uniform"]  # from the files
    assert len(parsed.records) == 2 * 8 and len(parsed.comparisons) == 1
    assert {(m.where, m.why) for m in parsed.missing} == {
        ("config.json", "missing"),
        ("manifest.json", "missing"),
    }


def test_the_reader_uses_the_runs_own_metric_settings(tiny_run: Path) -> None:
    parsed = read_run(tiny_run)
    deletion = parsed.metric("deletion")
    assert deletion is not None
    assert [s.key for s in deletion.scores][:2] == ["del_10", "del_50"]  # budgets 10 and 50
    rows = parsed.score_rows()
    csv_lines = (tiny_run / "summary.csv").read_text().splitlines()
    assert len(rows) == len(csv_lines) - 1  # the rows of summary.csv


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
    assert "wrote" in result.output and "12 figures" in " ".join(result.output.split())
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


def test_whole_counts_read_as_integers_and_other_numbers_keep_three_decimals() -> None:
    assert format_number(15.0, count=True) == "15"
    assert format_number(15.5, count=True) == "15.500"  # a median of counts
    assert format_number(15.0) == "15.000"  # not a count: 1.000 stays 1.000
    entry = {"value": 201.0, "ci_low": 57.0, "ci_high": 201.0}
    assert format_cell(entry, count=True) == "201 [57, 201]"


def test_a_run_without_the_paper_protocol_has_no_paper_section(
    synthetic_series: SpikeSeries, tmp_path: Path
) -> None:
    """The quick start runs the comparable protocol only: its report shows no empty paper
    table, no link to one and no paper figures."""
    data = synthetic_series.save(tmp_path / "synthetic.npz")
    config = EvaluationConfig(
        models=["published:synthetic_1L"],
        methods=["ns"],
        data=str(data),
        data_sha256=synthetic_series.checksums()["X_sha256"],
        split="test",
        stamps=RUN_STAMPS[:2],
        controls=["permuted"],
        control_draws=1,
        metrics=MetricSettings(budgets=[10], fractions=[0.05], draws=1, randomisation=False),
        protocols=["comparable"],
    )
    run_evaluation(config, synthetic_series, tmp_path / "run")
    result = build_report(tmp_path / "run")
    page, markdown = result.html.read_text(), result.markdown.read_text()
    assert 'id="comparable-protocol"' in page and 'id="figure-deletion"' in page
    assert "paper-protocol" not in page and 'id="figure-flipping"' not in page
    assert "## Comparable protocol" in markdown and "## Paper protocol" not in markdown


def test_the_comparisons_file_flags_significance_after_holm_over_the_model(
    tiny_run: Path,
) -> None:
    from spikeattr.evaluate.paired import ALPHA, holm

    pairs = json.loads((tiny_run / COMPARISONS).read_text())["pairs"]
    assert len(pairs) > 3
    adjusted = holm([p["p_value"] for p in pairs])
    for pair, p_holm in zip(pairs, adjusted, strict=True):
        assert pair["p_holm"] == pytest.approx(p_holm, nan_ok=True)
        excludes_zero = pair["ci_low"] > 0 or pair["ci_high"] < 0
        expected = bool(p_holm < ALPHA and excludes_zero and pair["better"] != "tie")
        assert pair["significant"] == expected
