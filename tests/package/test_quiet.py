"""Quiet start-up: TensorFlow's and absl's banner lines are dropped, real warnings and errors are kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnn_course import quiet

from .conftest import REPO

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795947717.409384    6860 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results.",
    "I0000 00:00:1795947717.409933    6860 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "E0000 00:00:1795947721.152356    6860 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.",
]
KEPT = [
    "E0000 00:00:1795947721.152356    6860 op_kernel.cc:1830] OP_REQUIRES failed at conv_ops.cc:1104 : "
    "RESOURCE_EXHAUSTED: OOM",
    "<stdin>:3: UserWarning: a real warning",
    "WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.",
]


@pytest.mark.parametrize("line", NOISE)
def test_start_up_lines_are_noise(line):
    assert quiet.is_startup_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_real_errors_and_warnings_are_not_noise(line):
    assert not quiet.is_startup_noise(line)


def test_filtered_stderr_drops_the_noise_written_to_the_file_descriptor_and_keeps_the_rest():
    script = (
        "import os, sys\n"
        "from cnn_course import quiet\n"
        "with quiet.filtered_stderr():\n"
        f"    os.write(2, {chr(10).join(NOISE + KEPT) + chr(10)!r}.encode())\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert completed.stderr.splitlines() == KEPT


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", quiet.VERBOSE_ENV_VAR)
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300, env={**environment, **env}
    )


def test_importing_cnn_course_first_silences_tensorflow_and_keeps_python_warnings():
    completed = run_python(
        "import cnn_course, keras, warnings\nkeras.ops.sum(keras.ops.ones(3))\nwarnings.warn('a real warning')"
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.splitlines() == ["<string>:3: UserWarning: a real warning"]


def test_the_verbose_switch_brings_the_logs_back():
    completed = run_python("import cnn_course, keras\nkeras.ops.sum(keras.ops.ones(3))", CNN_COURSE_VERBOSE="1")
    assert completed.returncode == 0, completed.stderr
    assert any(quiet.is_startup_noise(line) for line in completed.stderr.splitlines())
