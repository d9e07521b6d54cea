"""Summaries of an evaluation run, derived from the metric objects and the result files.

Nothing here knows a metric by name: columns, headings, directions, rankings and paired
comparisons all come from each metric's declared :class:`~spikeattr.evaluate.metric.Score` s.

* :func:`score_rows`: one row per (model, method, variant, metric, score) with the value and its
  95 % CI (``summary.csv`` is these rows);
* :func:`compare_methods`: for one model, every pair of methods and every method against each
  of its controls on the headline scores of the comparable protocol (paired bootstrap CI and
  Wilcoxon p), a ranking of the methods, and warnings about the stamps;
* :func:`summary_markdown`: the tables of ``summary.md``, the comparable protocol first.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from spikeattr._markdown import Markdown, markdown_table, markdown_text
from spikeattr.evaluate.metric import Metric
from spikeattr.evaluate.paired import adjust_pairs, compare, ranking_table
from spikeattr.evaluate.results import METHOD, MetricRecord

#: Control variants in table order, with the label shown after the method's name.
CONTROL_LABELS: dict[str, str] = {
    "permuted": "permuted control",
    "random-order": "random-order control",
    "uniform": "uniform control",
}


def variant_label(method: str, variant: str) -> str:
    """``ns`` or ``ns (permuted control)``."""
    return method if variant == METHOD else f"{method} ({CONTROL_LABELS.get(variant, variant)})"


def format_number(value: float | None, digits: int = 3, count: bool = False) -> str:
    """``digits`` decimals, or ``digits`` significant digits below 0.01; ``n/a`` for NaN. A
    ``count`` (cells, steps) that is whole is shown as an integer (``15``, not ``15.000``)."""
    if value is None or value != value:
        return "n/a"
    if count and float(value).is_integer():
        return str(int(value))
    if abs(value) < 1e-2 and value != 0:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def format_cell(entry: Mapping[str, Any] | None, digits: int = 3, count: bool = False) -> str:
    """``value [low, high]``, or ``-`` when there is nothing; ``count``: see
    :func:`format_number`."""
    if not entry:
        return "-"
    value = entry.get("value")
    text = format_number(value, digits, count)
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if text != "n/a" and low is not None and high is not None and (low != value or high != value):
        text += f" [{format_number(low, digits, count)}, {format_number(high, digits, count)}]"
    return text


def heading(score_heading: str, higher_is_better: bool) -> str:
    """A column heading with its direction."""
    return f"{score_heading} ({'higher' if higher_is_better else 'lower'} better)"


def score_rows(
    records: Sequence[MetricRecord], metrics: Mapping[str, Metric]
) -> list[dict[str, Any]]:
    """One row per (model, method, variant, metric, score) of the result files."""
    rows = []
    for record in records:
        metric = metrics.get(record.metric)
        if metric is None:
            continue
        for variant, summary in record.summary.items():
            for score in metric.scores:
                entry = summary.get(score.key, {})
                rows.append(
                    {
                        "model": record.model,
                        "method": record.method,
                        "variant": variant,
                        "metric": record.metric,
                        "protocol": record.protocol,
                        "score": score.key,
                        "heading": score.heading,
                        "higher_is_better": score.higher_is_better,
                        "headline": score.headline,
                        "count": score.count,
                        "value": entry.get("value"),
                        "ci_low": entry.get("ci_low"),
                        "ci_high": entry.get("ci_high"),
                        "n": entry.get("n"),
                    }
                )
    return rows


def summary_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``summary.csv``: the rows of :func:`score_rows`, one per line."""
    buffer = io.StringIO()
    columns = ["model", "method", "variant", "metric", "protocol", "score", "higher_is_better"]
    columns += ["value", "ci_low", "ci_high", "n"]
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buffer.getvalue()


