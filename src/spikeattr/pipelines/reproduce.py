"""Reproduce the paper from one command: data -> models -> explanations + evaluation -> report.

Driven by a configuration (TOML file and/or ``--set section.key=value`` overrides), validated
in full before any work starts. Defaults (``spikeattr reproduce synthetic``)::

    [data]
    raw_dir = ""              # ADL only: your copy of the raw UCI files ("" = the bundled ones)
    subjects = ["A", "B"]     # ADL only
    compat = "reference"      # ADL only: the encoding the published models were trained on

    [models]
    names = []                # default: the paper's 1L, 2L and 3L models of the data set
    retrain = false           # train them from scratch with the paper's hyper-parameters
    epochs = 1000             # retraining: maximum epochs (early stopping, patience 20)
    patience = 20
    restarts = 2              # retraining: seeds tried per model; the lowest training loss wins

    [evaluate]
    methods = ["s", "ns", "sam"]
    stamps = "paper"          # or a number of stamps per class, as a string: "5"
    window = 1000
    perturbations = 1
    random_control = true     # the comparable protocol's controls (permuted, random order)
    precision = "float32"     # the paper's; "float64" keeps the tails of TSA's maps

    [run]
    seed = 0
    report = true

Run directory: ``data/`` (the encoded data sets), ``models/`` (retrained checkpoints),
``evaluation/`` (or ``evaluation_A``/``evaluation_B`` for ADL: the results of
:mod:`spikeattr.pipelines.evaluation`, each with its ``report.html``) and ``manifest.json``
(config, seeds, versions, data checksums, timings of every stage).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikeattr._io import RunLock
from spikeattr.config import apply_layers, check_like_default, read_toml
from spikeattr.data.series import SpikeSeries
from spikeattr.data.stamps import resolve_stamps
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.errors import CheckpointError, SpikeAttrError
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.pipelines.evaluation import DEFAULT_CONTROLS, EvaluationConfig, run_evaluation
from spikeattr.runs.manifest import write_manifest
from spikeattr.runs.training import run_training
from spikeattr.snn.checkpoint import published_model_path, read_checkpoint_metadata

DATASETS = ("synthetic", "adl", "benchmark")
DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {"raw_dir": "", "subjects": ["A", "B"], "compat": "reference"},
    "models": {"names": [], "retrain": False, "epochs": 1000, "patience": 20, "restarts": 2},
    "evaluate": {
        "methods": ["s", "ns", "sam"],
        "stamps": "paper",
        "window": 1000,
        "perturbations": 1,
        "random_control": True,
        "precision": "float32",
    },
    "run": {"seed": 0, "report": True},
}


class ReproduceConfigError(SpikeAttrError):
    """The reproduce configuration is invalid (unknown key, wrong type, bad value)."""


def _check_setting(name: str, value: Any, default: Any) -> Any:
    if name == "evaluate.stamps" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # --set evaluate.stamps=5 reads as a TOML integer
    return check_like_default(name, value, default)


def build_config(
    dataset: str,
    toml_path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Defaults, then the TOML file, then ``{"section.key": value}`` overrides (as
    :func:`spikeattr.config.parse_override` reads ``--set``); all checked before any work."""
    if dataset not in DATASETS:
        raise ReproduceConfigError(f"data set must be one of {list(DATASETS)}; got {dataset!r}")
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if toml_path is not None:
        layers.append((str(toml_path), read_toml(toml_path, error=ReproduceConfigError)))
    if overrides:
        layers.append(("--set", overrides))
    config = apply_layers(DEFAULTS, layers, error=ReproduceConfigError, check=_check_setting)
    _check_values(dataset, config)
    return config


