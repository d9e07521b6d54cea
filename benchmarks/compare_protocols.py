"""The paper's ESS against the comparable protocol's budgeted deletion, on the two cases of
issue 12 where ESS misleads. Prints a table; asserts nothing.

1. ADL subject A, the published 1L model, the 4 stamps of the reference explanations: TSA-S
   and TSA-NS flip the prediction after the same segments, yet their ESS differ by 7x because
   TSA-NS maps have ~10x more segments (ESS divides by the largest segment count).
2. The synthetic 1L model, TSA-NS, the 6 stamps of the reference explanations, maps computed in
   float32 and in float64: the float64 maps have a longer tail (more steps above the smallest
   normal number), so more segments and a far lower ESS, with identical early flips.

Run: ``python benchmarks/compare_protocols.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from spikeattr.data.adl import encode_subject
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.evaluate.correctness import Correctness
from spikeattr.evaluate.deletion import BudgetedDeletion
from spikeattr.evaluate.forward import one_thread
from spikeattr.evaluate.segments import segment_map
from spikeattr.explain.stamps import explain_stamps
from spikeattr.pipelines.evaluation_unit import stamp_set
from spikeattr.snn import load_model

ADL_STAMPS = (80763, 119459, 189037, 5124)
SYNTHETIC_STAMPS = (8170, 8974, 9038, 10852, 14611, 14756)


def scores(
    model_name: str, part: object, stamps: tuple[int, ...], method: str, dtype: object
) -> dict[str, object]:
    model = load_model(model_name)
    explained = explain_stamps(model, part.spikes, np.asarray(stamps), method, dtype=dtype)  # type: ignore[attr-defined]
    data = stamp_set(model, method, part, explained, seed=0, scale=None)  # type: ignore[arg-type]
    correctness, deletion = Correctness(), BudgetedDeletion()
    paper = correctness(data)
    budget = deletion(data)
    flips = paper.per_stamp["flips"]
    first = [int(np.argmax(row != row[0])) if (row != row[0]).any() else -1 for row in flips]
    return {
        "segments": [len(segment_map(m)) for m in data.maps],
        "first flip (segments)": first,
        "ESS": correctness.aggregate(paper.per_stamp, "ess_original"),
        **{
            k: deletion.aggregate(budget.per_stamp, k)
            for k in ("del_50", "aopc_50", "first_change")
        },
    }


def main() -> None:
    adl = encode_subject(None, "A", compat="reference").split("test")
    synthetic = generate_synthetic().split("test")
    cases = [
        ("ADL A 1L, TSA-S", "published:adl_1L", adl, ADL_STAMPS, "s", None),
        ("ADL A 1L, TSA-NS", "published:adl_1L", adl, ADL_STAMPS, "ns", None),
        (
            "synthetic 1L, TSA-NS float32",
            "published:synthetic_1L",
            synthetic,
            SYNTHETIC_STAMPS,
            "ns",
            torch.float32,
        ),
        (
            "synthetic 1L, TSA-NS float64",
            "published:synthetic_1L",
            synthetic,
            SYNTHETIC_STAMPS,
            "ns",
            torch.float64,
        ),
    ]
    print(
        "| case | segments per stamp | first change (segments) | ESS | del@50 | AOPC@50 "
        "| cells to first change |"
    )
    print("|---|---|---|---|---|---|---|")
    with one_thread():
        for title, model, part, stamps, method, dtype in cases:
            s = scores(model, part, stamps, method, dtype)
            print(
                f"| {title} | {s['segments']} | {s['first flip (segments)']} | {s['ESS']:.4f} | "
                f"{s['del_50']:.3f} | {s['aopc_50']:.3f} | {s['first_change']:.0f} |"
            )


if __name__ == "__main__":
    main()
