"""Window mode: stamp t explains step t-1 from [max(0, t-window), t), run from zero state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA
from spikeattr.explain.stamps import explain_stamps
from spikeattr.snn import load_model

REFERENCE_STAMPS = [8170, 8974, 9038, 10852, 14611, 14756]


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_reference_stamps_of_the_test_split(
    reference_dir: Path, synthetic_test: SpikeSeries, layers: int
) -> None:
    model = load_model(f"published:synthetic_{layers}L")
    with np.load(reference_dir / "explanations" / "synthetic.npz") as archive:
        for variant in ("s", "ns", "sam"):
            result = explain_stamps(model, synthetic_test.spikes, REFERENCE_STAMPS, variant)
            assert result.values.shape == (6, 4, 3, 1000)
            for index, stamp in enumerate(REFERENCE_STAMPS):
                prefix = f"{layers}L_t{stamp}"
                # the convention: the window is [t - 1000, t) of the test split
                np.testing.assert_array_equal(
                    synthetic_test.spikes[stamp - 1000 : stamp], archive[f"{prefix}_X"]
                )
                reference = archive[f"{prefix}_{variant}_attr"]
                error = np.abs(result.values[index] - reference).max() / np.abs(reference).max()
                assert error < 1e-5
                assert result.predicted[index] == int(archive[f"{prefix}_pred"])


def test_short_windows_are_right_aligned_and_padded(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_2L")
    stamps = [5, 1000, 1500, 1]
    result = explain_stamps(model, synthetic_test.spikes, stamps, "ns", window=1000)
    np.testing.assert_array_equal(result.window_start, [0, 0, 500, 0])
    for index, stamp in enumerate(stamps):
        start = max(0, stamp - 1000)
        window = torch.from_numpy(synthetic_test.spikes[start:stamp]).unsqueeze(0)
        direct = TSA(model, "ns").attribute(window)
        length = stamp - start
        np.testing.assert_array_equal(
            result.values[index, :, :, 1000 - length :], direct.values[0].numpy()
        )
        assert (result.values[index, :, :, : 1000 - length] == 0).all()
        assert result.predicted[index] == int(direct.predicted[0])
    explanation = result.explanation
    assert explanation.shape == (4, 3, 1000)
    np.testing.assert_array_equal(explanation[2], result.values[2, result.target[2]])


def test_targets_per_stamp(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_1L")
    result = explain_stamps(model, synthetic_test.spikes, [100, 200], target=[3, 1])
    np.testing.assert_array_equal(result.target, [3, 1])
    with pytest.raises(ExplanationError, match="one class per stamp"):
        explain_stamps(model, synthetic_test.spikes, [100, 200], target=[3])


@pytest.mark.parametrize(
    ("stamps", "message"),
    [
        ([0], "outside the series"),
        ([270_001], "outside the series"),
        ([-5], "outside"),
        ([], "non-empty"),
        ([1.5], "integers"),
    ],
)
def test_bad_stamps_are_refused(
    synthetic_test: SpikeSeries, stamps: list[float], message: str
) -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match=message):
        explain_stamps(model, synthetic_test.spikes, stamps)


def test_window_must_be_positive(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match="window"):
        explain_stamps(model, synthetic_test.spikes, [10], window=0)
