"""Benchmark: live explanation. Prints tables; asserts nothing about time.

1. Latency of ``OnlineExplainer.step`` (one input step in, the map ``[C, n_in, K]`` of the newest
   step out), p50 / p99 over single calls, for every published model (TSA-NS, default support),
   on its own test data; and the cost per step of ``feed`` in chunks of 1024 steps with the
   predicted class's map only (what ``spikeattr stream`` asks for).
2. Throughput of ``spikeattr stream`` reading a pipe (a separate process, records to
   /dev/null): subject A's test split as ADL events (the replay, a tick every second) and as
   rows of 0/1, with the ADL 3L model. Start-up (imports, model) is timed separately.
3. Memory of a ``spikeattr stream`` process over a long stream of rows: its resident set size
   as the records come out (should stay flat).

Run: ``python benchmarks/bench_stream.py [--latency-steps 20000] [--memory-steps 10000000]``
(``--skip-memory`` to leave out the long run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from spikeattr.data.adl import ADL_INPUTS, encode_subject
from spikeattr.data.adl_replay import adl_replay
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.explain.online import OnlineExplainer
from spikeattr.snn import load_model

MODELS = ("synthetic_1L", "synthetic_2L", "synthetic_3L", "adl_1L", "adl_2L", "adl_3L")
STREAM = [sys.executable, "-c", "from spikeattr.cli import main; main()", "stream"]


def latency_table(steps: int) -> None:
    synthetic = generate_synthetic().split("test").spikes
    adl = encode_subject(None, "A", compat="reference").split("test").spikes
    print(f"\n1. OnlineExplainer.step, one step per call ({steps} calls after 2000 warm-up)")
    print("| model | K | map floats | p50 us | p99 us | feed(maps='predicted') us/step |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        spikes = (synthetic if name.startswith("synthetic") else adl)[: steps + 2000]
        explainer = OnlineExplainer(load_model(f"published:{name}"), variant="ns")
        for row in spikes[:2000]:
            explainer.step(row)
        timings = np.empty(steps)
        clock = time.perf_counter_ns
        for index, row in enumerate(spikes[2000:]):
            start = clock()
            explainer.step(row)
            timings[index] = clock() - start
        explainer.reset()
        start = clock()
        for offset in range(0, steps, 1024):
            explainer.feed(spikes[offset : offset + 1024], maps="predicted")
        per_step = (clock() - start) / steps / 1e3
        c, n, k = explainer.n_classes, explainer.n_inputs, explainer.support
        p50, p99 = np.percentile(timings, [50, 99]) / 1e3
        print(f"| {name} | {k} | {c * n * k} | {p50:.1f} | {p99:.1f} | {per_step:.2f} |")


def _run_stream(args: list[str], data: bytes) -> float:
    """Seconds for a ``spikeattr stream`` process to read ``data`` from a pipe and finish."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [*STREAM, *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, errors = process.communicate(data)
    if process.returncode != 0:
        raise SystemExit(f"spikeattr stream failed: {errors.decode()}")
    return time.perf_counter() - start


def throughput_table() -> None:
    series = encode_subject(None, "A", compat="reference")
    first, stop = series.splits["test"]
    events = "".join(
        line + "\n" for _, line in adl_replay(None, "A", split="test").lines(tick_seconds=1)
    ).encode()
    rows = series.spikes[first:stop]
    table = ",".join(ADL_INPUTS) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    args = ["--model", "published:adl_3L", "--input", "-", "--quiet"]
    startup = min(_run_stream(args, b"time,channel,value\n") for _ in range(2))
    print("\n2. spikeattr stream from a pipe, ADL 3L, TSA-NS, K = 53, top 5, JSON lines")
    print(f"start-up (imports, model; empty stream): {startup:.2f} s")
    print("| input | steps | lines | wall s | steps/s | steps/s after start-up |")
    print("|---|---|---|---|---|---|")
    for label, data in (("events (replay, tick 1 s)", events), ("rows of 0/1", table.encode())):
        wall = _run_stream(args, data)
        steps = stop - first
        lines = data.count(b"\n")
        print(
            f"| {label} | {steps} | {lines} | {wall:.2f} | {steps / wall:,.0f} | "
            f"{steps / (wall - startup):,.0f} |"
        )


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_table(total: int) -> None:
    spikes = encode_subject(None, "A", compat="reference").split("test").spikes[:10_000]
    block = ("\n".join(",".join(map(str, r)) for r in spikes) + "\n").encode()
    process = subprocess.Popen(
        [*STREAM, "--model", "published:adl_3L", "--input", "-", "--format", "csv", "--quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def writer() -> None:
        stdin.write((",".join(ADL_INPUTS) + "\n").encode())
        for _ in range(total // 10_000):
            stdin.write(block)
        stdin.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    marks = sorted({total // 100, total // 10, total // 2, total})
    samples = []
    seen = -1  # the CSV header
    start = time.perf_counter()
    while marks:
        chunk = stdout.read1(1 << 20)  # type: ignore[attr-defined]
        if not chunk:
            break
        seen += chunk.count(b"\n")
        while marks and seen >= marks[0]:
            samples.append((marks.pop(0), _rss_mib(process.pid), time.perf_counter() - start))
    process.wait()
    print(f"\n3. resident memory of a spikeattr stream process (ADL 3L, rows, {total:,} steps)")
    print("| steps | RSS MiB | wall s |")
    print("|---|---|---|")
    for steps, rss, wall in samples:
        print(f"| {steps:,} | {rss:.1f} | {wall:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-steps", type=int, default=20_000)
    parser.add_argument("--memory-steps", type=int, default=1_000_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    latency_table(args.latency_steps)
    throughput_table()
    if not args.skip_memory:
        memory_table(args.memory_steps)


if __name__ == "__main__":
    main()
