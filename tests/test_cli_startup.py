"""The command line starts fast: importing it, and printing any command's help, loads neither
torch nor matplotlib (nor NumPy); the commands import what they need when they run.

Checked in a fresh interpreter: the test session itself has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "matplotlib", "numpy", "scipy", "numba")

PROBE = """
import json, sys
import typer
from typer.testing import CliRunner
import spikeattr.cli
after_import = sorted(m for m in {heavy} if m in sys.modules)
from spikeattr.cli import app
def paths(command, path=()):
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {{}}).items()):
        found += paths(sub, (*path, name))
    return found
runner = CliRunner()
codes = [runner.invoke(app, [*p, "--help"]).exit_code for p in paths(typer.main.get_command(app))]
after_help = sorted(m for m in {heavy} if m in sys.modules)
print(json.dumps({{"import": after_import, "help": after_help, "codes": codes}}))
"""


def test_the_command_line_imports_no_heavy_module_for_help() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY))],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["import"] == [], "import spikeattr.cli loads " + ", ".join(seen["import"])
    assert len(seen["codes"]) > 20 and set(seen["codes"]) == {0}
    assert seen["help"] == [], "spikeattr ... --help loads " + ", ".join(seen["help"])
