"""Benchmark: how long the command line takes to start, ``spikeattr --help`` and a command's.

Runs each command several times in a fresh process and prints a table of the median wall
time, with its ratio to ``python -c pass`` measured in the same run (the interpreter's own
start-up), and the load average, so that numbers from a busy machine read as such. The commands
import torch and matplotlib when they run, never for their help (``tests/test_cli_startup.py``
checks that). Asserts nothing about time.

Run: ``python benchmarks/bench_cli_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def spikeattr_command() -> list[str]:
    """The ``spikeattr`` console script beside this interpreter (or on the PATH)."""
    beside = Path(sys.executable).with_name("spikeattr")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("spikeattr")
    if found is None:
        raise SystemExit("no 'spikeattr' console script: pip install -e . first")
    return [found]


def median_seconds(command: list[str], runs: int) -> float:
    """The median wall time of ``runs`` runs of ``command`` (output discarded; one warm-up)."""
    times = []
    for run in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        if run:  # the first run warms the file cache
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="Runs per command (default 7).")
    args = parser.parse_args()
    spikeattr = spikeattr_command()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "spikeattr --help": [*spikeattr, "--help"],
        "spikeattr evaluate --help": [*spikeattr, "evaluate", "--help"],
    }
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.runs} runs each; load average {load}; {os.cpu_count()} CPUs")
    print("| command | median s | x python -c pass |")
    print("|---|---|---|")
    baseline = None
    for label, command in commands.items():
        seconds = median_seconds(command, args.runs)
        baseline = baseline or seconds
        print(f"| `{label}` | {seconds:.3f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
