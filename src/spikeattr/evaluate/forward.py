"""Predictions on many perturbed copies of one window, sharing the unperturbed prefix.

Every perturbation metric re-runs the network on windows that differ from the original only
from some step ``t0`` on (TSA maps are concentrated at the end of the window). The network is
causal and each step's arithmetic does not depend on the batch, so the state after the common
prefix ``[0, t0)`` is computed once and the copies are run from there: the probabilities equal
those of full re-runs bit for bit, at a fraction of the cost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

BATCH = 256


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread: the forward passes of the metrics are many small
    batches, for which a second thread costs more (synchronisation) than it gives."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def last_step_probs(
    model: Any, window: np.ndarray, copies: np.ndarray, first_step: int | None = None
) -> np.ndarray:
    """Class probabilities at the last step of each copy, ``[P, C]`` (float64).

    Args:
        model: a network with ``forward(spikes, state)`` (a
            :class:`~spikeattr.snn.network.LIFNetwork`); anything else with ``predict_last`` is
            run on the whole copies.
        window: int8 ``[T, n_in]`` the original window.
        copies: int8 ``[P, T, n_in]`` perturbed copies of it.
        first_step: the first step at which any copy may differ from ``window``, when the
            caller knows it (else it is found by comparing); copies must equal ``window``
            before it.
    """
    copies = np.asarray(copies)
    if copies.shape[0] == 0:
        return np.zeros((0, _n_classes(model)), dtype=np.float64)
    if first_step is None:
        changed = np.flatnonzero((copies != window[None]).any(axis=(0, 2)))
        first_step = int(changed[0]) if changed.size else window.shape[0]
    t0 = max(0, min(int(first_step), window.shape[0]))
    if not hasattr(model, "layer_sizes"):
        return _predict(model, copies)
    with torch.no_grad():
        head = None
        if t0 > 0:
            head = model(torch.from_numpy(np.ascontiguousarray(window[None, :t0])).float())
            if t0 == window.shape[0]:
                probs = torch.softmax(head.membrane[:, -1].double(), dim=-1).numpy()
                return np.repeat(probs, copies.shape[0], axis=0)
        out = []
        for first in range(0, copies.shape[0], BATCH):
            part = np.ascontiguousarray(copies[first : first + BATCH, t0:])
            state = None  # a copy that differs from step 0 on runs from zero state
            if head is not None:
                state = [
                    type(s)(
                        s.syn.expand(part.shape[0], -1).clone(),
                        s.mem.expand(part.shape[0], -1).clone(),
                    )
                    for s in head.state
                ]
            # the softmax in float64 whatever t0 is: the scores of a metric must not depend on
            # where its first perturbed cell lies
            tail = model(torch.from_numpy(part).float(), state)
            out.append(torch.softmax(tail.membrane[:, -1].double(), dim=-1).numpy())
    return np.concatenate(out)


def _predict(model: Any, copies: np.ndarray) -> np.ndarray:
    probs = model.predict_last(torch.from_numpy(np.ascontiguousarray(copies)).float(), BATCH)
    return np.asarray(probs.double().cpu().numpy())


def _n_classes(model: Any) -> int:
    sizes = getattr(model, "layer_sizes", None)
    return int(sizes[-1]) if sizes else 0
