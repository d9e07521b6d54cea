"""Opening a study: which database errors are failures to connect, and which are races."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import optuna  # required: CI installs it; a missing Optuna fails, never skips
import pytest
from sqlalchemy import exc as sa

from spikeattr.runs import study as study_module
from spikeattr.runs.study import (
    StorageError,
    describe_error,
    failed_to_connect,
    is_connection_error,
    open_study,
    storage_errors,
)

REFUSED = sa.OperationalError(None, None, sqlite3.OperationalError("unable to open database file"))
RACE = sa.OperationalError(
    "CREATE TABLE alembic_version (...)",
    {},
    sqlite3.OperationalError("table alembic_version already exists"),
)


def test_errors_are_told_apart_and_described_in_one_line() -> None:
    wrapped = optuna.exceptions.StorageInternalError("e.g. exceeding max length")
    wrapped.__cause__ = REFUSED
    assert failed_to_connect(REFUSED) and failed_to_connect(wrapped)
    assert not failed_to_connect(RACE) and not failed_to_connect(ValueError("x"))
    assert is_connection_error(wrapped) and not is_connection_error(ValueError("x"))
    assert describe_error(wrapped) == "unable to open database file"
    with pytest.raises(StorageError) as info, storage_errors("sqlite:////db/study.db"):
        raise wrapped
    assert str(info.value) == (
        "lost the connection to the study storage at /db/study.db: unable to open database "
        "file; rerun the same command to continue"
    )


def test_a_table_creation_race_is_retried_a_refusal_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers starting on a fresh SQLite file: the one that loses the race to create
    Optuna's tables gets 'table ... already exists', retries and joins the study."""
    real_create = optuna.create_study
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RACE
        return real_create(*args, **kwargs)

    monkeypatch.setattr(study_module.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(optuna, "create_study", racing)
    opened = open_study(f"sqlite:///{tmp_path / 'study.db'}", "s")
    assert opened.created and len(calls) == 2

    def refused(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise REFUSED

    calls.clear()
    monkeypatch.setattr(optuna, "create_study", refused)
    with pytest.raises(StorageError, match=r"cannot open the study storage at .*unable to open"):
        open_study(f"sqlite:///{tmp_path / 'study.db'}", "t")
    assert len(calls) == 1  # no retry
