"""Deletion at a fixed budget: flip the most relevant cells first, count what it costs (SPEC 5.1).

The map's segments (:func:`~spikeattr.evaluate.segments.segment_map`, ranked by mean
attribution) give an order of cells: segment by segment, each segment's cells in time order.
The first ``b`` cells of that order are flipped (``x -> 1 - x``; the last segment is cut so that
exactly ``b`` cells are flipped) for ``b = 0 .. B``, and the window is re-run from zero state.
Per stamp:

* ``agreement[b] = [pred(x_b) = y0]`` and ``drop[b] = p_c(x) - p_c(x_b)`` (``c`` the explained
  class); once the map's support is exhausted the curves keep their last value;
* ``del_B = mean over b = 0..B of agreement[b]`` (**lower is better**: the prediction falls
  fast), ``aopc_B = mean over b of drop[b]`` (**higher is better**);
* ``first_change``: the smallest ``b`` with ``pred(x_b) != y0``; ``B + 1`` when the prediction
  survives the whole budget (reported as a median; **lower is better**).

The budget is a number of *cells*, the same for every model and method of a data set, so the
scores do not depend on how many segments or how long a tail a map has (the paper's ESS does).
With ``order="random"`` the same segments are flipped in a random order (the random-order
control), drawn with ``keyed_rng(seed, "random-order-control", stamp, draw)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from spikeattr.evaluate.draws import keyed_rng
from spikeattr.evaluate.forward import last_step_probs
from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet
from spikeattr.evaluate.segments import DEFAULT_WIDTH, Segment, segment_map

#: Budgets reported by default, in cells.
DEFAULT_BUDGETS: tuple[int, ...] = (10, 50, 100, 200)


def deletion_order(segments: Sequence[Segment], limit: int) -> np.ndarray:
    """The first ``limit`` cells ``(step, channel)`` of the segments, in flipping order,
    int64 ``[n, 2]`` with ``n <= limit``."""
    cells: list[tuple[int, int]] = []
    for segment in segments:
        for step in range(segment.start, segment.stop):
            if len(cells) == limit:
                return np.asarray(cells, dtype=np.int64)
            cells.append((step, segment.channel))
    return np.asarray(cells, dtype=np.int64).reshape(-1, 2)


def flipped_copies(window: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``[n, T, n_in]``: copy ``b - 1`` has the first ``b`` of ``cells`` flipped."""
    copies = np.repeat(window[None].astype(np.int8), cells.shape[0], axis=0)
    for b, (step, channel) in enumerate(cells):
        copies[b:, step, channel] ^= 1
    return copies


class BudgetedDeletion(Metric):
    """Deletion curves over a fixed budget of flipped cells.

    Args:
        budgets: the ``B`` reported, in cells (the curves run to the largest).
        width: segment width in steps (SPEC 5: 10).
        order: ``"ranked"`` (the map's own order) or ``"random"`` (the random-order control).
    """

    name = "deletion"
    title = "Deletion at a fixed budget of flipped cells"
    protocol = "comparable"
    controls = ("permuted", "random-order")

    def __init__(
        self,
        budgets: Sequence[int] = DEFAULT_BUDGETS,
        width: int = DEFAULT_WIDTH,
        order: Literal["ranked", "random"] = "ranked",
    ) -> None:
        if not budgets or any(int(b) < 1 for b in budgets):
            raise ValueError(f"budgets are positive numbers of cells; got {list(budgets)}")
        if order not in ("ranked", "random"):
            raise ValueError(f"order must be 'ranked' or 'random'; got {order!r}")
        self.budgets = tuple(sorted(int(b) for b in budgets))
        self.width = width
        self.order = order
        largest = self.budgets[-1]
        self.scores = (
            *(Score(f"del_{b}", f"deletion@{b} (agreement)", False, b == 50) for b in self.budgets),
            *(Score(f"aopc_{b}", f"AOPC@{b} (prob. drop)", True, b == 50) for b in self.budgets),
            Score(
                "first_change",
                f"cells to first change (median, {largest + 1} = never)",
                False,
                count=True,
            ),
        )

    def aggregated_otherwise(self, key: str) -> bool:
        return key == "first_change"

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        if key == "first_change":
            values = np.asarray(per_stamp[key], dtype=np.float64)
            return float(np.median(values)) if values.size else float("nan")
        return super().aggregate(per_stamp, key)

    def curves_of(self, data: StampSet) -> tuple[np.ndarray, np.ndarray]:
        """``agreement`` and ``drop`` curves ``[S, B + 1]`` of every stamp."""
        largest = self.budgets[-1]
        agreement = np.ones((len(data), largest + 1))
        drop = np.zeros((len(data), largest + 1))
        for row in range(len(data)):
            window, explanation = data.windows[row], data.maps[row]
            target, first = int(data.targets[row]), int(data.original[row])
            segments = segment_map(explanation, self.width)
            if self.order == "random" and segments:
                rng = keyed_rng(data.seed, "random-order-control", int(data.stamps[row]), data.draw)
                segments = [segments[i] for i in rng.permutation(len(segments))]
            cells = deletion_order(segments, largest)
            if cells.shape[0] == 0:
                continue
            copies = flipped_copies(window, cells)
            probs = last_step_probs(data.model, window, copies, int(cells[:, 0].min()))
            n = cells.shape[0]
            agreement[row, 1 : n + 1] = probs.argmax(-1) == first
            drop[row, 1 : n + 1] = float(data.probs[row, target]) - probs[:, target]
            agreement[row, n + 1 :] = agreement[row, n]
            drop[row, n + 1 :] = drop[row, n]
        return agreement, drop

    def __call__(self, data: StampSet) -> MetricResult:
        agreement, drop = self.curves_of(data)
        largest = self.budgets[-1]
        per_stamp: dict[str, np.ndarray] = {}
        for b in self.budgets:
            per_stamp[f"del_{b}"] = agreement[:, : b + 1].mean(axis=1)
            per_stamp[f"aopc_{b}"] = drop[:, : b + 1].mean(axis=1)
        changed = agreement == 0
        per_stamp["first_change"] = np.where(
            changed.any(axis=1), changed.argmax(axis=1), largest + 1
        ).astype(np.float64)
        curves = {
            "agreement": agreement.mean(axis=0).tolist(),
            "drop": drop.mean(axis=0).tolist(),
        }
        return MetricResult(per_stamp, curves, {"budgets": list(self.budgets)})
