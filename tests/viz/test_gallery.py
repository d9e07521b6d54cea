"""The gallery draws each file with the time axis the file records, never re-reading the run's
data file; a file from before time axes were recorded is drawn in steps, with a note."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.viz.report import build_report

from .checks import parse_report
from .conftest import copy_run

GALLERY = Path("gallery") / "published_synthetic_1L"


def _rewrite_meta(path: Path, change: dict[str, object] | None, drop: str = "") -> None:
    """Rewrite the metadata of an explanation file: update it with ``change``, drop a key."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(change or {})
    meta.pop(drop, None)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)  # type: ignore[arg-type]


def _gallery_alts(page: str) -> list[str]:
    return [alt for alt in parse_report(page).alts if "explanation of stamp" in alt]


def test_gallery_time_axis_comes_from_the_files_even_without_the_data_file(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = copy_run(tiny_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["data"] = str(tmp_path / "moved-away.npz")  # the data file is gone
    (run / "config.json").write_text(json.dumps(config))
    hourly = {"step_seconds": 60.0, "start_time": "2020-01-01T00:00:00"}
    _rewrite_meta(run / GALLERY / "ns.npz", {"time": hourly})
    result = build_report(run)
    assert result.notes == [] and result.missing == []
    alts = _gallery_alts(result.html.read_text())
    assert len(alts) == 6
    explained = dt.datetime(2020, 1, 1) + dt.timedelta(minutes=8169)  # stamp 8170, step 8169
    ns = next(a for a in alts if a.startswith("TSA-NS explanation of stamp 8170"))
    assert f"(explained at {explained:%Y-%m-%d %H:%M:%S})" in ns  # the file's own time axis
    s = next(a for a in alts if a.startswith("TSA-S explanation of stamp 8170"))
    assert "(explained at t = 8.169 s)" in s  # synthetic: 1 ms per step, recorded in the file


def test_an_old_gallery_file_without_a_time_axis_is_drawn_in_steps(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = copy_run(tiny_run, tmp_path)
    assert Path(json.loads((run / "config.json").read_text())["data"]).is_file()
    _rewrite_meta(run / GALLERY / "s.npz", None, drop="time")
    result = build_report(run)
    assert len(result.notes) == 1
    assert result.notes[0].startswith(f"{(GALLERY / 's.npz').as_posix()} records no time axis")
    page = result.html.read_text()
    assert "records no time axis" in page
    alts = _gallery_alts(page)
    s = next(a for a in alts if a.startswith("TSA-S explanation of stamp 8170"))
    assert "(explained at step 8169)" in s  # the data file exists but is not read again
    ns = next(a for a in alts if a.startswith("TSA-NS explanation of stamp 8170"))
    assert "(explained at t = 8.169 s)" in ns


def test_plot_reads_a_data_file_only_when_asked(tiny_run: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.npz"
    old.write_bytes((tiny_run / GALLERY / "s.npz").read_bytes())
    _rewrite_meta(old, None, drop="time")
    runner = CliRunner()
    steps = runner.invoke(app, ["plot", "explanation", str(old), "--out", str(tmp_path / "a.svg")])
    assert steps.exit_code == 0, steps.output
    assert "records no time axis" in steps.output and "pass --data" in steps.output
    assert b"step in the test split" in (tmp_path / "a.svg").read_bytes()
    data = json.loads((tiny_run / "config.json").read_text())["data"]
    args = ["plot", "explanation", str(old), "--data", data, "--out", str(tmp_path / "b.svg")]
    seconds = runner.invoke(app, args)
    assert seconds.exit_code == 0, seconds.output
    assert "records no time axis" not in seconds.output
    assert b"time in the test split (s)" in (tmp_path / "b.svg").read_bytes()
