"""One unit of an evaluation: one model and one method on the run's stamps, every metric.

The stamps are explained once (window mode); each metric scores the method's maps, then each
of its controls over ``control_draws`` draws. The paper's output-completeness thresholds use a
scale fixed per data set, model and method: the method's largest ``|attribution|`` over the
data set's reference stamps (:func:`reference_stamps`), so a run on a subset of stamps uses the
same thresholds as the full run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.data.stamps import paper_stamps, resolve_stamps
from spikeattr.errors import DataFormatError
from spikeattr.evaluate.controls import control_maps, method_range
from spikeattr.evaluate.metric import ExplainFn, Metric, MetricResult, StampSet
from spikeattr.evaluate.registry import for_control
from spikeattr.evaluate.results import METHOD, MetricRecord, VariantResult
from spikeattr.explain.methods import channel_rates, make_explainer
from spikeattr.explain.stamps import StampExplanations, explain_stamps

#: Stamps per class of the reference set of a data set without paper stamps.
REFERENCE_PER_CLASS = 25


def explainer_fn(method: str, model: Any, rates: np.ndarray | None = None) -> ExplainFn:
    """Re-explains windows ``[P, T, n_in]`` with ``method`` for given classes (or the predicted
    ones), returning the maps ``[P, n_in, T]`` and predictions ``[P]``; ``rates`` as in
    :func:`~spikeattr.explain.methods.make_explainer`."""
    explainer = make_explainer(method, model, rates=rates)

    def explain(windows: np.ndarray, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        target = None if targets is None else [int(c) for c in targets]
        batch = torch.from_numpy(np.ascontiguousarray(windows)).float()
        result = explainer.attribute(batch, target=target)
        return result.explanation.detach().cpu().numpy(), result.predicted.cpu().numpy()

    return explain


def reference_stamps(series: SpikeSeries, split: str) -> np.ndarray | None:
    """The data set's reference stamps: the paper's, else 25 per class (or as many as the
    smallest class has); ``None`` for a split without labels."""
    try:
        return paper_stamps(series, split)
    except DataFormatError:
        pass
    labels = series.split(split).labels
    counts = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0)
    present = counts[counts > 0]
    if present.size == 0:
        return None
    per_class = int(min(REFERENCE_PER_CLASS, present.min()))
    return np.asarray(resolve_stamps(series, split, str(per_class)), dtype=np.int64)


def method_scale(
    model: Any,
    method: str,
    part: SpikeSeries,
    explained: StampExplanations,
    reference: np.ndarray | None,
    window: int,
    precision: str = "float64",
) -> float:
    """The method's largest ``|attribution|`` over the reference stamps (the run's own stamps
    when there is no reference set); stamps already explained are not explained again."""
    run_maps = np.abs(explained.explanation)
    if reference is None:
        return float(run_maps.max(initial=0.0))
    known = {int(s): i for i, s in enumerate(explained.stamps)}
    scale = max(
        (float(run_maps[known[int(s)]].max(initial=0.0)) for s in reference if int(s) in known),
        default=0.0,
    )
    extra = np.asarray([s for s in reference if int(s) not in known], dtype=np.int64)
    if extra.size:
        more = explain_stamps(
            model, part.spikes, extra, variant=method, window=window, precision=precision
        )
        scale = max(scale, float(np.abs(more.explanation).max(initial=0.0)))
    return scale


def stamp_set(
    model: Any,
    method: str,
    part: SpikeSeries,
    explained: StampExplanations,
    seed: int,
    scale: float | None,
) -> StampSet:
    """The :class:`StampSet` of an explained unit (with the stamps' evidence masks when the
    data has them)."""
    count = len(explained.stamps)
    rates = channel_rates(part.spikes)  # what explain_stamps gave the exact LIF methods
    masks = None
    if part.evidence is not None:
        masks = [
            part.evidence.window_mask(int(t), int(s), part.n_inputs)
            for s, t in zip(explained.window_start, explained.stamps, strict=True)
        ]
    return StampSet(
        model=model,
        stamps=explained.stamps,
        windows=[
            part.spikes[s:t] for s, t in zip(explained.window_start, explained.stamps, strict=True)
        ],
        maps=[np.ascontiguousarray(explained.unpadded(i)) for i in range(count)],
        targets=explained.target,
        original=explained.predicted,
        labels=part.labels[explained.stamps - 1].astype(np.int64),
        probs=explained.probs.astype(np.float64),
        explain=explainer_fn(method, model, rates),
        explainer_for=lambda other: explainer_fn(method, other, rates),
        seed=seed,
        scale=scale,
        masks=masks,
    )


def _draw(result: MetricResult) -> dict[str, Any]:
    return {"per_stamp": result.per_stamp, "curves": result.curves, "details": result.details}


def score_metric(
    metric: Metric,
    data: StampSet,
    controls: Sequence[str],
    control_draws: int,
    seed: int,
) -> tuple[dict[str, VariantResult], dict[str, Any]]:
    """``metric`` on the method's maps and on each applicable control; variants and summary."""
    variants = {METHOD: VariantResult([_draw(metric(data))])}
    value_range = method_range(data.maps)
    for control in controls:
        if control not in metric.controls:
            continue
        chosen = for_control(metric, control)
        draws = []
        for draw in range(control_draws):
            maps = control_maps(control, data.maps, data.stamps, seed, draw, value_range)
            draws.append(_draw(chosen(data.with_maps(maps, control, draw))))
        variants[control] = VariantResult(draws)
    summary = {name: metric.summarise(v.rows(), seed=seed) for name, v in variants.items()}
    return variants, summary


