"""Benchmark: evaluation in one process vs on a local Dask cluster, and a projection.

1. The paper grids, each run by ``spikeattr evaluate`` in one process and with ``--scheduler
   local:N``: synthetic (3 models x s, ns, sam x the 100 paper stamps) and ADL subject A (and B
   with ``--subjects A,B``; 3 models x 3 methods x the paper's stamps, reference encoding).
   Wall times, whether every result file is the same (timing fields aside), and the seconds of
   each unit in one process and in a worker.
2. What a cluster adds: starting it, a task's round trip, sharing a split with the workers, and
   the driver's serial work (checking units done, reading every file back, comparing,
   summarising: a resumed run of a finished directory).
3. One unit of each of the seven methods (synthetic 2L, the 100 paper stamps, on the cluster):
   seconds, bytes and files written.
4. A projection for 50 models x 7 methods x 1 000 stamps on 1, 8 and 64 workers, from 2 and 3,
   with its assumptions printed beside it.

Asserts nothing about time. Run: ``python benchmarks/bench_dask.py [--subjects A,B]
[--workers 2] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from spikeattr.data.series import SpikeSeries
from spikeattr.data.stamps import resolve_stamps
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.evaluate.results import gallery_path, unit_dir
from spikeattr.explain.methods import METHODS
from spikeattr.pipelines.cluster import Cluster, Scheduler, open_cluster
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.runs.compare import differing_files

SPIKEATTR = [sys.executable, "-c", "from spikeattr.cli import main; main()"]
GRID_METHODS = ["s", "ns", "sam"]


def spikeattr(*args: str) -> float:
    """Run the command line; its wall time."""
    start = time.perf_counter()
    subprocess.run([*SPIKEATTR, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def unit_seconds(run: Path) -> dict[str, float]:
    """``MODEL / METHOD`` -> seconds of each unit, from the run's manifest."""
    return {k: v for k, v in _timings(run).items() if not k.endswith(" / accuracy")}


def grid(name: str, data: Path, models: list[str], workers: int, root: Path) -> dict[str, float]:
    """One paper grid in one process and on ``local:workers``; prints its rows."""
    args = ["evaluate", "--models", ",".join(models), "--methods", ",".join(GRID_METHODS)]
    args += ["--data", str(data), "--stamps", "paper", "--quiet"]
    one, dask = root / f"{name}-one", root / f"{name}-dask"
    wall_one = spikeattr(*args, "--out", str(one))
    wall_dask = spikeattr(*args, "--out", str(dask), "--scheduler", f"local:{workers}")
    differing = differing_files(one, dask)
    units_one, units_dask = unit_seconds(one), unit_seconds(dask)
    print(
        f"| {name} | {len(units_one)} | {wall_one:.0f} s | {wall_dask:.0f} s | "
        f"{wall_one / wall_dask:.2f}x | {sum(units_one.values()):.0f} s | "
        f"{sum(units_dask.values()):.0f} s | "
        f"{'identical' if not differing else f'{len(differing)} files differ'} | {_load()} |",
        flush=True,
    )
    return {"one": wall_one, "dask": wall_dask, **{f"unit {k}": v for k, v in units_one.items()}}


def unit_footprint(run: Path, model: str, method: str) -> tuple[int, int, int]:
    """Bytes of one unit's results folder (they grow with the stamps), bytes of its gallery
    file (one stamp per class: fixed) and the files it writes."""
    results = list(unit_dir(run, model, method).iterdir())
    gallery = (run / gallery_path(model, method)).stat().st_size
    return sum(f.stat().st_size for f in results), gallery, len(results) + 1


def overheads(cluster: Cluster, series: SpikeSeries) -> dict[str, float]:
    """A no-op task's round trip (ms, 400 tasks) and sharing the test split (s)."""
    jobs = [(f"noop {i}", (i,)) for i in range(400)]
    start = time.perf_counter()
    for _ in cluster.run(abs, jobs):
        pass
    per_task = (time.perf_counter() - start) / len(jobs) * 1000
    start = time.perf_counter()
    cluster.share(series.split("test"))
    return {"task_ms": per_task, "share_s": time.perf_counter() - start}


