"""Evidence masks: which input cells decide the label of each step (SPEC 5.2), stored sparsely.

A task with known answers (:mod:`spikeattr.data.benchmark`) records, for every labelled step
``t``, the input cells ``(step, channel)`` that decide its label. Most steps of a long series
share most of their cells with their neighbours, and a dense ``[T, n_in, T]`` mask is out of the
question, so the cells are stored as a compressed sparse row (CSR) table:

* ``ptr`` int64 ``[T + 1]``: the cells of step ``t`` are ``cells[ptr[t]:ptr[t + 1]]``;
* ``cells`` int32 ``[N, 2]``: ``(absolute step, channel)`` of each cell.

Rules (checked by :meth:`EvidenceMask.check`, which every :class:`SpikeSeries` runs): ``ptr``
starts at 0, never decreases and ends at ``N``; every channel lies in ``[0, n_inputs)``; every
cell of step ``t`` lies in ``[0, t]`` (evidence precedes, or is, the step it decides: a causal
network could not use anything later); an unlabelled step (label ``-1``) has no cells.

The mask of an explained stamp (:meth:`EvidenceMask.window_mask`) is the ``[n_in, T_s]``
indicator of the cells of the explained step ``t - 1`` that fall in the stamp's window
``[start, t)``; cells before the window cannot be scored against the window's map and are left
out (benchmark windows are chosen longer than any task's evidence span).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from spikeattr.errors import DataFormatError


@dataclass(frozen=True)
class EvidenceMask:
    """The cells deciding the label of each of ``T`` steps, in CSR form (see the module docs).

    Example:
        >>> mask = EvidenceMask.from_slices(
        ...     np.array([[0, 1], [1, 1], [1, 2]]), start=np.array([0, 0, 3]),
        ...     stop=np.array([1, 3, 3]))
        >>> mask.cells_of(1).tolist()
        [[0, 1], [1, 1], [1, 2]]
        >>> mask.window_mask(2, 0, 3).astype(int).tolist()
        [[0, 0], [1, 1], [0, 1]]
    """

    ptr: np.ndarray
    cells: np.ndarray

    def __post_init__(self) -> None:
        ptr = np.asarray(self.ptr)
        cells = np.asarray(self.cells)
        if ptr.ndim != 1 or ptr.size == 0 or not np.issubdtype(ptr.dtype, np.integer):
            raise DataFormatError(
                f"field 'evidence_ptr' must be a non-empty 1-D integer array [T + 1]; got dtype "
                f"{ptr.dtype} and shape {ptr.shape}"
            )
        if cells.size == 0:
            cells = cells.reshape(0, 2)
        if cells.ndim != 2 or cells.shape[1] != 2 or not np.issubdtype(cells.dtype, np.integer):
            raise DataFormatError(
                f"field 'evidence_cells' must be an integer array [N, 2] of (step, channel); got "
                f"dtype {cells.dtype} and shape {cells.shape}"
            )
        if int(ptr[0]) != 0 or int(ptr[-1]) != cells.shape[0]:
            raise DataFormatError(
                f"field 'evidence_ptr' must start at 0 and end at the number of cells "
                f"({cells.shape[0]}); got {int(ptr[0])} ... {int(ptr[-1])}"
            )
        steps = np.diff(ptr)
        if (steps < 0).any():
            bad = int(np.flatnonzero(steps < 0)[0])
            raise DataFormatError(
                f"field 'evidence_ptr' must never decrease; ptr[{bad + 1}] = {int(ptr[bad + 1])} "
                f"< ptr[{bad}] = {int(ptr[bad])}"
            )
        if cells.size and (cells.min() < 0 or cells.max() > np.iinfo(np.int32).max):
            raise DataFormatError(
                f"field 'evidence_cells' must hold non-negative int32 (step, channel) pairs; "
                f"got values in [{int(cells.min())}, {int(cells.max())}]"
            )
        object.__setattr__(self, "ptr", np.ascontiguousarray(ptr, dtype=np.int64))
        object.__setattr__(self, "cells", np.ascontiguousarray(cells, dtype=np.int32))

    @property
    def n_steps(self) -> int:
        """Number of steps ``T`` the mask covers."""
        return int(self.ptr.shape[0] - 1)

    def check(self, n_steps: int, n_inputs: int, labels: np.ndarray | None = None) -> None:
        """Raise :class:`DataFormatError` unless the mask fits a series of ``n_steps`` steps and
        ``n_inputs`` channels: causal cells, channels in range, no cells for unlabelled steps."""
        if self.n_steps != n_steps:
            raise DataFormatError(
                f"field 'evidence_ptr' has {self.ptr.shape[0]} entries; a series of {n_steps} "
                f"steps needs {n_steps + 1}"
            )
        if not self.cells.size:
            return
        channels = self.cells[:, 1]
        if channels.max() >= n_inputs:
            row = int(np.argmax(channels >= n_inputs))
            raise DataFormatError(
                f"field 'evidence_cells' row {row} names channel {int(channels[row])}; the series "
                f"has {n_inputs} channels"
            )
        owner = np.repeat(np.arange(n_steps, dtype=np.int64), np.diff(self.ptr))
        late = self.cells[:, 0] > owner
        if late.any():
            row = int(np.argmax(late))
            raise DataFormatError(
                f"field 'evidence_cells' row {row} is step {int(self.cells[row, 0])}, after the "
                f"step {int(owner[row])} whose label it decides; evidence must precede its step"
            )
        if labels is not None:
            empty = np.asarray(labels)[owner] < 0
            if empty.any():
                row = int(np.argmax(empty))
                raise DataFormatError(
                    f"field 'evidence_cells' row {row} is evidence for step {int(owner[row])}, "
                    "which is unlabelled (-1); only labelled steps have evidence"
                )

    # -- reading ------------------------------------------------------------------------------
    def cells_of(self, step: int) -> np.ndarray:
        """The cells ``(step, channel)`` deciding the label of ``step``, int32 ``[k, 2]``."""
        return self.cells[self.ptr[step] : self.ptr[step + 1]]

    def window_mask(self, stamp: int, start: int, n_inputs: int) -> np.ndarray:
        """Boolean ``[n_inputs, stamp - start]``: the cells of the explained step ``stamp - 1``
        inside the window ``[start, stamp)``, column ``j`` being step ``start + j``."""
        if not 0 <= start < stamp <= self.n_steps:
            raise DataFormatError(
                f"a stamp's window [{start}, {stamp}) must lie in the series' [0, {self.n_steps})"
            )
        mask = np.zeros((n_inputs, stamp - start), dtype=bool)
        cells = self.cells_of(stamp - 1)
        inside = cells[:, 0] >= start
        mask[cells[inside, 1], cells[inside, 0] - start] = True
        return mask

    def restrict(self, start: int, stop: int) -> EvidenceMask:
        """The mask of steps ``[start, stop)`` with steps counted from ``start``; cells before
        ``start`` (outside the part) are dropped."""
        first, last = int(self.ptr[start]), int(self.ptr[stop])
        cells = self.cells[first:last].astype(np.int64)
        keep = cells[:, 0] >= start
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        ptr = kept_before[self.ptr[start : stop + 1] - first]
        cells = cells[keep]
        cells[:, 0] -= start
        return EvidenceMask(ptr, cells)

    def sha256(self) -> str:
        """SHA-256 of the C-order bytes of ``ptr`` (int64) followed by ``cells`` (int32)."""
        digest = hashlib.sha256(self.ptr.tobytes())
        digest.update(self.cells.tobytes())
        return digest.hexdigest()

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_slices(cls, table: np.ndarray, start: np.ndarray, stop: np.ndarray) -> EvidenceMask:
        """Step ``t`` gets the rows ``table[start[t]:stop[t]]`` of a table of cells ``[M, 2]``
        (``stop[t] <= start[t]``: no cells). Generators list their cells once and give each
        step a slice of the list."""
        table = np.asarray(table, dtype=np.int64).reshape(-1, 2)
        start = np.asarray(start, dtype=np.int64)
        lengths = np.maximum(np.asarray(stop, dtype=np.int64) - start, 0)
        ptr = np.concatenate([[0], np.cumsum(lengths)])
        offsets = np.repeat(start - ptr[:-1], lengths) + np.arange(int(ptr[-1]), dtype=np.int64)
        return cls(ptr, table[offsets])
