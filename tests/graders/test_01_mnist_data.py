"""Grader for lesson 01_mnist_data: counting classes, scaling, channel axis, one-hot, validation split."""

import pytest

from cnn_course import checks

pytestmark = pytest.mark.lesson("01_mnist_data")


@pytest.mark.exercise("count_per_class")
def test_count_per_class(lesson):
    checks.check_count_per_class(lesson.exercise("count_per_class"))


@pytest.mark.exercise("scale_images")
def test_scale_images(lesson):
    checks.check_scale_images(lesson.exercise("scale_images"))


@pytest.mark.exercise("add_channel_axis")
def test_add_channel_axis(lesson):
    checks.check_add_channel_axis(lesson.exercise("add_channel_axis"))


@pytest.mark.exercise("one_hot")
def test_one_hot(lesson):
    checks.check_one_hot(lesson.exercise("one_hot"))


@pytest.mark.exercise("split_train_validation")
def test_split_train_validation(lesson):
    checks.check_split_train_validation(lesson.exercise("split_train_validation"))
