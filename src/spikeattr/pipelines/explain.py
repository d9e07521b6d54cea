"""Explain stamps of a data file (window mode) or a whole split (series mode) into files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spikeattr._io import check_output_path
from spikeattr.data.series import SpikeSeries
from spikeattr.explain.files import write_stamp_explanations
from spikeattr.explain.series import SeriesExplanationInfo, explain_series
from spikeattr.explain.stamps import StampExplanations, check_stamps, explain_stamps
from spikeattr.snn.conv_network import SpikingNetwork
from spikeattr.snn.network import LIFNetwork


def run_explain(
    model: SpikingNetwork,
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
    check_output_path(out, "explanation file (.npz)")
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
