"""Output-completeness by the fraction of cells kept (SPEC 5.1).

The top ``f`` of the window's cells by ``|attribution|`` are kept (only cells the map gives a
non-zero value; ties broken by time, then channel); every other step of each channel is
permuted within that channel, ``draws`` times, each draw from
``keyed_rng(seed, "fraction-completeness", stamp, draw)``. Per stamp and fraction,
``oc_f`` = the share of draws whose prediction equals the original one ``y0``. ``oc_0``
keeps nothing (every channel fully permuted): the agreement of an uninformative input, the same
for every method on the same stamps.

Headlines at 1 % and 5 % (at 10 % a short map keeps its whole support, so a map and its
permuted control keep the same cells): ``rel_f = (OC_f - OC_0) / (1 - OC_0)`` with ``OC`` the
means over stamps: 0 when the kept cells do no better than nothing, 1 when they always
preserve the prediction (**higher is better**); undefined (NaN) when even the fully permuted
input keeps every prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.forward import last_step_probs
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet

DEFAULT_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.25)
DEFAULT_DRAWS = 5


def top_cells(explanation: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean ``[n_in, T]``: the ``ceil(fraction n_in T)`` cells of largest ``|a|`` that are
    non-zero (ties in ``|a|`` broken by time, then channel, so the choice is deterministic)."""
    magnitude = np.abs(np.asarray(explanation, dtype=np.float64))
    count = int(np.ceil(fraction * magnitude.size))
    keep = np.zeros(magnitude.shape, dtype=bool)
    nonzero = np.flatnonzero(magnitude.T.ravel() > 0)  # time-major order: step, then channel
    if count == 0 or nonzero.size == 0:
        return keep
    values = magnitude.T.ravel()[nonzero]
    chosen = nonzero[np.argsort(-values, kind="stable")[:count]]
    steps, channels = np.divmod(chosen, magnitude.shape[0])
    keep[channels, steps] = True
    return keep


def permute_free_cells(
    window: np.ndarray, keep: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``window [T, n_in]`` with, per channel, the steps not in ``keep [n_in, T]`` permuted."""
    out = window.astype(np.int8, copy=True)
    for channel in range(window.shape[1]):
        free = np.flatnonzero(~keep[channel])
        if free.size > 1:
            out[free, channel] = window[rng.permutation(free), channel]
    return out


class FractionCompleteness(Metric):
    """Keep the top fraction of cells, permute the rest, see whether the prediction stays.

    Args:
        fractions: the fractions of the window's cells kept.
        draws: permutation draws per stamp and fraction.
    """

    name = "fraction_completeness"
    title = "Output-completeness by fraction of cells kept"
    protocol = "comparable"
    controls = ("permuted",)

    def __init__(
        self, fractions: Sequence[float] = DEFAULT_FRACTIONS, draws: int = DEFAULT_DRAWS
    ) -> None:
        if not fractions or any(not 0 < f <= 1 for f in fractions):
            raise ValueError(f"fractions lie in (0, 1]; got {list(fractions)}")
        if draws < 1:
            raise ValueError(f"draws must be at least 1; got {draws}")
        self.fractions = tuple(float(f) for f in fractions)
        self.draws = draws
        self.scores = (
            *(
                Score(
                    f"rel_{_percent(f)}", f"OC rel. @{_percent(f)}% kept", True, f in (0.01, 0.05)
                )
                for f in self.fractions
            ),
            *(
                Score(f"oc_{_percent(f)}", f"OC @{_percent(f)}% kept", True, False)
                for f in self.fractions
            ),
            Score("oc_0", "OC, nothing kept", True, False),
        )

    def aggregated_otherwise(self, key: str) -> bool:
        return key.startswith("rel_")

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        if not key.startswith("rel_"):
            return super().aggregate(per_stamp, key)
        kept = super().aggregate(per_stamp, "oc_" + key.removeprefix("rel_"))
        nothing = super().aggregate(per_stamp, "oc_0")
        return (kept - nothing) / (1.0 - nothing) if nothing < 1.0 else float("nan")

    def __call__(self, data: StampSet) -> MetricResult:
        columns = [0.0, *self.fractions]
        agreement = np.zeros((len(data), len(columns)))
        for row in range(len(data)):
            window, explanation = data.windows[row], data.maps[row]
            stamp = int(data.stamps[row])
            copies = []
            for draw in range(self.draws):
                rng = keyed_rng(data.seed, "fraction-completeness", stamp, draw)
                for fraction in columns:
                    copies.append(permute_free_cells(window, top_cells(explanation, fraction), rng))
            probs = last_step_probs(data.model, window, np.stack(copies), first_step=0)
            hits = (probs.argmax(-1) == int(data.original[row])).reshape(self.draws, len(columns))
            agreement[row] = hits.mean(axis=0)
        per_stamp = {"oc_0": agreement[:, 0]}
        for index, fraction in enumerate(self.fractions, start=1):
            key = _percent(fraction)
            per_stamp[f"oc_{key}"] = agreement[:, index]
            per_stamp[f"rel_{key}"] = agreement[:, index]  # aggregated against oc_0, see above
        curves = {"oc": [float(v) for v in agreement.mean(axis=0)]}
        return MetricResult(per_stamp, curves, {"fractions": [0.0, *self.fractions]})


def _percent(fraction: float) -> str:
    text = f"{fraction * 100:g}"
    return text.replace(".", "p")
