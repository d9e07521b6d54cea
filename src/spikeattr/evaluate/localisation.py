"""Ground-truth localisation: does the map point at the cells known to decide the label? (SPEC 5.2)

For tasks whose evidence is known (:mod:`spikeattr.data.benchmark`), each stamp carries a mask
``m [n_in, T_s]`` (1 = a cell that decides the explained step's label). A map ``a`` of the
explained class is scored twice, with the saliency ``s = |a|`` (``*_abs``) and with
``s = max(a, 0)`` (``*_pos``, the evidence *for* the class), over the window's cells:

* **AUPRC** = average precision of ``s`` against ``m``: ``sum_k (R_k - R_{k-1}) P_k`` over the
  distinct values of ``s`` from the largest down (threshold ``s >= v_k``), as scikit-learn's
  ``average_precision_score`` (ties form one threshold). A map equal to ``m`` scores 1; a
  random map scores about the mask's prevalence ``|m| / (n_in T_s)`` (reported as
  ``prevalence``, the chance level).
* **AUP** and **AUR** = areas under precision and recall as functions of the threshold, as in
  time_interpret (``tint.metrics.white_box``): ``s`` is min-max normalised to ``[0, 1]``;
  precision and recall at threshold ``v`` are those of the cells with ``s >= v``, and the area
  is ``integral_0^1 P(v) dv`` (resp. ``R``). Between two consecutive distinct values of ``s``
  the selected cells do not change, so the integral is computed exactly as
  ``sum_k (v_k - v_{k-1}) P(v_k)`` over the distinct values ``v_1 = 0 < ... < v_n = 1``. Two
  deliberate differences from time_interpret: it integrates with the trapezoidal rule between
  the distinct values, which gives the mask itself an AUP of ``(1 + prevalence) / 2`` instead
  of 1 (SPEC 5.2 wants 1); and it divides by ``max + 1e-5`` instead of ``max - min``, which
  squeezes the threshold axis of maps whose values are small, as TSA's often are. A map with a
  single value has no threshold axis: AUP = AUR = 0. Chance level: AUP about the prevalence,
  AUR about 0.5 for uniformly random values.
* **Relevance mass accuracy** = ``sum(s m) / sum(s)``: the share of the saliency inside the
  mask (0 for an all-zero map, which puts no relevance anywhere).
* **Relevance rank accuracy** = the share of the ``k = |m|`` cells of largest ``s`` that lie in
  ``m``; cells tied at the cut-off count in proportion (the expectation over breaking the tie
  at random), so a constant map scores the prevalence, not an artefact of cell order.

Every score is per stamp (time_interpret pools the cells of a batch; per-stamp scores give CIs
and paired comparisons over stamps) and **higher is better**; a stamp whose mask is empty in its
window scores NaN. The permuted control (the method's own values shuffled over its support)
tells how much of a score is the map's shape rather than its placement.
"""

from __future__ import annotations

import numpy as np

from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet

#: Per saliency (``abs``, ``pos``), the five scores in table order.
_KINDS: tuple[tuple[str, str], ...] = (
    ("auprc", "AUPRC"),
    ("aup", "AUP"),
    ("aur", "AUR"),
    ("mass", "relevance mass accuracy"),
    ("rank", "relevance rank accuracy"),
)
#: The headline scores (shown in summaries and the leaderboard).
HEADLINE: tuple[str, ...] = ("auprc_abs", "auprc_pos", "mass_pos", "rank_abs")


