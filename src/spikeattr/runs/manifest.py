"""The manifest every run directory records: config, seed, versions, data checksums, timings.

One module writes it for every command (train, tune, evaluate, quickstart, reproduce).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from spikeattr._io import write_json_atomic

_PACKAGES = ("spikeattr", "torch", "numpy", "numba", "safetensors", "typer", "rich")


def package_versions() -> dict[str, str]:
    """Installed versions of spikeattr and its main dependencies."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(
    run_dir: str | os.PathLike[str],
    command: str,
    config: dict[str, Any],
    data_checksums: dict[str, Any],
    results: dict[str, Any] | None = None,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write ``manifest.json`` into ``run_dir`` atomically and return its path."""
    path = Path(run_dir) / "manifest.json"
    write_json_atomic(
        path,
        {
            "command": command,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "config": config,
            "seed": config.get("seed"),
            "versions": package_versions(),
            "data_checksums": data_checksums,
            "timings_s": timings or {},
            "results": results or {},
        },
    )
    return path


def recorded_timings(run_dir: str | os.PathLike[str]) -> dict[str, float]:
    """The ``timings_s`` of ``run_dir``'s manifest, to carry over when a resumed run rewrites it
    (its stages that ran before keep their times). A missing or unreadable manifest gives ``{}``:
    the manifest is rewritten whole, and nothing else is read from it."""
    path = Path(run_dir) / "manifest.json"
    try:
        timings = json.loads(path.read_text(encoding="utf-8")).get("timings_s", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(timings, dict):
        return {}
    return {
        str(name): float(seconds)
        for name, seconds in timings.items()
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    }
