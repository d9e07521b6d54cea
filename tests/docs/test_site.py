"""The documentation site's sources: every page in the navigation exists (or is generated),
the generated references cover the command line and every public module, nothing is fetched
from the network, and the README links to every page.

The strict build itself (``mkdocs build --strict``: broken links and cross-references,
docstrings that do not render) runs in CI (``.ci/run``); it takes longer than a unit test."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import typer
import yaml

from spikeattr.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generated_pages", DOCS / "hooks" / "generated_pages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    return _hook()


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _nav_files(entries: list[Any]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += _nav_files(value) if isinstance(value, list) else [value]
    return found


def test_every_page_of_the_navigation_exists_or_is_generated(
    config: dict[str, Any], hook: ModuleType
) -> None:
    generated = set(hook.generated_pages())
    pages = _nav_files(config["nav"])
    assert {"index.md", "tutorial.md", "cli.md", "api/explain.md"} <= set(pages)
    missing = [p for p in pages if not (DOCS / p).is_file() and p not in generated]
    assert missing == []
    # no page written by hand is left out of the navigation
    written = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert written - set(pages) == set()
    assert generated <= set(pages)


def test_the_site_loads_nothing_from_the_network(config: dict[str, Any]) -> None:
    assert config["theme"]["font"] is False  # Material would load Google fonts
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in config["plugins"]]
    assert plugins == ["search", "mkdocstrings"]  # no social cards, no remote inventories
    assert "inventories" not in str(config["plugins"])
    assert config["strict"] is True


def test_the_cli_reference_has_every_command(hook: ModuleType) -> None:
    text = hook.cli_markdown()
    command = typer.main.get_command(app)
    context = command.context_class(command, info_name="spikeattr")
    names = command.list_commands(context)  # type: ignore[attr-defined]
    assert {"explain", "evaluate", "plot", "data"} <= set(names)
    for name in names:
        assert f"## `spikeattr {name}`" in text
    assert "### `spikeattr plot explanation`" in text
    assert "* `--dpi <int>`: Resolution of a PNG (dots per inch).  [default: 150]" in text


def test_the_api_reference_has_every_public_module(hook: ModuleType) -> None:
    explain = hook.public_modules("explain")
    assert explain[0] == "spikeattr.explain"
    assert {
        "spikeattr.explain.display",
        "spikeattr.explain.tsa",
        "spikeattr.explain.adapters",
    } <= set(explain)
    assert not [m for m in explain if "._" in m]
    page = hook.api_page("explain")
    assert "::: spikeattr.explain.files" in page
    # a package shows only what it defines; the adapters package defines adapt()
    assert 'members: ["adapt"]' in page
    every = {m for stage in hook.API_STAGES for m in hook.public_modules(stage)}
    source = {
        "spikeattr." + ".".join(p.relative_to(ROOT / "src" / "spikeattr").with_suffix("").parts)
        for p in (ROOT / "src" / "spikeattr").rglob("*.py")
        if not any(part.startswith("_") for part in p.relative_to(ROOT / "src" / "spikeattr").parts)
    }
    single = set(hook.SINGLE_MODULES.values())
    cli = {m for m in source if m.startswith("spikeattr.cli")}  # the CLI reference's
    assert source - every - single - cli == set(), "a module outside every API page"


def test_the_tutorial_page_is_the_notebook_without_outputs(hook: ModuleType) -> None:
    text = hook.tutorial_markdown()
    assert text.count("```python") >= 10
    assert "](tutorial.ipynb)" in text and "](tutorial_figure.png)" in text
    assert "result.plot(window, stamp=STAMP, series=test)" in text


def test_the_readme_links_to_pages_that_exist() -> None:
    """The short README points at the site's pages (docs/*.md): every link resolves, and the
    README links every page a reader would look for."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\((docs/[\w/.-]+)\)", text))
    assert [link for link in links if not (ROOT / link).is_file()] == []
    pages = {p.relative_to(ROOT).as_posix() for p in DOCS.glob("*.md")}
    assert pages - links == {"docs/index.md"}, "a page the README does not link"  # the home


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_roles_become_optional_cross_references() -> None:
    roles = _load("sphinx_roles")
    module = SimpleNamespace(path="spikeattr.explain.tsa")
    cls = SimpleNamespace(path="spikeattr.explain.tsa.Attribution", is_class=True, module=module)
    method = SimpleNamespace(
        path="spikeattr.explain.tsa.Attribution.plot", is_class=False, parent=cls, module=module
    )
    text = (
        "see :class:`~spikeattr.explain.files.Explanations`, :meth:`plot`, :func:`record_network`,"
        " :meth:`Title <spikeattr.x.Y.z>`, :class:`matplotlib.figure.Figure` and :func:`f()`"
    )
    assert roles.rewrite(text, method) == (
        'see <autoref identifier="spikeattr.explain.files.Explanations" optional>'
        "<code>Explanations</code></autoref>, "
        '<autoref identifier="spikeattr.explain.tsa.Attribution.plot" optional>'
        "<code>plot</code></autoref>, "
        '<autoref identifier="spikeattr.explain.tsa.record_network" optional>'
        "<code>record_network</code></autoref>, "
        '<autoref identifier="spikeattr.x.Y.z" optional><code>Title</code></autoref>, '
        "<code>matplotlib.figure.Figure</code> and "
        '<autoref identifier="spikeattr.explain.tsa.f" optional><code>f()</code></autoref>'
    )


def test_no_sphinx_role_is_split_across_lines() -> None:
    """A role broken by a line break is not a role: the site would show it as text."""
    split = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`[^`\n]*\n")
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0).strip()}"
        for path in (ROOT / "src" / "spikeattr").rglob("*.py")
        for m in split.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
