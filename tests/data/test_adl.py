"""Tests of the UCI ADL reader and encoder (spikeattr.data.adl, SPEC 2.2)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikeattr._io import file_sha256
from spikeattr.data.adl import (
    ADL_CLASSES,
    ADL_FILES,
    ADL_INPUTS,
    OFFICIAL_SHA256,
    OTHER_CLASS,
    bundled_raw_dir,
    download_uci_zip,
    encode_subject,
    parse_intervals,
    verify_raw_files,
)
from spikeattr.errors import ChecksumError, DataFormatError, SpikeAttrError

RAW_DIR = bundled_raw_dir()


@pytest.fixture(scope="module")
def reference(checksums: dict[str, Any]) -> dict[str, Any]:
    adl: dict[str, Any] = checksums["adl"]
    return adl


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A writable copy of the official raw files."""
    target = tmp_path / "raw"
    target.mkdir()
    for name in ADL_FILES:
        shutil.copy(RAW_DIR / name, target / name)
    return target


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def _write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\r\n".join(lines))


# -- the real data ----------------------------------------------------------------------------
def test_bundled_files_are_the_official_ones() -> None:
    listed = {}
    for line in (RAW_DIR / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        digest, name = line.split()
        listed[name] = digest
    assert listed == OFFICIAL_SHA256
    verify_raw_files(RAW_DIR)


@pytest.mark.parametrize(
    ("subject", "compat", "x_key"),
    [
        ("A", "aligned", "X_sha256"),
        ("A", "reference", "X_sha256"),
        ("B", "aligned", "X_sha256_aligned"),
        ("B", "reference", "X_sha256_reference_compat"),
    ],
)
def test_encoding_reproduces_reference_checksums(
    reference: dict[str, Any], subject: str, compat: str, x_key: str
) -> None:
    expected = reference[subject]
    series = encode_subject(RAW_DIR, subject, compat)  # type: ignore[arg-type]
    assert series.n_steps == expected["n_steps"]
    assert series.spikes.shape == (expected["n_steps"], len(ADL_INPUTS))
    assert series.spikes.dtype == np.int8 and series.labels.dtype == np.int8
    assert series.input_names == tuple(reference["X_columns"]) == ADL_INPUTS
    assert series.class_names == ADL_CLASSES
    assert series.checksums() == {"X_sha256": expected[x_key], "y_sha256": expected["y_sha256"]}
    sizes = {name: stop - start for name, (start, stop) in series.splits.items()}
    assert sizes == expected["split_sizes"]
    assert list(series.splits) == ["train", "val", "test"]
    assert series.splits["train"][0] == 0 and series.splits["test"][1] == series.n_steps
    assert np.all(series.spikes[:, 0] == 1)
    meta = series.meta
    assert meta["dataset"] == "adl" and meta["subject"] == subject
    assert meta["encoding"] == compat and meta["resolution_s"] == 1
    assert meta["raw_sha256"] == {
        name: OFFICIAL_SHA256[name]
        for name in (f"Ordonez{subject}_Sensors.txt", f"Ordonez{subject}_ADLs.txt")
    }
    json.dumps(meta)  # JSON-serialisable provenance


def test_subject_a_defects_are_counted_not_raised() -> None:
    series = encode_subject(RAW_DIR, "A")
    defects = series.meta["defects"]
    assert defects["label_rows_end_before_start"] == 3
    assert defects["sensor_rows_end_before_start"] == 0
    assert defects["label_rows_overlapping"] == 4
    assert defects["label_seconds_multiply_labelled"] == 14
    assert defects["sensor_rows"] == 409 and defects["label_rows"] == 248
    assert series.meta["skipped_rows"] == {
        "OrdonezA_Sensors.txt": [],
        "OrdonezA_ADLs.txt": [72, 81, 83],
    }
    assert series.meta["start_time"] == "2011-11-28T02:27:59"
    # Subject A lacks a Door sensor; the channel stays all zeros. No Dinner label either.
    assert not series.spikes[:, ADL_INPUTS.index("Door")].any()
    assert not np.any(series.labels == ADL_CLASSES.index("Dinner"))
    assert np.any(series.labels == OTHER_CLASS)


def test_subject_b_reference_shift_and_cursor_are_reported() -> None:
    aligned = encode_subject(RAW_DIR, "B", "aligned")
    compat = encode_subject(RAW_DIR, "B", "reference")
    assert aligned.meta["start_time"] == compat.meta["start_time"] == "2012-11-11T21:14:00"
    defects = compat.meta["defects"]
    assert defects["reference_sensor_offset_s"] == 21
    assert defects["reference_cells_dropped_by_cursor"] == 5314
    assert defects["reference_cells_outside_timeline"] == 0
    assert defects["label_rows_overlapping"] > 0
    assert defects["sensor_rows_start_before_previous_row"] == 4
    assert "reference_sensor_offset_s" not in aligned.meta["defects"]
    np.testing.assert_array_equal(aligned.labels, compat.labels)
    # The reference matrix is the aligned one moved 21 s early, less the 5 314 cursor cells.
    shifted = aligned.spikes[21:, 1:]
    reference_part = compat.spikes[:-21, 1:]
    assert np.all(reference_part <= shifted)
    assert int((shifted != reference_part).sum()) == 5314
    assert not compat.spikes[-21:, 1:].any()
    # B's three Door PIRs share the one Door channel.
    assert aligned.spikes[:, ADL_INPUTS.index("Door")].sum() > 0


def test_parse_intervals_reads_the_real_rows() -> None:
    rows = parse_intervals(RAW_DIR / "OrdonezB_ADLs.txt", "adls")
    assert len(rows) == 493
    second = rows[1]  # '2012-11-12 00:24:00 \t2012-11-12 00:43:59...' has a trailing space
    assert second.line == 4
    assert second.start.isoformat() == "2012-11-12T00:24:00"
    assert second.end.isoformat() == "2012-11-12T00:43:59"
    assert second.fields == ("Spare_Time/TV",)
    sensors = parse_intervals(RAW_DIR / "OrdonezB_Sensors.txt", "sensors")
    assert sensors[1].fields == ("Door", "PIR", "Living")
    assert {row.fields[2] for row in sensors if row.name == "Door"} == {
        "Living", "Kitchen", "Bedroom"
    }  # fmt: skip


# -- bad input --------------------------------------------------------------------------------
def test_truncated_file_mid_row(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_ADLs.txt"
    lines = _lines(path)
    _write_lines(path, [*lines[:9], lines[9][:25]])  # line 10 cut inside its end time
    with pytest.raises(DataFormatError) as info:
        encode_subject(raw_copy, "A", verify=False)
    message = str(info.value)
    assert "OrdonezA_ADLs.txt line 10" in message and "end time" in message
    assert "'2011'" in message and "YYYY-MM-DD HH:MM:SS" in message


def test_truncated_row_missing_field(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_Sensors.txt"
    lines = _lines(path)
    assert lines[20][40:42] == b"\t\t"
    _write_lines(path, [*lines[:20], lines[20][:42]])  # keeps both dates, cuts Location on
    with pytest.raises(DataFormatError, match=r"OrdonezA_Sensors\.txt line 21: field Location"):
        encode_subject(raw_copy, "A", verify=False)


def test_truncated_inside_activity_name(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_ADLs.txt"
    lines = _lines(path)
    cut = lines[5].index(b"Breakfast") + 5
    _write_lines(path, [*lines[:5], lines[5][:cut]])
    with pytest.raises(DataFormatError, match=r"OrdonezA_ADLs\.txt line 6: Activity 'Break'"):
        encode_subject(raw_copy, "A", verify=False)


def test_unparsable_date(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_ADLs.txt"
    lines = _lines(path)
    lines[6] = lines[6].replace(b"2011-11-28 10:4", b"2011-13-40 10:4", 1)
    assert b"2011-13-40" in lines[6]
    _write_lines(path, lines)
    with pytest.raises(DataFormatError) as info:
        encode_subject(raw_copy, "A", verify=False)
    message = str(info.value)
    assert "OrdonezA_ADLs.txt line 7:" in message
    assert "'2011-13-40 10:4" in message and "is not a date 'YYYY-MM-DD HH:MM:SS'" in message


def test_missing_file(raw_copy: Path) -> None:
    (raw_copy / "OrdonezB_ADLs.txt").unlink()
    for verify in (True, False):
        with pytest.raises(DataFormatError, match=r"OrdonezB_ADLs\.txt: file not found"):
            encode_subject(raw_copy, "B", verify=verify)
    with pytest.raises(DataFormatError, match=r"OrdonezB_ADLs\.txt"):
        verify_raw_files(raw_copy)
    verify_raw_files(raw_copy, subjects=("A",))


def test_checksum_mismatch(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_Sensors.txt"
    data = bytearray(path.read_bytes())
    position = data.index(b"Cabinet")
    data[position] = ord("c")  # one byte: 'Cabinet' -> 'cabinet'
    path.write_bytes(bytes(data))
    actual = file_sha256(path)
    with pytest.raises(ChecksumError) as info:
        encode_subject(raw_copy, "A")
    message = str(info.value)
    assert "OrdonezA_Sensors.txt" in message
    assert OFFICIAL_SHA256["OrdonezA_Sensors.txt"] in message and actual in message
    with pytest.raises(ChecksumError, match=r"OrdonezA_Sensors\.txt"):
        verify_raw_files(raw_copy)
    # Without verification the file parses; the changed name is then an unknown location.
    rows = parse_intervals(path, "sensors")
    assert any(row.name == "cabinet" for row in rows)
    with pytest.raises(DataFormatError, match=r"Location 'cabinet' is not a known sensor"):
        encode_subject(raw_copy, "A", verify=False)


def test_checksum_mismatch_verify_false_still_encodes(raw_copy: Path) -> None:
    path = raw_copy / "OrdonezA_ADLs.txt"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"10:18:11", b"10:18:12", 1))  # one byte, still valid
    with pytest.raises(ChecksumError, match=r"OrdonezA_ADLs\.txt"):
        encode_subject(raw_copy, "A")
    series = encode_subject(raw_copy, "A", verify=False)
    assert series.n_steps == 1227263
    assert series.meta["raw_sha256"]["OrdonezA_ADLs.txt"] == file_sha256(path)


@pytest.mark.parametrize("drop", [1, 2])
def test_header_missing(raw_copy: Path, drop: int) -> None:
    path = raw_copy / "OrdonezB_Sensors.txt"
    lines = _lines(path)
    _write_lines(path, lines[drop:])
    with pytest.raises(DataFormatError) as info:
        parse_intervals(path, "sensors")
    message = str(info.value)
    assert "OrdonezB_Sensors.txt line 1: header missing" in message
    assert "Start time" in message


def test_header_second_line_missing(tmp_path: Path) -> None:
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(
        b"Start time\tEnd time\tActivity\r\n2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping"
    )
    with pytest.raises(DataFormatError, match=r"OrdonezA_ADLs\.txt line 2: header missing"):
        parse_intervals(path, "adls")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"line 1: header missing.*<empty file>"):
        parse_intervals(path, "adls")


def test_extra_field(tmp_path: Path) -> None:
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(
        b"Start time\tEnd time\tActivity\r\n----\t----\t----\r\n"
        b"2011-11-28 02:27:59\t2011-11-28 10:18:11\tSleeping\tlate\r\n"
    )
    with pytest.raises(DataFormatError, match=r"line 3: 1 unexpected extra field"):
        parse_intervals(path, "adls")


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SpikeAttrError, match="subject must be 'A' or 'B'"):
        encode_subject(RAW_DIR, "C")  # type: ignore[arg-type]
    with pytest.raises(SpikeAttrError, match="compat must be"):
        encode_subject(RAW_DIR, "A", "paper")  # type: ignore[arg-type]


# -- a hand-made subject ----------------------------------------------------------------------
_SENSORS = (
    "Start time          \tEnd time            \tLocation\tType\t\tPlace\r\n"
    "--------------------\t--------------------\t--------\t--------\t-----\r\n"
    "2020-01-01 00:00:02\t\t2020-01-01 00:00:04\t\tDoor\t\tPIR\t\t\tLiving\r\n"  # line 3
    "2020-01-01 00:00:03 \t2020-01-01 00:00:05  Door PIR Kitchen  \r\n"  # 4: Door merges
    "2020-01-01 00:00:07\t\t2020-01-01 00:00:06\t\tFridge\t\tMagnetic\tKitchen\r\n"  # 5: bad
    "2020-01-01 00:00:01\t\t2020-01-01 00:00:01\t\tBed\t\tPressure\tBedroom\r\n"  # 6
    "\r\n"  # 7: blank
    "2020-01-01 00:00:06\t\t2020-01-01 00:00:06\t\tSeat\t\tPressure\tLiving\r\n"  # 8
    "2020-01-01 00:00:03\t\t2020-01-01 00:00:08\t\tSeat\t\tPressure\tLiving\r\n"  # 9
    "2019-12-31 23:59:50\t\t2019-12-31 23:59:40\t\tToilet\t\tFlush\tBathroom"  # 10: bad
)
_ADLS = (
    "Start time          \tEnd time            \tActivity\t\r\n"
    "--------------------\t--------------------\t--------\r\n"
    "2020-01-01 00:00:00\t\t2020-01-01 00:00:03\t\tSleeping\t\t\r\n"  # line 3
    "2020-01-01 00:00:02\t\t2020-01-01 00:00:06\t\tToileting\t\r\n"  # 4: overlaps line 3
    "2020-01-01 00:00:12\t\t2020-01-01 00:00:08\t\tLunch\r\n"  # 5: ends before it starts
    "2020-01-01 00:00:08\t\t2020-01-01 00:00:09\t\tDinner  \r\n"  # 6
)


@pytest.fixture
def tiny_raw(tmp_path: Path) -> Path:
    target = tmp_path / "tiny"
    target.mkdir()
    (target / "OrdonezB_Sensors.txt").write_bytes(_SENSORS.encode("ascii"))
    (target / "OrdonezB_ADLs.txt").write_bytes(_ADLS.encode("ascii"))
    return target


def _column(series: Any, name: str) -> list[int]:
    return [int(v) for v in series.spikes[:, ADL_INPUTS.index(name)]]


def test_tiny_subject_aligned(tiny_raw: Path) -> None:
    with pytest.raises(ChecksumError):
        encode_subject(tiny_raw, "B")
    series = encode_subject(tiny_raw, "B", verify=False)
    # time 0 = 00:00:00 (the first label row; the skipped Toilet row does not count),
    # last second = 00:00:09 (Dinner's end, inclusive)
    assert series.n_steps == 10
    assert series.meta["start_time"] == "2020-01-01T00:00:00"
    assert _column(series, "Bias") == [1] * 10
    assert _column(series, "Door") == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]  # 2..4 and 3..5 merged
    assert _column(series, "Bed") == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]  # start == end: 1 second
    assert _column(series, "Seat") == [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]
    assert _column(series, "Fridge") == [0] * 10  # its only row ends before it starts
    assert _column(series, "Toilet") == [0] * 10
    assert int(series.spikes.sum()) == 10 + 4 + 1 + 6
    s, t, d, o = (ADL_CLASSES.index(n) for n in ("Sleeping", "Toileting", "Dinner", "Other"))
    assert o == OTHER_CLASS
    assert series.labels.tolist() == [s, s, s, s, t, t, t, o, d, d]  # first row wins at 2, 3
    defects = series.meta["defects"]
    assert defects == {
        "sensor_rows": 7,
        "label_rows": 4,
        "sensor_rows_end_before_start": 2,
        "label_rows_end_before_start": 1,
        "label_rows_overlapping": 2,
        "label_seconds_multiply_labelled": 2,
        "sensor_rows_start_before_previous_row": 2,
        "sensor_rows_overlapping_same_channel": 2,
    }
    assert series.meta["skipped_rows"] == {
        "OrdonezB_Sensors.txt": [5, 10],
        "OrdonezB_ADLs.txt": [5],
    }
    assert series.splits == {"train": (0, 6), "val": (6, 8), "test": (8, 10)}


