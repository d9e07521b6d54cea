"""The evaluation experiment: its files, summaries, resume, a subset run, refusals, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.registry import MetricSettings, build_metrics
from spikeattr.evaluate.results import gallery_path, unit_dir
from spikeattr.explain.stamps import check_stamps
from spikeattr.pipelines import evaluation
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation

runner = CliRunner()
#: Three stamps of the synthetic test split, one of each of three classes.
STAMPS = [8170, 8974, 30458]
SETTINGS = MetricSettings(budgets=[10], fractions=[0.05], draws=2)
METRICS = [m.name for m in build_metrics(SETTINGS)]
UNIT = Path("results") / "published_synthetic_1L"


def _config(series: SpikeSeries, **changes: object) -> EvaluationConfig:
    values: dict[str, object] = {
        "models": ["published:synthetic_1L"],
        "methods": ["s", "ns"],
        "data": "synthetic.npz",
        "data_sha256": series.checksums()["X_sha256"],
        "split": "test",
        "stamps": STAMPS,
        "control_draws": 2,
        "metrics": SETTINGS,
    }
    values.update(changes)
    return EvaluationConfig(**values)  # type: ignore[arg-type]


def _file(run: Path, method: str, metric: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((run / UNIT / method / f"{metric}.json").read_text())
    return body


@pytest.fixture(scope="module")
def full_run(synthetic_series: SpikeSeries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TSA-S and TSA-NS of the 1L model on three stamps, both default controls."""
    out = tmp_path_factory.mktemp("evaluation") / "run"
    run_evaluation(_config(synthetic_series), synthetic_series, out)
    return out


def test_one_file_per_model_method_and_metric_with_its_variants(
    synthetic_series: SpikeSeries, full_run: Path
) -> None:
    sha = _config(synthetic_series).sha256()
    assert sorted(p.name for p in (full_run / "results").iterdir()) == ["published_synthetic_1L"]
    for method in ("s", "ns"):
        files = {p.stem for p in (full_run / UNIT / method).iterdir()}
        assert files == {*METRICS, "stamps"}
        for metric in METRICS:
            body = _file(full_run, method, metric)
            assert (body["model"], body["method"], body["metric"]) == (
                "published:synthetic_1L",
                method,
                metric,
            )
            assert body["config_sha256"] == sha  # each file says which configuration made it
            assert body["stamps"] == STAMPS
            assert set(body["summary"]) == set(body["variants"])
        # the controls of each metric, two draws each; the method itself one draw
        deletion = _file(full_run, method, "deletion")["variants"]
        assert {k: len(v["draws"]) for k, v in deletion.items()} == {
            "method": 1,
            "permuted": 2,
            "random-order": 2,
        }
        completeness = _file(full_run, method, "fraction_completeness")["variants"]
        assert set(completeness) == {"method", "permuted"}
        assert set(_file(full_run, method, "correctness")["variants"]) == {"method"}
        draw = deletion["permuted"]["draws"][1]
        assert len(draw["per_stamp"]["del_10"]) == len(STAMPS)
        assert len(draw["curves"]["agreement"]) == 11  # b = 0 .. 10
        summary = _file(full_run, method, "deletion")["summary"]["permuted"]["del_10"]
        assert summary["n"] == 2 * len(STAMPS)  # CIs over stamps x draws
        assert summary["ci_low"] <= summary["value"] <= summary["ci_high"]
        stamps = json.loads((full_run / UNIT / method / "stamps.json").read_text())
        assert stamps["config_sha256"] == sha and stamps["stamps"] == STAMPS
    comparisons = json.loads((full_run / "comparisons" / "published_synthetic_1L.json").read_text())
    assert [row["method"] for row in comparisons["ranking"]] in (["s", "ns"], ["ns", "s"])
    assert {(p["first"], p["second"]) for p in comparisons["pairs"]} >= {
        ("s", "ns"),
        ("s", "s (permuted control)"),
        ("ns", "ns (random-order control)"),
    }
    manifest = json.loads((full_run / "manifest.json").read_text())
    assert {"config", "seed", "versions", "data_checksums", "timings_s"} <= set(manifest)
    assert manifest["config"]["stamps"] == STAMPS
    assert manifest["config"]["metrics"]["budgets"] == [10]
    accuracy = json.loads((full_run / "models" / "published_synthetic_1L.json").read_text())
    assert accuracy["balanced_accuracy"] == pytest.approx(0.98281, abs=1e-4)
    with np.load(full_run / "gallery" / "published_synthetic_1L" / "ns.npz") as gallery:
        labels = gallery["label"].tolist()
        assert labels == sorted(set(labels))  # one stamp per class present
        assert set(gallery["stamps"].tolist()) <= set(STAMPS)
        assert gallery["attribution"].shape == (len(labels), 4, 3, 1000)


