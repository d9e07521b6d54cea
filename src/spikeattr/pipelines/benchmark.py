"""``spikeattr benchmark``: every task x model x method, scored against the known evidence.

For each task of :mod:`spikeattr.data.benchmark`, the task's series is generated (exactly, from
its seed) and one evaluation run (:func:`spikeattr.pipelines.evaluation.run_evaluation`) scores
every model and method on balanced stamps of the test split with two protocols: ground-truth
**localisation** (:mod:`spikeattr.evaluate.localisation`, SPEC 5.2) and the **comparable**
protocol's faithfulness scores (budgeted deletion, output-completeness by fraction; SPEC 5.1),
each method beside its permuted control. Then the leaderboard is written.

Layout of the output directory::

    config.json                  the benchmark's configuration (compared on --resume)
    data/TASK.npz                the task's series with its evidence mask
    TASK/                        the task's evaluation run directory (models/, results/,
                                 gallery/, summary.md, summary.csv, comparisons/, manifest.json)
    leaderboard.json             every number of the leaderboard, paired comparisons included
    leaderboard.md, .csv, .html  the leaderboard (Markdown, CSV, a self-contained page)
    manifest.json                config, versions, data checksums, timings

The directory is locked while a benchmark writes there; ``--resume`` continues an interrupted
run (each task's evaluation resumes unit by unit) and a directory holding another configuration
is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spikeattr._io import RunLock, atomic_path, load_json, write_json_atomic
from spikeattr.data.benchmark import TASKS, generate_task, get_task
from spikeattr.data.series import SpikeSeries
from spikeattr.data.stamps import resolve_stamps
from spikeattr.errors import RunStateError, SpikeAttrError
from spikeattr.evaluate.leaderboard import (
    Leaderboard,
    collect_leaderboard,
    leaderboard_csv,
    leaderboard_markdown,
)
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.evaluate.results import to_json
from spikeattr.explain.methods import METHODS
from spikeattr.pipelines.benchmark_models import DEPTHS, model_name
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.runs.manifest import write_manifest
from spikeattr.snn.checkpoint import PUBLISHED_PREFIX

#: Stamps per class of the default benchmark (the paper's 25; the whole default benchmark then
#: takes minutes on 2 cores, see README "Benchmark").
DEFAULT_STAMPS = 25
#: The controls of the benchmark: the method's own values shuffled over its support.
CONTROLS: tuple[str, ...] = ("permuted",)
PROTOCOLS: tuple[str, ...] = ("localisation", "comparable")


def benchmark_metric_settings() -> MetricSettings:
    """The comparable protocol's faithfulness scores with its own defaults (deletion at 10, 50,
    100 and 200 cells, completeness keeping 1, 5, 10 and 25 % of the cells, 5 draws); no
    continuity and no model randomisation (they measure other properties than faithfulness and
    cost a re-explanation per draw)."""
    return MetricSettings(randomisation=False, sensitivity=False)


@dataclass
class BenchmarkConfig:
    """Everything that determines a benchmark's results.

    Attributes:
        tasks, depths, methods: what is benchmarked (models ``bench_<task>_<L>L``).
        stamps: stamps per class of each task's test split (balanced, seed 123).
        seed: the seed of every random draw.
        control_draws: draws of the permuted control.
        models_dir: a folder of retrained checkpoints ``bench_<task>_<L>L.json`` to use
            instead of the published models (``spikeattr reproduce benchmark --retrain``).
        metrics: the metrics' hyper-parameters.
    """

    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    depths: list[int] = field(default_factory=lambda: list(DEPTHS))
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    stamps: int = DEFAULT_STAMPS
    seed: int = 0
    control_draws: int = 5
    models_dir: str | None = None
    metrics: MetricSettings = field(default_factory=benchmark_metric_settings)

    def validate(self) -> None:
        """Refuse unknown tasks, depths and methods and out-of-range sizes before any work."""
        for name in self.tasks:
            get_task(name)
        if not self.tasks:
            raise SpikeAttrError(f"no tasks given; choose from {', '.join(TASKS)}")
        bad_depths = [d for d in self.depths if d not in DEPTHS]
        if bad_depths or not self.depths:
            raise SpikeAttrError(
                f"unknown model depths {bad_depths or self.depths}; choose from "
                + ", ".join(f"{d}L" for d in DEPTHS)
            )
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise SpikeAttrError(
                f"unknown methods {unknown or self.methods}; choose from {', '.join(METHODS)}"
            )
        if self.stamps < 1 or self.control_draws < 1 or self.seed < 0:
            raise SpikeAttrError("stamps and control draws must be >= 1 and the seed >= 0")
        for task in self.tasks:
            for depth in self.depths:
                reference = self.model(task, depth)
                if not reference.startswith(PUBLISHED_PREFIX) and not Path(reference).is_file():
                    raise SpikeAttrError(f"models_dir: checkpoint {reference} does not exist")

    def model(self, task: str, depth: int) -> str:
        """The model of ``task`` with ``depth`` layers: published, or from ``models_dir``."""
        name = model_name(task, depth)
        if self.models_dir is None:
            return PUBLISHED_PREFIX + name
        return str(Path(self.models_dir) / f"{name}.json")

    def comparable(self) -> dict[str, Any]:
        """The fields that must match for a resumed run."""
        return json.loads(json.dumps(asdict(self)))

    def sha256(self) -> str:
        """SHA-256 of the configuration as canonical JSON."""
        text = json.dumps(self.comparable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class BenchmarkResult:
    """Where a benchmark wrote its outputs, and its leaderboard."""

    out: Path
    leaderboard: Leaderboard
    files: dict[str, Path]
    timings_s: dict[str, float]


def _prepare(out: Path, config: BenchmarkConfig, resume: bool) -> None:
    existing = out / "config.json"
    if existing.exists():
        previous = load_json(existing, "benchmark configuration", RunStateError)
        if not resume:
            raise RunStateError(
                f"{out} already holds a benchmark; pass --resume to continue it or choose "
                "another --out directory"
            )
        if previous != config.comparable():
            changed = sorted(
                k
                for k in config.comparable()
                if not isinstance(previous, dict) or previous.get(k) != config.comparable()[k]
            )
            raise RunStateError(
                f"{out} holds a benchmark with a different configuration (differs in: "
                f"{', '.join(changed)}); resume it with the same arguments or choose another "
                "--out directory"
            )
    elif any(p.name != ".lock" for p in out.iterdir()):
        raise RunStateError(
            f"{out} is not empty and holds no benchmark (no config.json); choose an empty or "
            "new --out directory"
        )
    write_json_atomic(existing, config.comparable())


def task_data(out: Path, task: str) -> tuple[SpikeSeries, Path]:
    """The task's series, written to ``data/TASK.npz`` unless an identical file is there."""
    series = generate_task(task)
    path = out / "data" / f"{task}.npz"
    if not path.is_file() or SpikeSeries.load(path).checksums() != series.checksums():
        series.save(path)
    return series, path


