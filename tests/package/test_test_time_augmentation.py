"""Test-time augmentation: the views `predict_probabilities` averages over, and that it averages them."""

import keras
import numpy as np
import pytest

from cnn_course.evaluation import predict_probabilities, shifted_view, shifted_views


def test_shifted_views_are_the_image_and_two_reflected_shifts():
    images = np.arange(2 * 6 * 6 * 3, dtype=np.float32).reshape(2, 6, 6, 3)
    same, down_right, up_left = shifted_views(images, 2)
    assert same is images and down_right.shape == up_left.shape == images.shape and down_right.dtype == images.dtype
    # Shifted down-right by 2: row 2 of the view is row 0 of the image; rows 0-1 are reflected.
    np.testing.assert_array_equal(down_right[:, 2:, 2:], images[:, :-2, :-2])
    np.testing.assert_array_equal(down_right[:, 0, 2:], images[:, 2, :-2])
    np.testing.assert_array_equal(up_left[:, :-2, :-2], images[:, 2:, 2:])


@pytest.mark.parametrize(("flip", "shift", "views"), [(False, 0, 1), (True, 0, 2), (False, 2, 3), (True, 2, 6)])
def test_predictions_are_averaged_over_every_view(flip, shift, views):
    rng = np.random.default_rng(0)
    images = rng.random((5, 8, 8, 3), dtype=np.float32)
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")]
    )
    expected_views = shifted_views(images, shift) if shift else [images]
    if flip:
        expected_views += [view[:, :, ::-1] for view in expected_views]
    assert len(expected_views) == views
    expected = np.mean([model.predict(view, verbose=0) for view in expected_views], axis=0)
    probabilities = predict_probabilities(model, images, flip_tta=flip, shift_tta=shift)
    assert probabilities.dtype == np.float32 and probabilities.shape == (5, 4)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_shifted_view_moves_the_content_and_reflects_the_border():
    images = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    down_right = shifted_view(images, 1, 2)[0, :, :, 0]
    np.testing.assert_array_equal(down_right[1:, 2:], images[0, :3, :2, 0])
    np.testing.assert_array_equal(down_right[0, 2:], images[0, 1, :2, 0])  # the row above reflected
    np.testing.assert_array_equal(shifted_view(images, 0, 0), images)
    np.testing.assert_array_equal(shifted_view(shifted_view(images, -1, 0), 1, 0)[:, 1:], images[:, 1:])
