"""The command line, through typer's CliRunner (no subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr import __version__
from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries

runner = CliRunner()


def _flat(text: str) -> str:
    """Whitespace-normalised output (rich may wrap long lines)."""
    return " ".join(text.split())


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture(scope="session")
def synthetic_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One synthetic data file written by ``spikeattr data synthetic`` and its JSON summary."""
    path = tmp_path_factory.mktemp("cli") / "synthetic.npz"
    result = _invoke("data", "synthetic", "--out", str(path), "--json")
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_data_synthetic_json(
    synthetic_file: tuple[Path, dict[str, Any]], checksums: dict[str, Any]
) -> None:
    path, summary = synthetic_file
    expected = checksums["synthetic"]
    assert summary["X_sha256"] == expected["X_sha256"]
    assert summary["y_sha256"] == expected["y_sha256"]
    assert summary["n_steps"] == expected["n_steps"]
    assert summary["inputs"] == expected["X_columns"]
    assert summary["path"] == str(path)
    assert summary["splits"] == {"train": [0, 630_000], "test": [630_000, 900_000]}
    loaded = SpikeSeries.load(path)
    assert loaded.checksums() == {
        "X_sha256": expected["X_sha256"],
        "y_sha256": expected["y_sha256"],
    }


def test_data_synthetic_plain_text(tmp_path: Path, checksums: dict[str, Any]) -> None:
    result = _invoke("data", "synthetic", "--out", str(tmp_path / "s.npz"))
    assert result.exit_code == 0, result.output
    assert checksums["synthetic"]["X_sha256"] in result.stdout
    assert (tmp_path / "s.npz").is_file()


