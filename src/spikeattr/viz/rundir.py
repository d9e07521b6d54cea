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

What a run holds is :class:`~spikeattr.viz.run_contents.RunContents`, the data the figure
modules draw from; :class:`EvaluationRun` adds its figures (:mod:`spikeattr.viz.run_figures`),
so this module imports the figures and they never import it.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.metric import Metric
from spikeattr.evaluate.registry import DEFAULT_PROTOCOLS, MetricSettings, build_metrics
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
from spikeattr.explain.files import Explanations
from spikeattr.viz.run_contents import Missing, RunContents
from spikeattr.viz.run_figures import run_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Files and folders of which at least one marks a directory as an evaluation run.
RUN_FILES: tuple[str, ...] = ("config.json", "manifest.json", "summary.md")
RUN_FOLDERS: tuple[str, ...] = ("results", "models", "gallery")
RUN_MARKERS: tuple[str, ...] = RUN_FILES + RUN_FOLDERS


class ReportError(SpikeAttrError):
    """A directory is not an evaluation run, or a report cannot be written."""


class EvaluationRun(RunContents):
    """What a results directory holds (:class:`~spikeattr.viz.run_contents.RunContents`: its
    attributes), with notes on what it lacks, and its figures.

    In a notebook, :meth:`plot` returns the report's figures one by one and
    :meth:`explanations` a gallery file's explained stamps; Jupyter shows a run as a one-line
    summary above a small deletion-curve figure.
    """

    def plot(self, kind: str = "deletion") -> Figure:
        """One of the report's figures: ``deletion``, ``fraction``, ``comparable-bars`` (the
        comparable protocol), ``flipping``, ``completeness``, ``paper-bars`` (the paper's)."""
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
