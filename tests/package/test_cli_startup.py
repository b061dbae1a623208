"""`cnn-course --version` and every command's `--help` answer at once: reading the arguments imports nothing heavy."""

import subprocess
import sys

import pytest

from cnn_course.commands.arguments import build_parser

from .conftest import REPO

HEAVY_MODULES = ("tensorflow", "keras", "jupytext", "nbformat", "matplotlib", "PIL", "flask")

# Runs the command as its console script does, then prints which heavy modules it imported.
PROBE = f"""
import sys
from cnn_course.commands.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("imported:", ",".join(name for name in {HEAVY_MODULES!r} if name in sys.modules), file=sys.stderr)
"""


def subcommands() -> list[str]:
    actions = [action for action in build_parser()._actions if action.dest == "command"]
    return sorted(actions[0].choices)


ARGUMENTS = [["--version"], ["--help"]] + [[command, "--help"] for command in subcommands()]


@pytest.mark.parametrize("args", ARGUMENTS, ids=" ".join)
def test_version_and_help_import_nothing_heavy(args):
    command = [sys.executable, "-c", PROBE, *args]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "usage: cnn-course" in completed.stdout or completed.stdout.startswith("cnn-course "), completed.stdout
    imported = completed.stderr.strip().splitlines()[-1]
    heavy = imported.removeprefix("imported:").strip()
    assert not heavy, f"cnn-course {' '.join(args)} imported {heavy} before reading its arguments"
