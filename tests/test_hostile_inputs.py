"""Hostile and broken inputs: every command answers exit 2 and one line, leaves nothing behind.

Each case here crashed with a traceback, or was silently accepted, before the file policy of
``spikeattr._io`` existed (issue 11).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr._io import RunLock, sweep_temp_files
from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.explain.series import explain_series
from spikeattr.snn.checkpoint import load_model

runner = CliRunner()
MODEL = "published:synthetic_1L"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic-shaped data file (3 inputs, 4 classes, 3 000 steps)."""
    rng = np.random.default_rng(0)
    series = SpikeSeries(
        (rng.random((3000, 3)) < 0.5).astype(np.int8),
        rng.integers(0, 4, 3000).astype(np.int8),
        ("x0_bias", "x1", "x2"),
        ("x1_only", "both", "x2_only", "neither"),
        {"train": (0, 2000), "test": (2000, 3000)},
        {"dataset": "synthetic"},
    )
    return series.save(tmp_path_factory.mktemp("hostile") / "good.npz")


def _arrays(good: Path) -> dict[str, np.ndarray]:
    with np.load(good) as archive:
        return {k: archive[k] for k in archive.files}


def _corrupt_crc(good: Path, path: Path) -> None:
    data = bytearray(good.read_bytes())
    data[data.index(b"X.npy") + 200] ^= 0xFF  # inside the stored spikes: the CRC no longer fits
    path.write_bytes(bytes(data))


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def _float_labels(good: Path, path: Path, shift: float, nan: bool) -> None:
    arrays = _arrays(good)
    labels = arrays["y"].astype(np.float64) + shift
    if nan:
        labels[5] = np.nan
    _savez(path, {**arrays, "y": labels})


BAD_FILES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "empty": (lambda good, p: p.write_bytes(b""), "the file is empty"),
    "truncated": (lambda good, p: p.write_bytes(good.read_bytes()[:2000]), "truncated"),
    "truncated-end": (lambda good, p: p.write_bytes(good.read_bytes()[:-40]), "truncated"),
    "crc": (_corrupt_crc, "Bad CRC-32"),
    "pickled": (
        lambda good, p: _savez(p, {**_arrays(good), "X": np.array([{"a": 1}], dtype=object)}),
        "pickled Python objects",
    ),
    "npy": (lambda good, p: p.write_bytes(b"\x93NUMPY" + b"\0" * 100), "single .npy array"),
    "text": (lambda good, p: p.write_text("time,unit\n0,1\n"), "not an .npz (zip) archive"),
    "directory": (lambda good, p: p.mkdir(), "is a directory"),
    "nan-labels": (lambda good, p: _float_labels(good, p, 0.0, True), "field 'y'"),
    "half-labels": (lambda good, p: _float_labels(good, p, 0.5, False), "field 'y'"),
    "string-bounds": (
        lambda good, p: _savez(
            p, {**_arrays(good), "split_bounds": np.array([["0", "2000"], ["2000", "3000"]])}
        ),
        "field 'split_bounds'",
    ),
    "int-names": (
        lambda good, p: _savez(p, {**_arrays(good), "input_names": np.array([1, 2, 3])}),
        "field 'input_names'",
    ),
    "missing": (lambda good, p: None, "does not exist"),
}

COMMANDS: dict[str, list[str]] = {
    "model evaluate": ["model", "evaluate", "--model", MODEL, "--split", "test"],
    "explain": ["explain", "--model", MODEL, "--stamp", "5", "--out", "{out}/e.npz"],
    "explain-series": ["explain-series", "--model", MODEL, "--out", "{out}/series"],
    "evaluate": ["evaluate", "--models", MODEL, "--stamps", "2", "--out", "{out}/run"],
    "train": ["train", "--out", "{out}/train", "--set", "epochs=1"],
}


