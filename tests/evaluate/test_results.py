"""The run directory's metric records: variants over draws, stacked as the summaries need."""

from __future__ import annotations

import numpy as np

from spikeattr.evaluate.correctness import Correctness
from spikeattr.evaluate.results import VariantResult


def _draw(flips: list[list[int]]) -> dict[str, object]:
    rows = np.asarray(flips, dtype=np.int64)
    return {
        "per_stamp": {
            "flips": rows,
            "original": rows[:, 0],
            "labels": rows[:, 0],
            "ess_original": np.ones(len(flips)),
            "ess_truth": np.ones(len(flips)),
        },
        "curves": {},
        "details": {},
    }


def test_flipping_rows_of_draws_with_different_segment_counts_stack() -> None:
    """A control's draws have their own largest segment count: the shorter rows keep their last
    prediction, so the rows stack and the paper's correctness can be summarised over draws."""
    variant = VariantResult([_draw([[0, 1], [2, 2]]), _draw([[0, 1, 0, 0], [2, 1, 1, 1]])])
    rows = variant.rows()
    assert rows["flips"].tolist() == [[0, 1, 1, 1], [2, 2, 2, 2], [0, 1, 0, 0], [2, 1, 1, 1]]
    assert rows["ess_original"].shape == (4,)
    summary = Correctness().summarise(rows, n_bootstrap=20)
    assert 0.0 <= summary["ess_original"]["value"] <= 1.0
    assert summary["ess_original"]["n"] == 4