def _check_values(dataset: str, config: dict[str, dict[str, Any]]) -> None:
    from spikeattr.explain.methods import METHODS, PRECISIONS

    evaluate = config["evaluate"]
    unknown = [m for m in evaluate["methods"] if m not in METHODS]
    if unknown or not evaluate["methods"]:
        raise ReproduceConfigError(
            f"evaluate.methods: unknown {unknown or 'empty list'}; choose from {', '.join(METHODS)}"
        )
    if evaluate["stamps"] != "paper" and not evaluate["stamps"].isdigit():
        raise ReproduceConfigError(
            f"evaluate.stamps must be 'paper' or a number of stamps per class; got "
            f"{evaluate['stamps']!r}"
        )
    if evaluate["precision"] not in PRECISIONS:
        raise ReproduceConfigError(
            f"evaluate.precision must be one of {', '.join(PRECISIONS)}; got "
            f"{evaluate['precision']!r}"
        )
    for key in ("window", "perturbations"):
        if evaluate[key] < 1:
            raise ReproduceConfigError(f"evaluate.{key} must be >= 1; got {evaluate[key]}")
    models = config["models"]
    if models["epochs"] < 1 or models["patience"] < 1 or models["restarts"] < 1:
        raise ReproduceConfigError(
            "models.epochs, models.patience and models.restarts must be >= 1"
        )
    for name in models["names"] or default_models(dataset):
        if name.endswith(".json"):
            if not Path(name).is_file():
                raise ReproduceConfigError(f"models.names: checkpoint {name} does not exist")
            continue
        try:
            published_model_path(name if ":" in name else f"published:{name}")
        except CheckpointError as exc:
            raise ReproduceConfigError(f"models.names: {exc}") from exc
    if dataset == "adl":
        data = config["data"]
        if data["raw_dir"] and not Path(data["raw_dir"]).is_dir():
            raise ReproduceConfigError(f"data.raw_dir {data['raw_dir']} is not a directory")
        if not data["subjects"] or any(s not in ("A", "B") for s in data["subjects"]):
            raise ReproduceConfigError(
                f"data.subjects must list A and/or B; got {data['subjects']}"
            )
        if data["compat"] not in ("aligned", "reference"):
            raise ReproduceConfigError(
                f"data.compat must be 'aligned' or 'reference'; got {data['compat']!r}"
            )


def default_models(dataset: str) -> list[str]:
    """The paper's published 1L, 2L and 3L models of ``dataset`` (the benchmark: all of its)."""
    if dataset == "benchmark":
        from spikeattr.pipelines.benchmark_models import BENCHMARK_MODEL_NAMES

        return [f"published:{name}" for name in BENCHMARK_MODEL_NAMES]
    return [f"published:{dataset}_{depth}L" for depth in (1, 2, 3)]


@dataclass
class ReproduceResult:
    """Where a reproduce run wrote its outputs."""

    run_dir: Path
    evaluations: dict[str, Path]
    reports: dict[str, Path]
    models: list[str]
    timings_s: dict[str, float]


def _load_data(
    dataset: str,
    config: dict[str, dict[str, Any]],
    run_dir: Path,
) -> dict[str, SpikeSeries]:
    if dataset == "synthetic":
        series = generate_synthetic()
        series.save(run_dir / "data" / "synthetic.npz")
        return {"": series}
    from spikeattr.data.adl import encode_subject

    out = {}
    for subject in config["data"]["subjects"]:
        raw_dir = config["data"]["raw_dir"] or None  # "" = the files that ship with spikeattr
        series = encode_subject(raw_dir, subject, compat=config["data"]["compat"])
        series.save(run_dir / "data" / f"adl_{subject}.npz")
        out[subject] = series
    return out


def _retrain(
    names: list[str],
    training_series: SpikeSeries,
    config: dict[str, dict[str, Any]],
    run_dir: Path,
    log: Callable[[str], Any],
) -> tuple[list[str], dict[str, Any]]:
    """Train each model afresh with its published hyper-parameters.

    With ``models.restarts = k`` each model is trained with seeds ``seed .. seed + k - 1`` and
    the run with the lowest best *training* loss is kept (no test data is looked at). Returns
    the kept checkpoints and a record of every run.
    """
    from spikeattr.snn.train_config import TrainConfig

    trained = []
    record: dict[str, Any] = {}
    restarts = config["models"]["restarts"]
    for name in names:
        source = Path(name) if name.endswith(".json") else published_model_path(name)
        meta = read_checkpoint_metadata(source)
        training = meta.get("training", {})
        short = name.removeprefix("published:") if not name.endswith(".json") else source.stem
        runs = []
        for restart in range(restarts):
            seed = config["run"]["seed"] + restart
            train_config = TrainConfig(
                hidden=tuple(meta["layer_sizes"][1:-1]),
                dt=meta["dt"],
                tau_syn=meta["tau_syn"],
                tau_mem=meta["tau_mem"],
                lr=float(training.get("learning_rate", 1e-2)),
                batch_size=int(training.get("batch_size", 128)),
                epochs=config["models"]["epochs"],
                patience=config["models"]["patience"],
                seed=seed,
            )
            out = run_dir / "models" / short
            if restarts > 1:
                out = out / f"seed{seed}"
            log(f"training {short} from scratch (seed {seed})")
            result = run_training(train_config, training_series, None, out)
            runs.append(
                {
                    "seed": seed,
                    "best_loss": result.best_loss,
                    "epochs": result.epochs_run,
                    "checkpoint": str(result.checkpoint),
                }
            )
        best = min(runs, key=lambda run: run["best_loss"])
        record[short] = {"kept_seed": best["seed"], "runs": runs}
        trained.append(best["checkpoint"])
    return trained, record


