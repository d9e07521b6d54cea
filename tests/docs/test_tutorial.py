"""The tutorial notebook: committed without outputs, and it runs top to bottom (CI executes it
and fails on the first failing cell)."""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
CELL_TIMEOUT = 300  # seconds per cell


def test_the_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 10
    assert [cell.outputs for cell in code] == [[]] * len(code)
    assert [cell.execution_count for cell in code] == [None] * len(code)
    tagged = [c for c in code if "explanation-figure" in c.metadata.get("tags", [])]
    assert len(tagged) == 1  # the cell whose figure docs/tutorial_figure.png shows


def _kernel(folder: Path) -> KernelManager:
    """A kernel of this very Python (not whatever ``python`` is first on ``PATH``)."""
    spec = folder / "kernels" / "spikeattr-tutorial"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    body = {"argv": argv, "display_name": "spikeattr tutorial", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(body), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name="spikeattr-tutorial", kernel_spec_manager=specs)


@pytest.mark.slow
def test_the_tutorial_runs_top_to_bottom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        km=_kernel(tmp_path),
        resources={"metadata": {"path": str(tmp_path)}},  # it writes tutorial-run/ there
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on the first failure
    seconds = time.perf_counter() - start
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    with capsys.disabled():
        print(f"\nnotebook docs/tutorial.ipynb: {len(code)} cells executed in {seconds:.0f} s")
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # the explanation figure is shown inline and saved; the evaluation wrote its report
    figure_cell = next(c for c in code if "explanation-figure" in c.metadata.get("tags", []))
    shown = [o for o in figure_cell.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 1
    png = base64.b64decode(shown[0]["data"]["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    run = tmp_path / "tutorial-run"
    assert (run / "explanation.png").is_file()
    assert (run / "evaluation" / "report.html").is_file()
    # the results display themselves: a summary above a preview, not a bare repr
    html = [
        o["data"]["text/html"] for c in code for o in c.outputs if "text/html" in o.get("data", {})
    ]
    assert any("Attribution (ns) of 1 window" in h and "image/png;base64" in h for h in html)
    assert any("EvaluationRun" in h for h in html)
    assert np.isfinite(seconds)
