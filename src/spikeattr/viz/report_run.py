"""The report's account of the run itself: what it evaluated (the sentence under the title), its
configuration and metric settings, its manifest (seed, versions, data checksums, timings) and
the notes on files it lacks, by section. Plain, unescaped text, as in
:mod:`spikeattr.viz.report_content`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spikeattr.viz.rundir import EvaluationRun, Missing

#: The manifest tables: (section key, title, column headings).
MANIFEST_TABLES: tuple[tuple[str, str, tuple[str, str]], ...] = (
    ("general", "Manifest", ("field", "value")),
    ("checksums", "Data checksums", ("data file", "SHA-256")),
    ("versions", "Versions", ("package", "version")),
    ("timings", "Timings", ("step", "seconds")),
)

#: Settings shown first, in this order (the rest follow as JSON).
LEADING_SETTINGS = ("models", "methods", "data", "data_sha256", "split")
TRAILING_SETTINGS = ("window", "controls", "control_draws", "seed")


def _listed(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def config_rows(run: EvaluationRun) -> list[tuple[str, str]]:
    """``(setting, value)`` of the run's configuration: the stamps as their count, each metric
    setting on its own row (``metrics.budgets``)."""
    config = run.config
    rows = [(key, _listed(config[key])) for key in LEADING_SETTINGS if key in config]
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        rows.append(("stamps", f"{len(stamps)} stamps"))
    rows += [(key, _listed(config[key])) for key in TRAILING_SETTINGS if key in config]
    settings = config.get("metrics")
    if isinstance(settings, dict):
        rows += [(f"metrics.{k}", _listed(v)) for k, v in settings.items()]
    shown = {*LEADING_SETTINGS, *TRAILING_SETTINGS, "stamps", "metrics"}
    rows += [(k, json.dumps(v)) for k, v in config.items() if k not in shown]
    return rows


def explained_stamps(run: EvaluationRun) -> list[int]:
    """The stamps of the run's configuration (empty if unknown)."""
    stamps = run.config.get("stamps")
    return [int(s) for s in stamps] if isinstance(stamps, list) else []


def manifest_sections(run: EvaluationRun) -> dict[str, list[tuple[str, str]]]:
    """The rows of each table of :data:`MANIFEST_TABLES`, by section key."""
    manifest = run.manifest or {}
    general = [
        (key, str(manifest[key])) for key in ("command", "created", "seed") if key in manifest
    ]
    versions = [(k, str(v)) for k, v in (manifest.get("versions") or {}).items()]
    checksums: list[tuple[str, str]] = []
    for source, values in (manifest.get("data_checksums") or {}).items():
        if isinstance(values, dict):
            checksums += [(f"{source} ({k})", str(v)) for k, v in values.items()]
        else:
            checksums.append((str(source), str(values)))
    timings = [
        (k, f"{float(v):.2f}")
        for k, v in (manifest.get("timings_s") or {}).items()
        if isinstance(v, (int, float))
    ]
    return {"general": general, "versions": versions, "checksums": checksums, "timings": timings}


def run_title(run: EvaluationRun) -> str:
    """What the run evaluated, for the report's title: ``synthetic_1L, synthetic_2L on
    synthetic.npz (test split)`` (the published models without their prefix); the run
    directory's name when its configuration is unreadable."""
    config = run.config
    if not run.models or "data" not in config:
        return run.path.name
    models = ", ".join(str(m).removeprefix("published:") for m in run.models)
    split = config.get("split")
    return f"{models} on {Path(str(config['data'])).name}" + (f" ({split} split)" if split else "")


def summary_facts(run: EvaluationRun) -> list[tuple[str, str]]:
    """What the run evaluated, as ``(text, code)`` pieces of one sentence: ``code`` (a file
    name) is shown as code after ``text``, or is empty."""
    config = run.config
    draws = config.get("control_draws")
    controls = (
        f" with the {', '.join(run.controls)} control(s)"
        + (f", {draws} draws each" if draws else "")
        if run.controls
        else ""
    )
    facts = [(f"{len(run.models)} model(s) x {len(run.methods)} method(s){controls}", "")]
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        facts.append((f"{len(stamps)} stamps of the {config.get('split', '?')} split", ""))
    if "data" in config:
        facts.append(("data ", Path(str(config["data"])).name))
    for key in ("window", "seed"):
        if key in config:
            facts.append((f"{key} {config[key]}", ""))
    created = (run.manifest or {}).get("created")
    if created:
        facts.append((f"created {created}", ""))
    return facts


def notes_under(run: EvaluationRun, *prefixes: str) -> list[Missing]:
    """The run's missing notes whose path starts with one of ``prefixes``."""
    return [n for n in run.missing if n.where.startswith(prefixes)]
