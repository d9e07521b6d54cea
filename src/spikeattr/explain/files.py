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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from spikeattr._io import load_npz, save_npz_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError, ExplanationError
from spikeattr.explain.display import Displayable
from spikeattr.explain.stamps import StampExplanations
from spikeattr.explain.tsa import Attribution

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The keys of an explanation file and what each holds.
FILE_KEYS = {
    "stamps": "int64 [S] explained stamps (indices into the split)",
    "attribution": "float32 or float64 (the method's own precision, meta 'dtype') [S, C, n_in, "
    "window] class-wise maps, right-aligned: column j is split step stamp - window + j",
    "probs": "float32 [S, C] class probabilities at step stamp - 1",
    "predicted": "int64 [S] predicted class at step stamp - 1",
    "target": "int64 [S] class of the explanation (the predicted class unless --target)",
    "label": "int64 [S] true class at step stamp - 1",
    "window_start": "int64 [S] first split step of each window, max(0, stamp - window)",
    "spikes": "int8 [S, window, n_in] the input windows, right-aligned, zero padded",
    "input_names": "str [n_in]",
    "class_names": "str [C]",
    "meta": "str [] JSON: model, data file, split, variant, window, dtype of the maps, time "
    "(step_seconds and start_time of split step 0, when known), input_shape (inputs with a shape)",
}


