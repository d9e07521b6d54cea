"""The explanation file: explained stamps of one model and method, written and read here only.

``spikeattr explain`` and the galleries of an evaluation run (``gallery/MODEL/METHOD.npz``)
write it with :func:`write_stamp_explanations`; figures and reports read it with
:meth:`Explanations.load`. It is an uncompressed ``.npz`` without pickled objects; its keys are
:data:`FILE_KEYS`. The metadata records the time axis of the split (seconds per step and the
clock time of its first step), so no reader needs the data file again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr._io import load_npz, save_npz_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError, ExplanationError
from spikeattr.explain.stamps import StampExplanations

#: The keys of an explanation file and what each holds.
FILE_KEYS = {
    "stamps": "int64 [S] explained stamps (indices into the split)",
    "attribution": "float32 [S, C, n_in, window] class-wise maps, right-aligned: column j is "
    "split step stamp - window + j",
    "probs": "float32 [S, C] class probabilities at step stamp - 1",
    "predicted": "int64 [S] predicted class at step stamp - 1",
    "target": "int64 [S] class of the explanation (the predicted class unless --target)",
    "label": "int64 [S] true class at step stamp - 1",
    "window_start": "int64 [S] first split step of each window, max(0, stamp - window)",
    "spikes": "int8 [S, window, n_in] the input windows, right-aligned, zero padded",
    "input_names": "str [n_in]",
    "class_names": "str [C]",
    "meta": "str [] JSON: model, data file, split, variant, window, time (step_seconds and "
    "start_time of split step 0, when known), input_shape (inputs with a shape)",
}


def write_stamp_explanations(
    path: str | os.PathLike[str],
    result: StampExplanations,
    part: SpikeSeries,
    meta: dict[str, Any],
) -> Path:
    """Write ``result`` with the keys of :data:`FILE_KEYS`, atomically, without pickle."""
    window = result.window
    spikes = np.zeros((len(result.stamps), window, part.n_inputs), dtype=np.int8)
    for index, (stamp, start) in enumerate(zip(result.stamps, result.window_start, strict=True)):
        spikes[index, window - (stamp - start) :] = part.spikes[start:stamp]
    target = Path(path)
    save_npz_atomic(
        target,
        {
            "stamps": result.stamps,
            "attribution": result.values.astype(np.float32),
            "probs": result.probs.astype(np.float32),
            "predicted": result.predicted,
            "target": result.target,
            "label": part.labels[result.stamps - 1].astype(np.int64),
            "window_start": result.window_start,
            "spikes": spikes,
            "input_names": np.array(part.input_names, dtype=str),
            "class_names": np.array(part.class_names, dtype=str),
            "meta": np.array(json.dumps({**meta, **_written_meta(result, part)})),
        },
    )
    return target


def _written_meta(result: StampExplanations, part: SpikeSeries) -> dict[str, Any]:
    """What every explanation file records: variant, window, time axis and, for inputs with a
    shape, ``input_shape`` (the maps stay ``[n_in, window]``, ``n_in`` its product)."""
    written: dict[str, Any] = {
        "variant": result.variant,
        "window": result.window,
        "time": part.time_base(),
    }
    if part.input_shape is not None:
        written["input_shape"] = list(part.input_shape)
    return written


@dataclass(frozen=True)
class Explanations:
    """The content of an explanation file for ``S`` stamps (see the README's file formats).

    Attributes:
        stamps: int64 ``[S]`` explained stamps (indices into the split).
        attribution: float ``[S, C, n_in, window]`` class-wise maps, right-aligned: column ``j``
            is split step ``stamp - window + j``.
        probs: float ``[S, C]`` class probabilities at step ``stamp - 1``.
        predicted, target, label: int64 ``[S]`` predicted, explained and true class.
        window_start: int64 ``[S]`` first split step of each window; earlier columns are padding.
        spikes: int8 ``[S, window, n_in]`` the input windows, right-aligned like ``attribution``.
        input_names, class_names: names of the inputs and classes.
        meta: the file's JSON metadata (model, data, split, variant, window).
    """

    stamps: np.ndarray
    attribution: np.ndarray
    probs: np.ndarray
    predicted: np.ndarray
    target: np.ndarray
    label: np.ndarray
    window_start: np.ndarray
    spikes: np.ndarray
    input_names: tuple[str, ...]
    class_names: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> int:
        """Columns per map."""
        return int(self.attribution.shape[-1])

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one input step (``meta["input_shape"]``, e.g. ``(2, 34, 34)``) when the
        inputs have one and it holds ``n_in`` inputs, else ``None``."""
        shape = self.meta.get("input_shape")
        if not isinstance(shape, list) or not shape:
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
            return None
        return tuple(shape) if int(np.prod(shape)) == len(self.input_names) else None

    def __len__(self) -> int:
        return int(self.stamps.shape[0])

    def index_of(self, stamp: int) -> int:
        """Row of ``stamp``; a clear error lists the stamps the file holds."""
        rows = np.flatnonzero(self.stamps == stamp)
        if rows.size == 0:
            shown = ", ".join(str(int(s)) for s in self.stamps[:20])
            more = " ..." if len(self) > 20 else ""
            raise ExplanationError(
                f"stamp {stamp} is not in this file; it holds stamps {shown}{more}"
            )
        return int(rows[0])

    def class_index(self, name_or_index: str | int) -> int:
        """Index of a class given by name or index."""
        if isinstance(name_or_index, str) and not name_or_index.lstrip("-").isdigit():
            if name_or_index not in self.class_names:
                raise ExplanationError(
                    f"unknown class {name_or_index!r}; classes: {', '.join(self.class_names)}"
                )
            return self.class_names.index(name_or_index)
        index = int(name_or_index)
        if not 0 <= index < len(self.class_names):
            raise ExplanationError(
                f"class index {index} out of range; there are {len(self.class_names)} classes "
                f"({', '.join(self.class_names)})"
            )
        return index

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], source: str = "explanation") -> Explanations:
        """Build from a mapping with the keys of :data:`FILE_KEYS`, checking shapes."""
        missing = [k for k in FILE_KEYS if k not in arrays]
        if missing:
            raise DataFormatError(
                f"{source}: not an explanation file; missing keys {', '.join(missing)} "
                "(write one with 'spikeattr explain')"
            )
        try:
            meta = json.loads(str(np.asarray(arrays["meta"])))
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{source}: field 'meta' is not valid JSON: {exc}") from exc
        attribution = np.asarray(arrays["attribution"])
        spikes = np.asarray(arrays["spikes"])
        stamps = np.asarray(arrays["stamps"]).astype(np.int64)
        input_names = tuple(str(n) for n in np.asarray(arrays["input_names"]).tolist())
        class_names = tuple(str(n) for n in np.asarray(arrays["class_names"]).tolist())
        n_stamps = stamps.shape[0]
        expected = (n_stamps, len(class_names), len(input_names))
        if attribution.ndim != 4 or attribution.shape[:3] != expected:
            raise DataFormatError(
                f"{source}: 'attribution' has shape {attribution.shape}; expected "
                f"[S, C, n_in, window] = [{n_stamps}, {len(class_names)}, {len(input_names)}, ...]"
            )
        window = attribution.shape[3]
        if spikes.shape != (n_stamps, window, len(input_names)):
            raise DataFormatError(
                f"{source}: 'spikes' has shape {spikes.shape}; expected "
                f"[S, window, n_in] = [{n_stamps}, {window}, {len(input_names)}]"
            )
        per_stamp = {k: np.asarray(arrays[k]) for k in ("predicted", "target", "label")}
        per_stamp["window_start"] = np.asarray(arrays["window_start"])
        for key, value in per_stamp.items():
            if value.shape != (n_stamps,):
                raise DataFormatError(
                    f"{source}: {key!r} has shape {value.shape}; expected [{n_stamps}]"
                )
        probs = np.asarray(arrays["probs"])
        if probs.shape != (n_stamps, len(class_names)):
            raise DataFormatError(
                f"{source}: 'probs' has shape {probs.shape}; "
                f"expected [{n_stamps}, {len(class_names)}]"
            )
        return cls(
            stamps=stamps,
            attribution=attribution,
            probs=probs,
            predicted=per_stamp["predicted"].astype(np.int64),
            target=per_stamp["target"].astype(np.int64),
            label=per_stamp["label"].astype(np.int64),
            window_start=per_stamp["window_start"].astype(np.int64),
            spikes=spikes,
            input_names=input_names,
            class_names=class_names,
            meta=meta if isinstance(meta, dict) else {},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Explanations:
        """Read an explanation ``.npz`` (never unpickles); errors name the file and the field."""
        arrays = load_npz(path, "explanation file (written by 'spikeattr explain')")
        return cls.from_arrays(arrays, str(path))
