"""Grader for lesson 04_cifar10_data: samples per class, channel statistics, leak-free standardisation."""

import pytest

from cnn_course import checks

pytestmark = pytest.mark.lesson("04_cifar10_data")


@pytest.mark.exercise("first_indices_per_class")
def test_first_indices_per_class(lesson):
    checks.check_first_indices_per_class(lesson.exercise("first_indices_per_class"))


@pytest.mark.exercise("channel_mean_std")
def test_channel_mean_std(lesson):
    checks.check_channel_mean_std(lesson.exercise("channel_mean_std", timeout=60))  # it also runs on 8,000 images


@pytest.mark.exercise("standardize_splits")
def test_standardize_splits_uses_training_statistics_only(lesson):
    checks.check_standardize_splits(lesson.exercise("standardize_splits"))
