"""The records of `spikeattr stream`: top contributions (against a literal sort), JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from spikeattr.data.stream_steps import Clock
from spikeattr.errors import ExplanationError
from spikeattr.explain.online import OnlineChunk, OnlineExplainer
from spikeattr.explain.stream_records import RecordWriter, top_contributions
from spikeattr.snn import load_model


def _literal_top(one_map: np.ndarray, top: int) -> list[tuple[int, int, float]]:
    """Every non-zero entry as (channel, steps_ago, value), sorted by |value| descending, then
    channel, then the older step; the first ``top``."""
    support = one_map.shape[1]
    entries = [
        (abs(float(v)), i, k, float(v))
        for i in range(one_map.shape[0])
        for k in range(support)
        if (v := one_map[i, k]) != 0
    ]
    entries.sort(key=lambda e: (-e[0], e[1], e[2]))
    return [(i, support - 1 - k, v) for _, i, k, v in entries[:top]]


@pytest.mark.parametrize("top", [0, 1, 5, 40])
def test_top_contributions_equal_a_literal_sort(top: int) -> None:
    rng = np.random.default_rng(top)
    maps = rng.integers(-3, 4, size=(200, 4, 6)).astype(np.float32)  # many ties and zeros
    maps[7] = 0.0
    channel, ago, value = top_contributions(maps, top)
    assert channel.shape == ago.shape == value.shape == (200, top)
    for row in range(200):
        expected = _literal_top(maps[row], top)
        got = [
            (int(c), int(a), float(v))
            for c, a, v in zip(channel[row], ago[row], value[row], strict=True)
            if c >= 0
        ]
        assert got == expected
        assert all(c == -1 for c in channel[row, len(expected) :])


@pytest.fixture(scope="module")
def chunk() -> OnlineChunk:
    model = load_model("published:synthetic_2L")
    rng = np.random.default_rng(3)
    spikes = (rng.random((300, 3)) < 0.3).astype(np.int8)
    return OnlineExplainer(model, variant="ns", support=6).feed(spikes, maps="predicted")


def test_json_records(chunk: OnlineChunk) -> None:
    clock = Clock("seconds", origin_seconds=10.0)
    times = np.arange(300) * 0.5
    writer = RecordWriter(("a", 'b"', "c"), ("w", "x", "y", "z"), "jsonl", 3, False, clock)
    assert writer.header() == ""
    records = [json.loads(line) for line in writer.records(chunk, times).splitlines()]
    assert len(records) == 300
    assert chunk.explanation is not None
    channel, ago, value = top_contributions(chunk.explanation, 3)
    for j, record in enumerate(records):
        assert set(record) == {"step", "time", "predicted", "probability", "top"}
        assert record["step"] == j and record["time"] == pytest.approx(10.0 + 0.5 * j)
        assert record["predicted"] == "wxyz"[chunk.predicted[j]]
        assert record["probability"] == pytest.approx(chunk.probs[j, chunk.predicted[j]], 1e-6)
        listed = [(c, a, v) for c, a, v in zip(channel[j], ago[j], value[j], strict=True) if c >= 0]
        assert [(t["channel"], t["steps_ago"]) for t in record["top"]] == [
            (("a", 'b"', "c")[c], a) for c, a, _ in listed
        ]
        assert [t["value"] for t in record["top"]] == pytest.approx([v for *_, v in listed], 1e-6)


def test_csv_records_on_change(chunk: OnlineChunk) -> None:
    writer = RecordWriter(("a,1", "b", "c"), ("w", "x", "y", "z"), "csv", 2, True, None)
    text = writer.header() + writer.records(chunk, None, previous=None)
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:4] == ["step", "time", "predicted", "probability"]
    assert header[4:7] == ["top1_channel", "top1_steps_ago", "top1_value"]
    assert header[10:13] == ["previous", "moved1_channel", "moved1_steps_ago"]
    assert len(header) == 4 + 6 + 1 + 6
    assert all(len(row) == len(header) for row in rows)
    assert [int(row[0]) for row in rows[1:]] == chunk.changes.tolist()
    assert len(rows) > 3  # the check needs changes
    assert rows[1][10] == ""  # the first step of the stream follows nothing
    for row in rows[2:]:
        step = int(row[0])
        assert row[10] == "wxyz"[chunk.predicted[step - 1]] != row[2]
    assert {row[4] for row in rows[1:]} <= {"a,1", "b", "c", ""}
    empty = RecordWriter(("a",), ("w",), "csv", 0, True, None)
    assert empty.header() == "step,time,predicted,probability,previous\n"
    bare = RecordWriter(("a", "b", "c"), ("w", "x", "y", "z"), "jsonl", 0, True, None)
    for line in bare.records(chunk, None).splitlines():
        record = json.loads(line)
        assert record["top"] == [] and record["moved"] == []
    with pytest.raises(ExplanationError, match="format must be one of"):
        RecordWriter(("a",), ("w",), "xml")


def test_json_records_on_change_say_what_moved(chunk: OnlineChunk) -> None:
    writer = RecordWriter(("a", "b", "c"), ("w", "x", "y", "z"), "jsonl", 4, True, None)
    records = [json.loads(line) for line in writer.records(chunk, None, previous=2).splitlines()]
    assert [r["step"] for r in records] == chunk.changes.tolist()
    assert chunk.moved is not None and len(records) == chunk.moved.shape[0] > 2
    channel, ago, value = top_contributions(chunk.moved, 4)
    for m, record in enumerate(records):
        j = record["step"]
        assert record["time"] is None
        assert record["previous"] == ("y" if j == 0 else "wxyz"[chunk.predicted[j - 1]])
        expected = [
            {"channel": "abc"[c], "steps_ago": a, "value": pytest.approx(v, rel=1e-7)}
            for c, a, v in zip(channel[m], ago[m], value[m].tolist(), strict=True)
            if c >= 0
        ]
        assert record["moved"] == expected
