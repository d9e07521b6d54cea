"""The synthetic benchmark of the TSA paper, generated exactly (SPEC 2.1).

Two binary inputs ``x1``, ``x2`` hold a random pair of values for a random duration, then switch;
a bias input ``x0`` spikes at every step. The class of a step is the pair it shows:
``(1,0) -> 0``, ``(1,1) -> 1``, ``(0,1) -> 2``, ``(0,0) -> 3``.
"""

from __future__ import annotations

import numpy as np

from spikeattr.data.series import SpikeSeries

SYNTHETIC_INPUTS: tuple[str, ...] = ("x0_bias", "x1", "x2")
SYNTHETIC_CLASSES: tuple[str, ...] = ("x1_only", "both", "x2_only", "neither")
SYNTHETIC_STEPS = 900_000
SYNTHETIC_TRAIN_STEPS = 630_000
SYNTHETIC_SEED = 123
MAX_DURATION = 600

# class index of each (x1, x2) pair, indexed as _PAIR_TO_CLASS[x1, x2]
_PAIR_TO_CLASS = np.array([[3, 2], [0, 1]], dtype=np.int8)


def generate_synthetic(
    n_steps: int = SYNTHETIC_STEPS,
    n_train: int = SYNTHETIC_TRAIN_STEPS,
    seed: int = SYNTHETIC_SEED,
) -> SpikeSeries:
    """Generate the synthetic series, bit for bit as the paper's (with the defaults).

    With numpy's legacy generator seeded with ``seed``: start from one row ``(0, 0)``; while the
    series is shorter than ``n_steps``, draw a duration ``d = randint(600)``, then a pair
    ``randint(0, 2, size=(1, 2))``, and append the pair ``d`` times; truncate to ``n_steps``.

    Returns:
        A :class:`SpikeSeries` with spikes ``[n_steps, 3]`` (``x0_bias, x1, x2``), labels
        ``[n_steps]`` and splits ``train = [0, n_train)``, ``test = [n_train, n_steps)``.
    """
    if not 0 < n_train <= n_steps:
        raise ValueError(f"need 0 < n_train <= n_steps; got n_train={n_train}, n_steps={n_steps}")
    rng = np.random.RandomState(seed)  # the legacy stream, as np.random.seed(seed)
    durations: list[int] = [1]
    pairs: list[np.ndarray] = [np.zeros(2, dtype=np.int64)]
    length = 1
    while length < n_steps:
        duration = int(rng.randint(MAX_DURATION))
        pair = rng.randint(0, 2, size=(1, 2))[0]
        durations.append(duration)
        pairs.append(pair)
        length += duration
    inputs = np.repeat(np.asarray(pairs, dtype=np.int8), durations, axis=0)[:n_steps]
    spikes = np.ones((n_steps, 3), dtype=np.int8)
    spikes[:, 1:] = inputs
    labels = _PAIR_TO_CLASS[inputs[:, 0], inputs[:, 1]]
    return SpikeSeries(
        spikes=spikes,
        labels=labels,
        input_names=SYNTHETIC_INPUTS,
        class_names=SYNTHETIC_CLASSES,
        splits={"train": (0, n_train), "test": (n_train, n_steps)},
        meta={"dataset": "synthetic", "seed": seed, "generator": "SPEC 2.1, numpy legacy RNG"},
    )
