"""Learner code that exits, hangs, kills, floods, tampers or forges: every exercise still gets a verdict.

Each kind of abuse is written into an exercise cell of a copy of the masters, and the graders run
on that copy as a learner runs them (a pytest subprocess). The learner process takes the abuse;
the grading process reports it in one paragraph, with no grader source and no package traceback.
"""

from __future__ import annotations

import pytest

from .conftest import patched_masters, run_graders
from .test_grader_outcomes import snapshot

# (lesson, exact text in the master, replacement)
ABUSE = [
    # Exits of every kind, from inside an exercise.
    ("01_mnist_data", "    return np.bincount(labels, minlength=num_classes)", "    import os\n    os._exit(0)"),
    ("01_mnist_data", '    return images.astype("float32") / 255.0', "    import sys\n    sys.exit()"),
    # An interrupt, and a loop that swallows the timer's interrupts.
    (
        "01_mnist_data",
        "    return keras.utils.to_categorical(labels, num_classes=num_classes)",
        "    raise KeyboardInterrupt",
    ),
    (
        "01_mnist_data",
        "    return np.expand_dims(images, axis=-1)",
        "    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n"
        "            pass",
    ),
    # A signal, and a memory blow-up.
    (
        "02_mnist_cnn",
        "    return (kernel_size * kernel_size * in_channels + 1) * filters",
        "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)",
    ),
    (
        "06_cifar10_evaluation",
        "    indices = np.argsort(probabilities)[::-1][:k]",
        "    hog = np.ones((2**40,), np.uint8)\n    indices = np.argsort(probabilities)[::-1][:k]",
    ),
    # 10 MB of output, then an error.
    (
        "06_cifar10_evaluation",
        "    np.fill_diagonal(mistakes, 0)\n",
        "    print('x' * 10_000_000)\n    raise ValueError('after printing')\n",
    ),
    # Tampering with the grader's libraries in the learner process, then a wrong answer.
    (
        "04_cifar10_data",
        "    mean, std = channel_mean_std(x_train)\n    return tuple(((x - mean) / std)",
        "    import numpy, cnn_course.checks.colour as colour\n"
        "    numpy.allclose = lambda *a, **k: True\n    numpy.array_equal = lambda *a, **k: True\n"
        "    colour.check_standardize_splits = lambda f: None\n"
        "    return tuple(((x - x.mean()) / 1.0)",
    ),
    # Files: delete and write in the working folder, and forge a reply on the grader's pipe.
    (
        "02_mnist_cnn",
        '    if padding == "same":\n        return math.ceil(input_size / stride)',
        "    import os, pathlib\n    for p in pathlib.Path('.').glob('*'):\n        p.unlink()\n"
        "    pathlib.Path('forged.txt').write_text('passed')\n"
        '    if padding == "same":\n        return math.ceil(input_size / stride)',
    ),
]

# Cell-level abuse: an exercise cell whose definition itself exits.
CELL_ABUSE = [
    ("05_cifar10_cnn", "def build_augmentation(", "exit()\n\n\ndef build_augmentation("),
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    target = patched_masters(tmp_path_factory.mktemp("hostile") / "lessons", ABUSE + CELL_ABUSE)
    before = snapshot(target)
    run = run_graders(target, "-k", "not saved", "--exercise-timeout", "5", timeout=900)
    return run, before, snapshot(target)


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("test_count_per_class", "ended its process (exit status 0)"),
        ("test_scale_images", "called sys.exit() or exit()"),
        ("test_one_hot", "raised KeyboardInterrupt"),
        ("test_add_channel_axis", "stopped from outside"),
        ("test_conv2d_param_count", "killed by SIGKILL"),
        ("test_top_k_classes", "ran out of memory"),
        ("test_most_confused_pairs", "output cut"),
        ("test_standardize_splits_uses_training_statistics_only", "is not (images - train_mean) / train_std"),
        ("test_augmentation_is_active_only_while_training", "calls sys.exit() or exit() while being defined"),
    ],
)
def test_each_abuse_gets_a_one_paragraph_verdict(hostile_run, test, expected):
    run, _, _ = hostile_run
    outcome, message = run.results[test]
    assert outcome == "failure", f"{test}: {outcome}\n{message}"
    assert expected in message, message
    assert "Traceback" not in message and "def check_" not in message and "cnn_course/" not in message
    assert len(message) < 6000, "output is cut, not copied whole into the report"


def test_the_rest_of_a_lesson_is_graded_after_an_abusive_exercise(hostile_run):
    run, _, _ = hostile_run
    for test in (
        "test_split_train_validation",
        "test_conv_output_size",
        "test_build_mnist_cnn",
        "test_compile_classifier",
        "test_channel_mean_std",
        "test_build_seed_cnn",
        "test_training_callbacks_watch_the_validation_set",
    ):
        assert run.results[test][0] == "passed", run.results[test]


def test_the_run_ends_with_the_scoreboard_and_a_failing_status(hostile_run):
    run, _, _ = hostile_run
    assert run.returncode == 1
    assert "cnn-course scoreboard" in run.output
    assert "exercises: " in run.output and "next: fix" in run.output


def test_the_graded_folder_is_never_touched(hostile_run):
    _, before, after = hostile_run
    assert before == after
