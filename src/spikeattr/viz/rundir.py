"""Reading the results directory of ``spikeattr evaluate`` for figures and the report.

The format has one home, :mod:`spikeattr.evaluate.results`: every file is read with its
readers (:func:`~spikeattr.evaluate.results.read_metric`,
:func:`~spikeattr.evaluate.results.read_stamps`,
:func:`~spikeattr.evaluate.results.read_json_object`); nothing is parsed here. The metric objects
come from the run's own settings (``config.json``'s ``metrics``, through
:func:`~spikeattr.evaluate.registry.build_metrics`), so headings, directions and headline scores
are the ones the run declared; summaries are the files' ``summary`` objects, never recomputed.

The reader is forgiving: a missing or unreadable file becomes a :class:`Missing` note (what,
where, why) instead of an exception, so a report of a partial run still says what it has and
what it lacks. Only a directory that is no evaluation run at all is an error.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.metric import Metric, Score
from spikeattr.evaluate.registry import DEFAULT_PROTOCOLS, MetricSettings, build_metrics, headline
from spikeattr.evaluate.results import (
    METHOD,
    MetricRecord,
    comparisons_path,
    gallery_path,
    read_json_object,
    read_metric,
    read_stamps,
    safe_model_name,
    unit_dir,
)
from spikeattr.evaluate.summary import score_rows
from spikeattr.explain.files import Explanations

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Files and folders of which at least one marks a directory as an evaluation run.
RUN_FILES: tuple[str, ...] = ("config.json", "manifest.json", "summary.md")
RUN_FOLDERS: tuple[str, ...] = ("results", "models", "gallery")
RUN_MARKERS: tuple[str, ...] = RUN_FILES + RUN_FOLDERS


class ReportError(SpikeAttrError):
    """A directory is not an evaluation run, or a report cannot be written."""


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
class EvaluationRun:
    """What a results directory holds, with notes on what it lacks.

    In a notebook, :meth:`plot` returns the report's figures one by one and
    :meth:`explanations` a gallery file's explained stamps; Jupyter shows a run as a one-line
    summary above a small deletion-curve figure.

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

    def plot(self, kind: str = "deletion") -> Figure:
        """One of the report's figures: ``deletion``, ``fraction``, ``comparable-bars`` (the
        comparable protocol), ``flipping``, ``completeness``, ``paper-bars`` (the paper's)."""
        # the figure modules read runs through this module, so they are imported when used
        from spikeattr.viz.run_figures import run_figure

        return run_figure(self, kind)

    def explanations(self, model: str, method: str) -> Explanations:
        """The gallery's explained stamps of ``model`` and ``method`` (one per class), to draw
        with their ``plot`` method."""
        path = self.galleries.get((model, method))
        if path is None:
            raise ReportError(
                f"{self.path} has no gallery file of model {model!r} and method {method!r}; "
                f"it has {', '.join(f'{m} / {k}' for m, k in self.galleries) or 'none'}"
            )
        return Explanations.load(path)

    def describe(self) -> str:
        """One line: models, methods, stamps and missing files."""
        stamps = self.config.get("stamps")
        count = f", {len(stamps)} stamps" if isinstance(stamps, list) else ""
        return (
            f"EvaluationRun {self.path}: {len(self.models)} model(s) x {len(self.methods)} "
            f"method(s) ({', '.join(self.methods)}){count}; {len(self.missing)} missing file(s)"
        )

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary above a small deletion-curve figure."""
        from spikeattr.viz.notebook import figure_png

        png = base64.b64encode(figure_png(self.plot("deletion"), dpi=60)).decode("ascii")
        text = html.escape(self.describe())
        return (
            f'<div class="spikeattr-result"><p><code>{text}</code></p>'
            f'<img src="data:image/png;base64,{png}" alt="deletion curves"></div>'
        )


def _reason(exc: Exception, path: Path) -> str:
    """The message of a reader's error without the path it starts with."""
    text = str(exc)
    for prefix in (str(path), path.as_posix()):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.lstrip(": ").strip() or "unreadable"


def _read_object(run: Path, relative: str, what: str, missing: list[Missing]) -> Any | None:
    path = run / relative
    if not path.is_file():
        missing.append(Missing(relative, "missing"))
        return None
    try:
        return read_json_object(path, what)
    except SpikeAttrError as exc:
        missing.append(Missing(relative, _reason(exc, path)))
        return None


