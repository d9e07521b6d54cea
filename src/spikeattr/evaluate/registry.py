"""The metrics of each protocol, built from one settings record (the only list of metrics).

Adding a metric: write its module (a :class:`~spikeattr.evaluate.metric.Metric` subclass) and
add one line to :func:`build_metrics`. Everything else (files, summaries, rankings, paired
comparisons, the report) is derived from the metric objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spikeattr.evaluate.compactness import Compactness
from spikeattr.evaluate.completeness import PAPER_EPSILONS, OutputCompleteness
from spikeattr.evaluate.continuity import Continuity
from spikeattr.evaluate.correctness import Correctness
from spikeattr.evaluate.deletion import DEFAULT_BUDGETS, BudgetedDeletion
from spikeattr.evaluate.fraction_completeness import DEFAULT_FRACTIONS, FractionCompleteness
from spikeattr.evaluate.localisation import GroundTruthLocalisation
from spikeattr.evaluate.metric import Metric, Score
from spikeattr.evaluate.randomisation import ModelRandomisation
from spikeattr.evaluate.segments import DEFAULT_WIDTH
from spikeattr.evaluate.sensitivity import NormalisedSensitivity

PROTOCOLS: tuple[str, ...] = ("comparable", "paper", "localisation")
#: The protocols an evaluation runs unless told otherwise ("localisation" needs data with an
#: evidence mask, so it is asked for explicitly).
DEFAULT_PROTOCOLS: tuple[str, ...] = ("comparable", "paper")


@dataclass
class MetricSettings:
    """The hyper-parameters of every metric (recorded in each run's ``config.json``)."""

    width: int = DEFAULT_WIDTH
    budgets: list[int] = field(default_factory=lambda: list(DEFAULT_BUDGETS))
    fractions: list[float] = field(default_factory=lambda: list(DEFAULT_FRACTIONS))
    draws: int = 5
    randomisation: bool = True
    sensitivity: bool = True
    epsilons: list[float] = field(default_factory=lambda: list(PAPER_EPSILONS))
    perturbations: int = 1


def build_metrics(
    settings: MetricSettings, protocols: Sequence[str] = DEFAULT_PROTOCOLS
) -> list[Metric]:
    """The metrics of ``protocols``: localisation (only for data with evidence masks) first,
    then the comparable protocol, then the paper's."""
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown protocols {unknown}; choose from {', '.join(PROTOCOLS)}")
    metrics: list[Metric] = []
    if "localisation" in protocols:
        metrics.append(GroundTruthLocalisation())
    if "comparable" in protocols:
        metrics += [
            BudgetedDeletion(settings.budgets, settings.width),
            FractionCompleteness(settings.fractions, settings.draws),
        ]
        if settings.sensitivity:
            metrics.append(NormalisedSensitivity(settings.draws))
        if settings.randomisation:
            metrics.append(ModelRandomisation())
    if "paper" in protocols:
        metrics += [
            Correctness(settings.width),
            OutputCompleteness(settings.epsilons, settings.width),
            Continuity(settings.perturbations),
            Compactness(),
        ]
    return metrics


def for_control(metric: Metric, control: str) -> Metric:
    """The metric to run for ``control`` (the random-order control reorders the deletion)."""
    if control == "random-order" and isinstance(metric, BudgetedDeletion):
        return BudgetedDeletion(metric.budgets, metric.width, order="random")
    return metric


def headline(metrics: Sequence[Metric], protocol: str) -> list[tuple[Metric, Score]]:
    """The headline scores of ``protocol``, in table order."""
    return [(m, s) for m in metrics if m.protocol == protocol for s in m.scores if s.headline]
