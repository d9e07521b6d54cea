"""MkDocs hook: the pages generated at build time (nothing generated is committed).

* ``cli.md``: the command-line reference, generated from the typer app itself by typer's own
  Markdown generator (``typer.cli.get_docs_for_click``, what ``typer spikeattr.cli utils docs``
  prints): every command's help, usage, arguments and options, so the reference cannot drift
  from ``spikeattr --help``.
* ``api/<stage>.md``: one page per stage of the package (``data``, ``snn``, ``explain``, ...)
  with a mkdocstrings block (``::: module``) for every public module found in the source tree,
  so a new module is documented, and its docstrings checked by the strict build, without
  anyone editing a page.
* ``tutorial.md``: ``docs/tutorial.ipynb`` as Markdown, **not executed** (the notebook is
  committed without outputs; the test suite executes it), with a link to download it and the
  screenshot of the figure its tagged cell draws.

Registered in ``mkdocs.yml`` under ``hooks:``; the functions are plain, so tests call them too.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
PACKAGE = ROOT / "src" / "spikeattr"

#: The API pages: stage -> (title, what the stage holds). Modules are found in the source.
API_STAGES: dict[str, tuple[str, str]] = {
    "data": ("spikeattr.data", "Spike series, the synthetic generator, the ADL reader, stamps."),
    "snn": ("spikeattr.snn", "LIF dynamics, the network, training, tuning, checkpoints."),
    "explain": (
        "spikeattr.explain",
        "TSA and SAM, window and series modes, the explanation file, gradient baselines, "
        "Kim & Panda's SAM, the snnTorch and Norse adapters, the display registry.",
    ),
    "evaluate": ("spikeattr.evaluate", "Segments, the metrics of both protocols, controls."),
    "viz": ("spikeattr.viz", "Figures, one-call plotting of results, the report."),
    "runs": ("spikeattr.runs", "Training and tuning runs on disk: state, studies, manifests."),
    "pipelines": ("spikeattr.pipelines", "End-to-end runs the command line calls."),
}

#: Modules of their own, outside the stages: page -> module.
SINGLE_MODULES: dict[str, str] = {
    "api/config.md": "spikeattr.config",
    "api/errors.md": "spikeattr.errors",
}

TUTORIAL_FIGURE_TAG = "explanation-figure"


def public_modules(stage: str) -> list[str]:
    """Dotted names of the stage package and its public modules (no ``_`` prefix), in
    source order: the package first, then its modules and subpackages by name."""
    folder = PACKAGE / stage
    names = [f"spikeattr.{stage}"]
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        parts = list(relative.parts)
        if any(part.startswith("_") for part in parts):
            continue
        names.append("spikeattr." + ".".join(parts))
    for init in sorted(folder.rglob("__init__.py")):
        package = init.parent.relative_to(PACKAGE).parts
        if init.parent != folder and not any(p.startswith("_") for p in package):
            names.append("spikeattr." + ".".join(package))
    return sorted(set(names), key=lambda n: (n != f"spikeattr.{stage}", n))


def api_page(stage: str) -> str:
    """The Markdown of one stage's API page."""
    title, summary = API_STAGES[stage]
    blocks = [f"# {title}", "", summary, ""]
    for module in public_modules(stage):
        options = ["    options:", "      show_submodules: false"]
        init = PACKAGE / Path(*module.split(".")[1:]) / "__init__.py"
        if init.is_file():
            # a package shows only what it defines itself: the names it re-exports have their
            # module's block, and one object documented twice would have two addresses
            own = defined_names(init)
            options.append(f"      members: {json.dumps(own) if own else 'false'}")
        blocks += [f"::: {module}", *options, ""]
    return "\n".join(blocks)


def defined_names(path: Path) -> list[str]:
    """The public functions and classes a module defines itself (not the names it imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [n.name for n in tree.body if isinstance(n, kinds) and not n.name.startswith("_")]


def cli_markdown() -> str:
    """The command-line reference of every command of ``spikeattr``: typer's own Markdown
    generator (``typer spikeattr.cli utils docs``) run on the app, below a short introduction."""
    import typer
    from typer.cli import get_docs_for_click

    from spikeattr.cli import app

    command = typer.main.get_command(app)
    context = command.context_class(command, info_name="spikeattr")
    body = get_docs_for_click(obj=command, ctx=context, name="spikeattr", title="Command line")
    title, rest = body.split("\n", 1)
    intro = (
        "Generated from the command line itself at every build of this site: it is what "
        "`spikeattr COMMAND --help` prints. Commands that print results accept `--json`; long "
        "runs show a progress bar that `--quiet` silences. User errors exit with status 2 and a "
        "message naming the file, field or value and what was expected. Models are named "
        "`published:synthetic_1L` ... `published:adl_3L` (`spikeattr model list`), or given as "
        "a checkpoint `.json` path."
    )
    return f"{title}\n\n{intro}\n{rest}"


def tutorial_markdown(notebook: Path = DOCS / "tutorial.ipynb") -> str:
    """The notebook's cells as Markdown (code in fenced blocks), without running it."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    blocks = [
        '!!! info "This page is a notebook"',
        f"    It is [`{notebook.name}`]({notebook.name}) (download it and run it with "
        "`jupyter lab tutorial.ipynb`), shown here without its outputs; it runs top to "
        "bottom in about a minute on a CPU, and the test suite runs it on every change.",
        "",
    ]
    for cell in cells:
        source = "".join(cell["source"]).strip("\n")
        if cell["cell_type"] == "markdown":
            blocks.extend([source, ""])
        elif cell["cell_type"] == "code":
            blocks.extend(["```python", source, "```", ""])
            if TUTORIAL_FIGURE_TAG in cell.get("metadata", {}).get("tags", []):
                blocks.extend(
                    [
                        "The figure this cell draws:",
                        "",
                        "![The explanation figure of the tutorial: TSA-NS attribution of the "
                        "predicted class over the input spikes](tutorial_figure.png)",
                        "",
                    ]
                )
    return "\n".join(blocks)


def generated_pages() -> dict[str, str]:
    """Every generated page: path relative to ``docs/`` -> Markdown."""
    pages = {"cli.md": cli_markdown(), "tutorial.md": tutorial_markdown()}
    pages.update({f"api/{stage}.md": api_page(stage) for stage in API_STAGES})
    pages.update({page: f"# {name}\n\n::: {name}\n" for page, name in SINGLE_MODULES.items()})
    return pages


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add the generated pages to the site's files."""
    from mkdocs.structure.files import File

    for path, content in generated_pages().items():
        files.append(File.generated(config, path, content=content))
    return files
