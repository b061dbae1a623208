"""Grader for lesson 05_cifar10_cnn: the seed CNN, augmentation, callbacks, and the saved CIFAR-10 model."""

import pytest

from cnn_course import checks
from cnn_course.grading.test_sets import cifar10_test_set

pytestmark = pytest.mark.lesson("05_cifar10_cnn")

LESSON = "05_cifar10_cnn"
CIFAR10_TEST_ACCURACY_THRESHOLD = 0.75


@pytest.mark.exercise("build_seed_cnn")
def test_build_seed_cnn(lesson):
    checks.check_build_seed_cnn(lesson.exercise("build_seed_cnn"))


@pytest.mark.exercise("build_augmentation")
def test_augmentation_is_active_only_while_training(lesson):
    checks.check_build_augmentation(lesson.exercise("build_augmentation"))


@pytest.mark.exercise("training_callbacks")
def test_training_callbacks_watch_the_validation_set(lesson):
    checks.check_training_callbacks(lesson.exercise("training_callbacks"))


@pytest.mark.exercise("trained_cifar10_cnn")
def test_saved_model_reaches_75_percent_on_the_test_set(saved_models):
    model = checks.load_saved_model(
        "trained_cifar10_cnn", saved_models.path("cifar10_cnn.keras", saved_by=LESSON), LESSON
    )
    x_test, y_test = cifar10_test_set()
    checks.check_model_accuracy("trained_cifar10_cnn", model, x_test, y_test, CIFAR10_TEST_ACCURACY_THRESHOLD)


@pytest.mark.exercise("trained_cifar10_cnn")
def test_saved_history_has_validation_metrics(saved_models):
    path = saved_models.path("cifar10_cnn_history.json", saved_by=LESSON)
    checks.check_saved_history("trained_cifar10_cnn", path, LESSON)
