"""Opening an Optuna study in its storage, and what a worker says when the storage fails.

A study lives in an Optuna RDB storage: by default the SQLite file ``OUT/study.db``, or any
database URL SQLAlchemy accepts. For PostgreSQL write the driver into the URL,
``postgresql+psycopg2://user:password@host:5432/database`` (the ``postgres`` extra installs
psycopg2): with SQLAlchemy 2.1 a bare ``postgresql://`` means psycopg 3, a different package.

Every database failure reaches the user as one :class:`StorageError` line naming the storage
(never its password): a missing driver, a server that cannot be reached, a wrong password or a
missing database when the study is opened, and a connection lost while a worker runs
(:func:`storage_errors`; rerunning the same command continues, see
:mod:`spikeattr.runs.trial_queue`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr.snn.search_space import TuningError

#: Seconds a worker waits for the database: SQLite's lock timeout, PostgreSQL's connect timeout.
STORAGE_TIMEOUT_S = 60
#: A running trial sends a heartbeat this often (s); one silent for GRACE_PERIOD_S is failed and
#: retried once (:mod:`spikeattr.runs.trial_queue`).
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120


class StorageError(TuningError):
    """The study storage cannot be opened, or was lost while a worker ran."""


def optuna_module() -> Any:
    """``optuna``, or a :class:`TuningError` saying how to install it."""
    try:
        import optuna
    except ImportError as exc:
        raise TuningError(
            "Optuna tuning needs the optional 'tune' extra: pip install \"spikeattr[tune]\" "
            "(or use method 'greedy')"
        ) from exc
    return optuna


def default_storage(out_dir: str | Path) -> str:
    """``sqlite:////abs/out_dir/study.db``."""
    return f"sqlite:///{(Path(out_dir) / 'study.db').resolve()}"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and manifests)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def storage_location(url: str) -> str:
    """Where a storage URL points, for messages: ``host:port/database`` or the SQLite file.

    Examples:
        >>> storage_location("postgresql+psycopg2://me:secret@db.lan:5432/tuning")
        'db.lan:5432/tuning'
        >>> storage_location("sqlite:////runs/t/study.db")
        '/runs/t/study.db'
    """
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # not a URL at all: say what was given, without a password
        return redact_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the database being unreachable or gone:
    SQLAlchemy's operational, interface and disconnection errors, a pool timeout, or an
    invalidated connection. Optuna reports these as a ``StorageInternalError`` "exceeding max
    length", which they are not."""
    try:
        from sqlalchemy import exc as sa
    except ImportError:  # pragma: no cover - SQLAlchemy comes with Optuna
        return False
    kinds = (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)
    for link in _chain(exc):
        if isinstance(link, kinds):
            return True
        if isinstance(link, sa.DBAPIError) and link.connection_invalidated:
            return True
    return False


def failed_to_connect(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a failure to connect at all: no server, a wrong
    password, a missing database, an unopenable SQLite file. SQLAlchemy raises these without
    a statement; an operational error of a statement (a table that another worker created
    first) is not one."""
    try:
        from sqlalchemy import exc as sa
    except ImportError:  # pragma: no cover - SQLAlchemy comes with Optuna
        return False
    return any(isinstance(link, sa.DBAPIError) and link.statement is None for link in _chain(exc))


def describe_error(exc: BaseException) -> str:
    """One line from the database driver's own message (the innermost cause), without the SQL
    statement and SQLAlchemy's background link."""
    detail: BaseException = exc
    for link in _chain(exc):
        original = getattr(link, "orig", None)
        if isinstance(original, BaseException):
            detail = original
            break
        detail = link
    text = " ".join(str(detail).split()) or type(detail).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Turn a lost database connection inside the block into one :class:`StorageError` line."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        raise StorageError(
            f"lost the connection to the study storage at {storage_location(url)}: "
            f"{describe_error(exc)}; rerun the same command to continue"
        ) from exc


@dataclass
class OpenedStudy:
    """A study with its storage and URL; ``created`` is true for the worker that created it."""

    study: Any
    storage: Any
    created: bool
    url: str


def _engine_kwargs(url: str, timeout_s: int) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": timeout_s}}
    kwargs: dict[str, Any] = {"pool_pre_ping": True}  # replace connections a restart dropped
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": timeout_s}
    return kwargs


def _cannot_open(url: str, detail: str) -> StorageError:
    return StorageError(f"cannot open the study storage at {storage_location(url)}: {detail}")


def _driver_hint(url: str, exc: ImportError) -> str:
    hint = f"its database driver is not installed ({exc})"
    if url.startswith("postgresql"):
        hint += (
            '; for PostgreSQL: pip install "spikeattr[postgres]" and write the URL as '
            "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE"
        )
    return hint