def compare_methods(
    records: Mapping[tuple[str, str], MetricRecord],
    metrics: Sequence[Metric],
    methods: Sequence[str],
    seed: int = 0,
    protocol: str = "comparable",
) -> dict[str, Any]:
    """Paired comparisons and the ranking of one model's ``methods``.

    ``records[(method, metric)]`` are that model's result files. Pairs use the headline scores
    of ``protocol`` (the comparable one unless told otherwise); each method is also compared
    with each of its controls (the control's per-stamp values averaged over its draws).
    """
    headline = [(m, s) for m in metrics if m.protocol == protocol for s in m.scores if s.headline]
    pairs: list[dict[str, Any]] = []
    values: dict[str, dict[str, float]] = {m: {} for m in methods}
    nan = float("nan")
    for metric, score in headline:
        column = f"{metric.name}.{score.key}"
        for method in methods:
            record = records.get((method, metric.name))
            if record is not None and METHOD in record.summary:
                value = record.summary[METHOD].get(score.key, {}).get("value")
                values[method][column] = nan if value is None else float(value)
        for first, second in itertools.combinations(methods, 2):
            a, b = records.get((first, metric.name)), records.get((second, metric.name))
            if a is None or b is None or not _same_stamps(a, b):
                continue
            result = compare(
                metric,
                score.key,
                a.variants[METHOD].stamp_means(),
                b.variants[METHOD].stamp_means(),
                seed=seed,
            )
            pairs.append(
                {
                    "first": first,
                    "second": second,
                    "metric": metric.name,
                    "score": score.key,
                    **result,
                }
            )
        for method in methods:
            record = records.get((method, metric.name))
            if record is None:
                continue
            for variant in record.variants:
                if variant == METHOD:
                    continue
                result = compare(
                    metric,
                    score.key,
                    record.variants[METHOD].stamp_means(),
                    record.variants[variant].stamp_means(),
                    seed=seed,
                )
                pairs.append(
                    {
                        "first": method,
                        "second": variant_label(method, variant),
                        "metric": metric.name,
                        "score": score.key,
                        **result,
                    }
                )
    adjust_pairs(pairs)  # one family per model: every pair and control, every headline score
    ranking = ranking_table([(m, s.key) for m, s in headline], values) if methods else []
    return {"pairs": pairs, "ranking": ranking}


def _same_stamps(a: MetricRecord, b: MetricRecord) -> bool:
    return a.stamps.shape == b.stamps.shape and bool((a.stamps == b.stamps).all())


def _cell(row: Mapping[str, Any] | None) -> str:
    """A score row of :func:`score_rows` as ``value [low, high]``."""
    return format_cell(row, count=bool(row and row.get("count")))


def summary_markdown(
    rows: Sequence[Mapping[str, Any]],
    comparisons: Mapping[str, Mapping[str, Any]],
    notes: Sequence[str] = (),
    first: str = "comparable",
) -> str:
    """``summary.md``: the protocol ``first`` leads (ground-truth localisation, when the run has
    it, comes before both); every name is escaped."""
    sections = ["comparable", "paper"] if first == "comparable" else ["paper", "comparable"]
    sections.insert(0, "localisation")
    out = ["# Evaluation summary", ""]
    out += [f"- {markdown_text(note)}" for note in notes]
    if notes:
        out.append("")
    for protocol in sections:
        out += _protocol_section(rows, comparisons, protocol)
    return "\n".join(out).rstrip() + "\n"


_TITLES = {
    "localisation": "Ground-truth localisation (cells known to decide the label)",
    "comparable": "Comparable protocol (scores comparable across methods and models)",
    "paper": "Paper protocol (the TSA paper's four metrics, as published)",
}


def _protocol_section(
    rows: Sequence[Mapping[str, Any]], comparisons: Mapping[str, Mapping[str, Any]], protocol: str
) -> list[str]:
    chosen = [r for r in rows if r["protocol"] == protocol and r["headline"]]
    if not chosen:
        return []
    title = _TITLES[protocol]
    columns: list[tuple[str, str, str]] = []
    for row in chosen:
        key = (row["metric"], row["score"], heading(row["heading"], row["higher_is_better"]))
        if key not in columns:
            columns.append(key)
    table: dict[tuple[str, str, str], dict[tuple[str, str], Any]] = {}
    for row in chosen:
        cells = table.setdefault((row["model"], row["method"], row["variant"]), {})
        cells[(row["metric"], row["score"])] = row
    ordered = sorted(table, key=lambda k: (k[0], k[1], k[2] != METHOD, k[2]))
    body = [
        (
            model,
            variant_label(method, variant),
            *(Markdown(_cell(table[(model, method, variant)].get(c[:2]))) for c in columns),
        )
        for model, method, variant in ordered
    ]
    out = [f"## {title}", ""]
    out.append(markdown_table(("model", "method", *(c[2] for c in columns)), body))
    if protocol == "comparable":
        counts = {f"{r['metric']}.{r['score']}" for r in rows if r.get("count")}
        for model, result in comparisons.items():
            out += _ranking_section(model, result, counts)
    return out


