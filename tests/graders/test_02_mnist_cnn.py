"""Grader for lesson 02_mnist_cnn: shape and parameter arithmetic, the CNN, and its compile settings."""

import pytest

from cnn_course import checks

pytestmark = pytest.mark.lesson("02_mnist_cnn")


@pytest.mark.exercise("conv_output_size")
def test_conv_output_size(lesson):
    checks.check_conv_output_size(lesson.exercise("conv_output_size"))


@pytest.mark.exercise("conv2d_param_count")
def test_conv2d_param_count(lesson):
    checks.check_conv2d_param_count(lesson.exercise("conv2d_param_count"))


@pytest.mark.exercise("build_mnist_cnn")
def test_build_mnist_cnn(lesson):
    checks.check_build_mnist_cnn(lesson.exercise("build_mnist_cnn"))


@pytest.mark.exercise("compile_classifier")
def test_compile_classifier(lesson):
    checks.check_compile_classifier(lesson.exercise("compile_classifier"))
