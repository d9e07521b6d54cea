"""The one interface every evaluation metric implements (Quantus' shape, declared once).

A metric holds its hyper-parameters (constructor) and is called with the data of one unit, a
:class:`StampSet` (one model and method on ``S`` stamps). It returns a :class:`MetricResult`:
per-stamp values for each of its scores (so methods can be compared stamp by stamp), curves for
figures and free-form details. Each metric declares, once, its name, title, protocol and its
:class:`Score` s: key, heading, direction. Summaries, tables, CSV columns, rankings and paired
comparisons are all derived from those declarations; nothing downstream branches on a metric's
name.

Aggregates default to the mean of the per-stamp values; a metric whose headline is not a mean
(the paper's balanced-accuracy curves, a relative score) overrides :meth:`Metric.aggregate`.
Confidence intervals are percentile bootstraps over the sample rows (stamps, or stamps x draws
for a control with several seeds).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

import numpy as np

Protocol = Literal["comparable", "paper", "localisation"]

#: ``(windows [P, T, n_in], targets [P] or None for the predicted classes)
#: -> (maps [P, n_in, T] of those classes, predicted [P])``
ExplainFn = Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Score:
    """One number a metric reports, declared once.

    Attributes:
        key: column name in files and tables (``del_50``).
        heading: table heading (``deletion, 50 cells``).
        higher_is_better: the direction; rankings and paired comparisons read it from here.
        headline: shown in the summary table and the ranking (else only in the files).
        count: a whole number of cells or steps (a median of counts may end in .5): tables show
            it without decimals when it is whole.
    """

    key: str
    heading: str
    higher_is_better: bool
    headline: bool = True
    count: bool = False

    @property
    def direction(self) -> str:
        """``higher is better`` or ``lower is better``."""
        return "higher is better" if self.higher_is_better else "lower is better"


@dataclass
class StampSet:
    """Everything a metric needs about one model and method on ``S`` explained stamps.

    Attributes:
        model: the network (``predict_last``, ``forward`` with a carried state).
        stamps: int64 ``[S]`` stamp values; random draws are keyed by these, not by position.
        windows: ``S`` int8 windows ``[T_s, n_in]`` (the explained window of each stamp).
        maps: ``S`` maps ``[n_in, T_s]`` of the explained class, aligned with the windows.
        targets: int64 ``[S]`` the explained class ``c`` of each stamp.
        original: int64 ``[S]`` the prediction ``y0`` on the unperturbed window.
        labels: int64 ``[S]`` the true class at the explained step.
        probs: float ``[S, C]`` class probabilities on the unperturbed window.
        explain: re-explains perturbed windows for given targets (continuity metrics).
        explainer_for: builds the same method's ``explain`` for another model (sanity check).
        seed: the run's seed; each draw uses ``keyed_rng(seed, purpose, stamp, draw)``.
        draw: which draw of a control this is (0 for the method itself).
        scale: the method's largest ``|attribution|`` over the data set's reference stamps
            (the paper's output-completeness thresholds).
        control: ``""`` for the method itself, else the control's name.
        masks: ``S`` boolean evidence masks ``[n_in, T_s]`` aligned with the windows (the cells
            known to decide each explained step's label), or ``None`` when the data has none.
    """

    model: Any
    stamps: np.ndarray
    windows: list[np.ndarray]
    maps: list[np.ndarray]
    targets: np.ndarray
    original: np.ndarray
    labels: np.ndarray
    probs: np.ndarray
    explain: ExplainFn | None = None
    explainer_for: Callable[[Any], ExplainFn] | None = None
    seed: int = 0
    draw: int = 0
    scale: float | None = None
    control: str = ""
    masks: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.stamps.shape[0])

    def with_maps(self, maps: list[np.ndarray], control: str, draw: int = 0) -> StampSet:
        """The same stamps with other maps (a control's draw ``draw``)."""
        return replace(self, maps=maps, control=control, draw=draw)

    def subset(self, rows: Sequence[int] | np.ndarray) -> StampSet:
        """The stamps at ``rows`` only."""
        index = np.asarray(rows, dtype=np.int64)
        return replace(
            self,
            stamps=self.stamps[index],
            windows=[self.windows[i] for i in index],
            maps=[self.maps[i] for i in index],
            targets=self.targets[index],
            original=self.original[index],
            labels=self.labels[index],
            probs=self.probs[index],
            masks=None if self.masks is None else [self.masks[i] for i in index],
        )


@dataclass
class MetricResult:
    """What a metric returns for one :class:`StampSet`.

    Attributes:
        per_stamp: score key -> float ``[S]`` per-stamp values (NaN where undefined); other
            per-stamp arrays an aggregate needs may appear too (rows first, ``[S, ...]``).
        curves: name -> list of values (mean curves for figures), e.g. the deletion curve.
        details: anything else worth keeping (counts, thresholds), JSON-serialisable.
    """

    per_stamp: dict[str, np.ndarray]
    curves: dict[str, list[float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class Metric(ABC):
    """Base class of every metric: declarations, one call convention, aggregation."""

    #: file name and registry key
    name: ClassVar[str]
    #: heading of the metric's section
    title: ClassVar[str]
    #: which protocol it belongs to
    protocol: ClassVar[Protocol]
    #: the numbers it reports (a class attribute, or set in ``__init__`` when they depend on
    #: the settings, e.g. one score per budget)
    scores: tuple[Score, ...]
    #: controls this metric is meaningful for (``permuted``, ``random-order``, ``uniform``)
    controls: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def __call__(self, data: StampSet) -> MetricResult:
        """Score every stamp of ``data``."""

    def settings(self) -> dict[str, Any]:
        """The hyper-parameters, recorded with the results."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "scores"}

    def score(self, key: str) -> Score:
        """The declared :class:`Score` called ``key``."""
        for score in self.scores:
            if score.key == key:
                return score
        raise KeyError(f"{self.name} has no score {key!r}")

    def aggregate(self, per_stamp: dict[str, np.ndarray], key: str) -> float:
        """The headline value of score ``key`` over the given rows (default: the mean)."""
        values = np.asarray(per_stamp[key], dtype=np.float64)
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    def aggregated_otherwise(self, key: str) -> bool:
        """Whether :meth:`aggregate` is something other than the mean for ``key`` (a metric
        that overrides :meth:`aggregate` says for which keys; the mean is bootstrapped in one
        vectorised step)."""
        return type(self).aggregate is not Metric.aggregate

    def summarise(
        self, per_stamp: dict[str, np.ndarray], n_bootstrap: int = 500, seed: int = 0
    ) -> dict[str, dict[str, float]]:
        """Every score's value with a percentile-bootstrap 95 % CI over the rows.

        ``per_stamp`` values are ``[R, ...]`` arrays over the same rows (stamps, or stamps x
        draws); every score resamples the same rows.
        """
        rows = next(iter(per_stamp.values())).shape[0] if per_stamp else 0
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, max(rows, 1), size=(n_bootstrap, rows)) if rows > 1 else None
        out: dict[str, dict[str, float]] = {}
        for score in self.scores:
            value = self.aggregate(per_stamp, score.key)
            low = high = value
            if draws is not None:
                if self.aggregated_otherwise(score.key):
                    samples = np.array(
                        [
                            self.aggregate({k: v[d] for k, v in per_stamp.items()}, score.key)
                            for d in draws
                        ]
                    )
                else:
                    samples = bootstrap_means(np.asarray(per_stamp[score.key], float), draws)
                samples = samples[np.isfinite(samples)]
                if samples.size:
                    low, high = (float(x) for x in np.percentile(samples, [2.5, 97.5]))
            out[score.key] = {"value": value, "ci_low": low, "ci_high": high, "n": int(rows)}
        return out


def bootstrap_means(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The mean of the finite values of every resample ``values[draws[i]]`` (NaN if none)."""
    sample = values[draws]
    finite = np.isfinite(sample)
    count = finite.sum(axis=1)
    total = np.where(finite, sample, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
