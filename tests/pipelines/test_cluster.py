"""``--scheduler``: its values and refusals, explain and benchmark on a cluster, and no Dask
without it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import SpikeAttrError
from spikeattr.explain.files import Explanations
from spikeattr.pipelines import cluster as cluster_module
from spikeattr.pipelines.cluster import Scheduler, available_cores, open_cluster
from spikeattr.runs.compare import differing_files

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local", Scheduler()),
        ("local:1", Scheduler(workers=1)),
        (" local:16 ", Scheduler(workers=16)),
        ("tcp://10.1.2.3:8786", Scheduler(address="tcp://10.1.2.3:8786")),
        ("tcp://node-07.cluster:8786", Scheduler(address="tcp://node-07.cluster:8786")),
        ("tcp://[::1]:8786", Scheduler(address="tcp://[::1]:8786")),
    ],
)
def test_scheduler_values(text: str, expected: Scheduler) -> None:
    assert Scheduler.parse(text) == expected


def test_available_cores_are_the_affinity_of_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert cluster_module.available_cores() == 3


def test_a_local_cluster_has_one_worker_per_core_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the core count fixed (at a value other than this machine's), the default local
    cluster says and starts that many single-threaded worker processes."""
    cores = 1 if available_cores() != 1 else 2
    monkeypatch.setattr(cluster_module, "available_cores", lambda: 3)
    assert Scheduler().describe() == "a local cluster of 3 worker processes"
    assert Scheduler(workers=1).describe() == "a local cluster of 1 worker process"
    monkeypatch.setattr(cluster_module, "available_cores", lambda: cores)
    with open_cluster(Scheduler()) as started:
        assert started is not None
        started.client.wait_for_workers(cores, timeout=60)
        assert list(started.client.nthreads().values()) == [1] * cores
        assert started.workers == cores


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("local:0", "'0' is not a number of worker processes >= 1"),
        ("local:abc", "'abc' is not a number of worker processes >= 1"),
        ("local:-2", "'-2' is not a number"),
        ("local:", "'' is not a number"),
        ("tcp://host", "'tcp://host'"),
        ("tcp://host:99999", "'tcp://host:99999'"),
        ("tls://host:8786", "'tls://host:8786'"),
        ("dask", "'dask'"),
    ],
)
def test_bad_scheduler_values_are_refused(text: str, named: str) -> None:
    with pytest.raises(SpikeAttrError) as caught:
        Scheduler.parse(text)
    assert named in str(caught.value)
    assert "expected local, local:N (N >= 1 worker processes) or tcp://HOST:PORT" in str(
        caught.value
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("local:0", "--scheduler 'local:0': '0' is not a number of worker processes >= 1"),
        ("local:abc", "--scheduler 'local:abc': 'abc' is not a number of worker processes"),
        ("tcp://nohost:1", "--scheduler tcp://nohost:1: unknown host 'nohost'"),
        ("tcp://127.0.0.1:PORT", "--scheduler tcp://127.0.0.1:PORT: nothing answers there"),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "explain", "benchmark"])
def test_the_commands_refuse_a_bad_scheduler_in_one_line(
    command: str, value: str, message: str, tmp_path: Path
) -> None:
    port = str(_closed_port())
    value, message = value.replace("PORT", port), message.replace("PORT", port)
    data = tmp_path / "synthetic.npz"
    SpikeSeries(
        np.zeros((300, 3), np.int8), np.zeros(300, np.int64), ["x0", "x1", "x2"],
        ["a", "b", "c", "d"], {"test": (0, 300)},
    ).save(data)  # fmt: skip
    args = {
        "evaluate": ["--models", "published:synthetic_1L", "--data", str(data), "--stamps", "1"],
        "explain": ["--model", "published:synthetic_1L", "--data", str(data), "--stamp", "9"],
        "benchmark": ["--tasks", "conjunction"],
    }[command]
    out = tmp_path / ("e.npz" if command == "explain" else "run")
    result = runner.invoke(app, [command, *args, "--out", str(out), "--scheduler", value])
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.output
    assert not out.exists()


def _twice(
    args: list[str], scheduler: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """``args`` in ``root/one`` in this process, then in ``root/dask`` on the cluster (the
    same relative paths: the files record them); the two outputs."""
    outputs = []
    for name, extra in (("one", []), ("dask", ["--scheduler", scheduler])):
        (root / name).mkdir()
        monkeypatch.chdir(root / name)
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return outputs[0], outputs[1]


def test_explain_on_a_cluster_writes_the_file_of_one_process(
    synthetic_series: SpikeSeries,
    scheduler_address: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Integrated gradients' maps depend on the batch they are computed in: the tasks keep the
    batches of one call (several window lengths, more than one batch of 64 of the same one)."""
    synthetic_series.save(tmp_path / "synthetic.npz")
    rng = np.random.default_rng(1)
    stamps = [50, 7, 30, *rng.choice(np.arange(100, 270_000), 140, replace=False).tolist()]
    args = ["explain", "--model", "published:synthetic_1L", "--data", "../synthetic.npz"]
    args += ["--variant", "ig", "--window", "100", "--out", "e.npz", "--quiet"]
    args += [part for stamp in stamps for part in ("--stamp", str(stamp))]
    one, dask = _twice(args, scheduler_address, tmp_path, monkeypatch)
    assert dask == one  # the same predictions, in the given order
    assert differing_files(tmp_path / "one", tmp_path / "dask") == {}
    assert Explanations.load(tmp_path / "dask/e.npz").stamps.tolist() == stamps


def test_benchmark_on_a_cluster_writes_the_files_of_one_process(
    scheduler_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["benchmark", "--tasks", "conjunction", "--models", "1L", "--methods", "s,ns"]
    args += ["--stamps", "2", "--control-draws", "1", "--out", "run", "--quiet"]
    _twice(args, scheduler_address, tmp_path, monkeypatch)
    assert differing_files(tmp_path / "one/run", tmp_path / "dask/run") == {}
    assert (tmp_path / "dask/run/conjunction/results/published_bench_conjunction_1L/ns").is_dir()


def test_without_a_scheduler_dask_is_never_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from spikeattr.cli import app\n"
        "from spikeattr.data.synthetic import generate_synthetic\n"
        f"generate_synthetic(n_steps=4000, n_train=2000).save({str(tmp_path / 'd.npz')!r})\n"
        "result = CliRunner().invoke(app, ['explain', '--model', 'published:synthetic_1L', "
        f"'--data', {str(tmp_path / 'd.npz')!r}, '--stamp', '500', '--window', '100', "
        f"'--out', {str(tmp_path / 'e.npz')!r}, '--quiet'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "e.npz").is_file()
