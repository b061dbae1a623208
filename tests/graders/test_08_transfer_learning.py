"""Grader for lesson 08_transfer_learning: the transfer model, unfreezing for fine-tuning, and the saved model."""

import pytest

from cnn_course import checks
from cnn_course.grading.test_sets import cifar10_target_test_set

pytestmark = pytest.mark.lesson("08_transfer_learning")

LESSON = "08_transfer_learning"
# Training from scratch on the lesson's 100 images reached SCRATCH_TEST_ACCURACY on the 5,000 test images of
# the target classes in the lesson's full run (docs/lesson-runs/08_transfer_learning.ipynb); the saved transfer
# model must beat it by REQUIRED_MARGIN. The full run's fine-tuned model beat it by 11 points.
SCRATCH_TEST_ACCURACY = 0.59
REQUIRED_MARGIN = 0.05


@pytest.mark.exercise("build_transfer_model")
def test_build_transfer_model(lesson):
    checks.check_build_transfer_model(lesson.exercise("build_transfer_model"))


@pytest.mark.exercise("unfreeze_top_layers")
def test_unfreeze_top_layers(lesson):
    checks.check_unfreeze_top_layers(lesson.exercise("unfreeze_top_layers"))


@pytest.mark.exercise("trained_transfer_cnn")
def test_saved_model_beats_training_from_scratch(saved_models):
    model = checks.load_saved_model(
        "trained_transfer_cnn", saved_models.path("transfer_cnn.keras", saved_by=LESSON), LESSON
    )
    x_test, y_test = cifar10_target_test_set()
    checks.check_transfer_accuracy(
        "trained_transfer_cnn", model, x_test, y_test, SCRATCH_TEST_ACCURACY, REQUIRED_MARGIN
    )


@pytest.mark.exercise("trained_transfer_cnn")
def test_saved_history_of_the_transfer_model_has_validation_metrics(saved_models):
    path = saved_models.path("transfer_cnn_history.json", saved_by=LESSON)
    checks.check_saved_history("trained_transfer_cnn", path, LESSON)
