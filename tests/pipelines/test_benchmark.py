"""`spikeattr benchmark`: files, numbers read back, resume, refusals, escaping, reproduce."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.benchmark import generate_task
from spikeattr.errors import RunStateError, SpikeAttrError
from spikeattr.evaluate.leaderboard import best_and_tied
from spikeattr.evaluate.localisation import localisation_scores
from spikeattr.evaluate.results import metric_path, read_metric
from spikeattr.explain.stamps import explain_stamps
from spikeattr.pipelines.benchmark import BenchmarkConfig, evaluation_config, run_benchmark
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.pipelines.reproduce import build_config
from spikeattr.snn import load_model
from spikeattr.snn.checkpoint import published_model_path

runner = CliRunner()


def small(**changes: object) -> BenchmarkConfig:
    config = BenchmarkConfig(
        tasks=["conjunction"], depths=[1], methods=["s", "ns", "lif_z"], stamps=2, control_draws=1
    )
    for key, value in changes.items():
        setattr(config, key, value)
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchmarkConfig, Path]:
    out = tmp_path_factory.mktemp("bench") / "run"
    config = small()
    run_benchmark(config, out)
    return config, out


def test_writes_every_file_and_the_scores_of_the_maps(
    finished: tuple[BenchmarkConfig, Path],
) -> None:
    config, out = finished
    for name in ("config.json", "manifest.json", "data/conjunction.npz", "conjunction/summary.md"):
        assert (out / name).is_file(), name
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert [m["layers"] for m in board["models"]] == ["1L"]
    assert board["models"][0]["balanced_accuracy"] >= 0.9
    labels = {row["label"] for row in board["rows"]}
    assert labels == {
        *("s", "ns", "lif_z"),
        *(f"{m} (permuted control)" for m in ("s", "ns", "lif_z")),
    }
    # the localisation scores are those of the maps, recomputed here from scratch
    series = generate_task("conjunction")
    test = series.split("test")
    evaluation = evaluation_config(config, "conjunction", series, out / "data/conjunction.npz")
    model = load_model("published:bench_conjunction_1L")
    explained = explain_stamps(model, test.spikes, evaluation.stamps, "ns", window=200)
    expected = [
        localisation_scores(explained.unpadded(i), test.evidence_mask(int(t), 200))["auprc_abs"]
        for i, t in enumerate(explained.stamps)
    ]
    row = next(r for r in board["rows"] if r["label"] == "ns")
    assert row["cells"]["localisation.auprc_abs"]["value"] == pytest.approx(np.mean(expected))
    record = read_metric(
        metric_path(out / "conjunction", evaluation.models[0], "ns", "localisation")
    )
    np.testing.assert_allclose(record.variants["method"].rows()["auprc_abs"], expected)
    # the faithfulness scores of the same runs sit beside them
    assert "deletion.del_50" in row["cells"] and "fraction_completeness.rel_5" in row["cells"]
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    line = next(r for r in lines if r["method"] == "ns" and r["variant"] == "method")
    assert float(line["localisation.auprc_abs"]) == pytest.approx(np.mean(expected))
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert f"{np.mean(expected):.3f}" in markdown and f"{np.mean(expected):.3f}" in html
    assert "ranking by localisation" in markdown and "paired comparisons" in markdown


def test_the_leaderboard_names_the_method_to_trust_and_each_map_s_precision(
    finished: tuple[BenchmarkConfig, Path],
) -> None:
    """The best method is the one with the highest AUPRC of |a|; a method is tied when its CI
    reaches that value; the maps' dtype (float64: TSA's tails kept, the exact methods) is on
    every row."""
    _, out = finished
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    rows = [r for r in board["rows"] if r["variant"] == "method"]
    assert {r["method"]: r["dtype"] for r in rows} == {
        "s": "float64",
        "ns": "float64",
        "lif_z": "float64",
    }
    cells = {r["method"]: r["cells"]["localisation.auprc_abs"] for r in rows}
    (best,) = board["best"]
    assert best["method"] == max(cells, key=lambda m: cells[m]["value"])
    value = cells[best["method"]]["value"]
    expected_tied = sorted(
        m for m, c in cells.items() if m != best["method"] and c["ci_high"] >= value
    )
    assert sorted(best["tied"]) == expected_tied
    assert best["cell"]["value"] == value
    assert best["dtype"] == "float64"
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "## Which method to trust" in markdown and "Which method to trust" in html
    trust = markdown.split("## Which method to trust")[1].split("## At a glance")[0]
    assert f"| conjunction | 1L | {best['method']} |" in trust
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert {r["method"]: r["maps_dtype"] for r in lines if r["variant"] == "method"} == {
        "s": "float64",
        "ns": "float64",
        "lif_z": "float64",
    }


def test_resume_recomputes_nothing_and_other_configurations_are_refused(
    finished: tuple[BenchmarkConfig, Path],
) -> None:
    config, out = finished
    unit = out / "conjunction/results/published_bench_conjunction_1L/ns/localisation.json"
    before = unit.stat().st_mtime_ns
    board = (out / "leaderboard.json").read_text(encoding="utf-8")
    run_benchmark(config, out, resume=True)
    assert unit.stat().st_mtime_ns == before  # the unit was read back, not recomputed
    assert (out / "leaderboard.json").read_text(encoding="utf-8") == board
    with pytest.raises(RunStateError, match="already holds a benchmark"):
        run_benchmark(config, out)
    with pytest.raises(RunStateError, match="differs in: stamps"):
        run_benchmark(small(stamps=3), out, resume=True)


def test_a_non_empty_directory_without_a_benchmark_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunStateError, match="holds no benchmark"):
        run_benchmark(small(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "notes.txt"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tasks": ["motif"]}, "unknown benchmark task"),
        ({"depths": [4]}, "unknown model depths"),
        ({"methods": ["gradcam"]}, "unknown methods"),
        ({"stamps": 0}, "stamps"),
        ({"models_dir": "/nonexistent"}, "does not exist"),
    ],
)
def test_bad_configurations_are_refused_before_any_work(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SpikeAttrError, match=message):
        run_benchmark(small(**changes), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_refuses_bad_arguments_in_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--out", str(tmp_path), "--models", "1L,deep"])
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2
    assert "1L,2L,3L" in result.output


def test_names_from_a_models_folder_are_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "<img src=x onerror=alert(1)>|x"
    folder.mkdir()
    source = published_model_path("bench_conjunction_1L")
    shutil.copy(source, folder)
    shutil.copy(source.with_suffix(".safetensors"), folder)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            *("benchmark", "--out", str(out), "--tasks", "conjunction", "--models", "1L"),
            *("--methods", "s", "--stamps", "1", "--control-draws", "1"),
            *("--models-dir", str(folder), "--quiet"),
        ],
    )
    assert result.exit_code == 0, result.output
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;|x" in html
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "<img" not in markdown and r"&lt;img src=x onerror=alert(1)&gt;\|x" in markdown
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert board["models"][0]["model"].startswith(str(folder))


def test_localisation_needs_data_with_evidence(synthetic_series: object, tmp_path: Path) -> None:
    config = EvaluationConfig(
        models=["published:synthetic_1L"],
        methods=["s"],
        data="synthetic.npz",
        data_sha256="",
        split="test",
        stamps=[1000],
        protocols=["localisation"],
    )
    with pytest.raises(SpikeAttrError, match="evidence mask"):
        run_evaluation(config, synthetic_series, tmp_path / "run")  # type: ignore[arg-type]


def test_reproduce_benchmark_is_a_known_configuration() -> None:
    config = build_config("benchmark", None, {"models.retrain": True})
    assert config["models"]["retrain"] is True


def test_reproduce_benchmark_retrains_into_the_run_then_benchmarks_those_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spikeattr.pipelines import benchmark, benchmark_models
    from spikeattr.pipelines.reproduce import run_reproduce

    trained: list[Path] = []

    def fake_training(out_dir: Path, log: object = None) -> dict[str, object]:
        out_dir.mkdir(parents=True)
        source = published_model_path("bench_conjunction_1L")
        shutil.copy(source, out_dir)
        shutil.copy(source.with_suffix(".safetensors"), out_dir)
        trained.append(out_dir)
        return {}

    monkeypatch.setattr(benchmark_models, "train_benchmark_models", fake_training)
    monkeypatch.setattr(
        benchmark,
        "BenchmarkConfig",
        lambda **values: small(**values),
    )
    config = build_config("benchmark", None, {"models.retrain": True})
    result = run_reproduce("benchmark", config, tmp_path / "run")
    assert trained == [tmp_path / "run" / "models"]
    assert result.models == [str(tmp_path / "run" / "models" / "bench_conjunction_1L.json")]
    assert result.reports["leaderboard"] == tmp_path / "run" / "benchmark" / "leaderboard.html"
    assert result.reports["leaderboard"].is_file()
    assert result.evaluations == {"conjunction": tmp_path / "run" / "benchmark" / "conjunction"}


def test_the_report_of_a_task_says_which_method_to_trust(
    finished: tuple[BenchmarkConfig, Path], tmp_path: Path
) -> None:
    """A run on data with known evidence: the report leads with the best method by localisation
    (the leaderboard's choice), the methods tied with it and that method's sanity check."""
    from spikeattr.viz.report import build_report

    _, out = finished
    run = Path(shutil.copytree(out / "conjunction", tmp_path / "conjunction"))
    result = build_report(run)
    markdown = result.markdown.read_text(encoding="utf-8")
    page = result.html.read_text(encoding="utf-8")
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    (best,) = board["best"]
    section = markdown.split("## Which method to trust")[1].split("## Comparable protocol")[0]
    row = next(line for line in section.splitlines() if line.startswith("| published:"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == best["method"]
    assert cells[2].startswith(f"{best['cell']['value']:.3f}")
    assert cells[3] == (", ".join(best["tied"]) or "-")
    assert cells[4] == "not computed"  # the benchmark skips the randomisation check
    assert page.index('id="trust"') < page.index('id="comparable-protocol"')
    assert 'id="best-methods"' in page
    # a method whose CI reaches the best value is listed as tied with it
    other = next(m for m in ("s", "ns", "lif_z") if m != best["method"])
    path = metric_path(run, "published:bench_conjunction_1L", other, "localisation")
    body = json.loads(path.read_text(encoding="utf-8"))
    body["summary"]["method"]["auprc_abs"]["ci_high"] = best["cell"]["value"]
    path.write_text(json.dumps(body), encoding="utf-8")
    markdown = build_report(run).markdown.read_text(encoding="utf-8")
    section = markdown.split("## Which method to trust")[1].split("## Comparable protocol")[0]
    row = next(line for line in section.splitlines() if line.startswith("| published:"))
    assert other in [c.strip() for c in row.strip("|").split("|")][3].split(", ")


def test_best_and_tied_reach_the_best_value_in_the_score_s_direction() -> None:
    """Tied: the CI's far end reaches the best value (ci_high when higher is better, ci_low
    when lower is); a method without a CI is tied only at the same value."""
    cells = {
        "a": {"value": 0.9, "ci_low": 0.85, "ci_high": 0.95},
        "b": {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9},
        "c": {"value": 0.8, "ci_low": 0.7, "ci_high": 0.89},
        "d": {"value": 0.9},
        "e": {},
    }
    assert best_and_tied(cells, higher_is_better=True) == ("a", ["b", "d"])
    lower = {
        "a": {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3},
        "b": {"value": 0.3, "ci_low": 0.2, "ci_high": 0.4},
        "c": {"value": 0.3, "ci_low": 0.21, "ci_high": 0.4},
    }
    assert best_and_tied(lower, higher_is_better=False) == ("a", ["b"])
    assert best_and_tied({"x": {}}, higher_is_better=True) is None
