"""Explain stamps of a data file (window mode) or a whole split (series mode) into files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr._io import save_npz_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.explain.series import SeriesExplanationInfo, explain_series
from spikeattr.explain.stamps import StampExplanations, check_stamps, explain_stamps
from spikeattr.snn.network import LIFNetwork

#: Keys of the ``.npz`` written by :func:`write_stamp_explanations` / ``spikeattr explain``.
EXPLAIN_KEYS = {
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
    "start_time of split step 0, when known)",
}


def write_stamp_explanations(
    path: str | os.PathLike[str],
    result: StampExplanations,
    part: SpikeSeries,
    meta: dict[str, Any],
) -> Path:
    """Write ``result`` with the keys of :data:`EXPLAIN_KEYS`, atomically, without pickle."""
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
            "meta": np.array(
                json.dumps(
                    {**meta, "variant": result.variant, "window": window, "time": part.time_base()}
                )
            ),
        },
    )
    return target


def run_explain(
    model: LIFNetwork,
    series: SpikeSeries,
    split: str,
    stamps: Sequence[int],
    variant: str,
    out: str | os.PathLike[str],
    window: int = 1000,
    target: int | None = None,
    meta: dict[str, Any] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> tuple[Path, StampExplanations]:
    """Explain ``stamps`` of split ``split`` and write them to ``out`` (``.npz``)."""
    model.check_data(series.input_names, series.class_names)
    part = series.split(split)
    check_stamps(stamps, part.n_steps)
    result = explain_stamps(
        model, part.spikes, stamps, variant=variant, window=window, target=target, progress=progress
    )
    meta = {**(meta or {}), "model": getattr(model, "name", "unnamed"), "split": split}
    return write_stamp_explanations(out, result, part, meta), result


def run_explain_series(
    model: LIFNetwork,
    series: SpikeSeries,
    split: str,
    variant: str,
    out_dir: str | os.PathLike[str],
    support: int | None = None,
    tolerance: float = 1e-7,
    resume: bool = True,
    progress: Callable[[int], Any] | None = None,
) -> SeriesExplanationInfo:
    """Explain every step of split ``split`` (series mode) into ``out_dir``."""
    model.check_data(series.input_names, series.class_names)
    part = series.split(split)
    return explain_series(
        model,
        part.spikes,
        out_dir,
        variant=variant,
        support=support,
        tolerance=tolerance,
        resume=resume,
        progress=progress,
    )
