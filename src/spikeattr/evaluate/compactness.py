"""Paper protocol: compactness, how much attribution an explanation spends (SPEC 5).

Per stamp the sum of ``|attribution|`` of the explanation; reported as the mean over stamps
with a bootstrap 95 % CI. **Lower is better** (a more compact explanation). Its scale depends on
the method's units, so it compares maps of one method, not methods.
"""

from __future__ import annotations

import numpy as np

from spikeattr.evaluate.metric import Metric, MetricResult, Score, StampSet


class Compactness(Metric):
    """Sum of absolute attribution per explanation (paper protocol)."""

    name = "compactness"
    title = "Compactness: sum of |attribution| (paper)"
    protocol = "paper"
    scores = (Score("sum_abs", "sum |attribution|", False),)

    def __call__(self, data: StampSet) -> MetricResult:
        total = np.array([float(np.abs(m).astype(np.float64).sum()) for m in data.maps])
        return MetricResult({"sum_abs": total})
