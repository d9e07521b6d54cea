"""Mutation test of the exact LIF attribution: break its maths one way at a time, run its tests,
and report which mutants the tests kill. Every mutant should be killed, except mutants that do
not change the mathematics (listed as equivalent below).

Run from the repository root: ``python tools/mutate_exact.py`` (about 2 minutes). Each mutant
is one textual replacement; the file is restored afterwards, whatever happens.

Equivalent mutant: flipping the sign of the inhibitory weights in the alpha-beta rule also flips
the sign of their membrane part ``Z-``, and the share ``W- / Z-`` is unchanged.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[1]
K = "src/spikeattr/explain/exact_kernels.py"
E = "src/spikeattr/explain/exact.py"
A = "src/spikeattr/explain/exact_attribution.py"
M = [
    (
        K,
        "syn = a * syn + currents[r, j, t]",
        "syn = currents[r, j, t]",
        "no synaptic memory in the forward scan",
    ),
    (
        K,
        "mem = 0.0 if spikes[r, j, t] != 0 else b * mem + syn",
        "mem = b * mem + syn",
        "reset ignored in the forward scan",
    ),
    (
        K,
        "lm = weights[r, j, v] + (0.0 if fired_next else b * lm)",
        "lm = weights[r, j, v] + b * lm",
        "reset ignored by the membrane adjoint",
    ),
    (
        K,
        "ls = (0.0 if fired else lm) + a * ls\n                out[r, j, v] = ls",
        "ls = lm + a * ls\n                out[r, j, v] = ls",
        "reset ignored at the synapse->membrane link",
    ),
    (
        K,
        "if v + 1 < steps and spikes[b, j, v + 1] != 0:",
        "if spikes[b, j, v] != 0:",
        "hidden share taken at the spike step, not the step before",
    ),
    (
        K,
        "lm = share + (0.0 if fired_next else d * lm)",
        "lm = share + (0.0 if fired_next else a * lm)",
        "alpha for beta in the hidden adjoint",
    ),
    (
        K,
        "syn = a * syn + currents[r, j, t]",
        "syn = b * syn + currents[r, j, t]",
        "beta for alpha in the forward scan",
    ),
    (
        E,
        "lone = (membranes[0] == 0) | (membranes[1] == 0)",
        "lone = membranes[0] != membranes[0]",
        "alpha-beta: no lone-sign fallback",
    ),
    (
        E,
        "np.where(lone, 1.0, -b_weight)]",
        "np.where(lone, 1.0, b_weight)]",
        "alpha-beta: inhibitory share with the wrong sign",
    ),
    (E, "readout[:, :, -1] = 1.0", "readout[:, :, -2] = 1.0", "explains the step before the last"),
    (
        A,
        "return eye - probs[:, None, :]",
        "return eye - probs[:, :, None]",
        "contrastive target transposed",
    ),
    (
        A,
        "output_spikes[:, 1:] = membrane[:, :-1] - threshold > 0",
        "output_spikes[:, :-1] = membrane[:, 1:] - threshold > 0",
        "output resets a step early",
    ),
    (
        A,
        "relevance = (x - rates[:, None, :, None]) * sensitivity",
        "relevance = (x + rates[:, None, :, None]) * sensitivity",
        "reference added, not subtracted",
    ),
    (
        A,
        "alphas=[np.full(n, model.alpha) for n in sizes]",
        "alphas=[np.full(n, model.beta) for n in sizes]",
        "beta recorded as alpha",
    ),
    (
        A,
        'return None if self.reference == "none" else inputs.mean(axis=1, dtype=np.float64)',
        "return None",
        "window reference ignored",
    ),
]
tests = ["tests/explain/test_exact.py", "tests/docs/test_examples.py::test_exact_attribution_page"]
killed = 0
for path, old, new, why in M:
    f = root / path
    text = f.read_text()
    assert text.count(old) >= 1, (path, old)
    f.write_text(text.replace(old, new, 1))
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=900,
        )
        status = "killed" if r.returncode != 0 else "SURVIVED"
        killed += r.returncode != 0
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-200:]
        print(f"{status:8} | {why} | {last}", flush=True)
    finally:
        f.write_text(text)
print(f"{killed} of {len(M)} mutants killed")
sys.exit(0 if killed == len(M) else 1)
