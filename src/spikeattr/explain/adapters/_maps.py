"""Torch layers as the linear operations of TSA (:mod:`spikeattr.explain.linear_maps`).

``nn.Linear``, ``nn.Conv1d/2d``, ``nn.AvgPool1d/2d``, ``nn.MaxPool1d/2d`` and ``nn.Flatten``,
read with the hyper-parameters the module holds (stride, padding including ``"same"``,
dilation, groups, ``ceil_mode``...). Biases are not part of the map (TSA attributes input
spikes); what cannot be a linear map of spikes is refused, naming the layer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from spikeattr.errors import UnsupportedLayerError
from spikeattr.explain.linear_maps import (
    AvgPoolOp,
    ConvOp,
    DenseOp,
    FlattenOp,
    LinearOp,
    MaxPoolOp,
    Pair,
    Shape,
)

CONVOLUTIONS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d)
AVERAGE_POOLS: tuple[type[nn.Module], ...] = (nn.AvgPool1d, nn.AvgPool2d)
MAX_POOLS: tuple[type[nn.Module], ...] = (nn.MaxPool1d, nn.MaxPool2d)
LINEAR_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    *CONVOLUTIONS,
    *AVERAGE_POOLS,
    *MAX_POOLS,
    nn.Flatten,
)
WEIGHTED: tuple[type[nn.Module], ...] = (nn.Linear, *CONVOLUTIONS)


def _spread(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * dims


def conv_padding(module: Any) -> tuple[Pair, ...]:
    """``(left, right)`` zero padding per spatial dimension of a convolution, ``"same"``
    included (torch pads ``total // 2`` before and the rest after)."""
    dims = len(module.kernel_size)
    if module.padding == "valid":
        return ((0, 0),) * dims
    if module.padding == "same":
        pads = []
        for k, d in zip(module.kernel_size, module.dilation, strict=True):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    return tuple((p, p) for p in _spread(module.padding, dims))


def linear_op(
    module: nn.Module, in_shape: Shape, pooled: torch.Tensor | None = None, where: str = ""
) -> LinearOp:
    """The linear operation of ``module`` on one sample of ``in_shape``.

    Args:
        pooled: for max pooling, the values it pooled at every step ``[B, T, *in_shape]``.
        where: how to name the layer in an error (e.g. ``layer 3 ('pool1', torch.nn.MaxPool2d)``).
    """
    what = where or type(module).__name__
    if isinstance(module, nn.Linear):
        if tuple(in_shape) != (module.in_features,):
            raise UnsupportedLayerError(
                f"{what} takes {module.in_features} inputs but gets activity of shape "
                f"{list(in_shape)} (add nn.Flatten before it)"
            )
        return DenseOp(module.weight.detach().t())
    if isinstance(module, CONVOLUTIONS):
        conv: Any = module
        if conv.padding_mode != "zeros":
            raise UnsupportedLayerError(
                f"{what} pads with {conv.padding_mode!r}; TSA's convolutions pad with zeros"
            )
        return ConvOp(
            conv.weight.detach(),
            tuple(in_shape),
            tuple(conv.stride),
            conv_padding(conv),
            tuple(conv.dilation),
            conv.groups,
        )
    dims = len(in_shape) - 1
    if isinstance(module, AVERAGE_POOLS):
        pool: Any = module
        return AvgPoolOp(
            tuple(in_shape),
            _spread(pool.kernel_size, dims),
            _spread(pool.stride, dims),
            _spread(pool.padding, dims),
            bool(pool.ceil_mode),
            bool(pool.count_include_pad),
            getattr(pool, "divisor_override", None),
        )
    if isinstance(module, MAX_POOLS):
        pool = module
        if pool.return_indices:
            raise UnsupportedLayerError(f"{what} returns indices; use return_indices=False")
        if pooled is None:
            raise UnsupportedLayerError(f"{what}: max pooling needs the values it pooled")
        return MaxPoolOp(
            pooled,
            _spread(pool.kernel_size, dims),
            _spread(pool.stride, dims),
            _spread(pool.padding, dims),
            _spread(pool.dilation, dims),
            bool(pool.ceil_mode),
        )
    if isinstance(module, nn.Flatten):
        if len(in_shape) > 1 and (module.start_dim, module.end_dim) not in ((1, -1),):
            raise UnsupportedLayerError(
                f"{what} flattens dimensions {module.start_dim}..{module.end_dim}; TSA supports "
                "nn.Flatten() of a whole sample (start_dim=1, end_dim=-1)"
            )
        return FlattenOp(tuple(in_shape))
    raise UnsupportedLayerError(f"{what} is not a linear layer TSA knows")
