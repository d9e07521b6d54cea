"""The layers of the package: data -> snn -> explain / evaluate -> viz -> pipelines -> cli.

A module may import its own package and the packages of lower layers, never a higher one; the
file policy (``_io``), errors and configuration sit below everything. Checked on the syntax
tree of every module, imports inside functions included.
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


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "spikeattr"]


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
        for line, name in _imports(path):
            target = name.split(".")[1] if "." in name else ""
            if not target or target == layer or target not in RANKS:
                continue
            if RANKS[target] > RANKS[layer] or target in SIDE_BY_SIDE.get(layer, set()):
                violations.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
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
