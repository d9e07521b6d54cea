"""What an evaluation run holds, as read from its directory; the figures draw from it.

:class:`RunContents` is the data of :class:`spikeattr.viz.rundir.EvaluationRun`: the run's
settings, metric files, stamps and comparisons, with the notes on what is missing
(:class:`Missing`). The figure modules (:mod:`spikeattr.viz.metrics`,
:mod:`spikeattr.viz.comparable`, :mod:`spikeattr.viz.paper`, :mod:`spikeattr.viz.run_figures`)
read it; :mod:`spikeattr.viz.rundir` reads it from disk and adds the notebook's ``plot``, which
draws those figures. So the figures never import the module that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr.evaluate.metric import Metric, Score
from spikeattr.evaluate.registry import headline
from spikeattr.evaluate.results import METHOD, MetricRecord
from spikeattr.evaluate.summary import score_rows


@dataclass(frozen=True)
class Missing:
    """Something a report would show but the run directory lacks.

    Attributes:
        where: the path relative to the run directory (``results/M/s/continuity.json``).
        why: what is wrong (``missing``, ``is not valid JSON (...)``).
    """

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass(repr=False)
class RunContents:
    """What a results directory holds, with notes on what it lacks.

    Read from disk by :func:`spikeattr.viz.rundir.read_run`, as an
    :class:`~spikeattr.viz.rundir.EvaluationRun` (these contents and its figures).

    Attributes:
        path: the run directory.
        config: ``config.json`` (or the manifest's copy); empty when neither is readable.
        manifest: ``manifest.json``, or ``None``.
        models, methods: model names (as configured) and methods, both in run order.
        controls: the controls the run computed (``permuted``, ``random-order``, ``uniform``).
        metrics: the run's metric objects (from its settings), comparable protocol first.
        accuracy: model -> ``models/MODEL.json``.
        records: ``(model, method, metric)`` -> the metric file, for the files that are readable.
        stamps: ``(model, method)`` -> ``stamps.json``.
        comparisons: model -> ``comparisons/MODEL.json`` (``pairs`` and ``ranking``).
        galleries: ``(model, method)`` -> gallery ``.npz`` path, for the files that exist.
        missing: the notes on absent or unreadable files.
    """

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any] | None
    models: list[str]
    methods: list[str]
    controls: list[str]
    metrics: list[Metric]
    accuracy: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[tuple[str, str, str], MetricRecord] = field(default_factory=dict)
    stamps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)
    galleries: dict[tuple[str, str], Path] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)

    def record(self, model: str, method: str, metric: str) -> MetricRecord | None:
        """The metric file of one unit, or ``None`` when it is missing or unreadable."""
        return self.records.get((model, method, metric))

    def metric(self, name: str) -> Metric | None:
        """The run's metric called ``name``, or ``None`` if the run has none."""
        return next((m for m in self.metrics if m.name == name), None)

    def summary(
        self, model: str, method: str, metric: str, key: str, variant: str = METHOD
    ) -> dict[str, Any] | None:
        """``{value, ci_low, ci_high, n}`` of one score as the file's summary states it;
        ``None`` when the file is missing or does not hold that variant and score."""
        record = self.record(model, method, metric)
        if record is None:
            return None
        entry = record.summary.get(variant, {}).get(key)
        return entry if isinstance(entry, dict) else None

    def headline(self, protocol: str) -> list[tuple[Metric, Score]]:
        """The headline scores of ``protocol``, in table order."""
        return headline(self.metrics, protocol)

    def controls_of(self, protocol: str) -> list[str]:
        """The run's controls that some metric of ``protocol`` computes, in run order."""
        return [
            c
            for c in self.controls
            if any(c in m.controls for m in self.metrics if m.protocol == protocol)
        ]

    def score_rows(self) -> list[dict[str, Any]]:
        """:func:`spikeattr.evaluate.summary.score_rows` of every readable file, in run order
        (the rows of ``summary.csv``)."""
        by_name = {m.name: m for m in self.metrics}
        ordered = [
            self.records[(model, method, metric.name)]
            for model in self.models
            for method in self.methods
            for metric in self.metrics
            if (model, method, metric.name) in self.records
        ]
        return score_rows(ordered, by_name)
