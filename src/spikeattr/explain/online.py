"""Explaining a live spike stream as it arrives: :class:`OnlineExplainer`.

Series mode (:mod:`spikeattr.explain.series`) explains every step of a *stored* series from one
forward pass. The online explainer does the same for a stream that is still being produced:
it keeps the network state and, for the last ``K`` steps, the per-step product ``B(t)`` of
SPEC 4, and explains the newest step as each input step arrives. With the decay
``g = prod_l beta_l`` per step back,

    A_tau[:, :, k] = g^(K - k) B(tau - K + 1 + k) diag(p_tau),   k = 0 .. K-1,

so column ``k = K - 1`` is the newest step ``tau`` itself, exactly the column order of a series
chunk (``attribution[j, :, :, k]`` is series step ``start + j - (K - 1) + k``). ``B`` of a step
is computed once, when the step arrives; older columns are only rescaled. Memory is constant
(``2 K C n_0`` floats and the layer state) and the cost per step does not grow with the length
of the stream: ``sum_l n_l n_{l+1} C`` multiply-adds for ``B``, ``C n_0 K`` for the map.

The result equals series mode over the same series from zero state (maps to 1e-6 of their
largest value, predictions identical) and, for a stream started from rest, window mode over the
window ``[0, tau + 1)``. spikeattr networks run in compiled code (:mod:`spikeattr.snn.stepper`,
bit-identical to ``LIFNetwork.forward``); snnTorch and Norse adapters run their torch layers
one step at a time (slower, same maths).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from spikeattr.errors import DataFormatError, ExplanationError
from spikeattr.explain.adapters._dense import DenseSpikingAdapter
from spikeattr.explain.online_kernels import (
    MAPS_ALL,
    MAPS_NONE,
    MAPS_PREDICTED,
    ProductOperands,
    explain_steps,
)
from spikeattr.explain.tsa import VARIANTS, decay_exponents, support_length
from spikeattr.snn.conv_network import ConvLIFNetwork
from spikeattr.snn.network import LIFNetwork
from spikeattr.snn.stepper import NetworkStepper

Maps = Literal["all", "predicted", "none"]
_MODES = {"none": MAPS_NONE, "predicted": MAPS_PREDICTED, "all": MAPS_ALL}
DEFAULT_ONLINE_TOLERANCE = 1e-7
_MAX_RING_BYTES = 1 << 30


@dataclass
class OnlineStep:
    """The explanation of one newly arrived step.

    Attributes:
        step: index of the step in the stream (0 = the first step after construction or
            :meth:`OnlineExplainer.reset`).
        predicted: predicted class.
        probs: float32 ``[C]`` class probabilities.
        attribution: float32 ``[C, n_in, K]``; column ``k`` is stream step
            ``step - (K - 1) + k`` (steps before the stream's start are 0).
        changed: whether the prediction differs from the step before (True at step 0).
    """

    step: int
    predicted: int
    probs: np.ndarray
    attribution: np.ndarray
    changed: bool

    @property
    def explanation(self) -> np.ndarray:
        """``[n_in, K]`` map of the predicted class."""
        return self.attribution[self.predicted]


@dataclass
class OnlineChunk:
    """The explanations of ``t`` consecutive steps, laid out like a series-mode chunk.

    Attributes:
        start: stream index of the first step.
        predicted: int64 ``[t]``.
        probs: float32 ``[t, C]``.
        attribution: float32 ``[t, C, n_in, K]`` (``maps="all"``, else ``None``);
            ``attribution[j, :, :, k]`` is stream step ``start + j - (K - 1) + k``.
        explanation: float32 ``[t, n_in, K]`` map of each step's predicted class (``None`` with
            ``maps="none"``).
        changes: int64 ``[m]`` positions ``j`` where the prediction differs from the step
            before (position 0 of the stream counts as a change).
        moved: float32 ``[m, n_in, K]``: at each change, the map of the new class minus that
            class's map one step earlier, aligned on the newer map's steps (what moved the
            prediction; the step that left the window is not shown). ``None`` with
            ``maps="none"``.
    """

    start: int
    predicted: np.ndarray
    probs: np.ndarray
    attribution: np.ndarray | None
    explanation: np.ndarray | None
    changes: np.ndarray
    moved: np.ndarray | None

    def __len__(self) -> int:
        return int(self.predicted.shape[0])


def online_support(betas: Sequence[float], tolerance: float = DEFAULT_ONLINE_TOLERANCE) -> int:
    """``K``: steps back (the newest included) whose decay ``prod_l beta_l^k`` >= tolerance."""
    if not 0 < tolerance < 1:
        raise ExplanationError(f"tolerance must lie in (0, 1); got {tolerance}")
    return max(1, math.floor(-math.log(tolerance) / decay_exponents(betas)))


#: Why convolutional networks are refused: the online product keeps dense matrices.
CONVOLUTIONAL = (
    "the live explainer keeps dense weight matrices W_l [n_l, n_{l+1}] and explains networks of "
    "dense layers only (no convolution or pooling)"
)


class OnlineExplainer:
    """Explain the newest step of a live spike stream as each input step arrives.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork` (compiled path) or an snnTorch /
            Norse adapter (:mod:`spikeattr.explain.adapters`; torch path, weights and decays
            read when the explainer is created or reset).
        variant: ``"s"``, ``"ns"`` or ``"sam"``.
        support: ``K``, the steps kept per map (the newest and ``K - 1`` before it); default
            from ``tolerance`` (:func:`online_support`), as in series mode.
        tolerance: decay below which older steps are dropped, when ``support`` is not given.

    Examples:
        >>> from spikeattr.snn import load_model
        >>> explainer = OnlineExplainer(load_model("published:synthetic_3L"), variant="ns")
        >>> step = explainer.step(np.array([1, 0, 1]))
        >>> step.step, step.attribution.shape  # [C, n_in, K]
        (0, (4, 3, 5))
        >>> chunk = explainer.feed(np.zeros((10, 3), dtype=np.int8))
        >>> chunk.start, chunk.attribution.shape  # [t, C, n_in, K]
        (1, (10, 4, 3, 5))
    """

    def __init__(
        self,
        model: Any,
        variant: str = "ns",
        support: int | None = None,
        tolerance: float = DEFAULT_ONLINE_TOLERANCE,
    ) -> None:
        if variant not in VARIANTS:
            raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
        if isinstance(model, ConvLIFNetwork):
            raise ExplanationError(
                f"{CONVOLUTIONAL}: {model.name!r} is a ConvLIFNetwork. Explain its windows with "
                "TemporalSpikeAttribution(model).attribute(spikes)"
            )
        if isinstance(model, DenseSpikingAdapter):
            model.require_dense(CONVOLUTIONAL)
        if isinstance(model, LIFNetwork):
            self._stepper: NetworkStepper | None = NetworkStepper(model)
            self._adapter: DenseSpikingAdapter | None = None
            sizes = model.layer_sizes
            betas = [model.beta] * model.n_layers
            weights = [w.detach().cpu().double().numpy() for w in model.weights]
            self.input_names: tuple[str, ...] = model.input_names
            self.class_names: tuple[str, ...] = model.class_names
        elif isinstance(model, DenseSpikingAdapter):
            self._stepper = None
            self._adapter = model
            sizes = model.layer_sizes
            betas = model.betas()
            weights = [w.detach().cpu().double().numpy() for w in model.weights()]
            self.input_names = tuple(f"in{i}" for i in range(sizes[0]))
            self.class_names = tuple(f"class{c}" for c in range(sizes[-1]))
        else:
            raise ExplanationError(
                f"cannot explain a {type(model).__name__} online: pass a spikeattr LIFNetwork or "
                "an snnTorch/Norse adapter (spikeattr.explain.adapters.adapt(model))"
            )
        self.model = model
        self.variant = variant
        self.layer_sizes: tuple[int, ...] = tuple(sizes)
        self.betas = list(betas)
        k_support = online_support(betas, tolerance) if support is None else int(support)
        useful = max(1, support_length(betas, 1 << 62, torch.float32))
        if not 1 <= k_support <= useful:
            raise ExplanationError(
                f"support must lie in [1, {useful}] for this model (older steps have a decay "
                f"below the smallest normal float32 and are exactly 0); got {k_support}"
            )
        ring_bytes = 2 * k_support * sizes[0] * sizes[-1] * 8
        if ring_bytes > _MAX_RING_BYTES:
            raise ExplanationError(
                f"support {k_support} needs {ring_bytes / 2**30:.1f} GiB of history; use a "
                "shorter one"
            )
        self.support = k_support
        self._operands = ProductOperands.of(weights, variant)
        rate = decay_exponents(betas)
        self._decay = np.exp(-rate * np.arange(k_support, 0, -1, dtype=np.float64))
        self._ring = np.zeros((sizes[-1], sizes[0], 2 * k_support), dtype=np.float64)
        self._counters = np.array([0, 0, -1], dtype=np.int64)
        self._previous_probs = np.zeros(sizes[-1], dtype=np.float64)
        self._buffer_a, self._buffer_b = self._operands.scratch()
        self._adapter_state: Any = None
        # scratch of step(): the forward's outputs and the kernel's bookkeeping
        self._inputs_1 = np.zeros((1, sum(sizes[:-1])), dtype=np.float32)
        self._scores_1 = np.zeros((1, sizes[-1]), dtype=np.float32)
        self._predicted_1 = np.zeros(1, dtype=np.int64)
        self._changes_1 = np.zeros(1, dtype=np.int64)
        self._moved_1 = np.zeros((1, sizes[0], k_support), dtype=np.float32)
        self._unused = np.zeros((0, sizes[0], k_support), dtype=np.float32)
        self._unused_maps = np.zeros((0, sizes[-1], sizes[0], k_support), dtype=np.float32)

    @property
    def n_inputs(self) -> int:
        """``n_in``."""
        return self.layer_sizes[0]

    @property
    def n_classes(self) -> int:
        """``C``."""
        return self.layer_sizes[-1]

    @property
    def steps_seen(self) -> int:
        """Steps explained since construction or the last :meth:`reset`."""
        return int(self._counters[1])

    def reset(self) -> None:
        """Start a new stream: zero network state, empty history, step counter at 0."""
        if self._stepper is not None:
            self._stepper.reset()
        self._adapter_state = None
        self._ring[:] = 0.0
        self._counters[:] = (0, 0, -1)
        self._previous_probs[:] = 0.0

    def step(self, spikes: np.ndarray | torch.Tensor | Sequence[int]) -> OnlineStep:
        """Explain the newest step given its input spikes ``[n_in]`` (0/1)."""
        row = _as_rows(spikes, self.n_inputs, one=True)
        index = self.steps_seen
        self._forward(row, self._inputs_1, self._scores_1)
        probs = np.empty((1, self.n_classes), dtype=np.float32)
        maps = np.empty((1, self.n_classes, self.n_inputs, self.support), dtype=np.float32)
        changed = explain_steps(
            self._inputs_1,
            self._scores_1,
            self._operands.weights,
            self._operands.offsets,
            self._operands.sizes,
            self._operands.ns,
            self._operands.top_product,
            self._ring,
            self._counters,
            self._previous_probs,
            self._decay,
            MAPS_ALL,
            self._buffer_a,
            self._buffer_b,
            probs,
            self._predicted_1,
            maps,
            self._unused,
            self._changes_1,
            self._moved_1,
        )
        return OnlineStep(index, int(self._predicted_1[0]), probs[0], maps[0], changed > 0)

    def feed(
        self, spikes: np.ndarray | torch.Tensor | Sequence[Sequence[int]], maps: Maps = "all"
    ) -> OnlineChunk:
        """Explain each step of a chunk ``[t, n_in]`` in turn, as if fed one at a time.

        ``maps`` chooses what is kept: ``"all"`` (every class, ``t C n_in K`` floats),
        ``"predicted"`` (the predicted class's map and, at changes, what moved it) or
        ``"none"`` (predictions and probabilities only). Feed a long backlog in pieces to bound
        the memory of the result.
        """
        if maps not in _MODES:
            raise ExplanationError(f"maps must be one of {list(_MODES)}; got {maps!r}")
        rows = _as_rows(spikes, self.n_inputs, one=False)
        steps, n_in, n_classes, k = rows.shape[0], self.n_inputs, self.n_classes, self.support
        start = self.steps_seen
        inputs = np.empty((steps, self._inputs_1.shape[1]), dtype=np.float32)
        scores = np.empty((steps, n_classes), dtype=np.float32)
        self._forward(rows, inputs, scores)
        mode = _MODES[maps]
        probs = np.empty((steps, n_classes), dtype=np.float32)
        predicted = np.empty(steps, dtype=np.int64)
        attribution = (
            np.empty((steps, n_classes, n_in, k), dtype=np.float32)
            if mode == MAPS_ALL
            else self._unused_maps
        )
        explanation = (
            np.empty((steps, n_in, k), dtype=np.float32) if mode == MAPS_PREDICTED else self._unused
        )
        changes = np.empty(steps, dtype=np.int64)
        moved = np.empty((steps, n_in, k), dtype=np.float32) if mode != MAPS_NONE else self._unused
        count = explain_steps(
            inputs,
            scores,
            self._operands.weights,
            self._operands.offsets,
            self._operands.sizes,
            self._operands.ns,
            self._operands.top_product,
            self._ring,
            self._counters,
            self._previous_probs,
            self._decay,
            mode,
            self._buffer_a,
            self._buffer_b,
            probs,
            predicted,
            attribution,
            explanation,
            changes,
            moved,
        )
        if mode == MAPS_ALL:
            explanation = attribution[np.arange(steps), predicted]
        return OnlineChunk(
            start=start,
            predicted=predicted,
            probs=probs,
            attribution=attribution if mode == MAPS_ALL else None,
            explanation=explanation if mode != MAPS_NONE else None,
            changes=changes[:count].copy(),
            moved=moved[:count].copy() if mode != MAPS_NONE else None,
        )

    def _forward(self, rows: np.ndarray, inputs: np.ndarray, scores: np.ndarray) -> None:
        """Advance the network over ``rows [t, n_in]``, filling ``inputs`` and ``scores``."""
        if self._stepper is not None:
            try:
                self._stepper.advance(rows, inputs, scores)
            except DataFormatError as exc:
                raise ExplanationError(str(exc)) from exc
            return
        assert self._adapter is not None
        _check_binary(rows)
        adapter = self._adapter
        n_layers = len(self.layer_sizes) - 1
        with torch.no_grad():
            for r in range(rows.shape[0]):
                window = torch.from_numpy(rows[r : r + 1]).unsqueeze(0)  # [1, 1, n_in]
                trace = adapter.run(window, state=self._adapter_state)
                self._adapter_state = trace.state
                inputs[r, : self.n_inputs] = rows[r]
                column = self.n_inputs
                for layer in range(n_layers - 1):
                    emitted = trace.layer_spikes[layer][0, 0].cpu().numpy()
                    inputs[r, column : column + emitted.shape[0]] = emitted
                    column += emitted.shape[0]
                scores[r] = trace.scores[0].cpu().float().numpy()


def _as_rows(spikes: Any, n_inputs: int, one: bool) -> np.ndarray:
    """``spikes`` as a C-contiguous float32 ``[t, n_in]`` array (``[1, n_in]`` if ``one``)."""
    if isinstance(spikes, torch.Tensor):
        spikes = spikes.detach().cpu().numpy()
    try:
        rows = np.ascontiguousarray(spikes, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ExplanationError(f"spikes must be an array of 0/1 values; {exc}") from exc
    expected = f"[n_in={n_inputs}]" if one else f"[t, n_in={n_inputs}]"
    if rows.ndim != (1 if one else 2) or rows.shape[-1] != n_inputs:
        raise ExplanationError(f"spikes must have shape {expected}; got {rows.shape}")
    return rows.reshape(1, n_inputs) if one else rows


def _check_binary(rows: np.ndarray) -> None:
    bad = ~((rows == 0) | (rows == 1))
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ExplanationError(
            f"spikes row {row} holds {float(rows[bad][0])!r}; spikes must be 0 or 1 (nothing "
            "was run)"
        )
