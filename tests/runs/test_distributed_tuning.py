"""Several `spikeattr tune` workers on one study, as users run them: each worker is a process of
its own. Against PostgreSQL when the tests have a server (always in CI), else against SQLite
(see ``storages.py``); the "distributed tuning" section at the end of the session says which,
and what was measured."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna  # required: CI installs it; a missing Optuna fails, never skips
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.config import read_toml
from spikeattr.runs.study import storage_location

from .conftest import note
from .storages import SharedStorage, SqliteOutage, ThrowawayPostgres, free_port

ROOT = Path(__file__).resolve().parents[2]
#: The command line in a process of its own.
SPIKEATTR = (sys.executable, "-c", "from spikeattr.cli import main; main()")
#: Appended to a worker's command: a test-sized run (the last value of an option wins).
TEST_SIZE = ("--epochs", "1", "--set", "window=100", "--set", "batch_size=4", "--quiet")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
FINISHED = {"COMPLETE", "PRUNED"}


def _best(result: dict[str, Any]) -> tuple[Any, ...]:
    return (result["best_trial"], result["best_score"], result["best_config"])


def _check_every_trial_ran_once(result: dict[str, Any], n_trials: int) -> None:
    assert sorted(t["number"] for t in result["trials"]) == list(range(n_trials))
    assert {t["state"] for t in result["trials"]} <= FINISHED, result["trials"]
    assert result["running"] == []


def test_two_workers_share_one_study_and_report_one_best(
    shared_storage: SharedStorage, tiny_data: Path, tmp_path: Path
) -> None:
    study = f"two-workers-{secrets.token_hex(4)}"
    common = ["--storage", shared_storage.url, "--study", study, "--trials", "6", "--seed", "0"]
    common += [*TEST_SIZE, "--json"]
    workers = [
        subprocess.Popen(
            [
                *SPIKEATTR,
                "tune",
                "--data",
                str(tiny_data),
                "--out",
                str(tmp_path / f"w{i}"),
                *common,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    results = [json.loads(stdout) for stdout, _ in outputs]
    for result in results:
        _check_every_trial_ran_once(result, 6)
    # every worker reports the study's best, whichever finished first
    assert _best(results[0]) == _best(results[1])
    ran = {
        f"w{i}": [
            t["number"]
            for t in results[0]["trials"]
            if Path(t["run_dir"]).parent.parent == tmp_path / f"w{i}"
        ]
        for i in range(2)
    }
    assert sorted(ran["w0"] + ran["w1"]) == list(range(6))  # each trial run by one worker
    report = CliRunner().invoke(
        app, ["tune", "--report", "--study", study, "--storage", shared_storage.url, "--json"]
    )
    assert report.exit_code == 0, report.output
    assert _best(json.loads(report.stdout)) == _best(results[0])
    best = results[0]
    note(
        f"two workers, study {study!r} on {shared_storage.kind}: trials 0-5 each run once "
        f"(w0 ran {ran['w0']}, w1 ran {ran['w1']})"
    )
    reported = [*results, json.loads(report.stdout)]
    for name, result in zip(("w0", "w1", "--report"), reported, strict=True):
        note(
            f"  final best from {name}: trial {result['best_trial']}, validation NLL "
            f"{result['best_score']:.6f}, lr {result['best_config']['lr']:.6g}, batch_size "
            f"{result['best_config']['batch_size']}"
        )
    assert best["best_score"] == min(t["value"] for t in best["trials"] if t["state"] == "COMPLETE")


def _epochs_done(history: Path) -> int:
    try:
        return len(json.loads(history.read_text()))
    except (FileNotFoundError, ValueError):
        return 0


def test_a_lost_database_stops_the_worker_in_one_line_and_a_rerun_continues(
    postgres_cluster: ThrowawayPostgres | None, tiny_data: Path, tmp_path: Path
) -> None:
    """The server stops while trial 0 trains: exit status 2 and one line; the server comes back
    and the same command, run again, finishes trial 0 (resumed, not retried) and the rest."""
    server: ThrowawayPostgres | SqliteOutage
    if postgres_cluster is not None:
        server = postgres_cluster
        url = postgres_cluster.create_database("outage", secrets.token_hex(8))
    else:
        server = SqliteOutage(tmp_path)
        url = server.url
    out = tmp_path / "worker"
    command = [*SPIKEATTR, "tune", "--data", str(tiny_data), "--out", str(out), "--storage", url]
    command += ["--study", "outage", "--trials", "2", "--seed", "0", *TEST_SIZE]
    command += ["--epochs", "10", "--set", "patience=1000"]  # trials long enough to interrupt
    history = out / "trials" / "00000" / "history.json"
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    stopped = False
    try:
        deadline = time.monotonic() + 120
        while _epochs_done(history) < 2:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "trial 0 never started"
            time.sleep(0.05)
        server.stop()
        stopped = True
        stopped_at = _epochs_done(history)
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
        if stopped:
            server.start()
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    assert first.returncode == 2, lines
    assert len(lines) == 1, lines
    location = storage_location(url)
    assert lines[0].startswith(f"error: lost the connection to the study storage at {location}: ")
    assert lines[0].endswith("; rerun the same command to continue")
    study = optuna.load_study(study_name="outage", storage=url)
    left = {t.number: t.state.name for t in study.get_trials()}
    assert left[0] == "RUNNING"  # what the worker was training when the database went
    began = time.perf_counter()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    trials = optuna.load_study(study_name="outage", storage=url).get_trials()
    assert sorted(t.number for t in trials) == [0, 1]  # trial 0 continued, not retried
    assert {t.state.name for t in trials} == {"COMPLETE"}
    trial_0 = json.loads((out / "trials" / "00000" / "manifest.json").read_text())["results"]
    assert trial_0["resumed_from"] >= stopped_at and trial_0["epochs_run"] == 10
    note(
        f"outage on {'PostgreSQL' if postgres_cluster else 'SQLite'}: server stopped during "
        f"trial 0 (epoch {stopped_at} of 10); worker exit status {first.returncode}: {lines[0]}"
    )
    note(
        f"  rerun of the same command after the restart: exit status {rerun.returncode} in "
        f"{time.perf_counter() - began:.1f} s; trial 0 resumed from epoch "
        f"{trial_0['resumed_from']}; trials {sorted(t.number for t in trials)} all COMPLETE, "
        f"none RUNNING"
    )


def test_a_storage_that_refuses_the_worker_leaves_no_out_folder(
    postgres_cluster: ThrowawayPostgres | None, tiny_data: Path, tmp_path: Path
) -> None:
    if postgres_cluster is None:
        cases = [(f"sqlite:///{tmp_path / 'missing' / 'study.db'}", "unable to open database")]
    else:
        postgres_cluster.create_database("refused", "right")
        url = postgres_cluster.url
        no_server = url("refused", "refused", "right").replace(
            f":{postgres_cluster.port}/", f":{free_port()}/"
        )
        cases = [
            (url("refused", "refused", "wrong"), 'password authentication failed for user "re'),
            (url("no_such_db", "refused", "right"), 'database "no_such_db" does not exist'),
            (no_server, "Connection refused"),
        ]
    for storage, message in cases:
        out = tmp_path / "worker"
        result = CliRunner().invoke(
            app,
            ["tune", "--data", str(tiny_data), "--out", str(out), "--storage", storage, *TEST_SIZE],
        )
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, lines
        assert (
            lines[0].startswith("error: cannot open the study storage at ") and message in lines[0]
        )
        assert ":right@" not in lines[0] and ":wrong@" not in lines[0]  # no password shown
        assert not out.exists()
        note(f"refused storage: exit status 2, {lines[0]}")


# -- the README's recipe -----------------------------------------------------------------------
def _recipe_block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M) if "createuser" in b]
    assert len(blocks) == 1, f"{path.name} has one PostgreSQL recipe"
    return blocks[0]


def test_the_site_shows_the_readme_recipe_word_for_word() -> None:
    assert _recipe_block(ROOT / "docs" / "training.md") == _recipe_block(ROOT / "README.md")


def _recipe() -> list[str]:
    """The commands of the README's PostgreSQL block, continuation lines joined, no comments."""
    blocks = [_recipe_block(ROOT / "README.md")]
    joined = re.sub(r"\\\n\s*", "", blocks[0])
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_readme_recipe_runs_as_written(
    postgres_cluster: ThrowawayPostgres | None, tiny_data: Path, tmp_path: Path
) -> None:
    """The README's commands, run by bash as written: the database-host lines on a throw-away
    cluster (reached through libpq's PGHOST/PGPORT), two workers in two folders (two
    "machines") and the report. Adapted: the URL's host, port and password (the server's); the
    data file (a small synthetic.npz); test-sized options appended to each `spikeattr tune`.
    `pip install` is not run: the test checks that the extra it names installs the driver the
    URL names, and that this environment has it."""
    commands = _recipe()
    host_lines = [c for c in commands if c.startswith("su postgres -c")]
    pip_lines = [c for c in commands if c.startswith("pip install")]
    workers = [c for c in commands if c.startswith("spikeattr tune --data")]
    reports = [c for c in commands if c.startswith("spikeattr tune --report")]
    assert len(host_lines) == 2 and len(pip_lines) == len(workers) == len(reports) == 1, commands
    assert len(commands) == 5, commands
    # the extra named by `pip install` installs the driver of the URL's +psycopg2
    extra = re.fullmatch(r'pip install "spikeattr\[(\w+)\]"', pip_lines[0])
    assert extra is not None
    extras = read_toml(ROOT / "pyproject.toml")["project"]["optional-dependencies"]
    assert any(r.startswith("psycopg2-binary") for r in extras[extra[1]])
    assert importlib.metadata.version("psycopg2-binary")
    assert "postgresql+psycopg2://spikeattr:PASSWORD@dbhost:5432/spikeattr_tuning" in workers[0]
    env = {**ENV}
    if postgres_cluster is not None:
        password = f"pw-{secrets.token_hex(6)}"
        env |= postgres_cluster.env
        for line in host_lines:
            done = subprocess.run(
                ["bash", "-c", line],
                input=f"{password}\n{password}\n",  # createuser --pwprompt asks twice
                capture_output=True,
                text=True,
                env=env,
                cwd="/",
                start_new_session=True,  # no terminal: the prompt reads stdin
                timeout=60,
            )
            assert done.returncode == 0, (line, done.stdout, done.stderr)
        url = f"spikeattr:{password}@127.0.0.1:{postgres_cluster.port}/spikeattr_tuning"
        where = f"PostgreSQL ({postgres_cluster.version().split(',')[0]})"

        def adapt(command: str) -> str:
            return command.replace("spikeattr:PASSWORD@dbhost:5432/spikeattr_tuning", url)

    else:
        sqlite = f"sqlite:///{tmp_path / 'study.db'}"
        where = "SQLite: the database-host lines need PostgreSQL and were not run"

        def adapt(command: str) -> str:
            return re.sub(r"postgresql\+psycopg2://\S+", sqlite, command)

    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    runs = []
    for machine in machines:
        machine.mkdir()
        shutil.copy(tiny_data, machine / "synthetic.npz")
        worker = adapt(workers[0]) + " --trials 4 " + " ".join(TEST_SIZE) + " --json"
        runs.append(
            subprocess.Popen(
                ["bash", "-c", worker], cwd=machine, env=env, text=True, stdout=subprocess.PIPE
            )
        )
    results = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    hostname = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    for machine, result in zip(machines, results, strict=True):
        _check_every_trial_ran_once(result, 4)
        assert (machine / "runs" / f"tune-{hostname}" / "best_config.toml").is_file()
    report = subprocess.run(
        ["bash", "-c", adapt(reports[0]) + " --json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    assert _best(results[0]) == _best(results[1]) == _best(json.loads(report.stdout))
    note(
        f"README recipe on {where}: 2 workers, 4 trials each run once, one best (trial "
        f"{results[0]['best_trial']}) from both workers and --report"
    )