def test_tiny_subject_reference(tiny_raw: Path) -> None:
    series = encode_subject(tiny_raw, "B", "reference", verify=False)
    assert series.n_steps == 10
    # Sensor seconds count from the first sensor row (00:00:02) and land at row 0.
    assert _column(series, "Door") == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert _column(series, "Bed") == [0] * 10  # 00:00:01 falls before row 0
    # Seat: line 8 writes 4; the cursor is then at 5, so line 9 (1..6) writes only 5..6.
    assert _column(series, "Seat") == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert _column(series, "Bias") == [1] * 10
    aligned = encode_subject(tiny_raw, "B", verify=False)
    np.testing.assert_array_equal(series.labels, aligned.labels)
    defects = series.meta["defects"]
    assert defects["reference_sensor_offset_s"] == 2
    assert defects["reference_cells_dropped_by_cursor"] == 3
    assert defects["reference_cells_outside_timeline"] == 1


# -- download ---------------------------------------------------------------------------------
def _make_zip(path: Path, names: tuple[str, ...] = ADL_FILES) -> None:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("UCI ADL Binary Dataset/", "")
        for name in names:
            bundle.write(RAW_DIR / name, f"UCI ADL Binary Dataset/{name}")
        bundle.writestr("../evil.txt", "must never be written")
        bundle.writestr("UCI ADL Binary Dataset/notes.md", "not one of the seven")


