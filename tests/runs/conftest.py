"""Fixtures of the run-directory tests: the study storages of the distributed-tuning tests.

What those tests ran against, and what they measured, is printed in a section of its own at the
end of the test session ("distributed tuning"), so the CI log shows it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .storages import (
    POSTGRES_ENV,
    SharedStorage,
    ThrowawayPostgres,
    postgres_bindir,
    server_version,
)

#: Lines for the session's "distributed tuning" section.
NOTES: list[str] = []


def note(line: str) -> None:
    """Record a line for the end of the session (and print it under ``-s``)."""
    NOTES.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if NOTES:
        terminalreporter.section("distributed tuning")
        for line in NOTES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def shared_storage(tmp_path_factory: pytest.TempPathFactory) -> SharedStorage:
    """The shared server of ``SPIKEATTR_TEST_POSTGRES_URL``, else (outside CI) SQLite."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        try:
            version = server_version(url)
        except Exception as exc:
            pytest.fail(f"{POSTGRES_ENV} is set but its server cannot be reached: {exc}")
        storage = SharedStorage("postgresql", url, version.split(",")[0])
    elif os.environ.get("CI"):
        pytest.fail(
            f"CI must run the distributed-tuning tests against PostgreSQL: set {POSTGRES_ENV} "
            "(.ci/run starts a server and sets it)"
        )
    else:
        path = tmp_path_factory.mktemp("shared-study") / "study.db"
        storage = SharedStorage(
            "sqlite", f"sqlite:///{path}", f"SQLite ({POSTGRES_ENV} not set, not in CI)"
        )
    note(f"storage of the shared-study tests: {storage.description}")
    return storage


@pytest.fixture(scope="session")
def postgres_cluster(shared_storage: SharedStorage) -> Iterator[ThrowawayPostgres | None]:
    """A throw-away PostgreSQL cluster when the tests run against PostgreSQL; else ``None``."""
    if shared_storage.kind != "postgresql":
        yield None
        return
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL tests need initdb and pg_ctl (Debian's postgresql package) for their "
            "throw-away clusters; set SPIKEATTR_TEST_PG_BINDIR to their folder"
        )
    cluster = ThrowawayPostgres(bindir)
    try:
        cluster.start()
        note(f"throw-away cluster: {cluster.version().split(',')[0]} on 127.0.0.1:{cluster.port}")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 000 training steps (30 windows of 100) and 500 test steps of the synthetic series."""
    from spikeattr.data.synthetic import generate_synthetic

    path = tmp_path_factory.mktemp("tuning-data") / "tiny.npz"
    generate_synthetic(n_steps=3_500, n_train=3_000).save(path)
    return path
