"""Grader for lesson 03_mnist_training: fitting, predicting, confusion, mistakes, and the saved model."""

import pytest

from cnn_course import checks
from cnn_course.grading.test_sets import mnist_test_set

pytestmark = pytest.mark.lesson("03_mnist_training")

LESSON = "03_mnist_training"
MNIST_TEST_ACCURACY_THRESHOLD = 0.99


@pytest.mark.exercise("train_classifier")
def test_train_classifier(lesson):
    checks.check_train_classifier(lesson.exercise("train_classifier", timeout=120))


@pytest.mark.exercise("predict_labels")
def test_predict_labels(lesson):
    checks.check_predict_labels(lesson.exercise("predict_labels"))


@pytest.mark.exercise("confusion_counts")
def test_confusion_counts(lesson):
    checks.check_confusion_counts(lesson.exercise("confusion_counts"))


@pytest.mark.exercise("most_confident_mistakes")
def test_most_confident_mistakes(lesson):
    checks.check_most_confident_mistakes(lesson.exercise("most_confident_mistakes"))


@pytest.mark.exercise("trained_mnist_cnn")
def test_saved_model_reaches_99_percent_on_the_test_set(saved_models):
    model = checks.load_saved_model("trained_mnist_cnn", saved_models.path("mnist_cnn.keras", saved_by=LESSON), LESSON)
    x_test, y_test = mnist_test_set()
    checks.check_model_accuracy("trained_mnist_cnn", model, x_test, y_test, MNIST_TEST_ACCURACY_THRESHOLD)


@pytest.mark.exercise("trained_mnist_cnn")
def test_saved_history_has_validation_metrics(saved_models):
    path = saved_models.path("mnist_cnn_history.json", saved_by=LESSON)
    checks.check_saved_history("trained_mnist_cnn", path, LESSON)
