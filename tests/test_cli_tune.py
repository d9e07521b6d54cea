"""`spikeattr tune` through typer's CliRunner, on a tiny data file (SQLite studies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna  # required: CI installs it; a missing Optuna fails, never skips
import pytest

from spikeattr.snn import TrainConfig

# The CLI helpers and the test-sized options of the train tests (the data: tiny_training_file).
from test_cli_train import TINY, _flat, _invoke, _json

# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_tune_optuna_then_train_with_the_best_config(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tune"
    summary = _json(
        "tune",
        "--data",
        str(tiny_training_file),
        "--method",
        "optuna",
        "--trials",
        "3",
        "--epochs",
        "1",
        "--study",
        "cli",
        "--seed",
        "0",
        "--out",
        str(out),
        *TINY,
    )
    assert summary["method"] == "optuna" and summary["n_trials"] == 3
    assert summary["study_name"] == "cli" and summary["storage"].endswith("study.db")
    best = TrainConfig.from_toml(summary["best_config_file"])
    assert best.to_dict() == summary["best_config"] and best.window == 100
    result = _invoke(
        "train",
        "--data",
        str(tiny_training_file),
        "--config",
        summary["best_config_file"],
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "final"),
        "--quiet",
    )
    assert result.exit_code == 0, result.output


def test_tune_greedy_plain_text(tiny_training_file: Path, tmp_path: Path) -> None:
    result = _invoke(
        "tune",
        "--data",
        str(tiny_training_file),
        "--method",
        "greedy",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "g"),
        "--quiet",
        *TINY,
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "greedy:" in text and "best validation NLL" in text and "tau_mem = " in text
    assert (tmp_path / "g" / "greedy.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--method", "random"), "--method must be 'optuna' or 'greedy'; got 'random'"),
        (("--method", "greedy", "--storage", "sqlite:///x.db"), "--storage is for --method"),
        (("--trials", "0"), "n_trials must be an integer >= 1"),
    ],
)
def test_tune_refuses_bad_arguments(
    tiny_training_file: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _invoke(
        "tune", "--data", str(tiny_training_file), "--out", str(tmp_path / "t"), *TINY, *args
    )
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)


def _tune(tiny_training_file: Path, out: Path, *args: str) -> dict[str, Any]:
    return _json(
        "tune",
        "--data",
        str(tiny_training_file),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--study",
        "s",
        *TINY,
        *args,
    )


def test_a_restarted_worker_does_not_replay_its_draws(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    """The same --seed again (a restart, a larger --trials) must not repeat the parameters of
    the study's earlier trials; the draws of trial k depend only on the seed and k."""
    first = _tune(tiny_training_file, tmp_path / "a", "--trials", "2", "--seed", "0")
    more = _tune(tiny_training_file, tmp_path / "a", "--trials", "4", "--seed", "0")
    params = [t["params"] for t in more["trials"]]
    assert [t["number"] for t in more["trials"]] == [0, 1, 2, 3]
    assert params[:2] == [t["params"] for t in first["trials"]]
    assert len({json.dumps(p, sort_keys=True) for p in params}) == 4  # no trial repeats another
    again = _tune(tiny_training_file, tmp_path / "b", "--trials", "4", "--seed", "0")  # a new study
    assert [t["params"] for t in again["trials"]] == params  # reproducible from the seed


def test_report_gives_the_study_best_without_training(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    worker = _tune(tiny_training_file, tmp_path / "w", "--trials", "3", "--seed", "1")
    storage = f"sqlite:///{tmp_path / 'w' / 'study.db'}"
    report = _json("tune", "--report", "--study", "s", "--storage", storage)
    for key in ("best_config", "best_score", "best_trial", "trials", "running"):
        assert report[key] == worker[key], key
    assert report["running"] == [] and report["out_dir"] is None
    # with --out (the worker's, default SQLite storage) the files are written there too
    result = _invoke("tune", "--report", "--study", "s", "--out", str(tmp_path / "w"))
    assert result.exit_code == 0, result.output
    assert f"best trial {worker['best_trial']}, validation NLL" in _flat(result.stdout)
    assert (
        TrainConfig.from_toml(tmp_path / "w" / "best_config.toml").to_dict()
        == (worker["best_config"])
    )
    for args, message in (
        ((), "--report needs --storage"),
        (("--storage", storage, "--study", "other"), "holds no study 'other' (it has: s)"),
        (("--method", "greedy"), "--report is for --method optuna"),
    ):
        result = _invoke("tune", "--report", *args)
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1 and message in _flat(result.output)


def test_a_storage_that_cannot_be_opened_leaves_no_out_folder(
    tiny_training_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "worker"
    opened: list[str] = []
    real_storage = optuna.storages.RDBStorage

    def recording_storage(url: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(url)
        return real_storage(url, *args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", recording_storage)
    cases = (
        (f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}", "unable to open database file"),
        ("postgres://me:secret@localhost/x", "cannot open the study storage at"),
        ("mysql+nosuchdriver://me@localhost/x", "cannot open the study storage at"),
    )
    for storage, message in cases:
        result = _invoke(
            "tune",
            "--data",
            str(tiny_training_file),
            "--out",
            str(out),
            "--storage",
            storage,
            *TINY,
        )
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
        assert "secret" not in result.output
        assert not out.exists()
    # the storage errors above came from Optuna's storage layer: each URL reached it
    assert sorted(set(opened)) == sorted(storage for storage, _ in cases)


def test_no_wait_reports_the_trials_other_workers_still_run(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    from spikeattr.runs.study import open_study
    from spikeattr.runs.trial_queue import _claim_waiting_trial, plan_trials

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    other = open_study(storage, "s")
    plan_trials(other, 2)
    assert _claim_waiting_trial(other, "elsewhere:/runs/w0") is not None  # trial 0, running
    out = tmp_path / "w1"
    args = ("--storage", storage, "--trials", "2", "--no-wait", "--quiet")
    result = _invoke(
        "tune", "--data", str(tiny_training_file), "--out", str(out), "--study", "s", *TINY, *args
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "optuna: study 's', 2 trials (1 complete, 1 running); best trial 1" in text
    assert "1 trials still running ([0]): this best may change" in text
    assert "spikeattr tune --report --study s --storage URL" in text
    saved = json.loads((out / "tuning.json").read_text())
    assert saved["running"] == [0] and saved["best_trial"] == 1
