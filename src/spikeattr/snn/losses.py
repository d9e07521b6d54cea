"""The losses of training: the NLL of the per-step log-softmax of the output membrane."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from spikeattr.data.windows import IGNORE_LABEL
from spikeattr.snn.conv_network import ConvLIFNetwork, SpikingNetwork
from spikeattr.snn.fused import fused_nll_loss, fused_supported
from spikeattr.snn.lif import LIFState


def sequence_nll(membrane: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean NLL of the per-step log-softmax of ``membrane [B, T, C]`` over the steps whose
    ``labels [B, T]`` are not ``IGNORE_LABEL`` (one compiled pass on the CPU)."""
    if fused_supported(membrane):
        return fused_nll_loss(membrane, labels, IGNORE_LABEL)
    log_probs = torch.log_softmax(membrane, dim=-1)
    return F.nll_loss(
        log_probs.reshape(-1, membrane.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_LABEL
    )


@torch.no_grad()
def series_nll(
    model: SpikingNetwork,
    spikes: np.ndarray,
    labels: np.ndarray,
    chunk_size: int | None = None,
) -> float:
    """Mean NLL over the labelled steps of one series ``[T, n_inputs]`` run from zero state.

    Steps with a negative label are ignored; ``nan`` if no step is labelled. The series runs in
    chunks of ``chunk_size`` steps (default 65 536, 8 192 for a convolutional network, whose
    layers hold far more units), carrying the state.
    """
    if chunk_size is None:
        chunk_size = 8_192 if isinstance(model, ConvLIFNetwork) else 65_536
    dtype = model.weights[0].dtype
    device = model.weights[0].device
    state: list[LIFState] | None = None
    total = 0.0
    count = 0
    for begin in range(0, spikes.shape[0], chunk_size):
        x = torch.from_numpy(np.ascontiguousarray(spikes[begin : begin + chunk_size]))
        y = torch.from_numpy(np.asarray(labels[begin : begin + chunk_size], dtype=np.int64))
        out = model(x.to(device=device, dtype=dtype).unsqueeze(0), state)
        state = out.state
        y = y.to(device)
        mask = y >= 0
        if mask.any():
            log_probs = out.log_probs[0][mask]
            total += float(-log_probs.gather(1, y[mask][:, None]).double().sum())
            count += int(mask.sum())
    return total / count if count else math.nan
