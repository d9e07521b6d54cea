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


def _module_name(relative: str) -> tuple[str, str]:
    """``(module, package)`` of the file ``relative`` to ``src/spikeattr``, both dotted:
    ``explain/tsa.py`` is ``spikeattr.explain.tsa`` of ``spikeattr.explain``, and
    ``explain/__init__.py`` is ``spikeattr.explain`` of itself."""
    parts = ["spikeattr", *Path(relative).with_suffix("").parts]
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), ".".join(parts[:-1])
    return ".".join(parts), ".".join(parts[:-1])


def _import_graph(sources: dict[str, str]) -> dict[str, dict[str, list[int]]]:
    """module -> {module it imports: [lines]} for ``sources`` (file relative to
    ``src/spikeattr`` -> its text); an imported name resolves to the longest dotted prefix that
    is one of the modules (``spikeattr.explain.tsa.TSA`` is ``spikeattr.explain.tsa``,
    ``spikeattr.explain.TSA`` the package ``spikeattr.explain``)."""
    named = {relative: _module_name(relative) for relative in sources}
    modules = {module for module, _ in named.values()}
    graph: dict[str, dict[str, list[int]]] = {module: {} for module in modules}
    for relative, (module, package) in named.items():
        for line, name in _imports_of(sources[relative], package):
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            target = ".".join(parts)
            if target and target != module:
                graph[module].setdefault(target, []).append(line)
    return graph


def _strongly_connected(graph: dict[str, dict[str, list[int]]]) -> list[list[str]]:
    """The groups of two or more modules that reach each other through imports (Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return sorted(groups)


def _import_cycles(sources: dict[str, str]) -> list[str]:
    """One message per group of modules that import each other: a shortest cycle through its
    first module, then every import inside the group with its line."""
    graph = _import_graph(sources)
    messages = []
    for group in _strongly_connected(graph):
        start = group[0]
        paths = {start: [start]}
        queue = [start]
        cycle: list[str] = []
        while queue and not cycle:
            module = queue.pop(0)
            for target in sorted(graph[module]):
                if target == start:
                    cycle = [*paths[module], start]
                    break
                if target in group and target not in paths:
                    paths[target] = [*paths[module], target]
                    queue.append(target)
        edges = [
            f"    {module}:{line} imports {target}"
            for module in group
            for target in sorted(graph[module])
            if target in group
            for line in sorted(set(graph[module][target]))
        ]
        messages.append("\n".join([" -> ".join(cycle), *edges]))
    return messages


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


def test_the_cycle_check_catches_two_and_three_module_cycles() -> None:
    two = {
        "explain/__init__.py": "from spikeattr.explain.a import A\n",
        "explain/a.py": "def late():\n    from spikeattr.explain import b\n",
        "explain/b.py": "from .a import A\n",
    }
    assert _import_cycles(two) == [
        "spikeattr.explain.a -> spikeattr.explain.b -> spikeattr.explain.a\n"
        "    spikeattr.explain.a:2 imports spikeattr.explain.b\n"
        "    spikeattr.explain.b:1 imports spikeattr.explain.a"
    ]
    three = {
        "viz/a.py": "import spikeattr.viz.b\n",
        "viz/b.py": "from spikeattr.viz.c import figure\n",
        "viz/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import R\n",
        "viz/d.py": "from spikeattr.viz import a\n",
    }
    (found,) = _import_cycles(three)
    assert found.splitlines()[0] == (
        "spikeattr.viz.a -> spikeattr.viz.b -> spikeattr.viz.c -> spikeattr.viz.a"
    )
    # a package importing its modules, and modules importing it only through their own paths
    package = {
        "viz/__init__.py": "from spikeattr.viz.a import A\nfrom spikeattr.viz.b import B\n",
        "viz/a.py": "from spikeattr.errors import E\n",
        "viz/b.py": "from spikeattr.viz.a import A\nimport spikeattr\n",
        "errors.py": "",
        "__init__.py": "from spikeattr.errors import E\n",
    }
    assert _import_cycles(package) == []
    # ... but a module taking its package's own names imports the package, which imports it
    package["viz/b.py"] = "from spikeattr.viz import A\n"
    assert _import_cycles(package) == [
        "spikeattr.viz -> spikeattr.viz.b -> spikeattr.viz\n"
        "    spikeattr.viz:2 imports spikeattr.viz.b\n"
        "    spikeattr.viz.b:1 imports spikeattr.viz"
    ]


def test_no_two_modules_import_each_other() -> None:
    """No module reaches itself through imports: not two modules importing each other, nor a
    longer cycle.

    Every ``spikeattr`` import counts, wherever it stands: at module level, inside a function
    (a lazy import hides a cycle, it does not break it) and under ``TYPE_CHECKING``. An import
    names the module it resolves to (the longest dotted prefix that is a module:
    ``from spikeattr.explain.tsa import TSA`` and ``from spikeattr.explain import tsa`` name
    ``spikeattr.explain.tsa``; ``from spikeattr.explain import TSA`` names the package
    ``spikeattr.explain``, its ``__init__``). Importing a module also runs its packages'
    ``__init__``; that is not counted, so a package may re-export its modules as long as they
    import each other by their own paths, never through the package's names.
    """
    sources = {
        path.relative_to(PACKAGE).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    cycles = _import_cycles(sources)
    assert cycles == [], "modules that import each other:\n" + "\n".join(cycles)
