"""Series mode for the exact LIF attribution: every step of one carried run, explained.

The network runs **once** over the series, its state carried from step to step. The prediction
at step ``tau`` is explained over the ``K`` steps ``tau - K + 1 .. tau`` with every spike of that
run held as observed, as :class:`~spikeattr.explain.exact_attribution.ExactLIFAttribution`
explains a window (same rules, targets and reference rates), except that the window starts from
the state the run carried into it rather than from rest. That state's share of the explained
quantity is not any input cell's (it is what the steps before the window contributed); the maps
inside the window are exactly those of the whole run from its first step
(:func:`~spikeattr.explain.exact.final_states`). Steps before the series' first are silent, from
rest.

Cost: one window explanation per step, in batches (the compiled scans of
:mod:`spikeattr.explain.exact_kernels`), plus one forward pass and one state scan per layer over
the series; memory is bounded by the chunk and the batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact import LIFRecording, exact_maps
from spikeattr.explain.exact_attribution import target_weights
from spikeattr.explain.exact_kernels import state_scan

#: The exact methods that series mode computes, by name: ``(rule, target)``.
EXACT_SERIES_METHODS: dict[str, str] = {"lif_z": "z", "lif_ab": "alpha_beta"}
#: Windows explained together (bounds the memory of the hidden layers' scans).
_BATCH_ELEMENTS = 1 << 22
#: The most memory a run's history and one step's maps may take.
_MAX_RUN_BYTES = 1 << 30


def exact_support(model: Any, tolerance: float) -> int:
    """``K``: ``ceil(L log(tolerance) / log(max(alpha, beta)))``, the steps over which a spike's
    effect through the ``L`` layers, without resets, falls below ``tolerance`` of its scale."""
    if not 0 < tolerance < 1:
        raise ExplanationError(f"tolerance must lie in (0, 1); got {tolerance}")
    decay = max(float(model.alpha), float(model.beta))
    return max(1, math.ceil(model.n_layers * math.log(tolerance) / math.log(decay)))


class _PartStates:
    """The excitatory and inhibitory parts of every layer's state, scanned along the series."""

    def __init__(self, weights: list[np.ndarray], alpha: float, beta: float) -> None:
        self.parts = [(np.maximum(w, 0.0), np.minimum(w, 0.0)) for w in weights]
        self.alphas = [np.full(w.shape[1], alpha) for w in weights]
        self.betas = [np.full(w.shape[1], beta) for w in weights]
        self.syn = [np.zeros((2, w.shape[1])) for w in weights]
        self.mem = [np.zeros((2, w.shape[1])) for w in weights]

    def advance(
        self, inputs: list[np.ndarray], spikes: list[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Run ``[n_steps, n_l]`` inputs and the observed spikes (the resets); per layer the
        states ``[n_steps, 2, n]`` after each step."""
        syns, mems = [], []
        for layer, (x, s) in enumerate(zip(inputs, spikes, strict=True)):
            steps, n = x.shape[0], s.shape[1]
            syn_out = np.empty((steps, 2, n))
            mem_out = np.empty((steps, 2, n))
            for part, weight in enumerate(self.parts[layer]):
                syn_out[:, part], mem_out[:, part] = state_scan(
                    x @ weight,
                    s,
                    self.alphas[layer],
                    self.betas[layer],
                    self.syn[layer][part],
                    self.mem[layer][part],
                )
            syns.append(syn_out)
            mems.append(mem_out)
        return syns, mems


class ExactRun:
    """One carried run of a :class:`~spikeattr.snn.network.LIFNetwork`, explained step by step
    with the exact LIF attribution (the engine of series mode and of the online explainer).

    :meth:`advance` takes the next input steps, runs the network on them from the carried
    state and explains each of them over its ``K``-step window (see the module documentation).

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork`.
        method: ``"lif_z"`` or ``"lif_ab"``.
        support: ``K``.
        rates: the reference input ``q [n_in]`` (``None``: the plain rule, silence gets 0).
    """

    def __init__(
        self, model: Any, method: str, support: int, rates: np.ndarray | None = None
    ) -> None:
        if method not in EXACT_SERIES_METHODS:
            raise ExplanationError(
                f"unknown exact method {method!r}; choose one of {list(EXACT_SERIES_METHODS)}"
            )
        if support < 1:
            raise ExplanationError(f"support must be at least 1 step; got {support}")
        sizes = list(model.layer_sizes)
        per_step = sum(sizes) + 32 * sum(sizes[1:]) + 8 * sizes[0] * sizes[-1]
        if support * per_step > _MAX_RUN_BYTES:
            most = _MAX_RUN_BYTES // per_step
            raise ExplanationError(
                f"support {support} needs {support * per_step / 2**30:.1f} GiB of history and "
                f"maps for this model; use at most {most}"
            )
        self.model = model
        self.rule = EXACT_SERIES_METHODS[method]
        self.support = support
        self.weights = [w.detach().cpu().double().numpy() for w in model.weights]
        n_inputs = self.weights[0].shape[0]
        self.rates = np.zeros(n_inputs) if rates is None else np.asarray(rates, dtype=np.float64)
        if self.rates.shape != (n_inputs,):
            raise ExplanationError(
                f"rates must be [n_in={n_inputs}] spike rates; got shape {self.rates.shape}"
            )
        self.reset()

    def reset(self) -> None:
        """Start again from rest, with silent steps before the first."""
        sizes = [w.shape[1] for w in self.weights]
        history = self.support - 1
        self.states = _PartStates(self.weights, float(self.model.alpha), float(self.model.beta))
        self.lead_inputs = [np.zeros((history, w.shape[0]), dtype=np.int8) for w in self.weights]
        self.lead_spikes = [np.zeros((history, n), dtype=np.int8) for n in sizes]
        self.lead_syn = [np.zeros((history + 1, 2, n)) for n in sizes]  # before each step
        self.lead_mem = [np.zeros((history + 1, 2, n)) for n in sizes]
        self.run_state: Any = None
        self.previous_membrane = np.zeros((1, sizes[-1]))
        self.steps_seen = 0

    def advance(self, rows: np.ndarray, explain: bool = True) -> dict[str, np.ndarray]:
        """Run and explain the input steps ``rows [n, n_in]`` (0/1): ``probs [n, C]``, and
        with ``explain`` ``attribution [n, C, n_in, K]`` (float64; column ``k`` of row ``j``
        is step ``start + j - (K - 1) + k``, steps before the first are 0) and
        ``carried [n, C]``."""
        model, history = self.model, self.support - 1
        start = self.steps_seen
        chunk = torch.from_numpy(rows.astype(np.float32)).to(model.weights[0].dtype)[None]
        with torch.no_grad():
            out = model(chunk, self.run_state)
        self.run_state = out.state
        self.steps_seen += rows.shape[0]
        membrane = out.membrane[0].double().numpy()  # [n, C]
        hidden = [s[0].numpy().astype(np.int8) for s in out.layer_spikes]
        # the output layer's spikes: s[t] = H(mem[t-1] - threshold)
        before = np.concatenate([self.previous_membrane, membrane[:-1]])
        emitted = [*hidden, (before - float(model.params.threshold) > 0).astype(np.int8)]
        self.previous_membrane = membrane[-1:]
        inputs = [rows.astype(np.int8), *hidden]
        syn, mem = self.states.advance([x.astype(np.float64) for x in inputs], emitted)
        all_inputs = [np.concatenate(p) for p in zip(self.lead_inputs, inputs, strict=True)]
        all_spikes = [np.concatenate(p) for p in zip(self.lead_spikes, emitted, strict=True)]
        all_syn = [np.concatenate(p) for p in zip(self.lead_syn, syn, strict=True)]
        all_mem = [np.concatenate(p) for p in zip(self.lead_mem, mem, strict=True)]
        self.lead_inputs = [a[a.shape[0] - history :] for a in all_inputs]
        self.lead_spikes = [a[a.shape[0] - history :] for a in all_spikes]
        self.lead_syn = [a[a.shape[0] - history - 1 :] for a in all_syn]
        self.lead_mem = [a[a.shape[0] - history - 1 :] for a in all_mem]
        probs = torch.softmax(torch.from_numpy(membrane), dim=-1).numpy()
        result = {"probs": probs}
        if explain:
            attribution, carried = self._explain(
                all_inputs, all_spikes, all_syn, all_mem, membrane, probs
            )
            _mask_before_the_series(attribution, start)
            result.update(attribution=attribution, carried=carried)
        return result

    def _explain(
        self,
        inputs: list[np.ndarray],
        spikes: list[np.ndarray],
        syn: list[np.ndarray],
        mem: list[np.ndarray],
        membrane: np.ndarray,
        probs: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The maps ``[n, C, n_in, K]`` and carried shares ``[n, C]`` of the ``n`` windows ending
        at the chunk's steps; ``inputs``/``spikes`` hold ``K - 1`` steps before the chunk,
        ``syn``/``mem`` the split states before each of those steps and after each step."""
        n, classes = membrane.shape
        support = self.support
        widest = max(w.shape[0] for w in self.weights)
        batch = max(1, _BATCH_ELEMENTS // (classes * widest * (support + 2)))
        attribution = np.empty((n, classes, self.weights[0].shape[0], support))
        carried = np.empty((n, classes))
        for first in range(0, n, batch):
            rows = list(range(first, min(n, first + batch)))
            initial_syn = [np.stack([a[j] for j in rows], axis=1) for a in syn]  # [2, b, n]
            initial_mem = [np.stack([a[j] for j in rows], axis=1) for a in mem]
            if self.rule == "z":  # the whole state is enough
                initial_syn = [s.sum(axis=0) for s in initial_syn]
                initial_mem = [m.sum(axis=0) for m in initial_mem]
            recording = LIFRecording(
                layer_inputs=[np.stack([a[j : j + support] for j in rows]) for a in inputs],
                layer_spikes=[np.stack([a[j : j + support] for j in rows]) for a in spikes],
                weights=self.weights,
                alphas=self.states.alphas,
                betas=self.states.betas,
                scores=membrane[rows],
                initial_syn=initial_syn,
                initial_mem=initial_mem,
            )
            maps = exact_maps(recording, self.rule)
            target = target_weights(probs[rows], "contrastive")
            sensitivity, _ = maps.combine(target)
            x = maps.inputs[:, None]
            attribution[first : first + len(rows)] = (
                x - self.rates[None, None, :, None]
            ) * sensitivity
            carried[first : first + len(rows)] = maps.combined_absorbed(target)
        return attribution, carried


def exact_series_chunks(
    model: Any,
    spikes: np.ndarray,
    method: str,
    support: int,
    chunk_size: int,
    rates: np.ndarray | None = None,
    first_chunk: int = 0,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """``(index, arrays)`` per chunk from ``first_chunk``: ``start``, ``predicted [n]``,
    ``probs [n, C]``, ``attribution [n, C, n_in, K]`` (float64; ``attribution[j, :, :, k]`` is
    step ``start + j - (K - 1) + k``) and ``carried [n, C]``, the carried state's share of each
    class's explained quantity (contrastive target; the plain rule's map plus it is the target).

    ``rates [n_in]``: the reference input (default: the series' own rates). The chunks before
    ``first_chunk`` are run, not explained."""
    n_steps = spikes.shape[0]
    if rates is None:
        rates = spikes.mean(axis=0, dtype=np.float64)
    run = ExactRun(model, method, support, rates)
    for index in range(-(-n_steps // chunk_size)):
        start, stop = index * chunk_size, min(n_steps, (index + 1) * chunk_size)
        arrays = run.advance(spikes[start:stop], explain=index >= first_chunk)
        if index < first_chunk:
            continue
        probs = arrays["probs"]
        yield (
            index,
            {
                "start": np.array(start, dtype=np.int64),
                "predicted": probs.argmax(-1).astype(np.int64),
                "probs": probs,
                "attribution": arrays["attribution"],
                "carried": arrays["carried"],
            },
        )


def _mask_before_the_series(attribution: np.ndarray, start: int) -> None:
    """Zero the columns of steps before the series' first (``attribution[j, :, :, k]`` is step
    ``start + j - (K - 1) + k``): they did not happen."""
    support = attribution.shape[-1]
    for j in range(min(attribution.shape[0], max(0, support - 1 - start))):
        attribution[j, :, :, : support - 1 - start - j] = 0.0
