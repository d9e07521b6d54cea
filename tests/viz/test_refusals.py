"""`plot` and `report` refuse bad arguments up front: exit status 2, one line naming the value
and what was expected, no traceback, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spikeattr.viz.figures import FigureError, save_figure
from spikeattr.viz.report import build_report
from spikeattr.viz.rundir import ReportError

runner = CliRunner()


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _refused(args: list[str], root: Path, *expected: str) -> str:
    """Run ``spikeattr ARGS``; check the refusal and that nothing under ``root`` changed."""
    from spikeattr.cli import app

    before = _files(root)
    result = runner.invoke(app, args)
    lines = result.output.strip().splitlines()
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]
    assert _files(root) == before
    return lines[0]


@pytest.mark.parametrize("dpi", ["0", "-5", "2001", "1000000"])
def test_plot_refuses_a_dpi_out_of_range(explanation_file: Path, dpi: str) -> None:
    root = explanation_file.parent
    out = root / "figure.png"
    args = ["plot", "explanation", str(explanation_file), "--dpi", dpi, "--out", str(out)]
    _refused(args, root, "--dpi must be a whole number from 1 to 2000", dpi)


def test_plot_refuses_an_out_that_is_a_directory_or_below_a_file(explanation_file: Path) -> None:
    root = explanation_file.parent
    plot = ["plot", "explanation", str(explanation_file), "--out"]
    (root / "figures.png").mkdir()
    _refused([*plot, str(root / "figures.png")], root, "figures.png is a directory")
    (root / "figures").mkdir()
    _refused([*plot, str(root / "figures")], root, "figures is a directory")
    (root / "notes.txt").write_text("a file")
    _refused([*plot, str(root / "notes.txt" / "f.png")], root, "notes.txt is a file, not a folder")
    _refused([*plot, str(root / "figure.gif")], root, "unknown figure format '.gif'")
    # the default output beside the file (FILE_stampT.png) is checked as well
    (root / "explained_stamp1000.png").mkdir()
    _refused(plot[:-1], root, "explained_stamp1000.png is a directory")


def test_plot_says_a_directory_is_a_directory(explanation_file: Path) -> None:
    root = explanation_file.parent
    (root / "folder").mkdir()
    message = _refused(["plot", "explanation", str(root / "folder")], root, "is a directory")
    assert "does not exist" not in message
    data = ["--data", str(root / "folder"), "--out", str(root / "f.png")]
    message = _refused(["plot", "explanation", str(explanation_file), *data], root)
    assert "is a directory" in message and "does not exist" not in message
    _refused(["plot", "explanation", str(root / "absent.npz")], root, "does not exist")


def test_plot_refuses_steps_and_index_out_of_range(explanation_file: Path) -> None:
    root = explanation_file.parent
    plot = ["plot", "explanation", str(explanation_file), "--out", str(root / "f.png")]
    _refused([*plot, "--steps", "0"], root, "--steps must be at least 1; got 0")
    _refused([*plot, "--index", "2"], root, "--index 2 out of range", "holds 2 stamps")


def test_report_refuses_what_is_not_a_run_directory(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("hello")
    message = _refused(["report", str(tmp_path / "file.txt")], tmp_path, "is not a directory")
    assert "no such directory" not in message
    _refused(["report", str(tmp_path / "absent")], tmp_path, "no such directory")
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "results").write_text("a file, not the results folder")
    _refused(["report", str(fake)], tmp_path, "is not an evaluation run")


def test_report_refuses_an_out_it_cannot_write_and_leaves_nothing(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = str(tiny_run)
    (tmp_path / "page.html").mkdir()
    _refused(["report", run, "--out", str(tmp_path / "page.html")], tmp_path, "is a directory")
    (tmp_path / "other.md").mkdir()  # the Markdown beside the page cannot be written
    _refused(["report", run, "--out", str(tmp_path / "other.html")], tmp_path, "other.md")
    (tmp_path / "file").write_text("x")
    _refused(["report", run, "--out", str(tmp_path / "file" / "r.html")], tmp_path, "is a file")
    assert not (tiny_run / "report.html").exists()


def test_the_library_refuses_the_same(
    explanation_file: Path, tiny_run: Path, tmp_path: Path
) -> None:
    from spikeattr.viz import Explanations, explanation_figure

    figure = explanation_figure(Explanations.load(explanation_file), 0)
    with pytest.raises(FigureError, match="dpi must be a whole number from 1 to 2000; got 0"):
        save_figure(figure, tmp_path / "f.png", dpi=0)
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(FigureError, match="is a directory"):
        save_figure(figure, tmp_path / "dir.png")
    (tmp_path / "r.md").mkdir()
    with pytest.raises(ReportError, match=r"r\.md is a directory"):
        build_report(tiny_run, tmp_path / "r.html")
    assert _files(tmp_path) == {Path("explained.npz"), Path("dir.png"), Path("r.md")}
