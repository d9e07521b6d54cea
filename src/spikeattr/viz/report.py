"""The report of an evaluation run: one self-contained HTML page and the same tables in Markdown.

:func:`build_report` reads a results directory of ``spikeattr evaluate`` (:func:`read_run`) and
writes ``report.html`` (figures embedded as base64 PNG ``data:`` URIs, inline CSS, no scripts,
no external fonts or links: it opens offline) and ``report.md`` beside it, both atomically.
The page holds the run's configuration and manifest (seed, versions, data checksums, timings),
the models' balanced accuracy, the summary table with 95 % CIs (the numbers of the results
files, formatted as ``summary.md``), the metric figures and a gallery of explained stamps, one
per class, methods side by side.

A partial run still gives a report: every absent or unreadable file is listed under "Missing"
at the top and noted where it would have been shown.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr import __version__
from spikeattr._io import atomic_path
from spikeattr.errors import DataFormatError
from spikeattr.evaluate.results import (
    SUMMARY_COLUMNS,
    format_cell,
    format_number,
    safe_model_name,
)
from spikeattr.explain.files import Explanations
from spikeattr.viz.explanation import explanation_figure
from spikeattr.viz.figures import FigureError, figure_data_uri
from spikeattr.viz.metrics import (
    completeness_figure,
    continuity_compactness_figure,
    flipping_figure,
)
from spikeattr.viz.rundir import EvaluationRun, Missing, ReportError, read_run
from spikeattr.viz.style import is_control, method_label
from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_data, time_axis_from_meta

#: Resolution of the embedded figures (dots per inch).
METRIC_DPI = 120
GALLERY_DPI = 100
#: Width (inches) of a gallery figure.
GALLERY_WIDTH = 4.8

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0; background: #fafafa; color: #1a1a1a; line-height: 1.45; }
main { max-width: 1500px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #ddd;
  padding-bottom: .2rem; }
h3 { font-size: 1.08rem; margin: 1.4rem 0 .5rem; }
p.sub { color: #555; margin: 0 0 1rem; }
nav a { margin-right: 1rem; color: #0b5394; text-decoration: none; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .88rem; background: #fff; }
th, td { border: 1px solid #ddd; padding: .28rem .55rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num .ci { color: #666; font-size: .82em; display: block; }
td code { word-break: break-all; }
.cards td { overflow-wrap: anywhere; }
#summary td:nth-child(-n+2) { white-space: nowrap; }
#summary th { min-width: 5.5rem; }
tr.control td { color: #555; font-style: italic; }
.scroll { overflow-x: auto; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .86em; }
.missing { background: #fff4e5; border: 1px solid #f0b45b; border-radius: 4px;
  padding: .5rem 1rem; margin: 1rem 0; }
.missing h2 { border: 0; margin: .2rem 0; font-size: 1.1rem; color: #8a4b00; }
p.missing-note { background: #fff4e5; border-left: 4px solid #f0b45b; padding: .3rem .7rem; }
figure { margin: 1rem 0 1.6rem; background: #fff; border: 1px solid #e3e3e3; padding: .6rem; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: .88rem; margin-top: .4rem; }
.gallery { display: grid; gap: .6rem; margin-bottom: 1rem; }
.gallery .cell { background: #fff; border: 1px solid #e3e3e3; padding: .3rem; }
.gallery .cell img { width: 100%; height: auto; display: block; }
.gallery .head { font-weight: 600; padding: .2rem .3rem; }
.gallery .rowhead { font-size: .9rem; color: #333; padding: .3rem; align-self: center; }
details { margin: .4rem 0 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 0 2rem; }
.cards h3 { margin-top: .8rem; }
footer { margin-top: 3rem; color: #777; font-size: .82rem; }
"""


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    html: Path
    markdown: Path
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: int = 0


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(
    headings: Sequence[str], rows: Iterable[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    """An HTML table of already escaped cells; ``classes[i]`` styles column ``i``."""
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{classes[i]}">{c}</td>'
            if i < len(classes) and classes[i]
            else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _md_table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def clean(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in headings) + " |"]
    lines.append("|" + "---|" * len(headings))
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _numeric_cell(text: str) -> str:
    """A summary cell ``value [low, high]`` with the interval in a muted span."""
    value, bracket, rest = text.partition(" [")
    if not bracket:
        return _e(text)
    return f'{_e(value)} <span class="ci">[{_e(rest)}</span>'


def _missing_note(notes: Sequence[Missing]) -> str:
    if not notes:
        return ""
    items = "; ".join(f"<code>{_e(n.where)}</code> ({_e(n.why)})" for n in notes)
    return f'<p class="missing-note"><strong>Missing:</strong> {items}</p>'


def _notes_under(run: EvaluationRun, prefix: str) -> list[Missing]:
    return [n for n in run.missing if n.where.startswith(prefix)]


# -- the content, shared by the HTML and the Markdown -----------------------------------------


def _config_rows(run: EvaluationRun) -> list[tuple[str, str]]:
    config = run.config
    rows: list[tuple[str, str]] = []
    for key in ("models", "methods", "data", "data_sha256", "split"):
        if key in config:
            value = config[key]
            rows.append(
                (key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            )
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        rows.append(("stamps", f"{len(stamps)} stamps"))
    for key in ("window", "width", "epsilons", "n_perturbations", "random_control", "seed"):
        if key in config:
            value = config[key]
            rows.append(
                (key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            )
    shown = {r[0] for r in rows}
    rows += [(k, json.dumps(v)) for k, v in config.items() if k not in shown and k != "stamps"]
    return rows


def _manifest_sections(run: EvaluationRun) -> dict[str, list[tuple[str, str]]]:
    manifest = run.manifest or {}
    general = [
        (key, str(manifest[key])) for key in ("command", "created", "seed") if key in manifest
    ]
    versions = [(k, str(v)) for k, v in (manifest.get("versions") or {}).items()]
    checksums: list[tuple[str, str]] = []
    for source, values in (manifest.get("data_checksums") or {}).items():
        if isinstance(values, dict):
            checksums += [(f"{source} ({k})", str(v)) for k, v in values.items()]
        else:
            checksums.append((str(source), str(values)))
    timings = [
        (k, f"{float(v):.2f}")
        for k, v in (manifest.get("timings_s") or {}).items()
        if isinstance(v, (int, float))
    ]
    return {"general": general, "versions": versions, "checksums": checksums, "timings": timings}


def _accuracy_rows(run: EvaluationRun) -> list[list[str]]:
    rows = []
    for model in run.models:
        body = run.accuracy.get(model)
        if body is None:
            rows.append([model, "missing", "", "", "", ""])
            continue
        ci = body.get("ci95") or []
        ci_text = (
            f"[{format_number(float(ci[0]))}, {format_number(float(ci[1]))}]"
            if len(ci) == 2
            else ""
        )
        accuracy = body.get("balanced_accuracy")
        rows.append(
            [
                model,
                format_number(float(accuracy)) if accuracy is not None else "missing",
                ci_text,
                format_number(float(body["accuracy"])) if "accuracy" in body else "",
                str(body.get("n_steps", "")),
                "-".join(str(n) for n in body.get("layer_sizes", [])),
            ]
        )
    return rows


_MANIFEST_TABLES = (
    ("general", "Manifest"),
    ("checksums", "Data checksums"),
    ("versions", "Versions"),
    ("timings", "Timings"),
)
_MANIFEST_HEADINGS = {
    "general": ("field", "value"),
    "checksums": ("data file", "SHA-256"),
    "versions": ("package", "version"),
    "timings": ("step", "seconds"),
}

_ACCURACY_HEADINGS = (
    "model",
    "balanced accuracy",
    "95 % CI",
    "accuracy",
    "steps",
    "layer sizes",
)


def _summary_table_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [row["model"], row["method"]] + [format_cell(row, key) for key, _ in SUMMARY_COLUMNS]
        for row in rows
    ]


def _unit_rows(run: EvaluationRun) -> list[list[str]]:
    rows = []
    for model, name in run.units():
        stamps = run.stamps.get((model, name))
        bodies = run.metrics.get((model, name), {})
        seconds = next((b.get("seconds_per_stamp") for b in bodies.values()), None)
        if stamps is None:
            rows.append([model, name, "missing", "missing", ""])
            continue
        count = len(stamps.get("stamps") or [])
        empty = len(stamps.get("empty_explanations") or [])
        rows.append(
            [
                model,
                name,
                str(count),
                str(empty),
                f"{float(seconds):.3f}" if isinstance(seconds, (int, float)) else "",
            ]
        )
    return rows


_UNIT_HEADINGS = ("model", "method", "stamps", "empty explanations", "seconds per stamp")


# -- figures ----------------------------------------------------------------------------------


@dataclass
class _GalleryCell:
    uri: str | None
    alt: str
    note: str = ""


@dataclass
class _GalleryRow:
    label: int
    stamp: int
    heading: str
    cells: dict[str, _GalleryCell]


def _time_axis(run: EvaluationRun, notes: list[str]) -> TimeAxis:
    data = run.config.get("data")
    split = str(run.config.get("split", ""))
    if not data:
        notes.append("the run's data file is unknown: gallery time axes are in steps")
        return TimeAxis(None, None, split)
    try:
        return time_axis_from_data(str(data), split)
    except FigureError as exc:
        notes.append(f"gallery time axes are in steps ({exc})")
        return TimeAxis(None, None, split)


def _gallery(
    run: EvaluationRun,
    time_axis: TimeAxis,
    progress: Callable[[int, int], Any] | None,
) -> dict[str, list[_GalleryRow]]:
    """Per model, one row per explained stamp (one per class), one cell per method."""
    loaded: dict[tuple[str, str], Explanations] = {}
    for key, path in run.galleries.items():
        try:
            loaded[key] = Explanations.load(path)
        except (FigureError, DataFormatError) as exc:
            relative = f"gallery/{safe_model_name(key[0])}/{key[1]}.npz"
            run.missing.append(Missing(relative, f"unreadable ({exc})"))
    total = sum(len(e) for e in loaded.values())
    done = 0
    out: dict[str, list[_GalleryRow]] = {}
    for model in run.models:
        rows: dict[int, _GalleryRow] = {}
        for method in run.methods:
            explanations = loaded.get((model, method))
            if explanations is None:
                continue
            for index, stamp in enumerate(explanations.stamps.tolist()):
                label = int(explanations.label[index])
                classes = explanations.class_names
                name = classes[label] if 0 <= label < len(classes) else "unlabelled"
                row = rows.setdefault(
                    int(stamp), _GalleryRow(label, int(stamp), f"{name} (stamp {stamp})", {})
                )
                figure = explanation_figure(
                    explanations,
                    index,
                    time_axis=time_axis_from_meta(explanations.meta) or time_axis,
                    compact=True,
                    width=GALLERY_WIDTH,
                )
                alt = (
                    f"{method_label(method)} explanation of stamp {stamp} for {model}: true "
                    f"{name}, predicted {classes[int(explanations.predicted[index])]}"
                )
                row.cells[method] = _GalleryCell(figure_data_uri(figure, GALLERY_DPI), alt)
                done += 1
                if progress is not None:
                    progress(done, total)
        out[model] = sorted(rows.values(), key=lambda r: (r.label, r.stamp))
    return out


_FIGURE_CAPTIONS = {
    "flipping": (
        "Correctness: balanced accuracy after flipping the k highest-ranked segments, against "
        "the original prediction and against the ground truth (a fast fall is good; ESS is the "
        "normalised area under the curve). Dashed: the random control in its method's colour."
    ),
    "completeness": (
        "Output-completeness versus epsilon: agreement with the original prediction when only "
        "segments above epsilon (a fraction of the method's largest |attribution|) are kept "
        "(higher is better), with 95 % bootstrap CI bands. Dashed: random control."
    ),
    "bars": (
        "Continuity (max-sensitivity to duration perturbations) and compactness (sum of "
        "|attribution|), means over stamps with 95 % CIs; lower is better. Hatched: random "
        "control; diamonds: maximum over stamps."
    ),
}


def _metric_figures(run: EvaluationRun) -> list[tuple[str, str, str]]:
    """``(key, title, data URI)`` of the metric figures."""
    figures = [
        ("flipping", "Flipping curves", flipping_figure(run)),
        ("completeness", "Output-completeness", completeness_figure(run)),
        ("bars", "Continuity and compactness", continuity_compactness_figure(run)),
    ]
    return [(key, title, figure_data_uri(fig, METRIC_DPI)) for key, title, fig in figures]


# -- writing ----------------------------------------------------------------------------------


def render_markdown(run: EvaluationRun, notes: Sequence[str] = ()) -> str:
    """The report's tables in Markdown (no figures)."""
    rows = run.summary_rows()
    parts = [f"# Evaluation report: {run.path.name}\n"]
    if run.missing:
        parts.append("## Missing\n")
        parts += [f"- Missing: `{n.where}` ({n.why})" for n in run.missing]
        parts.append("")
    if notes:
        parts += ["## Notes\n", *[f"- {n}" for n in notes], ""]
    parts.append("## Run\n")
    parts.append(
        _md_table(("setting", "value"), _config_rows(run))
        if run.config
        else "Missing: configuration\n"
    )
    sections = _manifest_sections(run)
    if run.manifest is None:
        parts.append("Missing: manifest.json\n")
    for key, title in _MANIFEST_TABLES:
        if sections[key]:
            parts += [f"### {title}\n", _md_table(_MANIFEST_HEADINGS[key], sections[key])]
    parts += ["## Model accuracy\n", _md_table(_ACCURACY_HEADINGS, _accuracy_rows(run))]
    parts.append("## Metrics\n")
    parts.append(
        _md_table(("model", "method", *(t for _, t in SUMMARY_COLUMNS)), _summary_table_rows(rows))
    )
    incomplete = [f"{r['model']} / {r['method']}: {r['missing']}" for r in rows if r["missing"]]
    if incomplete:
        parts.append("Missing results: " + "; ".join(incomplete) + "\n")
    parts += ["### Stamps and timing per unit\n", _md_table(_UNIT_HEADINGS, _unit_rows(run))]
    return "\n".join(parts)


def _summary_line(run: EvaluationRun) -> str:
    """One sentence on what the run evaluated."""
    config = run.config
    facts = [
        f"{len(run.models)} model(s) x {len(run.methods)} method(s)"
        + (" with random controls" if run.random_control else "")
    ]
    stamps = config.get("stamps")
    if isinstance(stamps, list):
        facts.append(f"{len(stamps)} stamps of the {config.get('split', '?')} split")
    if "data" in config:
        facts.append(f"data <code>{_e(Path(str(config['data'])).name)}</code>")
    for key, text in (("window", "window"), ("seed", "seed")):
        if key in config:
            facts.append(f"{text} {_e(config[key])}")
    created = (run.manifest or {}).get("created")
    if created:
        facts.append(f"created {_e(created)}")
    return "; ".join(facts) + "."


def _html_summary_table(rows: Sequence[dict[str, Any]]) -> str:
    headings = ["model", "method", *(_e(t) for _, t in SUMMARY_COLUMNS)]
    body = []
    for row, cells in zip(rows, _summary_table_rows(rows), strict=True):
        styled = "".join(
            f'<td class="num">{_numeric_cell(c)}</td>' if i >= 2 else f"<td>{_e(c)}</td>"
            for i, c in enumerate(cells)
        )
        css = ' class="control"' if is_control(row["method"]) else ""
        body.append(f"<tr{css}>{styled}</tr>")
    return (
        '<div class="scroll"><table id="summary"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in headings)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _html_gallery(run: EvaluationRun, gallery: dict[str, list[_GalleryRow]]) -> list[str]:
    parts = [
        '<section id="gallery"><h2>Gallery</h2>',
        "<p>One explained stamp per class (the first of the run's stamps whose explained step "
        "has that label), the attribution of the predicted class, methods side by side. Red: "
        "evidence for the class, blue: evidence against; grey marks: input spikes.</p>",
        _missing_note(_notes_under(run, "gallery/")),
    ]
    for model in run.models:
        parts.append(f"<h3>{_e(model)}</h3>")
        rows = gallery.get(model, [])
        if not rows:
            parts.append(
                f'<p class="missing-note"><strong>Missing:</strong> no gallery for {_e(model)}</p>'
            )
            continue
        grid = [
            f'<div class="gallery" style="grid-template-columns: 7rem repeat({len(run.methods)}, '
            'minmax(0, 1fr));"><div></div>'
        ]
        grid += [f'<div class="head">{_e(method_label(m))}</div>' for m in run.methods]
        for row in rows:
            grid.append(f'<div class="rowhead">{_e(row.heading)}</div>')
            for method in run.methods:
                cell = row.cells.get(method)
                if cell is None:
                    grid.append('<div class="cell"><p class="missing-note">Missing</p></div>')
                else:
                    grid.append(
                        f'<div class="cell"><img src="{cell.uri}" alt="{_e(cell.alt)}"></div>'
                    )
        grid.append("</div>")
        parts.append("".join(grid))
    parts.append("</section>")
    return parts


def _html_run_details(run: EvaluationRun) -> list[str]:
    parts = ['<section id="run"><h2>Run details</h2>']
    parts.append(
        _missing_note(_notes_under(run, "config.json") + _notes_under(run, "manifest.json"))
    )
    cards = []
    if run.config:
        config_rows = [(f"<code>{_e(k)}</code>", _e(v)) for k, v in _config_rows(run)]
        card = f"<div><h3>Configuration</h3>{_table(('setting', 'value'), config_rows)}"
        stamps = run.config.get("stamps")
        if isinstance(stamps, list) and stamps:
            card += (
                f"<details><summary>The {len(stamps)} explained stamps</summary>"
                f"<p><code>{_e(', '.join(map(str, stamps)))}</code></p></details>"
            )
        cards.append(card + "</div>")
    sections = _manifest_sections(run)
    for key, title in _MANIFEST_TABLES:
        if sections[key]:
            cells = [(f"<code>{_e(k)}</code>", _e(v)) for k, v in sections[key]]
            numeric = ("", "num" if key == "timings" else "")
            table = _table(_MANIFEST_HEADINGS[key], cells, numeric)
            cards.append(f"<div><h3>{title}</h3>{table}</div>")
    if cards:
        parts.append(f'<div class="cards">{"".join(cards)}</div>')
    parts.append("</section>")
    return parts


def render_html(
    run: EvaluationRun,
    figures: Sequence[tuple[str, str, str]],
    gallery: dict[str, list[_GalleryRow]],
    notes: Sequence[str] = (),
) -> str:
    """The self-contained HTML page."""
    rows = run.summary_rows()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>spikeattr report: {_e(run.path.name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<header><h1>Evaluation report: {_e(run.path.name)}</h1>",
        f'<p class="sub">{_summary_line(run)}</p>',
        '<nav><a href="#accuracy">Model accuracy</a><a href="#metrics">Metrics</a>'
        '<a href="#figures">Figures</a><a href="#gallery">Gallery</a>'
        '<a href="#run">Run details</a></nav></header>',
    ]
    if run.missing:
        items = "".join(f"<li><code>{_e(n.where)}</code>: {_e(n.why)}</li>" for n in run.missing)
        parts.append(
            '<section class="missing" id="missing"><h2>Missing</h2>'
            f"<p>This run directory is incomplete; {len(run.missing)} item(s) could not be "
            f"shown:</p><ul>{items}</ul></section>"
        )
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")

    parts += [
        '<section id="accuracy"><h2>Model accuracy</h2>',
        "<p>Balanced accuracy of each model over the whole split, with a block-bootstrap "
        "95 % CI.</p>",
        _missing_note(_notes_under(run, "models/")),
        _table(
            _ACCURACY_HEADINGS,
            ([_e(c) for c in row] for row in _accuracy_rows(run)),
            ("", "num", "num", "num", "num", ""),
        ),
        "</section>",
    ]
    parts += [
        '<section id="metrics"><h2>Metrics</h2>',
        "<p>Scores over the explained stamps with 95 % bootstrap confidence intervals in "
        "brackets; the numbers of <code>summary.md</code> and the <code>results/</code> files. "
        "Italic rows are the random-attribution controls.</p>",
        _missing_note(_notes_under(run, "results/")),
        _html_summary_table(rows),
        "<h3>Stamps and timing per unit</h3>",
        _table(
            _UNIT_HEADINGS,
            ([_e(c) for c in row] for row in _unit_rows(run)),
            ("", "", "num", "num", "num"),
        ),
        "</section>",
        '<section id="figures"><h2>Figures</h2>',
    ]
    for key, title, uri in figures:
        parts.append(
            f'<figure id="figure-{key}"><img src="{uri}" alt="{_e(title)}">'
            f"<figcaption><strong>{_e(title)}.</strong> {_e(_FIGURE_CAPTIONS[key])}"
            "</figcaption></figure>"
        )
    parts.append("</section>")
    parts += _html_gallery(run, gallery)
    parts += _html_run_details(run)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    parts.append(
        f"<footer>Generated by spikeattr {_e(__version__)} on {_e(now)} from "
        f"<code>{_e(run.path)}</code>. Self-contained: no external resources.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def build_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> ReportResult:
    """Write the HTML report of ``run_dir`` and its tables as Markdown, atomically.

    Args:
        run_dir: a results directory of ``spikeattr evaluate``.
        out: the HTML file; default ``RUN_DIR/report.html``. The Markdown goes beside it with
            the suffix ``.md`` (``report.md``).
        progress: called as ``progress(done, total)`` after each gallery figure.

    Raises:
        ReportError: ``run_dir`` is not an evaluation run, or ``out`` cannot be written.
    """
    run = read_run(run_dir)
    target = Path(out) if out is not None else run.path / "report.html"
    if target.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"{target}: the report is an HTML file; use a .html suffix")
    notes: list[str] = []
    time_axis = _time_axis(run, notes)
    gallery = _gallery(run, time_axis, progress)
    figures = _metric_figures(run)
    page = render_html(run, figures, gallery, notes)
    markdown = render_markdown(run, notes)
    markdown_path = target.with_suffix(".md")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        with atomic_path(markdown_path) as tmp:
            tmp.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc}") from exc
    count = len(figures) + sum(len(r.cells) for rows in gallery.values() for r in rows)
    return ReportResult(target, markdown_path, list(run.missing), notes, count)
