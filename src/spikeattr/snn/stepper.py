"""Run a :class:`~spikeattr.snn.network.LIFNetwork` a few steps at a time, state carried, compiled.

Live use feeds a network one input step (or a short chunk) at a time. A torch forward per step
costs tens of microseconds of dispatch alone, so :class:`NetworkStepper` runs the dynamics of
SPEC 3 in one compiled loop over the steps and layers of a chunk, with the layer state kept
between calls. The arithmetic is that of :meth:`LIFNetwork.forward` on the CPU, operation for
operation: input currents accumulated in float64 over the non-zero inputs in index order and
rounded once (:func:`~spikeattr.snn.network.input_currents`), then the float32 update
``s = H(mem - threshold)``, ``syn = alpha syn + I``, ``mem = 0 if s else beta mem + syn``
(:mod:`spikeattr.snn.kernels`). The results are therefore bit-identical to one forward pass
over the concatenated chunks, however the stream is cut.
"""

from __future__ import annotations

import numba
import numpy as np

from spikeattr.errors import DataFormatError
from spikeattr.snn.network import LIFNetwork


@numba.njit(cache=True, nogil=True)
def _first_non_binary(spikes: np.ndarray) -> int:
    """Index of the first row of ``spikes [t, n]`` holding a value other than 0 or 1, else -1."""
    for r in range(spikes.shape[0]):
        for i in range(spikes.shape[1]):
            value = spikes[r, i]
            if value != 0 and value != 1:
                return r
    return -1


@numba.njit(cache=True, nogil=True)
def _network_steps(
    spikes: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    sizes: np.ndarray,
    syn: np.ndarray,
    mem: np.ndarray,
    alpha: np.float32,
    beta: np.float32,
    threshold: np.float32,
    accumulator: np.ndarray,
    layer_inputs: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Advance every layer over the rows of ``spikes [t, n_0]`` (float32 0/1).

    ``weights``: all ``W_l [n_l, n_{l+1}]`` row-major, ``W_l`` starting at ``offsets[l]``;
    ``syn``/``mem``: float32 state of layers ``1 .. L`` concatenated (updated in place);
    ``accumulator``: float64 scratch of the widest layer. Writes ``layer_inputs [t, sum_{l<L}
    n_l]`` (the spikes entering each weight layer, input first) and the output membrane
    ``scores [t, C]``.
    """
    n_layers = sizes.shape[0] - 1
    for r in range(spikes.shape[0]):
        for i in range(sizes[0]):
            layer_inputs[r, i] = spikes[r, i]
        column = 0  # where layer l's input starts in the layer_inputs row
        state = 0  # where layer l's state starts in syn/mem
        for layer in range(n_layers):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            base = offsets[layer]
            for j in range(n_out):
                accumulator[j] = 0.0
            for i in range(n_in):
                value = layer_inputs[r, column + i]
                if value != 0:
                    row = base + i * n_out
                    for j in range(n_out):
                        accumulator[j] += np.float64(value) * np.float64(weights[row + j])
            last = layer == n_layers - 1
            for j in range(n_out):
                current = np.float32(accumulator[j])
                k = state + j
                fired = mem[k] - threshold > 0
                syn[k] = alpha * syn[k] + current
                mem[k] = 0.0 if fired else beta * mem[k] + syn[k]
                if last:
                    scores[r, j] = mem[k]
                else:
                    layer_inputs[r, column + n_in + j] = 1.0 if fired else 0.0
            column += n_in
            state += n_out


class NetworkStepper:
    """A :class:`LIFNetwork` advanced chunk by chunk from carried state, in compiled code.

    Examples:
        >>> from spikeattr.snn import load_model
        >>> stepper = NetworkStepper(load_model("published:synthetic_2L"))
        >>> inputs, scores = stepper.advance(np.ones((5, 3), dtype=np.float32))
        >>> inputs.shape, scores.shape  # [t, n_0 + n_1], [t, C]
        ((5, 13), (5, 4))
    """

    def __init__(self, model: LIFNetwork) -> None:
        self.layer_sizes: tuple[int, ...] = model.layer_sizes
        weights = [w.detach().cpu().to(dtype=model.weights[0].dtype) for w in model.weights]
        if weights[0].dtype.itemsize != 4 or not weights[0].dtype.is_floating_point:
            raise DataFormatError(
                f"the compiled stepper runs float32 networks; this one is {weights[0].dtype} "
                "(load it with dtype=torch.float32)"
            )
        self._weights = np.concatenate([w.numpy().ravel() for w in weights]).astype(np.float32)
        self._offsets = np.cumsum([0] + [w.numel() for w in weights[:-1]]).astype(np.int64)
        self._sizes = np.asarray(self.layer_sizes, dtype=np.int64)
        self._alpha = np.float32(model.alpha)
        self._beta = np.float32(model.beta)
        self._threshold = np.float32(model.params.threshold)
        width = sum(self.layer_sizes[1:])
        self._syn = np.zeros(width, dtype=np.float32)
        self._mem = np.zeros(width, dtype=np.float32)
        self._accumulator = np.zeros(max(self.layer_sizes[1:]), dtype=np.float64)
        self.input_width = sum(self.layer_sizes[:-1])

    def reset(self) -> None:
        """Back to zero state, as at the start of a series."""
        self._syn[:] = 0.0
        self._mem[:] = 0.0

    def state(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of ``(syn [n_l], mem [n_l])`` of every layer ``l = 1 .. L``."""
        out = []
        start = 0
        for width in self.layer_sizes[1:]:
            out.append(
                (self._syn[start : start + width].copy(), self._mem[start : start + width].copy())
            )
            start += width
        return out

    def advance(
        self,
        spikes: np.ndarray,
        layer_inputs: np.ndarray | None = None,
        scores: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the rows of ``spikes [t, n_0]`` (0/1) from the carried state.

        Args:
            layer_inputs: optional float32 output buffer ``[t, sum_{l<L} n_l]`` to reuse.
            scores: optional float32 output buffer ``[t, C]`` to reuse.

        Returns:
            ``(layer_inputs, scores)``: the spikes entering each weight layer at each step
            (input, then each hidden layer) and the output membrane (the class scores).

        Raises:
            DataFormatError: ``spikes`` has the wrong shape or a value other than 0 and 1 (the
                state is left untouched).
        """
        rows = np.ascontiguousarray(spikes, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.layer_sizes[0]:
            raise DataFormatError(
                f"spikes must have shape [t, n_in={self.layer_sizes[0]}]; got {rows.shape}"
            )
        bad = _first_non_binary(rows)
        if bad >= 0:
            values = sorted({float(v) for v in rows[bad] if v not in (0.0, 1.0)})
            raise DataFormatError(
                f"spikes row {bad} holds {values[0]!r}; spikes must be 0 or 1 (nothing was run)"
            )
        steps = rows.shape[0]
        if layer_inputs is None:
            layer_inputs = np.empty((steps, self.input_width), dtype=np.float32)
        if scores is None:
            scores = np.empty((steps, self.layer_sizes[-1]), dtype=np.float32)
        _network_steps(
            rows,
            self._weights,
            self._offsets,
            self._sizes,
            self._syn,
            self._mem,
            self._alpha,
            self._beta,
            self._threshold,
            self._accumulator,
            layer_inputs,
            scores,
        )
        return layer_inputs, scores
