"""The documentation site builds in strict mode with no warning, as a test: a broken link or
cross-reference, or a docstring griffe cannot parse (``a, b: ...`` as one entry), fails the test
command on every machine, not only the CI step of the machine that has the right versions
installed (constraints.txt pins them).

The build is MkDocs's own, run as ``mkdocs build --strict`` would be (about 10-20 s)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_in_strict_mode_without_a_warning(tmp_path: Path) -> None:
    site = tmp_path / "site"
    # NO_MKDOCS_2_WARNING: Material's notice about MkDocs 2.0, not a warning about this site
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    problems = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    if done.returncode != 0:
        problems.append(f"(mkdocs exited {done.returncode})")
    assert not problems, f"mkdocs build --strict: {len(problems)} problems\n" + "\n".join(
        problems if len(problems) > 1 else output.splitlines()[-20:]
    )
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {"index.html", "cli.html", "tutorial.html", "api/explain.html"} <= pages