def evaluation_config(
    config: BenchmarkConfig, task: str, series: SpikeSeries, data_path: Path
) -> EvaluationConfig:
    """The evaluation run of one task: its models and the methods, on balanced stamps."""
    return EvaluationConfig(
        models=[config.model(task, depth) for depth in config.depths],
        methods=list(config.methods),
        data=str(data_path),
        data_sha256=series.checksums()["X_sha256"],
        split="test",
        stamps=resolve_stamps(series, "test", str(config.stamps)),
        window=TASKS[task].window,
        controls=list(CONTROLS),
        control_draws=config.control_draws,
        metrics=config.metrics,
        seed=config.seed,
        protocols=list(PROTOCOLS),
    )


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: str | os.PathLike[str],
    resume: bool = False,
    progress: Callable[[str, int, int], Any] | None = None,
) -> BenchmarkResult:
    """Run every task's evaluation (resuming what is done), then write the leaderboard.

    ``progress(label, done, total)`` counts units (task x model x method) over all tasks.
    """
    config.validate()
    out = Path(out_dir)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    per_task = len(config.depths) * len(config.methods)
    total = per_task * len(config.tasks)
    with RunLock(out, "spikeattr benchmark"):
        _prepare(out, config, resume)
        runs: dict[str, tuple[EvaluationConfig, Path]] = {}
        checksums = {}
        for index, task in enumerate(config.tasks):
            stage = time.perf_counter()
            series, data_path = task_data(out, task)
            checksums[task] = series.checksums()
            evaluation = evaluation_config(config, task, series, data_path)

            def step(label: str, done: int, _: int, task: str = task, index: int = index) -> None:
                if progress is not None:
                    progress(f"{task} / {label}", index * per_task + done, total)

            run_evaluation(evaluation, series, out / task, resume=resume, progress=step)
            runs[task] = (evaluation, out / task)
            timings[task] = time.perf_counter() - stage
        stage = time.perf_counter()
        board = collect_leaderboard(runs, config.seed)
        files = write_leaderboard(out, board)
        timings["leaderboard"] = time.perf_counter() - stage
        timings["total"] = time.perf_counter() - started
        write_manifest(
            out,
            command="benchmark",
            config=config.comparable(),
            data_checksums=checksums,
            results={"files": {k: str(v) for k, v in files.items()}},
            timings=timings,
        )
    return BenchmarkResult(out, board, files, timings)