def test_summary_md_leads_with_the_comparable_protocol(full_run: Path) -> None:
    summary = (full_run / "summary.md").read_text()
    titles = [line for line in summary.splitlines() if line.startswith("## ")]
    assert [t.split()[1] for t in titles] == ["Comparable", "Paper"]
    comparable = summary[summary.index("## Comparable") : summary.index("## Paper")]
    # budgets [10]: the headline of the deletion is the cells to the first change
    value = _file(full_run, "ns", "deletion")["summary"]["method"]["first_change"]["value"]
    assert f"| published:synthetic_1L | ns | {value:.0f}" in comparable  # a count: no decimals
    assert float(value).is_integer() and f"{value:.3f}" not in comparable
    assert "| ns (permuted control) |" in comparable
    assert "### Ranking of the methods: published:synthetic_1L" in comparable
    ess = _file(full_run, "ns", "correctness")["summary"]["method"]["ess_original"]["value"]
    assert f"| published:synthetic_1L | ns | {ess:.3f}" in summary[summary.index("## Paper") :]
    assert "3 stamps; true classes x1_only 1, both 1, x2_only 1" in summary


def test_summary_csv_is_one_row_per_score(full_run: Path) -> None:
    with open(full_run / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "model",
        "method",
        "variant",
        "metric",
        "protocol",
        "score",
        "higher_is_better",
        "value",
        "ci_low",
        "ci_high",
        "n",
    ]
    keyed = {(r["method"], r["variant"], r["metric"], r["score"]): r for r in rows}
    assert len(keyed) == len(rows)  # one row per (model, method, variant, metric, score)
    for method in ("s", "ns"):
        for metric in METRICS:
            body = _file(full_run, method, metric)
            for variant, scores in body["summary"].items():
                for score, entry in scores.items():
                    row = keyed[(method, variant, metric, score)]
                    assert row["protocol"] == body["protocol"]
                    if entry["value"] is None:
                        assert row["value"] == ""
                    else:
                        assert float(row["value"]) == pytest.approx(entry["value"])
    del_10 = keyed[("ns", "random-order", "deletion", "del_10")]
    assert del_10["higher_is_better"] == "False" and del_10["n"] == "6"


