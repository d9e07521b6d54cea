"""`spikeattr stream` and `spikeattr data adl-replay`: records equal series mode; errors, pipes,
Ctrl-C and a followed file behave as documented."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.adl import encode_subject
from spikeattr.explain.series import iter_series
from spikeattr.snn import load_model

runner = CliRunner()
SPIKEATTR = [sys.executable, "-c", "from spikeattr.cli import main; main()"]


def _invoke(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
def test_adl_replay_through_stream_equals_series_mode() -> None:
    # The raw sensor file of subject A, replayed over the test split as events (a tick every
    # second, as a live source would send), explained live by the published ADL 3L model:
    # every record equals series mode over the encoded test split (reference encoding).
    replay = _invoke("data", "adl-replay", "--subject", "A", "--split", "test", "--tick", "1")
    assert replay.exit_code == 0, replay.output
    support, top = 8, 3
    result = _invoke(
        "stream", "--model", "published:adl_3L", "--variant", "ns", "--support", str(support),
        "--top", str(top), "--format", "csv", "--input", "-", input=replay.stdout,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header, *records = list(csv.reader(io.StringIO(result.stdout)))
    assert header[:5] == ["step", "time", "predicted", "probability", "top1_channel"]
    series = encode_subject(None, "A", compat="reference")
    first, stop = series.splits["test"]
    assert len(records) == stop - first == 245_452
    assert "explained 245452 steps" in result.stderr
    model = load_model("published:adl_3L")
    index = {"": -1} | {name: i for i, name in enumerate(model.input_names)}
    # the records' contributions as arrays [T, top] (channel -1 where fewer are listed)
    cells = np.array([record[4:] for record in records], dtype=object).reshape(-1, top, 3)
    channel = np.vectorize(index.__getitem__, otypes=[np.int64])(cells[:, :, 0])
    ago = np.where(channel >= 0, cells[:, :, 1], "0").astype(np.int64)
    value = np.where(channel >= 0, cells[:, :, 2], "0").astype(np.float64)
    start = np.datetime64(series.meta["start_time"]) + np.timedelta64(first, "s")
    stamps = (start + np.arange(len(records)).astype("timedelta64[s]")).astype(str).tolist()
    assert [r[1] for r in records] == stamps
    assert [r[0] for r in records] == [str(j) for j in range(len(records))]
    changes = 0
    for chunk in iter_series(model, series.spikes[first:stop], "ns", support, chunk_size=16_384):
        rows = np.arange(int(chunk["start"]), int(chunk["start"]) + chunk["predicted"].shape[0])
        local = np.arange(rows.size)
        predicted = chunk["predicted"]
        assert [records[j][2] for j in rows] == [model.class_names[c] for c in predicted]
        probability = [float(records[j][3]) for j in rows]
        np.testing.assert_allclose(probability, chunk["probs"][local, predicted], rtol=1e-6)
        maps = chunk["attribution"][local, predicted].astype(np.float64)  # [n, n_in, K]
        flat = np.abs(maps).reshape(rows.size, -1)
        tolerance = 1e-6 * flat.max(axis=1, keepdims=True)
        listed = channel[rows] >= 0
        # every listed contribution is the series map's entry at that channel and step ...
        at = maps[local[:, None], np.maximum(channel[rows], 0), support - 1 - ago[rows]]
        assert np.all(~listed | (np.abs(value[rows] - at) <= tolerance)), "values"
        # ... and they are the largest ones, in order (near-ties may swap places)
        largest = -np.sort(-flat, axis=1)[:, :top]
        assert np.all(~listed | (np.abs(np.abs(value[rows]) - largest) <= tolerance)), "ranks"
        assert np.array_equal(listed.sum(axis=1), np.minimum(top, (flat > 0).sum(axis=1)))
        changes += int(np.count_nonzero(np.diff(predicted, prepend=-1)))
    assert changes > 50  # the split is not one long prediction


def _rows_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A rows stream for the synthetic models (header in another order, a time column)."""
    rng = np.random.default_rng(5)
    spikes = (rng.random((400, 3)) < 0.3).astype(np.int8)
    model = load_model("published:synthetic_2L")
    names = [model.input_names[2], model.input_names[0], model.input_names[1]]
    lines = ["time," + ",".join(names)]
    lines += [f"{0.25 * t},{r[2]},{r[0]},{r[1]}" for t, r in enumerate(spikes)]
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, spikes