def evaluate_unit(
    model: Any,
    model_name: str,
    method: str,
    part: SpikeSeries,
    stamps: Sequence[int],
    metrics: Sequence[Metric],
    window: int,
    controls: Sequence[str],
    control_draws: int,
    seed: int,
    reference: np.ndarray | None,
    progress: Callable[[str], Any] | None = None,
    precision: str = "float64",
) -> tuple[list[MetricRecord], dict[str, Any]]:
    """Every metric of one model and method: the records to write and the stamps file body.

    ``precision`` is that of the methods that take one (TSA, SAM, Kim & Panda)."""
    explained = explain_stamps(
        model, part.spikes, np.asarray(stamps), variant=method, window=window, precision=precision
    )
    # the paper's completeness thresholds; explaining the reference stamps costs time, so only
    # when a metric of the paper protocol will use them
    scale = None
    if any(metric.protocol == "paper" for metric in metrics):
        scale = method_scale(model, method, part, explained, reference, window, precision)
    data = stamp_set(model, method, part, explained, seed, scale)
    records = []
    for metric in metrics:
        if progress is not None:
            progress(metric.name)
        start = time.perf_counter()
        variants, summary = score_metric(metric, data, controls, control_draws, seed)
        records.append(
            MetricRecord(
                model=model_name,
                method=method,
                metric=metric.name,
                protocol=metric.protocol,
                stamps=explained.stamps,
                variants=variants,
                summary=summary,
                settings=metric.settings(),
                seconds=time.perf_counter() - start,
            )
        )
    names = part.class_names
    stamps_body = {
        "model": model_name,
        "method": method,
        "stamps": explained.stamps,
        "label": data.labels,
        "predicted": explained.predicted,
        "target": explained.target,
        "probs": explained.probs,
        "dtype": np.dtype(explained.values.dtype).name,  # the precision the maps were computed in
        "scale": scale,
        "class_counts": {
            "label": _counts(data.labels, names),
            "predicted": _counts(explained.predicted, names),
        },
    }
    return records, stamps_body


def _counts(values: np.ndarray, names: Sequence[str]) -> dict[str, int]:
    counts = np.bincount(np.asarray(values)[np.asarray(values) >= 0], minlength=len(names))
    return {names[c]: int(n) for c, n in enumerate(counts) if n and c < len(names)}
