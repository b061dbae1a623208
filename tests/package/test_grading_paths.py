"""A run grades the same however pytest is pointed at the graders: by their folder, a parent folder, or no path.

The checks that hand files to an exercise (images, a folder of classes, a saved model) write them where the learner
process can read them, also inside bubblewrap, whose /tmp is not the grader's. A run started as `pytest tests` names
no graders folder, yet grades: its files must go to the same place.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO, SOLUTIONS

FILE_CHECKS = "image_shape or load_image_folder or load_image_prepares or test_create_app"


@pytest.mark.parametrize("paths", [["tests"], ["tests/graders"], ["."]], ids=["parent", "graders", "root"])
def test_checks_that_write_files_pass_on_the_masters(paths, tmp_path):
    command = [sys.executable, "-m", "pytest", *paths, "--target", str(SOLUTIONS), "-k", FILE_CHECKS]
    command += ["-p", "no:cacheprovider", f"--junitxml={tmp_path / 'junit.xml'}", "-q"]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "4 passed" in output, output
