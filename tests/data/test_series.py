"""The spike-series container: files, events, views and every user error (SPEC 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikeattr.data.series import SpikeSeries, chronological_splits
from spikeattr.errors import DataFormatError

KEYS = ("X", "y", "input_names", "class_names", "split_names", "split_bounds", "meta")


def _series(n_steps: int = 50, seed: int = 0) -> SpikeSeries:
    rng = np.random.default_rng(seed)
    return SpikeSeries(
        spikes=rng.integers(0, 2, size=(n_steps, 3)),
        labels=rng.integers(-1, 2, size=n_steps),
        input_names=("a", "b", "c"),
        class_names=("zero", "one"),
        splits=chronological_splits(n_steps),
        meta={"dataset": "unit-test", "seed": seed},
    )


# -- construction ------------------------------------------------------------------------------
def test_normalises_dtypes_and_names() -> None:
    series = SpikeSeries(np.array([[True, False], [False, True]]), [0, 1], ["u", "v"], ["k", "l"])
    assert series.spikes.dtype == np.int8 and series.labels.dtype == np.int8
    assert series.input_names == ("u", "v")
    assert (series.n_steps, series.n_inputs, series.n_classes, len(series)) == (2, 2, 2, 2)
    assert "inputs=['u', 'v']" in repr(series)


def test_non_binary_spikes_name_value_and_index() -> None:
    spikes = np.zeros((6, 3), dtype=np.int8)
    spikes[4, 2] = 3
    with pytest.raises(DataFormatError) as info:
        SpikeSeries(spikes, np.zeros(6), ("a", "b", "c"), ("k",))
    message = str(info.value)
    assert "3" in message and "(4, 2)" in message and "binary" in message


@pytest.mark.parametrize(
    "spikes,labels,names,match",
    [
        (np.zeros(5), np.zeros(5), ("a",), "dimensions"),
        (np.zeros((5, 2, 1)), np.zeros(5), ("a", "b"), "dimensions"),
        (np.zeros((5, 2)), np.zeros(4), ("a", "b"), r"labels must have shape \[T\] = \[5\]"),
        (np.zeros((5, 2)), np.zeros((5, 1)), ("a", "b"), "labels must have shape"),
        (np.zeros((5, 2)), np.zeros(5), ("a", "b", "c"), "3 names but spikes has 2 columns"),
    ],
)
def test_wrong_shapes(
    spikes: np.ndarray, labels: np.ndarray, names: tuple[str, ...], match: str
) -> None:
    with pytest.raises(DataFormatError, match=match):
        SpikeSeries(spikes, labels, names, ("k",))


def test_duplicate_input_names() -> None:
    with pytest.raises(DataFormatError, match="unique") as info:
        SpikeSeries(np.zeros((4, 3)), np.zeros(4), ("a", "b", "a"), ("k",))
    assert "'a', 'b', 'a'" in str(info.value)


def test_labels_out_of_range() -> None:
    with pytest.raises(DataFormatError, match="labels must lie in"):
        SpikeSeries(np.zeros((4, 1)), [0, 1, 2, 0], ("a",), ("k", "l"))
    with pytest.raises(DataFormatError, match="labels must lie in"):
        SpikeSeries(np.zeros((4, 1)), [0, -2, 0, 0], ("a",), ("k", "l"))


@pytest.mark.parametrize("bounds", [(5, 3), (-1, 2), (0, 11), (11, 12)])
def test_bad_split_bounds(bounds: tuple[int, int]) -> None:
    with pytest.raises(DataFormatError, match="split 'bad'") as info:
        SpikeSeries(np.zeros((10, 1)), np.zeros(10), ("a",), ("k",), {"bad": bounds})
    assert f"[{bounds[0]}, {bounds[1]})" in str(info.value)


# -- views -------------------------------------------------------------------------------------
def test_split_is_a_view_with_its_own_split() -> None:
    series = _series()
    for name, (start, stop) in series.splits.items():
        part = series.split(name)
        np.testing.assert_array_equal(part.spikes, series.spikes[start:stop])
        np.testing.assert_array_equal(part.labels, series.labels[start:stop])
        assert np.shares_memory(part.spikes, series.spikes)
        assert np.shares_memory(part.labels, series.labels)
        assert part.splits == {name: (0, stop - start)}
        assert part.meta["parent_split"] == name and part.meta["parent_offset"] == start
        assert part.input_names == series.input_names
        assert part.class_names == series.class_names


def test_unknown_split_lists_known_ones() -> None:
    with pytest.raises(DataFormatError, match="unknown split 'nope'") as info:
        _series().split("nope")
    assert "['test', 'train', 'val']" in str(info.value)


def test_to_tensor_is_batch_first_float32() -> None:
    series = _series(23)
    tensor = series.to_tensor()
    assert tensor.shape == (1, 23, 3) and tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor[0].numpy(), series.spikes.astype(np.float32))
    assert series.to_tensor(dtype=torch.float64).dtype == torch.float64


# -- events ------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.int8,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        elements=st.integers(0, 1),
    )
)
def test_events_round_trip(spikes: np.ndarray) -> None:
    names = tuple(f"ch{i}" for i in range(spikes.shape[1]))
    series = SpikeSeries(spikes, np.full(spikes.shape[0], -1), names, ())
    times, units = series.to_events()
    assert times.dtype == np.int64 and units.dtype == np.int64
    assert times.size == int(spikes.sum())
    order = np.lexsort((units, times))
    np.testing.assert_array_equal(order, np.arange(times.size))  # sorted by time, then unit
    assert (spikes[times, units] == 1).all()
    back = SpikeSeries.from_events(times, units, spikes.shape[0], names)
    np.testing.assert_array_equal(back.spikes, spikes)
    assert (back.labels == -1).all()
    assert back.input_names == names


def test_from_events_with_labels_and_splits() -> None:
    series = SpikeSeries.from_events(
        [0, 2, 2],
        [1, 0, 1],
        4,
        ("p", "q"),
        labels=[0, 1, 1, 0],
        class_names=("k", "l"),
        splits={"all": (0, 4)},
    )
    np.testing.assert_array_equal(series.spikes, [[0, 1], [0, 0], [1, 1], [0, 0]])
    assert series.labels.tolist() == [0, 1, 1, 0]
    assert series.splits == {"all": (0, 4)}


@pytest.mark.parametrize(
    "times,units,match",
    [
        ([0, 4], [0, 0], r"event times must lie in \[0, 4\)"),
        ([0, -1], [0, 0], "event times"),
        ([0, 1], [0, 2], r"event units must lie in \[0, 2\)"),
        ([0, 1], [0], "equal length"),
    ],
)
def test_from_events_errors(times: list[int], units: list[int], match: str) -> None:
    with pytest.raises(DataFormatError, match=match):
        SpikeSeries.from_events(times, units, 4, ("p", "q"))


# -- files -------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path) -> None:
    series = _series(77, seed=3)
    path = series.save(tmp_path / "s.npz")
    loaded = SpikeSeries.load(path)
    np.testing.assert_array_equal(loaded.spikes, series.spikes)
    np.testing.assert_array_equal(loaded.labels, series.labels)
    assert loaded.input_names == series.input_names
    assert loaded.class_names == series.class_names
    assert loaded.splits == series.splits
    assert loaded.meta["dataset"] == "unit-test" and loaded.meta["seed"] == 3
    assert loaded.meta["X_sha256"] == series.checksums()["X_sha256"]
    assert loaded.checksums() == series.checksums()


def test_file_is_plain_npz_without_pickle(tmp_path: Path) -> None:
    series = _series(20)
    path = series.save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(KEYS)
        arrays = {key: archive[key] for key in KEYS}  # every key readable without pickle
    assert arrays["X"].dtype == np.int8 and arrays["X"].shape == (20, 3)
    assert arrays["y"].dtype == np.int8 and arrays["y"].shape == (20,)
    assert arrays["input_names"].tolist() == ["a", "b", "c"]
    assert arrays["class_names"].tolist() == ["zero", "one"]
    assert arrays["split_names"].tolist() == ["train", "val", "test"]
    assert arrays["split_bounds"].dtype == np.int64
    assert arrays["split_bounds"].tolist() == [[0, 12], [12, 16], [16, 20]]
    assert arrays["split_bounds"].shape == (3, 2)
    meta = json.loads(str(arrays["meta"]))
    assert meta["format_version"] == 1 and meta["dataset"] == "unit-test"


def test_series_without_splits_round_trips(tmp_path: Path) -> None:
    series = SpikeSeries(np.eye(3, dtype=np.int8), [0, 0, 0], ("a", "b", "c"), ("k",))
    loaded = SpikeSeries.load(series.save(tmp_path / "nosplit.npz"))
    assert loaded.splits == {}
    np.testing.assert_array_equal(loaded.spikes, np.eye(3))


def _boom(*args: object, **kwargs: object) -> None:
    raise OSError("disk full (simulated)")


def test_failed_write_leaves_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _series(20, seed=1).save(tmp_path / "s.npz")
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", _boom)
    with pytest.raises(OSError, match="disk full"):
        _series(30, seed=2).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]  # no temp file left
    monkeypatch.undo()
    assert SpikeSeries.load(path).n_steps == 20


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np, "savez", _boom)
    with pytest.raises(OSError):
        _series().save(tmp_path / "sub" / "new.npz")
    assert not (tmp_path / "sub" / "new.npz").exists()
    assert list((tmp_path / "sub").iterdir()) == []


def _write_npz(path: Path, drop: tuple[str, ...] = (), **override: np.ndarray) -> Path:
    arrays = {
        "X": np.zeros((5, 2), dtype=np.int8),
        "y": np.zeros(5, dtype=np.int8),
        "input_names": np.array(["a", "b"]),
        "class_names": np.array(["k"]),
        "split_names": np.array(["test"]),
        "split_bounds": np.array([[0, 5]], dtype=np.int64),
    }
    arrays.update(override)
    for key in drop:
        del arrays[key]
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def test_minimal_file_without_meta_loads(tmp_path: Path) -> None:
    series = SpikeSeries.load(_write_npz(tmp_path / "m.npz"))
    assert series.splits == {"test": (0, 5)} and series.meta == {}


def test_missing_keys_are_named_with_the_file(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "m.npz", drop=("y", "class_names"))
    with pytest.raises(DataFormatError) as info:
        SpikeSeries.load(path)
    message = str(info.value)
    assert str(path) in message and "'y'" in message and "'class_names'" in message
    assert "'X'" not in message.split("needs")[0]


def test_bad_content_in_file_names_the_file(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "nb.npz", X=np.full((5, 2), 2, dtype=np.int8))
    with pytest.raises(DataFormatError, match="binary") as info:
        SpikeSeries.load(path)
    assert str(path) in str(info.value)
    path = _write_npz(tmp_path / "fl.npz", X=np.zeros((5, 2), dtype=np.float32))
    with pytest.raises(DataFormatError, match="'X'") as info:
        SpikeSeries.load(path)
    assert str(path) in str(info.value) and "float32" in str(info.value)


def test_file_that_is_not_npz(tmp_path: Path) -> None:
    path = tmp_path / "text.npz"
    path.write_text("time,unit\n0,1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"not a readable \.npz") as info:
        SpikeSeries.load(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="does not exist") as info:
        SpikeSeries.load(tmp_path / "absent.npz")
    assert "absent.npz" in str(info.value)


def test_object_arrays_are_never_written(tmp_path: Path) -> None:
    from spikeattr._io import save_npz_atomic

    with pytest.raises(TypeError, match="object"):
        save_npz_atomic(tmp_path / "o.npz", {"a": np.array([{"x": 1}], dtype=object)})
    assert not (tmp_path / "o.npz").exists()


# -- chronological splits ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "n,sizes",
    [(1_227_263, (736_358, 245_453, 245_452)), (1_828_200, (1_096_920, 365_640, 365_640))],
)
def test_chronological_splits_of_adl_subjects(n: int, sizes: tuple[int, int, int]) -> None:
    splits = chronological_splits(n)
    assert list(splits) == ["train", "val", "test"]
    assert tuple(b - a for a, b in splits.values()) == sizes
    assert splits["train"][0] == 0 and splits["test"][1] == n
    assert splits["train"][1] == splits["val"][0] and splits["val"][1] == splits["test"][0]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10, 99, 1001])
def test_chronological_splits_follow_the_rule(n: int) -> None:
    splits = chronological_splits(n)
    for t in range(n):
        expected = "train" if t < 0.6 * n else "val" if t < 0.8 * n else "test"
        start, stop = splits[expected]
        assert start <= t < stop


def test_chronological_splits_boundaries_for_many_lengths() -> None:
    for n in range(3000):
        splits = chronological_splits(n)
        steps = np.arange(n)
        assert splits["train"] == (0, int(np.count_nonzero(steps < 0.6 * n)))
        assert splits["val"] == (splits["train"][1], int(np.count_nonzero(steps < 0.8 * n)))
        assert splits["test"] == (splits["val"][1], n)


def test_chronological_splits_validate_arguments() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        chronological_splits(10, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="one fraction per split"):
        chronological_splits(10, (0.5, 0.5))
    assert chronological_splits(10, (0.5, 0.5), ("a", "b")) == {"a": (0, 5), "b": (5, 10)}


def test_npy_file_named_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "single.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))
    with pytest.raises(DataFormatError, match=r"single \.npy array"):
        SpikeSeries.load(path)


def test_bad_meta_and_split_fields_name_the_field(tmp_path: Path) -> None:
    series = SpikeSeries(
        np.ones((4, 1), dtype=np.int8),
        np.zeros(4, dtype=np.int8),
        ("a",),
        ("c",),
        {"train": (0, 2), "test": (2, 4)},
    )
    path = series.save(tmp_path / "ok.npz")
    with np.load(path) as archive:
        fields = {k: archive[k] for k in archive.files}
    broken = dict(fields, meta=np.array("{not json"))
    np.savez(tmp_path / "meta.npz", **broken)
    with pytest.raises(DataFormatError, match="field 'meta' is not valid JSON"):
        SpikeSeries.load(tmp_path / "meta.npz")
    uneven = dict(fields, split_names=np.array(["train"]))
    np.savez(tmp_path / "splits.npz", **uneven)
    with pytest.raises(DataFormatError, match="'split_names' has 1 names but 'split_bounds'"):
        SpikeSeries.load(tmp_path / "splits.npz")


def test_time_base_of_a_split_starts_at_its_own_first_step() -> None:
    series = SpikeSeries(
        np.ones((100, 1), dtype=np.int8),
        np.zeros(100, dtype=np.int8),
        ("a",),
        ("c",),
        {"train": (0, 60), "test": (60, 100)},
        {"start_time": "2012-11-11T21:14:00", "resolution_s": 1},
    )
    assert series.time_base() == {"step_seconds": 1.0, "start_time": "2012-11-11T21:14:00"}
    assert series.split("test").time_base()["start_time"] == "2012-11-11T21:15:00"
    plain = SpikeSeries(
        np.ones((4, 1), dtype=np.int8),
        np.zeros(4, dtype=np.int8),
        ("a",),
        ("c",),
        {},
        {"dataset": "synthetic"},
    )
    assert plain.time_base() == {"step_seconds": 1e-3, "start_time": None}


# -- inputs with a shape (event frames) ---------------------------------------------------------
def _shaped(n_steps: int = 6) -> SpikeSeries:
    rng = np.random.default_rng(1)
    return SpikeSeries(
        rng.integers(0, 2, size=(n_steps, 12)),
        np.zeros(n_steps, dtype=np.int8),
        tuple(f"u{i}" for i in range(12)),
        ("c",),
        {"train": (0, 4), "test": (4, n_steps)},
        input_shape=(2, 2, 3),
    )


def test_input_shape_round_trips_and_follows_splits(tmp_path: Path) -> None:
    series = _shaped()
    loaded = SpikeSeries.load(series.save(tmp_path / "frames.npz"))
    assert loaded.input_shape == (2, 2, 3)
    assert loaded.split("test").input_shape == (2, 2, 3)
    np.testing.assert_array_equal(loaded.spikes, series.spikes)
    assert "inputs=12 of shape [2, 2, 3]" in repr(loaded)
    with np.load(tmp_path / "frames.npz", allow_pickle=False) as archive:
        assert archive["input_shape"].tolist() == [2, 2, 3]
    flat = SpikeSeries.load(_series().save(tmp_path / "flat.npz"))
    assert flat.input_shape is None  # the key is optional: older files read as before


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 2, 2), r"input_shape \[2, 2, 2\] holds 8 inputs but spikes has 12 columns"),
        ((3, 0, 4), "positive integers"),
        ((), "positive integers"),
    ],
)
def test_input_shape_must_hold_the_inputs(shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        SpikeSeries(
            np.zeros((3, 12)), np.zeros(3), [f"u{i}" for i in range(12)], ["c"], input_shape=shape
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([2.0, 2.0, 3.0]), "field 'input_shape' must be a 1-D array of integers"),
        (np.array([[2, 6]]), "field 'input_shape' must be a 1-D array of integers"),
        (np.array([-2, -6]), "field 'input_shape' must hold positive sizes"),
        (np.array([5, 2]), r"input_shape \[5, 2\] holds 10 inputs but spikes has 12"),
    ],
)
def test_a_bad_input_shape_in_a_file_names_the_field(
    tmp_path: Path, value: np.ndarray, message: str
) -> None:
    path = _shaped().save(tmp_path / "ok.npz")
    with np.load(path) as archive:
        fields = {k: archive[k] for k in archive.files}
    np.savez(tmp_path / "bad.npz", **dict(fields, input_shape=value))
    with pytest.raises(DataFormatError, match=message) as info:
        SpikeSeries.load(tmp_path / "bad.npz")
    assert str(tmp_path / "bad.npz") in str(info.value)
