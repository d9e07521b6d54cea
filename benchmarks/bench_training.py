"""Training speed: the fused LIF layer vs a literal per-step torch loop, on the synthetic data.

For the paper's 1L and 2L (hidden 10) synthetic models, batch size 128 and 900-step windows of the
630 000-step training split (700 windows, 6 batches per epoch), this measures one epoch of the
paper's training (forward, NLL loss, backward, Adam step, state carried between batches):

* ``fused``: what :func:`~spikeattr.snn.training.train` runs: :class:`LIFNetwork` on its
  ``auto`` backend, i.e. the fused layer of :mod:`spikeattr.snn.fused` (forward and backward
  compiled with numba), and the compiled loss :func:`~spikeattr.snn.losses.sequence_nll`,
  timed over whole epochs after a warm-up epoch (the best of ``--repeats``);
* ``torch loop``: the same network's ``backend="torch"`` (one autograd node per step);
* ``reference``: ``reference_training_loop.py`` beside this file, an independent per-step port
  of the SPEC 3 update in plain torch;

both per-step loops are timed batch by batch over ``--batches`` batches (after a short warm-up)
and the fastest batch is extrapolated to an epoch (the table says so).

Before timing, the loss and the weight gradients of the first batch (zero state) are compared
between the fused path and the reference loop (exit status 1 if they differ by more than
1e-4 relative). Nothing is asserted about time.

Usage::

    python benchmarks/bench_training.py               # reference loop on 2 batches
    python benchmarks/bench_training.py --batches 6   # a whole reference epoch
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_training_loop as reference
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.data.windows import IGNORE_LABEL
from spikeattr.snn.batching import arrange_batches
from spikeattr.snn.lif import LIFState
from spikeattr.snn.losses import sequence_nll
from spikeattr.snn.network import LIFNetwork

MODELS = {"1L": [3, 4], "2L": [3, 10, 4]}
AGREEMENT = 1e-4  # relative; float32 sums in a different order differ by ~1e-7


@dataclass
class Row:
    model: str
    n_batches: int
    fused_s: float
    torch_s: float
    torch_batches: int
    reference_s: float
    reference_batches: int
    loss_diff: float
    grad_diff: float

    def per_epoch(self, seconds: float, batches: int) -> float:
        return seconds * self.n_batches / batches


def batch_times_with_network(
    net: LIFNetwork,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    backend: str,
    lr: float,
) -> list[float]:
    """Wall time of each batch of one pass with Adam, as :func:`spikeattr.snn.training.train`."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    n_classes = net.layer_sizes[-1]
    state: list[LIFState] | None = None
    times = []
    for x, y in batches:
        start = time.perf_counter()
        out = net(x, state, backend=backend)  # type: ignore[arg-type]
        state = [LIFState(s.syn.detach(), s.mem.detach()) for s in out.state]
        if backend == "auto":
            loss = sequence_nll(out.membrane, y)  # what train() uses: the compiled loss
        else:
            loss = torch.nn.functional.nll_loss(
                out.log_probs.reshape(-1, n_classes), y.reshape(-1), ignore_index=IGNORE_LABEL
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def reference_batch_times(
    sizes: list[int], batches: list[tuple[torch.Tensor, torch.Tensor]], lr: float
) -> list[float]:
    """Wall time of each batch of the literal reference loop (same init as the network)."""
    net = LIFNetwork(sizes, seed=0)
    weights = [w.detach().clone().requires_grad_() for w in net.weights]
    optimizer = torch.optim.Adam(weights, lr=lr)
    state = reference.zero_state(weights, batches[0][0].shape[0])
    times = []
    for batch in batches:
        start = time.perf_counter()
        _, state = reference.train_batches(weights, optimizer, [batch], state, net.alpha, net.beta)
        times.append(time.perf_counter() - start)
    return times


def first_batch_agreement(
    sizes: list[int], x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float]:
    """Max relative differences of loss and weight gradients, fused vs reference, batch 0."""
    net = LIFNetwork(sizes, seed=0)
    loss = sequence_nll(net(x).membrane, y)
    loss.backward()
    weights = [w.detach().clone().requires_grad_() for w in net.weights]
    ref_loss, _ = reference.batch_loss(
        weights, x, y, reference.zero_state(weights, x.shape[0]), net.alpha, net.beta
    )
    ref_loss.backward()
    loss_diff = abs(float(loss.detach()) - float(ref_loss.detach())) / abs(float(ref_loss.detach()))
    grad_diff = max(
        float((w.grad - r.grad).abs().max() / r.grad.abs().max())  # type: ignore[operator]
        for w, r in zip(net.weights, weights, strict=True)
    )
    return loss_diff, grad_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--batches",
        type=int,
        default=2,
        help="batches timed with the reference loop and the torch backend "
        "(extrapolated to an epoch)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed fused epochs after the warm-up (best is reported)",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)

    console = Console(width=max(120, Console().width))
    series = generate_synthetic().split("train")
    arranged = arrange_batches(series.spikes, series.labels, 900, args.batch_size)
    batches = [
        (torch.from_numpy(arranged.spikes[k]).float(), torch.from_numpy(arranged.labels[k]))
        for k in range(arranged.n_batches)
    ]
    console.print(
        f"synthetic train split: {series.n_steps} steps, {int((arranged.window_index >= 0).sum())}"
        f" windows of 900, batch size {args.batch_size}, {arranged.n_batches} batches per epoch;"
        f" torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    rows = []
    for name in args.models:
        sizes = MODELS[name]
        loss_diff, grad_diff = first_batch_agreement(sizes, *batches[0])
        batch_times_with_network(LIFNetwork(sizes, seed=0), batches[:1], "auto", 1e-2)  # JIT
        fused_s = min(
            sum(batch_times_with_network(LIFNetwork(sizes, seed=0), batches, "auto", 1e-2))
            for _ in range(args.repeats)
        )
        some = batches[: args.batches]
        console.print(
            f"{name}: fused epoch {fused_s:.3f} s; timing the torch loops on {len(some)} "
            "batches ..."
        )
        short = [(x[:, :20], y[:, :20]) for x, y in some[:1]]  # warm-up of the autograd loops
        batch_times_with_network(LIFNetwork(sizes, seed=0), short, "torch", 1e-2)
        reference_batch_times(sizes, short, 1e-2)
        torch_s = min(batch_times_with_network(LIFNetwork(sizes, seed=0), some, "torch", 1e-2))
        reference_s = min(reference_batch_times(sizes, some, 1e-2))
        rows.append(
            Row(name, len(batches), fused_s, torch_s, 1, reference_s, 1, loss_diff, grad_diff)
        )

    table = Table(
        title=f"One training epoch on the synthetic train split (batch {args.batch_size}, Adam)"
    )
    for column in (
        "model",
        "fused s/epoch",
        "torch backend s/epoch",
        "reference loop s/epoch",
        "speed-up vs reference",
        "loss rel. diff",
        "grad rel. diff",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        extrapolated = row.reference_batches < row.n_batches
        mark = " *" if extrapolated else ""
        reference_epoch = row.per_epoch(row.reference_s, row.reference_batches)
        table.add_row(
            row.model,
            f"{row.fused_s:.3f}",
            f"{row.per_epoch(row.torch_s, row.torch_batches):.2f}{mark}",
            f"{reference_epoch:.2f}{mark}",
            f"{reference_epoch / row.fused_s:.0f}x",
            f"{row.loss_diff:.1e}",
            f"{row.grad_diff:.1e}",
        )
    console.print(table)
    console.print(
        f"* the fastest of {args.batches} timed batches x {rows[0].n_batches} batches per "
        "epoch; fused: the fastest whole epoch"
    )
    console.print(
        f"numpy {np.__version__}; loss/grad differences are relative to the reference, "
        "first batch, zero state, float32"
    )
    agree = all(row.loss_diff < AGREEMENT and row.grad_diff < AGREEMENT for row in rows)
    if not agree:
        console.print(f"[bold red]loss or gradients differ by more than {AGREEMENT:g}[/]")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
