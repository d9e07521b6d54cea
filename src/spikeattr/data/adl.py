"""The UCI "Activities of Daily Living (ADLs) Recognition Using Binary Sensors" data set (SPEC 2.2).

Two subjects (``A``, ``B``), each described by two text files: ``Ordonez{S}_Sensors.txt`` (one row
per interval in which a binary sensor was on) and ``Ordonez{S}_ADLs.txt`` (one row per labelled
activity). Both files have two header lines, then rows of the form::

    2011-11-28 02:27:59<TAB><TAB>2011-11-28 10:18:11<TAB><TAB>Bed<TAB><TAB><TAB>Pressure<TAB>Bedroom

with separators that are any mix of tabs and spaces, CRLF line ends and no newline after the last
row. :func:`parse_intervals` reads them, :func:`encode_subject` turns one subject into a
:class:`~spikeattr.data.series.SpikeSeries` at 1-second resolution:

* spikes ``[T, 14]`` int8, columns :data:`ADL_INPUTS` (``Bias`` is 1 at every second);
* labels ``[T]`` int8, indices into :data:`ADL_CLASSES` (10 = ``Other``: a second in no label row).

The official files ship inside the package (:func:`bundled_raw_dir`, CC BY 4.0, attribution in
its ``ATTRIBUTION.md``), so encoding works offline; a folder of your own copy works the same way,
and :func:`download_uci_zip` fetches and unpacks the official archive. The raw files are always
verified against :data:`OFFICIAL_SHA256` before they are used.

Real defects of the files (label rows that end before they start, overlapping label rows, sensor
rows listed out of time order) never raise: they are counted and reported in
``series.meta["defects"]``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np

from spikeattr._io import atomic_path, file_sha256
from spikeattr.data.series import SpikeSeries, chronological_splits
from spikeattr.errors import ChecksumError, DataFormatError, SpikeAttrError

__all__ = [
    "ADL_CLASSES",
    "ADL_FILES",
    "ADL_INPUTS",
    "OFFICIAL_SHA256",
    "OTHER_CLASS",
    "UCI_URL",
    "Compat",
    "IntervalRow",
    "RowKind",
    "Subject",
    "bundled_raw_dir",
    "download_uci_zip",
    "encode_subject",
    "parse_intervals",
    "raw_file_names",
    "verify_raw_files",
]

Subject = Literal["A", "B"]
Compat = Literal["aligned", "reference"]
RowKind = Literal["sensors", "adls"]

#: Input channels, in the order the published ADL models were trained with (SPEC 2.2).
ADL_INPUTS: tuple[str, ...] = (
    "Bias", "Maindoor", "Cupboard", "Fridge", "Shower", "Toaster", "Microwave", "Cooktop",
    "Seat", "Toilet", "Basin", "Bed", "Cabinet", "Door",
)  # fmt: skip

#: Class names in index order; index 10 (``Other``) is a second that no label row covers.
ADL_CLASSES: tuple[str, ...] = (
    "Sleeping", "Toileting", "Showering", "Breakfast", "Grooming", "Spare_Time/TV", "Leaving",
    "Lunch", "Snack", "Dinner", "Other",
)  # fmt: skip

#: Label index of a second that no activity row covers.
OTHER_CLASS = 10

#: The official archive (UCI data set 271, DOI 10.24432/C5J02M).
UCI_URL = (
    "https://archive.ics.uci.edu/static/public/271/"
    "activities+of+daily+living+adls+recognition+using+binary+sensors.zip"
)

#: SHA-256 of the seven files of the official archive (its ``SHA256SUMS``).
OFFICIAL_SHA256: dict[str, str] = {
    "OrdonezA_ADLs.txt": "b018601885e1c62a9769f6b2ac7b47fcd51497d8880e272c1b3ff678eb63e15d",
    "OrdonezA_Description.txt": "4ce4b8e4dbbaa9208069ac184e5686c2b8fdcf97a446a8357112f3ea2bc7b3dc",
    "OrdonezA_Sensors.txt": "3ec41f2b1d15c90aec0753d02a21c9e7add0b6f761ef76f3d8d428fb2dd0fa9d",
    "OrdonezB_ADLs.txt": "d2c59c9ada5da5dbebe26c6f02f02e331fc61a5d4ec425e19ef5a9de98852d58",
    "OrdonezB_Description.txt": "727f35c52afca460dee311eff8f3897065dfd75bc755b3dbb9de6b616df4d43d",
    "OrdonezB_Sensors.txt": "b0c77812b48f3b7d81afa446c80faba35b33bd99075350e929fa34a463c49a00",
    "README.txt": "c80e86f00bbc279d09a7154ae2d0a1f7d3d72a84ec20d4d694ed4641a3341014",
}

#: All files of the archive, in a stable order.
ADL_FILES: tuple[str, ...] = tuple(sorted(OFFICIAL_SHA256))

# Sensor ``Location`` column -> input channel. The files use the channel names verbatim; subject
# B's three ``Door`` PIRs (Place = Living, Kitchen, Bedroom) share Location ``Door`` and so merge
# into one channel.
_LOCATION_TO_INPUT: dict[str, str] = {name: name for name in ADL_INPUTS[1:]}

_FIELDS: dict[str, tuple[str, ...]] = {
    "sensors": ("Location", "Type", "Place"),
    "adls": ("Activity",),
}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TIME_RE = re.compile(r"\d{2}:\d{2}:\d{2}\Z")
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_MAX_MEMBER_BYTES = 64 << 20  # no file of the archive is near this; guards against zip bombs


@dataclass(frozen=True)
class IntervalRow:
    """One row of a Sensors or ADLs file: a closed interval ``[start, end]`` of whole seconds.

    Attributes:
        line: 1-based line number in the file (the two header lines are lines 1 and 2).
        start: start date and time (naive local time, as in the file).
        end: end date and time; may lie before ``start`` in the real data (a defect).
        fields: the remaining columns: ``(Location, Type, Place)`` for sensors, ``(Activity,)``
            for activity labels.
    """

    line: int
    start: dt.datetime
    end: dt.datetime
    fields: tuple[str, ...]

    @property
    def name(self) -> str:
        """The column that is encoded: ``Location`` (sensors) or ``Activity`` (labels)."""
        return self.fields[0]

    @property
    def ends_before_start(self) -> bool:
        """True for the defective rows whose end lies before their start."""
        return self.end < self.start


def bundled_raw_dir() -> Path:
    """The folder of the official raw files that ship with spikeattr (``spikeattr/data/uci_adl``).

    The seven files are byte-identical to the UCI archive (CC BY 4.0; see ``ATTRIBUTION.md`` and
    ``LICENSE-CC-BY-4.0.txt`` in the folder) and are verified like any other copy.
    """
    return Path(str(resources.files("spikeattr.data") / "uci_adl"))


def raw_file_names(subject: Subject) -> tuple[str, str]:
    """``(sensors_file, adls_file)`` names of one subject, e.g. ``OrdonezA_Sensors.txt``."""
    _check_subject(subject)
    return f"Ordonez{subject}_Sensors.txt", f"Ordonez{subject}_ADLs.txt"


# -- parsing -------------------------------------------------------------------------------------
def parse_intervals(path: str | os.PathLike[str], kind: RowKind) -> list[IntervalRow]:
    """Parse a Sensors (``kind="sensors"``) or ADLs (``kind="adls"``) file into rows, in file order.

    The file must start with the two header lines (``Start time  End time  ...`` and a line of
    dashes). Each further non-blank line is ``start-date start-time end-date end-time fields...``
    with any run of tabs and spaces between tokens; sensor rows have 3 fields (Location, Type,
    Place), activity rows 1 (Activity). CRLF line ends, trailing blanks and blank lines are
    accepted. Rows whose end lies before their start are returned as they are (callers count
    them).

    The real files have no newline after their last row, so a row cut inside its *last* field
    cannot be told from a complete one here; :func:`encode_subject` catches it for ``Location``
    and ``Activity`` (unknown names), while ``Type`` and ``Place`` are not checked (they are not
    encoded). With ``verify=True`` the checksums catch any truncation.

    Raises:
        DataFormatError: the file is missing or unreadable, lacks the header, or a row is
            truncated or malformed (the message names the file, the 1-based line, the field and
            what was expected).
    """
    source = Path(path)
    if kind not in _FIELDS:
        raise SpikeAttrError(f"kind must be 'sensors' or 'adls'; got {kind!r}")
    fields = _FIELDS[kind]
    if not source.is_file():
        raise DataFormatError(
            f"{source}: file not found; the ADL raw directory needs the files "
            f"{', '.join(ADL_FILES)} (see spikeattr.data.adl.download_uci_zip)"
        )
    try:
        text = source.read_bytes().decode("latin-1")
    except OSError as exc:
        raise DataFormatError(f"{source}: cannot read the file: {exc}") from exc
    lines = text.splitlines()
    header = "Start time  End time  " + "  ".join(fields)
    if not lines or lines[0].split()[:4] != ["Start", "time", "End", "time"]:
        first = lines[0].strip() if lines else "<empty file>"
        raise DataFormatError(
            f"{source} line 1: header missing; expected '{header}', found {first[:60]!r}"
        )
    dashes = lines[1].split() if len(lines) > 1 else []
    if not dashes or any(set(token) != {"-"} for token in dashes):
        found = lines[1].strip() if len(lines) > 1 else "<end of file>"
        raise DataFormatError(
            f"{source} line 2: header missing its second line; expected a line of dashes "
            f"('----  ----  ...'), found {found[:60]!r}"
        )
    rows: list[IntervalRow] = []
    n_tokens = 4 + len(fields)
    for number, raw_line in enumerate(lines[2:], start=3):
        tokens = raw_line.split()
        if not tokens:
            continue
        where = f"{source} line {number}"
        start = _parse_datetime(tokens[0:2], where, "start time")
        end = _parse_datetime(tokens[2:4], where, "end time")
        if len(tokens) < n_tokens:
            missing = fields[len(tokens) - 4]
            raise DataFormatError(
                f"{where}: field {missing} is missing (truncated row?); expected "
                f"'start end {' '.join(fields)}', found {raw_line.strip()!r}"
            )
        if len(tokens) > n_tokens:
            raise DataFormatError(
                f"{where}: {len(tokens) - n_tokens} unexpected extra field(s) after "
                f"{fields[-1]}; expected 'start end {' '.join(fields)}', "
                f"found {raw_line.strip()!r}"
            )
        rows.append(IntervalRow(number, start, end, tuple(tokens[4:])))
    return rows


def _parse_datetime(tokens: Sequence[str], where: str, field: str) -> dt.datetime:
    """Parse ``['YYYY-MM-DD', 'HH:MM:SS']`` or raise a :class:`DataFormatError` naming ``field``."""
    found = " ".join(tokens)
    if len(tokens) == 2 and _DATE_RE.match(tokens[0]) and _TIME_RE.match(tokens[1]):
        try:
            return dt.datetime.strptime(found, _DATETIME_FORMAT)
        except ValueError:
            pass
    if not found:
        raise DataFormatError(
            f"{where}: {field} is missing (truncated row?); expected 'YYYY-MM-DD HH:MM:SS'"
        )
    hint = " (truncated row?)" if len(tokens) < 2 else ""
    raise DataFormatError(f"{where}: {field} {found!r} is not a date 'YYYY-MM-DD HH:MM:SS'{hint}")


# -- checksums -----------------------------------------------------------------------------------
def verify_raw_files(
    raw_dir: str | os.PathLike[str] | None, subjects: Iterable[Subject] = ("A", "B")
) -> None:
    """Check the SHA-256 of each needed raw file of ``subjects`` against :data:`OFFICIAL_SHA256`.

    ``raw_dir=None`` checks the files that ship with spikeattr (:func:`bundled_raw_dir`).

    Raises:
        DataFormatError: a needed file is missing.
        ChecksumError: a file differs from the official one (names the file and both digests).
    """
    directory = bundled_raw_dir() if raw_dir is None else Path(raw_dir)
    for subject in subjects:
        for name in raw_file_names(subject):
            _verify_file(directory / name)


def _verify_file(path: Path) -> str:
    if not path.is_file():
        raise DataFormatError(
            f"{path}: file not found; download the official archive ({UCI_URL}) and pass its "
            f"folder as --raw-dir"
        )
    expected = OFFICIAL_SHA256[path.name]
    actual = file_sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch, expected {expected}, got {actual}; the file is not the "
            f"official {path.name} (re-download it, or pass verify=False at your own risk)"
        )
    return actual


# -- encoding ------------------------------------------------------------------------------------
def encode_subject(
    raw_dir: str | os.PathLike[str] | None,
    subject: Subject,
    compat: Compat = "aligned",
    verify: bool = True,
) -> SpikeSeries:
    """Encode one subject at 1-second resolution (SPEC 2.2).

    ``compat="aligned"`` (the default, correct encoding):

    * time 0 is the earliest start among the subject's sensor and label rows; ``T`` runs up to
      the latest end among them, inclusive (rows with ``end < start`` are skipped entirely, so
      they never move these bounds; in the real files they lie inside them anyway);
    * channel = the ``Location`` column; a channel is 1 at every second ``s`` with
      ``start <= s <= end`` of any of its rows; ``Bias`` is 1 everywhere; a sensor the subject
      lacks stays all zeros; rows with ``end < start`` are skipped and counted;
    * label of a second = the activity of the first row (in file order) that covers it, or
      ``Other`` (10) if none does; rows with ``end < start`` cover nothing.

    ``compat="reference"`` reproduces the original research code bit for bit (the data the
    published models were trained on). Labels, ``T`` and ``Bias`` are as above; the sensor
    columns differ in two ways:

    1. Sensor second ``k`` is ``k`` seconds after the start of the *first sensor row in the
       file*, and that sensor matrix is written at row 0 of the label timeline. In subject B
       the first sensor row starts 21 s after time 0, so every sensor spike sits 21 rows early.
       Cells that would fall before row 0 or at/after row ``T`` are lost (none in the real data).
    2. Each channel keeps a forward-only cursor: walking that channel's rows in file order
       (skipping rows with ``end < start``), a row writes the rows ``max(start, cursor) .. end``
       (nothing if ``end < cursor``), then ``cursor = max(cursor, end + 1)``. A row listed after
       a same-channel row that ends later than its start therefore loses its beginning (the
       seconds before the cursor that no earlier row of the channel covers). In B this cuts one
       row: line 2067 of ``OrdonezB_Sensors.txt`` (``Seat``, 2012-11-30 12:41:45 to
       2012-12-01 00:04:58) is listed after the Seat row of line 2049 that ends 2012-11-30
       22:11:57, so it only writes from 22:11:58 on; the gaps between the earlier Seat rows of
       that afternoon, 5 314 cells, stay 0. (Variants that move the cursor to the previous
       row's start, or to its end instead of end + 1, give the same matrix on the real files.)

    Subject A is identical in both modes.

    Args:
        raw_dir: folder holding ``Ordonez{A,B}_{Sensors,ADLs}.txt``; ``None`` for the files
            that ship with spikeattr (:func:`bundled_raw_dir`).
        subject: ``"A"`` or ``"B"``.
        compat: ``"aligned"`` or ``"reference"``.
        verify: check the files' SHA-256 against :data:`OFFICIAL_SHA256` first.

    Returns:
        A :class:`SpikeSeries`: spikes int8 ``[T, 14]`` (:data:`ADL_INPUTS`), labels int8 ``[T]``
        (:data:`ADL_CLASSES`), chronological 60/20/20 ``train``/``val``/``test`` splits and meta
        ``{"dataset": "adl", "subject", "encoding": compat, "start_time": ISO time of row 0,
        "resolution_s": 1, "defects", "skipped_rows", "raw_sha256"}``. ``defects`` counts
        ``sensor_rows``, ``label_rows``, ``{sensor,label}_rows_end_before_start`` (skipped),
        ``label_rows_overlapping`` (usable label rows sharing a second with another one),
        ``label_seconds_multiply_labelled``, ``sensor_rows_start_before_previous_row`` (listed
        out of time order) and ``sensor_rows_overlapping_same_channel`` (starting at or before
        the latest end of an earlier row of the same channel); in reference mode also
        ``reference_sensor_offset_s``, ``reference_cells_dropped_by_cursor`` and
        ``reference_cells_outside_timeline``. ``skipped_rows`` maps each file name to the
        1-based line numbers of its skipped rows. ``raw_sha256`` maps file name to digest.

    Raises:
        DataFormatError: a file is missing or malformed, or names an unknown location/activity.
        ChecksumError: ``verify`` and a file differs from the official one.
    """
    _check_subject(subject)
    if compat not in ("aligned", "reference"):
        raise SpikeAttrError(f"compat must be 'aligned' or 'reference'; got {compat!r}")
    directory = bundled_raw_dir() if raw_dir is None else Path(raw_dir)
    sensors_name, adls_name = raw_file_names(subject)
    sensors_path, adls_path = directory / sensors_name, directory / adls_name
    if verify:
        raw_sha = {p.name: _verify_file(p) for p in (sensors_path, adls_path)}
    sensor_rows = parse_intervals(sensors_path, "sensors")
    label_rows = parse_intervals(adls_path, "adls")
    if not verify:
        raw_sha = {p.name: file_sha256(p) for p in (sensors_path, adls_path)}
    channels = [_channel_of(row, sensors_path) for row in sensor_rows]
    classes = [_class_of(row, adls_path) for row in label_rows]
    valid_sensors = [(r, c) for r, c in zip(sensor_rows, channels, strict=True) if _valid(r)]
    valid_labels = [(r, c) for r, c in zip(label_rows, classes, strict=True) if _valid(r)]
    for path, valid in ((sensors_path, valid_sensors), (adls_path, valid_labels)):
        if not valid:
            raise DataFormatError(
                f"{path}: no usable rows after the two header lines (rows whose end lies before "
                f"their start are skipped)"
            )

    time0 = min(row.start for row, _ in valid_sensors + valid_labels)
    time_last = max(row.end for row, _ in valid_sensors + valid_labels)
    n_steps = _seconds(time_last - time0) + 1
    sensor_intervals = _intervals(valid_sensors, time0)
    label_intervals = _intervals(valid_labels, time0)

    defects = _defects(sensor_rows, label_rows, sensor_intervals, label_intervals)
    if compat == "aligned":
        sensor_cells = _fill(sensor_intervals, n_steps, cursor=False)
    else:
        offset = _seconds(valid_sensors[0][0].start - time0)
        shifted = [(start - offset, end - offset, c) for start, end, c in sensor_intervals]
        sensor_cells = _fill(shifted, n_steps, cursor=True)
        full = _fill(shifted, n_steps, cursor=False)
        defects["reference_sensor_offset_s"] = offset
        defects["reference_cells_dropped_by_cursor"] = int(np.count_nonzero(full != sensor_cells))
        defects["reference_cells_outside_timeline"] = _cells_outside(shifted, n_steps)
    spikes = sensor_cells
    spikes[:, 0] = 1

    labels = np.full(n_steps, OTHER_CLASS, dtype=np.int8)
    for start, end, label in reversed(label_intervals):
        labels[start : end + 1] = label  # reverse file order, so the first row wins

    meta: dict[str, Any] = {
        "dataset": "adl",
        "subject": subject,
        "encoding": compat,
        "start_time": time0.isoformat(),
        "resolution_s": 1,
        "defects": defects,
        "skipped_rows": {
            sensors_name: [row.line for row in sensor_rows if not _valid(row)],
            adls_name: [row.line for row in label_rows if not _valid(row)],
        },
        "raw_sha256": raw_sha,
    }
    return SpikeSeries(
        spikes=spikes,
        labels=labels,
        input_names=ADL_INPUTS,
        class_names=ADL_CLASSES,
        splits=chronological_splits(n_steps),
        meta=meta,
    )


def _valid(row: IntervalRow) -> bool:
    return not row.ends_before_start


def _check_subject(subject: str) -> None:
    if subject not in ("A", "B"):
        raise SpikeAttrError(f"subject must be 'A' or 'B'; got {subject!r}")


def _seconds(delta: dt.timedelta) -> int:
    return delta.days * 86_400 + delta.seconds


def _channel_of(row: IntervalRow, path: Path) -> int:
    channel = _LOCATION_TO_INPUT.get(row.name)
    if channel is None:
        raise DataFormatError(
            f"{path} line {row.line}: Location {row.name!r} is not a known sensor; expected "
            f"one of {', '.join(ADL_INPUTS[1:])}"
        )
    return ADL_INPUTS.index(channel)


def _class_of(row: IntervalRow, path: Path) -> int:
    if row.name not in ADL_CLASSES[:OTHER_CLASS]:
        raise DataFormatError(
            f"{path} line {row.line}: Activity {row.name!r} is not a known activity; expected "
            f"one of {', '.join(ADL_CLASSES[:OTHER_CLASS])}"
        )
    return ADL_CLASSES.index(row.name)


def _intervals(
    rows: Sequence[tuple[IntervalRow, int]], time0: dt.datetime
) -> list[tuple[int, int, int]]:
    """``(start_s, end_s, value)`` per ``(row, value)``, in order, seconds after ``time0``."""
    return [(_seconds(row.start - time0), _seconds(row.end - time0), value) for row, value in rows]


def _fill(intervals: Sequence[tuple[int, int, int]], n_steps: int, cursor: bool) -> np.ndarray:
    """int8 ``[n_steps, 14]`` with ``[s, c] = 1`` for every second ``s`` of an interval of
    channel ``c``; cells outside ``[0, n_steps)`` are lost. With ``cursor``, the reference's
    per-channel forward-only cursor applies (see :func:`encode_subject`)."""
    cells = np.zeros((n_steps, len(ADL_INPUTS)), dtype=np.int8)
    cursors = dict.fromkeys(range(len(ADL_INPUTS)), 0)
    for start, end, channel in intervals:
        first = max(start, cursors[channel]) if cursor else max(start, 0)
        if end >= first:
            cells[first : end + 1, channel] = 1
        if cursor:
            cursors[channel] = max(cursors[channel], end + 1)
    return cells


def _cells_outside(intervals: Sequence[tuple[int, int, int]], n_steps: int) -> int:
    """Number of row-seconds of ``intervals`` that fall outside ``[0, n_steps)``."""
    lost = 0
    for start, end, _ in intervals:
        lost += max(0, min(end, -1) - start + 1) + max(0, end - max(start, n_steps) + 1)
    return lost


def _defects(
    sensor_rows: Sequence[IntervalRow],
    label_rows: Sequence[IntervalRow],
    sensors: Sequence[tuple[int, int, int]],
    labels: Sequence[tuple[int, int, int]],
) -> dict[str, int]:
    """Counts of the data defects (SPEC 2.2) for ``meta["defects"]``; ``sensors`` and
    ``labels`` are the usable rows' intervals, in file order."""
    coverage = np.zeros(max(end for _, end, _ in labels) + 2, dtype=np.int64)
    for start, end, _ in labels:
        coverage[start] += 1
        coverage[end + 1] -= 1
    depth = np.cumsum(coverage)
    overlapping = sum(1 for start, end, _ in labels if int(depth[start : end + 1].max()) > 1)
    out_of_order = sum(1 for i in range(1, len(sensors)) if sensors[i][0] < sensors[i - 1][0])
    latest_end: dict[int, int] = {}
    overlapping_same_channel = 0
    for start, end, channel in sensors:
        if channel in latest_end and start <= latest_end[channel]:
            overlapping_same_channel += 1
        latest_end[channel] = max(latest_end.get(channel, end), end)
    return {
        "sensor_rows": len(sensor_rows),
        "label_rows": len(label_rows),
        "sensor_rows_end_before_start": sum(1 for row in sensor_rows if not _valid(row)),
        "label_rows_end_before_start": sum(1 for row in label_rows if not _valid(row)),
        "label_rows_overlapping": overlapping,
        "label_seconds_multiply_labelled": int(np.count_nonzero(depth > 1)),
        "sensor_rows_start_before_previous_row": out_of_order,
        "sensor_rows_overlapping_same_channel": overlapping_same_channel,
    }


# -- download ------------------------------------------------------------------------------------
def download_uci_zip(
    dest_dir: str | os.PathLike[str], url: str = UCI_URL, timeout_s: float = 60.0
) -> Path:
    """Download the official archive, extract its 7 files into ``dest_dir`` and verify them.

    Only the files named in :data:`OFFICIAL_SHA256` are extracted, wherever they lie inside the
    archive, and always to ``dest_dir/<name>`` (member paths are never used, so no path
    traversal). ``file://`` URLs work too.

    Returns:
        ``dest_dir`` as a :class:`~pathlib.Path`.

    Raises:
        SpikeAttrError: the download failed (no network, bad URL).
        DataFormatError: the archive is not a zip file or lacks some of the files.
        ChecksumError: an extracted file differs from the official one.
    """
    target = Path(dest_dir)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".download.") as tmp:
        archive = Path(tmp) / "adl.zip"
        try:
            with (
                urllib.request.urlopen(url, timeout=timeout_s) as response,
                open(archive, "wb") as handle,
            ):
                shutil.copyfileobj(response, handle)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SpikeAttrError(
                f"could not download {url}: {exc}; download it by hand, unzip it and pass "
                f"its folder as --raw-dir"
            ) from exc
        _extract_named(archive, target, url)
    for name in ADL_FILES:
        _verify_file(target / name)
    return target


def _extract_named(archive: Path, target: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in bundle.infolist():
                name = PurePosixPath(info.filename.replace("\\", "/")).name
                if info.is_dir() or name not in OFFICIAL_SHA256 or name in members:
                    continue
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise DataFormatError(
                        f"{url}: member {info.filename!r} is {info.file_size} bytes; the "
                        f"official {name} is far smaller"
                    )
                members[name] = info
            missing = [name for name in ADL_FILES if name not in members]
            if missing:
                raise DataFormatError(
                    f"{url}: the archive lacks {', '.join(missing)}; expected the official UCI "
                    f"ADL archive with files {', '.join(ADL_FILES)}"
                )
            for name, info in members.items():
                with atomic_path(target / name) as tmp_file:
                    with bundle.open(info) as source, open(tmp_file, "wb") as sink:
                        shutil.copyfileobj(source, sink)
    except zipfile.BadZipFile as exc:
        raise DataFormatError(f"{url}: not a zip archive: {exc}") from exc
