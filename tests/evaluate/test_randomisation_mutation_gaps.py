"""Behaviours of the model-randomisation check that ``tools/mutate.py`` found no test for (each
test kills the survivors named in its docstring, all in evaluate/randomisation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.evaluate.randomisation import shape_correlation, step_normalised


@pytest.mark.parametrize("shape", [(0, 5), (2, 0, 5), (0, 3, 4)])
def test_a_map_without_cells_is_normalised_to_itself(shape: tuple[int, ...]) -> None:
    """Kills ``np.zeros(array.shape[-1])`` -> ``np.zeros(array.shape[1])`` and
    ``-> np.zeros(array.shape[-0])``: a map with no cells has one (empty) column per step, so
    the scale of its steps has ``T`` entries whatever its other dimensions are."""
    empty = np.zeros(shape)
    out = step_normalised(empty)
    assert out.shape == shape and out.dtype == np.float64
    # no cell at all: nothing can be ranked, so the check scores it 1 (see the module doc)
    assert shape_correlation(empty, empty) == 1.0


def test_two_cells_are_ranked() -> None:
    """Kills ``if a.size < 2`` -> ``a.size <= 2`` in shape_correlation: two cells with different
    values can be ranked, and Spearman's rho of two points is +1 when both maps order them the
    same way and -1 otherwise (written out here), not the 1 of a map that cannot be ranked."""
    trained = np.array([[0.5, 0.0], [-1.0, 0.0]])  # one step with two cells, one empty step
    same = np.array([[1.0, 0.0], [0.25, 0.0]])
    opposite = np.array([[0.5, 0.0], [1.0, 0.0]])
    # after the per-step scaling: trained (0.5, -1), same (1, 0.25), opposite (0.5, 1)
    assert shape_correlation(trained, same) == pytest.approx(1.0)
    assert shape_correlation(trained, opposite) == pytest.approx(-1.0)
    # the two cells of opposite sign in one map and of one sign in the other still rank
    assert shape_correlation(opposite, trained) == pytest.approx(-1.0)
