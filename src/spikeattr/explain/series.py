"""Explaining every step of a long series from one forward pass (series mode).

Window mode (:mod:`spikeattr.explain.stamps`) re-runs the network from zero state on the window
before each stamp, as the paper did. Series mode runs the network **once** over the whole series
with the state carried from step to step, which is how the network is deployed, and explains the
prediction at every step ``tau`` from the spikes of that single run. Because
``A_tau[:, :, t] = beta^(L (tau + 1 - t)) B(t) diag(p_tau)`` and ``B(t)`` does not depend on
``tau``, one pass computes ``B`` once per step and slides a ``K``-step window over it. The two
modes agree wherever the zero-state window run and the carried-state run produce the same spikes
(always, once the window is much longer than the memory of the network), but not in general.

The exact LIF attribution (``"lif_z"``, ``"lif_ab"``) computes its chunks in
:mod:`spikeattr.explain.exact_series` (float64, plus ``carried [n, C]``).

Output: a directory with ``series.json`` (shapes, config, progress) and one atomically written
``chunks/chunk_NNNNNN.npz`` per chunk, holding for its steps ``predicted [n]``, ``probs [n, C]``
and ``attribution [n, C, n_in, K]`` where ``attribution[j, :, :, k]`` is series step
``start + j - (K - 1) + k`` (``k = K - 1`` is the explained step itself; steps before 0 are 0).
Memory is bounded by the chunk size; an interrupted run resumes at the first missing or
unreadable chunk. The directory is locked (:class:`~spikeattr._io.RunLock`) while a run writes
there, and temporary files of a killed run are swept when the next one starts. This module is
the only reader and writer of that directory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from spikeattr._io import (
    RunLock,
    array_sha256,
    check_output_path,
    load_json,
    load_npz,
    save_npz_atomic,
    write_json_atomic,
)
from spikeattr.data.series import SpikeSeries, check_binary_spikes
from spikeattr.errors import DataFormatError, ExplanationError
from spikeattr.explain.display import Displayable
from spikeattr.explain.exact_series import (
    EXACT_SERIES_METHODS,
    exact_series_chunks,
    exact_support,
)
from spikeattr.explain.files import Explanations, numbered
from spikeattr.explain.online_kernels import ProductOperands
from spikeattr.explain.tsa import VARIANTS, decay_exponents, support_length
from spikeattr.snn.lif import LIFState
from spikeattr.snn.network import LIFNetwork

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SERIES_FORMAT = "spikeattr-series-explanation"
DEFAULT_SERIES_TOLERANCE = 1e-7
_CHUNK_ELEMENTS = 1 << 23  # attribution elements per chunk (32 MiB in float32)
_MIN_CHUNK = 256
_MAX_CHUNK_BYTES = 1 << 30  # refuse a support whose smallest chunk would need more than 1 GiB


def series_support(model: LIFNetwork, tolerance: float = DEFAULT_SERIES_TOLERANCE) -> int:
    """``K``: steps back (the explained one included) whose decay ``beta^(L k)`` >= tolerance."""
    if not 0 < tolerance < 1:
        raise ExplanationError(f"tolerance must lie in (0, 1); got {tolerance}")
    rate = decay_exponents([model.beta] * model.n_layers)
    return max(1, math.floor(-math.log(tolerance) / rate))


@dataclass
class SeriesExplanationInfo:
    """The contents of ``series.json``."""

    n_steps: int
    n_inputs: int
    n_classes: int
    support: int
    chunk_size: int
    variant: str
    config: dict[str, Any]
    completed_chunks: int

    @property
    def n_chunks(self) -> int:
        """Number of chunk files when complete."""
        return -(-self.n_steps // self.chunk_size)

    @property
    def complete(self) -> bool:
        """Whether every chunk has been written."""
        return self.completed_chunks >= self.n_chunks


def _chunk_path(out_dir: Path, index: int) -> Path:
    return out_dir / "chunks" / f"chunk_{index:06d}.npz"


def explain_series(
    model: LIFNetwork,
    spikes: np.ndarray,
    out_dir: str | os.PathLike[str],
    variant: str = "s",
    support: int | None = None,
    tolerance: float = DEFAULT_SERIES_TOLERANCE,
    chunk_size: int | None = None,
    resume: bool = True,
    progress: Callable[[int], Any] | None = None,
) -> SeriesExplanationInfo:
    """Explain the prediction at every step of ``spikes [T, n_in]``; write chunks to ``out_dir``.

    Args:
        support: ``K``, the number of steps kept per explanation (the explained step and the
            ``K - 1`` before it); default from ``tolerance`` via :func:`series_support`.
        chunk_size: steps per chunk file; default keeps each chunk near 32 MiB of attribution.
        resume: continue an interrupted run with the same configuration (else start over).
        progress: called with the number of steps done after every chunk.
    """
    spikes = _checked_spikes(model, spikes, variant)
    n_steps, n_inputs = spikes.shape
    n_classes = model.layer_sizes[-1]
    dtype = _map_dtype(model, variant)
    k_support = _resolved_support(model, n_steps, support, tolerance, variant)
    if chunk_size is None:
        chunk_size = max(
            _MIN_CHUNK, min(65_536, _CHUNK_ELEMENTS // (n_classes * n_inputs * k_support))
        )
    if chunk_size < 1:
        raise ExplanationError(f"chunk_size must be at least 1; got {chunk_size}")
    out = Path(out_dir)
    check_output_path(out / "series.json", "series explanation directory")
    config = {
        "format": SERIES_FORMAT,
        "model": getattr(model, "name", "unnamed"),
        "weights_sha256": [array_sha256(w.detach().cpu().numpy()) for w in model.weights],
        "data_X_sha256": array_sha256(spikes.astype(np.int8)),
        "variant": variant,
        "support": k_support,
        "chunk_size": chunk_size,
        "n_steps": n_steps,
    }
    info = SeriesExplanationInfo(
        n_steps, n_inputs, n_classes, k_support, chunk_size, variant, config, 0
    )
    with RunLock(out, "spikeattr explain-series"):
        first_chunk = 0
        state: list[LIFState] | None = None
        tail = torch.zeros(n_classes, n_inputs, k_support - 1, dtype=dtype)
        previous = _read_info(out)
        if previous is not None and previous.get("config") != config:
            if resume:
                raise ExplanationError(
                    f"{out} holds a series explanation with a different configuration; "
                    "choose another --out directory or pass resume=False (--no-resume) to "
                    "overwrite it"
                )
        elif previous is not None and resume:
            first_chunk = _first_missing_chunk(out, int(previous.get("completed_chunks", 0)))
            if first_chunk >= info.n_chunks:
                info.completed_chunks = first_chunk
                return info
            if first_chunk > 0 and variant not in EXACT_SERIES_METHODS:
                state, tail = _load_carry(_chunk_path(out, first_chunk - 1), model)
        if first_chunk == 0 and (out / "chunks").is_dir():
            for stale in (out / "chunks").glob("chunk_*.npz"):
                stale.unlink()
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        info.completed_chunks = first_chunk
        _write_info(out, info)
        if variant in EXACT_SERIES_METHODS:  # recomputes the run up to first_chunk: no carry
            chunks = exact_series_chunks(
                model, spikes, variant, k_support, chunk_size, first_chunk=first_chunk
            )
        else:
            chunks = _chunks(model, spikes, info, first_chunk, state, tail)
        _explain_chunks(out, info, chunks, progress)
    return info


def iter_series(
    model: LIFNetwork,
    spikes: np.ndarray,
    variant: str = "s",
    support: int | None = None,
    tolerance: float = DEFAULT_SERIES_TOLERANCE,
    chunk_size: int = 4096,
) -> Iterator[dict[str, np.ndarray]]:
    """Series mode in memory: the chunks :func:`explain_series` would write, one at a time.

    Yields, per chunk of ``chunk_size`` steps, ``start``, ``predicted [n]``, ``probs [n, C]``
    and ``attribution [n, C, n_in, K]`` (``attribution[j, :, :, k]`` is step
    ``start + j - (K - 1) + k``), and for the exact methods ``carried [n, C]``. Memory is one
    chunk.
    """
    spikes = _checked_spikes(model, spikes, variant)
    n_steps, n_inputs = spikes.shape
    k_support = _resolved_support(model, n_steps, support, tolerance, variant)
    if chunk_size < 1:
        raise ExplanationError(f"chunk_size must be at least 1; got {chunk_size}")
    if variant in EXACT_SERIES_METHODS:
        for _, arrays in exact_series_chunks(model, spikes, variant, k_support, chunk_size):
            yield arrays
        return
    info = SeriesExplanationInfo(
        n_steps, n_inputs, model.layer_sizes[-1], k_support, chunk_size, variant, {}, 0
    )
    tail = torch.zeros(info.n_classes, n_inputs, k_support - 1, dtype=model.weights[0].dtype)
    for _, arrays in _chunks(model, spikes, info, 0, None, tail):
        yield {key: arrays[key] for key in ("start", "predicted", "probs", "attribution")}


def _checked_spikes(model: LIFNetwork, spikes: np.ndarray, variant: str) -> np.ndarray:
    """``spikes`` as a binary ``[T, n_in]`` array with ``T > 0``, and a known ``variant``."""
    if variant not in (*VARIANTS, *EXACT_SERIES_METHODS):
        raise ExplanationError(
            f"unknown variant {variant!r}; choose one of {[*VARIANTS, *EXACT_SERIES_METHODS]}"
        )
    spikes = np.asarray(spikes)
    if spikes.ndim != 2 or spikes.shape[1] != model.layer_sizes[0]:
        raise ExplanationError(
            f"spikes must have shape [T, n_in={model.layer_sizes[0]}]; got {spikes.shape}"
        )
    if spikes.shape[0] == 0:
        raise ExplanationError("spikes has no time steps; nothing to explain")
    try:
        check_binary_spikes(spikes)
    except DataFormatError as exc:
        raise ExplanationError(str(exc)) from exc
    return spikes


def _map_dtype(model: LIFNetwork, variant: str) -> torch.dtype:
    """The dtype of the maps: the model's for TSA, float64 for the exact methods."""
    return torch.float64 if variant in EXACT_SERIES_METHODS else model.weights[0].dtype