def test_model_evaluate_json(synthetic_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = synthetic_file
    result = _invoke(
        "model",
        "evaluate",
        "--model",
        "published:synthetic_1L",
        "--data",
        str(path),
        "--split",
        "test",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["balanced_accuracy"] == pytest.approx(0.98281, abs=1e-4)
    low, high = payload["ci95"]
    assert low <= payload["balanced_accuracy"] <= high
    assert 0.9 < payload["accuracy"] <= 1.0
    assert payload["n_steps"] == 270_000
    assert payload["split"] == "test" and payload["model"] == "published:synthetic_1L"


def test_model_evaluate_plain_text(synthetic_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = synthetic_file
    result = _invoke(
        "model", "evaluate", "--model", "published:synthetic_3L", "--data", str(path), "--quiet"
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "published:synthetic_3L" in text and str(path) in text
    assert "balanced accuracy 0.9427" in text
    assert "270000 steps" in text


def test_model_data_mismatch_exits_2(tmp_path: Path) -> None:
    series = SpikeSeries(
        np.ones((50, 3), dtype=np.int8),
        np.zeros(50),
        ("Bias", "Door", "Bed"),
        ("a", "b", "c", "d"),
        {"test": (0, 50)},
    )
    path = series.save(tmp_path / "other.npz")
    result = _invoke(
        "model", "evaluate", "--model", "published:synthetic_1L", "--data", str(path), "--json"
    )
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2
    message = _flat(result.output)
    assert "['x0_bias', 'x1', 'x2']" in message
    assert "['Bias', 'Door', 'Bed']" in message


def test_missing_data_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.npz"
    result = _invoke(
        "model", "evaluate", "--model", "published:synthetic_1L", "--data", str(missing)
    )
    assert result.exit_code == 2
    message = _flat(result.output)
    assert "error:" in message and "does not exist" in message
    assert "nothing-here.npz" in message


def test_unknown_split_exits_2(synthetic_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = synthetic_file
    result = _invoke(
        "model",
        "evaluate",
        "--model",
        "published:synthetic_1L",
        "--data",
        str(path),
        "--split",
        "validation",
        "--quiet",
    )
    assert result.exit_code == 2
    message = _flat(result.output)
    assert "'validation'" in message and "'test'" in message and "'train'" in message


def test_unknown_model_exits_2(synthetic_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = synthetic_file
    result = _invoke("model", "evaluate", "--model", "published:nope", "--data", str(path))
    assert result.exit_code == 2
    assert "published:synthetic_3L" in _flat(result.output)


def test_model_list() -> None:
    result = _invoke("model", "list")
    assert result.exit_code == 0, result.output
    for name in ("synthetic_1L", "synthetic_2L", "synthetic_3L", "adl_1L", "adl_2L", "adl_3L"):
        assert f"published:{name}" in result.stdout


def test_quickstart_writes_manifest(tmp_path: Path, checksums: dict[str, Any]) -> None:
    run_dir = tmp_path / "run"
    result = _invoke("quickstart", "--out", str(run_dir), "--stamps", "1", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["balanced_accuracy"] == pytest.approx(0.94278, abs=1e-4)
    assert payload["model"] == "published:synthetic_3L"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert {"config", "versions", "data_checksums"} <= set(manifest)
    assert manifest["config"]["model"] == "published:synthetic_3L"
    assert manifest["versions"]["spikeattr"] == __version__
    assert {"torch", "numpy", "python"} <= set(manifest["versions"])
    assert manifest["data_checksums"]["synthetic.npz"] == {
        "X_sha256": checksums["synthetic"]["X_sha256"],
        "y_sha256": checksums["synthetic"]["y_sha256"],
    }
    assert (run_dir / "synthetic.npz").is_file()
    assert not list(run_dir.glob(".*.tmp"))
    report = Path(payload["report"])
    assert report.is_file() and report.parent == run_dir / "evaluation"
    assert "published:synthetic_3L" in report.read_text(encoding="utf-8")
    assert (run_dir / "evaluation" / "summary.md").is_file()
    # what it ran, recorded: four methods, one draw of each control, the lighter settings
    assert manifest["config"]["methods"] == ["s", "ns", "sam", "lif_z"]
    assert manifest["config"]["control_draws"] == 1
    assert manifest["config"]["protocols"] == ["comparable"]
    assert manifest["config"]["metrics"]["budgets"] == [10, 50]
    evaluation = json.loads((run_dir / "evaluation" / "config.json").read_text(encoding="utf-8"))
    assert evaluation["control_draws"] == 1 and evaluation["methods"][-1] == "lif_z"
    # the terminal: a short answer by default (the run resumes: nothing is explained again) ...
    calm = _invoke("quickstart", "--out", str(run_dir), "--stamps", "1")
    assert calm.exit_code == 0, calm.output
    lines = calm.stdout.rstrip("\n").splitlines()
    assert len(lines) <= 30
    assert max(len(line) for line in lines if str(tmp_path) not in line) <= 100
    rows = json.loads(
        (run_dir / "evaluation" / "results/published_synthetic_2L/ns/deletion.json").read_text()
    )["summary"]["method"]["del_50"]
    table = {
        line.split()[0]: line.split()
        for line in lines
        if line.split()[:1] in (["s"], ["ns"], ["sam"], ["lif_z"])
    }
    assert set(table) == {"s", "ns", "sam", "lif_z"}
    assert table["ns"][4] == f"{rows['value']:.3f}"  # method, 1L value [lo, hi], 2L value ...
    assert f"report: {report}" in calm.stdout
    assert "# Evaluation summary" not in calm.stdout
    # ... and every table with --verbose
    verbose = _invoke("quickstart", "--out", str(run_dir), "--stamps", "1", "--verbose")
    assert verbose.exit_code == 0, verbose.output
    assert "# Evaluation summary" in verbose.stdout and "Comparable protocol" in verbose.stdout
    assert "Paper protocol" not in verbose.stdout  # the paper's metrics: spikeattr reproduce


def test_version() -> None:
    result = _invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["data"],
        ["data", "synthetic"],
        ["data", "adl"],
        ["model"],
        ["model", "list"],
        ["model", "evaluate"],
        ["quickstart"],
    ],
)
def test_every_help_works(command: list[str]) -> None:
    result = _invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert "--help" in result.output
    if command:
        assert command[-1] in result.output


def test_no_arguments_shows_help() -> None:
    result = _invoke()
    assert "Usage" in result.output
    assert "data" in result.output and "model" in result.output and "quickstart" in result.output


def test_paths_with_brackets_are_printed_verbatim(tmp_path: Path) -> None:
    odd = tmp_path / "run[a]" / "x[/y].npz"
    result = runner.invoke(
        app, ["model", "evaluate", "--model", "published:synthetic_1L", "--data", str(odd)]
    )
    assert result.exit_code == 2
    assert str(odd) in "".join(result.output.split("\n"))


def test_unlabelled_split_is_a_clear_error(tmp_path: Path) -> None:
    series = SpikeSeries(
        np.ones((50, 3), dtype=np.int8),
        np.full(50, -1, dtype=np.int8),
        ("x0_bias", "x1", "x2"),
        ("x1_only", "both", "x2_only", "neither"),
        {"test": (0, 50)},
    )
    path = series.save(tmp_path / "unlabelled.npz")
    result = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(path),
            "--split",
            "test",
        ],
    )
    assert result.exit_code == 2
    assert "none is labelled" in " ".join(result.output.split())


def test_data_adl_needs_no_raw_dir(tmp_path: Path, checksums: dict[str, Any]) -> None:
    """The raw UCI files ship with spikeattr: subject B encodes offline with no --raw-dir."""
    path = tmp_path / "b.npz"
    result = _invoke("data", "adl", "--subject", "B", "--out", str(path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["X_sha256"] == checksums["adl"]["B"]["X_sha256_aligned"]
    assert summary["y_sha256"] == checksums["adl"]["B"]["y_sha256"]
    assert SpikeSeries.load(path).checksums()["X_sha256"] == summary["X_sha256"]


def test_data_adl_download_needs_a_raw_dir(tmp_path: Path) -> None:
    result = _invoke("data", "adl", "--download", "--out", str(tmp_path / "a.npz"))
    assert result.exit_code == 2
    assert "--download needs --raw-dir" in _flat(result.output)
    assert not (tmp_path / "a.npz").exists()
