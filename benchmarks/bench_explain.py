"""Benchmark: explanation speed and memory. Prints tables; asserts nothing about time.

1. One explanation of a 1000-step window for each published model and method, in the paper's
   float32 (against the reference code's wall times of ``tests/oracles/README.md``) and in
   float64 with every tail kept (the default).
2. The cost of an explanation (float64, the default) relative to the forward pass it needs.
3. The exact LIF attribution (``lif_z``, ``lif_ab``) beside TSA-NS (int8 and float32 windows;
   the float32 algebra, whose support is short, and the default float64 one over the whole
   window) and Integrated Gradients, on a batch of windows of every published model, with int8
   windows as a data file holds them; the ratio to TSA-NS of the same run, against its cheaper
   float32 algebra (the goal is <= 3x, and <= 1/10 of IG). The CPU model is printed.
4. Series mode over the whole synthetic test split (270 000 steps) with the 3L model: wall time
   and peak memory for growing T (memory should stay flat).

Run: ``python benchmarks/bench_explain.py [--repeats 50] [--batch 8] [--skip-series]
[--skip-ig]``. Set ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` for one thread throughout
(NumPy's BLAS, used by the exact methods, does not follow ``torch.set_num_threads``).
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
from collections.abc import Callable

import torch

from spikeattr.data.synthetic import generate_synthetic
from spikeattr.explain.methods import make_explainer
from spikeattr.explain.tsa import TSA, attribute_recording, record_network
from spikeattr.snn import load_model

# seconds per explanation of the research code (reference/README.md), S / NS / SAM
REFERENCE_SECONDS = {
    "synthetic_1L": (0.34, 0.34, 0.33),
    "synthetic_2L": (1.25, 1.50, 1.13),
    "synthetic_3L": (1.75, 1.96, 1.93),
    "adl_1L": (1.2, 1.2, 1.1),
    "adl_2L": (7.3, 8.0, 8.7),
    "adl_3L": (8.2, 8.1, 6.6),
}
METHODS = ("s", "ns", "sam")


def _median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _window(model_name: str) -> torch.Tensor:
    """A realistic 1000-step window: a slice of the synthetic test split or random ADL-like."""
    if model_name.startswith("synthetic"):
        spikes = generate_synthetic().split("test").spikes[8170 - 1000 : 8170]
        return torch.from_numpy(spikes).float().unsqueeze(0)
    generator = torch.Generator().manual_seed(0)
    window = (torch.rand(1, 1000, 14, generator=generator) < 0.1).float()
    window[..., 0] = 1
    return window


def single_explanations(repeats: int) -> None:
    print(f"\n## One explanation, window T = 1000 (median of {repeats} runs, 1 thread)\n")
    print(
        "float32: the paper's precision (its support: the steps whose decay float32 holds); "
        "float64: the default, every step of the window.\n"
    )
    print(
        "| model | method | float32 (ms) | float64 (ms) | reference (s) | speed-up (float32) "
        "| support float32 (steps) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    single, double = torch.float32, torch.float64
    for name, reference in REFERENCE_SECONDS.items():
        model = load_model(f"published:{name}")
        window = _window(name)
        for method, ref_seconds in zip(METHODS, reference, strict=True):
            explainer = TSA(model, variant=method)
            seconds = _median_seconds(
                lambda e=explainer, w=window: e.attribute(w, dtype=single), repeats
            )
            wide = _median_seconds(
                lambda e=explainer, w=window: e.attribute(w, dtype=double), repeats
            )
            support = explainer.attribute(window, dtype=single).support
            print(
                f"| {name} | {method} | {seconds * 1e3:.3f} | {wide * 1e3:.3f} | "
                f"{ref_seconds:.2f} | {ref_seconds / seconds:,.0f}x | {support} |"
            )


def relative_cost(repeats: int) -> None:
    print(
        "\n## Explanation cost relative to its forward pass (TSA-NS in float64, the default; "
        "median, 1 thread)\n"
    )
    print(
        "| model | forward + record (ms) | attribution only (ms) | attribution / forward "
        "| whole explanation / forward |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in REFERENCE_SECONDS:
        model = load_model(f"published:{name}")
        window = _window(name)
        forward = _median_seconds(lambda m=model, w=window: record_network(m, w), repeats)
        recording = record_network(model, window)
        algebra = _median_seconds(lambda r=recording: attribute_recording(r, "ns"), repeats)
        whole = _median_seconds(lambda m=model, w=window: TSA(m, "ns").attribute(w), repeats)
        print(
            f"| {name} | {forward * 1e3:.3f} | {algebra * 1e3:.3f} | "
            f"{algebra / forward:.2f} | {whole / forward:.2f} |"
        )


def cpu_model() -> str:
    """The CPU model, as ``/proc/cpuinfo`` names it (timings can depend on it)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def exact_costs(repeats: int, batch: int, with_ig: bool) -> None:
    print(
        f"\n## Exact LIF attribution vs TSA-NS and IG: {batch} windows of T = 1000, every class "
        f"(median of {repeats} runs; IG: 1 run; {cpu_model()}, "
        f"{torch.get_num_threads()} torch thread(s))\n"
    )
    print(
        "Windows as users pass them: int8 (a data file's dtype) and float32. TSA-NS int8 and f32: "
        "the paper's float32 algebra, computed over its short support only; TSA-NS f64: the "
        "int8 window with the default float64 algebra over every step. The ratios are to the "
        "cheaper float32 algebra.\n"
    )
    print(
        "| model | TSA-NS int8 (ms) | TSA-NS f32 (ms) | TSA-NS f64 (ms) | lif_z int8 (ms) | "
        "lif_z f32 (ms) | lif_ab int8 (ms) | IG (ms) | lif_z / TSA-NS (int8) | "
        "lif_ab / TSA-NS (int8) | lif_z / TSA-NS f64 | lif_z / IG |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    single = torch.float32
    for name in REFERENCE_SECONDS:
        model = load_model(f"published:{name}")
        floats = _window(name).repeat(batch, 1, 1)
        ints = floats.to(torch.int8)
        ns = TSA(model, "ns")
        times = {
            "ns8": _median_seconds(lambda e=ns, w=ints: e.attribute(w, dtype=single), repeats),
            "ns32": _median_seconds(lambda e=ns, w=floats: e.attribute(w, dtype=single), repeats),
            "ns64": _median_seconds(
                lambda e=ns, w=ints: e.attribute(w, dtype=torch.float64), repeats
            ),
        }
        for method in ("lif_z", "lif_ab"):
            explainer = make_explainer(method, model)
            times[method] = _median_seconds(lambda e=explainer, w=ints: e.attribute(w), repeats)
        lif_z = make_explainer("lif_z", model)
        times["lif_z32"] = _median_seconds(lambda e=lif_z, w=floats: e.attribute(w), repeats)
        ig = float("nan")
        if with_ig:
            gradients = make_explainer("ig", model)
            start = time.perf_counter()
            gradients.attribute(ints)
            ig = time.perf_counter() - start
        ms = {key: value * 1e3 for key, value in times.items()}
        print(
            f"| {name} | {ms['ns8']:.2f} | {ms['ns32']:.2f} | {ms['ns64']:.2f} | "
            f"{ms['lif_z']:.2f} | {ms['lif_z32']:.2f} | {ms['lif_ab']:.2f} | {ig * 1e3:,.0f} | "
            f"{times['lif_z'] / times['ns8']:.1f}x | {times['lif_ab'] / times['ns8']:.1f}x | "
            f"{times['lif_z'] / times['ns64']:.1f}x | {times['lif_z'] / ig:.4f} |"
        )


_SERIES_CHILD = """
import json, resource, sys, tempfile, time
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.explain.series import explain_series
from spikeattr.snn import load_model
n_steps = int(sys.argv[1])
spikes = generate_synthetic().split("test").spikes[:n_steps].copy()
model = load_model("published:synthetic_3L")
explain_series(model, spikes[:1000], tempfile.mkdtemp())  # compile and warm up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
info = explain_series(model, spikes, tempfile.mkdtemp(), variant="ns")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "before_mb": before / 1024,
                  "support": info.support, "chunks": info.n_chunks}))
"""


def series_mode() -> None:
    print("\n## Series mode, published:synthetic_3L, TSA-NS, default tolerance 1e-7\n")
    print(
        "| T (steps) | wall time (s) | steps/s | peak RSS (MB) | RSS before the run (MB) | "
        "support K | chunks |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n_steps in (27_000, 90_000, 270_000):
        output = subprocess.run(
            [sys.executable, "-c", _SERIES_CHILD, str(n_steps)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "2"},
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(
            f"| {n_steps:,} | {row['seconds']:.2f} | {n_steps / row['seconds']:,.0f} | "
            f"{row['peak_mb']:.0f} | {row['before_mb']:.0f} | {row['support']} | "
            f"{row['chunks']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--skip-series", action="store_true")
    parser.add_argument("--skip-ig", action="store_true")
    parser.add_argument("--only-exact", action="store_true", help="only the exact LIF table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tempfile.tempdir = tempfile.mkdtemp(prefix="spikeattr-bench-")
    if args.only_exact:
        exact_costs(args.repeats, args.batch, not args.skip_ig)
        return
    single_explanations(args.repeats)
    relative_cost(args.repeats)
    exact_costs(args.repeats, args.batch, not args.skip_ig)
    if not args.skip_series:
        series_mode()


if __name__ == "__main__":
    main()
