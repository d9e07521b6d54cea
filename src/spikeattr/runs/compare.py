"""Whether two run directories hold the same results, apart from how long they took.

Used to check that a run on a Dask cluster, a resumed run or a run on another machine gives the
files of a run in one process. JSON files are compared as parsed values without their timing
fields (:data:`TIMING_KEYS`, at any depth); ``.npz`` files array by array (their zip entries
carry write times); text files (``.md``, ``.html``, ``.csv``) without the ISO 8601 times they
were written at (a page's footer); every other file byte for byte. Hidden files (the lock) are
not results.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr._io import load_npz

#: Fields that record when or how fast a run went, not what it found.
TIMING_KEYS: frozenset[str] = frozenset({"seconds", "timings_s", "created"})
#: A time of writing in a text file, as ``datetime.isoformat`` writes it.
WRITTEN_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
TEXT_SUFFIXES = (".md", ".html", ".csv")


def result_files(run_dir: str | os.PathLike[str]) -> list[str]:
    """Every file below ``run_dir`` except hidden ones, as sorted relative POSIX paths."""
    root = Path(run_dir)
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)
    )


def without_timings(value: Any) -> Any:
    """A parsed JSON value with every :data:`TIMING_KEYS` field removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def _same_arrays(first: Path, second: Path) -> bool:
    a, b = load_npz(first), load_npz(second)
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype
        and a[k].shape == b[k].shape
        and np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind in "fc")
        for k in a
    )


def differing_files(
    first: str | os.PathLike[str], second: str | os.PathLike[str]
) -> dict[str, str]:
    """The files whose results differ between two run directories, each with the reason
    (``only in FIRST``, ``only in SECOND``, ``different``); empty when the runs agree.

    Examples:
        >>> import tempfile
        >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> _ = (a / "r.json").write_text('{"x": 1, "seconds": 2.5}')
        >>> _ = (b / "r.json").write_text('{"x": 1, "seconds": 9.0}')
        >>> differing_files(a, b)
        {}
    """
    left, right = Path(first), Path(second)
    a, b = set(result_files(left)), set(result_files(right))
    found = {name: f"only in {left}" for name in sorted(a - b)}
    found |= {name: f"only in {right}" for name in sorted(b - a)}
    for name in sorted(a & b):
        x, y = left / name, right / name
        if name.endswith(".json"):
            same = without_timings(json.loads(x.read_text(encoding="utf-8"))) == without_timings(
                json.loads(y.read_text(encoding="utf-8"))
            )
        elif name.endswith(".npz"):
            same = _same_arrays(x, y)
        elif name.endswith(TEXT_SUFFIXES):
            same = WRITTEN_AT.sub("", x.read_text(encoding="utf-8")) == WRITTEN_AT.sub(
                "", y.read_text(encoding="utf-8")
            )
        else:
            same = x.read_bytes() == y.read_bytes()
        if not same:
            found[name] = "different"
    return found