def _subdirectories(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def check_run_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is an evaluation run: a directory holding one of :data:`RUN_FILES` (as a
    file) or :data:`RUN_FOLDERS` (as a folder).

    Raises:
        ReportError: ``path`` does not exist, is not a directory, or is no evaluation run.
    """
    run = Path(path)
    hint = "pass the --out directory of 'spikeattr evaluate'"
    if not run.exists():
        raise ReportError(f"{run}: no such directory; {hint}")
    if not run.is_dir():
        raise ReportError(f"{run} is not a directory; {hint}")
    if not any((run / name).is_file() for name in RUN_FILES) and not any(
        (run / name).is_dir() for name in RUN_FOLDERS
    ):
        raise ReportError(
            f"{run} is not an evaluation run: it holds none of {', '.join(RUN_MARKERS)} ({hint})"
        )
    return run


def run_metrics(config: Mapping[str, Any], missing: list[Missing]) -> list[Metric]:
    """The metric objects of a run's settings (``config["metrics"]``) and protocols
    (``config["protocols"]``: a benchmark run's localisation among them); the defaults when the
    configuration holds none, or a note and the defaults when its settings are not valid."""
    settings = config.get("metrics")
    protocols = config.get("protocols")
    if not (
        isinstance(protocols, list) and protocols and all(isinstance(p, str) for p in protocols)
    ):
        protocols = list(DEFAULT_PROTOCOLS)  # a run written before runs chose their protocols
    if isinstance(settings, dict):
        try:
            return build_metrics(MetricSettings(**settings), protocols)
        except (TypeError, ValueError) as exc:
            missing.append(Missing("config.json", f"metric settings not valid ({exc}); defaults"))
    return build_metrics(MetricSettings(), DEFAULT_PROTOCOLS)


def _layout(run: Path, config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Models and methods: the configuration's, else what the directories hold."""
    models = [str(m) for m in config.get("models") or []]
    methods = [str(m) for m in config.get("methods") or []]
    if not models:
        names = set(_subdirectories(run / "results")) | set(_subdirectories(run / "gallery"))
        names |= {p.stem for p in (run / "models").glob("*.json")}
        models = sorted(names)
    if not methods:
        found = {d for m in models for d in _subdirectories(run / "results" / safe_model_name(m))}
        methods = sorted(found)
    return models, methods


def read_run(path: str | os.PathLike[str]) -> EvaluationRun:
    """Read a results directory of ``spikeattr evaluate``; absent parts become notes.

    Raises:
        ReportError: ``path`` is not an evaluation run (:func:`check_run_dir`).
    """
    run = check_run_dir(path)
    missing: list[Missing] = []
    config = _read_object(run, "config.json", "evaluation run configuration", missing)
    manifest = _read_object(run, "manifest.json", "run manifest", missing)
    if config is None and manifest is not None and isinstance(manifest.get("config"), dict):
        config = manifest["config"]
    config = config or {}
    models, methods = _layout(run, config)
    metrics = run_metrics(config, missing)
    if not config:  # without settings, expect only the metrics some unit has a file of
        present = {p.stem for p in (run / "results").glob("*/*/*.json")}
        metrics = [m for m in metrics if m.name in present]
    result = EvaluationRun(run, config, manifest, models, methods, [], metrics)
    for model in models:
        body = _read_object(run, f"models/{safe_model_name(model)}.json", "accuracy", missing)
        if body is not None:
            result.accuracy[model] = body
    for model in models:
        for method in methods:
            _read_unit(run, result, model, method, missing)
    for model in models:
        relative = comparisons_path(run, model).relative_to(run).as_posix()
        body = _read_object(run, relative, "paired comparisons", missing)
        if body is not None:
            result.comparisons[model] = body
    configured = config.get("controls")
    found = {v for r in result.records.values() for v in r.variants if v != METHOD}
    result.controls = (
        [str(c) for c in configured] if isinstance(configured, list) else sorted(found)
    )
    for model in models:
        for method in methods:
            relative = gallery_path(model, method)
            if (run / relative).is_file():
                result.galleries[(model, method)] = run / relative
            else:
                missing.append(Missing(relative, "missing"))
    if not (run / "summary.md").is_file():
        missing.append(Missing("summary.md", "missing (the run did not finish)"))
    result.missing = missing
    return result


def _read_unit(
    run: Path, result: EvaluationRun, model: str, method: str, missing: list[Missing]
) -> None:
    """The metric files and ``stamps.json`` of one model and method."""
    directory = unit_dir(run, model, method)
    for metric in result.metrics:
        path = directory / f"{metric.name}.json"
        relative = path.relative_to(run).as_posix()
        if not path.is_file():
            missing.append(Missing(relative, "missing"))
            continue
        try:
            record = read_metric(path)
        except SpikeAttrError as exc:
            missing.append(Missing(relative, _reason(exc, path)))
            continue
        if not _summary_is_well_formed(record):
            missing.append(
                Missing(
                    relative,
                    "malformed summary (expected variant -> score -> {value, ci_low, ci_high, n})",
                )
            )
            continue
        result.records[(model, method, metric.name)] = record
    stamps = directory / "stamps.json"
    if not stamps.is_file():
        missing.append(Missing(stamps.relative_to(run).as_posix(), "missing"))
        return
    try:
        result.stamps[(model, method)] = read_stamps(run, model, method)
    except SpikeAttrError as exc:
        missing.append(Missing(stamps.relative_to(run).as_posix(), _reason(exc, stamps)))


def _summary_is_well_formed(record: MetricRecord) -> bool:
    """Whether the file's summary maps each variant to score -> ``{value, ...}`` objects."""
    return all(
        isinstance(scores, dict) and all(isinstance(e, dict) for e in scores.values())
        for scores in record.summary.values()
    )
