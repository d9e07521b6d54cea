"""The exact LIF attribution's largest errors on random networks: conservation (relevance of
all cells against the model's own score) and the difference from the literal loop-by-loop
implementation of the tests. The tests assert 1e-9; this prints the maxima.

Run from the repository root: ``python tools/exact_errors.py`` (about a minute).
"""

from __future__ import annotations

import itertools
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.explain.literal_exact import literal_exact
from tests.explain.test_exact import (
    DEPTHS,
    REGIMES,
    _network,
    _spikes,
    literal_case,
)

from spikeattr.explain.exact import exact_maps
from spikeattr.explain.exact_attribution import ExactLIFAttribution

cons = 0.0
lit = 0.0
n_cases = 0
lit_cases = 0
for depth, regime, rule in itertools.product([1, 2, 3, 4], REGIMES, ["z", "alpha_beta"]):
    for seed in range(5):
        net = _network(depth, regime, seed=seed * 7 + depth, scale=2.0)
        x = _spikes(4, 120, 6, seed=seed)
        rec, maps = ExactLIFAttribution(net, rule=rule).maps(x)
        err = np.abs(maps.relevance.sum(axis=(2, 3)) - rec.scores) / (np.abs(rec.scores) + 1e-12)
        cons = max(cons, float(err.max()))
        n_cases += 1
for depth, regime, (rule, ab), resets in itertools.product(
    [1, 2, 3, 4],
    REGIMES,
    [("z", (1.0, 0.0)), ("alpha_beta", (1.0, 0.0)), ("alpha_beta", (2.0, 1.0))],
    [True, False],
):
    if depth > 1 and not resets:
        continue
    case = literal_case(depth, regime, resets, salt=99)  # other seeds than the tests'
    sizes, rec = DEPTHS[depth], case["recording"]
    x, W, al, be, theta = (case[k] for k in ("x", "weights", "alphas", "betas", "theta"))
    maps = exact_maps(rec, rule, ab)
    for c in range(sizes[-1]):
        o = literal_exact(x, W, al, be, theta, np.eye(sizes[-1])[c], rule=rule, ab=ab)
        lit = max(
            lit,
            float(np.abs(maps.relevance[0, c] - o["relevance"]).max()),
            float(np.abs(maps.sensitivity[0, c] - o["sensitivity"]).max()),
        )
    lit_cases += 1
print(
    f"conservation: max relative error {cons:.2e} over {n_cases} networks x 4 windows x all classes"
)
print(
    f"literal: max abs difference {lit:.2e} over {lit_cases} networks x every class "
    "(relevance and sensitivity)"
)
