"""Hidden tests for lesson 01_mnist_data: properties the public graders leave out.

They run only when the instructor grades (`cnn-course grade`) and in the course's own test suite;
`cnn-course assign --release` leaves this folder out. A failure reaches the learner as the first
line of the test's docstring, never as its code or values: say there what property is checked.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.lesson("01_mnist_data")


@pytest.mark.exercise("count_per_class")
def test_count_per_class_takes_any_number_of_classes(lesson):
    """count_per_class works for any num_classes, not only 10"""
    counts = lesson.exercise("count_per_class")(np.array([2, 2, 0], dtype=np.uint8), num_classes=4)
    assert np.asarray(counts).tolist() == [1, 0, 2, 0]


@pytest.mark.exercise("scale_images")
def test_scale_images_takes_a_single_image(lesson):
    """scale_images scales a single 2-D image as well as a batch"""
    scaled = lesson.exercise("scale_images")(np.full((3, 4), 51, dtype=np.uint8))
    assert scaled.shape == (3, 4) and np.allclose(scaled, 0.2)


@pytest.mark.exercise("one_hot")
def test_one_hot_takes_any_number_of_classes(lesson):
    """one_hot works for any num_classes, not only 10"""
    encoded = lesson.exercise("one_hot")(np.array([1, 2], dtype=np.uint8), num_classes=3)
    assert np.asarray(encoded).tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
