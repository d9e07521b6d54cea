"""Evaluating explanations (SPEC 5): correctness, output-completeness, continuity, compactness.

One metric per module, in Quantus' shape: hyper-parameters in the constructor, data in
``__call__``, per-stamp scores out, and a declared direction (``higher_is_better``).
"""

from __future__ import annotations

from spikeattr.evaluate.compactness import Compactness
from spikeattr.evaluate.completeness import PAPER_EPSILONS, OutputCompleteness
from spikeattr.evaluate.continuity import Continuity
from spikeattr.evaluate.correctness import Correctness
from spikeattr.evaluate.segments import Segment, segment_map

__all__ = [
    "PAPER_EPSILONS",
    "Compactness",
    "Continuity",
    "Correctness",
    "OutputCompleteness",
    "Segment",
    "segment_map",
]
