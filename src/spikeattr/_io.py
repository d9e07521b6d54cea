"""The file policy every on-disk format uses: atomic writes, the one ``.npz`` and JSON readers and
their errors, checksums, and the lock that keeps a second writer out of a run directory.

Each format has its own module (the data file in :mod:`spikeattr.data.series`, checkpoints in
:mod:`spikeattr.snn.checkpoint`, ...); they all read and write through these helpers, so a
corrupted, truncated, pickled or misplaced file gives the same kind of one-line error
everywhere: the path, what was wrong, what was expected.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr.errors import DataFormatError, RunLockedError, SpikeAttrError

#: Name of the lock file inside a locked run directory.
LOCK_NAME = ".lock"
#: Suffix of every temporary file written by :func:`atomic_path` (and of nothing else).
TEMP_SUFFIX = ".tmp"


# -- writing ----------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file: either the old content or the complete new one. The
    temporary file is named ``.NAME.XXXXXXXX.tmp``; one left behind by a killed process is
    removed by :func:`sweep_temp_files` when the next run takes the directory's lock.
    """
    target = Path(path)
    check_output_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600; give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def save_npz_atomic(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write arrays to an uncompressed ``.npz`` file atomically (no object arrays, no pickle)."""
    for key, value in arrays.items():
        if value.dtype == object:
            raise TypeError(f"array {key!r} has dtype object; refusing to write a pickled array")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]


def check_output_path(path: str | os.PathLike[str], what: str = "output file") -> Path:
    """``path`` as a :class:`Path` if a file can be written there; else a :class:`SpikeAttrError`.

    Refused: an existing directory, and a path below an existing regular file (its "parent
    folder" is a file). The folder itself is created later, by the writer.
    """
    target = Path(path)
    if target.is_dir():
        raise SpikeAttrError(f"{target} is a directory; expected the path of an {what}")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SpikeAttrError(
                    f"{target}: cannot write the {what} there, {parent} is a file, not a folder"
                )
            break
    return target


def check_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and check a file can be written there.

    Raises ``OSError`` (from the file system, or ``NotADirectoryError`` when ``path`` or one of
    its parents is a regular file) when it cannot; callers turn it into their own error naming
    the directory.
    """
    directory = Path(path)
    for folder in (directory, *directory.parents):
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder")
            break
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test-"):
        pass
    return directory


# -- reading ----------------------------------------------------------------------------------
def _a(what: str) -> str:
    """``what`` with its indefinite article: ``a data file``, ``an explanation file``."""
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def require_file(
    path: str | os.PathLike[str], what: str, error: type[SpikeAttrError] = DataFormatError
) -> Path:
    """``path`` as a :class:`Path` if it is a regular file; else ``error`` saying what it is."""
    source = Path(path)
    if source.is_file():
        return source
    if source.is_dir():
        raise error(f"{source} is a directory; expected {_a(what)}")
    if source.exists():
        raise error(f"{source} is not a regular file; expected {_a(what)}")
    raise error(f"{source} does not exist; expected {_a(what)}")


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"


def _npz_failure(exc: BaseException) -> str:
    text = str(exc)
    if "Object arrays cannot be loaded" in text or "pickled" in text:
        return "it holds pickled Python objects, which spikeattr never loads"
    if isinstance(exc, EOFError):
        return "the file is truncated"
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in text:
        return f"the file is corrupted ({text})"
    if isinstance(exc, zipfile.BadZipFile | zlib.error):
        return f"the file is truncated or corrupted ({text})"
    return text or type(exc).__name__


def load_npz(
    path: str | os.PathLike[str],
    what: str = "array file",
    keys: Iterable[str] | None = None,
    error: type[SpikeAttrError] = DataFormatError,
) -> dict[str, np.ndarray]:
    """Read the arrays of an ``.npz`` file eagerly, never unpickling; every failure is ``error``.

    ``keys`` limits what is read (missing ones are simply absent from the result, so the
    caller names what it needed). Empty, truncated and CRC-corrupted archives, pickled object
    arrays, a single ``.npy`` array, a file of another kind and a directory all give one message
    naming the file, what was wrong and the ``what`` that was expected.
    """
    source = require_file(path, what, error)
    problem = f"{source} is not a readable .npz {what}"
    try:
        with open(source, "rb") as handle:
            magic = handle.read(6)
        if not magic:
            raise error(f"{problem}: the file is empty")
        if magic.startswith(_NPY_MAGIC):
            raise error(f"{problem}: it is a single .npy array, not an .npz archive")
        if not magic.startswith(_ZIP_MAGIC):
            raise error(f"{problem}: it is not an .npz (zip) archive")
        with np.load(source, allow_pickle=False) as archive:
            wanted = archive.files if keys is None else [k for k in keys if k in archive.files]
            return {name: np.asarray(archive[name]) for name in wanted}
    except SpikeAttrError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise error(f"{problem}: {_npz_failure(exc)}") from exc


def load_json(
    path: str | os.PathLike[str],
    what: str = "JSON file",
    error: type[SpikeAttrError] = DataFormatError,
) -> Any:
    """Parse a JSON file; a missing, unreadable or malformed file is ``error`` naming it."""
    source = require_file(path, what, error)
    try:
        return json.loads(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{source} is not a text file; expected {_a(what)}") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{source} is not valid JSON ({exc}); expected {_a(what)}") from exc
    except OSError as exc:
        raise error(f"{source}: cannot read the {what}: {exc.strerror or exc}") from exc


# -- checksums --------------------------------------------------------------------------------
def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's C-order bytes (``np.ascontiguousarray(a).tobytes()``)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def file_sha256(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


# -- run directories --------------------------------------------------------------------------
def sweep_temp_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed writer left anywhere below ``directory``.

    Only names that :func:`atomic_path` (or a chunk writer) creates are touched: hidden files
    ending in ``.tmp``. Call it only while holding the directory's :class:`RunLock`, when no
    writer of ours can be active there. Returns the removed paths.
    """
    removed = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                path = Path(root) / name
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


class RunLock:
    """An exclusive lock on a run directory, held for as long as one command writes there.

    ``DIR/.lock`` is locked with ``flock`` (released by the kernel if the process dies, so a
    killed run never leaves a stale lock) and holds the holder's pid, host, command and start
    time, which a refused second writer names. On entry the directory is created if needed and
    the temporary files of killed runs are swept. On an exception, a directory this lock created
    and that holds nothing but the lock file is removed again, so a refused run leaves nothing
    behind.

    Examples:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp()) / "run"
        >>> with RunLock(run, "spikeattr evaluate"):
        ...     (run / "result.json").write_text("{}")
        2
    """

    def __init__(self, directory: str | os.PathLike[str], command: str) -> None:
        self.directory = Path(directory)
        self.command = command
        self.swept: list[Path] = []
        self._handle: Any = None
        self._created = False

    def __enter__(self) -> RunLock:
        directory = self.directory
        self._created = not directory.exists()
        try:
            check_writable_dir(directory)
        except OSError as exc:
            raise SpikeAttrError(
                f"cannot write to the run directory {directory}: {exc.strerror or exc}"
            ) from exc
        handle = open(directory / LOCK_NAME, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise RunLockedError(
                f"{directory} is in use by another run ({_describe_holder(holder)}); wait for "
                "it to finish or choose another output directory"
            ) from exc
        self._handle = handle
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": self.command,
                    "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        self.swept = sweep_temp_files(directory)
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        failed = kind is not None
        if failed and self._created:
            leftovers = [p.name for p in self.directory.iterdir()]
            if leftovers == [LOCK_NAME]:
                shutil.rmtree(self.directory, ignore_errors=True)
        handle.close()  # closing releases the flock


def _describe_holder(text: str) -> str:
    try:
        holder = json.loads(text)
        return (
            f"pid {holder['pid']} on {holder['host']}, '{holder['command']}', "
            f"since {holder['since']}"
        )
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
