"""The documentation site's sources: every page in the navigation exists (or is generated),
the generated references cover the command line and every public module, nothing is fetched
from the network, the README links to every page, and every link between pages (and from the
README) reaches a file and, with ``#anchor``, a heading of that page.

The strict build itself (``mkdocs build --strict``: broken links and cross-references,
docstrings that do not render) is tests/docs/test_build.py."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import markdown
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
    assert "* `--dpi INTEGER`: Resolution of a PNG (dots per inch).  [default: 150]" in text


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


def test_the_readme_links_to_pages_that_exist(config: dict[str, Any]) -> None:
    """The short README points at the site's pages (docs/*.md): every relative link resolves
    (its ``#anchor`` too), and the README links every page a reader would look for."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = _relative_links(text)
    assert targets, "no relative link found in the README"
    broken = []
    for target in sorted(set(targets)):
        path, _, anchor = target.partition("#")
        file = ROOT / path if path else ROOT / "README.md"
        if not file.is_file():
            broken.append(f"README.md -> {target}: no such file")
        elif anchor and file.suffix == ".md":
            anchors = _anchors(file.read_text(encoding="utf-8"), config)
            if anchor not in anchors:
                broken.append(
                    f"README.md -> {target}: no heading #{anchor} in {path or 'README.md'}"
                )
    assert broken == [], "\n".join(broken)
    links = {t.partition("#")[0] for t in targets if t.startswith("docs/")}
    pages = {p.relative_to(ROOT).as_posix() for p in DOCS.glob("*.md")}
    assert pages - links == {"docs/index.md"}, "a page the README does not link"  # the home


# --- Links and their anchors ----------------------------------------------------------------
# A link's ``#anchor`` must be the id of a heading on the page it names. The ids come from
# Python-Markdown's toc extension with the extensions of mkdocs.yml, as the site makes them
# (lower case, characters other than letters, digits, "_", "-" and spaces dropped, spaces to
# "-"; an ``{#id}`` of attr_list wins). Bold text is not a heading and gets no id.

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`\n]*`", re.DOTALL | re.M)
_EXCLUDED = {"hooks", "tools", "tutorial-run"}  # exclude_docs of mkdocs.yml


def _relative_links(text: str) -> list[str]:
    """The targets of the page's Markdown links and images that point into the repository (not
    a URL, not mail), outside code blocks and code spans."""
    found = _LINK.findall(_CODE.sub("", text))
    return [t for t in found if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def _anchors(text: str, config: dict[str, Any]) -> set[str]:
    """The ids a Markdown page's elements get on the site (its headings' slugs)."""
    names: list[str] = ["toc", "tables", "fenced_code"]  # mkdocs's own, then mkdocs.yml's
    settings: dict[str, Any] = {}
    for entry in config["markdown_extensions"]:
        name = entry if isinstance(entry, str) else next(iter(entry))
        names.append(name)
        if isinstance(entry, dict) and entry[name]:
            settings[name] = entry[name]
    html = markdown.Markdown(extensions=names, extension_configs=settings).convert(text)
    return set(re.findall(r'\bid="([^"]+)"', html))


def _api_anchor_exists(page: str, anchor: str) -> bool:
    """An API page's anchors are the dotted paths of the objects it documents (mkdocstrings):
    a module of the page, or an object inside one."""
    modules = re.findall(r"^::: (\S+)", page, re.M)
    for module in modules:
        if anchor == module:
            return True
        if anchor.startswith(module + "."):
            obj: Any = importlib.import_module(module)
            for name in anchor[len(module) + 1 :].split("."):
                if not hasattr(obj, name):
                    break
                obj = getattr(obj, name)
            else:
                return True
    return False


def test_the_anchor_of_a_link_is_a_heading_of_its_page(config: dict[str, Any]) -> None:
    """The rule the link check applies: a heading has an id, bold text has none (docs/data.md
    once linked conv.md#event-data, where "Event data" was bold text: a warning of the strict
    build on every machine, and a link that went to the top of the page)."""
    anchors = _anchors("# Convolutional networks (event cameras, audio)\n\n## Event data\n", config)
    assert anchors == {"convolutional-networks-event-cameras-audio", "event-data"}
    assert "event-data" not in _anchors("**Event data.** `spikeattr data events` ...", config)
    assert _anchors("## What a run `spikeattr train` keeps {#kept}\n", config) == {"kept"}
    text = "see [x](conv.md#event-data), ![f](f.png), `[y](no.md)`, [web](https://a.b/c#d)\n"
    assert _relative_links(text + "```\n[z](no.md)\n```\n") == ["conv.md#event-data", "f.png"]
    api = "# spikeattr.errors\n\n::: spikeattr.errors\n"
    assert _api_anchor_exists(api, "spikeattr.errors.SpikeAttrError")
    assert not _api_anchor_exists(api, "spikeattr.errors.NoSuchError")


def test_every_link_between_pages_reaches_a_file_and_its_anchor(
    config: dict[str, Any], hook: ModuleType
) -> None:
    """Every relative link of every page (written or generated) names a file of the site, and
    its ``#anchor`` a heading of that page."""
    pages = {
        p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8")
        for p in DOCS.rglob("*.md")
        if p.relative_to(DOCS).parts[0] not in _EXCLUDED
    }
    pages.update(hook.generated_pages())
    checked, broken = 0, []
    for name, text in sorted(pages.items()):
        for target in _relative_links(text):
            checked += 1
            path, _, anchor = target.partition("#")
            where = (DOCS / name).parent.joinpath(path).resolve() if path else DOCS / name
            if not where.is_relative_to(DOCS.resolve()):
                broken.append(f"{name} -> {target}: outside the site (docs/)")
                continue
            resolved = where.relative_to(DOCS.resolve()).as_posix()
            if resolved not in pages and not (DOCS / resolved).is_file():
                broken.append(f"{name} -> {target}: no such page or file")
            elif anchor and resolved in pages:
                page = pages[resolved]
                found = (
                    _api_anchor_exists(page, anchor)
                    if resolved.startswith("api/") and resolved != "api/index.md"
                    else anchor in _anchors(page, config)
                )
                if not found:
                    broken.append(f"{name} -> {target}: no heading #{anchor} in {resolved}")
    assert checked > 30
    assert broken == [], "\n".join(broken)


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
