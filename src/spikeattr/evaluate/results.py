"""The evaluation run directory: its layout and its files, written and read here only.

Layout of a run directory::

    config.json                       the run's configuration (compared on --resume)
    models/MODEL.json                 the model's balanced accuracy over the whole split
    gallery/MODEL/METHOD.npz          explanations of one stamp per class (explanation file)
    results/MODEL/METHOD/stamps.json  per-stamp labels, predictions, explained classes, counts
    results/MODEL/METHOD/METRIC.json  one file per (model, method, metric): the method's
                                      per-stamp values, those of each control draw, curves,
                                      details and the summary with 95 % CIs
    comparisons/MODEL.json            paired comparisons of methods and a ranking
    summary.md, summary.csv           the summary tables (comparable protocol first)
    manifest.json                     config, seed, package versions, data checksums, timings

``MODEL`` is the model name with ``:``, ``/`` and ``\\`` replaced by ``_``
(:func:`safe_model_name`). Every result file carries the SHA-256 of the run's configuration;
reading a file checks it. JSON cannot hold NaN: undefined values are written as ``null`` and
read back as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikeattr._io import load_json, write_json_atomic
from spikeattr.errors import RunStateError

METRIC_FORMAT = "spikeattr-metric-result"
#: The variant name of the method itself (controls go by their own names).
METHOD = "method"


def safe_model_name(model: str) -> str:
    """A model name as a directory name (``published:x_1L`` -> ``published_x_1L``;
    a checkpoint path ``runs/a/model.json`` -> ``runs_a_model``)."""
    return model.removesuffix(".json").replace(":", "_").replace("/", "_").replace("\\", "_")


def gallery_path(model: str, method: str) -> str:
    """``gallery/MODEL/METHOD.npz``, relative to the run directory (an explanation file)."""
    return f"gallery/{safe_model_name(model)}/{method}.npz"


def unit_dir(run_dir: Path, model: str, method: str) -> Path:
    """``results/MODEL/METHOD``."""
    return Path(run_dir) / "results" / safe_model_name(model) / method


def metric_path(run_dir: Path, model: str, method: str, metric: str) -> Path:
    """``results/MODEL/METHOD/METRIC.json``."""
    return unit_dir(run_dir, model, method) / f"{metric}.json"


def comparisons_path(run_dir: Path, model: str) -> Path:
    """``comparisons/MODEL.json``."""
    return Path(run_dir) / "comparisons" / f"{safe_model_name(model)}.json"


# -- JSON without NaN ---------------------------------------------------------------------------
def to_json(value: Any) -> Any:
    """``value`` with arrays as lists and NaN/inf as ``None`` (strict JSON)."""
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _array(value: Any) -> np.ndarray:
    """A JSON list back as a float array (``None`` -> NaN), or int64 when every entry is int."""
    array = np.asarray(value, dtype=object)
    if array.size and all(isinstance(v, int) and not isinstance(v, bool) for v in array.flat):
        return array.astype(np.int64)
    undefined = np.array([v is None for v in array.flat], dtype=bool).reshape(array.shape)
    return np.asarray(np.where(undefined, np.nan, array), dtype=np.float64).reshape(array.shape)


# -- metric files -------------------------------------------------------------------------------
@dataclass
class VariantResult:
    """The method itself or one control, over its draws (one draw for the method).

    Attributes:
        draws: per draw, ``per_stamp`` (key -> ``[S, ...]``), ``curves`` and ``details``.
    """

    draws: list[dict[str, Any]]

    def rows(self) -> dict[str, np.ndarray]:
        """Per-stamp arrays of every draw stacked draw after draw, ``[draws * S, ...]``: the
        sample rows of the variant's summary (CIs over stamps and draws).

        Rows of a 2-D array whose width differs between draws (the paper's flipping rows
        ``[S, K + 1]``, ``K`` the draw's largest segment count) are extended with their last
        column, as a stamp keeps its last prediction once its segments are flipped.
        """
        keys = self.draws[0]["per_stamp"].keys() if self.draws else ()
        out: dict[str, np.ndarray] = {}
        for key in keys:
            parts = [np.asarray(d["per_stamp"][key]) for d in self.draws]
            if all(p.ndim == 2 for p in parts) and len({p.shape[1] for p in parts}) > 1:
                width = max(p.shape[1] for p in parts)
                parts = [
                    np.pad(p, ((0, 0), (0, width - p.shape[1])), mode="edge") if p.size else p
                    for p in parts
                ]
            if all(p.ndim == parts[0].ndim and p.shape[1:] == parts[0].shape[1:] for p in parts):
                out[key] = np.concatenate(parts)
        return out

    def stamp_means(self) -> dict[str, np.ndarray]:
        """Per-stamp values averaged over the draws, ``[S]`` (1-D keys only): the values a
        control contributes to a paired comparison with its method."""
        keys = self.draws[0]["per_stamp"].keys() if self.draws else ()
        out = {}
        for key in keys:
            stacked = np.stack(
                [np.asarray(d["per_stamp"][key], dtype=np.float64) for d in self.draws]
            )
            if stacked.ndim == 2:
                with np.errstate(all="ignore"):
                    finite = np.isfinite(stacked)
                    total = np.where(finite, stacked, 0.0).sum(axis=0)
                    count = finite.sum(axis=0)
                    out[key] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return out

    def mean_curves(self) -> dict[str, list[float]]:
        """Each curve averaged over the draws."""
        curves: dict[str, list[float]] = {}
        for name in self.draws[0].get("curves", {}) if self.draws else ():
            values = [d["curves"][name] for d in self.draws if d["curves"].get(name)]
            if values and all(len(v) == len(values[0]) for v in values):
                curves[name] = np.mean(np.asarray(values, dtype=np.float64), axis=0).tolist()
        return curves


@dataclass
class MetricRecord:
    """The content of one ``results/MODEL/METHOD/METRIC.json``."""

    model: str
    method: str
    metric: str
    protocol: str
    stamps: np.ndarray
    variants: dict[str, VariantResult]
    summary: dict[str, dict[str, dict[str, float]]]
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self, config_sha256: str) -> dict[str, Any]:
        """The file body."""
        return to_json(
            {
                "format": METRIC_FORMAT,
                "model": self.model,
                "method": self.method,
                "metric": self.metric,
                "protocol": self.protocol,
                "config_sha256": config_sha256,
                "settings": self.settings,
                "seconds": self.seconds,
                "stamps": self.stamps,
                "variants": {k: {"draws": v.draws} for k, v in self.variants.items()},
                "summary": self.summary,
            }
        )


def write_metric(run_dir: Path, record: MetricRecord, config_sha256: str) -> Path:
    """Write ``record`` to its file, atomically."""
    path = metric_path(run_dir, record.model, record.method, record.metric)
    write_json_atomic(path, record.to_json(config_sha256))
    return path


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object of this run directory; anything else is a :class:`RunStateError`."""
    body = load_json(path, what, RunStateError)
    if not isinstance(body, dict):
        raise RunStateError(f"{path}: expected a JSON object ({what})")
    return body


def check_config(path: Path, body: Mapping[str, Any], config_sha256: str | None) -> None:
    """Refuse a file written under another configuration."""
    if config_sha256 is not None and body.get("config_sha256") != config_sha256:
        raise RunStateError(
            f"{path} was written by a run with another configuration (config_sha256 "
            f"{body.get('config_sha256')!r}, this run {config_sha256}); remove {path.parent} "
            "to recompute it, or choose another --out directory"
        )


def read_metric(path: Path, config_sha256: str | None = None) -> MetricRecord:
    """Read one metric file; a foreign configuration or a malformed file is a clear error."""
    body = read_json_object(path, "evaluation result file")
    check_config(path, body, config_sha256)
    if body.get("format") != METRIC_FORMAT:
        raise RunStateError(f"{path}: not a {METRIC_FORMAT} file (field 'format')")
    try:
        variants = {
            name: VariantResult(
                [
                    {
                        "per_stamp": {k: _array(v) for k, v in draw["per_stamp"].items()},
                        "curves": dict(draw.get("curves", {})),
                        "details": dict(draw.get("details", {})),
                    }
                    for draw in variant["draws"]
                ]
            )
            for name, variant in body["variants"].items()
        }
        return MetricRecord(
            model=str(body["model"]),
            method=str(body["method"]),
            metric=str(body["metric"]),
            protocol=str(body["protocol"]),
            stamps=np.asarray(body["stamps"], dtype=np.int64),
            variants=variants,
            summary=dict(body["summary"]),
            settings=dict(body.get("settings", {})),
            seconds=float(body.get("seconds", 0.0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunStateError(f"{path}: malformed evaluation result ({exc!r})") from exc


def write_stamps(run_dir: Path, model: str, method: str, body: dict[str, Any], sha: str) -> Path:
    """``results/MODEL/METHOD/stamps.json``."""
    path = unit_dir(run_dir, model, method) / "stamps.json"
    write_json_atomic(path, to_json({**body, "config_sha256": sha}))
    return path


def read_stamps(run_dir: Path, model: str, method: str, sha: str | None = None) -> dict[str, Any]:
    """The unit's ``stamps.json``, checked against the configuration."""
    path = unit_dir(run_dir, model, method) / "stamps.json"
    body = read_json_object(path, "evaluation stamps file")
    check_config(path, body, sha)
    return body


def unit_done(run_dir: Path, model: str, method: str, metrics: list[str], sha: str) -> bool:
    """Whether every file of a unit exists and belongs to this configuration (each file is read
    and checked; a file of another configuration is an error, not a reason to skip)."""
    directory = unit_dir(run_dir, model, method)
    paths = [directory / "stamps.json", *(directory / f"{m}.json" for m in metrics)]
    if not all(p.is_file() for p in paths):
        return False
    read_stamps(run_dir, model, method, sha)
    for metric in metrics:
        read_metric(directory / f"{metric}.json", sha)
    return True
