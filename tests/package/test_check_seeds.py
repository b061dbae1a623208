"""The checks' arguments are drawn from one seed per run: another seed draws others, the same seed repeats them, and the
run records its seed where learners and instructors read it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnn_course.checks import draws
from cnn_course.checks.layers_math import _conv_output_cases, _param_cases

from .conftest import REPO, SOLUTIONS, run_graders


@pytest.fixture
def restored_seed():
    before = draws.run_seed()
    yield
    draws.set_run_seed(before)


def test_a_seed_repeats_its_arguments_and_another_seed_draws_others(restored_seed):
    drawn = {}
    for seed in (5, 6, 5):
        draws.set_run_seed(seed)
        drawn.setdefault(seed, []).append(
            (
                _conv_output_cases(draws.generator("conv_output_size")),
                _param_cases(draws.generator("conv2d_param_count")),
            )
        )
    assert drawn[5][0] == drawn[5][1]
    assert drawn[5][0][0] != drawn[6][0][0] and drawn[5][0][1] != drawn[6][0][1]


def test_exercises_draw_apart(restored_seed):
    draws.set_run_seed(5)
    assert draws.generator("one_hot").integers(2**31) != draws.generator("scale_images").integers(2**31)


@pytest.mark.parametrize("text", ["-1", "seven", str(2**32)])
def test_a_seed_that_is_not_one_is_refused_with_what_is_accepted(text):
    with pytest.raises(ValueError, match="a check seed is a whole number from 0 to 4294967295"):
        draws.parse_seed(text)


def test_the_run_names_its_seed_in_the_scoreboard_and_the_batch_log(tmp_path):
    log = tmp_path / "results.jsonl"
    run = run_graders(
        SOLUTIONS,
        "-k",
        "conv_output_size",
        "--check-seed",
        "77",
        "-p",
        "cnn_course.batch.collect",
        "--results-log",
        str(log),
    )
    assert "check seed: 77 (--check-seed 77 repeats the arguments the checks drew)" in run.output, run.output
    collected = json.loads(json.loads(log.read_text().splitlines()[0])["record"])
    assert collected["event"] == "collected" and collected["check_seed"] == 77


def test_a_bad_check_seed_is_a_usage_error():
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/graders/test_02_mnist_cnn.py",
        "--co",
        "-q",
        "-p",
        "no:cacheprovider",
        "--check-seed",
        "x",
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert (
        completed.returncode == 4
        and "--check-seed or $CNN_COURSE_CHECK_SEED: a check seed is a whole number" in completed.stderr
    )
