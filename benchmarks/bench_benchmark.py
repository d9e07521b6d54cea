"""Benchmark: the wall time of ``spikeattr benchmark`` and the cost of each of its units.

Runs the default benchmark (every task x published model x method, the default stamps) in a
fresh directory, times the whole command, then prints, from the run's manifests, the seconds of
every unit (one model and method on one task: explaining the stamps and scoring them with every
metric and control) as a table of methods x models per task, and the per-task overheads
(accuracy over the test split, summaries and comparisons). Asserts nothing about time.

Run: ``nice -n 10 python benchmarks/bench_benchmark.py [--out DIR] [--stamps N]``, or
``python benchmarks/bench_benchmark.py --read DIR`` for the tables of a finished run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def unit_table(run_dir: Path) -> None:
    """Print the per-unit seconds of every task's evaluation run in ``run_dir``."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    grand = 0.0
    for task in config["tasks"]:
        manifest = json.loads((run_dir / task / "manifest.json").read_text(encoding="utf-8"))
        timings = manifest["timings_s"]
        units: dict[str, dict[str, float]] = {}
        for label, seconds in timings.items():
            model, _, method = label.rpartition(" / ")
            depth = model.removesuffix(".json").rsplit("_", 1)[-1]
            units.setdefault(method, {})[depth] = seconds
        depths = [f"{d}L" for d in config["depths"]]
        print(f"\n{task}: seconds per unit")
        print(f"| method | {' | '.join(depths)} |")
        print("|---|" + "---|" * len(depths))
        for method in [*config["methods"], "accuracy"]:
            row = units.get(method, {})
            print(f"| {method} | " + " | ".join(f"{row.get(d, 0.0):.1f}" for d in depths) + " |")
        grand += sum(timings.values())
    total = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["timings_s"]
    print(f"\nunits and accuracies: {grand:.0f} s; the whole benchmark: {total['total']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--stamps", type=int, default=None)
    parser.add_argument("--read", type=Path, default=None)
    args = parser.parse_args()
    if args.read is not None:
        unit_table(args.read)
        return
    out = args.out or Path(tempfile.mkdtemp()) / "benchmark"
    command = ["benchmark", "--out", str(out), "--quiet"]
    if args.stamps is not None:
        command += ["--stamps", str(args.stamps)]
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from spikeattr.cli import main; main()", *command],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"spikeattr benchmark: {time.perf_counter() - start:.0f} s wall ({out})")
    unit_table(out)


if __name__ == "__main__":
    main()
