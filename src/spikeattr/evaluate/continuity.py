"""Paper protocol: continuity as max-sensitivity to small changes of activity durations (SPEC 5).

Every contiguous activity (run of ones) of every channel is shortened or lengthened at its start
or end by a random ``0 .. round(0.1 n)`` steps (``n`` its length); the perturbed window is
explained again and the sensitivity is the Frobenius norm of the difference between the two
explanations (each of its own predicted class). Per stamp the max over ``perturbations`` draws
is kept; reported: the max and the mean over stamps. **Lower is better.** Draws come from
``keyed_rng(seed, "paper-continuity", stamp)``.

The comparable protocol's :mod:`~spikeattr.evaluate.sensitivity` normalises by the map's norm,
keeps the class fixed, leaves constant channels alone and uses several draws.
"""

from __future__ import annotations

import numpy as np

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.perturb import perturb_durations


class Continuity(Metric):
    """Max-sensitivity to duration perturbations (paper protocol).

    Args:
        perturbations: perturbed copies per stamp (paper: 1).
        max_fraction: largest change of an activity, as a fraction of its length (0.1).
    """

    name = "continuity"
    title = "Continuity: max-sensitivity (paper)"
    protocol = "paper"
    scores = (
        Score("maxsens_max", "max-sensitivity, max", False),
        Score("maxsens_mean", "max-sensitivity, mean", False),
    )

    def __init__(self, perturbations: int = 1, max_fraction: float = 0.1) -> None:
        if perturbations < 1:
            raise ValueError(f"perturbations must be at least 1; got {perturbations}")
        self.perturbations = perturbations
        self.max_fraction = max_fraction

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        values = np.asarray(per_stamp["maxsens_mean"], dtype=np.float64)
        if values.size == 0:
            return float("nan")
        return float(values.max() if key == "maxsens_max" else values.mean())

    def __call__(self, data: StampSet) -> MetricResult:
        if data.explain is None:
            raise SpikeAttrError("continuity needs a way to re-explain windows")
        sensitivity = np.zeros((len(data), self.perturbations))
        for row, (window, explanation) in enumerate(zip(data.windows, data.maps, strict=True)):
            rng = keyed_rng(data.seed, "paper-continuity", int(data.stamps[row]))
            copies = np.stack(
                [
                    perturb_durations(window, rng, self.max_fraction)
                    for _ in range(self.perturbations)
                ]
            )
            maps, _ = data.explain(copies, None)
            difference = np.asarray(maps, dtype=np.float64) - explanation[None]
            sensitivity[row] = np.sqrt((difference**2).sum(axis=(1, 2)))
        per_stamp = {"maxsens_mean": sensitivity.max(axis=1)}
        per_stamp["maxsens_max"] = per_stamp["maxsens_mean"]
        return MetricResult(per_stamp, {}, {"perturbations": self.perturbations})