def test_resume_skips_finished_units_and_refuses_another_config(
    synthetic_series: SpikeSeries, full_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    out = Path(shutil.copytree(full_run, tmp_path / "run"))
    calls: list[str] = []
    original = evaluation.evaluate_unit

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(str(args[2]))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluation, "evaluate_unit", counting)
    # a finished unit is skipped; a unit with a missing metric file is run again
    run_evaluation(_config(synthetic_series), synthetic_series, out, resume=True)
    assert calls == []
    (out / UNIT / "s" / "sensitivity.json").unlink()
    before = json.loads((out / "manifest.json").read_text())["timings_s"]
    run_evaluation(_config(synthetic_series), synthetic_series, out, resume=True)
    assert calls == ["s"]
    after = json.loads((out / "manifest.json").read_text())["timings_s"]
    assert set(after) == set(before)  # the units of the first run keep their times
    rerun = [label for label in after if label.endswith(" / s")]
    assert rerun and all(after[k] != before[k] for k in rerun)
    assert all(after[k] == before[k] for k in after if k not in rerun)
    assert _file(out, "s", "sensitivity") == _file(full_run, "s", "sensitivity") | {
        "seconds": _file(out, "s", "sensitivity")["seconds"]
    }  # the same numbers again
    with pytest.raises(SpikeAttrError, match=r"different configuration.*stamps"):
        run_evaluation(
            _config(synthetic_series, stamps=STAMPS[:2]), synthetic_series, out, resume=True
        )
    with pytest.raises(SpikeAttrError, match=r"different configuration.*control_draws"):
        run_evaluation(
            _config(synthetic_series, control_draws=3), synthetic_series, out, resume=True
        )
    with pytest.raises(SpikeAttrError, match="pass --resume"):
        run_evaluation(_config(synthetic_series), synthetic_series, out, resume=False)
    # a unit file written under another configuration is refused, not silently mixed in
    body = _file(out, "ns", "deletion")
    body["config_sha256"] = "0" * 64
    (out / UNIT / "ns" / "deletion.json").write_text(json.dumps(body))
    with pytest.raises(SpikeAttrError, match="another configuration"):
        run_evaluation(_config(synthetic_series), synthetic_series, out, resume=True)


def test_a_subset_run_reproduces_the_subsets_rows_of_the_full_run(
    synthetic_series: SpikeSeries, full_run: Path, tmp_path: Path
) -> None:
    """Draws are keyed by stamp, not position, and the paper's thresholds by a scale fixed per
    data set: a run on some of the stamps gives those stamps' per-stamp values of a full run."""
    subset = [STAMPS[2], STAMPS[0]]
    out = tmp_path / "subset"
    run_evaluation(_config(synthetic_series, stamps=subset, methods=["ns"]), synthetic_series, out)
    for metric in METRICS:
        full, part = _file(full_run, "ns", metric), _file(out, "ns", metric)
        rows = [full["stamps"].index(s) for s in part["stamps"]]
        for variant, record in part["variants"].items():
            for draw, values in enumerate(record["draws"]):
                reference = full["variants"][variant]["draws"][draw]["per_stamp"]
                for key, column in values["per_stamp"].items():
                    if key == "flips":  # padded to the run's largest segment count
                        continue
                    expected = [reference[key][i] for i in rows]
                    assert np.allclose(
                        np.asarray(column, float), np.asarray(expected, float), equal_nan=True
                    ), (metric, variant, draw, key)


def test_empty_explanations_are_handled(synthetic_series: SpikeSeries, tmp_path: Path) -> None:
    # a window without any spike gives an empty TSA-S map: nothing to flip, keep or perturb
    part = synthetic_series.split("test")
    silent = SpikeSeries(
        np.zeros((400, 3), dtype=np.int8),
        part.labels[:400],
        part.input_names,
        part.class_names,
        {"test": (0, 400)},
        {"dataset": "silent"},
    )
    config = _config(silent, methods=["s"], stamps=[100, 400], controls=[])
    run_evaluation(config, silent, tmp_path)
    deletion = _file(tmp_path, "s", "deletion")
    own = deletion["variants"]["method"]["draws"][0]
    assert own["per_stamp"]["del_10"] == [1.0, 1.0]  # nothing flipped: the prediction stays
    assert own["per_stamp"]["first_change"] == [11.0, 11.0]  # never changed within b <= 10
    sensitivity = _file(tmp_path, "s", "sensitivity")["variants"]["method"]["draws"][0]
    assert sensitivity["details"]["zero_maps"] == 2
    assert sensitivity["per_stamp"]["sens_mean"] == [None, None]  # undefined, written as null
    correctness = _file(tmp_path, "s", "correctness")["variants"]["method"]["draws"][0]
    assert correctness["per_stamp"]["n_segments"] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stamps": [0]}, "outside the series"),
        ({"stamps": [10**7]}, "outside the series"),
        ({"methods": ["tsa"]}, "unknown methods"),
        ({"models": []}, "no models"),
        ({"split": "val"}, "unknown split"),
        ({"controls": ["shuffled"]}, "unknown controls"),
        ({"control_draws": 0}, "control draws"),
        ({"metrics": MetricSettings(budgets=[0])}, "metric settings"),
        ({"precision": "float16"}, "precision must be one of float64, float32"),
    ],
)
def test_bad_configs_are_refused_before_work(
    synthetic_series: SpikeSeries, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SpikeAttrError, match=message):
        run_evaluation(_config(synthetic_series, **changes), synthetic_series, tmp_path)
    assert not (tmp_path / "config.json").exists()