def seven_methods(cluster: Cluster, series: SpikeSeries, data: Path, root: Path) -> Path:
    """Every method on the synthetic 2L model and the 100 paper stamps, on the cluster."""
    config = EvaluationConfig(
        models=["published:synthetic_2L"],
        methods=list(METHODS),
        data=str(data),
        data_sha256=series.checksums()["X_sha256"],
        split="test",
        stamps=resolve_stamps(series, "test", "paper"),
    )
    out = root / "seven-methods"
    run_evaluation(config, series, out, cluster=cluster)
    return out


def driver_seconds(run: Path, series: SpikeSeries) -> float:
    """The driver's serial work on a finished run, in this process: a resume redoes no unit,
    it checks them all, reads every file back, compares and summarises."""
    body = json.loads((run / "config.json").read_text(encoding="utf-8"))
    config = EvaluationConfig(**{**body, "metrics": MetricSettings(**body["metrics"])})
    start = time.perf_counter()
    run_evaluation(config, series, run, resume=True)
    return time.perf_counter() - start


def projection(
    per_stamp: dict[str, float],
    accuracy_s: float,
    driver_per_unit: float,
    task_ms: float,
    footprint: tuple[float, float, float],
) -> None:
    """50 models x 7 methods x 1 000 stamps on 1, 8 and 64 workers."""
    models, stamps, scale = 50, 1000, 10  # 1 000 stamps = 10 x the measured 100
    unit = {m: s * stamps for m, s in per_stamp.items()}  # seconds per unit, per method
    units = models * len(unit)
    work = models * sum(unit.values())
    longest = max(unit.values())
    mean = statistics.mean(unit.values())
    before = models * accuracy_s  # the driver's accuracy of each model, before the units
    after = units * driver_per_unit * scale  # reading back scales with the stamps
    results, gallery, files = footprint
    per_unit_bytes = results * scale + gallery
    written = units * per_unit_bytes
    print("\n4. Projection: 50 models x 7 methods x 1 000 stamps (350 units)\n")
    print("| workers | units (compute) | driver, serial | total |")
    print("|---|---|---|---|")
    for workers in (1, 8, 64):
        low = work / workers
        high = low + (longest * (1 - 1 / workers))  # greedy scheduling: at most one unit late
        print(
            f"| {workers} | {_hours(low)} .. {_hours(high)} | {_hours(before + after)} | "
            f"{_hours(low + before + after)} .. {_hours(high + before + after)} |"
        )
    print(
        f"\nassumptions: a unit costs its method's measured seconds per stamp (synthetic 2L, "
        f"100 paper stamps, in a worker) x 1 000: every metric scores stamp by stamp; one "
        f"worker process per core, as fast as here; total work {_hours(work)}; the longest "
        f"unit ({max(unit, key=unit.__getitem__)}) {_hours(longest)} bounds the tail.\n"
        f"scheduler: {task_ms:.1f} ms per task, {units * task_ms / 1000:.1f} s for all 350, "
        f"against a mean unit of {_hours(mean)}; it would be the limit only at about "
        f"{mean / (task_ms / 1000):,.0f} busy workers. 350 units keep at most 350 workers "
        f"busy: beyond that, split models or stamps into more runs.\n"
        f"driver (one process, the same on 1 or 64 workers): the accuracy of each model "
        f"before the units ({accuracy_s:.1f} s each, {_hours(before)}), then checking, "
        f"reading back and summarising ({driver_per_unit:.2f} s per unit of 100 stamps, x 10: "
        f"{_hours(after)}); at 64 workers that is "
        f"{100 * (before + after) / (work / 64 + before + after):.0f} % of the run.\n"
        f"shared file system: {per_unit_bytes / 1e6:.1f} MB in {files:.0f} files per unit, "
        f"{written / 1e9:.1f} GB in {units * files:.0f} files over the run; at 64 workers "
        f"{64 * per_unit_bytes / mean / 1e6:.2f} MB/s and {64 * files / mean:.2f} files/s of "
        f"writes (any NFS or Lustre keeps up), then {written / 1e9:.1f} GB read back by the "
        f"driver alone, which is where a slow shared file system shows."
    )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def measure_cluster(workers: int, series: SpikeSeries, data: Path, root: Path) -> dict[str, Any]:
    """Sections 2 and 3: a local cluster's costs, then every method on it, then the driver's
    serial work on that run (read before the resume, which rewrites the run's timings)."""
    start = time.perf_counter()
    with open_cluster(Scheduler(workers=workers)) as cluster:
        assert cluster is not None
        cluster.client.wait_for_workers(workers)
        started = time.perf_counter() - start
        costs = overheads(cluster, series)
        seven = seven_methods(cluster, series, data, root)
    timings = _timings(seven)
    return {
        "started": started,
        **costs,
        "run": seven,
        "units": unit_seconds(seven),
        "accuracy": statistics.mean(v for k, v in timings.items() if k.endswith("/ accuracy")),
        "driver": driver_seconds(seven, series) / len(METHODS),
    }