def _one_line_refusal(result: object, *fragments: str) -> str:
    output = " ".join(str(getattr(result, "output", "")).split())
    exception = getattr(result, "exception", None)
    assert isinstance(exception, SystemExit), repr(exception)  # none uncaught
    assert getattr(result, "exit_code", None) == 2, output
    assert str(getattr(result, "output", "")).strip().count("\n") == 0, output
    for fragment in fragments:
        assert fragment in output, (fragment, output)
    return output


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_data_reading_command_refuses_a_bad_data_file(
    good: Path, tmp_path: Path, bad: str, command: str
) -> None:
    make, fragment = BAD_FILES[bad]
    path = tmp_path / f"{bad}.npz"
    make(good, path)
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)) for a in COMMANDS[command]]
    result = runner.invoke(app, [*args, "--data", str(path)])
    _one_line_refusal(result, str(path), fragment)
    assert not out.exists(), list(out.rglob("*"))  # nothing left behind


def test_a_bad_explanation_file_is_refused_by_plot(good: Path, tmp_path: Path) -> None:
    for bad in ("empty", "crc", "pickled", "directory"):
        make, fragment = BAD_FILES[bad]
        path = tmp_path / f"{bad}.npz"
        make(good, path)
        result = runner.invoke(app, ["plot", "explanation", str(path)])
        _one_line_refusal(result, str(path), fragment)


# -- arguments refused up front ---------------------------------------------------------------
def test_stamps_per_class_must_be_at_least_one_and_not_repeat_stamps(
    good: Path, tmp_path: Path
) -> None:
    base = ["evaluate", "--models", MODEL, "--data", str(good), "--out", str(tmp_path / "r")]
    _one_line_refusal(runner.invoke(app, [*base, "--stamps", "0"]), "at least 1", "'0'")
    labels = SpikeSeries.load(good).split("test").labels
    fewest = int(np.bincount(labels).min())
    result = runner.invoke(app, [*base, "--stamps", "100000"])
    _one_line_refusal(result, "would repeat stamps", f"use at most {fewest} per class")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("[1, 2", "not valid JSON"), ('{"a": 1}', "list of integer stamps"), ("[]", "non-empty")],
)
def test_a_bad_stamps_file_is_refused(
    good: Path, tmp_path: Path, content: str, fragment: str
) -> None:
    stamps = tmp_path / "stamps.json"
    stamps.write_text(content)
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--models",
            MODEL,
            "--data",
            str(good),
            "--stamps",
            str(stamps),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    _one_line_refusal(result, str(stamps), fragment)


def test_a_support_that_only_adds_zeros_is_refused_before_any_file(
    good: Path, tmp_path: Path
) -> None:
    out = tmp_path / "series"
    result = runner.invoke(
        app,
        [
            "explain-series",
            "--model",
            MODEL,
            "--data",
            str(good),
            "--out",
            str(out),
            "--support",
            "10000000",
        ],
    )
    _one_line_refusal(result, "support 10000000 is too long", "use at most")
    assert not out.exists()  # no series.json left behind


