"""The spike-series container: one long binary time series with labels, names and splits.

A :class:`SpikeSeries` holds a dense binary matrix ``spikes`` of shape ``[T, n_inputs]`` (int8,
one row per time step, one column per input channel), per-step class labels ``[T]`` (int8), the
input names, the class names and named chronological splits ``{name: (start, stop)}``.

On disk a series is one ``.npz`` file that ``np.load(path, allow_pickle=False)`` reads:

=================  ==============  ==========================================================
key                dtype / shape   meaning
=================  ==============  ==========================================================
``X``              int8 [T, n]     spikes, 0 or 1
``y``              int8 [T]        class index per step (``-1`` = unlabelled)
``input_names``    str [n]         channel names, in column order
``class_names``    str [C]         class names, in index order
``split_names``    str [k]         e.g. ``train``, ``val``, ``test``
``split_bounds``   int64 [k, 2]    ``[start, stop)`` of each split, in steps
``meta``           str []          JSON object: data set name, encoding, provenance, checksums
``input_shape``    int64 [d]       optional: the shape of one step's inputs, e.g. ``[2, 34, 34]``
                                   (event frames); ``X`` stays ``[T, n]`` with ``n`` their
                                   product, column ``j`` = C-order index ``j`` of the shape
``evidence_ptr``   int64 [T + 1]   optional: the cells deciding step ``t``'s label are rows
                                   ``evidence_ptr[t]:evidence_ptr[t + 1]`` of ...
``evidence_cells`` int32 [N, 2]    ... optional: ``(absolute step, channel)`` of each cell
=================  ==============  ==========================================================

The two ``evidence_*`` fields appear together or not at all: tasks with known answers
(``spikeattr data benchmark``) store the evidence mask of every labelled step
(:class:`~spikeattr.data.evidence.EvidenceMask`, checked on load like every other field).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr._io import array_sha256, load_npz, save_npz_atomic
from spikeattr.data.evidence import EvidenceMask
from spikeattr.errors import DataFormatError

FORMAT_VERSION = 1
#: Seconds per step of the synthetic data set (``dt = 1e-3`` s in its models).
SYNTHETIC_STEP_SECONDS = 1e-3
_REQUIRED_KEYS = ("X", "y", "input_names", "class_names", "split_names", "split_bounds")


def check_binary_spikes(spikes: np.ndarray, what: str = "spikes") -> None:
    """Raise :class:`DataFormatError` unless ``spikes`` holds only 0 and 1."""
    if spikes.size == 0:
        return
    if spikes.dtype == np.bool_:
        return
    bad = (spikes != 0) & (spikes != 1)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataFormatError(
            f"{what} must be binary (0 or 1); found {spikes[index]!r} at index {index} "
            f"({int(bad.sum())} non-binary values in all)"
        )


@dataclass(frozen=True)
class SpikeSeries:
    """A binary multichannel spike series with per-step labels and chronological splits.

    Attributes:
        spikes: int8 ``[T, n_inputs]``, values 0/1.
        labels: int8 ``[T]``, class index per step, ``-1`` where unlabelled.
        input_names: one name per column of ``spikes``.
        class_names: one name per class index.
        splits: ``{name: (start, stop)}`` half-open step ranges, e.g. ``train``/``val``/``test``.
        meta: free-form JSON-serialisable provenance (data set, encoding, defects found...).
        evidence: the cells deciding each step's label (tasks with known answers), or ``None``.
        input_shape: the shape of one step's inputs (``None``: a flat vector of ``n_inputs``);
            its product is ``n_inputs`` and ``spikes[t].reshape(input_shape)`` is step ``t``.
    """

    spikes: np.ndarray
    labels: np.ndarray
    input_names: tuple[str, ...]
    class_names: tuple[str, ...]
    splits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    evidence: EvidenceMask | None = None
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        spikes = np.asarray(self.spikes)
        labels = np.asarray(self.labels)
        if spikes.ndim != 2:
            raise DataFormatError(
                f"spikes must have shape [T, n_inputs]; got {spikes.ndim} dimensions {spikes.shape}"
            )
        check_binary_spikes(spikes)
        if labels.shape != (spikes.shape[0],):
            raise DataFormatError(
                f"labels must have shape [T] = [{spikes.shape[0]}]; got {labels.shape}"
            )
        if len(self.input_names) != spikes.shape[1]:
            raise DataFormatError(
                f"input_names has {len(self.input_names)} names but spikes has "
                f"{spikes.shape[1]} columns"
            )
        if len(set(self.input_names)) != len(self.input_names):
            raise DataFormatError(f"input_names must be unique; got {list(self.input_names)}")
        if labels.size and (labels.min() < -1 or labels.max() >= len(self.class_names)):
            raise DataFormatError(
                f"labels must lie in [-1, {len(self.class_names) - 1}] for "
                f"{len(self.class_names)} classes; found [{labels.min()}, {labels.max()}]"
            )
        n_steps = spikes.shape[0]
        for name, (start, stop) in self.splits.items():
            if not 0 <= start <= stop <= n_steps:
                raise DataFormatError(
                    f"split {name!r} = [{start}, {stop}) does not lie in [0, {n_steps}]"
                )
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if not shape or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
                for n in shape
            ):
                raise DataFormatError(f"input_shape must list positive integers; got {shape}")
            if int(np.prod(shape)) != spikes.shape[1]:
                raise DataFormatError(
                    f"input_shape {list(shape)} holds {int(np.prod(shape))} inputs but spikes "
                    f"has {spikes.shape[1]} columns"
                )
            object.__setattr__(self, "input_shape", tuple(int(n) for n in shape))
        if self.evidence is not None:
            self.evidence.check(n_steps, spikes.shape[1], labels)
        object.__setattr__(self, "spikes", np.ascontiguousarray(spikes, dtype=np.int8))
        object.__setattr__(self, "labels", np.ascontiguousarray(labels, dtype=np.int8))
        object.__setattr__(self, "input_names", tuple(str(n) for n in self.input_names))
        object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
        object.__setattr__(
            self, "splits", {str(k): (int(a), int(b)) for k, (a, b) in self.splits.items()}
        )
        object.__setattr__(self, "meta", dict(self.meta))

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        """Number of time steps ``T``."""
        return int(self.spikes.shape[0])

    @property
    def n_inputs(self) -> int:
        """Number of input channels."""
        return int(self.spikes.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def __len__(self) -> int:
        return self.n_steps

    def __repr__(self) -> str:
        splits = ", ".join(f"{k}=[{a}, {b})" for k, (a, b) in self.splits.items())
        inputs = (
            list(self.input_names)
            if self.input_shape is None
            else f"{self.n_inputs} of shape {list(self.input_shape)}"
        )
        return (
            f"SpikeSeries(T={self.n_steps}, inputs={inputs}, "
            f"classes={self.n_classes}, splits: {splits or 'none'})"
        )

    # -- views -------------------------------------------------------------------------------
    def split(self, name: str) -> SpikeSeries:
        """The sub-series of split ``name`` (its own single split ``{name: (0, len)}``)."""
        if name not in self.splits:
            raise DataFormatError(
                f"unknown split {name!r}; this series has splits {sorted(self.splits)}"
            )
        start, stop = self.splits[name]
        return SpikeSeries(
            spikes=self.spikes[start:stop],
            labels=self.labels[start:stop],
            input_names=self.input_names,
            class_names=self.class_names,
            splits={name: (0, stop - start)},
            meta={**self.meta, "parent_split": name, "parent_offset": start},
            input_shape=self.input_shape,
            evidence=None if self.evidence is None else self.evidence.restrict(start, stop),
        )

    def evidence_mask(self, stamp: int, window: int) -> np.ndarray:
        """Boolean ``[n_inputs, T_s]``: the evidence of the step explained by ``stamp`` (step
        ``stamp - 1``) inside the stamp's window ``[max(0, stamp - window), stamp)``.

        Raises:
            DataFormatError: the series has no evidence mask, or the stamp is out of range.
        """
        if self.evidence is None:
            raise DataFormatError(
                "this series has no evidence mask; only tasks with known answers have one "
                "(spikeattr data benchmark NAME)"
            )
        return self.evidence.window_mask(stamp, max(0, stamp - window), self.n_inputs)

    def to_tensor(self, dtype: Any = None, device: Any = None) -> Any:
        """Batch-first float tensor ``[1, T, n_inputs]`` (Captum's convention)."""
        import torch

        tensor = torch.from_numpy(self.spikes).to(dtype=dtype or torch.float32, device=device)
        return tensor.unsqueeze(0)

    def time_base(self) -> dict[str, Any]:
        """How this series' steps map to time: ``{"step_seconds", "start_time"}``.

        ``step_seconds`` is ``meta["resolution_s"]`` (the synthetic data set: 1 ms, the ``dt``
        of its models) or ``None``; ``start_time`` is the ISO clock time of step 0 of this
        series (a split's own first step) when the data has a start time (ADL), else ``None``.
        """
        return time_base(self.meta, int(self.meta.get("parent_offset", 0)))

    # -- events ------------------------------------------------------------------------------
    def to_events(self) -> tuple[np.ndarray, np.ndarray]:
        """Spikes as events ``(times, units)``, int64 ``[n_spikes]``, sorted by time, then unit."""
        times, units = np.nonzero(self.spikes)
        return times.astype(np.int64), units.astype(np.int64)

    @classmethod
    def from_events(
        cls,
        times: Sequence[int] | np.ndarray,
        units: Sequence[int] | np.ndarray,
        n_steps: int,
        input_names: Sequence[str],
        labels: np.ndarray | None = None,
        class_names: Sequence[str] = (),
        splits: Mapping[str, tuple[int, int]] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> SpikeSeries:
        """Build a series from ``(time, unit)`` events; labels default to ``-1`` (unlabelled)."""
        times_a = np.asarray(times, dtype=np.int64)
        units_a = np.asarray(units, dtype=np.int64)
        if times_a.shape != units_a.shape or times_a.ndim != 1:
            raise DataFormatError(
                f"times and units must be 1-D of equal length; got {times_a.shape} and "
                f"{units_a.shape}"
            )
        n_inputs = len(input_names)
        if times_a.size and (times_a.min() < 0 or times_a.max() >= n_steps):
            raise DataFormatError(
                f"event times must lie in [0, {n_steps}); got [{times_a.min()}, {times_a.max()}]"
            )
        if units_a.size and (units_a.min() < 0 or units_a.max() >= n_inputs):
            raise DataFormatError(
                f"event units must lie in [0, {n_inputs}); got [{units_a.min()}, {units_a.max()}]"
            )
        spikes = np.zeros((n_steps, n_inputs), dtype=np.int8)
        spikes[times_a, units_a] = 1
        if labels is None:
            labels = np.full(n_steps, -1, dtype=np.int8)
        return cls(
            spikes,
            labels,
            tuple(input_names),
            tuple(class_names),
            dict(splits or {}),
            dict(meta or {}),
        )

    # -- checksums and files -----------------------------------------------------------------
    def checksums(self) -> dict[str, str]:
        """SHA-256 of the C-order bytes of ``X`` (int8) and ``y`` (int8), and of the evidence
        mask (:meth:`EvidenceMask.sha256`) when there is one."""
        sums = {"X_sha256": array_sha256(self.spikes), "y_sha256": array_sha256(self.labels)}
        if self.evidence is not None:
            sums["evidence_sha256"] = self.evidence.sha256()
        return sums

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the series to ``path`` (``.npz``) atomically; returns the path."""
        target = Path(path)
        names = list(self.splits)
        bounds = np.array([self.splits[n] for n in names], dtype=np.int64).reshape(-1, 2)
        meta = {**self.meta, "format_version": FORMAT_VERSION, **self.checksums()}
        arrays = {
            "X": self.spikes,
            "y": self.labels,
            "input_names": np.array(self.input_names, dtype=str),
            "class_names": np.array(self.class_names, dtype=str),
            "split_names": np.array(names, dtype=str),
            "split_bounds": bounds,
            "meta": np.array(json.dumps(meta)),
        }
        if self.input_shape is not None:
            arrays["input_shape"] = np.array(self.input_shape, dtype=np.int64)
        if self.evidence is not None:
            arrays["evidence_ptr"] = self.evidence.ptr
            arrays["evidence_cells"] = self.evidence.cells
        save_npz_atomic(target, arrays)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpikeSeries:
        """Read a series written by :meth:`save` (or any ``.npz`` with the documented keys).

        Every field is checked for its type and shape: spikes must be integer or boolean 0/1,
        labels integers (a float label is refused, never rounded), split bounds integers.

        Raises:
            DataFormatError: the file is missing, unreadable, or a field is wrong (the message
                names the file and the field).
        """
        source = Path(path)
        arrays = load_npz(source, _WHAT)
        missing = [k for k in _REQUIRED_KEYS if k not in arrays]
        if missing:
            raise DataFormatError(
                f"{source} lacks the keys {missing}; a spike-series file needs "
                f"{list(_REQUIRED_KEYS)} (see spikeattr.data.series)"
            )
        spikes = arrays["X"]
        if spikes.dtype not in (np.int8, np.uint8, np.bool_):
            raise DataFormatError(
                f"{source}: field 'X' must be int8 [T, n_inputs]; got dtype {spikes.dtype}"
            )
        labels = arrays["y"]
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataFormatError(
                f"{source}: field 'y' must hold integer class indices (int8, -1 = unlabelled); "
                f"got dtype {labels.dtype}"
            )
        meta, splits = _header(source, arrays)
        input_names = _names(source, arrays, "input_names")
        class_names = _names(source, arrays, "class_names")
        input_shape = _input_shape(source, arrays)
        try:
            return cls(
                spikes=spikes,
                labels=labels,
                input_names=input_names,
                class_names=class_names,
                splits=splits,
                meta=meta,
                input_shape=input_shape,
                evidence=_evidence(arrays),
            )
        except DataFormatError as exc:
            raise DataFormatError(f"{source}: {exc}") from exc


_WHAT = "spike-series data file (written by 'spikeattr data')"
_EVIDENCE_KEYS = ("evidence_ptr", "evidence_cells")


def _evidence(arrays: Mapping[str, np.ndarray]) -> EvidenceMask | None:
    """The evidence mask of a data file's arrays, if it has one (both keys or neither)."""
    present = [k for k in _EVIDENCE_KEYS if k in arrays]
    if not present:
        return None
    if len(present) == 1:
        missing = next(k for k in _EVIDENCE_KEYS if k not in arrays)
        raise DataFormatError(f"the file has the field {present[0]!r} but lacks {missing!r}")
    return EvidenceMask(arrays["evidence_ptr"], arrays["evidence_cells"])


def _names(source: Path, arrays: Mapping[str, np.ndarray], key: str) -> tuple[str, ...]:
    value = arrays[key]
    if value.ndim != 1 or value.dtype.kind not in "US":
        raise DataFormatError(
            f"{source}: field {key!r} must be a 1-D array of strings; got dtype {value.dtype} "
            f"and shape {value.shape}"
        )
    return tuple(str(n) for n in value.tolist())


def _input_shape(source: Path, arrays: Mapping[str, np.ndarray]) -> tuple[int, ...] | None:
    """The optional ``input_shape`` field: a 1-D array of positive integers, or ``None``."""
    if "input_shape" not in arrays:
        return None
    value = arrays["input_shape"]
    if value.ndim != 1 or value.size == 0 or not np.issubdtype(value.dtype, np.integer):
        raise DataFormatError(
            f"{source}: field 'input_shape' must be a 1-D array of integers (e.g. [2, 34, 34]); "
            f"got dtype {value.dtype} and shape {value.shape}"
        )
    if (value < 1).any():
        raise DataFormatError(
            f"{source}: field 'input_shape' must hold positive sizes; got {value.tolist()}"
        )
    return tuple(int(n) for n in value)


def _header(
    source: Path, arrays: Mapping[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """``(meta, splits)`` of a data file's arrays, each field checked."""
    names = _names(source, arrays, "split_names")
    bounds = arrays["split_bounds"]
    if not np.issubdtype(bounds.dtype, np.integer):
        raise DataFormatError(
            f"{source}: field 'split_bounds' must hold integer [start, stop) steps; got dtype "
            f"{bounds.dtype}"
        )
    if bounds.size != 2 * len(names):
        raise DataFormatError(
            f"{source}: field 'split_names' has {len(names)} names but 'split_bounds' has shape "
            f"{bounds.shape}; one [start, stop) row per split is expected"
        )
    bounds = bounds.reshape(-1, 2)
    meta: Any = {}
    if "meta" in arrays:
        value = arrays["meta"]
        if value.shape != () or value.dtype.kind not in "US":
            raise DataFormatError(f"{source}: field 'meta' must be one JSON string")
        try:
            meta = json.loads(str(value))
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{source}: field 'meta' is not valid JSON: {exc}") from exc
        if not isinstance(meta, dict):
            raise DataFormatError(f"{source}: field 'meta' must be a JSON object")
    splits = {n: (int(a), int(b)) for n, (a, b) in zip(names, bounds, strict=True)}
    return meta, splits


def read_time_base(path: str | os.PathLike[str], split: str) -> dict[str, Any]:
    """The time base (:meth:`SpikeSeries.time_base`) of split ``split`` of a data file, reading
    only its small fields (not the spikes).

    Raises:
        DataFormatError: the file is unreadable or has no split ``split``.
    """
    source = Path(path)
    arrays = load_npz(source, _WHAT, keys=("split_names", "split_bounds", "meta"))
    missing = [k for k in ("split_names", "split_bounds") if k not in arrays]
    if missing:
        raise DataFormatError(f"{source} lacks the keys {missing}; expected a {_WHAT}")
    meta, splits = _header(source, arrays)
    if split not in splits:
        raise DataFormatError(f"{source}: no split {split!r}; splits: {', '.join(splits)}")
    return time_base(meta, splits[split][0])


def time_base(meta: Mapping[str, Any], offset: int = 0) -> dict[str, Any]:
    """``{"step_seconds", "start_time"}`` of step ``offset`` of a series with metadata ``meta``.

    ``step_seconds``: ``meta["resolution_s"]``, 1 ms for the synthetic data set, else ``None``.
    ``start_time``: the ISO time of step ``offset`` when ``meta["start_time"]`` is known.
    """
    step = meta.get("resolution_s")
    if step is None and meta.get("dataset") == "synthetic":
        step = SYNTHETIC_STEP_SECONDS
    start = meta.get("start_time")
    if start and step:
        try:
            moment = _dt.datetime.fromisoformat(str(start))
        except ValueError as exc:
            raise DataFormatError(f"meta start_time {start!r} is not an ISO time") from exc
        start = (moment + _dt.timedelta(seconds=offset * float(step))).isoformat()
    return {"step_seconds": float(step) if step else None, "start_time": start or None}


def chronological_splits(
    n_steps: int,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    names: Sequence[str] = ("train", "val", "test"),
) -> dict[str, tuple[int, int]]:
    """Chronological split boundaries: step ``t`` is in split ``k`` if ``t < cumsum(f)[k] * n``.

    With the default 60/20/20 this is SPEC 2.2: train if ``t < 0.6 n``, val if ``t < 0.8 n``,
    else test.
    """
    if len(fractions) != len(names):
        raise ValueError("one fraction per split name is needed")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1; got {list(fractions)}")
    steps = np.arange(n_steps)
    splits: dict[str, tuple[int, int]] = {}
    start = 0
    cumulative = 0.0
    for name, fraction in zip(names, fractions, strict=True):
        cumulative += fraction
        stop = n_steps if name == names[-1] else int(np.count_nonzero(steps < cumulative * n_steps))
        splits[name] = (start, stop)
        start = stop
    return splits
