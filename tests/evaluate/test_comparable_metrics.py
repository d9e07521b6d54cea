"""The comparable protocol's metrics against slow, literal implementations of SPEC 5.1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.controls import control_maps
from spikeattr.evaluate.deletion import BudgetedDeletion
from spikeattr.evaluate.draws import PURPOSES, keyed_rng, purpose_key
from spikeattr.evaluate.forward import last_step_probs
from spikeattr.evaluate.fraction_completeness import FractionCompleteness, top_cells
from spikeattr.evaluate.metric import Metric, StampSet
from spikeattr.evaluate.paired import compare, rank, ranking_table, wilcoxon_p
from spikeattr.evaluate.randomisation import (
    ModelRandomisation,
    randomised_model,
    rank_correlation,
)
from spikeattr.evaluate.registry import MetricSettings, build_metrics
from spikeattr.evaluate.segments import segment_map
from spikeattr.evaluate.sensitivity import NormalisedSensitivity, perturb_activity

from .conftest import stamp_set


def _full_probs(model: object, windows: np.ndarray) -> np.ndarray:
    """Class probabilities at the last step of whole re-runs from zero state (the oracle)."""
    membrane = model(torch.from_numpy(np.asarray(windows)).float()).membrane[:, -1]  # type: ignore[operator]
    return torch.softmax(membrane.detach().double(), dim=-1).numpy()


# -- draws and forward passes ---------------------------------------------------------------
def test_draws_are_keyed_by_purpose_stamp_and_draw() -> None:
    first = keyed_rng(0, "permuted-control", 8170, 1).random(4)
    np.testing.assert_array_equal(first, keyed_rng(0, "permuted-control", 8170, 1).random(4))
    for other in (
        keyed_rng(0, "permuted-control", 8171, 1),
        keyed_rng(0, "permuted-control", 8170, 2),
        keyed_rng(1, "permuted-control", 8170, 1),
        keyed_rng(0, "sensitivity", 8170, 1),
    ):
        assert not np.array_equal(first, other.random(4))
    assert len({purpose_key(p) for p in PURPOSES}) == len(PURPOSES)
    with pytest.raises(ValueError, match="unknown purpose"):
        keyed_rng(0, "nothing", 1)


def test_shared_prefix_predictions_equal_whole_re_runs(unit_ns: StampSet) -> None:
    rng = np.random.default_rng(0)
    for row in range(4):
        window = unit_ns.windows[row]
        copies = np.repeat(window[None], 12, axis=0)
        for k in range(12):  # perturb only the end, at different steps
            copies[k, window.shape[0] - 1 - rng.integers(0, 40), rng.integers(0, 3)] ^= 1
        np.testing.assert_array_equal(
            last_step_probs(unit_ns.model, window, copies),
            _full_probs(unit_ns.model, copies),
        )
    window = unit_ns.windows[0]
    unchanged = last_step_probs(unit_ns.model, window, window[None].repeat(2, 0))
    np.testing.assert_array_equal(unchanged, _full_probs(unit_ns.model, window[None]).repeat(2, 0))


# -- budgeted deletion --------------------------------------------------------------------------
def _literal_deletion(
    data: StampSet, budget: int, width: int = 10, shuffle: bool = False
) -> dict[str, np.ndarray]:
    dels, aopcs, firsts = [], [], []
    for row in range(len(data)):
        window, explanation = data.windows[row], data.maps[row]
        segments = segment_map(explanation, width)
        if shuffle and segments:  # the random-order control: the module docstring's draw
            rng = keyed_rng(data.seed, "random-order-control", int(data.stamps[row]), data.draw)
            segments = [segments[i] for i in rng.permutation(len(segments))]
        order = [(t, s.channel) for s in segments for t in range(s.start, s.stop)]
        agreement, drop = [1.0], [0.0]
        p0 = data.probs[row, data.targets[row]]
        for b in range(1, budget + 1):
            flipped = window.copy()
            for step, channel in order[: min(b, len(order))]:
                flipped[step, channel] = 1 - flipped[step, channel]
            probs = _full_probs(data.model, flipped[None])[0]
            agreement.append(float(probs.argmax() == data.original[row]))
            drop.append(float(p0 - probs[data.targets[row]]))
        dels.append(np.mean(agreement))
        aopcs.append(np.mean(drop))
        changed = [b for b, a in enumerate(agreement) if a == 0]
        firsts.append(changed[0] if changed else budget + 1)
    return {"del": np.array(dels), "aopc": np.array(aopcs), "first": np.array(firsts, float)}


def test_budgeted_deletion_equals_the_literal_definition(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(6))
    result = BudgetedDeletion(budgets=(5, 30))(data)
    literal = _literal_deletion(data, 30)
    np.testing.assert_allclose(result.per_stamp["del_30"], literal["del"], atol=1e-12)
    np.testing.assert_allclose(result.per_stamp["aopc_30"], literal["aopc"], atol=1e-9)
    np.testing.assert_array_equal(result.per_stamp["first_change"], literal["first"])
    assert len(result.curves["agreement"]) == 31 and result.curves["agreement"][0] == 1.0


def test_deletion_score_does_not_depend_on_the_maps_tail(synthetic_test: SpikeSeries) -> None:
    """float32 and float64 TSA-NS maps of the same model differ in their tail (support 87 vs
    hundreds of steps) and in ESS; the budgeted score agrees within 0.01."""
    from spikeattr.explain.stamps import explain_stamps
    from spikeattr.snn import load_model

    stamps = np.arange(5000, 270_000, 11_000)
    data = stamp_set(synthetic_test, "published:synthetic_1L", "ns", stamps, precision="float32")
    wide = explain_stamps(
        load_model("published:synthetic_1L"),
        synthetic_test.spikes,
        stamps,
        "ns",
        precision="float64",
    )
    maps64 = [wide.unpadded(i) for i in range(len(stamps))]
    assert sum(int((m != 0).sum()) for m in maps64) > 2 * sum(
        int((m != 0).sum()) for m in data.maps
    )
    metric = BudgetedDeletion(budgets=(50,))
    first = metric.aggregate(metric(data).per_stamp, "del_50")
    second = metric.aggregate(metric(data.with_maps(maps64, "float64")).per_stamp, "del_50")
    assert abs(first - second) <= 0.01


def test_random_order_control_reorders_the_same_segments(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(4))
    support = max(int((m != 0).sum()) for m in data.maps)  # every cell of every map
    ranked = BudgetedDeletion(budgets=(support,))(data)
    shuffled = BudgetedDeletion(budgets=(support,), order="random")(data)
    again = BudgetedDeletion(budgets=(support,), order="random")(data)
    key = f"del_{support}"
    np.testing.assert_array_equal(shuffled.per_stamp[key], again.per_stamp[key])
    total = sum(len(segment_map(m)) for m in data.maps)
    assert total > 4
    # the shuffled order is the literal one of keyed_rng's permutation, not the ranked one
    short = BudgetedDeletion(budgets=(20,), order="random")(data)
    literal = _literal_deletion(data, 20, shuffle=True)
    # (the float64 maps' tails reach step 0: a copy flipped there is run from zero state)
    assert any(int(np.flatnonzero(m.any(axis=0))[0]) == 0 for m in data.maps)
    np.testing.assert_allclose(short.per_stamp["aopc_20"], literal["aopc"], atol=1e-9)
    np.testing.assert_allclose(short.per_stamp["del_20"], literal["del"], atol=1e-12)
    assert not np.allclose(literal["aopc"], _literal_deletion(data, 20)["aopc"])
    # once every cell of the support is flipped, both orders reach the same window
    assert ranked.curves["agreement"][-1] == shuffled.curves["agreement"][-1]


# -- output-completeness by fraction --------------------------------------------------------------
def test_top_cells_keep_the_largest_magnitudes_and_never_a_zero() -> None:
    explanation = np.array([[0.0, -3.0, 1.0, 0.0], [2.0, 0.0, 0.0, 0.5]])
    assert top_cells(explanation, 0.25).sum() == 2  # ceil(0.25 * 8)
    np.testing.assert_array_equal(top_cells(explanation, 0.25), np.abs(explanation) >= 2.0)
    assert top_cells(explanation, 1.0).sum() == 4  # only the non-zero cells


def _literal_fraction(data: StampSet, fractions: tuple[float, ...], draws: int) -> np.ndarray:
    out = np.zeros((len(data), len(fractions) + 1))
    for row in range(len(data)):
        window, explanation = data.windows[row], data.maps[row]
        n_in, steps = explanation.shape
        hits = np.zeros(len(fractions) + 1)
        for draw in range(draws):
            rng = keyed_rng(data.seed, "fraction-completeness", int(data.stamps[row]), draw)
            for column, fraction in enumerate((0.0, *fractions)):
                cells = [(abs(explanation[c, t]), t, c) for t in range(steps) for c in range(n_in)]
                cells = [cell for cell in cells if cell[0] > 0]
                cells.sort(key=lambda cell: -cell[0])  # stable: time, then channel on ties
                kept = {(c, t) for _, t, c in cells[: int(np.ceil(fraction * n_in * steps))]}
                copy = window.copy()
                for c in range(n_in):
                    free = [t for t in range(steps) if (c, t) not in kept]
                    if len(free) > 1:
                        copy[free, c] = window[rng.permutation(np.array(free)), c]
                probs = _full_probs(data.model, copy[None])[0]
                hits[column] += probs.argmax() == data.original[row]
        out[row] = hits / draws
    return out


def test_fraction_completeness_equals_the_literal_definition(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(3))
    metric = FractionCompleteness(fractions=(0.01, 0.1), draws=2)
    result = metric(data)
    literal = _literal_fraction(data, (0.01, 0.1), 2)
    np.testing.assert_array_equal(result.per_stamp["oc_0"], literal[:, 0])
    np.testing.assert_array_equal(result.per_stamp["oc_1"], literal[:, 1])
    np.testing.assert_array_equal(result.per_stamp["oc_10"], literal[:, 2])
    oc0, oc10 = literal[:, 0].mean(), literal[:, 2].mean()
    expected = (oc10 - oc0) / (1 - oc0) if oc0 < 1 else float("nan")
    assert metric.aggregate(result.per_stamp, "rel_10") == pytest.approx(expected, nan_ok=True)


def test_a_map_covering_the_whole_window_is_fully_complete(unit_ns: StampSet) -> None:
    """Keeping every cell keeps the input: relative completeness 1 (when defined)."""
    data = unit_ns.subset(range(6))
    full = [np.ones(m.shape) for m in data.maps]
    metric = FractionCompleteness(fractions=(1.0,), draws=2)
    result = metric(data.with_maps(full, "all"))
    assert (result.per_stamp["oc_100"] == 1.0).all()
    if metric.aggregate(result.per_stamp, "oc_0") < 1:
        assert metric.aggregate(result.per_stamp, "rel_100") == 1.0


# -- normalised continuity ----------------------------------------------------------------------
def test_activity_perturbation_skips_constant_channels_and_runs_cut_by_the_edge() -> None:
    window = np.zeros((100, 3), dtype=np.int8)
    window[:, 0] = 1  # the bias
    window[:20, 1] = 1  # starts at the window's first step
    window[50:53, 2] = 1  # a 3-step run still moves (by at most one step)
    moved = False
    for seed in range(40):
        out = perturb_activity(window, np.random.default_rng(seed))
        np.testing.assert_array_equal(out[:, :2], window[:, :2])
        moved |= not np.array_equal(out[:, 2], window[:, 2])
        assert np.abs(out[:, 2].astype(int) - window[:, 2]).sum() <= 1
    assert moved


def test_sensitivity_equals_the_literal_definition(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(5))
    result = NormalisedSensitivity(draws=3)(data)
    assert data.explain is not None
    for row in range(5):
        window, reference = data.windows[row], data.maps[row].astype(np.float64)
        values = []
        for draw in range(3):
            rng = keyed_rng(data.seed, "sensitivity", int(data.stamps[row]), draw)
            copy = perturb_activity(window, rng)
            maps, _ = data.explain(copy[None], data.targets[row : row + 1])
            values.append(np.linalg.norm(maps[0] - reference) / np.linalg.norm(reference))
        assert result.per_stamp["sens_mean"][row] == pytest.approx(np.mean(values))
        assert result.per_stamp["sens_max"][row] == pytest.approx(np.max(values))


def test_a_map_that_ignores_the_input_has_zero_sensitivity(unit_ns: StampSet) -> None:
    data = unit_ns.subset(range(3))

    def constant(windows: np.ndarray, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return np.ones((len(windows), windows.shape[2], windows.shape[1])), np.zeros(len(windows))

    maps = [np.ones(m.shape) for m in data.maps]
    result = NormalisedSensitivity(draws=2)(
        StampSet(**{**vars(data), "maps": maps, "explain": constant})
    )
    assert (result.per_stamp["sens_mean"] == 0).all()


# -- model randomisation ------------------------------------------------------------------------
def test_randomisation_cascades_from_the_output_and_keeps_the_scale() -> None:
    from spikeattr.snn import load_model

    model = load_model("published:synthetic_3L")
    top = randomised_model(model, 1, seed=0)
    for index in (0, 1):
        assert torch.equal(top.weights[index], model.weights[index])
    assert not torch.equal(top.weights[2], model.weights[2])
    every = randomised_model(model, 3, seed=0)
    assert torch.equal(every.weights[2], top.weights[2])  # keyed by layer, not by level
    for trained, drawn in zip(model.weights, every.weights, strict=True):
        ratio = float(drawn.detach().std() / trained.detach().std())
        assert 0.5 < ratio < 1.5 and not torch.equal(trained, drawn)


def test_rank_correlation_uses_the_union_of_the_supports() -> None:
    a = np.zeros((3, 100))
    b = np.zeros((3, 100))
    a[0, 90:] = np.arange(10)
    b[0, 90:] = np.arange(10)[::-1]
    assert rank_correlation(a, b) == pytest.approx(-1.0)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    expected = stats.spearmanr(a[0, 90:], b[0, 90:]).statistic
    assert rank_correlation(a, b) == pytest.approx(expected)
    assert np.isnan(rank_correlation(a, np.zeros_like(a)))


def test_a_method_blind_to_the_weights_fails_the_sanity_check(unit_ns: StampSet) -> None:
    """A "method" whose map is the input spikes weighted by recency does not change with the
    model: rho = 1. TSA's maps do change (its rank order is dominated by the decay factor, so
    on the 1L model rho stays high; the level is a finding, reported by the evaluation)."""
    data = unit_ns.subset(range(4))

    def blind_map(window: np.ndarray) -> np.ndarray:
        return window.T * np.linspace(0.1, 1.0, window.shape[0])[None]

    def blind(windows: np.ndarray, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([blind_map(w) for w in windows]), np.zeros(len(windows))

    maps = [blind_map(w) for w in data.windows]
    blind_set = StampSet(**{**vars(data), "maps": maps, "explainer_for": lambda model: blind})
    metric = ModelRandomisation()
    assert metric.aggregate(metric(blind_set).per_stamp, "rho_all") == pytest.approx(1.0)
    assert metric.aggregate(metric(data).per_stamp, "rho_all") < 1.0 - 1e-6


# -- paired statistics ----------------------------------------------------------------------------
def test_paired_comparison_of_known_differences() -> None:
    metric = BudgetedDeletion(budgets=(50,))
    rng = np.random.default_rng(0)
    base = rng.random(40)
    first = {"del_50": base, "aopc_50": base, "first_change": base}
    second = {
        "del_50": base + 0.1 + 0.01 * rng.standard_normal(40),
        "aopc_50": base,
        "first_change": base,
    }
    result = compare(metric, "del_50", first, second, n_bootstrap=300)
    assert result["difference"] == pytest.approx(-0.1, abs=0.01)
    assert result["ci_low"] < result["difference"] < result["ci_high"] < 0
    assert result["better"] == "first" and result["significant"]  # lower is better for del
    assert result["p_value"] == pytest.approx(
        stats.wilcoxon(first["del_50"] - second["del_50"]).pvalue
    )
    same = compare(metric, "aopc_50", first, second)
    assert same["difference"] == 0 and same["p_value"] == 1.0 and same["better"] == "tie"
    assert wilcoxon_p(np.array([np.nan])) != wilcoxon_p(np.array([np.nan]))  # NaN: no pair


def test_ranks_follow_the_declared_direction_and_share_ties() -> None:
    assert rank({"a": 0.2, "b": 0.1, "c": 0.2}, higher_is_better=False) == {
        "a": 2.5,
        "b": 1.0,
        "c": 2.5,
    }
    assert rank({"a": 0.2, "b": float("nan")}, higher_is_better=True) == {"a": 1.0, "b": 2.0}
    metric = BudgetedDeletion(budgets=(50,))
    table = ranking_table(
        [(metric, "del_50"), (metric, "aopc_50")],
        {
            "s": {"deletion.del_50": 0.5, "deletion.aopc_50": 0.1},
            "ns": {"deletion.del_50": 0.3, "deletion.aopc_50": 0.2},
        },
    )
    assert [row["method"] for row in table] == ["ns", "s"] and table[0]["mean_rank"] == 1.0


# -- the interface -------------------------------------------------------------------------------
def test_every_metric_declares_its_scores_once() -> None:
    metrics = build_metrics(MetricSettings())
    assert [m.protocol for m in metrics] == sorted(
        (m.protocol for m in metrics), key=("comparable", "paper").index
    )
    names = [m.name for m in metrics]
    assert len(set(names)) == len(names)
    for metric in metrics:
        keys = [s.key for s in metric.scores]
        assert keys and len(set(keys)) == len(keys), metric.name
        assert metric.title and isinstance(metric, Metric)


def test_a_subset_run_reproduces_the_subsets_rows(unit_ns: StampSet) -> None:
    """Every per-stamp value depends on the stamp, not on the other stamps of the run."""
    settings = MetricSettings(budgets=[20], fractions=[0.05], draws=2, epsilons=[0.0, 0.25])
    rows = [1, 4, 7]
    scale = max(float(np.abs(m).max()) for m in unit_ns.maps)  # fixed per data set and method
    full_set = StampSet(**{**vars(unit_ns.subset(range(9))), "scale": scale})
    part_set = full_set.subset(rows)
    for metric in build_metrics(settings):
        full, part = metric(full_set), metric(part_set)
        for key, values in part.per_stamp.items():
            if key == "flips":  # padded to the run's largest segment count
                width = values.shape[1]
                np.testing.assert_array_equal(full.per_stamp[key][rows, :width], values)
                continue
            np.testing.assert_array_equal(
                full.per_stamp[key][rows], values, err_msg=f"{metric.name}.{key}"
            )
    permuted = control_maps("permuted", full_set.maps, full_set.stamps, 0, 1)
    alone = control_maps("permuted", part_set.maps, part_set.stamps, 0, 1)
    for row, own in zip(rows, alone, strict=True):
        np.testing.assert_array_equal(permuted[row], own)
