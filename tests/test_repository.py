"""The repository is self-contained: no test, script or CI step reads a file it does not carry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The developers' reference folder beside the checkout, spelt so that this file does not match.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|\bshared/(reference|data)\b")


def _tracked(*folders: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *folders], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed]


def test_nothing_refers_to_the_folder_beside_the_checkout() -> None:
    files = _tracked("src", "tests", ".ci", "benchmarks", "pyproject.toml")
    assert len(files) > 50
    hits = []
    for path in files:
        if path.suffix in {".npz", ".png", ".gif"} or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().decode("utf-8", "replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


def test_the_raw_adl_files_are_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/uci_adl/*"' in pyproject
    shipped = {p.name for p in (ROOT / "src" / "spikeattr" / "data" / "uci_adl").iterdir()}
    needed = {"ATTRIBUTION.md", "LICENSE-CC-BY-4.0.txt", "SHA256SUMS", "OrdonezB_Sensors.txt"}
    assert needed <= shipped
