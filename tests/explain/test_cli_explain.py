"""The explain and explain-series commands: documented output keys, no pickle, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.explain.files import FILE_KEYS as EXPLAIN_KEYS
from spikeattr.explain.series import SeriesExplanation

runner = CliRunner()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory, synthetic_series: SpikeSeries) -> Path:
    path = tmp_path_factory.mktemp("data") / "synthetic.npz"
    synthetic_series.save(path)
    return path


def test_explain_writes_the_documented_keys(
    data_file: Path, tmp_path: Path, reference_dir: Path
) -> None:
    out = tmp_path / "explained.npz"
    result = runner.invoke(
        app,
        [
            "explain",
            "--model",
            "published:synthetic_3L",
            "--data",
            str(data_file),
            "--split",
            "test",
            "--stamp",
            "8170",
            "--stamp",
            "10852",
            "--stamp",
            "30",
            "--variant",
            "ns",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [row["stamp"] for row in summary["stamps"]] == [8170, 10852, 30]
    with np.load(out, allow_pickle=False) as archive:
        assert set(archive.files) == set(EXPLAIN_KEYS)
        assert archive["attribution"].shape == (3, 4, 3, 1000)
        assert archive["spikes"].shape == (3, 1000, 3)
        assert json.loads(str(archive["meta"]))["variant"] == "ns"
        with np.load(reference_dir / "explanations" / "synthetic.npz") as reference:
            for index, stamp in enumerate((8170, 10852)):
                expected = reference[f"3L_t{stamp}_ns_attr"]
                got = archive["attribution"][index]
                assert np.abs(got - expected).max() < 1e-5 * np.abs(expected).max()
                np.testing.assert_array_equal(archive["spikes"][index], reference[f"3L_t{stamp}_X"])
                assert archive["predicted"][index] == int(reference[f"3L_t{stamp}_pred"])
        # a 30-step window is right-aligned: 970 padding columns, then the real steps
        assert archive["window_start"][2] == 0
        assert (archive["attribution"][2, :, :, :970] == 0).all()
        assert (archive["spikes"][2, :970] == 0).all()
        assert (archive["spikes"][2, 970:, 0] == 1).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stamp", "0"], "outside the series"),
        (["--stamp", "999999"], "outside the series"),
        (["--stamp", "10", "--variant", "xs"], "unknown method 'xs'"),
        (["--stamp", "10", "--target", "9"], "out of range"),
        (["--stamp", "10", "--split", "val"], "unknown split 'val'"),
    ],
)
def test_explain_bad_input(data_file: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    out = tmp_path / "x.npz"
    result = runner.invoke(
        app,
        [
            "explain",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(data_file),
            "--out",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()


@pytest.mark.parametrize(
    ("variant", "precision", "dtype"),
    [
        ("ns", None, "float64"),
        ("ns", "float32", "float32"),
        ("kim_panda_sam", "float32", "float32"),
        ("lif_z", None, "float64"),
        ("lif_z", "float32", "float64"),  # the exact methods always compute in float64
    ],
)
def test_explain_files_keep_the_precision_of_the_maps(
    data_file: Path, tmp_path: Path, variant: str, precision: str | None, dtype: str
) -> None:
    """Maps are written in the precision they were computed in (a float32 copy of a float64
    map would lose its tails), and meta says which; TSA's is float64 unless --precision float32
    (the paper's) asks for it."""
    out = tmp_path / "explained.npz"
    args = ["explain", "--model", "published:synthetic_2L", "--data", str(data_file)]
    args += ["--stamp", "8170", "--variant", variant, "--out", str(out)]
    args += [] if precision is None else ["--precision", precision]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as archive:
        assert archive["attribution"].dtype == np.dtype(dtype)
        assert json.loads(str(archive["meta"]))["dtype"] == dtype


def test_explain_refuses_an_unknown_precision(data_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "explained.npz"
    args = ["explain", "--model", "published:synthetic_1L", "--data", str(data_file)]
    args += ["--stamp", "8170", "--precision", "float16", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "precision must be one of float64, float32; got 'float16'" in result.output
    assert not out.exists()


def test_explain_series_command(data_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "series"
    result = runner.invoke(
        app,
        [
            "explain-series",
            "--model",
            "published:synthetic_3L",
            "--data",
            str(data_file),
            "--split",
            "train",
            "--variant",
            "s",
            "--support",
            "8",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_steps"] == 630_000 and summary["support"] == 8
    reader = SeriesExplanation(out)
    assert reader.attribution(629_999).shape == (4, 3, 8)
    assert reader.predicted.shape == (630_000,)


def test_explanation_files_record_their_time_axis(data_file: Path, tmp_path: Path) -> None:
    from spikeattr.viz import time_axis_from_meta

    out = tmp_path / "e.npz"
    result = runner.invoke(
        app,
        [
            "explain",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(data_file),
            "--stamp",
            "500",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    with np.load(out) as archive:
        meta = json.loads(str(archive["meta"]))
    assert meta["time"] == {"step_seconds": 1e-3, "start_time": None}
    axis = time_axis_from_meta(meta)
    assert axis is not None and axis.step_seconds == 1e-3 and axis.start is None
    assert axis.split == "test"
