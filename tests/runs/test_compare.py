"""differing_files, the check behind every "the same files as one process" claim, reports each
kind of difference it promises to, and ignores only what it promises to ignore."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spikeattr._io import save_npz_atomic
from spikeattr.runs.compare import differing_files, result_files


def _run(root: Path) -> Path:
    """A run directory with one file of each kind the comparison treats apart."""
    (root / "sub").mkdir(parents=True)
    (root / "result.json").write_text(
        json.dumps({"score": 0.25, "seconds": 1.5, "rows": [{"x": 1, "timings_s": {"a": 2}}]})
    )
    save_npz_atomic(root / "maps.npz", {"m": np.arange(6.0).reshape(2, 3), "k": np.arange(3)})
    (root / "report.md").write_text("score 0.25\n\nwritten 2024-05-01T12:00:00.123456+00:00\n")
    (root / "sub" / "weights.bin").write_bytes(bytes(range(16)))
    (root / ".lock").write_text("pid 1")
    return root


def test_two_runs_that_differ_only_in_timings_agree(tmp_path: Path) -> None:
    first = _run(tmp_path / "a")
    second = _run(tmp_path / "b")
    (second / "result.json").write_text(
        json.dumps({"score": 0.25, "seconds": 99.0, "rows": [{"x": 1, "timings_s": {"a": 7}}]})
    )
    (second / "report.md").write_text("score 0.25\n\nwritten 2031-01-02T03:04:05Z\n")
    (second / ".lock").write_text("pid 2")  # hidden: not a result
    assert result_files(first) == ["maps.npz", "report.md", "result.json", "sub/weights.bin"]
    assert differing_files(first, second) == {}


def test_a_changed_byte_is_reported(tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    data = bytearray((second / "sub" / "weights.bin").read_bytes())
    data[7] ^= 1
    (second / "sub" / "weights.bin").write_bytes(bytes(data))
    assert differing_files(first, second) == {"sub/weights.bin": "different"}


def test_a_missing_and_an_extra_file_are_reported_with_their_side(tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    (second / "report.md").unlink()
    (second / "sub" / "extra.txt").write_text("new")
    assert differing_files(first, second) == {
        "report.md": f"only in {first}",
        "sub/extra.txt": f"only in {second}",
    }
    assert differing_files(second, first) == {
        "report.md": f"only in {first}",
        "sub/extra.txt": f"only in {second}",
    }


def test_a_changed_result_of_each_kind_is_reported(tmp_path: Path) -> None:
    first = _run(tmp_path / "a")
    cases = {
        "result.json": lambda d: (d / "result.json").write_text(
            json.dumps({"score": 0.5, "seconds": 1.5, "rows": [{"x": 1, "timings_s": {"a": 2}}]})
        ),
        "maps.npz": lambda d: save_npz_atomic(
            d / "maps.npz", {"m": np.arange(6.0).reshape(2, 3) + 1e-12, "k": np.arange(3)}
        ),
        "report.md": lambda d: (d / "report.md").write_text(
            "score 0.26\n\nwritten 2024-05-01T12:00:00.123456+00:00\n"
        ),
    }
    for name, change in cases.items():
        second = _run(tmp_path / f"b-{name}")
        change(second)
        assert differing_files(first, second) == {name: "different"}, name


def test_arrays_differ_by_dtype_shape_or_key(tmp_path: Path) -> None:
    first = _run(tmp_path / "a")
    for label, arrays in {
        "dtype": {"m": np.arange(6.0, dtype=np.float32).reshape(2, 3), "k": np.arange(3)},
        "shape": {"m": np.arange(6.0).reshape(3, 2), "k": np.arange(3)},
        "key": {"m": np.arange(6.0).reshape(2, 3), "j": np.arange(3)},
    }.items():
        second = _run(tmp_path / f"b-{label}")
        save_npz_atomic(second / "maps.npz", arrays)
        assert differing_files(first, second) == {"maps.npz": "different"}, label
