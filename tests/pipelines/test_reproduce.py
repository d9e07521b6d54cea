"""`spikeattr reproduce`: configuration refused up front; a small synthetic run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from spikeattr._io import RunLock
from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import RunLockedError, SpikeAttrError
from spikeattr.evaluate.segments import segment_map
from spikeattr.pipelines.reproduce import ReproduceConfigError, build_config, run_reproduce
from spikeattr.snn import load_model
from spikeattr.snn.network import LIFNetwork

runner = CliRunner()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"evaluate.bogus": 1}, "unknown key 'evaluate.bogus'"),
        ({"nosection.key": 1}, r"unknown section \[nosection\]"),
        ({"evaluate.window": "abc"}, "evaluate.window must be an integer"),
        ({"evaluate.window": 0}, "evaluate.window must be >= 1"),
        ({"run.report": 1}, "run.report must be true or false"),
        ({"evaluate.methods": ["s", "gradcam"]}, "unknown \\['gradcam'\\]"),
        ({"evaluate.stamps": "many"}, "evaluate.stamps must be 'paper'"),
        ({"evaluate.precision": "float16"}, "evaluate.precision must be one of float64, float32"),
        ({"models.names": ["published:synthetic_9L"]}, "unknown published model"),
        ({"models.epochs": 0}, "models.epochs"),
        ({"window": 5}, "section.key=value"),
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ReproduceConfigError, match=message):
        build_config("synthetic", None, overrides)


def test_toml_file_and_overrides_layer_on_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[evaluate]\nmethods = ["ns"]\nstamps = "3"\n[run]\nseed = 4\n')
    config = build_config("synthetic", path, {"evaluate.stamps": "2"})
    assert config["evaluate"]["methods"] == ["ns"]
    assert config["evaluate"]["stamps"] == "2"  # the override wins over the file
    assert config["run"]["seed"] == 4
    assert config["evaluate"]["window"] == 1000  # default kept
    path.write_text("[evaluate\n")
    with pytest.raises(ReproduceConfigError, match="not valid TOML"):
        build_config("synthetic", path)
    with pytest.raises(ReproduceConfigError, match="does not exist"):
        build_config("synthetic", tmp_path / "missing.toml")


def test_adl_reads_the_bundled_files_or_an_existing_raw_dir(tmp_path: Path) -> None:
    assert build_config("adl")["data"]["raw_dir"] == ""  # the files that ship with spikeattr
    with pytest.raises(ReproduceConfigError, match="is not a directory"):
        build_config("adl", None, {"data.raw_dir": str(tmp_path / "nope")})
    with pytest.raises(ReproduceConfigError, match="data set must be one of"):
        build_config("mnist")


def test_unwritable_run_dir_is_refused_before_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = build_config("synthetic")
    with pytest.raises(SpikeAttrError, match="cannot write to the run directory"):
        run_reproduce("synthetic", config, blocker / "run")


def test_cli_refuses_bad_config_with_exit_code_2(tmp_path: Path) -> None:
    binary = tmp_path / "config.toml"
    binary.write_bytes(b"\x00\xff\xfe\x89PNG")
    out = tmp_path / "run"
    for args, message in (
        (("--set", "evaluate.window=abc"), "--set: evaluate.window must be an integer"),
        (("--set", "window"), "an override must look like key=value; got 'window'"),
        (("--config", str(tmp_path)), f"{tmp_path} is a directory; expected a TOML config file"),
        (("--config", str(binary)), f"{binary} is not a text file (not UTF-8); expected a TOML"),
    ):
        result = runner.invoke(app, ["reproduce", "synthetic", "--out", str(out), *args])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
        assert not out.exists()


SMALL = ("--set", "evaluate.stamps=1", "--set", 'evaluate.methods=["ns"]')
SMALL += ("--set", 'models.names=["published:synthetic_1L"]', "--set", "run.report=false")
SMALL += ("--quiet",)


def test_garbage_json_met_on_resume_is_one_line_naming_the_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    evaluation = run / "evaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "config.json").write_text('{"models": ["published:synth')
    result = runner.invoke(app, ["reproduce", "synthetic", "--out", str(run), *SMALL])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"{evaluation / 'config.json'} is not valid JSON" in lines[0]
    assert "expected an evaluation run configuration" in lines[0]


def test_a_second_reproduce_on_one_directory_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with RunLock(run, "reproduce synthetic (the first one)"):
        (run / ".data.npz.abc.tmp").write_text("left by the holder")
        result = runner.invoke(app, ["reproduce", "synthetic", "--out", str(run), *SMALL])
        assert result.exit_code == 2, result.output
        assert "is in use by another run (pid" in " ".join(result.output.split())
        assert "'reproduce synthetic (the first one)'" in result.output
        assert (run / ".data.npz.abc.tmp").is_file()  # the holder's files are not touched
    with pytest.raises(RunLockedError), RunLock(run, "first"):
        run_reproduce("synthetic", build_config("synthetic"), run)


def _literal_deletion(model: LIFNetwork, window: np.ndarray, explanation: np.ndarray) -> float:
    """``del_50`` of one stamp by SPEC 5.1, with whole re-runs: flip the first ``b`` cells of
    the ranked segments (each segment in time order), ``b = 0..50``; mean agreement with the
    unflipped prediction."""
    order = [(t, s.channel) for s in segment_map(explanation, 10) for t in range(s.start, s.stop)]
    copies = np.repeat(window[None].astype(np.float32), 51, axis=0)
    for b in range(1, 51):
        for step, channel in order[: min(b, len(order))]:
            copies[b, step, channel] = 1 - copies[b, step, channel]
    with torch.no_grad():
        predicted = model(torch.from_numpy(copies)).membrane[:, -1].argmax(-1).numpy()
    return float(np.mean(predicted == predicted[0]))


def test_small_synthetic_reproduction_end_to_end(tmp_path: Path, checksums: dict[str, Any]) -> None:
    result = runner.invoke(
        app,
        [
            "reproduce",
            "synthetic",
            "--out",
            str(tmp_path / "run"),
            "--json",
            "--set",
            "evaluate.stamps=1",
            "--set",
            'evaluate.methods=["ns"]',
            "--set",
            'models.names=["published:synthetic_1L"]',
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    run = Path(summary["run_dir"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["command"] == "reproduce synthetic"
    assert set(manifest["timings_s"]) >= {"data", "evaluate", "total"}
    assert (run / "evaluation" / "summary.md").is_file()
    assert Path(summary["reports"]["synthetic"]).is_file()
    # the reproduced numbers: the data set of SPEC 2.1 (the research code's checksum) ...
    evaluation = run / "evaluation"
    series = SpikeSeries.load(run / "data" / "synthetic.npz")
    assert series.checksums() == {k: checksums["synthetic"][k] for k in ("X_sha256", "y_sha256")}
    test = series.split("test")
    config = json.loads((evaluation / "config.json").read_text())
    assert config["data_sha256"] == checksums["synthetic"]["X_sha256"]
    # the paper's precision: TSA's maps in float32, as the research code computed them
    assert config["precision"] == "float32"
    unit = json.loads((evaluation / "results/published_synthetic_1L/ns/stamps.json").read_text())
    assert unit["dtype"] == "float32"
    # ... the model's balanced accuracy on its test split (tests/oracles/README.md: 0.98281) ...
    # (there to 5 decimals; to the last digit: the mean recall of a whole-series forward pass)
    scored = json.loads((evaluation / "models" / "published_synthetic_1L.json").read_text())
    assert scored["balanced_accuracy"] == pytest.approx(0.98281, abs=5e-6)
    model = load_model("published:synthetic_1L")
    with torch.no_grad():
        whole = model(torch.from_numpy(test.spikes[None].astype(np.float32))).membrane[0]
    predicted = whole.argmax(-1).numpy()
    recalls = [float(np.mean(predicted[test.labels == c] == c)) for c in range(4)]
    assert scored["balanced_accuracy"] == pytest.approx(np.mean(recalls), abs=1e-12)
    # ... the explained windows, their probabilities and the deletion score of each stamp
    gallery = np.load(evaluation / "gallery" / "published_synthetic_1L" / "ns.npz")
    deletion = json.loads(
        (evaluation / "results/published_synthetic_1L/ns/deletion.json").read_text()
    )
    per_stamp = deletion["variants"]["method"]["draws"][0]["per_stamp"]
    assert deletion["stamps"] == gallery["stamps"].tolist() and len(deletion["stamps"]) == 4
    for row, stamp in enumerate(gallery["stamps"]):
        window = gallery["spikes"][row]
        np.testing.assert_array_equal(window, test.spikes[stamp - 1000 : stamp])
        with torch.no_grad():
            membrane = model(torch.from_numpy(window[None].astype(np.float32))).membrane
        probs = torch.softmax(membrane[0, -1].double(), -1).numpy()
        np.testing.assert_allclose(gallery["probs"][row], probs, rtol=1e-5)
        target = int(gallery["target"][row])
        assert target == int(probs.argmax())
        explanation = gallery["attribution"][row, target]
        literal = _literal_deletion(model, window, explanation)
        assert per_stamp["del_50"][row] == pytest.approx(literal, abs=1e-12), stamp


def test_retrain_with_restarts_keeps_the_lowest_training_loss(tmp_path: Path) -> None:
    config = build_config(
        "synthetic",
        None,
        {
            "models.names": ["published:synthetic_1L"],
            "models.retrain": True,
            "models.epochs": 2,
            "models.restarts": 2,
            "evaluate.stamps": "1",
            "evaluate.methods": ["ns"],
            "run.report": False,
        },
    )
    result = run_reproduce("synthetic", config, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    record = manifest["results"]["training"]["synthetic_1L"]
    assert [run["seed"] for run in record["runs"]] == [0, 1]
    best = min(record["runs"], key=lambda run: run["best_loss"])
    assert record["kept_seed"] == best["seed"]
    assert result.models == [best["checkpoint"]]
    assert (tmp_path / "run" / "models" / "synthetic_1L" / "seed1" / "model.json").is_file()


def test_restarts_must_be_positive() -> None:
    with pytest.raises(ReproduceConfigError, match=r"models\.restarts"):
        build_config("synthetic", None, {"models.restarts": 0})
