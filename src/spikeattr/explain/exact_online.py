"""Explaining a live spike stream with the exact LIF attribution: :class:`ExactOnlineExplainer`.

The same engine as series mode (:class:`~spikeattr.explain.exact_series.ExactRun`): the network
state is carried from step to step, the last ``K - 1`` steps of every layer and the state before
each of them are kept, and each arriving step is explained over its ``K``-step window with every
spike of the run held as observed, from the state the run carried into the window. Its maps
equal series mode over the same stream, and window mode from the stream's start over
``[0, tau + 1)`` (its last ``K`` columns). Unlike TSA's online explainer the cost per step is
that of one window explanation, ``O(K C sum_l n_l n_{l+1})``, not ``O(C n_0 K)``; memory is
constant. Spikeattr networks only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact_series import EXACT_SERIES_METHODS, ExactRun, exact_support
from spikeattr.explain.online import OnlineChunk, OnlineStep
from spikeattr.snn.network import LIFNetwork

DEFAULT_EXACT_ONLINE_TOLERANCE = 1e-7


class ExactOnlineExplainer:
    """Explain the newest step of a live spike stream with the exact LIF attribution.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork`.
        method: ``"lif_z"`` or ``"lif_ab"``.
        support: ``K`` (default from ``tolerance``:
            :func:`~spikeattr.explain.exact_series.exact_support`).
        tolerance: when ``support`` is not given.
        rates: the reference input ``q [n_in]``, e.g. the training data's spike rates
            (:func:`~spikeattr.explain.methods.channel_rates`); ``None``: the plain rule, which
            gives silent cells 0.

    Examples:
        >>> from spikeattr.snn import load_model
        >>> explainer = ExactOnlineExplainer(load_model("published:synthetic_1L"), support=50)
        >>> step = explainer.step(np.array([1, 0, 1]))
        >>> step.step, step.attribution.shape, step.attribution.dtype  # [C, n_in, K]
        (0, (4, 3, 50), dtype('float64'))
    """

    def __init__(
        self,
        model: Any,
        method: str = "lif_z",
        support: int | None = None,
        tolerance: float = DEFAULT_EXACT_ONLINE_TOLERANCE,
        rates: np.ndarray | None = None,
    ) -> None:
        if not isinstance(model, LIFNetwork):
            raise ExplanationError(
                "the exact online explainer needs a spikeattr LIFNetwork; got "
                f"{type(model).__name__}"
            )
        if method not in EXACT_SERIES_METHODS:
            raise ExplanationError(
                f"unknown method {method!r}; choose one of {list(EXACT_SERIES_METHODS)}"
            )
        self.method = method
        self.support = exact_support(model, tolerance) if support is None else int(support)
        self._run = ExactRun(model, method, self.support, rates)
        self._previous: np.ndarray | None = None  # the last step's maps [C, n_in, K]
        self._predicted = -1

    @property
    def n_inputs(self) -> int:
        """``n_in``."""
        return int(self._run.weights[0].shape[0])

    @property
    def n_classes(self) -> int:
        """``C``."""
        return int(self._run.weights[-1].shape[1])

    @property
    def steps_seen(self) -> int:
        """Steps explained since construction or :meth:`reset`."""
        return self._run.steps_seen

    def reset(self) -> None:
        """Start a new stream: rest, empty history, step counter at 0."""
        self._run.reset()
        self._previous = None
        self._predicted = -1

    def step(self, spikes: np.ndarray | torch.Tensor | Sequence[int]) -> OnlineStep:
        """Explain the newest step given its input spikes ``[n_in]`` (0/1)."""
        chunk = self.feed(_rows(spikes, (self.n_inputs,))[None])
        return OnlineStep(
            step=chunk.start,
            predicted=int(chunk.predicted[0]),
            probs=chunk.probs[0],
            attribution=cast(np.ndarray, chunk.attribution)[0],  # maps="all": always there
            changed=len(chunk.changes) > 0,
        )

    def feed(
        self, spikes: np.ndarray | torch.Tensor | Sequence[Sequence[int]], maps: str = "all"
    ) -> OnlineChunk:
        """Explain each step of a chunk ``[t, n_in]`` in turn, as if fed one at a time.

        ``maps``: ``"all"`` (every class), ``"predicted"`` (the predicted class's map and, at
        changes, what moved it: the new class's map minus its map one step earlier, aligned on
        the newer map's steps) or ``"none"`` (predictions only; nothing is explained)."""
        if maps not in ("all", "predicted", "none"):
            raise ExplanationError(f"maps must be all, predicted or none; got {maps!r}")
        array = np.asarray(spikes.detach().cpu() if isinstance(spikes, torch.Tensor) else spikes)
        rows = _rows(array, (array.shape[0] if array.ndim == 2 else -1, self.n_inputs))
        if rows.shape[0] == 0:
            raise ExplanationError("spikes has no steps; nothing to explain")
        start = self.steps_seen
        arrays = self._run.advance(rows, explain=maps != "none")
        probs = arrays["probs"]
        predicted = probs.argmax(-1).astype(np.int64)
        before = np.concatenate([[self._predicted], predicted[:-1]])
        changes = np.flatnonzero(predicted != before).tolist()
        attribution = arrays.get("attribution")
        explanation = moved = None
        if attribution is not None:
            explanation = attribution[np.arange(len(predicted)), predicted]
            moved = np.empty((len(changes), self.n_inputs, self.support))
            for index, j in enumerate(changes):
                moved[index] = self._moved(attribution, j, int(predicted[j]))
            self._previous = attribution[-1]
        else:
            self._previous = None
        self._predicted = int(predicted[-1])
        return OnlineChunk(
            start=start,
            predicted=predicted,
            probs=probs,
            attribution=attribution if maps == "all" else None,
            explanation=explanation,
            changes=np.asarray(changes, dtype=np.int64),
            moved=moved,
        )

    def _moved(self, attribution: np.ndarray, row: int, best: int) -> np.ndarray:
        """The map of class ``best`` at ``row`` minus its map one step earlier, aligned."""
        now = attribution[row, best]
        if row:
            earlier = attribution[row - 1, best]
        elif self._previous is not None:
            earlier = self._previous[best]
        else:
            earlier = np.zeros_like(now)
        out = now.copy()
        out[:, :-1] -= earlier[:, 1:]
        return out


def _rows(spikes: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Spikes of ``shape`` (``[n_in]`` or ``[t, n_in]``) holding 0/1, as int8; or a clear
    error."""
    rows = np.asarray(spikes.detach().cpu() if isinstance(spikes, torch.Tensor) else spikes)
    if rows.shape != shape:
        wanted = "[n_in]" if len(shape) == 1 else "[t, n_in]"
        raise ExplanationError(
            f"spikes must have shape {wanted} with n_in = {shape[-1]}; got {rows.shape}"
        )
    if not bool(np.isin(rows, (0, 1)).all()):
        raise ExplanationError("spikes must hold 0 or 1 only")
    return rows.astype(np.int8)
