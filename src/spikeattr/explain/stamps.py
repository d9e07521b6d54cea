"""Explaining time stamps of a long series the way the TSA paper does (window mode).

Stamp ``t`` (an index into the series, e.g. into the test split as in
``reference/test_stamps.json``) is explained with the window ``[max(0, t - window), t)`` run from
zero state; the explained prediction is the one at the window's last step, series step ``t - 1``.
So stamp ``t`` explains *what the network predicted just before step t, having seen only the
``window`` steps before it*. Stamps must satisfy ``1 <= t <= T``.

Maps of every stamp are returned right-aligned in one array ``[n_stamps, C, n_in, window]``:
column ``j`` is series step ``t - window + j``; for a stamp with ``t < window`` the first
``window - t`` columns are padding (zero), recorded in ``window_start``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.display import Displayable
from spikeattr.explain.methods import channel_rates, make_explainer, method_dtype
from spikeattr.explain.tsa import Target

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from spikeattr.data.series import SpikeSeries

DEFAULT_WINDOW = 1000


@dataclass(repr=False)
class StampExplanations(Displayable):
    """Explanations of several stamps of one series.

    :meth:`plot` draws one stamp over the series' spikes (after ``import spikeattr.viz``).

    Attributes:
        stamps: int64 ``[S]`` the explained stamps.
        values: ``[S, C, n_in, window]`` class-wise maps, right-aligned (see module doc).
        probs: float ``[S, C]`` probabilities at the explained step ``t - 1``.
        predicted: int64 ``[S]`` predicted class at ``t - 1``.
        target: int64 ``[S]`` class whose map :attr:`explanation` selects.
        window_start: int64 ``[S]`` first series step of each window (``max(0, t - window)``).
        window: the window length.
        variant: ``s``, ``ns`` or ``sam``.
    """

    stamps: np.ndarray
    values: np.ndarray
    probs: np.ndarray
    predicted: np.ndarray
    target: np.ndarray
    window_start: np.ndarray
    window: int
    variant: str

    display_kind = "stamps"

    @property
    def explanation(self) -> np.ndarray:
        """Map of each stamp's target class, ``[S, n_in, window]``."""
        return self.values[np.arange(len(self.stamps)), self.target]

    def unpadded(self, index: int) -> np.ndarray:
        """Map of stamp ``index``'s target class without the padding, ``[n_in, T_s]``."""
        length = int(self.stamps[index] - self.window_start[index])
        return self.values[index, self.target[index], :, self.window - length :]

    def describe(self) -> str:
        """One line: method, stamps and shapes."""
        shown = ", ".join(str(int(t)) for t in self.stamps[:5])
        more = " ..." if len(self.stamps) > 5 else ""
        n_classes, n_inputs = self.values.shape[1:3]
        return (
            f"StampExplanations ({self.variant}) of {len(self.stamps)} stamps ({shown}{more}): "
            f"{n_classes} classes x {n_inputs} inputs, window {self.window}"
        )

    def plot(
        self,
        series: SpikeSeries | None = None,
        index: int | None = None,
        *,
        stamp: int | None = None,
        class_index: int | str | None = None,
        steps: int | None = None,
        normalise: str = "none",
        width: float = 10.0,
    ) -> Figure:
        """The explanation figure of one stamp, as ``spikeattr plot explanation`` draws it.

        Args:
            series: the series the stamps index (the ``spikes`` given to
                :func:`explain_stamps`, as a :class:`~spikeattr.data.series.SpikeSeries`):
                spikes, names, true classes and time axis. Without it the spikes are not drawn.
            index: row of the stamp (default 0); or give ``stamp``.
            stamp: the stamp to draw, instead of ``index``.
            class_index: class whose map is shown, by index or name (default: the explained
                one).
            steps: show the last ``steps`` steps (default: the visible support of the map).
            normalise: ``"none"`` or ``"max-abs"``.
            width: figure width in inches.

        Returns:
            A :class:`matplotlib.figure.Figure`; needs ``import spikeattr.viz``.
        """
        return self._draw(
            series,
            index,
            stamp=stamp,
            class_index=class_index,
            steps=steps,
            normalise=normalise,
            width=width,
        )


