"""Both versions of the CIFAR-10 images the development copy keeps exactly (airbench_reference --subset)."""

import numpy as np
import pytest

from benchmarks.airbench_reference import exact_and_jpeg_subset
from cnn_course.data import load_cifar10

from .conftest import REPO, needs_data

SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


@needs_data()
@pytest.mark.skipif(not (SHARED_DATASETS / "cifar10").is_dir(), reason="needs ../shared/datasets beside the repo")
def test_the_subset_is_the_staged_copy_where_it_is_exact_and_its_jpeg_versions_are_blurred():
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    rows = {
        split: np.load(SHARED_DATASETS / "cifar10" / "cifar10-exact.npz")[f"{split}_index"]
        for split in ("train", "test")
    }
    for split, x, y, count in (("train", x_train, y_train, 7897), ("test", x_test, y_test, 932)):
        original, jpeg, labels = exact_and_jpeg_subset(SHARED_DATASETS, split)
        assert original.shape == jpeg.shape == (count, 32, 32, 3) and original.dtype == jpeg.dtype == np.uint8
        np.testing.assert_array_equal(original, x[rows[split]])
        np.testing.assert_array_equal(labels, y[rows[split]].reshape(-1))
        assert 28 < psnr(original, jpeg) < 33  # the README's "about 30 dB"
