"""Study storages for the distributed-tuning tests: PostgreSQL servers and a SQLite stand-in.

* The shared server: ``SPIKEATTR_TEST_POSTGRES_URL`` (``.ci/run`` starts Debian's cluster and
  sets it). When it is set the tests must use it and fail if it is unreachable; when it is not
  set and ``CI`` is not set they use SQLite and say so; with ``CI`` set and no URL they fail.
* :class:`ThrowawayPostgres`: a cluster of our own (``initdb`` + ``pg_ctl`` in a temporary
  folder, on a free port) for what must not touch the shared server: stopping a server
  mid-trial, and running the README's recipe (it creates a role and a database). Its binaries
  are found in ``SPIKEATTR_TEST_PG_BINDIR``, ``/usr/lib/postgresql/<newest>/bin`` or on
  ``PATH``. As root, the server runs as the ``postgres`` account (``initdb`` refuses root).
* :class:`SqliteOutage`: the SQLite stand-in for a server that goes away: the folder of the
  database file is renamed away (every write then fails, as a lost server does) and back.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ENV = "SPIKEATTR_TEST_POSTGRES_URL"
BINDIR_ENV = "SPIKEATTR_TEST_PG_BINDIR"


@dataclass(frozen=True)
class SharedStorage:
    """The storage the workers of the tests share: ``kind`` is "postgresql" or "sqlite"."""

    kind: str
    url: str
    description: str


def server_version(url: str) -> str:
    """``SELECT version()`` of the server at ``url``; raises if it cannot be reached."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            return str(connection.execute(sqlalchemy.text("SELECT version()")).scalar())
    finally:
        engine.dispose()


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are, or ``None``."""
    if os.environ.get(BINDIR_ENV):
        return Path(os.environ[BINDIR_ENV])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()],
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder, on 127.0.0.1 and a free port.

    Local (socket) connections are trusted; TCP connections need a password (SCRAM), so a
    wrong password is refused as on a real host. The superuser is ``postgres``.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="spikeattr-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        with open(self.data / "pg_hba.conf", "w", encoding="utf-8") as hba:
            hba.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        if self.as_postgres:
            shutil.chown(self.data / "pg_hba.conf", "postgres")
        self.running = False

    @property
    def env(self) -> dict[str, str]:
        """libpq's variables that point ``createuser``/``psql`` at this server (its socket)."""
        return {"PGHOST": str(self.root), "PGPORT": str(self.port)}

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _run(self, program: str, *args: str) -> str:
        done = subprocess.run(
            self._command(program, *args),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.root / "log"
        try:
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nserver log:\n{log.read_text()[-3000:]}") from None
        self.running = True

    def stop(self) -> None:
        """Stop at once (``-m fast``: clients are disconnected), like a server going down."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def psql(self, sql: str) -> str:
        return self._run("psql", "-h", str(self.root), "-p", str(self.port), "-tA", "-c", sql)

    def version(self) -> str:
        return self.psql("SELECT version()").strip()

    def url(self, database: str, user: str, password: str) -> str:
        return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, password: str) -> str:
        """A role ``name`` with ``password`` owning a new database ``name``; its URL."""
        self.psql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        self.psql(f"CREATE DATABASE {name} OWNER {name}")
        return self.url(name, name, password)

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class SqliteOutage:
    """A SQLite study whose "server" can be stopped: its folder is renamed away and back."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "db"
        self.away = root / "db.away"
        self.folder.mkdir(parents=True)
        self.url = f"sqlite:///{self.folder / 'study.db'}"

    def stop(self) -> None:
        self.folder.rename(self.away)

    def start(self) -> None:
        if self.away.exists():
            self.away.rename(self.folder)