def _resolved_support(
    model: LIFNetwork, n_steps: int, support: int | None, tolerance: float, variant: str = "s"
) -> int:
    """``support``, or the one ``tolerance`` gives; checked by :func:`_check_support`."""
    exact = variant in EXACT_SERIES_METHODS
    default = exact_support(model, tolerance) if exact else series_support(model, tolerance)
    k_support = min(default, n_steps) if support is None else support
    _check_support(
        k_support, model, n_steps, model.layer_sizes[0], _map_dtype(model, variant), exact
    )
    return k_support


def _check_support(
    k_support: int,
    model: LIFNetwork,
    n_steps: int,
    n_inputs: int,
    dtype: torch.dtype,
    exact: bool = False,
) -> None:
    """Refuse a support that only adds exact zeros or cannot fit in memory, before any work
    (the exact methods keep every tail: only the series' length limits them)."""
    if k_support < 1:
        raise ExplanationError(f"support must be at least 1 step; got {k_support}")
    useful = (
        n_steps if exact else max(1, support_length([model.beta] * model.n_layers, 1 << 62, dtype))
    )
    limit = min(n_steps, useful)
    if k_support > limit:
        why = (
            f"the series has {n_steps} steps"
            if n_steps <= useful
            else f"older steps have a decay factor below the smallest normal "
            f"{str(dtype).removeprefix('torch.')} number "
            f"and are exactly 0 ({useful} steps are representable for this model)"
        )
        raise ExplanationError(f"support {k_support} is too long: {why}; use at most {limit}")
    n_classes = model.layer_sizes[-1]
    chunk_bytes = _MIN_CHUNK * n_classes * n_inputs * k_support * dtype.itemsize
    if chunk_bytes > _MAX_CHUNK_BYTES:
        most = _MAX_CHUNK_BYTES // (_MIN_CHUNK * n_classes * n_inputs * dtype.itemsize)
        raise ExplanationError(
            f"support {k_support} needs {chunk_bytes / 2**30:.1f} GiB per chunk of "
            f"{_MIN_CHUNK} steps ({n_classes} classes x {n_inputs} inputs); use at most {most}"
        )


