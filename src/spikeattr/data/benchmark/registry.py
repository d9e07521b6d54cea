"""The benchmark's tasks by name: generator, default seed, explanation window, checksums.

Adding a task: write a module with ``generate(seed) -> SpikeSeries`` that fills the series'
evidence mask (:class:`~spikeattr.data.evidence.EvidenceMask`), add one :class:`BenchmarkTask`
line to :data:`TASKS` with the checksums the generator gives for its default seed (a test
checks them), and train its models (:mod:`spikeattr.pipelines.benchmark_models`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from spikeattr.data.benchmark import conjunction, delayed_motif, rare_channel, synthetic_pairs
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError

#: SHA-256 of the published series of each task (``SpikeSeries.checksums()``, default seed).
CHECKSUMS: dict[str, dict[str, str]] = {
    "synthetic": {
        "X_sha256": "38821a549fecced041ac14b6afff0be91e72a6e2fa8823c53b726aca9cdfe8f0",
        "y_sha256": "8bb01912415a3f778695f667418ad7ddfc7b3bf7708640781c9b4400dabf9ec7",
        "evidence_sha256": "73f97617c0a7ccfc9344997ab21fae235b1cae53f98f52037253b102dd0afe98",
    },
    "delayed_motif": {
        "X_sha256": "573c1cc79bfa8b9fda29be7716d8ae1601560e2c23fd66b81d6f626abb82a074",
        "y_sha256": "b6635c30aae31ee08a3dd3e20edab057b7d2e934e275a80ff13291231571cf49",
        "evidence_sha256": "94597c399ce7761fe486d6d93a40f8c3a93802a2c2e51b73b6661745e78cd870",
    },
    "rare_channel": {
        "X_sha256": "48bba5813e0cb3c1cc11d2cdfa3213d30a12e72c21b3e1fc324ba7bd73f549e7",
        "y_sha256": "05b14a2ab61447bd545551dcaa3371bf5869c9b74587ce5a01d7f56660549faa",
        "evidence_sha256": "b5b2c468ee2652e1ff64917a4eecc4fc40fd5c08ba34da4365f8656a3638c8d3",
    },
    "conjunction": {
        "X_sha256": "eaaba5ffe3f45096c1629a55f457c8341573e2ec491a8faf24185fb0731d82b7",
        "y_sha256": "b1989b10192e6f776816a4f9ff256fd2aa66da351b6b06d67af485f65b3a64cc",
        "evidence_sha256": "63be3dcc2510e2e08726d15e1dd2d8f04c2e3868f9f99e8a16d0c0292a56d168",
    },
}


@dataclass(frozen=True)
class BenchmarkTask:
    """One task with known answers.

    Attributes:
        name: the task's name (``spikeattr data benchmark NAME``, models ``bench_NAME_<L>L``).
        summary: one line: what decides the class, and what makes it hard.
        generate: ``generate(seed) -> SpikeSeries`` with the evidence mask filled in.
        default_seed: the seed of the published series (and of :attr:`checksums`).
        window: the explanation window of the benchmark, in steps; longer than any of the
            task's evidence spans, so every mask lies inside its stamp's window.
        checksums: the SHA-256 of ``X``, ``y`` and the evidence mask for ``default_seed``.
    """

    name: str
    summary: str
    generate: Callable[[int], SpikeSeries]
    default_seed: int
    window: int
    checksums: Mapping[str, str]


TASKS: dict[str, BenchmarkTask] = {
    task.name: task
    for task in (
        BenchmarkTask(
            "synthetic",
            "the paper's synthetic set: the current (x1, x2) pair decides; bias never does",
            synthetic_pairs.generate,
            synthetic_pairs.DEFAULT_SEED,
            200,
            CHECKSUMS["synthetic"],
        ),
        BenchmarkTask(
            "delayed_motif",
            "which two-channel motif occurred 20-200 steps ago, among same-rate distractors",
            delayed_motif.generate,
            delayed_motif.DEFAULT_SEED,
            300,
            CHECKSUMS["delayed_motif"],
        ),
        BenchmarkTask(
            "rare_channel",
            "which of three channels is active, among 21 noise channels of the same rate",
            rare_channel.generate,
            rare_channel.DEFAULT_SEED,
            200,
            CHECKSUMS["rare_channel"],
        ),
        BenchmarkTask(
            "conjunction",
            "A and B within 8 steps, one alone, or neither: silence is evidence",
            conjunction.generate,
            conjunction.DEFAULT_SEED,
            200,
            CHECKSUMS["conjunction"],
        ),
    )
}


def get_task(name: str) -> BenchmarkTask:
    """The task called ``name``; an unknown name is a :class:`DataFormatError` listing them."""
    if name not in TASKS:
        raise DataFormatError(f"unknown benchmark task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


def generate_task(name: str, seed: int | None = None) -> SpikeSeries:
    """The series of task ``name`` from ``seed`` (default: the task's own seed)."""
    task = get_task(name)
    return task.generate(task.default_seed if seed is None else seed)
