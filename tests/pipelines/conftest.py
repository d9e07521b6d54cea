"""One local Dask cluster for every test that runs work on a cluster (starting one takes
seconds): two worker processes with one thread each, as ``--scheduler local:2`` starts them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spikeattr.pipelines.cluster import Cluster, Scheduler, open_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """``local:2``; tests reach it from the command line as ``--scheduler tcp://...``."""
    with open_cluster(Scheduler.parse("local:2")) as started:
        assert started is not None
        started.client.wait_for_workers(2)
        yield started


@pytest.fixture(scope="session")
def scheduler_address(cluster: Cluster) -> str:
    """The shared cluster's scheduler address, for ``--scheduler``."""
    return str(cluster.client.scheduler.address)
