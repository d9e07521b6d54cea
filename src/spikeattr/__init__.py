"""spikeattr: exact, fast Temporal Spike Attribution (TSA) for spiking neural networks.

Data -> model -> explanation -> evaluation -> report. The stages live in the sub-packages
:mod:`spikeattr.data`, :mod:`spikeattr.snn` and :mod:`spikeattr.explain`.
"""

from __future__ import annotations

from spikeattr.errors import SpikeAttrError

__version__ = "0.1.0"

__all__ = ["SpikeAttrError", "__version__"]