def _read_info(out: Path) -> dict[str, Any] | None:
    """The ``series.json`` a previous run left, or ``None``; garbage is a clear error."""
    path = out / "series.json"
    if not path.exists():
        return None
    info = load_json(path, "series explanation index (series.json)", ExplanationError)
    if not isinstance(info, dict) or info.get("format") != SERIES_FORMAT:
        raise ExplanationError(
            f"{path} is not a series explanation index; remove {out} or choose another --out"
        )
    return info


def _first_missing_chunk(out: Path, completed: int) -> int:
    """The first chunk below ``completed`` whose file is missing or unreadable (else
    ``completed``): a resumed run starts there."""
    for index in range(completed):
        try:
            load_npz(
                _chunk_path(out, index), "series chunk", keys=("start",), error=ExplanationError
            )
        except ExplanationError:
            return index
    return completed


def _explain_chunks(
    out: Path,
    info: SeriesExplanationInfo,
    chunks: Iterator[tuple[int, dict[str, np.ndarray]]],
    progress: Callable[[int], Any] | None,
) -> None:
    """Write the ``(index, arrays)`` of ``chunks`` and record the progress after each."""
    for index, arrays in chunks:
        save_npz_atomic(_chunk_path(out, index), arrays)
        info.completed_chunks = index + 1
        _write_info(out, info)
        if progress is not None:
            progress(min(info.n_steps, (index + 1) * info.chunk_size))


