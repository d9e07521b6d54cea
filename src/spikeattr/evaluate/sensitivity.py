"""Normalised continuity: how much the map moves when activity durations change a little
(SPEC 5.1).

Every contiguous activity (run of ones) of every channel is shortened or lengthened, at its
start or end, by a random ``0 .. max(1, round(0.1 n))`` steps (``n`` its length; at least one
step may move, so short runs are perturbed too). Constant channels (the bias, which spikes at
every step) and runs that touch the window's first step (cut by the window edge, their true
length unknown) are left alone. The perturbed window is explained again **for the same class**
``c`` and ``sensitivity = ||a(x') - a(x)||_F / ||a(x)||_F``, ``draws`` times per stamp, each
draw from ``keyed_rng(seed, "sensitivity", stamp, draw)``.

Scores (**lower is better**): ``sens_median``, the median over stamps of each stamp's mean over
its draws (the headline: a map whose norm is nearly zero, e.g. TSA-S of a deep network with few
spiking neurons, has a huge relative change, which would dominate a mean); ``sens_mean``, the
mean over stamps and draws; ``sens_max``, the mean over stamps of each stamp's largest
sensitivity; ``unchanged``, the share of draws that left the window unchanged (reported, not a
score of the method).
"""

from __future__ import annotations

import numpy as np

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.perturb import activity_runs

DEFAULT_DRAWS = 5


def perturb_activity(
    window: np.ndarray, rng: np.random.Generator, max_fraction: float = 0.1
) -> np.ndarray:
    """``window [T, n_in]`` with the durations of its activities changed (see module doc)."""
    out = window.astype(np.int8, copy=True)
    steps = window.shape[0]
    for channel in range(window.shape[1]):
        column = window[:, channel]
        if column.min() == column.max():
            continue  # constant channel: no activity to stretch
        for start, stop in activity_runs(column):
            if start == 0:
                continue  # cut by the window edge
            amount = int(rng.integers(0, max(1, round(max_fraction * (stop - start))) + 1))
            at_start, lengthen = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
            if amount == 0:
                continue
            if at_start and lengthen:
                out[max(0, start - amount) : start, channel] = 1
            elif at_start:
                out[start : start + amount, channel] = 0
            elif lengthen:
                out[stop : min(steps, stop + amount), channel] = 1
            else:
                out[stop - amount : stop, channel] = 0
    return out


class NormalisedSensitivity(Metric):
    """Relative change of the explained class's map under small duration changes.

    Args:
        draws: perturbed copies per stamp.
        max_fraction: largest change of an activity, as a fraction of its length.
    """

    name = "sensitivity"
    title = "Normalised continuity (relative max-sensitivity)"
    protocol = "comparable"
    scores = (
        Score("sens_median", "sensitivity, median", False),
        Score("sens_mean", "sensitivity, mean", False, False),
        Score("sens_max", "sensitivity, max per stamp", False, False),
        Score("unchanged", "draws that changed nothing", False, False),
    )

    def aggregated_otherwise(self, key: str) -> bool:
        return key == "sens_median"

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        if key != "sens_median":
            return super().aggregate(per_stamp, key)
        values = np.asarray(per_stamp[key], dtype=np.float64)
        finite = values[np.isfinite(values)]
        return float(np.median(finite)) if finite.size else float("nan")

    def __init__(self, draws: int = DEFAULT_DRAWS, max_fraction: float = 0.1) -> None:
        if draws < 1:
            raise ValueError(f"draws must be at least 1; got {draws}")
        self.draws = draws
        self.max_fraction = max_fraction

    def __call__(self, data: StampSet) -> MetricResult:
        if data.explain is None:
            raise SpikeAttrError("normalised continuity needs a way to re-explain windows")
        values = np.full((len(data), self.draws), np.nan)
        unchanged = np.zeros((len(data), self.draws))
        for row in range(len(data)):
            window, explanation = data.windows[row], data.maps[row]
            stamp = int(data.stamps[row])
            copies = np.stack(
                [
                    perturb_activity(
                        window, keyed_rng(data.seed, "sensitivity", stamp, d), self.max_fraction
                    )
                    for d in range(self.draws)
                ]
            )
            unchanged[row] = (copies == window[None]).all(axis=(1, 2))
            targets = np.full(self.draws, int(data.targets[row]), dtype=np.int64)
            maps, _ = data.explain(copies, targets)
            reference = np.asarray(explanation, dtype=np.float64)
            norm = float(np.sqrt((reference**2).sum()))
            if norm > 0:
                difference = np.asarray(maps, dtype=np.float64) - reference[None]
                values[row] = np.sqrt((difference**2).sum(axis=(1, 2))) / norm
        defined = ~np.isnan(values[:, 0])  # a stamp whose map is all zero has no relative change
        mean, largest = np.full(len(data), np.nan), np.full(len(data), np.nan)
        mean[defined] = values[defined].mean(axis=1)
        largest[defined] = values[defined].max(axis=1)
        per_stamp = {
            "sens_median": mean,  # per stamp the mean over draws; the median is over stamps
            "sens_mean": mean,
            "sens_max": largest,
            "unchanged": unchanged.mean(axis=1),
        }
        details = {"draws": self.draws, "zero_maps": int((~defined).sum())}
        return MetricResult(per_stamp, {}, details)
