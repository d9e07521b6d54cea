"""Markdown outputs show hostile names as text: rendered with raw HTML allowed, as a permissive
viewer would, they hold no tag, link, code span or extra table cell that the name brought."""

from __future__ import annotations

import re

from spikeattr._markdown import markdown_table, markdown_text
from spikeattr.evaluate.summary import summary_markdown

from .checks import TABLE_TAGS, render_markdown

#: A checkpoint name and a data path as someone else might choose them.
HOSTILE_MODEL = "runs/<img src=x onerror=alert(1)>|[x](javascript:alert(1))`code`.json"
HOSTILE_METHOD = "s<script>alert(1)</script>\n# heading & &lt;b&gt;"


def test_a_hostile_name_renders_as_its_own_text() -> None:
    for name in (HOSTILE_MODEL, HOSTILE_METHOD, "a\\|b", "&amp;", "<https://example.org>"):
        parsed = render_markdown(markdown_table(("name", "n"), [(name, "1")]))
        assert set(parsed.tags) == TABLE_TAGS, parsed.tags  # no img, script, a, code, h1
        expected = name.replace("\n", " ")
        assert parsed.rows == [["name", "n"], [expected, "1"]]
    assert "<" not in markdown_text(HOSTILE_MODEL) and "\n" not in markdown_text(HOSTILE_METHOD)


def _row(protocol: str, metric: str, score: str, variant: str = "method") -> dict[str, object]:
    """A row of :func:`spikeattr.evaluate.summary.score_rows` for the hostile names."""
    return {
        "model": HOSTILE_MODEL,
        "method": HOSTILE_METHOD,
        "variant": variant,
        "metric": metric,
        "protocol": protocol,
        "score": score,
        "heading": score,
        "higher_is_better": False,
        "headline": True,
        "value": 0.25,
        "ci_low": 0.2,
        "ci_high": 0.3,
        "n": 3,
    }


def test_summary_md_escapes_model_and_method_names() -> None:
    rows = [
        _row("comparable", "deletion", "del_50"),
        _row("comparable", "deletion", "del_50", "permuted"),
        _row("paper", "correctness", "ess_original"),
    ]
    ranking = [
        {
            "method": HOSTILE_METHOD,
            "mean_rank": 1.0,
            "deletion.del_50": {"value": 0.25, "rank": 1.0},
        }
    ]
    pair = {
        "first": HOSTILE_METHOD,
        "second": "ns",
        "metric": "deletion",
        "score": "del_50",
        "difference": -0.1,
        "ci_low": -0.2,
        "ci_high": -0.05,
        "p_value": 0.01,
        "p_holm": 0.03,
        "better": "first",
        "significant": True,
    }
    comparisons = {HOSTILE_MODEL: {"ranking": ranking, "pairs": [pair]}}
    markdown = summary_markdown(rows, comparisons, [f"{HOSTILE_MODEL}: 3 stamps"])
    assert "<img" not in markdown and "<script" not in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    parsed = render_markdown(markdown)
    assert set(parsed.tags) <= TABLE_TAGS | {"p", "h1", "h2", "h3", "ul", "li"}, parsed.tags
    method = HOSTILE_METHOD.replace("\n", " ")
    cells = [row for row in parsed.rows if row and row[0] == HOSTILE_MODEL]
    assert cells == [
        [HOSTILE_MODEL, method, "0.250 [0.200, 0.300]"],
        [HOSTILE_MODEL, f"{method} (permuted control)", "0.250 [0.200, 0.300]"],
        [HOSTILE_MODEL, method, "0.250 [0.200, 0.300]"],
    ]
    assert ["1", method, "1.00", "0.250 (#1)"] in parsed.rows  # the ranking
    assert [method, "ns", "deletion.del_50", "-0.100 [-0.200, -0.050]", "0.01", "0.03", method] in (
        parsed.rows
    )  # the significant pair, the better method named as text
    # the headings of the ranking and of the notes name the model as text as well
    assert re.search(r"### Ranking of the methods: runs/&lt;img", markdown)
    assert re.search(r"^- runs/&lt;img", markdown, re.M)