def precision_recall(saliency: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(thresholds, precision, recall)`` at each distinct value of ``saliency`` (ascending):
    precision and recall of the cells with ``saliency >= threshold`` against ``mask``."""
    values = np.asarray(saliency, dtype=np.float64).ravel()
    truth = np.asarray(mask, dtype=bool).ravel()
    order = np.argsort(-values, kind="stable")
    ranked, hits = values[order], truth[order]
    # the last position of each run of equal values: one threshold per distinct value
    last = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
    true_positives = np.cumsum(hits)[last].astype(np.float64)
    selected = (last + 1).astype(np.float64)
    positives = max(int(truth.sum()), 1)
    return (
        ranked[last][::-1],
        (true_positives / selected)[::-1],
        (true_positives / positives)[::-1],
    )


def average_precision(saliency: np.ndarray, mask: np.ndarray) -> float:
    """``sum_k (R_k - R_{k-1}) P_k`` over thresholds from the largest value down."""
    _, precision, recall = precision_recall(saliency, mask)
    precision, recall = precision[::-1], recall[::-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def threshold_areas(saliency: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """``(AUP, AUR)``: exact areas under precision and recall over the threshold ``v`` of the
    min-max normalised saliency, ``sum_k (v_k - v_{k-1}) P(v_k)`` (0 for a constant map)."""
    values = np.asarray(saliency, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return 0.0, 0.0
    thresholds, precision, recall = precision_recall((values - low) / (high - low), mask)
    widths = np.diff(thresholds)
    return float(np.sum(widths * precision[1:])), float(np.sum(widths * recall[1:]))


def mass_accuracy(saliency: np.ndarray, mask: np.ndarray) -> float:
    """``sum(s m) / sum(s)`` (0 when the saliency is zero everywhere)."""
    values = np.asarray(saliency, dtype=np.float64)
    total = float(values.sum())
    return float(values[np.asarray(mask, dtype=bool)].sum()) / total if total > 0 else 0.0


def rank_accuracy(saliency: np.ndarray, mask: np.ndarray) -> float:
    """Share of the ``|m|`` cells of largest saliency inside the mask; cells tied at the cut-off
    count in proportion to the places left for them."""
    values = np.asarray(saliency, dtype=np.float64).ravel()
    truth = np.asarray(mask, dtype=bool).ravel()
    k = int(truth.sum())
    if k == 0:
        return float("nan")
    cut = np.sort(values)[::-1][k - 1]
    above, tied = values > cut, values == cut
    places = k - int(above.sum())
    inside = float(truth[above].sum()) + float(truth[tied].sum()) * places / int(tied.sum())
    return inside / k


def localisation_scores(explanation: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Every score of one map ``[n_in, T]`` against its mask ``[n_in, T]`` (NaN: empty mask)."""
    a = np.asarray(explanation, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if a.shape != m.shape:
        raise ValueError(f"map {a.shape} and mask {m.shape} must have the same shape")
    out: dict[str, float] = {"prevalence": float(m.mean()) if m.size else float("nan")}
    for suffix, saliency in (("abs", np.abs(a)), ("pos", np.maximum(a, 0.0))):
        if not m.any():
            out.update({f"{kind}_{suffix}": float("nan") for kind, _ in _KINDS})
            continue
        aup, aur = threshold_areas(saliency, m)
        out[f"auprc_{suffix}"] = average_precision(saliency, m)
        out[f"aup_{suffix}"] = aup
        out[f"aur_{suffix}"] = aur
        out[f"mass_{suffix}"] = mass_accuracy(saliency, m)
        out[f"rank_{suffix}"] = rank_accuracy(saliency, m)
    return out


class GroundTruthLocalisation(Metric):
    """AUPRC, AUP, AUR, relevance mass and rank accuracy of each map against its stamp's mask
    (see the module docs); needs a :class:`StampSet` with ``masks``."""

    name = "localisation"
    title = "Ground-truth localisation (cells known to decide the label)"
    protocol = "localisation"
    controls = ("permuted",)
    scores = (
        *(
            Score(f"{kind}_{suffix}", f"{heading} of {label}", True, f"{kind}_{suffix}" in HEADLINE)
            for suffix, label in (("abs", "|a|"), ("pos", "max(a, 0)"))
            for kind, heading in _KINDS
        ),
        Score("prevalence", "mask prevalence (chance AUPRC)", True, False),
    )

    def __call__(self, data: StampSet) -> MetricResult:
        if data.masks is None:
            raise ValueError(
                "ground-truth localisation needs the stamps' evidence masks; the data has none "
                "(use a task of 'spikeattr data benchmark')"
            )
        rows = [
            localisation_scores(explanation, mask)
            for explanation, mask in zip(data.maps, data.masks, strict=True)
        ]
        per_stamp = {
            score.key: np.asarray([row[score.key] for row in rows], dtype=np.float64)
            for score in self.scores
        }
        sizes = [int(np.asarray(m).sum()) for m in data.masks]
        return MetricResult(per_stamp, {}, {"mask_cells": sizes})