def write_leaderboard(out: Path, board: Leaderboard) -> dict[str, Path]:
    """``leaderboard.json``, ``.md``, ``.csv`` and ``.html`` in ``out``."""
    from spikeattr.viz.leaderboard import render_leaderboard_html

    files = {
        "json": out / "leaderboard.json",
        "md": out / "leaderboard.md",
        "csv": out / "leaderboard.csv",
        "html": out / "leaderboard.html",
    }
    write_json_atomic(files["json"], to_json(board.to_dict()))
    for key, text in (
        ("md", leaderboard_markdown(board)),
        ("csv", leaderboard_csv(board)),
        ("html", render_leaderboard_html(board)),
    ):
        with atomic_path(files[key]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return files


def parse_depths(values: Sequence[str]) -> list[int]:
    """``["1L", "3"]`` -> ``[1, 3]``; anything else is a :class:`SpikeAttrError`."""
    depths = []
    for value in values:
        text = value.strip().upper().removesuffix("L")
        if not text.isdigit():
            raise SpikeAttrError(f"--models takes depths such as 1L,2L,3L; got {value!r}")
        depths.append(int(text))
    return depths


def reproduce_benchmark(
    config: Mapping[str, Mapping[str, Any]],
    run_dir: Path,
    resume: bool = True,
    log: Callable[[str], Any] = lambda message: None,
    progress: Callable[[str, int, int], Any] | None = None,
) -> dict[str, Any]:
    """``spikeattr reproduce benchmark [--retrain]``: with ``models.retrain`` every benchmark
    model is trained afresh into ``run_dir/models`` (resumable), then the default benchmark
    runs in ``run_dir/benchmark`` with those models (else with the published ones) and the seed
    ``run.seed``. Returns the fields of a
    :class:`~spikeattr.pipelines.reproduce.ReproduceResult`."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    models_dir = None
    if config["models"]["retrain"]:
        from spikeattr.pipelines.benchmark_models import train_benchmark_models

        stage = time.perf_counter()
        trained = train_benchmark_models(run_dir / "models", log=log)
        timings["train"] = time.perf_counter() - stage
        for name, model in trained.items():
            log(f"{name}: balanced accuracy {model.balanced_accuracy:.4f}")
        models_dir = str(run_dir / "models")
    benchmark = BenchmarkConfig(seed=int(config["run"]["seed"]), models_dir=models_dir)
    log(
        f"benchmark: {len(benchmark.tasks)} tasks x {len(benchmark.depths)} models x "
        f"{len(benchmark.methods)} methods, {benchmark.stamps} stamps per class"
    )
    result = run_benchmark(benchmark, run_dir / "benchmark", resume=resume, progress=progress)
    timings["benchmark"] = result.timings_s["total"]
    timings["total"] = time.perf_counter() - started
    return {
        "run_dir": run_dir,
        "evaluations": {task: result.out / task for task in benchmark.tasks},
        "reports": {"leaderboard": result.files["html"]},
        "models": [benchmark.model(t, d) for t in benchmark.tasks for d in benchmark.depths],
        "timings_s": timings,
    }
