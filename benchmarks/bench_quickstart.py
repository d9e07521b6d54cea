"""Benchmark: the quick start, as a newcomer runs it (``spikeattr quickstart``, a fresh folder).

Runs the quick start ``--runs`` times in a fresh process and a fresh run directory and prints,
for each run, its wall time, the CPU time of the process, the time of each stage (from the run's
``manifest.json``) and the number and width of the lines it printed; then the median wall time
with its ratio to the goal (45 s on a quiet 2-core machine) and to ``spikeattr model evaluate``
of the same 3-layer model on the same data (the forward pass over the 270 000-step test split
that the quick start also makes), measured in the same run. The load average is printed with
the table, so that numbers from a busy machine read as such. Asserts nothing about time.

Run: ``python benchmarks/bench_quickstart.py [--runs N] [--stamps paper]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 45.0


def _spikeattr() -> list[str]:
    beside = Path(sys.executable).with_name("spikeattr")
    if not beside.is_file():
        raise SystemExit("no 'spikeattr' console script beside this Python: pip install -e .")
    return [str(beside)]


def _timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the child (user + system) and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="Quick starts to run (default 3).")
    parser.add_argument("--stamps", default="paper", help="--stamps of the quick start.")
    args = parser.parse_args()
    spikeattr = _spikeattr()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} before; {os.cpu_count()} CPUs\n")
    print("| run | wall (s) | CPU (s) | data | accuracy | evaluate | report | lines | widest |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    walls = []
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "synthetic.npz"
        subprocess.run(
            [*spikeattr, "data", "synthetic", "--out", str(data)], capture_output=True, check=True
        )
        model = ["--model", "published:synthetic_3L", "--data", str(data), "--quiet"]
        reference, _, _ = _timed([*spikeattr, "model", "evaluate", *model])
        for run in range(args.runs):
            out = Path(scratch) / f"run{run}"
            wall, cpu, stdout = _timed(
                [*spikeattr, "quickstart", "--out", str(out), "--stamps", args.stamps, "--quiet"]
            )
            walls.append(wall)
            stages = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["timings_s"]
            lines = stdout.rstrip("\n").splitlines()
            print(
                f"| {run + 1} | {wall:.1f} | {cpu:.1f} | {stages['data']:.1f} | "
                f"{stages['accuracy']:.1f} | {stages['evaluate']:.1f} | {stages['report']:.1f} | "
                f"{len(lines)} | {max(len(line) for line in lines)} |"
            )
    median = statistics.median(walls)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nmedian wall {median:.1f} s: {median / GOAL_SECONDS:.2f}x the goal of "
        f"{GOAL_SECONDS:.0f} s; {median / reference:.1f}x 'spikeattr model evaluate' of the 3L "
        f"model on the same data ({reference:.1f} s, same run); load average {load} after"
    )


if __name__ == "__main__":
    main()
