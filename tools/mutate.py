"""Mutation testing of the core modules: break one point of the code at a time, run the tests
that cover that module, and report which mutants the tests kill.

Run from the root of a *separate git worktree* (the tool rewrites source files while it runs;
each file is restored byte for byte, with its modification time, whatever happens)::

    git worktree add --detach ../spikeattr-mut HEAD && cd ../spikeattr-mut
    PYTHONPATH=src OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python tools/mutate.py --max-mutants 10 --seed 29 --out mutation

It parses each target module with ``ast`` and makes single-point mutants with a small set of
operators: comparison swaps (``<``/``<=``, ``>``/``>=``, ``==``/``!=``, ``is``/``is not``,
``in``/``not in``), arithmetic swaps (``+``/``-``, ``*``/``/``, also in ``+=`` and friends),
numeric constants (``0`` <-> ``1``, otherwise ``c`` -> ``c + 1``), ``and``/``or``,
``not x`` -> ``x``, ``-x`` -> ``x``, ``True``/``False``, ``return x`` -> ``return None``, and a
conditional expression replaced by either of its branches. Docstrings, strings, f-strings,
type annotations, decorators, ``raise`` and ``assert`` statements and calls to ``warnings.warn``
or a logger are left alone. A mutant replaces the source text of one node at its exact offsets,
so the rest of the file is byte-identical (and line numbers do not move).

Each mutant runs the test files mapped to its module (``TESTS``) with ``pytest -x`` and a
timeout (three times the clean run, at least 60 s): a failing run kills the mutant, a run past
the timeout counts as "timed out" (killed by the timeout), a passing run is a survivor.
Mutants listed in ``EQUIVALENT`` (they cannot change any result; each with its reason) are not
run and are reported as equivalent. Numba: the kernels are compiled with ``cache=True``; the
mutated module's cache files are saved before and restored after each run, with the file's
modification time, so a mutant never leaves compiled code behind (no kernel module calls
another module's kernel inside compiled code, so no other cache can hold the mutated code).

``--list`` prints the (sampled) mutants without running them; ``--only ID ...`` runs just the
mutants with these ids (``module:line:column:operator``, as printed); ``--max-mutants N`` samples N
mutants per module with a random generator seeded with ``--seed`` and the module's path, so the
sample is the same on every run. ``--out PATH`` writes ``PATH.json`` and ``PATH.md`` (a table
per module: killed, survived, equivalent, timed out; and every survivor with its line).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import pathlib
import random
import re
import subprocess
import sys
import time

root = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = "src/spikeattr"

_SNN = "tests/snn"
_EXPLAIN = "tests/explain"
_EVALUATE = "tests/evaluate"
_GAPS_SNN = f"{_SNN}/test_snn_mutation_gaps.py"
_GAPS_EXPLAIN = f"{_EXPLAIN}/test_explain_mutation_gaps.py"
_GAPS_EVALUATE = f"{_EVALUATE}/test_evaluate_mutation_gaps.py"
_METRICS = [
    f"{_EVALUATE}/test_metrics.py",
    f"{_EVALUATE}/test_comparable_metrics.py",
    _GAPS_EVALUATE,
]
# The exact attribution: its own tests, then the snnTorch and Norse adapters' (reset modes,
# lag, biases, subtractive resets, `absorbed`, `scores_after_reset`), then the gap tests.
_EXACT = [
    f"{_EXPLAIN}/test_exact.py",
    f"{_EXPLAIN}/test_literal_exact.py",
    f"{_EXPLAIN}/test_exact_snntorch.py",
    f"{_EXPLAIN}/test_exact_norse.py",
    _GAPS_EXPLAIN,
    f"{_EXPLAIN}/test_exact_mutation_gaps.py",
]
_GAPS_RANDOMISATION = f"{_EVALUATE}/test_randomisation_mutation_gaps.py"
_BENCHMARK = [
    "tests/data/test_benchmark_tasks.py",
    "tests/snn/test_published_benchmark.py",
    "tests/data/test_benchmark_mutation_gaps.py",
]

# Module (under src/spikeattr) -> the test files run on each of its mutants, most specific
# first (pytest -x stops at the first failure); the module's own doctests run last.
TESTS: dict[str, list[str]] = {
    "snn/lif.py": [f"{_SNN}/test_lif.py", f"{_SNN}/test_fused.py", _GAPS_SNN],
    "snn/kernels.py": [
        f"{_SNN}/test_lif.py",
        f"{_SNN}/test_fused.py",
        f"{_SNN}/test_network.py",
        _GAPS_SNN,
    ],
    "snn/fused.py": [f"{_SNN}/test_fused.py", _GAPS_SNN],
    "snn/stepper.py": [f"{_SNN}/test_stepper.py", _GAPS_SNN],
    "snn/network.py": [
        f"{_SNN}/test_network.py",
        f"{_SNN}/test_lif.py",
        f"{_SNN}/test_stepper.py",
        f"{_SNN}/test_fused.py",
        _GAPS_SNN,
    ],
    "explain/tsa.py": [f"{_EXPLAIN}/test_tsa.py", f"{_EXPLAIN}/test_tsa_maps.py", _GAPS_EXPLAIN],
    "explain/tsa_maps.py": [
        f"{_EXPLAIN}/test_tsa_maps.py",
        f"{_EXPLAIN}/test_tsa.py",
        _GAPS_EXPLAIN,
    ],
    "explain/online.py": [
        f"{_EXPLAIN}/test_online.py",
        f"{_EXPLAIN}/test_stream_records.py",
        f"{_EXPLAIN}/test_online_adapters.py",
        _GAPS_EXPLAIN,
    ],
    "explain/online_kernels.py": [
        f"{_EXPLAIN}/test_online.py",
        f"{_EXPLAIN}/test_stream_records.py",
        _GAPS_EXPLAIN,
    ],
    "explain/series.py": [
        f"{_EXPLAIN}/test_series_mode.py",
        f"{_EXPLAIN}/test_stamps.py",
        _GAPS_EXPLAIN,
    ],
    "explain/linear_maps.py": [f"{_EXPLAIN}/test_tsa_maps.py", _GAPS_EXPLAIN],
    "explain/kim_panda_sam.py": [f"{_EXPLAIN}/test_kim_panda_sam.py", _GAPS_EXPLAIN],
    "explain/gradients.py": [f"{_EXPLAIN}/test_gradients.py", _GAPS_EXPLAIN],
    "explain/exact.py": _EXACT,
    "explain/exact_kernels.py": _EXACT,
    "explain/exact_attribution.py": _EXACT,
    "explain/exact_series.py": [
        f"{_EXPLAIN}/test_exact_series.py",
        f"{_EXPLAIN}/test_exact_online.py",
        f"{_EXPLAIN}/test_exact_window_state.py",
        f"{_EXPLAIN}/test_exact_online_mutation_gaps.py",
    ],
    "explain/exact_online.py": [
        f"{_EXPLAIN}/test_exact_online.py",
        f"{_EXPLAIN}/test_exact_online_mutation_gaps.py",
    ],
    "evaluate/localisation.py": [f"{_EVALUATE}/test_localisation.py", _GAPS_EVALUATE],
    "evaluate/deletion.py": _METRICS,
    "evaluate/paired.py": [
        *_METRICS,
        f"{_EVALUATE}/test_bootstrap.py",
        f"{_EVALUATE}/test_multiple_comparisons.py",
        f"{_EVALUATE}/test_paired_mutation_gaps.py",
    ],
    "evaluate/metric.py": [*_METRICS, f"{_EVALUATE}/test_localisation.py"],
    "evaluate/controls.py": _METRICS,
    "evaluate/randomisation.py": [
        f"{_EVALUATE}/test_randomisation_shape.py",
        *_METRICS,
        _GAPS_RANDOMISATION,
    ],
    "evaluate/completeness.py": _METRICS,
    "evaluate/correctness.py": [*_METRICS, f"{_EVALUATE}/test_results.py"],
    "evaluate/sensitivity.py": _METRICS,
    "data/benchmark/assemble.py": _BENCHMARK,
    "data/benchmark/conjunction.py": _BENCHMARK,
    "data/benchmark/delayed_motif.py": _BENCHMARK,
    "data/benchmark/rare_channel.py": _BENCHMARK,
    "data/benchmark/registry.py": _BENCHMARK,
    "data/benchmark/synthetic_pairs.py": _BENCHMARK,
}

# Mutant id -> why it cannot change any result. Not run; reported as equivalent.
# The ids carry line numbers: an edit above a listed line moves its id (the mutant is then run).
EQUIVALENT: dict[str, str] = {
    "explain/series.py:142:78:const:0->1": "completed_chunks starts at 0 but every path sets it "
    "(first missing chunk) before series.json is written or returned",
    "explain/linear_maps.py:301:67:const:True->False": "zip(strict=True) guards six tuples that "
    "have two entries each by construction (1-D ops are padded to 2-D): strict never fires",
    "explain/kim_panda_sam.py:89:28:ifexp:body": "spike_activation_map: neuron_contribution casts "
    "integer spikes to float32 itself, and float32 times 0/1 integers is the same float32",
    "explain/gradients.py:136:51:unary:drop--": "log_softmax over dim 1 of membrane[:, -1], "
    "a 2-D [N, C] tensor: dim 1 is dim -1",
    "explain/exact_kernels.py:292:31:const:1->0": "the placeholder for `full` on the low-rank "
    "path is never read: the kernel only needs a 4-D float64 array of any shape",
    "evaluate/correctness.py:81:80:const:True->False": "per_stamp_rows has one row per entry of "
    "data.original (the zip that builds it is strict), so this strict never fires",
    "evaluate/metric.py:189:42:const:1->0": "draws are drawn only when rows > 1, where "
    "max(rows, 1) and max(rows, 0) are both rows",
    "data/benchmark/synthetic_pairs.py:51:59:const:0->1": "n_train only sets the base series' "
    "train/test split, which task_series replaces by the 60/20/20 splits; spikes and labels do "
    "not depend on it",
    "snn/network.py:280:85:unary:drop--": "predict_last's softmax over dim 1 of the 2-D "
    "[N, C] membrane[:, -1]: dim 1 is dim -1",
    "explain/tsa.py:78:44:cmp0:<-><=": "the condition starts with spikes.ndim != 3, so "
    "ndim < 3 and ndim <= 3 never differ where it is read",
    "explain/tsa_maps.py:94:33:unary:drop--": "argmax over dim 1 of the 2-D [B, C] probs: dim 1 "
    "is dim -1",
    "explain/series.py:158:15:cmp0:>=->>": "resuming a complete run: the first missing chunk "
    "is at most n_chunks, and at n_chunks the mutant reloads the last chunk's carry, rewrites "
    "the same series.json and has no chunk left to compute: the same files and result",
    "explain/exact_kernels.py:296:53:const:1->0": "the placeholder for `top` on the full path "
    "is never read: the kernel reads it only on the low-rank path",
    "evaluate/paired.py:68:7:cmp0:>->>=": "with one row every resample is that row, so the "
    "interval is [difference, difference] either way",
    "evaluate/paired.py:111:67:const:True->False": "rank: ranks come from rankdata over the "
    "same names, one per name, so strict never fires",
    "evaluate/sensitivity.py:86:15:ifexp:body": "np.median of an empty array is already NaN "
    "(with a RuntimeWarning), the value the else branch returns",
    "data/benchmark/delayed_motif.py:103:52:const:True->False": "onsets and classes are "
    "appended together, one class per onset, so strict never fires",
    "data/benchmark/synthetic_pairs.py:35:34:const:1->0": "pair_evidence: column 0 is the "
    "bias, 1 at every step of the series it is called with, so it never adds a change of run",
    "explain/gradients.py:138:47:unary:drop--": "softmax over dim 1 of the 2-D [N, C] "
    "membrane[:, -1]: dim 1 is dim -1",
    "explain/exact_attribution.py:173:37:unary:drop--": "argmax over dim 1 of the 2-D [B, C] "
    "probs: dim 1 is dim -1",
    "explain/exact_series.py:57:30:const:2->3": "a third row of the part states is never "
    "read: advance writes and reads parts 0 and 1 only",
    "evaluate/paired.py:43:23:const:0->1": "with one non-zero difference the exact two-sided "
    "Wilcoxon p is 1, the value the early return gives",
    "explain/exact.py:423:49:const:0->1": "the placeholder sensitivity is never read: one layer "
    "replaces it at once, and the layer under the output layer reads (kernel, top) instead",
    "explain/exact.py:452:80:const:True->False": "parts, membranes and factors have one entry "
    "per part of the rule (1 for z, 2 for alpha_beta) by construction: strict never fires",
    "explain/exact_kernels.py:296:32:const:1->0": "the placeholder for `kernel` on the full "
    "path is never read: the kernel reads it only on the low-rank path",
    "explain/exact_kernels.py:296:38:const:1->0": "the placeholder for `kernel` on the full "
    "path is never read: the kernel reads it only on the low-rank path",
    "explain/exact_kernels.py:296:56:const:1->0": "the placeholder for `top` on the full path "
    "is never read: the kernel reads it only on the low-rank path",
    "explain/exact_kernels.py:161:51:const:1.0->0.0": "_hidden_kernel: scale is read only on "
    "the low-rank path (scale * kernel), so its full-path value is never used",
    "explain/exact_kernels.py:124:17:const:0.0->1.0": "_adjoint_kernel: cut_next starts True, "
    "so the first step sets lm = weights + 0.0 and lm's initial value is never read",
    "explain/exact_kernels.py:162:21:const:0.0->1.0": "_hidden_kernel: cut_next starts True, "
    "so the first step sets lm = share + 0.0 and lm's initial value is never read",
    "explain/exact_kernels.py:164:27:const:True->False": "_hidden_kernel: lm starts at 0.0, so "
    "at the first step share + d * lm is share + 0.0 either way",
    "evaluate/randomisation.py:82:35:const:0->1": "shape_correlation: a.size < 2 is read "
    "first, so a has two entries or more, and all of them equal a[0] exactly when all equal a[1]",
    "evaluate/randomisation.py:97:35:const:0->1": "rank_correlation: a.size < 2 is read first, "
    "so a has two entries or more, and all of them equal a[0] exactly when all equal a[1]",
    "evaluate/randomisation.py:97:56:const:0->1": "rank_correlation: b is masked by the same "
    "cells as a, so it has a's two or more entries: all equal b[0] exactly when all equal b[1]",
    "evaluate/randomisation.py:97:28:cmp0:==->!=": "rank_correlation: a constant a then goes "
    "on to spearmanr, whose rho of a constant input is NaN, the value the early return gives",
    "evaluate/randomisation.py:97:49:cmp0:==->!=": "rank_correlation: a constant b then goes "
    "on to spearmanr, whose rho of a constant input is NaN, the value the early return gives",
}

_COMPARE_SWAP = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
}
_BINOP_SWAP = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.Div: ("/", "*"),
}
_LOG_NAMES = {"log", "logger", "logging", "_log", "_logger", "LOG", "LOGGER", "warnings"}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One single-point change: replace ``source[start:end]`` (bytes) by ``new``."""

    module: str
    line: int
    col: int
    operator: str
    start: int
    end: int
    old: str
    new: str

    @property
    def id(self) -> str:
        return f"{self.module}:{self.line}:{self.col}:{self.operator}"

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.new.encode() + source[self.end :]


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    for i, byte in enumerate(source):
        if byte == 0x0A:
            starts.append(i + 1)
    return starts


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes whose subtrees are never mutated."""
    skip: set[int] = set()

    def drop(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            drop(body[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                drop(decorator)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            drop(node.returns)
            every = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            every += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
            for arg in every:
                drop(arg.annotation)
        if isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        if isinstance(node, ast.Raise | ast.Assert | ast.JoinedStr):
            drop(node)
        if isinstance(node, ast.Call):
            func = node.func
            owner = func.value if isinstance(func, ast.Attribute) else None
            if (isinstance(owner, ast.Name) and owner.id in _LOG_NAMES) or (
                isinstance(func, ast.Name) and func.id == "print"
            ):
                drop(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            drop(node)
    return skip


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def mutants_of(module: str, source: bytes) -> list[Mutant]:
    """Every single-point mutant of ``source`` (the file ``src/spikeattr/<module>``)."""
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    starts = _line_starts(source)
    found: list[Mutant] = []

    def offset(line: int, col: int) -> int:
        return starts[line - 1] + col

    def span(node: ast.AST) -> tuple[int, int]:
        return (
            offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def add(node: ast.AST, operator: str, start: int, end: int, new: str) -> None:
        old = source[start:end].decode()
        lost = old.count("\n") - new.count("\n")
        if lost > 0:  # keep the line count, so line numbers do not move
            new = "(" + new + "\n" * lost + ")"
        if old != new:
            found.append(
                Mutant(module, node.lineno, node.col_offset, operator, start, end, old, new)  # type: ignore[attr-defined]
            )

    def between(node: ast.AST, left: ast.AST, right: ast.AST, old: str, new: str, name: str):
        """The operator ``old`` written between ``left`` and ``right``, replaced by ``new``."""
        lo, hi = span(left)[1], span(right)[0]
        gap = source[lo:hi].decode()
        pattern = r"\s+".join(re.escape(w) for w in old.split())
        if old.isalpha() or " " in old:
            pattern = rf"(?<![\w]){pattern}(?![\w])"
        else:
            pattern = rf"(?<![<>=!*/+\-]){pattern}(?![<>=*/])"
        match = re.search(pattern, gap)
        if match is None:
            return
        add(node, name.replace(" ", "_"), lo + match.start(), lo + match.end(), new)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE_SWAP:
                    old, new = _COMPARE_SWAP[type(op)]
                    between(node, operands[i], operands[i + 1], old, new, f"cmp{i}:{old}->{new}")
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
            if _is_text(node.left) or _is_text(node.right):
                continue
            old, new = _BINOP_SWAP[type(node.op)]
            between(node, node.left, node.right, old, new, f"binop:{old}->{new}")
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAP:
            if _is_text(node.value):
                continue
            old, new = _BINOP_SWAP[type(node.op)]
            between(node, node.target, node.value, old + "=", new + "=", f"aug:{old}=->{new}=")
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            # Only the first operator: ``a and b and c`` -> ``a or b and c``.
            between(node, node.values[0], node.values[1], old, new, f"bool:{old}->{new}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            start, _ = span(node)
            operand_start = span(node.operand)[0]
            text = source[start:operand_start].decode()
            word = "not" if isinstance(node.op, ast.Not) else "-"
            if text.startswith(word):
                end = start + len(word)
                while end < operand_start and source[end : end + 1] in (b" ", b"\t"):
                    end += 1
                add(node, f"unary:drop-{word}", start, end, "")
        elif isinstance(node, ast.Constant):
            value = node.value
            start, end = span(node)
            if isinstance(value, bool):
                add(node, f"const:{value}->{not value}", start, end, str(not value))
            elif isinstance(value, int | float) and source[start:end].decode().isascii():
                if value == 0:
                    new_value: int | float = type(value)(1)
                elif value == 1:
                    new_value = type(value)(0)
                else:
                    new_value = value + 1
                add(node, f"const:{value!r}->{new_value!r}", start, end, repr(new_value))
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            start, end = span(value)
            add(node, "return:None", start, end, "None")
        elif isinstance(node, ast.IfExp):
            start, end = span(node)
            for branch, name in ((node.body, "ifexp:body"), (node.orelse, "ifexp:orelse")):
                b_start, b_end = span(branch)
                add(node, name, start, end, "(" + source[b_start:b_end].decode() + ")")

    checked = []
    original = ast.dump(tree)
    for mutant in sorted(found, key=lambda m: (m.start, m.operator)):
        try:
            mutated = ast.parse(mutant.apply(source))
        except SyntaxError:
            continue
        if ast.dump(mutated) != original:
            checked.append(mutant)
    return checked


def sample(module: str, mutants: list[Mutant], limit: int | None, seed: int) -> list[Mutant]:
    """``limit`` mutants drawn deterministically from ``seed`` and the module, in file order."""
    if limit is None or len(mutants) <= limit:
        return mutants
    rng = random.Random(f"{seed}:{module}")
    return sorted(rng.sample(mutants, limit), key=lambda m: (m.start, m.operator))


def _source_line(source: bytes, line: int) -> str:
    return source.splitlines()[line - 1].decode().strip()


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def _pytest(tests: list[str], timeout: float) -> tuple[str, float, str]:
    """Run the tests; ``("passed" | "failed" | "timeout", seconds, last line)``."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    began = time.perf_counter()
    try:
        run = subprocess.run(
            command, cwd=root, env=_environment(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - began, ""
    lines = (run.stdout.strip() or run.stderr.strip()).splitlines()
    status = "passed" if run.returncode == 0 else "failed"
    return status, time.perf_counter() - began, lines[-1] if lines else ""


class _Restore:
    """Writes a mutant into a module; restores the source, its mtime and its numba caches."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.source = path.read_bytes()
        self.stat = path.stat()
        self.cache_dir = path.parent / "__pycache__"

    def _caches(self) -> dict[pathlib.Path, bytes]:
        if not self.cache_dir.is_dir():
            return {}
        stem = self.path.stem + "."
        return {
            p: p.read_bytes()
            for p in self.cache_dir.iterdir()
            if p.name.startswith(stem) and p.suffix in (".nbi", ".nbc")
        }

    def __enter__(self) -> _Restore:
        self.saved = self._caches()
        return self

    def write(self, content: bytes) -> None:
        self.path.write_bytes(content)

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.source)
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))
        for p in self._caches():
            if p not in self.saved:
                p.unlink()
        for p, content in self.saved.items():
            p.write_bytes(content)


def run(args: argparse.Namespace) -> dict[str, object]:
    modules = args.modules or list(TESTS)
    unknown = [m for m in modules if m not in TESTS]
    if unknown:
        raise SystemExit(f"unknown modules {unknown}; known: {list(TESTS)}")
    began = time.perf_counter()
    report: dict[str, object] = {"seed": args.seed, "max_mutants": args.max_mutants, "modules": {}}
    per_module: dict[str, object] = report["modules"]  # type: ignore[assignment]
    for module in modules:
        path = root / PACKAGE / module
        source = path.read_bytes()
        every = mutants_of(module, source)
        chosen = sample(module, every, args.max_mutants, args.seed)
        if args.only:
            chosen = [m for m in every if m.id in args.only]
            if not chosen:
                continue
        if args.list:
            print(f"# {module}: {len(chosen)} of {len(every)} mutants")
            for m in chosen:
                print(f"{m.id}  {m.old!r} -> {m.new!r}  | {_source_line(source, m.line)}")
            continue
        # the mapped test files that exist, and the module's doctests
        tests = [t for t in TESTS[module] if (root / t).exists()] + [f"{PACKAGE}/{module}"]
        clean, clean_s, last = _pytest(tests, timeout=1800)
        if clean != "passed":
            raise SystemExit(f"{module}: the tests fail without a mutant: {last}")
        timeout = max(60.0, 3 * clean_s)
        print(f"# {module}: {len(chosen)} of {len(every)} mutants; clean run {clean_s:.0f} s")
        results = []
        for m in chosen:
            if m.id in EQUIVALENT:
                status, seconds, last = "equivalent", 0.0, EQUIVALENT[m.id]
            else:
                with _Restore(path) as restore:
                    restore.write(m.apply(source))
                    outcome, seconds, last = _pytest(tests, timeout)
                status = {"failed": "killed", "passed": "survived", "timeout": "timeout"}[outcome]
            mutated_line = _source_line(m.apply(source), m.line)
            results.append(
                {
                    "id": m.id,
                    "status": status,
                    "line": m.line,
                    "operator": m.operator,
                    "original": _source_line(source, m.line),
                    "mutated": mutated_line,
                    "seconds": round(seconds, 1),
                    "detail": last,
                }
            )
            print(f"{status:10} {seconds:5.0f} s  {m.id}  | {mutated_line}", flush=True)
        per_module[module] = {
            "mutants": len(every),
            "sampled": len(chosen),
            "clean_seconds": round(clean_s, 1),
            "tests": tests,
            "results": results,
        }
        if args.out:
            _write(args.out, report, time.perf_counter() - began)
    report["seconds"] = round(time.perf_counter() - began, 1)
    return report


def _totals(results: list[dict[str, object]]) -> dict[str, int]:
    counts = dict.fromkeys(("killed", "survived", "equivalent", "timeout"), 0)
    for r in results:
        counts[str(r["status"])] += 1
    return counts


def markdown(report: dict[str, object]) -> str:
    """The summary: one row per module, then every survivor."""
    modules: dict[str, dict[str, object]] = report["modules"]  # type: ignore[assignment]
    lines = [
        "| module | mutants | sampled | killed | survived | equivalent | timed out |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = dict.fromkeys(("mutants", "sampled", "killed", "survived", "equivalent", "timeout"), 0)
    survivors = []
    for module, entry in modules.items():
        results: list[dict[str, object]] = entry["results"]  # type: ignore[assignment]
        counts = _totals(results)
        row = {"mutants": entry["mutants"], "sampled": entry["sampled"], **counts}
        for key in total:
            total[key] += int(row[key])  # type: ignore[call-overload]
        lines.append(
            f"| `{module}` | "
            + " | ".join(str(row[k]) for k in ("mutants", "sampled"))
            + f" | {counts['killed']} | {counts['survived']} | {counts['equivalent']}"
            f" | {counts['timeout']} |"
        )
        survivors += [(module, r) for r in results if r["status"] == "survived"]
    lines.append(
        "| **all** | "
        + " | ".join(
            str(total[k])
            for k in ("mutants", "sampled", "killed", "survived", "equivalent", "timeout")
        )
        + " |"
    )
    killed = total["killed"] + total["timeout"]
    relevant = killed + total["survived"]
    if relevant:
        lines += ["", f"Killed {killed} of {relevant} non-equivalent mutants "]
        lines[-1] += f"({100 * killed / relevant:.1f} %)."
    if "seconds" in report:
        lines.append(f"Ran {float(report['seconds']) / 60:.0f} minutes.")  # type: ignore[arg-type]
    if survivors:
        lines += ["", "Survivors:", ""]
        for module, r in survivors:
            lines.append(
                f"- `{module}:{r['line']}` ({r['operator']}): `{r['original']}` -> `{r['mutated']}`"
            )
    return "\n".join(lines) + "\n"


def _write(out: str, report: dict[str, object], seconds: float) -> None:
    report = {**report, "seconds": round(seconds, 1)}
    pathlib.Path(out + ".json").write_text(json.dumps(report, indent=1) + "\n")
    pathlib.Path(out + ".md").write_text(markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--modules", nargs="*", help="modules under src/spikeattr (default: all)")
    parser.add_argument("--max-mutants", type=int, default=None, help="sample N per module")
    parser.add_argument("--seed", type=int, default=29, help="seed of the sample")
    parser.add_argument("--jobs", type=int, default=1, choices=[1], help="one run at a time")
    parser.add_argument("--only", nargs="*", help="run just these mutant ids (as printed)")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--out", help="write OUT.json and OUT.md")
    args = parser.parse_args(argv)
    report = run(args)
    if args.list:
        return 0
    if args.out:
        _write(args.out, report, float(report["seconds"]))  # type: ignore[arg-type]
    print(markdown(report))
    modules: dict[str, dict[str, object]] = report["modules"]  # type: ignore[assignment]
    survived = sum(
        _totals(entry["results"])["survived"]  # type: ignore[arg-type]
        for entry in modules.values()
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
