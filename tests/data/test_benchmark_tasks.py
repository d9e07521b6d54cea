"""The benchmark's tasks: exact from their seeds, and masks right on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.benchmark import (
    TASKS,
    conjunction,
    delayed_motif,
    generate_task,
    get_task,
    rare_channel,
    synthetic_pairs,
)
from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.errors import DataFormatError

runner = CliRunner()


def cells(mask: EvidenceMask, step: int) -> list[tuple[int, int]]:
    return [(int(s), int(c)) for s, c in mask.cells_of(step)]


@pytest.fixture(scope="module")
def generated() -> dict[str, SpikeSeries]:
    return {name: generate_task(name) for name in TASKS}


def test_every_task_reproduces_its_checksums(generated: dict[str, SpikeSeries]) -> None:
    for name, series in generated.items():
        assert series.checksums() == dict(TASKS[name].checksums), name
        assert series.evidence is not None
        assert series.meta["task"] == name and series.meta["seed"] == TASKS[name].default_seed


def test_another_seed_gives_another_series() -> None:
    assert (
        generate_task("rare_channel", 5).checksums()["X_sha256"]
        != TASKS["rare_channel"].checksums["X_sha256"]
    )


def test_every_labelled_test_step_has_its_evidence_inside_the_task_window(
    generated: dict[str, SpikeSeries],
) -> None:
    for name, series in generated.items():
        test = series.split("test")
        assert test.evidence is not None
        labelled = np.flatnonzero(test.labels >= 0)
        chosen = labelled[:: max(1, labelled.size // 300)]
        window = TASKS[name].window
        for step in chosen[chosen >= window]:
            full = test.evidence.cells_of(int(step))
            assert full.shape[0] > 0, (name, step)
            inside = test.evidence_mask(int(step) + 1, window)
            assert int(inside.sum()) == full.shape[0], (name, step)


def test_the_synthetic_task_is_the_start_of_the_paper_series(
    generated: dict[str, SpikeSeries],
) -> None:
    paper = generate_synthetic()
    series = generated["synthetic"]
    assert np.array_equal(series.spikes, paper.spikes[: series.n_steps])
    assert np.array_equal(series.labels, paper.labels[: series.n_steps])


def test_synthetic_mask_is_the_recent_cells_of_x1_and_x2_in_the_current_run() -> None:
    pairs = [(0, 0), (1, 0), (1, 0), (1, 0), (1, 1), (1, 1)]
    spikes = np.array([(1, a, b) for a, b in pairs], dtype=np.int8)
    mask = synthetic_pairs.pair_evidence(spikes, recent=2)
    assert cells(mask, 0) == [(0, 1), (0, 2)]
    assert cells(mask, 1) == [(1, 1), (1, 2)]  # the run began at step 1
    assert cells(mask, 3) == [(2, 1), (2, 2), (3, 1), (3, 2)]  # the last two steps
    assert cells(mask, 4) == [(4, 1), (4, 2)]  # a new run: step 3 showed another pair
    assert all(c != 0 for step in range(6) for _, c in cells(mask, step))  # never the bias


def test_rare_channel_mask_is_the_recent_spikes_of_the_segments_channel() -> None:
    n = 60
    spikes = np.zeros((n, rare_channel.N_CHANNELS), dtype=np.int8)
    segment_class = np.array([1] * 30 + [2] * 30)
    segment_start = np.array([0] * 30 + [30] * 30)
    info = rare_channel.INFORMATIVE
    spikes[[2, 5], info[1]] = 1  # class 1's channel, twice
    spikes[[4, 33], 0] = 1  # noise, never evidence
    spikes[35, info[2]] = 1
    labels, mask = rare_channel.labels_and_evidence(spikes, segment_class, segment_start)
    assert labels[:2].tolist() == [-1, -1]  # nothing seen yet
    assert labels[2] == 1 and cells(mask, 2) == [(2, info[1])]
    assert cells(mask, 10) == [(2, info[1]), (5, info[1])]
    assert cells(mask, 29) == [(2, info[1]), (5, info[1])]
    # a new segment forgets the old one's spikes; its channel has not fired yet
    assert labels[30:35].tolist() == [-1] * 5 and cells(mask, 34) == []
    assert labels[35] == 2 and cells(mask, 59) == [(35, info[2])]
    # the spike at 2 leaves the 40-step memory at step 42 (but the segment changed anyway)
    assert cells(mask, 2 + rare_channel.RECENT_STEPS - 1) == []


def test_delayed_motif_mask_is_the_motif_between_20_and_200_steps_later() -> None:
    labels, mask = delayed_motif.labels_and_evidence([10, 300], [2, 0], 600)
    motif = [(10, 2), (11, 0), (12, 2), (13, 0), (14, 2), (15, 0)]
    assert delayed_motif.motif_cells(10, 2).tolist() == [list(c) for c in motif]
    assert labels[15 + 19] == -1 and cells(mask, 15 + 19) == []
    assert labels[15 + 20] == 2 and cells(mask, 15 + 20) == motif
    assert labels[15 + 200] == 2 and cells(mask, 15 + 200) == motif
    assert labels[15 + 201] == -1
    assert labels[305 + 20] == 0 and cells(mask, 305 + 20)[0] == (300, 0)


def test_conjunction_masks_hold_the_spikes_or_the_silence_that_decide() -> None:
    window = conjunction.WINDOW
    episodes = [(0, 50, -3), (1, 250, 0), (3, 450, 0)]
    labels, mask = conjunction.labels_and_evidence(episodes, 600)
    held = 50 + window + 1
    assert labels[held - 1] == -1 and labels[held] == 0
    assert labels[held + conjunction.HOLD - 1] == 0 and labels[held + conjunction.HOLD] == -1
    assert cells(mask, held) == [(47, conjunction.B), (50, conjunction.A)]
    # A alone: A's spike and every cell of B in [u - 8, u + 8]
    a_only = cells(mask, 250 + window + 1)
    assert (250, conjunction.A) in a_only and len(a_only) == 1 + 2 * window + 1
    assert {c for _, c in a_only if _ != 250} == {conjunction.B}
    # none: A and B over the whole coincidence window
    none = cells(mask, 450 + window + 5)
    assert len(none) == 2 * (2 * window + 1)
    assert {c for _, c in none} == {conjunction.A, conjunction.B}


def test_unknown_task_is_refused() -> None:
    with pytest.raises(DataFormatError, match="unknown benchmark task"):
        get_task("motif")
    result = runner.invoke(app, ["data", "benchmark", "motif", "--out", "x.npz"])
    assert result.exit_code == 2 and "delayed_motif" in result.output


def test_cli_writes_the_task_with_its_mask(tmp_path) -> None:
    out = tmp_path / "conjunction.npz"
    result = runner.invoke(app, ["data", "benchmark", "conjunction", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert '"matches_published": true' in result.output
    loaded = SpikeSeries.load(out)
    assert loaded.checksums() == dict(TASKS["conjunction"].checksums)
