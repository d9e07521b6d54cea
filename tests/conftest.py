"""Fixtures for every test: the oracles in ``tests/oracles`` and the synthetic series.

``tests/oracles`` holds the research code's outputs (checksums, paper stamps, published weights,
reference windows and maps; see its README). The tests read nothing outside the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic

ORACLES = Path(__file__).resolve().parent / "oracles"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} not found: the oracles are committed under tests/oracles")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``tests/oracles``: models, checksums, stamps and explanations of the research code."""
    return _require(ORACLES)


@pytest.fixture(scope="session")
def checksums(reference_dir: Path) -> dict[str, Any]:
    """The parsed ``reference/checksums.json``."""
    parsed: dict[str, Any] = json.loads(
        _require(reference_dir / "checksums.json").read_text(encoding="utf-8")
    )
    return parsed


@pytest.fixture(scope="session")
def test_stamps(reference_dir: Path) -> dict[str, list[int]]:
    """The parsed ``reference/test_stamps.json`` (indices into each test split)."""
    parsed: dict[str, list[int]] = json.loads(
        _require(reference_dir / "test_stamps.json").read_text(encoding="utf-8")
    )
    return parsed


@pytest.fixture(scope="session")
def synthetic_series() -> SpikeSeries:
    """The full 900 000-step synthetic series of SPEC 2.1 (generated once per session)."""
    return generate_synthetic()


@pytest.fixture(scope="session")
def synthetic_test(synthetic_series: SpikeSeries) -> SpikeSeries:
    """The 270 000-step test split of the synthetic series."""
    return synthetic_series.split("test")


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a module's tests with one torch thread (tiny tensors: threads only add overhead)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_training_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 000 training steps (30 windows of 100) and 500 test steps of the synthetic series, as a
    data file (the train and tune command-line tests)."""
    path = tmp_path_factory.mktemp("training_cli") / "tiny.npz"
    generate_synthetic(n_steps=3_500, n_train=3_000).save(path)
    return path
