"""The evidence mask of a data file: CSR layout, windows, splits, files and hostile values."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError


def literal_mask(cells_per_step: list[list[tuple[int, int]]]) -> EvidenceMask:
    """The CSR mask of per-step cell lists, built the obvious way."""
    ptr = [0]
    cells: list[tuple[int, int]] = []
    for step_cells in cells_per_step:
        cells += step_cells
        ptr.append(len(cells))
    return EvidenceMask(np.asarray(ptr), np.asarray(cells, dtype=np.int64).reshape(-1, 2))


def small_series(evidence: EvidenceMask | None) -> SpikeSeries:
    spikes = np.zeros((6, 3), dtype=np.int8)
    spikes[:, 0] = 1
    spikes[[1, 2, 4], 1] = 1
    labels = np.array([-1, 0, 0, 1, 1, 1], dtype=np.int8)
    return SpikeSeries(
        spikes,
        labels,
        ("bias", "a", "b"),
        ("up", "down"),
        {"train": (0, 3), "test": (3, 6)},
        {"dataset": "hand-built"},
        evidence,
    )


HAND = [[], [(1, 1)], [(1, 1), (2, 1)], [(2, 1), (3, 2)], [(2, 1), (4, 1)], [(5, 2)]]


def test_from_slices_equals_the_per_step_lists() -> None:
    table = np.array([[1, 1], [2, 1], [3, 2], [4, 1], [5, 2]])
    start, stop = np.array([0, 0, 0, 1, 1, 4]), np.array([0, 1, 2, 3, 2, 5])
    built = EvidenceMask.from_slices(table, start, stop)
    built_wanted = [[], [(1, 1)], [(1, 1), (2, 1)], [(2, 1), (3, 2)], [(2, 1)], [(5, 2)]]
    expected = literal_mask(built_wanted)
    assert built.ptr.tolist() == expected.ptr.tolist()
    assert built.cells.tolist() == expected.cells.tolist()
    assert built.ptr.dtype == np.int64 and built.cells.dtype == np.int32


def test_window_mask_marks_the_cells_of_the_explained_step_inside_the_window() -> None:
    mask = literal_mask(HAND)
    # stamp 5 explains step 4, whose cells are (2, a) and (4, a)
    assert mask.window_mask(5, 0, 3).astype(int).tolist() == [
        [0, 0, 0, 0, 0],
        [0, 0, 1, 0, 1],
        [0, 0, 0, 0, 0],
    ]
    # a window [3, 5) no longer holds step 2: only (4, a) is left
    assert mask.window_mask(5, 3, 3).astype(int).tolist() == [[0, 0], [0, 1], [0, 0]]
    with pytest.raises(DataFormatError, match="window"):
        mask.window_mask(7, 0, 3)


def test_split_rebases_the_steps_and_drops_cells_before_the_split() -> None:
    series = small_series(literal_mask(HAND))
    test = series.split("test")
    assert test.evidence is not None
    assert [test.evidence.cells_of(t).tolist() for t in range(3)] == [[[0, 2]], [[1, 1]], [[2, 2]]]
    assert test.evidence_mask(2, 10).astype(int).tolist() == [[0, 0], [0, 1], [0, 0]]
    train = series.split("train")
    assert train.evidence is not None
    assert [train.evidence.cells_of(t).tolist() for t in range(3)] == [
        [],
        [[1, 1]],
        [[1, 1], [2, 1]],
    ]


def test_file_round_trip_keeps_the_mask_and_its_checksum(tmp_path) -> None:
    series = small_series(literal_mask(HAND))
    path = series.save(tmp_path / "hand.npz")
    loaded = SpikeSeries.load(path)
    assert loaded.evidence is not None
    assert loaded.evidence.ptr.tolist() == series.evidence.ptr.tolist()
    assert loaded.evidence.cells.tolist() == series.evidence.cells.tolist()
    assert loaded.checksums() == series.checksums()
    assert "evidence_sha256" in series.checksums()
    assert "evidence_sha256" not in small_series(None).checksums()
    assert SpikeSeries.load(small_series(None).save(tmp_path / "plain.npz")).evidence is None


def test_a_series_without_evidence_refuses_to_give_a_mask() -> None:
    with pytest.raises(DataFormatError, match="no evidence mask"):
        small_series(None).evidence_mask(3, 10)


def _write(tmp_path, **replaced: np.ndarray):
    series = small_series(literal_mask(HAND))
    path = series.save(tmp_path / "good.npz")
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays.update(replaced)
    for key in [k for k, v in replaced.items() if v is None]:
        del arrays[key]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


GOOD_PTR = literal_mask(HAND).ptr
GOOD_CELLS = literal_mask(HAND).cells


@pytest.mark.parametrize(
    ("replaced", "message"),
    [
        ({"evidence_cells": None}, "lacks 'evidence_cells'"),
        ({"evidence_ptr": None}, "lacks 'evidence_ptr'"),
        ({"evidence_ptr": GOOD_PTR[::-1].copy()}, "evidence_ptr"),
        ({"evidence_ptr": np.array([0, 2, 1, 3, 5, 7, 8])}, "never decrease"),
        ({"evidence_ptr": GOOD_PTR[:-1]}, "evidence_ptr"),
        ({"evidence_ptr": GOOD_PTR.astype(np.float64)}, "integer"),
        ({"evidence_cells": GOOD_CELLS[:, :1]}, r"\[N, 2\]"),
        ({"evidence_cells": np.where(GOOD_CELLS == 2, 7, GOOD_CELLS)}, "channel 7"),
        ({"evidence_cells": -GOOD_CELLS}, "non-negative"),
        ({"evidence_cells": GOOD_CELLS + np.array([3, 0])}, "after the step"),
        ({"y": np.array([-1, 0, 0, 1, -1, 1], dtype=np.int8)}, "unlabelled"),
    ],
)
def test_hostile_evidence_is_one_line_naming_the_file_and_field(
    tmp_path, replaced, message
) -> None:
    bad = _write(tmp_path, **replaced)
    with pytest.raises(DataFormatError, match=message) as caught:
        SpikeSeries.load(bad)
    text = str(caught.value)
    assert "\n" not in text and str(bad) in text