def test_rows_as_csv_on_change(tmp_path: Path) -> None:
    from spikeattr.explain.online import OnlineExplainer

    path, spikes = _rows_file(tmp_path)
    result = _invoke(
        "stream", "--model", "published:synthetic_2L", "--input", str(path), "--format", "csv",
        "--on-change", "--top", "2", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("step,time,predicted,probability,top1_channel")
    expected = OnlineExplainer(load_model("published:synthetic_2L")).feed(spikes, maps="none")
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == expected.changes.tolist() and len(rows) > 2
    assert [float(r[1]) for r in rows] == [0.25 * c for c in expected.changes.tolist()]
    assert result.stderr == ""


def test_bad_lines_stop_with_one_line_or_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("time,channel,value\n0,Bias,1\n2,Bed,1\n3,Oven,1\n5,Bed,0\n4,Bed,0\n8,,\n")
    stop = _invoke("stream", "--model", "published:adl_1L", "--input", str(path))
    assert stop.exit_code == 2
    assert stop.stderr.strip().count("\n") == 0  # one line, no traceback
    assert f"{path} line 4: field channel: unknown channel 'Oven'" in " ".join(stop.stderr.split())
    assert [r["step"] for r in _records(stop.stdout)] == [0, 1]  # complete before line 4
    skip = _invoke(
        "stream", "--model", "published:adl_1L", "--input", str(path), "--on-error", "skip"
    )
    assert skip.exit_code == 0, skip.output
    warnings = [line for line in skip.stderr.splitlines() if line.startswith("warning")]
    assert len(warnings) == 2 and "line 4" in warnings[0] and "line 6" in warnings[1]
    assert "time must not go backwards" in warnings[1] and "(skipped)" in warnings[1]
    assert [r["step"] for r in _records(skip.stdout)] == list(range(8))
    assert "2 bad lines skipped" in skip.stderr
    for args, message in [
        (("--format", "xml"), "--format must be one of jsonl, csv"),
        (("--on-error", "ignore"), "--on-error must be one of stop, skip"),
        (("--follow",), "--follow tails a file"),
        (("--input", str(tmp_path / "none.csv")), "none.csv: no such file"),
        (("--variant", "q"), "unknown variant 'q'"),
    ]:
        bad = _invoke("stream", "--model", "published:adl_1L", *args)
        assert bad.exit_code == 2 and message in " ".join(bad.stderr.split()), (args, bad.stderr)


def test_follow_a_growing_file_until_max_steps(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    path.write_text("Bias,Bed\n")

    def writer() -> None:
        with open(path, "a") as handle:
            for burst in range(10):
                handle.write("".join(f"1,{(burst + i) % 2}\n" for i in range(50)))
                handle.flush()
                time.sleep(0.05)

    thread = threading.Thread(target=writer)
    thread.start()
    result = _invoke(
        "stream", "--model", "published:adl_1L", "--input", str(path), "--follow",
        "--max-steps", "420", "--format", "csv", "--top", "1",
    )  # fmt: skip
    thread.join()
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 + 420
    assert "explained 420 steps (--max-steps)" in result.stderr


def test_view_runs_without_a_terminal(tmp_path: Path) -> None:
    path, _ = _rows_file(tmp_path)
    result = _invoke("stream", "--model", "published:synthetic_2L", "--input", str(path), "--view")
    assert result.exit_code == 0, result.output
    assert "now  " in result.stdout and "why " in result.stdout and "step 399" in result.stdout


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    replay = subprocess.Popen(
        [*SPIKEATTR, "data", "adl-replay", "--split", "test", "--tick", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    stream = subprocess.Popen(
        [*SPIKEATTR, "stream", "--model", "published:adl_1L"],
        stdin=replay.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert replay.stdout is not None and stream.stdout is not None
    replay.stdout.close()  # the stream process holds the pipe now
    first = [stream.stdout.readline() for _ in range(3)]  # like `| head -3`
    stream.stdout.close()
    assert stream.wait(timeout=120) == 0 and replay.wait(timeout=120) == 0
    assert [json.loads(line)["step"] for line in first] == [0, 1, 2]
    for process in (stream, replay):
        assert process.stderr is not None
        errors = process.stderr.read().decode()
        assert "Traceback" not in errors and "Exception ignored" not in errors, errors


def test_ctrl_c_ends_with_status_130(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    path.write_text("time,channel,value\n0,Bias,1\n5,Bed,1\n")
    stream = subprocess.Popen(
        [*SPIKEATTR, "stream", "--model", "published:adl_1L", "--input", str(path), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert stream.stdout is not None and stream.stderr is not None
    assert json.loads(stream.stdout.readline())["step"] == 0  # it is running, and waiting
    stream.send_signal(signal.SIGINT)
    assert stream.wait(timeout=60) == 130
    errors = stream.stderr.read().decode()
    assert "interrupted after 5 steps" in errors and "Traceback" not in errors, errors


def test_the_exact_method_streams_the_maps_of_the_exact_online_explainer(tmp_path: Path) -> None:
    from spikeattr.explain.exact_online import ExactOnlineExplainer

    path, spikes = _rows_file(tmp_path)
    result = _invoke(
        "stream", "--model", "published:synthetic_2L", "--variant", "lif_z", "--support", "40",
        "--input", str(path), "--format", "csv", "--top", "1", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    model = load_model("published:synthetic_2L")
    expected = ExactOnlineExplainer(model, "lif_z", support=40).feed(spikes, maps="predicted")
    assert expected.explanation is not None and len(rows) == len(spikes)
    names = model.input_names
    explained = 0
    for row, j in zip(rows, range(len(spikes)), strict=True):
        assert row["predicted"] == model.class_names[int(expected.predicted[j])]
        values = np.abs(expected.explanation[j])
        if values.max() == 0:
            assert row["top1_channel"] == ""
            continue
        channel, _ = np.unravel_index(values.argmax(), values.shape)
        assert row["top1_channel"] == names[int(channel)], (row, j)
        explained += 1
    assert explained > len(rows) // 2


def test_stream_refuses_an_unknown_variant_in_one_line() -> None:
    result = _invoke("stream", "--model", "published:synthetic_1L", "--variant", "ig")
    assert result.exit_code == 2
    assert "unknown variant 'ig' for stream" in result.output and "lif_z" in result.output
