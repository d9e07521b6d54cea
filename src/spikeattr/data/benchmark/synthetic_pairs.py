"""Task ``synthetic``: the paper's synthetic set (SPEC 2.1), with its evidence made explicit.

The series is the first :data:`~spikeattr.data.benchmark.assemble.BENCHMARK_STEPS` steps of the
paper's generator (numpy's legacy generator, seed 123 by default: bit for bit the start of the
900 000-step set). The class of step ``t`` is the pair ``(x1[t], x2[t])``, so what decides it is
the current value of ``x1`` and ``x2``; the bias ``x0`` never does.

**Mask.** For step ``t``: the cells of ``x1`` and ``x2`` (spiking *or silent*: a silent ``x2``
is what tells ``(1, 0)`` from ``(1, 1)``) at the last ``RECENT_STEPS = 10`` steps of the
current run, ``[max(r, t - 9), t]`` with ``r`` the first step of the constant run of
``(x1, x2)`` that holds ``t``. Ten steps is one synaptic time constant of the paper's models
(``tau_syn / dt = 10``): the steps whose input current still dominates the neurons' state.
Steps before the run began showed another pair, so they are never evidence.
"""

from __future__ import annotations

import numpy as np

from spikeattr.data.benchmark.assemble import BENCHMARK_STEPS, SPLIT_FRACTIONS, task_series
from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import SYNTHETIC_SEED, generate_synthetic

NAME = "synthetic"
DEFAULT_SEED = SYNTHETIC_SEED
#: Steps of the current run of (x1, x2) that form the evidence of a step.
RECENT_STEPS = 10
_EVIDENCE_CHANNELS = (1, 2)


def pair_evidence(spikes: np.ndarray, recent: int = RECENT_STEPS) -> EvidenceMask:
    """The evidence of every step of ``spikes [T, 3]`` (``x0, x1, x2``): the cells of ``x1`` and
    ``x2`` at steps ``[max(r, t - recent + 1), t]``, ``r`` the start of ``t``'s constant run."""
    pairs = np.asarray(spikes)[:, 1:]
    n_steps = pairs.shape[0]
    steps = np.arange(n_steps, dtype=np.int64)
    changed = np.r_[True, (pairs[1:] != pairs[:-1]).any(axis=1)]
    run_start = np.maximum.accumulate(np.where(changed, steps, 0))
    first = np.maximum(run_start, steps - recent + 1)
    per_step = len(_EVIDENCE_CHANNELS)
    table = np.stack(
        [np.repeat(steps, per_step), np.tile(np.asarray(_EVIDENCE_CHANNELS), n_steps)], axis=1
    )
    return EvidenceMask.from_slices(table, per_step * first, per_step * (steps + 1))


def generate(seed: int = DEFAULT_SEED) -> SpikeSeries:
    """The first 150 000 steps of the paper's synthetic series with their evidence masks."""
    n_steps = BENCHMARK_STEPS
    base = generate_synthetic(n_steps, int(SPLIT_FRACTIONS[0] * n_steps), seed=seed)
    return task_series(
        NAME,
        base.spikes,
        base.labels,
        base.input_names,
        base.class_names,
        pair_evidence(base.spikes),
        seed,
        {"recent_steps": RECENT_STEPS, "source": "SPEC 2.1 generator, first steps"},
    )
