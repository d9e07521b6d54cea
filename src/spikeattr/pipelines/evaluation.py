"""The evaluation experiment: models x methods x stamps -> one results directory.

Layout of ``out_dir``::

    config.json                       the run's configuration (compared on --resume)
    models/MODEL.json                 the model's balanced accuracy over the whole split
    gallery/MODEL/METHOD.npz          explanations of one stamp per class (``explain`` format)
    results/MODEL/METHOD/METRIC.json  one file per (model, method, metric); METHOD is a method
                                      name or ``random-METHOD`` for its random control
    results/MODEL/METHOD/stamps.json  per-stamp predictions, labels and explanation sizes
    summary.md, summary.csv           the summary table with 95 % CIs
    manifest.json                     config, seed, package versions, data checksums, timings

Every file is written atomically. A unit (one model and method) whose files all exist is
skipped on resume, so an interrupted run continues where it stopped; a directory holding a
different configuration is refused.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikeattr._io import atomic_path, check_writable_dir, load_json, write_json_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import RunStateError, SpikeAttrError
from spikeattr.evaluate.compactness import Compactness
from spikeattr.evaluate.completeness import PAPER_EPSILONS, OutputCompleteness
from spikeattr.evaluate.continuity import Continuity
from spikeattr.evaluate.correctness import Correctness
from spikeattr.evaluate.random_control import method_range, random_like
from spikeattr.evaluate.results import (
    METRICS,
    SUMMARY_COLUMNS,
    flatten_metric,
    format_cell,
    safe_model_name,
)
from spikeattr.explain.files import write_stamp_explanations
from spikeattr.explain.methods import METHODS, make_explainer
from spikeattr.explain.stamps import check_stamps, explain_stamps
from spikeattr.runs.manifest import write_manifest
from spikeattr.snn.accuracy import accuracy_report
from spikeattr.snn.checkpoint import load_model


class RunConfigError(SpikeAttrError):
    """A results directory belongs to a different configuration."""


@dataclass
class EvaluationConfig:
    """Everything that determines an evaluation run's results."""

    models: list[str]
    methods: list[str]
    data: str
    data_sha256: str
    split: str
    stamps: list[int]
    window: int = 1000
    width: int = 10
    epsilons: list[float] = field(default_factory=lambda: list(PAPER_EPSILONS))
    n_perturbations: int = 1
    random_control: bool = True
    seed: int = 0

    def validate(self, series: SpikeSeries) -> None:
        """Check models, methods, split and stamps before any work starts."""
        if not self.models:
            raise SpikeAttrError("no models given; pass --models published:synthetic_1L,...")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise SpikeAttrError(
                f"unknown methods {unknown or self.methods}; choose from {', '.join(METHODS)}"
            )
        part = series.split(self.split)
        check_stamps(self.stamps, part.n_steps)
        if self.window < 1 or self.width < 1 or self.n_perturbations < 1:
            raise SpikeAttrError("window, segment width and n_perturbations must be >= 1")

    def comparable(self) -> dict[str, Any]:
        """The fields that must match for a resumed run (the data path may move)."""
        out = asdict(self)
        out.pop("data")
        return out


def _unit_dir(out_dir: Path, model: str, method: str) -> Path:
    return out_dir / "results" / safe_model_name(model) / method


def gallery_stamps(part: SpikeSeries, stamps: Sequence[int]) -> list[int]:
    """One stamp per class present: the first stamp (in the given order) whose explained step
    ``t - 1`` has that label."""
    chosen: dict[int, int] = {}
    for stamp in stamps:
        chosen.setdefault(int(part.labels[int(stamp) - 1]), int(stamp))
    return [chosen[c] for c in sorted(chosen)]


def _write_gallery(
    out: Path, model: Any, model_name: str, method: str, part: SpikeSeries, config: EvaluationConfig
) -> None:
    """``gallery/MODEL/METHOD.npz``: explanations of one stamp per class, in the format of
    ``spikeattr explain`` (see :data:`spikeattr.explain.files.FILE_KEYS`)."""
    stamps = gallery_stamps(part, config.stamps)
    result = explain_stamps(model, part.spikes, stamps, variant=method, window=config.window)
    write_stamp_explanations(
        out / "gallery" / safe_model_name(model_name) / f"{method}.npz",
        result,
        part,
        {"model": model_name, "split": config.split, "data": config.data},
    )


def _unit_done(directory: Path) -> bool:
    return all((directory / f"{m}.json").is_file() for m in (*METRICS, "stamps"))


