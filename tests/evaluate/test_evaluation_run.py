"""The evaluation experiment: files, summary, resume, refusals, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.explain.stamps import check_stamps
from spikeattr.pipelines import evaluation
from spikeattr.pipelines.evaluation import METRICS, EvaluationConfig, run_evaluation

runner = CliRunner()
STAMPS = [8170, 8974, 30458, 64330, 120272, 201597]


def _config(series: SpikeSeries, **changes: object) -> EvaluationConfig:
    values: dict[str, object] = {
        "models": ["published:synthetic_1L"],
        "methods": ["s", "ns"],
        "data": "synthetic.npz",
        "data_sha256": series.checksums()["X_sha256"],
        "split": "test",
        "stamps": STAMPS,
    }
    values.update(changes)
    return EvaluationConfig(**values)  # type: ignore[arg-type]


def test_run_writes_one_file_per_model_method_metric_and_a_summary(
    synthetic_series: SpikeSeries, tmp_path: Path
) -> None:
    result = run_evaluation(_config(synthetic_series), synthetic_series, tmp_path)
    for method in ("s", "ns", "random-s", "random-ns"):
        directory = tmp_path / "results" / "published_synthetic_1L" / method
        for metric in (*METRICS, "stamps"):
            body = json.loads((directory / f"{metric}.json").read_text())
            assert body["method"] == method and body["control"] == method.startswith("random")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {"config", "seed", "versions", "data_checksums", "timings_s"} <= set(manifest)
    assert manifest["config"]["stamps"] == STAMPS
    # the summary tables hold the numbers of the results files
    correctness = json.loads(
        (tmp_path / "results/published_synthetic_1L/ns/correctness.json").read_text()
    )
    ess = correctness["results"]["ess_original"]["value"]
    assert 0 <= ess <= 1
    assert f"{ess:.3f}" in (tmp_path / "summary.md").read_text()
    with open(tmp_path / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if r["method"] == "ns")
    assert float(row["ess_original"]) == pytest.approx(ess)
    assert float(row["ess_original_ci_low"]) <= ess <= float(row["ess_original_ci_high"])
    assert len(result["rows"]) == 4 and not any(r["missing"] for r in result["rows"])
    accuracy = json.loads((tmp_path / "models" / "published_synthetic_1L.json").read_text())
    assert accuracy["balanced_accuracy"] == pytest.approx(0.98281, abs=1e-4)
    with np.load(tmp_path / "gallery" / "published_synthetic_1L" / "ns.npz") as gallery:
        labels = gallery["label"].tolist()
        assert labels == sorted(set(labels))  # one stamp per class present
        assert set(gallery["stamps"].tolist()) <= set(STAMPS)
        assert gallery["attribution"].shape == (len(labels), 4, 3, 1000)


def test_resume_skips_finished_units_and_refuses_another_config(
    synthetic_series: SpikeSeries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(synthetic_series, methods=["s"])
    run_evaluation(config, synthetic_series, tmp_path)
    calls: list[str] = []
    original = evaluation.evaluate_unit

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(str(args[1]))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluation, "evaluate_unit", counting)
    # a finished unit is skipped; a unit with a missing metric file is run again
    same = _config(synthetic_series, methods=["s"])
    run_evaluation(same, synthetic_series, tmp_path, resume=True)
    assert calls == []
    (tmp_path / "results/published_synthetic_1L/s/continuity.json").unlink()
    run_evaluation(same, synthetic_series, tmp_path, resume=True)
    assert calls == ["s"]
    with pytest.raises(SpikeAttrError, match=r"different configuration.*stamps"):
        run_evaluation(
            _config(synthetic_series, methods=["s"], stamps=STAMPS[:3]),
            synthetic_series,
            tmp_path,
            resume=True,
        )
    with pytest.raises(SpikeAttrError, match="pass --resume"):
        run_evaluation(config, synthetic_series, tmp_path, resume=False)


def test_summary_reports_missing_results(synthetic_series: SpikeSeries, tmp_path: Path) -> None:
    config = _config(synthetic_series, methods=["s"], random_control=False)
    run_evaluation(config, synthetic_series, tmp_path)
    (tmp_path / "results/published_synthetic_1L/s/compactness.json").unlink()
    rows = evaluation.collect_summary(tmp_path, config)
    assert rows[0]["missing"] == "compactness"
    assert "Missing results" in evaluation.summary_markdown(rows)


def test_empty_explanations_are_handled_and_reported(
    synthetic_series: SpikeSeries, tmp_path: Path
) -> None:
    # the first 3 steps of the test split: TSA-S explains with spikes only, all inputs spike,
    # so the map is not empty; a zero window (no spikes at all) gives an empty TSA-S map.
    part = synthetic_series.split("test")
    silent = SpikeSeries(
        np.zeros((400, 3), dtype=np.int8),
        part.labels[:400],
        part.input_names,
        part.class_names,
        {"test": (0, 400)},
        {"dataset": "silent"},
    )
    config = _config(silent, methods=["s"], stamps=[100, 400], random_control=False)
    run_evaluation(config, silent, tmp_path)
    stamps = json.loads((tmp_path / "results/published_synthetic_1L/s/stamps.json").read_text())
    assert stamps["empty_explanations"] == [100, 400]
    assert stamps["n_segments"] == [0, 0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stamps": [0]}, "outside the series"),
        ({"stamps": [10**7]}, "outside the series"),
        ({"methods": ["tsa"]}, "unknown methods"),
        ({"models": []}, "no models"),
        ({"split": "val"}, "unknown split"),
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
    stamps_file.write_text(json.dumps(STAMPS[:4]))
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--models",
            "published:synthetic_1L",
            "--methods",
            "ns",
            "--data",
            str(data),
            "--stamps",
            str(stamps_file),
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_stamps"] == 4
    assert {r["method"] for r in summary["summary"]} == {"ns", "random-ns"}
    again = runner.invoke(
        app,
        [
            "evaluate",
            "--models",
            "published:synthetic_1L",
            "--methods",
            "ns",
            "--data",
            str(data),
            "--stamps",
            "2",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert again.exit_code == 2 and "--resume" in again.output


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