def _chunks(
    model: LIFNetwork,
    spikes: np.ndarray,
    info: SeriesExplanationInfo,
    first_chunk: int,
    state: list[LIFState] | None,
    tail: torch.Tensor,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """``(index, arrays)`` of chunks ``first_chunk ..``, with the carry to resume after each."""
    k_support, chunk_size, n_steps = info.support, info.chunk_size, info.n_steps
    n_classes, variant = info.n_classes, info.variant
    dtype = model.weights[0].dtype
    decay = torch.exp(
        -decay_exponents([model.beta] * model.n_layers)
        * torch.arange(k_support, 0, -1, dtype=torch.float64)
    )
    # B(t) is accumulated in float64 and rounded once, in compiled code (the online explainer's
    # product): in float32 the cancellation between terms of the product left errors up to
    # ~1e-6 of a map's largest value (3-layer models), and float64 torch products are slower
    operands = ProductOperands.of([w.detach().cpu().numpy() for w in model.weights], variant)
    out_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    for index in range(first_chunk, info.n_chunks):
        start = index * chunk_size
        stop = min(n_steps, start + chunk_size)
        chunk = (
            torch.from_numpy(spikes[start:stop].astype(np.float32))
            .to(model.weights[0].dtype)
            .unsqueeze(0)
        )
        with torch.no_grad():
            outputs = model(chunk, state)
        state = outputs.state
        layer_inputs = np.concatenate(
            [chunk[0].numpy(), *(s[0].numpy() for s in outputs.layer_spikes)], axis=1
        )
        product = torch.from_numpy(operands.products(layer_inputs, out_dtype))  # [C, n_in, n]
        extended = torch.cat([tail, product], dim=-1)  # [C, n_in, K - 1 + n]
        windows = extended.unfold(-1, k_support, 1)  # [C, n_in, n, K]
        probs = torch.softmax(outputs.membrane[0], dim=-1)  # [n, C]
        attribution = (
            windows.permute(2, 0, 1, 3) * decay.to(dtype) * probs.view(-1, n_classes, 1, 1)
        )  # [n, C, n_in, K]
        tail = extended[..., extended.shape[-1] - (k_support - 1) :].clone()
        yield (
            index,
            {
                "start": np.array(start, dtype=np.int64),
                "predicted": probs.argmax(-1).numpy().astype(np.int64),
                "probs": probs.numpy(),
                "attribution": np.ascontiguousarray(attribution.numpy()),
                "carry_syn": np.concatenate([s.syn[0].numpy() for s in state]),
                "carry_mem": np.concatenate([s.mem[0].numpy() for s in state]),
                "carry_tail": tail.numpy(),
            },
        )


def _load_carry(path: Path, model: LIFNetwork) -> tuple[list[LIFState], torch.Tensor]:
    arrays = _read_chunk(path, ("carry_syn", "carry_mem", "carry_tail"))
    syn = torch.from_numpy(arrays["carry_syn"])
    mem = torch.from_numpy(arrays["carry_mem"])
    tail = torch.from_numpy(arrays["carry_tail"])
    state = []
    offset = 0
    for width in model.layer_sizes[1:]:
        state.append(
            LIFState(
                syn[offset : offset + width].unsqueeze(0).clone(),
                mem[offset : offset + width].unsqueeze(0).clone(),
            )
        )
        offset += width
    return state, tail


def _write_info(out: Path, info: SeriesExplanationInfo) -> None:
    write_json_atomic(
        out / "series.json",
        {
            "format": SERIES_FORMAT,
            "n_steps": info.n_steps,
            "n_inputs": info.n_inputs,
            "n_classes": info.n_classes,
            "support": info.support,
            "chunk_size": info.chunk_size,
            "variant": info.variant,
            "n_chunks": info.n_chunks,
            "completed_chunks": info.completed_chunks,
            "config": info.config,
        },
    )


class SeriesExplanation(Displayable):
    """Read a series explanation directory written by :func:`explain_series`.

    Example: ``SeriesExplanation(out_dir).attribution(12345)`` is the ``[C, n_in, K]`` map of the
    prediction at step 12345; ``.plot(12345, series)`` draws the predictions around that step
    above its map (after ``import spikeattr.viz``).
    """

    display_kind = "series"

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir)
        meta = _read_info(self.path)
        if meta is None:
            raise ExplanationError(f"{self.path} is not a series explanation (no series.json)")
        try:
            self.info = SeriesExplanationInfo(
                int(meta["n_steps"]),
                int(meta["n_inputs"]),
                int(meta["n_classes"]),
                int(meta["support"]),
                int(meta["chunk_size"]),
                str(meta["variant"]),
                dict(meta["config"]),
                int(meta["completed_chunks"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ExplanationError(
                f"{self.path / 'series.json'}: field {exc} is missing or malformed"
            ) from exc
        if not self.info.complete:
            raise ExplanationError(
                f"{self.path}: only {self.info.completed_chunks} of {self.info.n_chunks} chunks "
                "are written; rerun explain-series with the same arguments to resume"
            )

    def chunks(self) -> Iterator[dict[str, np.ndarray]]:
        """Yield each chunk's ``start``, ``predicted``, ``probs`` and ``attribution``, in order."""
        for index in range(self.info.n_chunks):
            yield _read_chunk(
                _chunk_path(self.path, index), ("start", "predicted", "probs", "attribution")
            )

    @property
    def predicted(self) -> np.ndarray:
        """int64 ``[T]`` predicted class per step."""
        return np.concatenate([c["predicted"] for c in self.chunks()])

    def attribution(self, step: int) -> np.ndarray:
        """``[C, n_in, K]`` map of the prediction at ``step`` (column ``K-1`` = ``step``)."""
        if not 0 <= step < self.info.n_steps:
            raise ExplanationError(f"step {step} outside the series [0, {self.info.n_steps})")
        index, offset = divmod(step, self.info.chunk_size)
        return _read_chunk(_chunk_path(self.path, index), ("attribution",))["attribution"][offset]

    def predictions(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``predicted`` int64 ``[n]`` and ``probs`` ``[n, C]`` of steps ``[start, stop)``,
        reading only those keys of the chunks that hold them."""
        stop = self.info.n_steps if stop is None else stop
        if not 0 <= start < stop <= self.info.n_steps:
            raise ExplanationError(
                f"steps [{start}, {stop}) are not a range of the series [0, {self.info.n_steps})"
            )
        size = self.info.chunk_size
        predicted, probs = [], []
        for index in range(start // size, (stop - 1) // size + 1):
            chunk = _read_chunk(_chunk_path(self.path, index), ("predicted", "probs"))
            first, last = max(start - index * size, 0), min(stop - index * size, size)
            predicted.append(chunk["predicted"][first:last])
            probs.append(chunk["probs"][first:last])
        return np.concatenate(predicted), np.concatenate(probs)

    def explanations(
        self, steps: int | list[int], series: SpikeSeries | np.ndarray | None = None
    ) -> Explanations:
        """The maps of the predictions at ``steps`` as an explanation file's content (window
        ``K``, stamp ``step + 1``), so that they are drawn like any explained stamp.

        Args:
            steps: the explained steps.
            series: the explained series (:class:`~spikeattr.data.series.SpikeSeries` or its
                spikes ``[T, n_in]``): spikes, and for a SpikeSeries names, true classes and
                time axis. Without it the spikes are not drawn.
        """
        rows = [steps] if isinstance(steps, int) else list(steps)
        support, n_in, n_classes = self.info.support, self.info.n_inputs, self.info.n_classes
        known = series if isinstance(series, SpikeSeries) else None
        spikes = series.spikes if isinstance(series, SpikeSeries) else series
        if spikes is not None and np.shape(spikes) != (self.info.n_steps, n_in):
            raise ExplanationError(
                f"series must be the explained series [T, n_in] = [{self.info.n_steps}, {n_in}]; "
                f"got {np.shape(spikes)}"
            )
        stamps = np.array([step + 1 for step in rows], dtype=np.int64)
        starts = np.maximum(0, stamps - support)
        maps = np.stack([self.attribution(step) for step in rows])
        windows = np.zeros((len(rows), support, n_in), dtype=np.int8)
        probs = np.zeros((len(rows), n_classes), dtype=maps.dtype)
        predicted = np.zeros(len(rows), dtype=np.int64)
        for row, (start, stop) in enumerate(zip(starts, stamps, strict=True)):
            step_predicted, step_probs = self.predictions(stop - 1, stop)
            predicted[row], probs[row] = step_predicted[0], step_probs[0]
            if spikes is not None:
                windows[row, support - (stop - start) :] = spikes[start:stop]
        meta: dict[str, Any] = {"model": self.info.config.get("model", "")}
        meta["variant"] = self.info.variant
        if known is not None:
            meta.update(split=str(known.meta.get("parent_split", "")), time=known.time_base())
        return Explanations(
            stamps=stamps,
            attribution=maps,
            probs=probs,
            predicted=predicted,
            target=predicted.copy(),
            label=np.full(len(rows), -1, dtype=np.int64)
            if known is None
            else known.labels[stamps - 1].astype(np.int64),
            window_start=starts,
            spikes=windows,
            input_names=known.input_names if known is not None else numbered("input", n_in),
            class_names=known.class_names if known is not None else numbered("class", n_classes),
            meta=meta,
        )

    def describe(self) -> str:
        """One line: method, length, shapes and directory."""
        info = self.info
        return (
            f"SeriesExplanation ({info.variant}) of {info.n_steps} steps: {info.n_classes} "
            f"classes x {info.n_inputs} inputs, last {info.support} steps per map, in {self.path}"
        )

    def plot(
        self,
        step: int,
        series: SpikeSeries | np.ndarray | None = None,
        *,
        span: int = 500,
        class_index: int | str | None = None,
        steps: int | None = None,
        normalise: str = "none",
        width: float = 10.0,
    ) -> Figure:
        """The predictions of the steps around ``step`` above the explanation figure of ``step``.

        Args:
            step: the explained step whose map is shown.
            series: the explained series (see :meth:`explanations`).
            span: the timeline shows up to ``span`` steps on each side of ``step``.
            class_index: class whose map is shown, by index or name (default: the predicted one).
            steps: show the last ``steps`` steps of the map (default: its visible support).
            normalise: ``"none"`` or ``"max-abs"``.
            width: figure width in inches.

        Returns:
            A :class:`matplotlib.figure.Figure`; needs ``import spikeattr.viz``.
        """
        return self._draw(
            step,
            series,
            span=span,
            class_index=class_index,
            steps=steps,
            normalise=normalise,
            width=width,
        )


def _read_chunk(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = load_npz(path, "series chunk", keys=keys, error=ExplanationError)
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ExplanationError(f"{path}: a series chunk needs the keys {missing}")
    return arrays
