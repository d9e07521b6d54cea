"""The evaluation experiment: models x methods x stamps -> one results directory.

For every model and method, the stamps are explained once and scored by every metric of both
protocols (:mod:`spikeattr.evaluate.registry`): the **comparable protocol** (deletion at a fixed
budget, output-completeness by fraction, normalised continuity, model randomisation), with the
method's controls over several keyed draws, and the **paper protocol** (the TSA paper's four
metrics, as published). Then each model's methods are compared pairwise and ranked, and the
summary tables are written. The directory's layout is owned by
:mod:`spikeattr.evaluate.results`.

Every file is written atomically and the directory is locked while a run writes there (a
second run is refused, naming the first). Every result file records the SHA-256 of the run's
configuration; on resume a unit (one model and method) is skipped only when all its files are
readable and carry that hash, so an interrupted run continues where it stopped. A directory
holding a different configuration, or a unit file from one, is refused.

With a :class:`~spikeattr.pipelines.cluster.Cluster` the pending units run as Dask tasks, one
task per unit, with the same results: each task writes its unit's gallery and metric files;
this process, which holds the lock, writes ``stamps.json`` when the task has returned, so a
unit whose worker died is never marked done.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spikeattr._io import RunLock, atomic_path, load_json, write_json_atomic
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import RunStateError, SpikeAttrError
from spikeattr.evaluate.controls import CONTROLS
from spikeattr.evaluate.forward import one_thread
from spikeattr.evaluate.metric import Metric
from spikeattr.evaluate.registry import (
    DEFAULT_PROTOCOLS,
    PROTOCOLS,
    MetricSettings,
    build_metrics,
)
from spikeattr.evaluate.results import (
    comparisons_path,
    gallery_path,
    read_metric,
    read_stamps,
    safe_model_name,
    to_json,
    unit_dir,
    unit_done,
    write_metric,
    write_stamps,
)
from spikeattr.evaluate.summary import (
    compare_methods,
    score_rows,
    stamp_notes,
    summary_csv,
    summary_markdown,
)
from spikeattr.explain.files import write_stamp_explanations
from spikeattr.explain.methods import METHODS, PRECISIONS
from spikeattr.explain.stamps import check_stamps, explain_stamps
from spikeattr.pipelines.evaluation_unit import evaluate_unit, reference_stamps
from spikeattr.runs.manifest import recorded_timings, write_manifest
from spikeattr.snn.accuracy import accuracy_report
from spikeattr.snn.checkpoint import load_network

if TYPE_CHECKING:
    from spikeattr.pipelines.cluster import Cluster

#: Controls run by default (the uniform control of the paper protocol is available, not default).
DEFAULT_CONTROLS: tuple[str, ...] = ("permuted", "random-order")
PROTOCOL_CHOICES: tuple[str, ...] = ("comparable", "paper")


class RunConfigError(RunStateError):
    """A results directory belongs to a different configuration."""


@dataclass
class EvaluationConfig:
    """Everything that determines an evaluation run's results.

    Attributes:
        models, methods: what is evaluated (model names or checkpoint paths; method names).
        data, data_sha256, split, stamps: the data file, its spikes' checksum, the split and
            the stamps (indices into the split).
        window: window length in steps.
        controls: the controls run for each metric that has them (``permuted``,
            ``random-order``, ``uniform``); ``control_draws`` draws each.
        metrics: the metrics' hyper-parameters.
        seed: the seed of every random draw (each keyed by purpose, stamp and draw).
        protocols: the protocols whose metrics run (``comparable``, ``paper``,
            ``localisation``; the last needs data with an evidence mask).
        precision: the precision of the maps of TSA, SAM and Kim & Panda: ``float64`` keeps
            every tail; ``float32`` is the TSA paper's (zero where its decay underflows), which
            the paper's reproduction uses.
    """

    models: list[str]
    methods: list[str]
    data: str
    data_sha256: str
    split: str
    stamps: list[int]
    window: int = 1000
    controls: list[str] = field(default_factory=lambda: list(DEFAULT_CONTROLS))
    control_draws: int = 5
    metrics: MetricSettings = field(default_factory=MetricSettings)
    seed: int = 0
    protocols: list[str] = field(default_factory=lambda: list(DEFAULT_PROTOCOLS))
    precision: str = "float64"

    def validate(self, series: SpikeSeries) -> None:
        """Check models, methods, split, stamps and settings before any work starts."""
        if not self.models:
            raise SpikeAttrError("no models given; pass --models published:synthetic_1L,...")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise SpikeAttrError(
                f"unknown methods {unknown or self.methods}; choose from {', '.join(METHODS)}"
            )
        bad = [c for c in self.controls if c not in CONTROLS]
        if bad:
            raise SpikeAttrError(f"unknown controls {bad}; choose from {', '.join(CONTROLS)}")
        part = series.split(self.split)
        check_stamps(self.stamps, part.n_steps)
        if self.window < 1 or self.metrics.width < 1 or self.metrics.perturbations < 1:
            raise SpikeAttrError("window, segment width and perturbations must be >= 1")
        if self.control_draws < 1 or self.metrics.draws < 1:
            raise SpikeAttrError("control draws and metric draws must be >= 1")
        if self.precision not in PRECISIONS:
            raise SpikeAttrError(
                f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}"
            )
        unknown_protocols = [p for p in self.protocols if p not in PROTOCOLS]
        if unknown_protocols or not self.protocols:
            raise SpikeAttrError(
                f"unknown protocols {unknown_protocols or self.protocols}; choose from "
                f"{', '.join(PROTOCOLS)}"
            )
        if "localisation" in self.protocols and series.evidence is None:
            raise SpikeAttrError(
                f"{self.data}: the localisation protocol needs data with an evidence mask "
                "(a task of 'spikeattr data benchmark'); this file has none"
            )
        try:
            build_metrics(self.metrics, self.protocols)
        except ValueError as exc:
            raise SpikeAttrError(f"metric settings: {exc}") from exc

    def comparable(self) -> dict[str, Any]:
        """The fields that must match for a resumed run (the data path may move)."""
        out = asdict(self)
        out.pop("data")
        return out

    def sha256(self) -> str:
        """SHA-256 of :meth:`comparable` as canonical JSON, recorded in every unit file."""
        text = json.dumps(self.comparable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    result = explain_stamps(
        model,
        part.spikes,
        stamps,
        variant=method,
        window=config.window,
        precision=config.precision,
    )
    write_stamp_explanations(
        out / gallery_path(model_name, method),
        result,
        part,
        {"model": model_name, "split": config.split, "data": config.data},
    )


def _prepare_directory(out_dir: Path, config: EvaluationConfig, resume: bool) -> None:
    existing = out_dir / "config.json"
    if existing.exists():
        previous = load_json(existing, "evaluation run configuration", RunStateError)
        if not isinstance(previous, dict):
            raise RunStateError(f"{existing}: expected a JSON object (the run's configuration)")
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
    elif any(not p.name.startswith(".") for p in out_dir.iterdir()):  # ours: lock, temp files
        raise RunStateError(
            f"{out_dir} is not empty and holds no evaluation run (no config.json); choose an "
            "empty or new --out directory"
        )
    write_json_atomic(existing, asdict(config))


def run_evaluation(
    config: EvaluationConfig,
    series: SpikeSeries,
    out_dir: str | os.PathLike[str],
    resume: bool = False,
    progress: Callable[[str, int, int], Any] | None = None,
    protocol: str = "comparable",
    cluster: Cluster | None = None,
) -> dict[str, Any]:
    """Run every (model, method) unit not yet done, then compare, summarise and record.

    ``progress(label, done, total)`` is called before and after each unit. ``protocol`` is the
    one whose table leads ``summary.md`` (both are always computed). With ``cluster``
    (:func:`~spikeattr.pipelines.cluster.open_cluster`) the units run on its workers, which
    must see ``out_dir`` under the same path.
    """
    config.validate(series)
    if protocol not in PROTOCOL_CHOICES:
        raise SpikeAttrError(f"protocol must be one of {', '.join(PROTOCOL_CHOICES)}")
    out = Path(out_dir)
    models = {name: load_network(name) for name in config.models}  # fail early on a bad model
    for network in models.values():
        network.check_data(series.input_names, series.class_names)
    with RunLock(out, "spikeattr evaluate"), one_thread():
        _prepare_directory(out, config, resume)
        timings = _run_units(config, series, out, models, progress, cluster)
        return _summarise(config, out, series, timings, protocol)


def _run_units(
    config: EvaluationConfig,
    series: SpikeSeries,
    out: Path,
    models: dict[str, Any],
    progress: Callable[[str, int, int], Any] | None,
    cluster: Cluster | None = None,
) -> dict[str, float]:
    part = series.split(config.split)
    metrics = build_metrics(config.metrics, config.protocols)
    names = [m.name for m in metrics]
    sha = config.sha256()
    reference = reference_stamps(series, config.split)
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
    units = [(m, meth) for m in config.models for meth in config.methods]
    if cluster is not None:
        pending = _run_on_cluster(cluster, config, part, out, models, units, reference, progress)
        return {**timings, **pending}
    for index, (model_name, method) in enumerate(units):
        label = f"{model_name} / {method}"
        if unit_done(out, model_name, method, names, sha):
            if progress is not None:
                progress(label + " (done before)", index + 1, len(units))
            continue
        if progress is not None:
            progress(label, index, len(units))

        def step(name: str, label: str = label, index: int = index) -> None:
            if progress is not None:
                progress(f"{label} / {name}", index, len(units))

        stamps_body, timings[label] = compute_unit(
            out, config, models[model_name], model_name, method, part, reference, metrics, step
        )
        write_stamps(out, model_name, method, stamps_body, sha)  # last: marks the unit done
        if progress is not None:
            progress(label, index + 1, len(units))
    return timings


def compute_unit(
    out: Path,
    config: EvaluationConfig,
    model: Any,
    model_name: str,
    method: str,
    part: SpikeSeries,
    reference: np.ndarray | None,
    metrics: Sequence[Metric] | None = None,
    progress: Callable[[str], Any] | None = None,
) -> tuple[dict[str, Any], float]:
    """Evaluate one unit and write its gallery and metric files; return the body of its
    ``stamps.json`` and the seconds the evaluation took. The caller writes ``stamps.json``
    (:func:`~spikeattr.evaluate.results.write_stamps`) last: it marks the unit done."""
    if metrics is None:
        metrics = build_metrics(config.metrics, config.protocols)
    start = time.perf_counter()
    records, stamps_body = evaluate_unit(
        model,
        model_name,
        method,
        part,
        config.stamps,
        metrics,
        config.window,
        config.controls,
        config.control_draws,
        config.seed,
        reference,
        progress=progress,
        precision=config.precision,
    )
    seconds = time.perf_counter() - start
    _write_gallery(out, model, model_name, method, part, config)
    sha = config.sha256()
    for record in records:
        write_metric(out, record, sha)
    return stamps_body, seconds


def _unit_task(
    out: str,
    config: EvaluationConfig,
    models: dict[str, Any],
    part: SpikeSeries,
    reference: np.ndarray | None,
    model_name: str,
    method: str,
) -> tuple[dict[str, Any], float]:
    """One unit, in a worker: :func:`compute_unit` on the shared models and split."""
    return compute_unit(Path(out), config, models[model_name], model_name, method, part, reference)


def _run_on_cluster(
    cluster: Cluster,
    config: EvaluationConfig,
    part: SpikeSeries,
    out: Path,
    models: dict[str, Any],
    units: list[tuple[str, str]],
    reference: np.ndarray | None,
    progress: Callable[[str, int, int], Any] | None,
) -> dict[str, float]:
    """The units not yet done, one Dask task each; ``stamps.json`` written here as each returns.

    Sizing: a task is a whole unit. ``benchmarks/bench_dask.py`` measured 5 s (TSA-S) to 68 s
    (integrated gradients) per unit of 100 stamps (synthetic 2L) against about 6 ms of
    scheduling and transfer per task on a local cluster, so the overhead stays at about 0.1 %
    or less without splitting, and a grid has as many tasks as units to spread. Splitting a
    unit's stamps would not give the same files: the paper protocol's curves (balanced accuracy
    over the stamps after k flips) and the padding of its flip rows are computed over the
    unit's stamps together, and so is each summary's bootstrap.
    """
    names = [m.name for m in build_metrics(config.metrics, config.protocols)]
    sha = config.sha256()
    pending, done = [], 0
    for model_name, method in units:
        if not unit_done(out, model_name, method, names, sha):
            pending.append((model_name, method))
            continue
        done += 1
        if progress is not None:
            progress(f"{model_name} / {method} (done before)", done, len(units))
    if not pending:
        return {}
    if progress is not None:
        progress(f"{len(pending)} units on {cluster.scheduler.describe()}", done, len(units))
    shared_models = cluster.share({m: models[m] for m, _ in pending})
    shared_part = cluster.share(part)
    where = str(out.resolve())
    jobs = {
        f"{model_name} / {method}": (
            where,
            config,
            shared_models,
            shared_part,
            reference,
            model_name,
            method,
        )
        for model_name, method in pending
    }
    seconds: dict[str, float] = {}
    for label, (stamps_body, took) in cluster.run(_unit_task, list(jobs.items())):
        model_name, method = jobs[label][5], jobs[label][6]
        write_stamps(out, model_name, method, stamps_body, sha)  # last: marks the unit done
        seconds[label] = took
        done += 1
        if progress is not None:
            progress(label, done, len(units))
    return {label: seconds[label] for label in jobs}  # in unit order, as in one process


def _summarise(
    config: EvaluationConfig,
    out: Path,
    series: SpikeSeries,
    timings: dict[str, float],
    protocol: str,
) -> dict[str, Any]:
    """Read every result back (the files are the one source of truth), compare and write."""
    metrics = build_metrics(config.metrics, config.protocols)
    by_name = {m.name: m for m in metrics}
    sha = config.sha256()
    records = []
    comparisons: dict[str, Any] = {}
    notes: list[str] = []
    for model_name in config.models:
        mine = {}
        for method in config.methods:
            for metric in metrics:
                record = read_metric(unit_dir(out, model_name, method) / f"{metric.name}.json", sha)
                mine[(method, metric.name)] = record
                records.append(record)
        stamps = read_stamps(out, model_name, config.methods[0], sha)
        counts = stamps.get("class_counts", {}).get("label", {})
        notes += stamp_notes(model_name, len(config.stamps), counts)
        comparisons[model_name] = compare_methods(mine, metrics, config.methods, config.seed)
        write_json_atomic(comparisons_path(out, model_name), to_json(comparisons[model_name]))
    rows = score_rows(records, by_name)
    timings = {**recorded_timings(out), **timings}  # a resumed run keeps the earlier units' times
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(summary_markdown(rows, comparisons, notes, protocol), encoding="utf-8")
    with atomic_path(out / "summary.csv") as tmp:
        tmp.write_text(summary_csv(rows), encoding="utf-8")
    write_manifest(
        out,
        command="evaluate",
        config=asdict(config),
        data_checksums={config.data: {"X_sha256": config.data_sha256}},
        results={"n_rows": len(rows)},
        timings=timings,
    )
    return {
        "out": str(out),
        "rows": rows,
        "comparisons": comparisons,
        "notes": notes,
        "timings_s": timings,
    }
