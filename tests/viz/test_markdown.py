"""The Markdown outputs (summary.md, report.md's tables) show hostile names as text: rendered
with raw HTML allowed, as a permissive viewer would, they hold no tag, link, code span or extra
table cell that the name brought."""

from __future__ import annotations

import re

from spikeattr._markdown import markdown_table, markdown_text
from spikeattr.evaluate.results import SUMMARY_COLUMNS
from spikeattr.pipelines.evaluation import summary_markdown

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


def test_summary_md_escapes_model_and_method_names() -> None:
    row = {"model": HOSTILE_MODEL, "method": HOSTILE_METHOD, "missing": "continuity"}
    row.update({"ess_original": 0.25, "ess_original_ci": (0.2, 0.3)})
    markdown = summary_markdown([row])
    assert "<img" not in markdown and "<script" not in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    parsed = render_markdown(markdown)
    assert set(parsed.tags) <= TABLE_TAGS | {"p"}, parsed.tags
    header, body = parsed.rows
    assert len(header) == len(body) == 2 + len(SUMMARY_COLUMNS)
    assert body[:3] == [HOSTILE_MODEL, HOSTILE_METHOD.replace("\n", " "), "0.250 [0.200, 0.300]"]
    # the line on missing results names the unit as text as well
    assert re.search(r"Missing results .*: runs/&lt;img", markdown)
