"""Reading the results directory of ``spikeattr evaluate`` for figures and the report.

The reader is forgiving: a missing or corrupt file becomes a :class:`Missing` note (what, where,
why) instead of an exception, so a report of a partial run still says what it has and what it
lacks. Only a directory that is no evaluation run at all is an error.

Layout read (written by :mod:`spikeattr.pipelines.evaluation`)::

    config.json, manifest.json, summary.md, summary.csv
    models/MODEL.json                 balanced accuracy of each model
    results/MODEL/METHOD/METRIC.json  METRIC in RUN_METRICS, plus stamps.json
    gallery/MODEL/METHOD.npz          explanation files, one stamp per class

``MODEL`` is the model name with ``:``, ``/`` and ``\\`` replaced by ``_``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.results import METRICS as RUN_METRICS
from spikeattr.evaluate.results import (
    flatten_metric,
    safe_model_name,
)
from spikeattr.viz.style import CONTROL_PREFIX, is_control

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
        why: what is wrong (``missing``, ``not valid JSON: ...``).
    """

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass
class EvaluationRun:
    """What a results directory holds, with notes on what it lacks.

    Attributes:
        path: the run directory.
        config: ``config.json`` (or the manifest's copy); empty when neither is readable.
        manifest: ``manifest.json``, or ``None``.
        models: model names (as configured), methods: base method names, both in run order.
        random_control: whether the run has random controls (``random-METHOD``).
        accuracy: model -> ``models/MODEL.json``.
        metrics: ``(model, name) -> {metric: file body}``, ``name`` a method or its control.
        stamps: ``(model, name) -> stamps.json`` body.
        galleries: ``(model, method) -> gallery .npz path`` for the files that exist.
        missing: the notes on absent or unreadable files.
    """

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any] | None
    models: list[str]
    methods: list[str]
    random_control: bool
    accuracy: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    stamps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    galleries: dict[tuple[str, str], Path] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)

    def names(self, method: str) -> list[str]:
        """A method and, if the run has controls, its random control."""
        return [method, f"{CONTROL_PREFIX}{method}"] if self.random_control else [method]

    def units(self) -> list[tuple[str, str]]:
        """Every ``(model, name)`` the run should hold, controls after their method."""
        return [(m, n) for m in self.models for method in self.methods for n in self.names(method)]

    def result(self, model: str, name: str, metric: str) -> dict[str, Any] | None:
        """The ``results`` object of one metric file, or ``None`` if it is missing."""
        body = self.metrics.get((model, name), {}).get(metric)
        return body.get("results") if body is not None else None

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per unit with the summary values and their ``(low, high)`` CIs.

        Keys are those of :data:`SUMMARY_COLUMNS` (each with ``KEY_ci``), plus ``model``,
        ``method`` and ``missing`` (comma-separated metrics without a usable file).
        """
        rows = []
        for model, name in self.units():
            row: dict[str, Any] = {"model": model, "method": name}
            missing = []
            for metric in RUN_METRICS:
                results = self.result(model, name, metric)
                try:
                    values = flatten_metric(metric, results) if results is not None else None
                except (KeyError, TypeError, ValueError, IndexError):
                    values = None
                    where = f"results/{safe_model_name(model)}/{name}/{metric}.json"
                    note = Missing(where, "unexpected content (a field is missing)")
                    if note not in self.missing:
                        self.missing.append(note)
                if values is None:
                    missing.append(metric)
                else:
                    row.update(values)
            row["missing"] = ",".join(missing)
            rows.append(row)
        return rows


def _read_json(run: Path, relative: str, missing: list[Missing]) -> Any | None:
    path = run / relative
    if not path.is_file():
        missing.append(Missing(relative, "missing"))
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        missing.append(Missing(relative, f"not valid JSON ({exc.msg}, line {exc.lineno})"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        missing.append(Missing(relative, f"unreadable ({exc})"))
        return None
    if not isinstance(body, dict):
        missing.append(Missing(relative, "not a JSON object"))
        return None
    return body


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


def read_run(path: str | os.PathLike[str]) -> EvaluationRun:
    """Read a results directory of ``spikeattr evaluate``; absent parts become notes.

    Raises:
        ReportError: ``path`` is not an evaluation run (:func:`check_run_dir`).
    """
    run = check_run_dir(path)
    missing: list[Missing] = []
    config = _read_json(run, "config.json", missing)
    manifest = _read_json(run, "manifest.json", missing)
    if config is None and manifest is not None and isinstance(manifest.get("config"), dict):
        config = manifest["config"]
    config = config or {}
    models = [str(m) for m in config.get("models") or []]
    methods = [str(m) for m in config.get("methods") or []]
    if not models:  # no configuration: take what the directories hold
        names = set(_subdirectories(run / "results")) | set(_subdirectories(run / "gallery"))
        names |= {p.stem for p in (run / "models").glob("*.json")}
        models = sorted(names)
    if not methods:
        found = {d for m in models for d in _subdirectories(run / "results" / safe_model_name(m))}
        methods = sorted(d for d in found if not is_control(d))
    if "random_control" in config:
        random_control = bool(config["random_control"])
    else:
        random_control = any(
            (run / "results" / safe_model_name(m) / f"{CONTROL_PREFIX}{meth}").is_dir()
            for m in models
            for meth in methods
        )
    result = EvaluationRun(run, config, manifest, models, methods, random_control)
    for model in models:
        safe = safe_model_name(model)
        body = _read_json(run, f"models/{safe}.json", missing)
        if body is not None:
            result.accuracy[model] = body
    for model, name in result.units():
        safe = safe_model_name(model)
        loaded: dict[str, dict[str, Any]] = {}
        for metric in RUN_METRICS:
            relative = f"results/{safe}/{name}/{metric}.json"
            body = _read_json(run, relative, missing)
            if body is None:
                continue
            if not isinstance(body.get("results"), dict):
                missing.append(Missing(relative, "has no 'results' object"))
                continue
            loaded[metric] = body
        result.metrics[(model, name)] = loaded
        stamps = _read_json(run, f"results/{safe}/{name}/stamps.json", missing)
        if stamps is not None:
            result.stamps[(model, name)] = stamps
    for model in models:
        for method in methods:
            relative = f"gallery/{safe_model_name(model)}/{method}.npz"
            if (run / relative).is_file():
                result.galleries[(model, method)] = run / relative
            else:
                missing.append(Missing(relative, "missing"))
    if not (run / "summary.md").is_file():
        missing.append(Missing("summary.md", "missing (the run did not finish)"))
    result.missing = missing
    return result