def test_cli_evaluate_json(synthetic_series: SpikeSeries, tmp_path: Path) -> None:
    data = synthetic_series.save(tmp_path / "synthetic.npz")
    stamps_file = tmp_path / "stamps.json"
    stamps_file.write_text(json.dumps(STAMPS[:2]))
    args = ["evaluate", "--models", "published:synthetic_1L", "--methods", "ns"]
    args += ["--data", str(data), "--out", str(tmp_path / "run")]
    small = ["--budgets", "10", "--fractions", "0.05", "--draws", "1", "--control-draws", "1"]
    small += ["--controls", "permuted", "--no-randomisation"]
    result = runner.invoke(app, [*args, "--stamps", str(stamps_file), *small, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_stamps"] == 2 and summary["protocol"] == "comparable"
    assert {(r["method"], r["variant"]) for r in summary["summary"]} == {
        ("ns", "method"),
        ("ns", "permuted"),
    }
    assert "randomisation" not in {r["metric"] for r in summary["summary"]}
    assert list(summary["comparisons"]) == ["published:synthetic_1L"]
    again = runner.invoke(app, [*args, "--stamps", "2"])
    assert again.exit_code == 2 and "--resume" in again.output
    # TSA's maps were computed in float64 (the default), and the run says so
    assert json.loads((tmp_path / "run" / "config.json").read_text())["precision"] == "float64"
    unit = unit_dir(tmp_path / "run", "published:synthetic_1L", "ns") / "stamps.json"
    assert json.loads(unit.read_text())["dtype"] == "float64"
    paper_args = [*args[:-1], str(tmp_path / "paper"), "--stamps", str(stamps_file), *small]
    paper = runner.invoke(app, [*paper_args, "--precision", "float32", "--json"])
    assert paper.exit_code == 0, paper.output
    unit = unit_dir(tmp_path / "paper", "published:synthetic_1L", "ns") / "stamps.json"
    assert json.loads(unit.read_text())["dtype"] == "float32"
    gallery = tmp_path / "paper" / gallery_path("published:synthetic_1L", "ns")
    with np.load(gallery, allow_pickle=False) as archive:  # the gallery's maps too
        assert archive["attribution"].dtype == np.float32
    refused = runner.invoke(
        app, [*args[:-1], str(tmp_path / "bad"), "--stamps", "2", "--precision", "double"]
    )
    assert refused.exit_code == 2
    assert "precision must be one of float64, float32; got 'double'" in refused.output
    assert not (tmp_path / "bad").exists()


def test_paper_stamps_and_per_class_stamps(synthetic_series: SpikeSeries) -> None:
    from spikeattr.cli.evaluate import _parse_stamps

    paper = _parse_stamps("paper", synthetic_series, "test")
    assert len(paper) == 100 and paper[0] == 8170
    per_class = _parse_stamps("3", synthetic_series, "test")
    check_stamps(per_class, synthetic_series.split("test").n_steps)
    labels = synthetic_series.split("test").labels[np.array(per_class) - 1]
    assert np.bincount(labels).tolist() == [3, 3, 3, 3]


def test_data_with_other_class_names_is_refused(
    synthetic_series: SpikeSeries, tmp_path: Path
) -> None:
    renamed = SpikeSeries(
        synthetic_series.spikes,
        synthetic_series.labels,
        synthetic_series.input_names,
        ("a", "b", "c", "d"),
        synthetic_series.splits,
        synthetic_series.meta,
    )
    with pytest.raises(SpikeAttrError, match="classes differ"):
        run_evaluation(_config(renamed), renamed, tmp_path)
