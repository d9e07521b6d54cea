"""Explain stamps of a data file (window mode) or a whole split (series mode) into files.

On a Dask cluster (:mod:`spikeattr.pipelines.cluster`) the stamps are explained in tasks of
whole batches (:func:`~spikeattr.explain.stamps.stamp_batches`, the batches of one call) and
put back in their order, so the file holds the same maps as in one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spikeattr._io import check_output_path
from spikeattr.data.series import SpikeSeries
from spikeattr.explain.files import write_stamp_explanations
from spikeattr.explain.series import SeriesExplanationInfo, explain_series
from spikeattr.explain.stamps import (
    StampExplanations,
    check_stamps,
    explain_stamps,
    stamp_batches,
)
from spikeattr.snn.conv_network import SpikingNetwork
from spikeattr.snn.network import LIFNetwork

if TYPE_CHECKING:
    from spikeattr.pipelines.cluster import Cluster

#: Tasks per worker when explaining on a cluster. One stamp takes 0.1-150 ms to explain (TSA
#: on a 1-layer model to integrated gradients on a 3-layer one; ``bench_explain.py``), a task
#: costs about 6 ms to schedule (``bench_dask.py``) plus its maps' transfer: a few tasks per
#: worker keep the workers evenly busy while each task still holds at least one batch of 64
#: stamps. Explaining a handful of stamps is faster in one process.
TASKS_PER_WORKER = 4


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
    cluster: Cluster | None = None,
    precision: str = "float64",
) -> tuple[Path, StampExplanations]:
    """Explain ``stamps`` of split ``split`` and write them to ``out`` (``.npz``); on
    ``cluster``'s workers when given. ``precision``: that of TSA, SAM and Kim & Panda's maps
    (see :func:`~spikeattr.explain.stamps.explain_stamps`)."""
    check_output_path(out, "explanation file (.npz)")
    model.check_data(series.input_names, series.class_names)
    part = series.split(split)
    checked = check_stamps(stamps, part.n_steps)
    if cluster is None:
        result = explain_stamps(
            model,
            part.spikes,
            stamps,
            variant=variant,
            window=window,
            target=target,
            progress=progress,
            precision=precision,
        )
    else:
        result = _explain_on_cluster(
            cluster, model, part, checked, variant, window, target, progress, precision
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


def _explain_batches(
    model: SpikingNetwork,
    spikes: np.ndarray,
    batches: list[np.ndarray],
    variant: str,
    window: int,
    target: int | None,
    precision: str,
) -> list[StampExplanations]:
    """In a worker: each batch of stamps explained by one call, as one process would."""
    return [
        explain_stamps(model, spikes, b, variant, window=window, target=target, precision=precision)
        for b in batches
    ]


def _explain_on_cluster(
    cluster: Cluster,
    model: SpikingNetwork,
    part: SpikeSeries,
    stamps: np.ndarray,
    variant: str,
    window: int,
    target: int | None,
    progress: Callable[[int], Any] | None,
    precision: str,
) -> StampExplanations:
    """:func:`explain_stamps` with its batches spread over ``cluster``'s workers."""
    batches = stamp_batches(stamps, window)
    count = min(len(batches), TASKS_PER_WORKER * cluster.workers)
    groups = {f"explain {i}": batches[i::count] for i in range(count)}
    shared_model, shared_spikes = cluster.share(model), cluster.share(part.spikes)
    settings = (variant, window, target, precision)
    jobs = [
        (name, (shared_model, shared_spikes, [stamps[b] for b in group], *settings))
        for name, group in groups.items()
    ]
    pieces: list[tuple[np.ndarray, StampExplanations]] = []
    for name, results in cluster.run(_explain_batches, jobs):
        pieces += zip(groups[name], results, strict=True)
        if progress is not None:
            progress(sum(len(b) for b, _ in pieces))
    first = pieces[0][1]
    values = np.zeros((len(stamps), *first.values.shape[1:]), dtype=first.values.dtype)
    probs = np.zeros((len(stamps), first.probs.shape[1]), dtype=first.probs.dtype)
    predicted, chosen, starts = (np.zeros(len(stamps), dtype=np.int64) for _ in range(3))
    for positions, piece in pieces:
        values[positions], probs[positions] = piece.values, piece.probs
        predicted[positions], chosen[positions] = piece.predicted, piece.target
        starts[positions] = piece.window_start
    return StampExplanations(
        stamps, values, probs, predicted, chosen, starts, window=window, variant=variant
    )