@pytest.mark.parametrize("kind", ["directory", "under-a-file"])
def test_an_out_path_that_cannot_be_a_file_is_refused(
    good: Path, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "existing" if kind == "directory" else good / "e.npz"
    if kind == "directory":
        target.mkdir()
    result = runner.invoke(
        app,
        ["explain", "--model", MODEL, "--data", str(good), "--stamp", "5", "--out", str(target)],
    )
    expected = "is a directory" if kind == "directory" else "is a file, not a folder"
    _one_line_refusal(result, expected)


# -- run directories: lock, resume checks, leftovers --------------------------------------------
def _evaluate(good: Path, out: Path, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "evaluate",
            "--models",
            MODEL,
            "--methods",
            "s",
            "--data",
            str(good),
            "--window",
            "50",
            "--no-control",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
    )


def test_a_second_writer_is_refused_naming_the_holder(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with RunLock(out, "spikeattr evaluate --holder"):
        result = _evaluate(good, out, "--stamps", "2")
        _one_line_refusal(result, "is in use by another run", f"pid {os.getpid()}", "--holder")
    for directory in (tmp_path / "series",):
        with RunLock(directory, "spikeattr explain-series"):
            result = runner.invoke(
                app,
                ["explain-series", "--model", MODEL, "--data", str(good), "--out", str(directory)],
            )
            _one_line_refusal(result, "is in use by another run")


def test_two_runs_started_together_never_mix(good: Path, tmp_path: Path) -> None:
    """Two ``evaluate --resume`` runs with different stamps on one new directory: one wins, the
    other is refused, and the directory agrees with itself."""
    out = tmp_path / "run"
    stamps = []
    for count in (3, 5):
        path = tmp_path / f"stamps{count}.json"
        path.write_text(json.dumps(list(range(60, 60 + 10 * count, 10))))
        stamps.append(path)
    command = [sys.executable, "-c", "from spikeattr.cli import main; main()"]
    command += ["evaluate", "--models", MODEL]
    command += ["--methods", "s", "--data", str(good), "--window", "50", "--no-control"]
    command += ["--out", str(out), "--quiet", "--resume"]
    processes = [
        subprocess.Popen(
            [*command, "--stamps", str(path)], stderr=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for path in stamps
    ]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in processes if p.stderr]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refusal = next(text for code, text in results if code == 2)
    assert "in use by another run" in refusal or "different configuration" in refusal
    config = json.loads((out / "config.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    unit = json.loads(
        (out / "results" / "published_synthetic_1L" / "s" / "stamps.json").read_text()
    )
    assert config["stamps"] == manifest["config"]["stamps"] == unit["stamps"]


def test_resume_checks_every_finished_unit_against_the_config(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _evaluate(good, out, "--stamps", "2").exit_code == 0  # type: ignore[attr-defined]
    unit = out / "results" / "published_synthetic_1L" / "s" / "compactness.json"
    body = json.loads(unit.read_text())
    body["config_sha256"] = "0" * 64  # a unit file left by a run with other stamps
    unit.write_text(json.dumps(body))
    result = _evaluate(good, out, "--stamps", "2", "--resume")
    _one_line_refusal(result, str(unit), "another configuration")
    unit.write_text("{garbage")
    _one_line_refusal(_evaluate(good, out, "--stamps", "2", "--resume"), str(unit), "valid JSON")
    (out / "config.json").write_text("[not json")
    result = _evaluate(good, out, "--stamps", "2", "--resume")
    _one_line_refusal(result, str(out / "config.json"), "valid JSON")


def test_garbage_series_index_on_resume_is_a_clear_error(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "series"
    args = ["explain-series", "--model", MODEL, "--data", str(good), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    (out / "series.json").write_text("{oops")
    _one_line_refusal(runner.invoke(app, args), str(out / "series.json"), "valid JSON")


def test_temp_files_of_a_killed_run_are_swept_by_the_next(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "series"
    args = ["explain-series", "--model", MODEL, "--data", str(good), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    orphans = [out / "chunks" / ".chunk_000000.npz.k1ll3d.tmp", out / ".series.json.x.tmp"]
    for orphan in orphans:
        orphan.write_bytes(b"half a file")
    kept = out / "chunks" / "notes.tmp"  # not a name our writers use: left alone
    kept.write_text("mine")
    assert runner.invoke(app, args).exit_code == 0
    assert not any(orphan.exists() for orphan in orphans) and kept.exists()
    assert sweep_temp_files(out) == []


def test_a_resumed_series_run_recomputes_a_lost_chunk(good: Path, tmp_path: Path) -> None:
    model = load_model(MODEL)
    spikes = SpikeSeries.load(good).split("train").spikes
    out = tmp_path / "series"
    info = explain_series(model, spikes, out, variant="ns", support=5, chunk_size=500)
    assert info.n_chunks == 4
    chunks = sorted((out / "chunks").glob("chunk_*.npz"))
    before = {p.name: p.read_bytes() for p in chunks}
    chunks[1].write_bytes(b"damaged")  # listed as complete in series.json, but unreadable
    chunks[3].unlink()
    explain_series(model, spikes, out, variant="ns", support=5, chunk_size=500)
    assert {p.name: p.read_bytes() for p in sorted((out / "chunks").glob("*.npz"))} == before


def test_a_refused_series_prints_one_line_without_a_terminal(tmp_path: Path) -> None:
    """Without a terminal no progress bar is drawn, so the error is the only line (rich used to
    end its bar with an empty line before it)."""
    from spikeattr.data import generate_synthetic

    data = generate_synthetic(n_steps=600, n_train=300).save(tmp_path / "small.npz")
    result = runner.invoke(
        app,
        [
            "explain-series",
            "--model",
            "published:synthetic_1L",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--variant",
            "lif_z",
            "--support",
            "-3",
        ],
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [result.output.strip()], result.output
