"""Evaluation on a Dask cluster: the files of one process, a killed worker, an interrupted run.

Every run here is 2 models x 2 methods on 3 stamps with small settings, compared file by file
(timing fields aside) with the same run in one process.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.evaluate.registry import MetricSettings
from spikeattr.evaluate.results import unit_dir
from spikeattr.pipelines import evaluation
from spikeattr.pipelines.cluster import Cluster
from spikeattr.pipelines.evaluation import EvaluationConfig, run_evaluation
from spikeattr.runs.compare import differing_files, result_files

runner = CliRunner()
MODELS = ["published:synthetic_1L", "published:synthetic_2L"]
METHODS = ["s", "ns"]
UNITS = [(model, method) for model in MODELS for method in METHODS]
STAMPS = [8170, 8974, 30458]
#: The command line of the reference run; the API runs below use the same configuration.
ARGS = [
    "evaluate", "--models", ",".join(MODELS), "--methods", ",".join(METHODS),
    "--data", "synthetic.npz", "--stamps", "stamps.json", "--control-draws", "2",
    "--budgets", "10", "--fractions", "0.05", "--draws", "2", "--quiet",
]  # fmt: skip


def config(series: SpikeSeries) -> EvaluationConfig:
    """What ``ARGS`` runs."""
    return EvaluationConfig(
        models=MODELS,
        methods=METHODS,
        data="synthetic.npz",
        data_sha256=series.checksums()["X_sha256"],
        split="test",
        stamps=STAMPS,
        control_draws=2,
        metrics=MetricSettings(budgets=[10], fractions=[0.05], draws=2),
    )


@pytest.fixture(scope="module")
def workdir(synthetic_series: SpikeSeries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``synthetic.npz``, ``stamps.json`` and the run in one process, ``one``."""
    root = tmp_path_factory.mktemp("cluster-evaluation")
    synthetic_series.save(root / "synthetic.npz")
    (root / "stamps.json").write_text(json.dumps(STAMPS))
    previous = Path.cwd()
    os.chdir(root)
    try:
        result = runner.invoke(app, [*ARGS, "--out", "one"])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    return root


def test_the_command_line_on_a_cluster_writes_the_files_of_one_process(
    workdir: Path, scheduler_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    # the units must run in the workers: here they would fail
    monkeypatch.setattr(evaluation, "evaluate_unit", _not_here)
    result = runner.invoke(app, [*ARGS, "--out", "dask", "--scheduler", scheduler_address])
    assert result.exit_code == 0, result.output
    assert differing_files(workdir / "one", workdir / "dask") == {}
    assert len(result_files(workdir / "dask")) == 48  # 4 units x 10 files, 8 of the run
    # only timing fields differ: the metric files record each metric's seconds
    body = json.loads(
        (workdir / "dask/results/published_synthetic_2L/ns/deletion.json").read_text()
    )
    assert body["seconds"] > 0


def _not_here(*args: object, **kwargs: object) -> object:
    raise AssertionError("a unit ran in the driver process, not on the cluster")


def _executing(dask_worker: Any) -> list[str]:
    """The keys a worker is running now (its one thread)."""
    return [str(key) for key, task in dask_worker.state.tasks.items() if task.state == "executing"]


def test_a_killed_worker_loses_no_unit_and_writes_none_twice(
    synthetic_series: SpikeSeries,
    workdir: Path,
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = cluster.client
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    marked: collections.Counter[tuple[str, str]] = collections.Counter()
    write_stamps = evaluation.write_stamps

    def counting(out: Path, model: str, method: str, body: Any, sha: str) -> Path:
        marked[(model, method)] += 1
        return write_stamps(out, model, method, body, sha)

    monkeypatch.setattr(evaluation, "write_stamps", counting)
    killed: dict[str, str] = {}

    def kill_a_worker_running_a_unit() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for worker, keys in client.run(_executing).items():
                units = [k for k in keys if k.startswith("published:")]
                if units:
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.update(worker=worker, unit=units[0].rsplit("-", 1)[0])
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker_running_a_unit)
    killer.start()
    run_evaluation(config(synthetic_series), synthetic_series, tmp_path / "run", cluster=cluster)
    killer.join()
    assert killed, "no unit was seen running"
    assert pids[killed["worker"]] not in client.run(os.getpid).values()  # that process died
    # the unit it ran was run again elsewhere: every unit written, each marked done once
    assert dict(marked) == {unit: 1 for unit in UNITS}
    assert differing_files(workdir / "one", tmp_path / "run") == {}


def test_a_run_interrupted_under_dask_resumes_with_or_without_dask(
    synthetic_series: SpikeSeries,
    workdir: Path,
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster.client.wait_for_workers(2)
    run = tmp_path / "run"

    def interrupt(label: str, done: int, total: int) -> None:
        if done >= 1:
            raise KeyboardInterrupt  # Ctrl-C in the driver, once the first unit is done

    with pytest.raises(KeyboardInterrupt):
        run_evaluation(
            config(synthetic_series), synthetic_series, run, cluster=cluster, progress=interrupt
        )
    done = [u for u in UNITS if (unit_dir(run, *u) / "stamps.json").is_file()]
    assert 1 <= len(done) < len(UNITS)
    assert not (run / "summary.md").exists()
    without = Path(shutil.copytree(run, tmp_path / "without"))

    calls: list[tuple[str, str]] = []
    evaluate_unit = evaluation.evaluate_unit

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append((args[1], args[2]))
        return evaluate_unit(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_unit", counting)
    run_evaluation(config(synthetic_series), synthetic_series, without, resume=True)
    assert sorted(calls) == sorted(set(UNITS) - set(done))  # the rest, in this process
    assert differing_files(workdir / "one", without) == {}

    monkeypatch.setattr(evaluation, "evaluate_unit", _not_here)
    run_evaluation(config(synthetic_series), synthetic_series, run, resume=True, cluster=cluster)
    assert differing_files(workdir / "one", run) == {}


def _readme_cluster_lines() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running on a cluster", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines()]


def test_the_readme_recipe_for_several_machines_runs(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `dask scheduler` and `dask worker` lines, as separate processes on this
    machine (a free port for 8786), then the command line against them: the files of one
    process."""
    lines = _readme_cluster_lines()
    assert "dask scheduler" in lines
    assert "dask worker tcp://HOST:8786 --nthreads 1 --nworkers N" in lines
    assert any(line.endswith("--scheduler tcp://HOST:8786") for line in lines)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    started = []
    try:
        started.append(
            subprocess.Popen(
                [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", ":0"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
            )
        )  # fmt: skip
        started.append(
            subprocess.Popen(
                [*dask, "worker", address, "--nthreads", "1", "--nworkers", "2",
                 "--local-directory", str(tmp_path), "--dashboard-address", ":0"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
            )
        )  # fmt: skip
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        monkeypatch.chdir(workdir)
        result = runner.invoke(app, [*ARGS, "--out", "recipe", "--scheduler", address])
        assert result.exit_code == 0, result.output
        assert differing_files(workdir / "one", workdir / "recipe") == {}
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
