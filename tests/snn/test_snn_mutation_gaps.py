"""Behaviours of the LIF layer and networks that ``tools/mutate.py`` found no test for (each test
kills the survivor named in its docstring)."""

from __future__ import annotations

import math

import pytest
import torch

from spikeattr.snn.lif import LIFParameters
from spikeattr.snn.network import LIFNetwork


def test_default_parameters_are_the_papers() -> None:
    """Kills ``tau_syn: float = 1e-2`` -> ``1.01`` (snn/lif.py)."""
    params = LIFParameters()
    assert (params.dt, params.tau_syn, params.tau_mem, params.threshold) == (1e-3, 1e-2, 1e-3, 1.0)
    assert params.alpha == math.exp(-0.1)
    assert params.beta == math.exp(-1.0)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf"), True, "1.0"])
def test_parameters_reject_a_bad_threshold(value: object) -> None:
    """Kills ``isinstance(threshold, ...) and not isinstance(threshold, bool)`` -> ``... or ...``
    (snn/lif.py): every condition on the threshold is needed."""
    with pytest.raises(ValueError, match="threshold"):
        LIFParameters(threshold=value)  # type: ignore[arg-type]


def test_a_positive_finite_threshold_is_accepted() -> None:
    assert LIFParameters(threshold=0.25).threshold == 0.25
    assert LIFParameters(threshold=2).threshold == 2


def test_predict_last_of_no_windows_is_an_empty_batch() -> None:
    """Kills ``spikes.new_zeros(0, ...)`` -> ``new_zeros(1, ...)`` (snn/network.py)."""
    net = LIFNetwork([2, 4, 3], seed=0)
    probs = net.predict_last(torch.zeros(0, 5, 2))
    assert probs.shape == (0, 3)
    assert probs.dtype == net.weights[0].dtype