def check_stamps(stamps: Sequence[int] | np.ndarray, n_steps: int) -> np.ndarray:
    """Validate stamps against a series of ``n_steps``: each needs ``1 <= t <= n_steps``."""
    array = np.asarray(stamps)
    if array.ndim != 1 or array.size == 0:
        raise ExplanationError(f"stamps must be a non-empty list of ints; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ExplanationError(f"stamps must be integers; got dtype {array.dtype}")
    bad = array[(array < 1) | (array > n_steps)]
    if bad.size:
        raise ExplanationError(
            f"stamp {int(bad[0])} is outside the series: a stamp t explains the prediction at "
            f"step t-1 from the window [max(0, t-window), t), so it must satisfy "
            f"1 <= t <= {n_steps} (the series length); {bad.size} stamps are out of range"
        )
    return array.astype(np.int64)


def stamp_batches(stamps: np.ndarray, window: int, batch_size: int = 64) -> list[np.ndarray]:
    """The positions in ``stamps [S]`` that :func:`explain_stamps` explains together: stamps
    whose windows have the same length (shortest first), in their order, ``batch_size`` at a
    time.

    A method's map of a stamp may depend on the batch it is computed in (integrated gradients
    sums its interpolation steps over the batch, so the last bits differ), so work split
    across processes keeps these batches whole to give the maps of one call.

    Examples:
        >>> [b.tolist() for b in stamp_batches(np.array([5, 2000, 3000, 7, 1500]), 1000, 2)]
        [[0], [3], [1, 2], [4]]
    """
    lengths = np.asarray(stamps) - np.maximum(0, np.asarray(stamps) - window)
    batches = []
    for length in np.unique(lengths):
        members = np.flatnonzero(lengths == length)
        batches += [
            members[first : first + batch_size] for first in range(0, members.size, batch_size)
        ]
    return batches


def explain_stamps(
    model: Any,
    spikes: np.ndarray | torch.Tensor,
    stamps: Sequence[int] | np.ndarray,
    variant: str = "s",
    window: int = DEFAULT_WINDOW,
    target: Target = None,
    precision: str = "float64",
    batch_size: int = 64,
    progress: Callable[[int], Any] | None = None,
) -> StampExplanations:
    """Explain each stamp of ``spikes [T, n_in]`` with its own window run from zero state.

    ``variant`` names any method of :data:`spikeattr.explain.methods.METHODS` (``s``, ``ns``,
    ``sam``, ...). Windows of equal length are explained in batches of ``batch_size``.
    ``precision`` (``float64`` or ``float32``, the TSA paper's) is the precision of the
    methods that take one (:data:`~spikeattr.explain.methods.PRECISION_METHODS`: TSA, SAM,
    Kim & Panda); the others keep their own. ``target`` is as in
    :meth:`TemporalSpikeAttribution.attribute` (None = predicted class; int; one per stamp).
    ``progress`` is called with the number of stamps done. The exact LIF methods take the
    series' per-channel spike rates as their reference input.
    """
    if window < 1:
        raise ExplanationError(f"window must be at least 1 step; got {window}")
    series = torch.as_tensor(np.asarray(spikes)) if isinstance(spikes, np.ndarray) else spikes
    if series.ndim != 2:
        raise ExplanationError(f"spikes must have shape [T, n_in]; got {tuple(series.shape)}")
    checked = check_stamps(stamps, int(series.shape[0]))
    targets: list[int] | None = None
    if target is not None and not isinstance(target, int):
        targets = [int(c) for c in torch.as_tensor(target).flatten().tolist()]
        if len(targets) != len(checked):
            raise ExplanationError(
                f"target needs one class per stamp ({len(checked)}); got {len(targets)}"
            )
    explainer = make_explainer(variant, model, rates=channel_rates(series))
    dtype = method_dtype(variant, precision)
    extra = {"dtype": dtype} if dtype is not None else {}
    starts = np.maximum(0, checked - window)
    lengths = checked - starts
    results: dict[int, tuple[Any, int]] = {}
    done = 0
    for chosen in stamp_batches(checked, window, batch_size):
        batch = torch.stack([series[starts[i] : checked[i]] for i in chosen])
        batch_target: Target = target if targets is None else [targets[i] for i in chosen]
        result = explainer.attribute(batch, target=batch_target, **extra)
        for position, index in enumerate(chosen):
            results[int(index)] = (result, position)
        done += chosen.size
        if progress is not None:
            progress(done)
    first_result = results[0][0]
    n_classes, n_inputs = first_result.values.shape[1:3]
    values = np.zeros(
        (len(checked), n_classes, n_inputs, window), dtype=first_result.values.cpu().numpy().dtype
    )
    probs = np.zeros((len(checked), n_classes), dtype=values.dtype)
    predicted = np.zeros(len(checked), dtype=np.int64)
    chosen_target = np.zeros(len(checked), dtype=np.int64)
    for index, (result, position) in results.items():
        length = int(lengths[index])
        values[index, :, :, window - length :] = result.values[position].cpu().numpy()
        probs[index] = result.probs[position].cpu().numpy()
        predicted[index] = int(result.predicted[position])
        chosen_target[index] = int(result.target[position])
    return StampExplanations(
        stamps=checked,
        values=values,
        probs=probs,
        predicted=predicted,
        target=chosen_target,
        window_start=starts.astype(np.int64),
        window=window,
        variant=variant,
    )
