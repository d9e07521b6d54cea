"""Shared fixtures: the read-only oracles in ``../shared`` and the synthetic series.

The shared folder lies beside the repository (``<parent>/shared``): here ``/work/shared``, in CI
wherever the repository is cloned with ``../shared`` next to it. Never hard-code its absolute path.
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

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} not found: the shared oracles must lie in ../shared beside the repo")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder (``../shared`` relative to the repository root)."""
    return _require(SHARED)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference``: models, checksums, stamps and explanations of the research code."""
    return _require(REFERENCE)


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
