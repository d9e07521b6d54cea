"""Random draws keyed by what they are for, never by position.

Every random number of an evaluation comes from ``keyed_rng(seed, purpose, stamp, draw)``: the
run's seed, the purpose (one fixed name per kind of draw), the stamp's *value* and the index of
the draw. So a stamp's scores do not depend on which other stamps are in the run, nor on their
order, and two purposes never share a stream.
"""

from __future__ import annotations

import zlib

import numpy as np

#: The purposes that draw random numbers; each name maps to a fixed integer key.
PURPOSES: tuple[str, ...] = (
    "paper-completeness",
    "paper-continuity",
    "uniform-control",
    "permuted-control",
    "random-order-control",
    "fraction-completeness",
    "sensitivity",
    "randomise-model",
)


def purpose_key(purpose: str) -> int:
    """The stable integer of ``purpose`` (CRC-32 of its name; independent of list order)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; add it to PURPOSES")
    return zlib.crc32(purpose.encode("ascii"))


def keyed_rng(seed: int, purpose: str, stamp: int, draw: int = 0) -> np.random.Generator:
    """The generator of draw ``draw`` for stamp value ``stamp`` and ``purpose``.

    ``stamp`` is whatever the draw is for: the stamp's value, or for a draw that belongs to no
    stamp (a random weight matrix) its own index.

    Examples:
        >>> a = keyed_rng(0, "permuted-control", 8170, 2).integers(1 << 30)
        >>> b = keyed_rng(0, "permuted-control", 8170, 2).integers(1 << 30)
        >>> bool(a == b)
        True
    """
    if stamp < 0 or draw < 0 or seed < 0:
        raise ValueError(f"seed, stamp and draw must be >= 0; got {seed}, {stamp}, {draw}")
    return np.random.default_rng([seed, purpose_key(purpose), stamp, draw])
