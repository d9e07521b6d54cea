"""Ground-truth localisation against literal implementations, on constructed maps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spikeattr.evaluate.localisation import GroundTruthLocalisation, localisation_scores
from spikeattr.evaluate.metric import StampSet
from spikeattr.evaluate.registry import MetricSettings, build_metrics

KINDS = ("auprc", "aup", "aur", "mass", "rank")


# -- literal implementations: the definitions, cell by cell --------------------------------------
def literal_precision_recall(s: np.ndarray, m: np.ndarray, threshold: float) -> tuple[float, float]:
    selected = hits = 0
    for value, inside in zip(s.ravel().tolist(), m.ravel().tolist(), strict=True):
        if value >= threshold:
            selected += 1
            hits += int(inside)
    return hits / selected, hits / int(m.sum())


def literal_auprc(s: np.ndarray, m: np.ndarray) -> float:
    """Average precision: sum over thresholds, largest first, of (R_k - R_{k-1}) P_k."""
    total, previous = 0.0, 0.0
    for threshold in sorted(set(s.ravel().tolist()), reverse=True):
        precision, recall = literal_precision_recall(s, m, threshold)
        total += (recall - previous) * precision
        previous = recall
    return total


def literal_areas(s: np.ndarray, m: np.ndarray, points: int = 20_000) -> tuple[float, float]:
    """AUP and AUR as Riemann sums over a fine grid of thresholds of the normalised map."""
    low, high = float(s.min()), float(s.max())
    if high == low:
        return 0.0, 0.0
    scaled = (s - low) / (high - low)
    grid = (np.arange(points) + 1) / points  # thresholds in (0, 1]
    values = np.sort(scaled.ravel())
    truth = m.ravel()[np.argsort(scaled.ravel(), kind="stable")]
    inside_from = np.cumsum(truth[::-1])[::-1]  # mask cells at or after each sorted position
    precision, recall = [], []
    for threshold in grid:
        first = int(np.searchsorted(values, threshold - 1e-12, side="left"))
        selected = values.size - first
        hits = int(inside_from[first]) if first < values.size else 0
        precision.append(hits / selected)
        recall.append(hits / int(m.sum()))
    return float(np.mean(precision)), float(np.mean(recall))


def literal_mass(s: np.ndarray, m: np.ndarray) -> float:
    total = sum(s.ravel().tolist())
    inside = sum(v for v, t in zip(s.ravel().tolist(), m.ravel().tolist(), strict=True) if t)
    return inside / total if total > 0 else 0.0


def literal_rank(s: np.ndarray, m: np.ndarray) -> float:
    """The share of the top-|m| cells in the mask, averaged over every order of the cells tied
    at the cut-off (orders of groups wholly above or below it do not change the top-|m|)."""
    values, truth = s.ravel().tolist(), m.ravel().tolist()
    k = sum(truth)
    groups: dict[float, list[int]] = {}
    for index, value in enumerate(values):
        groups.setdefault(value, []).append(index)
    above: list[int] = []
    for value in sorted(groups, reverse=True):
        group = groups[value]
        if len(above) + len(group) <= k:
            above += group
            continue
        shares = [
            (sum(truth[i] for i in above) + sum(truth[i] for i in order[: k - len(above)])) / k
            for order in itertools.permutations(group)
        ]
        return float(np.mean(shares))
    return sum(truth[i] for i in above) / k


def literal_scores(a: np.ndarray, m: np.ndarray) -> dict[str, float]:
    out = {}
    for suffix, s in (("abs", np.abs(a)), ("pos", np.maximum(a, 0))):
        aup, aur = literal_areas(s, m)
        out |= {
            f"auprc_{suffix}": literal_auprc(s, m),
            f"aup_{suffix}": aup,
            f"aur_{suffix}": aur,
            f"mass_{suffix}": literal_mass(s, m),
            f"rank_{suffix}": literal_rank(s, m),
        }
    return out


# -- tests ----------------------------------------------------------------------------------------
def _mask(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask.ravel()[rng.choice(mask.size, cells, replace=False)] = True
    return mask


def test_the_mask_itself_scores_one_on_every_score() -> None:
    mask = _mask(np.random.default_rng(0), (3, 40), 7)
    scores = localisation_scores(mask.astype(np.float64), mask)
    for kind in KINDS:
        for suffix in ("abs", "pos"):
            assert scores[f"{kind}_{suffix}"] == pytest.approx(1.0), f"{kind}_{suffix}"
    assert scores["prevalence"] == pytest.approx(7 / 120)


def test_the_inverted_mask_scores_nothing_but_the_prevalence_on_auprc() -> None:
    mask = _mask(np.random.default_rng(1), (3, 40), 7)
    scores = localisation_scores(1.0 - mask, mask)
    assert scores["auprc_abs"] == pytest.approx(7 / 120)
    for kind in ("aup", "aur", "mass", "rank"):
        assert scores[f"{kind}_abs"] == pytest.approx(0.0)


def test_a_negative_mask_is_perfect_in_magnitude_and_empty_as_positive_evidence() -> None:
    mask = _mask(np.random.default_rng(2), (4, 25), 5)
    scores = localisation_scores(-mask.astype(np.float64), mask)
    assert scores["auprc_abs"] == pytest.approx(1.0) and scores["mass_abs"] == pytest.approx(1.0)
    # nothing positive: a constant (zero) saliency, whose chance scores are the prevalence
    assert scores["auprc_pos"] == pytest.approx(0.05)
    assert scores["rank_pos"] == pytest.approx(0.05)
    assert scores["mass_pos"] == 0.0 and scores["aup_pos"] == 0.0 and scores["aur_pos"] == 0.0


@pytest.mark.parametrize("seed", range(12))
def test_random_maps_with_ties_match_the_literal_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = _mask(rng, (2, 5), int(rng.integers(1, 5)))
    # few distinct values and signs, so thresholds and the rank cut-off have ties
    values = rng.choice([-1.0, -0.25, 0.0, 0.5, 1.0, 2.0], size=mask.shape)
    expected = literal_scores(values, mask)
    scores = localisation_scores(values, mask)
    for key, value in expected.items():
        tolerance = 2e-4 if key.startswith(("aup", "aur")) else 1e-12
        assert scores[key] == pytest.approx(value, abs=tolerance), key


def test_uniformly_random_maps_score_about_the_prevalence() -> None:
    rng = np.random.default_rng(7)
    mask = _mask(rng, (20, 500), 500)  # prevalence 0.05
    results = [localisation_scores(rng.uniform(size=mask.shape), mask) for _ in range(5)]
    for key in ("auprc_abs", "aup_abs", "mass_abs", "rank_abs"):
        assert np.mean([r[key] for r in results]) == pytest.approx(0.05, abs=0.01), key
    # recall falls linearly with the threshold of a uniform map: half the unit square
    assert np.mean([r["aur_abs"] for r in results]) == pytest.approx(0.5, abs=0.02)


def test_an_empty_mask_is_undefined_not_a_score() -> None:
    scores = localisation_scores(np.ones((2, 5)), np.zeros((2, 5), dtype=bool))
    assert all(np.isnan(scores[f"{kind}_abs"]) for kind in KINDS)


def _stamp_set(maps: list[np.ndarray], masks: list[np.ndarray] | None) -> StampSet:
    count = len(maps)
    return StampSet(
        model=None,
        stamps=np.arange(1, count + 1),
        windows=[np.zeros(m.shape[::-1], dtype=np.int8) for m in maps],
        maps=maps,
        targets=np.zeros(count, dtype=np.int64),
        original=np.zeros(count, dtype=np.int64),
        labels=np.zeros(count, dtype=np.int64),
        probs=np.ones((count, 2)) / 2,
        masks=masks,
    )


def test_the_metric_scores_every_stamp_and_keeps_masks_through_subsets() -> None:
    rng = np.random.default_rng(3)
    masks = [_mask(rng, (3, 30), 4) for _ in range(6)]
    maps = [rng.normal(size=(3, 30)) for _ in range(6)]
    data = _stamp_set(maps, masks)
    metric = GroundTruthLocalisation()
    result = metric(data)
    for index in range(6):
        expected = localisation_scores(maps[index], masks[index])
        assert result.per_stamp["auprc_abs"][index] == expected["auprc_abs"]
        assert result.per_stamp["mass_pos"][index] == expected["mass_pos"]
    assert result.details["mask_cells"] == [4] * 6
    part = metric(data.subset([4, 1]))
    assert part.per_stamp["rank_abs"].tolist() == result.per_stamp["rank_abs"][[4, 1]].tolist()
    summary = metric.summarise(result.per_stamp)
    low, value, high = (summary["auprc_abs"][k] for k in ("ci_low", "value", "ci_high"))
    assert low <= value <= high and low < high
    assert {s.key for s in metric.scores if s.headline} == {
        "auprc_abs",
        "auprc_pos",
        "mass_pos",
        "rank_abs",
    }


def test_the_metric_refuses_data_without_masks() -> None:
    with pytest.raises(ValueError, match="evidence masks"):
        GroundTruthLocalisation()(_stamp_set([np.ones((2, 3))], None))


def test_localisation_runs_only_when_asked_for() -> None:
    settings = MetricSettings(randomisation=False, sensitivity=False)
    assert "localisation" not in [m.name for m in build_metrics(settings)]
    names = [m.name for m in build_metrics(settings, ("localisation", "comparable"))]
    assert names == ["localisation", "deletion", "fraction_completeness"]
    with pytest.raises(ValueError, match="unknown protocols"):
        build_metrics(settings, ("ground-truth",))
