"""Balanced accuracy of per-step predictions, with a block-bootstrap confidence interval."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from spikeattr.errors import SpikeAttrError


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy of per-step predictions over one series.

    ``balanced_accuracy`` is the mean recall over the classes present in the labels (as
    scikit-learn's ``balanced_accuracy_score``). ``ci95`` is a 95 % percentile interval from a
    moving-block bootstrap: consecutive steps are strongly correlated, so blocks of
    ``block_length`` steps are resampled instead of single steps.
    """

    balanced_accuracy: float
    ci95: tuple[float, float]
    accuracy: float
    n_steps: int
    per_class_recall: dict[str, float]
    block_length: int
    n_bootstrap: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        return out


def _per_class_counts(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    total = np.bincount(y_true, minlength=n_classes)
    correct = np.bincount(y_true[y_true == y_pred], minlength=n_classes)
    return correct, total


def _labelled(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Int64 copies; checks shapes and that some step is labelled (labels ``-1`` are not)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise SpikeAttrError(
            f"labels and predictions must be [T] of equal length; got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    if not np.any(y_true >= 0):
        raise SpikeAttrError(
            "balanced accuracy needs at least one labelled step; this series or split has "
            f"{y_true.size} steps and none is labelled (labels -1 mean unlabelled)"
        )
    return y_true, y_pred


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (both ``[T]`` ints).

    Steps labelled ``-1`` (unlabelled) are left out.
    """
    y_true, y_pred = _labelled(y_true, y_pred)
    keep = y_true >= 0
    y_true, y_pred = y_true[keep], y_pred[keep]
    n_classes = int(max(y_true.max(), y_pred.max())) + 1
    correct, total = _per_class_counts(y_true, y_pred, n_classes)
    present = total > 0
    return float(np.mean(correct[present] / total[present]))


def accuracy_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: tuple[str, ...] | list[str] | None = None,
    block_length: int = 1000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> AccuracyReport:
    """Balanced accuracy, its block-bootstrap 95 % CI, plain accuracy and per-class recall.

    Steps labelled ``-1`` are left out; blocks are cut in time before that, so they stay
    contiguous stretches of the series.
    """
    y_true, y_pred = _labelled(y_true, y_pred)
    value = balanced_accuracy(y_true, y_pred)
    n_classes = int(max(y_true.max(), y_pred.max())) + 1
    if class_names is not None:
        n_classes = max(n_classes, len(class_names))
    keep = y_true >= 0
    block_ids = (np.arange(y_true.size) // block_length)[keep]
    y_true, y_pred = y_true[keep], y_pred[keep]
    n_steps = y_true.size
    # counts per block: [n_blocks, n_classes]
    n_blocks = int(block_ids[-1]) + 1
    total = np.zeros((n_blocks, n_classes), dtype=np.int64)
    correct = np.zeros((n_blocks, n_classes), dtype=np.int64)
    np.add.at(total, (block_ids, y_true), 1)
    hits = y_true == y_pred
    np.add.at(correct, (block_ids[hits], y_true[hits]), 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_blocks, size=(n_bootstrap, n_blocks))
    boot_total = total[draws].sum(axis=1).astype(np.float64)
    boot_correct = correct[draws].sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = boot_correct / boot_total
    boot_ba = np.nanmean(recall, axis=1)
    low, high = np.percentile(boot_ba, [2.5, 97.5])
    full_correct, full_total = correct.sum(0), total.sum(0)
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    per_class = {
        names[c]: float(full_correct[c] / full_total[c])
        for c in range(n_classes)
        if full_total[c] > 0
    }
    return AccuracyReport(
        balanced_accuracy=value,
        ci95=(float(low), float(high)),
        accuracy=float(hits.mean()),
        n_steps=int(n_steps),
        per_class_recall=per_class,
        block_length=block_length,
        n_bootstrap=n_bootstrap,
    )
