"""The layers of the package: data -> snn -> explain / evaluate -> viz -> pipelines -> cli.

A module may import its own package and the packages of lower layers, never a higher one; the
file policy (``_io``), errors and configuration sit below everything. Checked on the syntax
tree of every module, imports inside functions included, in every form: ``from spikeattr import
viz`` and relative imports resolve to the module they name.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spikeattr"

#: Rank of each top-level module or package; an import must not go to a higher rank.
RANKS: dict[str, int] = {
    "errors": 0,
    "_io": 0,
    "config": 0,
    "_markdown": 0,
    "data": 1,
    "snn": 2,
    "runs": 3,
    "explain": 3,
    "evaluate": 3,
    "viz": 4,
    "pipelines": 5,
    "cli": 6,
}
#: ``explain`` and ``evaluate`` sit side by side: neither imports the other's layer above it,
#: and neither imports the run-directory package.
SIDE_BY_SIDE = {"explain": {"runs"}, "evaluate": {"runs"}, "runs": {"explain", "evaluate"}}


def _imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of ``spikeattr`` in ``source``, a module of the
    package ``package`` (dotted). ``from M import a`` gives ``M.a`` (``a`` may be a module:
    ``from spikeattr import viz`` is ``spikeattr.viz``); relative imports are resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")
                anchor = ".".join(parents[: len(parents) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return sorted((line, name) for line, name in found if name.split(".")[0] == "spikeattr")


def _imports(path: Path) -> list[tuple[int, str]]:
    """The imports of ``spikeattr`` in the module at ``path`` (see :func:`_imports_of`)."""
    # spikeattr/evaluate/metric.py and spikeattr/evaluate/__init__.py: package spikeattr.evaluate
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _violations(layer: str, imports: list[tuple[int, str]]) -> list[str]:
    """The imports of a module of the top-level ``layer`` that go to a higher layer."""
    found = []
    for line, name in imports:
        target = name.split(".")[1] if "." in name else ""
        if not target or target == layer or target not in RANKS:
            continue
        if RANKS[target] > RANKS[layer] or target in SIDE_BY_SIDE.get(layer, set()):
            found.append(f"{line} imports {name}")
    return found


def test_the_import_parser_resolves_every_form() -> None:
    source = (
        "import numpy\n"
        "import spikeattr.viz.figures\n"
        "from spikeattr import viz, errors as e\n"
        "from spikeattr.cli.app import main\n"
        "from . import segments\n"
        "from .metric import Metric\n"
        "from ..pipelines import run\n"
        "from numpy import array\n"
        "def late():\n"
        "    from .. import cli\n"
    )
    assert _imports_of(source, "spikeattr.evaluate") == [
        (2, "spikeattr.viz.figures"),
        (3, "spikeattr.errors"),
        (3, "spikeattr.viz"),
        (4, "spikeattr.cli.app.main"),
        (5, "spikeattr.evaluate.segments"),
        (6, "spikeattr.evaluate.metric.Metric"),
        (7, "spikeattr.pipelines.run"),
        (10, "spikeattr.cli"),
    ]


def test_the_layer_check_catches_every_form_of_a_higher_import() -> None:
    for source in (
        "from spikeattr import viz\n",
        "import spikeattr.viz\n",
        "from spikeattr.viz import figures\n",
        "from ..viz import figures\n",
        "from .. import viz\n",
        "from ... import viz\n",  # from a subpackage of evaluate
    ):
        package = "spikeattr.evaluate.sub" if "..." in source else "spikeattr.evaluate"
        assert _violations("evaluate", _imports_of(source, package)), source
    assert _violations(
        "evaluate", _imports_of("from spikeattr import runs\n", "spikeattr.evaluate")
    )
    assert (
        _violations("viz", _imports_of("from spikeattr import evaluate, errors\n", "spikeattr.viz"))
        == []
    )
    assert (
        _violations("evaluate", _imports_of("from . import segments\n", "spikeattr.evaluate")) == []
    )


def test_every_module_has_a_layer() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops -= {"__init__", "__main__", "py", "__pycache__"}
    tops = {t for t in tops if not t.endswith((".typed", ".egg-info"))}
    assert tops <= set(RANKS), tops - set(RANKS)


def test_no_module_imports_a_higher_layer() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        layer = parts[0]
        if layer == "__init__":
            continue
        violations += [
            f"{path.relative_to(PACKAGE)}:{found}" for found in _violations(layer, _imports(path))
        ]
    assert violations == []


def test_the_lower_layers_never_import_pipelines_viz_or_cli() -> None:
    """The issue's own wording, kept as its own check."""
    for layer in ("data", "snn", "explain", "evaluate"):
        for path in (PACKAGE / layer).rglob("*.py"):
            for line, name in _imports(path):
                assert name.split(".")[1:2] not in (["pipelines"], ["viz"], ["cli"]), (
                    f"{path}:{line} imports {name}"
                )


#: No source file over this many lines: a longer one does several jobs (STYLE.md).
MAX_LINES = 600


def test_no_source_file_does_several_jobs() -> None:
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