def open_study(
    url: str,
    study_name: str,
    n_startup_trials: int = 4,
    n_warmup_steps: int = 1,
    timeout_s: int = STORAGE_TIMEOUT_S,
) -> OpenedStudy:
    """Create or load the study ``study_name`` in the storage ``url`` (TPE sampler, median
    pruner; the worker replaces the sampler per trial, see :func:`trial_sampler`).

    Safe to call from several workers at once: exactly one creates the study (the database
    refuses a second study of that name); a worker that loses a race to create the tables or
    the study retries and loads it. A driver that is missing, a server that cannot be reached,
    a wrong password or a missing database is a :class:`StorageError` at once.
    """
    optuna = optuna_module()
    storages = optuna.storages
    last_error: Exception | None = None
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                stale: dict[str, Any]
                if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
                    retry = storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                    stale = {"heartbeat_stale_trial_callback": retry}
                else:
                    retry = storages.RetryFailedTrialCallback(max_retry=1)
                    stale = {"failed_trial_callback": retry}
                rdb = storages.RDBStorage(
                    url,
                    engine_kwargs=_engine_kwargs(url, timeout_s),
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=GRACE_PERIOD_S,
                    **stale,
                )
            sampler = trial_sampler(None, 0, n_startup_trials)
            pruner = optuna.pruners.MedianPruner(
                n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps
            )
            try:
                study = optuna.create_study(
                    storage=rdb,
                    study_name=study_name,
                    direction="minimize",
                    sampler=sampler,
                    pruner=pruner,
                )
                return OpenedStudy(study, rdb, created=True, url=url)
            except optuna.exceptions.DuplicatedStudyError:
                study = optuna.load_study(
                    study_name=study_name, storage=rdb, sampler=sampler, pruner=pruner
                )
                return OpenedStudy(study, rdb, created=False, url=url)
        except ImportError as exc:  # e.g. the database driver is missing
            raise _cannot_open(url, _driver_hint(url, exc)) from exc
        except Exception as exc:
            if failed_to_connect(exc) or _is_bad_url(exc):
                raise _cannot_open(url, describe_error(exc)) from exc
            # a race between workers creating the tables or the study (SQLite reports
            # 'table ... already exists' as an operational error too): retry
            last_error = exc
            time.sleep(0.2 * (attempt + 1))
    assert last_error is not None
    raise _cannot_open(url, describe_error(last_error)) from last_error


def _is_bad_url(exc: BaseException) -> bool:
    try:
        from sqlalchemy.exc import ArgumentError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ArgumentError)


def load_existing_study(url: str, study_name: str, timeout_s: int = STORAGE_TIMEOUT_S) -> Any:
    """The study ``study_name`` for reading (``--report``); a :class:`StorageError` if the
    storage cannot be opened, a :class:`TuningError` if it holds no such study."""
    optuna = optuna_module()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            rdb = optuna.storages.RDBStorage(
                url,
                engine_kwargs=_engine_kwargs(url, timeout_s),
                heartbeat_interval=HEARTBEAT_INTERVAL_S,
                grace_period=GRACE_PERIOD_S,
            )
        names = optuna.study.get_all_study_names(storage=rdb)
    except ImportError as exc:
        raise _cannot_open(url, _driver_hint(url, exc)) from exc
    except Exception as exc:
        if is_connection_error(exc) or _is_bad_url(exc):
            raise _cannot_open(url, describe_error(exc)) from exc
        raise
    if study_name not in names:
        raise TuningError(
            f"the storage at {storage_location(url)} holds no study {study_name!r} (it has: "
            f"{', '.join(sorted(names)) or 'none'})"
        )
    return optuna.load_study(study_name=study_name, storage=rdb)


def trial_sampler(seed: int | None, trial_number: int, n_startup_trials: int = 4) -> Any:
    """The TPE sampler that draws the parameters of trial ``trial_number``.

    Its random state is keyed by ``(seed, trial_number)``: two workers given the same seed
    still draw different candidates, and a worker restarted with the same seed does not replay
    the draws of its earlier trials (a sampler seeded once per worker would). TPE reads the
    whole study's history from the storage for every trial, so a study run by one worker is
    reproducible from its seed; with several, a trial past the first ``n_startup_trials``
    depends on which trials had finished when it was drawn. ``seed=None``: fresh entropy.
    """
    optuna = optuna_module()
    keyed = None
    if seed is not None:
        keyed = int(np.random.SeedSequence([seed, trial_number]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=keyed, n_startup_trials=n_startup_trials)