def test_download_from_file_url(tmp_path: Path, reference: dict[str, Any]) -> None:
    archive = tmp_path / "src" / "adl.zip"
    archive.parent.mkdir()
    _make_zip(archive)
    dest = tmp_path / "dest" / "raw"
    result = download_uci_zip(dest, url=archive.as_uri())
    assert result == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(ADL_FILES)
    assert not (tmp_path / "dest" / "evil.txt").exists() and not (dest / "evil.txt").exists()
    for name in ADL_FILES:
        assert file_sha256(dest / name) == OFFICIAL_SHA256[name]
    series = encode_subject(dest, "A")
    assert series.checksums()["X_sha256"] == reference["A"]["X_sha256"]


def test_download_without_network_says_what_to_do(tmp_path: Path) -> None:
    url = (tmp_path / "absent.zip").as_uri()
    with pytest.raises(SpikeAttrError, match=r"could not download .*by hand.*--raw-dir"):
        download_uci_zip(tmp_path / "raw", url=url)


def test_download_rejects_incomplete_or_bad_archives(tmp_path: Path) -> None:
    partial = tmp_path / "partial.zip"
    _make_zip(partial, names=tuple(n for n in ADL_FILES if n != "OrdonezB_ADLs.txt"))
    with pytest.raises(DataFormatError, match=r"lacks OrdonezB_ADLs\.txt"):
        download_uci_zip(tmp_path / "raw1", url=partial.as_uri())
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("hello", encoding="ascii")
    with pytest.raises(DataFormatError, match="not a zip archive"):
        download_uci_zip(tmp_path / "raw2", url=not_zip.as_uri())


def test_download_verifies_checksums(tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    altered.mkdir()
    for name in ADL_FILES:
        shutil.copy(RAW_DIR / name, altered / name)
    readme = altered / "README.txt"
    readme.write_bytes(readme.read_bytes() + b" ")
    archive = tmp_path / "altered.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ADL_FILES:
            bundle.write(altered / name, f"nested/deeper/{name}")
    with pytest.raises(ChecksumError, match=r"README\.txt"):
        download_uci_zip(tmp_path / "raw", url=archive.as_uri())