def ranking_rows(
    result: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    counts: Collection[str] = (),
) -> tuple[list[str], list[tuple[str, ...]]]:
    """The ranking of ``comparisons/MODEL.json`` as a table: headings and one row per method
    (rank, method, mean rank, then ``value (#rank)`` per score). ``labels`` renames the score
    columns (``deletion.del_50`` by default); ``counts`` names the columns that are counts
    (:func:`format_number`)."""
    ranking = result.get("ranking") or []
    if not ranking:
        return [], []
    score_columns = [k for k in ranking[0] if k not in ("method", "mean_rank")]
    headings = ["rank", "method", "mean rank"]
    headings += [(labels or {}).get(c, c) for c in score_columns]
    body = [
        (
            str(index + 1),
            str(row["method"]),
            f"{row['mean_rank']:.2f}",
            *(
                f"{format_number(row[c]['value'], count=c in counts)} (#{row[c]['rank']:g})"
                for c in score_columns
            ),
        )
        for index, row in enumerate(ranking)
    ]
    return headings, body


#: Headings of the table of significant paired comparisons.
PAIR_HEADINGS = ("first", "second", "score", "difference [95 % CI]", "p", "p (Holm)", "better")
#: How a pair is called significant, for captions.
SIGNIFICANCE_RULE = (
    "significant at 5 % after Holm's correction over all of the model's comparisons "
    "(Holm-adjusted Wilcoxon p < 0.05 and a bootstrap CI excluding 0)"
)


def significant_pairs(
    result: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> tuple[str, list[tuple[str, ...]]]:
    """The significant pairs of ``comparisons/MODEL.json``: a caption (how many of how many)
    and one row per pair under :data:`PAIR_HEADINGS`; no caption when there is no pair.
    ``labels`` renames the scores (``deletion.del_50`` by default)."""
    pairs = result.get("pairs") or []
    chosen = [p for p in pairs if p.get("significant")]
    if not pairs:
        return "", []
    caption = f"{len(chosen)} of {len(pairs)} {SIGNIFICANCE_RULE}"
    body: list[tuple[str, ...]] = [
        (
            str(p["first"]),
            str(p["second"]),
            (labels or {}).get(f"{p['metric']}.{p['score']}", f"{p['metric']}.{p['score']}"),
            f"{format_number(p['difference'])} "
            f"[{format_number(p['ci_low'])}, {format_number(p['ci_high'])}]",
            f"{p['p_value']:.2g}",
            f"{p['p_holm']:.2g}" if "p_holm" in p else "-",
            str({"first": p["first"], "second": p["second"]}.get(p["better"], "tie")),
        )
        for p in chosen
    ]
    return caption, body


def stamp_notes(model: str, n_stamps: int, class_counts: Mapping[str, int]) -> list[str]:
    """The notes on one model's stamps (``summary.md`` and the report): how many, of which true
    classes, and a warning when fewer than two classes are present."""
    notes = [
        f"{model}: {n_stamps} stamps; true classes "
        + ", ".join(f"{k} {v}" for k, v in class_counts.items())
    ]
    if len(class_counts) < 2:
        notes.append(
            f"warning: {model}'s stamps hold fewer than two classes; agreement-based "
            "scores then only measure agreement with one class"
        )
    return notes


def _ranking_section(
    model: str, result: Mapping[str, Any], counts: Collection[str] = ()
) -> list[str]:
    out = []
    headings, body = ranking_rows(result, counts=counts)
    if body:  # formatted numbers (columns 2..) keep their brackets; names are escaped
        rows = [(*row[:2], *map(Markdown, row[2:])) for row in body]
        out += [f"### Ranking of the methods: {markdown_text(model)}", ""]
        out.append(markdown_table(headings, rows))
    caption, pairs = significant_pairs(result)
    if caption:
        out += [f"### Paired comparisons: {markdown_text(model)} ({caption})", ""]
        if pairs:
            rows = [(*row[:3], Markdown(row[3]), *row[4:]) for row in pairs]
            pair_headings = (*PAIR_HEADINGS[:3], Markdown(PAIR_HEADINGS[3]), *PAIR_HEADINGS[4:])
            out.append(markdown_table(pair_headings, rows))
    return out