def report_cluster(workers: int, measured: dict[str, Any], series: SpikeSeries, root: Path) -> None:
    """Print sections 2 to 4 from :func:`measure_cluster` (and the synthetic grid's run)."""
    per_unit_three = driver_seconds(root / "synthetic-one", series) / 9
    print(f"\n2. What a cluster adds (local:{workers}; load {_load()})\n")
    print(
        f"- starting it: {measured['started']:.1f} s; a task's round trip: "
        f"{measured['task_ms']:.1f} ms; sharing the synthetic test split: "
        f"{measured['share_s'] * 1000:.0f} ms"
    )
    print(
        f"- the driver's serial work: each model's accuracy before the units "
        f"{measured['accuracy']:.2f} s; per unit after them (a resume of a finished run: check, "
        f"read back, compare, summarise) {per_unit_three:.2f} s (3 methods per model), "
        f"{measured['driver']:.2f} s (7 methods per model: more pairs to compare)"
    )
    print("\n3. One unit of each method (synthetic 2L, 100 paper stamps, in a worker)\n")
    print("| method | seconds | s per stamp | results + gallery written | files |")
    print("|---|---|---|---|---|")
    per_stamp, sizes = {}, []
    for label, seconds in measured["units"].items():
        method = label.rsplit(" / ", 1)[1]
        results, gallery, count = unit_footprint(measured["run"], "published:synthetic_2L", method)
        per_stamp[method] = seconds / 100
        sizes.append((results, gallery, count))
        print(
            f"| {method} | {seconds:.1f} | {seconds / 100:.3f} | "
            f"{results / 1e3:.0f} kB + {gallery / 1e3:.0f} kB | {count} |"
        )
    footprint = [statistics.mean(size[i] for size in sizes) for i in range(3)]
    projection(
        per_stamp,
        measured["accuracy"],
        measured["driver"],
        measured["task_ms"],
        (footprint[0], footprint[1], footprint[2]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="A", help="ADL subjects, e.g. A,B")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-dask-"))
    root.mkdir(parents=True, exist_ok=True)
    series = generate_synthetic()
    synthetic = root / "synthetic.npz"
    series.save(synthetic)
    print(f"{os.cpu_count()} cores; local:{args.workers}; load {_load()}; runs in {root}\n")
    measured = measure_cluster(args.workers, series, synthetic, root)
    print("1. Paper grids, `spikeattr evaluate` in one process vs --scheduler local:N\n")
    print(
        "| grid | units | one process | local:N | speed-up | unit seconds (one) | "
        "unit seconds (workers) | results | load after |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    depths = (1, 2, 3)
    grid("synthetic", synthetic, [f"published:synthetic_{d}L" for d in depths], args.workers, root)
    for subject in args.subjects.split(","):
        data = root / f"adl_{subject}.npz"
        spikeattr("data", "adl", "--subject", subject, "--compat", "reference", "--out", str(data))
        models = [f"published:adl_{d}L" for d in depths]
        grid(f"ADL {subject}", data, models, args.workers, root)
    print("\nSeconds of each unit (synthetic; one process / worker):")
    one, dask = unit_seconds(root / "synthetic-one"), unit_seconds(root / "synthetic-dask")
    for label in one:
        print(f"  {label}: {one[label]:.1f} / {dask[label]:.1f}")
    report_cluster(args.workers, measured, series, root)


def _timings(run: Path) -> dict[str, float]:
    body = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return dict(body["timings_s"])


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
