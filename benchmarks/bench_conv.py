"""Benchmark: TSA of a convolutional network, time and peak memory. Prints tables; asserts
nothing about time.

One explanation (all 10 classes) of the last step of a T = 300 window of event frames
``[2, 34, 34]`` (the test split of ``spikeattr data events``) by a 2-conv + 1-dense LIF network
(default: the layers of the trained events model; ``--model`` takes a checkpoint), for each
variant and precision:

* ``explain``: :meth:`TemporalSpikeAttribution.attribute`, forward pass included;
* ``maps only``: the batched transposes on a recording made beforehand;
* ``peak RSS``: the largest resident memory of a fresh process that ran the explanation once
  (``resource.getrusage``; it includes Python, torch and the data), and ``added``: that peak
  minus the process's resident memory just before the explanation. On a GPU, the peak of
  ``torch.cuda.max_memory_allocated`` instead.

Run: ``python benchmarks/bench_conv.py [--device cpu|cuda|mps] [--repeats 5] [--model M]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

import torch

from spikeattr.data.events import generate_events
from spikeattr.explain.tsa import TSA, attribute_recording, record_network
from spikeattr.snn import ConvLIFNetwork, load_network

LAYERS = (
    "conv 8 5 stride=2",
    "lif",
    "conv 16 3 stride=2",
    "lif",
    "flatten",
    "linear 10",
    "lif",
)
STEPS = 300
STAMP = 1_000  # the explained window is test split steps [STAMP - 300, STAMP)


def network(model: str | None, device: str, dtype: torch.dtype) -> ConvLIFNetwork:
    """The benchmarked network: a checkpoint, or the default layers with spiking weights."""
    if model is not None:
        loaded = load_network(model, device=device, dtype=dtype)
        if not isinstance(loaded, ConvLIFNetwork):
            raise SystemExit(f"{model} is not a convolutional network")
        return loaded
    net = ConvLIFNetwork((2, 34, 34), LAYERS, tau_syn=5e-3, tau_mem=2e-2, seed=0)
    with torch.no_grad():  # scaled so that every layer spikes at event-camera rates
        for weight, gain in zip(net.weights, (3.0, 2.0, 2.0), strict=True):
            weight.mul_(gain)
    return net.to(device=device, dtype=dtype).eval()


def window(device: str) -> torch.Tensor:
    """``[1, 300, 2, 34, 34]`` event frames of the generated task's test split."""
    test = generate_events().series.split("test")
    frames = torch.from_numpy(test.spikes[STAMP - STEPS : STAMP]).float()
    return frames.reshape(1, STEPS, 2, 34, 34).to(device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_seconds(function: Callable[[], object], repeats: int, device: str) -> float:
    function()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        function()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rss_mib() -> float:
    """Resident memory of this process now (Linux: /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_memory(args: argparse.Namespace, variant: str, precision: str) -> dict[str, float]:
    """Run one explanation in this (fresh) process; its peak and added memory in MiB."""
    dtype = getattr(torch, precision)
    net = network(args.model, args.device, dtype)
    frames = window(args.device).to(dtype)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
        TSA(net, variant).attribute(frames)
        _sync(args.device)
        peak = torch.cuda.max_memory_allocated() / 2**20
        return {"peak": peak, "added": peak - before}
    before = _rss_mib()
    TSA(net, variant).attribute(frames)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"peak": peak, "added": peak - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="a convolutional checkpoint .json")
    parser.add_argument(
        "--memory-of", nargs=2, metavar=("VARIANT", "DTYPE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.memory_of:
        print(json.dumps(measure_memory(args, *args.memory_of)))
        return
    torch.manual_seed(0)
    probe = network(args.model, args.device, torch.float32)
    frames = window(args.device)
    rates = [float(s.float().mean()) for s in probe.record(frames).layer_spikes]
    layers = " -> ".join(
        " ".join(str(v) for k, v in r.items() if k in ("kind", "channels", "units", "kernel"))
        for r in probe.layer_records()
    )
    print(
        f"device {args.device} ({torch.get_num_threads()} threads), torch {torch.__version__}; "
        f"network {layers}\ninput [1, {STEPS}, 2, 34, 34], 10 classes; "
        f"spike rates per step: input {float(frames.mean()):.4f}, layers "
        + ", ".join(f"{r:.4f}" for r in rates)
    )
    print(
        f"\n{'variant':8s} {'dtype':8s} {'support':>8s} {'explain s':>10s} {'maps only s':>12s} "
        f"{'forward s':>10s} {'peak MiB':>9s} {'added MiB':>10s}"
    )
    for precision in ("float32", "float64"):
        dtype = getattr(torch, precision)
        net = network(args.model, args.device, dtype)
        x = frames.to(dtype)
        for variant in ("s", "ns", "sam"):
            explainer = TSA(net, variant)
            recording = record_network(net, x)
            support = attribute_recording(recording, variant).support
            whole = median_seconds(partial(explainer.attribute, x), args.repeats, args.device)
            maps = median_seconds(
                partial(attribute_recording, recording, variant), args.repeats, args.device
            )
            forward = median_seconds(partial(record_network, net, x), args.repeats, args.device)
            command = [sys.executable, __file__, "--device", args.device, "--memory-of"]
            command += [variant, precision, *(["--model", args.model] if args.model else [])]
            memory = json.loads(
                subprocess.run(command, check=True, capture_output=True, text=True).stdout
            )
            print(
                f"{variant:8s} {precision:8s} {support:8d} {whole:10.3f} {maps:12.3f} "
                f"{forward:10.3f} {memory['peak']:9.0f} {memory['added']:10.0f}"
            )


if __name__ == "__main__":
    main()