def _prepare_directory(out_dir: Path, config: EvaluationConfig, resume: bool) -> None:
    try:
        check_writable_dir(out_dir)
    except OSError as exc:
        raise SpikeAttrError(f"cannot write to the output directory {out_dir}: {exc}") from exc
    existing = out_dir / "config.json"
    if existing.is_file():
        previous = load_json(existing, "JSON file of the evaluation config", RunStateError)
        if not isinstance(previous, dict):
            raise RunStateError(f"{existing} is not an evaluation config; expected a JSON object")
        if not resume:
            raise RunConfigError(
                f"{out_dir} already holds an evaluation run; pass --resume to continue it or "
                "choose another --out directory"
            )
        previous.pop("data", None)
        if previous != config.comparable():
            changed = sorted(
                k for k in config.comparable() if previous.get(k) != config.comparable()[k]
            )
            raise RunConfigError(
                f"{out_dir} holds a run with a different configuration (differs in: "
                f"{', '.join(changed)}); resume it with the same arguments or choose another "
                "--out directory"
            )
    write_json_atomic(existing, asdict(config))


@dataclass
class UnitResult:
    """Summaries of one (model, method) unit, by metric, for the method and its control."""

    model: str
    method: str
    summaries: dict[str, dict[str, Any]]
    seconds: float


