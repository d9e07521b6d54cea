"""Running a pipeline's independent pieces as tasks on a Dask cluster (``spikeattr[dask]``).

``--scheduler local[:N]`` starts a cluster of ``N`` worker processes on this machine (default:
the cores this process may use), one thread each; ``--scheduler tcp://HOST:PORT`` connects to a
running ``dask scheduler`` (its workers on any number of machines). Without ``--scheduler``
nothing here runs and Dask is never imported.

A pipeline shares its large inputs once (:meth:`Cluster.share`), hands the cluster its tasks as
``(name, function, arguments)`` and receives each task's result as it finishes
(:meth:`Cluster.run`). Every task runs with torch on one thread. What a task writes goes
straight to the run directory, so with several machines that directory must be on a file
system that every worker sees under the same path.

**When a worker dies** (killed, out of memory, its machine lost), Dask's scheduler sees the
connection drop and runs the tasks it held again on other workers; a task whose worker died
more than ``distributed.scheduler.allowed-failures`` times (3 by default: the fourth death) is
given up and the run stops naming it. A task that *raises* is retried :data:`RETRIES` times
(a shared file system's passing errors) before its error stops the run, unless its error is
spikeattr's own refusal of its input (a :class:`~spikeattr.errors.SpikeAttrError`), which
stops the run at once. Files are written atomically, so a task cut short leaves no partial
file under a result's name and a retried task replaces what its first attempt wrote; the
pipelines mark a piece of work done only from the driver, after its task has returned.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import socket
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from spikeattr.errors import RunStateError, SpikeAttrError
from spikeattr.evaluate.forward import one_thread

#: Retries of a task that raised (a worker that dies does not count: its tasks simply run
#: again elsewhere).
RETRIES = 2
#: Seconds to wait for a remote scheduler to answer.
CONNECT_TIMEOUT_S = 20.0
_EXPECTED = "expected local, local:N (N >= 1 worker processes) or tcp://HOST:PORT"
_ADDRESS = re.compile(r"tcp://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity; in a SLURM job, the job's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Scheduler:
    """Where tasks run: a local cluster of ``workers`` processes (``address`` None), or the
    Dask scheduler at ``address`` (``tcp://HOST:PORT``).

    Examples:
        >>> Scheduler.parse("local:4")
        Scheduler(address=None, workers=4)
        >>> Scheduler.parse("tcp://10.0.0.5:8786").address
        'tcp://10.0.0.5:8786'
    """

    address: str | None = None
    workers: int | None = None

    @classmethod
    def parse(cls, text: str) -> Scheduler:
        """``local``, ``local:N`` or ``tcp://HOST:PORT``; anything else is a
        :class:`~spikeattr.errors.SpikeAttrError` naming the value and the expected forms."""
        value = text.strip()
        if value == "local":
            return cls()
        if value.startswith("local:"):
            count = value.removeprefix("local:")
            if re.fullmatch(r"[0-9]+", count) and int(count) >= 1:
                return cls(workers=int(count))
            raise SpikeAttrError(
                f"--scheduler {text!r}: {count!r} is not a number of worker processes >= 1; "
                f"{_EXPECTED}"
            )
        match = _ADDRESS.fullmatch(value)
        if match is not None and 1 <= int(match["port"]) <= 65535:
            return cls(address=value)
        raise SpikeAttrError(f"--scheduler {text!r}: {_EXPECTED}")

    def describe(self) -> str:
        """``a local cluster of 2 worker processes`` or ``the Dask scheduler at tcp://...``."""
        if self.address is not None:
            return f"the Dask scheduler at {self.address}"
        count = self.workers or available_cores()
        return f"a local cluster of {count} worker process{'es' if count > 1 else ''}"


@dataclass
class _Refused:
    """A task's :class:`~spikeattr.errors.SpikeAttrError`, returned instead of raised: the
    input's fault, which a retry would only repeat."""

    error: SpikeAttrError


@functools.cache
def _restore_malloc() -> None:
    """Let glibc keep freed memory for reuse again, once per worker process.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes
    glibc's mmap threshold at 128 KiB: every array or tensor above it is then mapped and
    unmapped anew (zeroed pages each time), which made integrated gradients 2x slower in a
    worker than in one process. The thresholds set here (32 MiB, 128 MiB) are where glibc's
    own adaptive thresholds end up for this work. No effect off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # another C library (musl)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


def _in_worker(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` with torch on one thread (the worker processes share the cores)."""
    _restore_malloc()
    with one_thread():
        try:
            return function(*args)
        except SpikeAttrError as exc:
            return _Refused(exc)


class Cluster:
    """A connected Dask client, as the pipelines use it: share inputs, run tasks.

    :func:`open_cluster` makes one from ``--scheduler``; wrap a client of your own
    (``Cluster(Client(SLURMCluster(...)))``) to pass it to a pipeline from Python.
    """

    def __init__(self, client: Any, scheduler: Scheduler | None = None) -> None:
        self.client = client
        self.scheduler = scheduler or Scheduler(address=str(client.scheduler.address))

    @property
    def workers(self) -> int:
        """Worker threads connected now, each a task at a time (at least 1, so that work can be
        sized before they arrive). ``Client.nthreads`` lists every worker in every version of
        distributed, where ``scheduler_info`` lists only 5 in some."""
        return max(1, sum(self.client.nthreads().values()))

    def share(self, value: Any) -> Any:
        """``value`` copied to every worker once; pass the returned future to tasks in its place
        (a worker that joins later fetches it from another)."""
        [future] = self.client.scatter([value], broadcast=True, hash=False)
        return future

    def run(
        self,
        function: Callable[..., Any],
        jobs: Sequence[tuple[str, tuple[Any, ...]]],
        retries: int = RETRIES,
    ) -> Iterator[tuple[str, Any]]:
        """Run ``function(*arguments)`` for each ``(name, arguments)`` of ``jobs`` as a task;
        yield ``(name, result)`` as each finishes, each name once. Leaving early (an error, an
        interrupt) cancels the tasks not yet finished."""
        from distributed import KilledWorker, as_completed

        names = {}
        for name, arguments in jobs:
            key = f"{name}-{uuid.uuid4().hex[:12]}"
            future = self.client.submit(
                _in_worker, function, *arguments, key=key, pure=False, retries=retries
            )
            names[future] = name
        try:
            for future in as_completed(list(names)):
                try:
                    result = future.result()
                except KilledWorker as exc:
                    raise RunStateError(
                        f"{names[future]}: every worker that ran it died ({exc}); what finished "
                        "is kept, resume the run to continue"
                    ) from exc
                if isinstance(result, _Refused):
                    raise result.error
                yield names[future], result
                future.release()
        finally:
            self.client.cancel(list(names))


@contextlib.contextmanager
def open_cluster(scheduler: Scheduler | None) -> Iterator[Cluster | None]:
    """Connect to ``scheduler`` (starting a local cluster if it is one) for the block; yields
    None, and imports nothing, when ``scheduler`` is None (run in this process)."""
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise SpikeAttrError(
            "--scheduler needs Dask's distributed scheduler; install it with "
            "pip install 'spikeattr[dask]'"
        ) from exc
    with contextlib.ExitStack() as stack:
        if scheduler.address is None:
            local = LocalCluster(
                n_workers=scheduler.workers or available_cores(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: no clash with another cluster here
            )
            stack.callback(local.close)
            client = Client(local)
        else:
            _check_reachable(scheduler.address)
            try:
                client = Client(scheduler.address, timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                raise SpikeAttrError(
                    f"--scheduler {scheduler.address}: no Dask scheduler answered within "
                    f"{CONNECT_TIMEOUT_S:.0f} s ({exc}); expected the address that "
                    "'dask scheduler' prints"
                ) from exc
        stack.callback(client.close)
        yield Cluster(client, scheduler)


def _check_reachable(address: str) -> None:
    """Fail fast, in one line, when nothing listens at ``address`` (Dask itself would retry
    until its timeout)."""
    match = _ADDRESS.fullmatch(address)
    if match is None:
        raise SpikeAttrError(f"--scheduler {address!r}: {_EXPECTED}")
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        socket.getaddrinfo(host, port)
    except OSError as exc:
        raise SpikeAttrError(
            f"--scheduler {address}: unknown host {host!r} ({exc.strerror or exc}); expected "
            "the address that 'dask scheduler' prints"
        ) from exc
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise SpikeAttrError(
            f"--scheduler {address}: nothing answers there ({exc.strerror or exc}); start "
            "'dask scheduler' on that host, or use --scheduler local"
        ) from exc