def run_reproduce(
    dataset: str,
    config: dict[str, dict[str, Any]],
    run_dir: str | os.PathLike[str],
    resume: bool = True,
    log: Callable[[str], Any] = lambda message: None,
    progress: Callable[[str, int, int], Any] | None = None,
) -> ReproduceResult:
    """Run the whole pipeline for ``dataset`` with a config from :func:`build_config`.

    The run directory is locked while the pipeline writes there (a second ``reproduce`` on it
    is refused, naming the holder); temporary files of a killed run are swept first.
    """
    out = Path(run_dir)
    with RunLock(out, f"reproduce {dataset}"):
        return _run_stages(dataset, config, out, resume, log, progress)


def _run_stages(
    dataset: str,
    config: dict[str, dict[str, Any]],
    out: Path,
    resume: bool,
    log: Callable[[str], Any],
    progress: Callable[[str, int, int], Any] | None,
) -> ReproduceResult:
    if dataset == "benchmark":  # its own pipeline; reads models.retrain and run.seed
        from spikeattr.pipelines.benchmark import reproduce_benchmark

        return ReproduceResult(**reproduce_benchmark(config, out, resume, log, progress))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    log("building the data")
    data = _load_data(dataset, config, out)
    timings["data"] = time.perf_counter() - started
    names = config["models"]["names"] or default_models(dataset)
    names = [n if (":" in n or n.endswith(".json")) else f"published:{n}" for n in names]
    training_record: dict[str, Any] = {}
    if config["models"]["retrain"]:
        stage = time.perf_counter()
        names, training_record = _retrain(names, next(iter(data.values())), config, out, log)
        timings["train"] = time.perf_counter() - stage
    evaluations: dict[str, Path] = {}
    reports: dict[str, Path] = {}
    for subject, series in data.items():
        suffix = f"_{subject}" if subject else ""
        stage = time.perf_counter()
        stamps = resolve_stamps(series, "test", config["evaluate"]["stamps"])
        data_file = out / "data" / (f"adl_{subject}.npz" if subject else "synthetic.npz")
        evaluation_config = EvaluationConfig(
            models=names,
            methods=config["evaluate"]["methods"],
            data=str(data_file),
            data_sha256=series.checksums()["X_sha256"],
            split="test",
            stamps=stamps,
            window=config["evaluate"]["window"],
            controls=list(DEFAULT_CONTROLS) if config["evaluate"]["random_control"] else [],
            metrics=MetricSettings(perturbations=config["evaluate"]["perturbations"]),
            seed=config["run"]["seed"],
            precision=config["evaluate"]["precision"],
        )
        target = out / f"evaluation{suffix}"
        log(
            f"evaluating {len(names)} models x {len(evaluation_config.methods)} methods on "
            f"{len(stamps)} stamps{' of subject ' + subject if subject else ''}"
        )
        run_evaluation(evaluation_config, series, target, resume=resume, progress=progress)
        evaluations[subject or dataset] = target
        timings[f"evaluate{suffix}"] = time.perf_counter() - stage
        if config["run"]["report"]:
            stage = time.perf_counter()
            reports[subject or dataset] = _report(target)
            timings[f"report{suffix}"] = time.perf_counter() - stage
    timings["total"] = time.perf_counter() - started
    write_manifest(
        out,
        command=f"reproduce {dataset}",
        config={"dataset": dataset, **config, "seed": config["run"]["seed"]},
        data_checksums={k or dataset: v.checksums() for k, v in data.items()},
        results={
            "evaluations": {k: str(v) for k, v in evaluations.items()},
            "reports": {k: str(v) for k, v in reports.items()},
            "models": names,
            "training": training_record,
        },
        timings=timings,
    )
    return ReproduceResult(out, evaluations, reports, names, timings)


def _report(run_dir: Path) -> Path:
    from spikeattr.viz.report import build_report

    return Path(build_report(run_dir).html)
