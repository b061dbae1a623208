"""Grader for lesson 06_cifar10_evaluation: per-class metrics, confused pairs, ROC AUC, top-k classes."""

import pytest

from cnn_course import checks

pytestmark = pytest.mark.lesson("06_cifar10_evaluation")


@pytest.mark.exercise("precision_recall_f1")
def test_precision_recall_f1(lesson):
    checks.check_precision_recall_f1(lesson.exercise("precision_recall_f1"))


@pytest.mark.exercise("most_confused_pairs")
def test_most_confused_pairs(lesson):
    checks.check_most_confused_pairs(lesson.exercise("most_confused_pairs"))


@pytest.mark.exercise("roc_auc_one_vs_rest")
def test_roc_auc_one_vs_rest(lesson):
    checks.check_roc_auc_one_vs_rest(lesson.exercise("roc_auc_one_vs_rest"))


@pytest.mark.exercise("top_k_classes")
def test_top_k_classes(lesson):
    checks.check_top_k_classes(lesson.exercise("top_k_classes"))
