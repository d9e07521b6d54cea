"""The linear maps ``W_l`` between spiking layers, transposed without building matrices.

TSA's product ``D_0 W_0 D_1 W_1 ... W_{L-1} diag(p)`` only needs each ``W_l`` as a linear map:
the map of class ``c`` is ``W_l^T`` applied to a vector, layer by layer from the output down
(:mod:`spikeattr.explain.tsa_maps`). A weight layer ``l`` is a chain of operations
(:class:`LayerMap`), each with its own transpose computed by the operation's own adjoint:

* :class:`DenseOp`: ``x @ W`` with ``W [n_in, n_out]``; transpose ``g @ W^T``.
* :class:`ConvOp`: a 1-D or 2-D convolution (any stride, padding, dilation, groups; no bias);
  transpose: ``conv_transpose`` with the same weight, stride, dilation and groups on the
  padded input, then the padding cut off.
* :class:`AvgPoolOp`: average pooling; transpose: the vector-Jacobian product of
  ``avg_pool`` (linear, so exact).
* :class:`MaxPoolOp`: max pooling is not linear. At each step it is replaced by the linear map
  that **averages the units holding the window's maximum** (the *routing rule*): a pooled unit
  passes its value back to the unit that carried the maximum, split evenly between ties. Over
  spikes (0/1) this routes through the units of the window that spiked, evenly; a window where
  nothing spiked routes evenly to all its units. Over input currents (pooling before the
  neurons) it routes through the unit with the largest current at that step. The routing is
  read from the pooled values recorded at every step.
* :class:`FlattenOp`: a reshape of one sample ``[*shape] -> [n]``.

Every operation works on tensors with leading dimensions ``[B, C, K]`` (samples, classes, steps
of a chunk) followed by the sample's shape; a step-independent operation accepts ``K = 1`` and
broadcasts, :class:`MaxPoolOp` expands it to the chunk's steps.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from spikeattr.errors import ExplanationError

Shape = tuple[int, ...]
Pair = tuple[int, int]


def numel(shape: Shape) -> int:
    """Number of units of a layer of shape ``shape``."""
    return math.prod(shape)


class LinearOp(abc.ABC):
    """One linear operation of a weight layer, applied to one sample ``[*in_shape]``."""

    in_shape: Shape
    out_shape: Shape

    @abc.abstractmethod
    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        """``[B, C, K, *out_shape] -> [B, C, K, *in_shape]`` for the recorded ``steps``."""

    def ones(self) -> LinearOp:
        """The same operation with every learned weight set to one (the SAM baseline)."""
        return self

    def to(self, dtype: torch.dtype) -> LinearOp:
        """The operation with its tensors in ``dtype``."""
        return self

    def work_per_step(self) -> int:
        """Largest number of elements this transpose holds per (sample, class, step)."""
        return max(numel(self.in_shape), numel(self.out_shape))


def _lead(grad: torch.Tensor, shape: Shape) -> tuple[int, ...]:
    """The leading dimensions of ``grad`` before a sample of ``shape``, checked."""
    lead = tuple(grad.shape[: grad.ndim - len(shape)])
    if tuple(grad.shape[len(lead) :]) != shape or len(lead) != 3:
        raise ExplanationError(
            f"internal: expected [B, C, K, *{list(shape)}]; got {tuple(grad.shape)}"
        )
    return lead


@dataclass(frozen=True, eq=False)
class DenseOp(LinearOp):
    """``x @ weight`` with ``weight [n_in, n_out]`` (spikeattr's ``W_l`` convention)."""

    weight: torch.Tensor

    @property
    def in_shape(self) -> Shape:  # type: ignore[override]
        return (int(self.weight.shape[0]),)

    @property
    def out_shape(self) -> Shape:  # type: ignore[override]
        return (int(self.weight.shape[1]),)

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        return torch.matmul(grad, self.weight.t())

    def ones(self) -> LinearOp:
        return DenseOp(torch.ones_like(self.weight))

    def to(self, dtype: torch.dtype) -> LinearOp:
        return DenseOp(self.weight.to(dtype))


def conv_output_size(size: int, kernel: int, stride: int, pad: Pair, dilation: int) -> int:
    """Length of a convolution's output along one dimension (``pad`` = left, right)."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True, eq=False)
class ConvOp(LinearOp):
    """A 1-D or 2-D convolution without bias, on one sample ``[in_channels, *spatial]``.

    Attributes:
        weight: ``[out_channels, in_channels / groups, *kernel]``.
        in_shape: ``(in_channels, *spatial)``.
        stride, dilation: one value per spatial dimension.
        padding: ``(left, right)`` zero padding per spatial dimension.
        groups: as ``torch.nn.Conv2d``.
    """

    weight: torch.Tensor
    in_shape: Shape
    stride: tuple[int, ...]
    padding: tuple[Pair, ...]
    dilation: tuple[int, ...]
    groups: int = 1
    out_shape: Shape = field(init=False)

    def __post_init__(self) -> None:
        spatial = len(self.in_shape) - 1
        if spatial not in (1, 2) or self.weight.ndim != spatial + 2:
            raise ExplanationError(
                f"a convolution needs a [channels, *spatial] input with 1 or 2 spatial "
                f"dimensions and a matching kernel; got input {list(self.in_shape)} and weight "
                f"{tuple(self.weight.shape)}"
            )
        if self.weight.shape[1] * self.groups != self.in_shape[0]:
            raise ExplanationError(
                f"convolution weight {tuple(self.weight.shape)} with groups={self.groups} "
                f"does not take {self.in_shape[0]} input channels"
            )
        kernel = self.weight.shape[2:]
        sizes = [
            conv_output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(
                self.in_shape[1:], kernel, self.stride, self.padding, self.dilation, strict=True
            )
        ]
        if min(sizes) < 1:
            raise ExplanationError(
                f"a convolution with kernel {tuple(kernel)} does not fit input "
                f"{list(self.in_shape)}"
            )
        object.__setattr__(self, "out_shape", (int(self.weight.shape[0]), *sizes))

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        lead = _lead(grad, self.out_shape)
        flat = grad.reshape(-1, *self.out_shape)
        transposed = F.conv_transpose1d if len(self.stride) == 1 else F.conv_transpose2d
        full = transposed(
            flat, self.weight, stride=self.stride, groups=self.groups, dilation=self.dilation
        )
        # ``full`` covers the padded input from its first element; pad its end up to the padded
        # length (units no window reaches), then cut the padding off
        tail: list[int] = []
        crop: list[slice] = []
        for size, length, (left, right) in zip(
            self.in_shape[1:], full.shape[2:], self.padding, strict=True
        ):
            tail = [0, size + left + right - length, *tail]
            crop.append(slice(left, left + size))
        full = F.pad(full, tail)
        return full[(slice(None), slice(None), *crop)].reshape(*lead, *self.in_shape)

    def ones(self) -> LinearOp:
        return replace(self, weight=torch.ones_like(self.weight))

    def to(self, dtype: torch.dtype) -> LinearOp:
        return replace(self, weight=self.weight.to(dtype))


def _pool_output_shape(in_shape: Shape, pool: str, **options: object) -> Shape:
    """The output shape of a pooling of a sample ``in_shape``, by running it on zeros."""
    functions: dict[tuple[str, int], Any] = {
        ("avg", 1): F.avg_pool1d,
        ("avg", 2): F.avg_pool2d,
        ("max", 1): F.max_pool1d,
        ("max", 2): F.max_pool2d,
    }
    spatial = len(in_shape) - 1
    if (pool, spatial) not in functions:
        raise ExplanationError(
            f"pooling needs a [channels, *spatial] input with 1 or 2 spatial dimensions; got "
            f"{list(in_shape)}"
        )
    try:
        out = functions[(pool, spatial)](torch.zeros(1, *in_shape), **options)
    except RuntimeError as exc:
        raise ExplanationError(
            f"pooling {options} does not fit input {list(in_shape)}: {exc}"
        ) from None
    return tuple(int(n) for n in out.shape[1:])


@dataclass(frozen=True, eq=False)
class AvgPoolOp(LinearOp):
    """Average pooling of one sample (the options of ``torch.nn.functional.avg_pool{1,2}d``)."""

    in_shape: Shape
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    out_shape: Shape = field(init=False)

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "kernel_size": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
        }
        if len(self.kernel) == 2:
            options["divisor_override"] = self.divisor_override
        elif self.divisor_override is not None:
            raise ExplanationError("divisor_override exists for 2-D average pooling only")
        return options

    def __post_init__(self) -> None:
        shape = _pool_output_shape(self.in_shape, "avg", **self._options())
        object.__setattr__(self, "out_shape", shape)

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        lead = _lead(grad, self.out_shape)
        pool = F.avg_pool1d if len(self.kernel) == 1 else F.avg_pool2d
        flat = grad.reshape(-1, *self.out_shape)
        with torch.enable_grad():
            probe = torch.zeros(
                flat.shape[0], *self.in_shape, dtype=grad.dtype, device=grad.device
            ).requires_grad_(True)
            (result,) = torch.autograd.grad(pool(probe, **self._options()), probe, flat)
        return result.reshape(*lead, *self.in_shape)


@dataclass(frozen=True, eq=False)
class MaxPoolOp(LinearOp):
    """Max pooling of one sample, linearised by the routing rule of the module docstring.

    Attributes:
        values: ``[B, T, *in_shape]`` the pooled values at every recorded step (spikes, or the
            currents for pooling before the neurons); they decide the routing.
        kernel, stride, padding, dilation: one value per spatial dimension.
        ceil_mode: as ``torch.nn.MaxPool2d``.
    """

    values: torch.Tensor
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool = False
    in_shape: Shape = field(init=False)
    out_shape: Shape = field(init=False)

    def __post_init__(self) -> None:
        in_shape = tuple(int(n) for n in self.values.shape[2:])
        object.__setattr__(self, "in_shape", in_shape)
        options = {
            "kernel_size": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "ceil_mode": self.ceil_mode,
        }
        object.__setattr__(self, "out_shape", _pool_output_shape(in_shape, "max", **options))

    def to(self, dtype: torch.dtype) -> LinearOp:
        return replace(self, values=self.values.to(dtype))

    def work_per_step(self) -> int:
        return numel(self.out_shape) * math.prod(self.kernel) + numel(self.in_shape)

    def _geometry(self) -> tuple[Pair, Pair, Pair, Pair, tuple[int, int], tuple[Pair, ...]]:
        """Kernel, stride, dilation, padding and padded size as 2-D (a 1-D pool has H = 1),
        and the ``(before, after)`` padding per dimension that makes every window fit."""
        two = len(self.kernel) == 2
        kernel = self.kernel if two else (1, *self.kernel)
        stride = self.stride if two else (1, *self.stride)
        dilation = self.dilation if two else (1, *self.dilation)
        padding = self.padding if two else (0, *self.padding)
        sizes = self.in_shape[1:] if two else (1, *self.in_shape[1:])
        outs = self.out_shape[1:] if two else (1, *self.out_shape[1:])
        pads = []
        for size, out, k, s, d, p in zip(
            sizes, outs, kernel, stride, dilation, padding, strict=True
        ):
            reach = (out - 1) * s + d * (k - 1) + 1  # padded length the windows span
            pads.append((p, max(0, reach - size - p)))
        padded = (sizes[0] + sum(pads[0]), sizes[1] + sum(pads[1]))
        return (
            (kernel[0], kernel[1]),
            (stride[0], stride[1]),
            (dilation[0], dilation[1]),
            (padding[0], padding[1]),
            padded,
            tuple(pads),
        )

    def routing(self, steps: slice) -> torch.Tensor:
        """``[B, K, channels, window, n_windows]``: the share of each window's value that each
        of its units carries at each step (ties split evenly; padding never carries)."""
        kernel, stride, dilation, _, _, pads = self._geometry()
        values = self.values[:, steps]
        batch, k = values.shape[:2]
        channels = self.in_shape[0]
        frames = values.reshape(
            batch * k, channels, *([1] if len(self.kernel) == 1 else []), *self.in_shape[1:]
        )
        frames = F.pad(frames, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]), value=-math.inf)
        columns = F.unfold(frames, kernel, dilation=dilation, stride=stride)
        columns = columns.reshape(batch, k, channels, kernel[0] * kernel[1], -1)
        hits = (columns == columns.amax(dim=3, keepdim=True)).to(values.dtype)
        return hits / hits.sum(dim=3, keepdim=True)

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        batch, classes, k = _lead(grad, self.out_shape)
        share = self.routing(steps)  # [B, K, ch, window, n_windows]
        n_steps = share.shape[1]
        if k not in (1, n_steps):
            raise ExplanationError(f"internal: {k} steps of gradient for {n_steps} of routing")
        kernel, stride, dilation, _, padded, pads = self._geometry()
        channels = self.in_shape[0]
        windows = numel(self.out_shape[1:])
        flat = grad.reshape(batch, classes, k, channels, 1, windows)
        parts = share.unsqueeze(1) * flat  # [B, C, K, ch, window, n_windows]
        parts = parts.reshape(batch * classes * n_steps, channels * kernel[0] * kernel[1], windows)
        folded = F.fold(parts, padded, kernel, dilation=dilation, stride=stride)
        folded = folded[
            :, :, pads[0][0] : padded[0] - pads[0][1], pads[1][0] : padded[1] - pads[1][1]
        ]
        return folded.reshape(batch, classes, n_steps, *self.in_shape)


@dataclass(frozen=True, eq=False)
class FlattenOp(LinearOp):
    """``[*in_shape] -> [n]``, one sample at a time."""

    in_shape: Shape

    @property
    def out_shape(self) -> Shape:  # type: ignore[override]
        return (numel(self.in_shape),)

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        lead = _lead(grad, self.out_shape)
        return grad.reshape(*lead, *self.in_shape)


@dataclass(frozen=True, eq=False)
class LayerMap:
    """One weight layer ``W_l``: a chain of operations and a positive gain ``scale``.

    ``scale`` multiplies the whole map (a framework's effective weight factor, e.g. Norse's
    ``dt * tau_mem_inv`` or snnTorch's graded-spike factor of the emitting layer).
    """

    ops: Sequence[LinearOp]
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.ops:
            raise ExplanationError("a weight layer needs at least one operation")
        for before, after in zip(self.ops, self.ops[1:], strict=False):
            if tuple(before.out_shape) != tuple(after.in_shape):
                raise ExplanationError(
                    f"{type(before).__name__} gives {list(before.out_shape)} but "
                    f"{type(after).__name__} takes {list(after.in_shape)}"
                )
        object.__setattr__(self, "ops", tuple(self.ops))

    @property
    def in_shape(self) -> Shape:
        """Shape of the spikes entering the layer."""
        return tuple(self.ops[0].in_shape)

    @property
    def out_shape(self) -> Shape:
        """Shape of the currents leaving it (the next neuron layer's shape)."""
        return tuple(self.ops[-1].out_shape)

    def transpose(self, grad: torch.Tensor, steps: slice) -> torch.Tensor:
        """``W_l^T``: ``[B, C, K, *out_shape] -> [B, C, K', *in_shape]`` (``K'`` = ``K``, or the
        chunk's steps where a max pooling routes step by step)."""
        for op in reversed(self.ops):
            grad = op.transpose(grad, steps)
        return grad * self.scale if self.scale != 1.0 else grad

    def ones(self) -> LayerMap:
        """SAM: every learned weight set to one, the gain dropped; pooling kept."""
        return LayerMap([op.ones() for op in self.ops])

    def to(self, dtype: torch.dtype) -> LayerMap:
        """The layer with its tensors in ``dtype``."""
        return LayerMap([op.to(dtype) for op in self.ops], self.scale)

    def work_per_step(self) -> int:
        """Largest number of elements any of its transposes holds per (sample, class, step)."""
        return max(op.work_per_step() for op in self.ops)