def _maps_and_predictions(explained: Any, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    maps = [np.ascontiguousarray(explained.unpadded(i)) for i in range(count)]
    return maps, explained.predicted.copy()


def evaluate_unit(
    model: Any,
    method: str,
    part: SpikeSeries,
    config: EvaluationConfig,
    progress: Callable[[int], Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """All metrics (and the random control) of one model and method on ``config.stamps``.

    Returns ``{"METHOD": {metric: summary}, "random-METHOD": {...}}`` plus per-stamp details
    under the key ``"stamps"`` of each.
    """
    stamps = np.asarray(config.stamps, dtype=np.int64)
    explained = explain_stamps(model, part.spikes, stamps, variant=method, window=config.window)
    maps, original = _maps_and_predictions(explained, len(stamps))
    labels = part.labels[stamps - 1].astype(np.int64)
    starts = explained.window_start
    windows = [part.spikes[s:t] for s, t in zip(starts, stamps, strict=True)]
    explainer = make_explainer(method, model)

    def explain_perturbed(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = explainer.attribute(torch.from_numpy(batch).float())
        return result.explanation.detach().cpu().numpy(), result.predicted.cpu().numpy()

    low, high = method_range(maps)
    outputs: dict[str, dict[str, Any]] = {}
    variants: list[tuple[str, list[np.ndarray], Callable[..., Any]]] = [
        (method, maps, explain_perturbed)
    ]
    if config.random_control:
        rng = np.random.default_rng((config.seed, 7))
        random_maps = [random_like(m, low, high, rng) for m in maps]

        def explain_random(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            perturbed, predicted = explain_perturbed(batch)
            return np.stack([random_like(m, low, high, rng) for m in perturbed]), predicted

        variants.append((f"random-{method}", random_maps, explain_random))
    done = 0
    for name, variant_maps, explain_fn in variants:
        correctness = Correctness(config.width)(model, windows, variant_maps, original, labels)
        completeness = OutputCompleteness(config.epsilons, config.width, config.seed)(
            model, windows, variant_maps, original
        )
        continuity = Continuity(config.n_perturbations, seed=config.seed)(
            explain_fn, windows, variant_maps
        )
        compactness = Compactness()(variant_maps)
        empty = [int(t) for t, m in zip(stamps, variant_maps, strict=True) if not np.any(m)]
        outputs[name] = {
            "correctness": correctness.summary(seed=config.seed),
            "output_completeness": completeness.summary(seed=config.seed),
            "continuity": continuity.summary(seed=config.seed),
            "compactness": compactness.summary(seed=config.seed),
            "stamps": {
                "stamps": stamps.tolist(),
                "label": labels.tolist(),
                "predicted": original.tolist(),
                "n_segments": correctness.n_segments.tolist(),
                "flip_predictions": correctness.predictions.tolist(),
                "sum_abs": compactness.total.tolist(),
                "max_sensitivity": continuity.max_per_stamp.tolist(),
                "empty_explanations": empty,
            },
        }
        done += 1
        if progress is not None:
            progress(done)
    return outputs


def run_evaluation(
    config: EvaluationConfig,
    series: SpikeSeries,
    out_dir: str | os.PathLike[str],
    resume: bool = False,
    progress: Callable[[str, int, int], Any] | None = None,
) -> dict[str, Any]:
    """Run every (model, method) unit not yet done and write the summary and manifest.

    ``progress(label, done, total)`` is called after each unit.
    """
    config.validate(series)
    out = Path(out_dir)
    models = {name: load_model(name) for name in config.models}  # fail early on a bad model
    for network in models.values():
        network.check_data(series.input_names, series.class_names)
    _prepare_directory(out, config, resume)
    part = series.split(config.split)
    units = [(m, meth) for m in config.models for meth in config.methods]
    timings: dict[str, float] = {}
    for model_name, network in models.items():
        accuracy_path = out / "models" / f"{safe_model_name(model_name)}.json"
        if not accuracy_path.is_file():
            start = time.perf_counter()
            report = accuracy_report(
                part.labels,
                network.predict_series(part.spikes, keep_probs=False).predicted,
                series.class_names,
            )
            timings[f"{model_name} / accuracy"] = time.perf_counter() - start
            write_json_atomic(
                accuracy_path,
                {
                    "model": model_name,
                    "split": config.split,
                    "layer_sizes": list(network.layer_sizes),
                    **report.to_dict(),
                },
            )
    for index, (model_name, method) in enumerate(units):
        directory = _unit_dir(out, model_name, method)
        label = f"{model_name} / {method}"
        if _unit_done(directory) and (
            not config.random_control or _unit_done(_unit_dir(out, model_name, f"random-{method}"))
        ):
            if progress is not None:
                progress(label + " (done before)", index + 1, len(units))
            continue
        start = time.perf_counter()
        outputs = evaluate_unit(models[model_name], method, part, config)
        seconds = time.perf_counter() - start
        timings[label] = seconds
        _write_gallery(out, models[model_name], model_name, method, part, config)
        for name, results in outputs.items():
            target = _unit_dir(out, model_name, name)
            for metric, payload in results.items():
                body = {
                    "model": model_name,
                    "method": name,
                    "metric": metric,
                    "control": name.startswith("random-"),
                    "seconds": seconds,
                    "seconds_per_stamp": seconds / max(1, len(config.stamps)),
                    **({"results": payload} if metric != "stamps" else payload),
                }
                write_json_atomic(target / f"{metric}.json", body)
        if progress is not None:
            progress(label, index + 1, len(units))
    rows = collect_summary(out, config)
    write_summary(out, rows)
    write_manifest(
        out,
        command="evaluate",
        config=asdict(config),
        data_checksums={config.data: {"X_sha256": config.data_sha256}},
        results={"n_rows": len(rows)},
        timings=timings,
    )
    return {"out": str(out), "rows": rows, "timings_s": timings}


def collect_summary(out: Path, config: EvaluationConfig) -> list[dict[str, Any]]:
    """One flat row per (model, method or control) from the per-metric files; missing
    metrics are reported as missing, not guessed."""
    rows = []
    for model_name in config.models:
        for method in config.methods:
            names = [method] + ([f"random-{method}"] if config.random_control else [])
            for name in names:
                directory = _unit_dir(out, model_name, name)
                row: dict[str, Any] = {"model": model_name, "method": name}
                missing = []
                loaded: dict[str, Any] = {}
                for metric in METRICS:
                    path = directory / f"{metric}.json"
                    if path.is_file():
                        body = load_json(path, "metric result", RunStateError)
                        if not isinstance(body, dict) or "results" not in body:
                            raise RunStateError(
                                f"{path} holds no 'results'; delete it and rerun with --resume"
                            )
                        loaded[metric] = body["results"]
                    else:
                        missing.append(metric)
                for metric, results in loaded.items():
                    row.update(flatten_metric(metric, results))
                row["missing"] = ",".join(missing)
                rows.append(row)
    return rows


def summary_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The summary table in Markdown, with 95 % CIs in brackets."""
    header = "| model | method | " + " | ".join(t for _, t in SUMMARY_COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(SUMMARY_COLUMNS) + 2)]
    for row in rows:
        cells = [format_cell(row, key) for key, _ in SUMMARY_COLUMNS]
        lines.append(f"| {row['model']} | {row['method']} | " + " | ".join(cells) + " |")
    missing = [f"{r['model']} / {r['method']}: {r['missing']}" for r in rows if r.get("missing")]
    if missing:
        lines += ["", "Missing results (run again with --resume): " + "; ".join(missing)]
    return "\n".join(lines) + "\n"


def write_summary(out: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``summary.md`` and ``summary.csv`` atomically."""
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(summary_markdown(rows), encoding="utf-8")
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = []
    for key in keys:
        if key.endswith("_ci"):
            columns += [key + "_low", key + "_high"]
        else:
            columns.append(key)
    writer.writerow(columns)
    for row in rows:
        values: list[Any] = []
        for key in keys:
            value = row.get(key, "")
            if key.endswith("_ci"):
                values += list(value) if value != "" else ["", ""]
            else:
                values.append(value)
        writer.writerow(values)
    with atomic_path(out / "summary.csv") as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