def stamp_arrays(
    result: StampExplanations, part: SpikeSeries, meta: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """The arrays of an explanation file (:data:`FILE_KEYS`) for ``result``, whose stamps index
    the series ``part``; ``meta`` is completed with the variant, window and time base."""
    window = result.window
    spikes = np.zeros((len(result.stamps), window, part.n_inputs), dtype=np.int8)
    for index, (stamp, start) in enumerate(zip(result.stamps, result.window_start, strict=True)):
        spikes[index, window - (stamp - start) :] = part.spikes[start:stamp]
    # a float64 map (the exact LIF methods) keeps its precision and its tails
    dtype = np.float64 if result.values.dtype == np.float64 else np.float32
    return {
        "stamps": result.stamps,
        "attribution": result.values.astype(dtype),
        "probs": result.probs.astype(np.float32),
        "predicted": result.predicted,
        "target": result.target,
        "label": part.labels[result.stamps - 1].astype(np.int64),
        "window_start": result.window_start,
        "spikes": spikes,
        "input_names": np.array(part.input_names, dtype=str),
        "class_names": np.array(part.class_names, dtype=str),
        "meta": np.array(
            json.dumps({**meta, **_written_meta(result, part), "dtype": np.dtype(dtype).name})
        ),
    }


def write_stamp_explanations(
    path: str | os.PathLike[str],
    result: StampExplanations,
    part: SpikeSeries,
    meta: dict[str, Any],
) -> Path:
    """Write ``result`` with the keys of :data:`FILE_KEYS`, atomically, without pickle."""
    target = Path(path)
    save_npz_atomic(target, stamp_arrays(result, part, meta))
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


@dataclass(frozen=True, repr=False)
class Explanations(Displayable):
    """The content of an explanation file for ``S`` stamps (see the README's file formats).

    Read one with :meth:`load`, or build one in memory from a result with :meth:`from_result`
    (:class:`~spikeattr.explain.attribution.Attribution`) or :meth:`from_stamps`
    (:class:`~spikeattr.explain.stamps.StampExplanations`): the figures draw all of them alike.

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

    display_kind = "explanations"

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

    def describe(self) -> str:
        """One line: method, stamps, classes, inputs and window."""
        variant = self.meta.get("variant", "")
        stamps = ", ".join(str(int(t)) for t in self.stamps[:5]) + (" ..." if len(self) > 5 else "")
        return (
            f"Explanations of {len(self)} stamp{'s' if len(self) != 1 else ''} ({stamps})"
            f"{f' by {variant}' if variant else ''}: {len(self.class_names)} classes x "
            f"{len(self.input_names)} inputs x {self.window} steps"
        )

    def plot(
        self,
        index: int | None = None,
        *,
        stamp: int | None = None,
        class_index: int | str | None = None,
        steps: int | None = None,
        normalise: str = "none",
        width: float = 10.0,
    ) -> Figure:
        """The explanation figure of one stamp, as ``spikeattr plot explanation`` draws it.

        Args:
            index: row of the stamp (default 0); or give ``stamp``.
            stamp: the stamp to draw, instead of ``index``.
            class_index: class whose map is shown, by index or name (default: the explained
                one).
            steps: show the last ``steps`` steps (default: the visible support of the map).
            normalise: ``"none"`` or ``"max-abs"``.
            width: figure width in inches.

        Needs ``import spikeattr.viz`` (see :mod:`spikeattr.explain.display`).
        """
        return self._draw(
            index,
            stamp=stamp,
            class_index=class_index,
            steps=steps,
            normalise=normalise,
            width=width,
        )

    @classmethod
    def from_result(
        cls,
        result: Attribution,
        spikes: torch.Tensor | np.ndarray,
        *,
        stamps: int | Sequence[int] | None = None,
        series: SpikeSeries | None = None,
        labels: int | Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
        input_names: Sequence[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Explanations:
        """The explanations of an in-memory result, as if read from an explanation file.

        Args:
            result: what ``attribute(spikes)`` returned, ``values [B, C, n_in, T]`` (or
                ``[B, C, *shape, T]`` for shaped inputs: kept flattened, ``input_shape`` in
                ``meta``).
            spikes: the explained windows, ``[B, T, n_in]`` (or ``[T, n_in]`` when ``B = 1``;
                ``[B, T, *shape]`` for shaped inputs).
            stamps: where each window ends in ``series`` (the stamp convention: the window is
                steps ``[stamp - T, stamp)``, the explained step ``stamp - 1``); default ``T``,
                steps counted from the window's first step.
            series: the series (or split) the windows were cut from: gives the input and class
                names, the time base and, with ``stamps``, the true classes; its spikes must
                match the windows.
            labels: true class of each explained step (int or one per sample); default from
                ``series`` with ``stamps``, else unknown (``-1``).
            class_names: names of the classes to show (default: the series', else ``class 0``,
                ``class 1``, ...).
            input_names: names of the inputs to show (default: the series', else ``input 0``,
                ...).
            meta: more metadata (``model``, ``split``, ...); ``variant`` and ``window`` are
                the result's.

        Raises:
            ExplanationError: shapes that do not match, or a window that does not fit the
                series where ``stamps`` place it.
        """
        values = result.values.detach().cpu().numpy()
        input_shape = tuple(int(n) for n in values.shape[2:-1])
        if len(input_shape) > 1:  # shaped inputs: a file keeps maps [S, C, n_in, window]
            values = values.reshape(*values.shape[:2], -1, values.shape[-1])
        batch, n_classes, n_inputs, window = values.shape
        windows = _as_array(spikes)
        if len(input_shape) > 1 and windows.shape[-len(input_shape) :] == input_shape:
            windows = windows.reshape(*windows.shape[: windows.ndim - len(input_shape)], -1)
        if windows.ndim == 2:
            windows = windows[None]
        if windows.shape != (batch, window, n_inputs):
            raise ExplanationError(
                f"spikes must be the explained windows [B, T, n_in] = [{batch}, {window}, "
                f"{n_inputs}]; got {tuple(windows.shape)}"
            )
        ends = _per_sample(window if stamps is None else stamps, batch, "stamps")
        if bool((ends < window).any()):
            raise ExplanationError(
                f"stamp {int(ends[ends < window][0])} is smaller than the window length "
                f"T = {window}: the window [stamp - T, stamp) must start at step 0 or later"
            )
        truth = np.full(batch, -1, dtype=np.int64)
        if series is not None:
            _check_windows_match(series, windows, ends, stamps is not None)
            if stamps is not None:
                truth = series.labels[ends - 1].astype(np.int64)
        if labels is not None:
            truth = _per_sample(labels, batch, "labels")
        recorded = dict(meta or {})
        if series is not None and stamps is not None:  # the series' time fits split steps
            recorded.setdefault("split", str(series.meta.get("parent_split", "")))
            recorded.setdefault("time", series.time_base())
        recorded.update(variant=result.variant, window=window)
        if len(input_shape) > 1:
            recorded["input_shape"] = list(input_shape)
        return cls(
            stamps=ends,
            attribution=values,
            probs=result.probs.detach().cpu().numpy(),
            predicted=result.predicted.detach().cpu().numpy().astype(np.int64),
            target=result.target.detach().cpu().numpy().astype(np.int64),
            label=truth,
            window_start=ends - window,
            spikes=windows.astype(np.int8),
            input_names=_names(
                input_names, None if series is None else series.input_names, n_inputs, "input"
            ),
            class_names=_names(
                class_names, None if series is None else series.class_names, n_classes, "class"
            ),
            meta=recorded,
        )

    @classmethod
    def from_stamps(
        cls,
        result: StampExplanations,
        series: SpikeSeries | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Explanations:
        """The explanations of :func:`~spikeattr.explain.stamps.explain_stamps`' result, exactly
        as ``spikeattr explain`` writes them (:func:`stamp_arrays`), for the series whose stamps
        they are. Without ``series`` the spikes are unknown (drawn empty), the classes too, and
        the names are ``input 0``, ``class 0``, ..."""
        if series is not None:
            split = {"split": str(series.meta.get("parent_split", ""))}
            return cls.from_arrays(stamp_arrays(result, series, {**split, **(meta or {})}))
        n_stamps, n_classes, n_inputs, window = result.values.shape
        return cls(
            stamps=result.stamps,
            attribution=result.values,
            probs=result.probs,
            predicted=result.predicted,
            target=result.target,
            label=np.full(n_stamps, -1, dtype=np.int64),
            window_start=result.window_start,
            spikes=np.zeros((n_stamps, window, n_inputs), dtype=np.int8),
            input_names=numbered("input", n_inputs),
            class_names=numbered("class", n_classes),
            meta={**(meta or {}), "variant": result.variant, "window": window},
        )


def _as_array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _per_sample(values: int | Sequence[int], batch: int, what: str) -> np.ndarray:
    """An int, or one int per sample, as int64 ``[batch]``."""
    array = np.asarray(values)
    if array.ndim == 0:
        array = np.full(batch, int(array))
    if array.shape != (batch,) or not np.issubdtype(array.dtype, np.integer):
        raise ExplanationError(
            f"{what} must be an int or {batch} ints (one per sample); got {np.asarray(values)!r}"
        )
    return array.astype(np.int64)


def numbered(what: str, count: int) -> tuple[str, ...]:
    """Names for unnamed inputs or classes: ``("input 0", "input 1", ...)``."""
    return tuple(f"{what} {i}" for i in range(count))


def _names(
    given: Sequence[str] | None, known: Sequence[str] | None, count: int, what: str
) -> tuple[str, ...]:
    """``given`` names, else ``known`` ones, else :func:`numbered`; checked against count."""
    names = tuple(str(n) for n in (given if given is not None else known or ()))
    if not names:
        return numbered(what, count)
    if len(names) != count:
        raise ExplanationError(f"expected {count} {what} names; got {len(names)}: {names}")
    return names


def _check_windows_match(
    series: SpikeSeries, windows: np.ndarray, ends: np.ndarray, placed: bool
) -> None:
    """Refuse windows that are not the series' steps where the stamps place them."""
    if series.n_inputs != windows.shape[2]:
        raise ExplanationError(
            f"the series has {series.n_inputs} inputs; the windows have {windows.shape[2]}"
        )
    if not placed:
        return
    window = windows.shape[1]
    for row, end in enumerate(ends):
        if end > series.n_steps:
            raise ExplanationError(
                f"stamp {int(end)} lies beyond the series ({series.n_steps} steps)"
            )
        if not np.array_equal(series.spikes[end - window : end] != 0, windows[row] != 0):
            raise ExplanationError(
                f"the spikes of sample {row} are not steps [{int(end) - window}, {int(end)}) "
                f"of the series: is stamp {int(end)} the step after the window's last?"
            )
