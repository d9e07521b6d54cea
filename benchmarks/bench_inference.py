"""Inference speed over the whole synthetic test series: compiled kernel vs a per-step torch loop.

For each published synthetic model, runs the 270 000-step test series from zero state

* with :meth:`LIFNetwork.predict_series` (numba kernel, chunked, after one warm-up run; the best
  of ``--repeats`` runs is reported), and
* with the per-step torch loop of the research code: the model's ``backend="torch"`` forward, one
  Python iteration per time step and layer, over the whole series in one call, run once,

checks that both give identical per-step predictions and prints the time, steps per second and
the speed-up. With ``--quick`` the torch loop runs on the first 27 000 steps only and its time is
extrapolated linearly to the whole series (the table says so). Nothing is asserted about time.

Usage::

    python benchmarks/bench_inference.py            # full run (the 3L torch loop takes minutes)
    python benchmarks/bench_inference.py --quick    # torch loop on 10 % of the series
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from spikeattr.data.synthetic import generate_synthetic
from spikeattr.snn.checkpoint import load_model
from spikeattr.snn.network import LIFNetwork

QUICK_STEPS = 27_000


@dataclass
class Row:
    model: str
    steps: int
    numba_s: float
    torch_s: float
    torch_steps: int
    identical: bool
    mismatches: int

    @property
    def torch_total_s(self) -> float:
        """Torch loop time for the whole series (extrapolated when only a prefix was run)."""
        return self.torch_s * self.steps / self.torch_steps

    @property
    def extrapolated(self) -> bool:
        return self.torch_steps < self.steps


def time_numba(model: LIFNetwork, spikes: np.ndarray, repeats: int) -> tuple[float, np.ndarray]:
    """Best wall time of ``predict_series`` after one warm-up run, and its predictions."""
    predicted = model.predict_series(spikes, keep_probs=False).predicted  # warm-up (JIT, caches)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = model.predict_series(spikes, keep_probs=False)
        best = min(best, time.perf_counter() - start)
        if not np.array_equal(result.predicted, predicted):
            raise RuntimeError("predict_series is not deterministic")
    return best, predicted


@torch.no_grad()
def time_torch_loop(model: LIFNetwork, spikes: np.ndarray) -> tuple[float, np.ndarray]:
    """One run of the per-step torch loop over ``spikes`` from zero state."""
    x = torch.from_numpy(spikes).to(model.weights[0].dtype).unsqueeze(0)
    start = time.perf_counter()
    out = model(x, backend="torch")
    predicted = out.membrane[0].argmax(-1).numpy()
    return time.perf_counter() - start, predicted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"time the torch loop on the first {QUICK_STEPS} steps only and extrapolate",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["1L", "2L", "3L"],
        choices=["1L", "2L", "3L"],
        help="published synthetic models to time",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed predict_series runs after the warm-up (best is reported)",
    )
    args = parser.parse_args(argv)

    console = Console(width=max(120, Console().width))
    series = generate_synthetic().split("test")
    spikes = series.spikes
    n_steps = series.n_steps
    torch_steps = QUICK_STEPS if args.quick else n_steps
    console.print(
        f"synthetic test series: {n_steps} steps, inputs {list(series.input_names)}; "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )

    rows = []
    for depth in args.models:
        name = f"published:synthetic_{depth}"
        model = load_model(name)
        model.check_data(series.input_names, series.class_names)
        numba_s, numba_pred = time_numba(model, spikes, args.repeats)
        console.print(
            f"{name}: predict_series {numba_s:.3f} s; running the torch loop over "
            f"{torch_steps} steps ..."
        )
        torch_s, torch_pred = time_torch_loop(model, spikes[:torch_steps])
        mismatches = int(np.count_nonzero(torch_pred != numba_pred[:torch_steps]))
        rows.append(Row(name, n_steps, numba_s, torch_s, torch_steps, mismatches == 0, mismatches))

    table = Table(title=f"Inference over the whole synthetic test series ({n_steps} steps)")
    for column in (
        "model",
        "numba predict_series s",
        "steps/s",
        "torch per-step loop s",
        "steps/s",
        "speed-up",
        "identical predictions",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        torch_label = f"{row.torch_total_s:.1f}" + (" *" if row.extrapolated else "")
        table.add_row(
            row.model.removeprefix("published:"),
            f"{row.numba_s:.3f}",
            f"{row.steps / row.numba_s:,.0f}",
            torch_label,
            f"{row.torch_steps / row.torch_s:,.0f}",
            f"{row.torch_total_s / row.numba_s:,.0f}x",
            "yes" if row.identical else f"NO ({row.mismatches} steps differ)",
        )
    console.print(table)
    if args.quick:
        measured = ", ".join(
            f"{row.model.removeprefix('published:')} {row.torch_s:.2f} s" for row in rows
        )
        console.print(
            f"* --quick: extrapolated; the torch loop ran on the first {QUICK_STEPS} "
            f"steps only ({measured}) and predictions were compared on those steps."
        )
    return 0 if all(row.identical for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
