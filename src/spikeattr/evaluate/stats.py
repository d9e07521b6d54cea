"""Agreement (balanced accuracy) of predictions with reference labels, shared by the metrics.

The confidence intervals are :meth:`spikeattr.evaluate.metric.Metric.summarise`'s and
:func:`spikeattr.evaluate.paired.compare`'s."""

from __future__ import annotations

import numpy as np

from spikeattr.snn.accuracy import balanced_accuracy


def agreement_columns(reference: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Balanced accuracy of every column of ``predictions [S, K]`` against ``reference [S]``.

    The same as :func:`agreement` per column (mean recall over the classes present in
    ``reference``), computed for all columns at once.
    """
    reference = np.asarray(reference)
    hits = np.asarray(predictions) == reference[:, None]
    recalls = [hits[reference == c].mean(axis=0) for c in np.unique(reference[reference >= 0])]
    return np.mean(recalls, axis=0)


def agreement(reference: np.ndarray, predictions: np.ndarray) -> float:
    """Balanced accuracy of ``predictions`` against ``reference`` labels (both ``[S]``)."""
    return balanced_accuracy(np.asarray(reference), np.asarray(predictions))
