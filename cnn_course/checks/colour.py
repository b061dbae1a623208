"""Checks for the colour-image exercises: per-class samples, channel statistics, standardisation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnn_course.checks.arrays import expect_array, expect_integer_dtype, expect_shape, expect_tuple
from cnn_course.checks.calls import call_with_details
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed
from cnn_course.runtime.protocol import GeneratedArray


def _colour_images(
    count: int, rng: np.random.Generator, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> np.ndarray:
    """Draw float32 images (count, 8, 8, 3) whose channels have different means and spreads."""
    scale = rng.permutation(np.array([0.10, 0.20, 0.05], np.float32)) * rng.uniform(0.8, 1.2)
    centre = rng.permutation(np.array([0.3, 0.5, 0.7], np.float32)) + np.array(offset, np.float32)
    return (centre + scale * rng.standard_normal((count, 8, 8, 3))).astype(np.float32)


def check_first_indices_per_class(first_indices_per_class: Callable) -> None:
    """first_indices_per_class(labels, per_class, num_classes) gives (num_classes, per_class) increasing indices."""
    name = "first_indices_per_class"
    rng = generator(name)
    short = rng.permutation(np.repeat(np.arange(3), 4))
    # 40 labels: more than NumPy's default argsort keeps in order within a class.
    longer = rng.permutation(np.concatenate([np.repeat(np.arange(4), 5), rng.integers(0, 4, 20)]))
    for labels, per_class, num_classes in ((short, 2, 3), (longer, int(rng.integers(3, 6)), 4)):
        expected = np.stack([np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)])
        found = expect_array(name, first_indices_per_class(labels.copy(), per_class=per_class, num_classes=num_classes))
        hint = "one row per class, `per_class` indices in each row."
        if found.shape == expected.shape[::-1] and found.shape != expected.shape:
            hint = "the result is transposed: row c holds the indices of class c."
        expect_shape(name, found, expected.shape, hint)
        expect_integer_dtype(name, found, "return positions in the dataset (integers), not the images.")
        if not np.array_equal(found, expected):
            hint = (
                "for class c, take the first `per_class` positions where labels == c: "
                "np.flatnonzero(labels == c)[:per_class]."
            )
            if np.array_equal(np.sort(found, axis=1), expected):
                hint = (
                    "each row must be in increasing order; np.argsort(labels) does not keep equal labels in order "
                    "unless kind='stable'."
                )
            elif np.array_equal(labels[found], np.repeat(np.arange(num_classes)[:, None], per_class, axis=1)):
                hint = (
                    "these are positions of the right classes but not the first ones: "
                    "take them in order from the start (np.argsort(labels) does not keep equal labels in order "
                    "unless kind='stable'); " + hint
                )
            raise CheckFailed(
                name,
                f"for per_class={per_class}, num_classes={num_classes} it returned {found.tolist()}; "
                f"expected {expected.tolist()}.",
                hint,
            )


def check_channel_mean_std(channel_mean_std: Callable) -> None:
    """channel_mean_std(images) returns float32 mean and std per channel, shape (C,) each."""
    name = "channel_mean_std"
    rng = generator(name)
    images = _colour_images(50, rng)
    mean, std = (
        expect_array(name, value) for value in expect_tuple(name, channel_mean_std(images.copy()), ("mean", "std"))
    )
    hint = "average over the images, rows and columns (axis=(0, 1, 2)), leaving one value per channel."
    expect_shape(name, mean, (3,), hint)
    expect_shape(name, std, (3,), hint)
    if not (
        np.allclose(mean, images.mean(axis=(0, 1, 2)), atol=1e-4)
        and np.allclose(std, images.std(axis=(0, 1, 2)), atol=1e-4)
    ):
        if np.allclose(mean, images.mean(axis=(0, 1, 2)), atol=1e-4) and np.allclose(
            std, images.var(axis=(0, 1, 2)), atol=1e-4
        ):
            hint = (
                "the second value is the variance: the standard deviation is its square root "
                "(images.std(axis=(0, 1, 2)))."
            )
        raise CheckFailed(
            name,
            f"mean {mean.round(3).tolist()}, std {std.round(3).tolist()} are not the per-channel statistics.",
            hint,
        )
    for label, value in (("mean", mean), ("std", std)):
        if value.dtype != np.float32:
            raise CheckFailed(
                name,
                f"the {label} has dtype {value.dtype}; the docstring asks for float32.",
                "cast the result: .astype('float32').",
            )
    two_channels = _colour_images(6, rng)[..., :2]
    mean, std = (
        expect_array(name, value)
        for value in expect_tuple(name, channel_mean_std(two_channels.copy()), ("mean", "std"))
    )
    if mean.shape != (2,) or std.shape != (2,):
        raise CheckFailed(
            name,
            f"for images with 2 channels it returned shapes {mean.shape} and {std.shape}; expected (2,) each.",
            "do not assume 3 channels: reduce over axis=(0, 1, 2), which keeps however many channels there are.",
        )
    _check_large_sample(name, channel_mean_std)


def _check_large_sample(name: str, channel_mean_std: Callable) -> None:
    """On 8,000 bright 32x32 images (8 million values per channel), float32 accumulation goes wrong."""
    spec = GeneratedArray((8000, 32, 32, 3), seed=int(generator(name).integers(2**31)), low=0.8, high=1.0)
    result = channel_mean_std(spec if _runs_elsewhere(channel_mean_std) else spec.materialize())
    mean, std = (expect_array(name, value) for value in expect_tuple(name, result, ("mean", "std")))
    per_channel = np.ascontiguousarray(
        spec.materialize().reshape(-1, 3).T
    )  # contiguous rows: NumPy sums them pairwise, accurately
    expected_mean, expected_std = per_channel.mean(axis=1, dtype=np.float64), per_channel.std(axis=1, dtype=np.float64)
    if (
        mean.shape != (3,)
        or std.shape != (3,)
        or not (np.allclose(mean, expected_mean, atol=1e-4) and np.allclose(std, expected_std, atol=1e-4))
    ):
        raise CheckFailed(
            name,
            f"on 8,000 images (8 million values per channel) it returns mean {np.round(mean, 4).tolist()}, "
            f"std {np.round(std, 4).tolist()}; the true values are {expected_mean.round(4).tolist()}, "
            f"{expected_std.round(4).tolist()}.",
            "the sums were accumulated in float32, which stops adding small values once the total is large: "
            "compute with dtype=np.float64 (images.mean(axis=(0, 1, 2), dtype=np.float64)) and cast the result to "
            "float32.",
        )


def _runs_elsewhere(function: Callable) -> bool:
    """True for an exercise run in the learner process, which generates large inputs itself from their spec."""
    return hasattr(function, "call_with_details")


def check_standardize_splits(standardize_splits: Callable) -> None:
    """standardize_splits(x_train, x_val, x_test) applies training statistics to all three, float32, inputs kept."""
    name = "standardize_splits"
    rng = generator(name)
    x_train = _colour_images(40, rng)
    x_val = _colour_images(10, rng, offset=(0.1, 0.1, 0.1))
    x_test = _colour_images(10, rng, offset=(0.2, -0.2, 0.1))
    splits = {"training": x_train, "validation": x_val, "test": x_test}
    originals = [x.copy() for x in splits.values()]
    call = call_with_details(standardize_splits, x_train, x_val, x_test)
    if call.changed_arguments:
        changed = ", ".join(
            list(splits)[index] for index in call.changed_arguments if isinstance(index, int) and index < 3
        )
        raise CheckFailed(
            name,
            f"it changed the {changed} images it was given.",
            "compute new arrays ((x - mean) / std) instead of modifying the inputs in place (x -= mean): "
            "running the cell twice would standardise twice.",
        )
    train, val, test = (
        expect_array(name, value) for value in expect_tuple(name, call.value, ("x_train", "x_val", "x_test"))
    )
    x_train, x_val, x_test = originals
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    for split, original, label in ((train, x_train, "training"), (val, x_val, "validation"), (test, x_test, "test")):
        if split.shape != original.shape:
            raise CheckFailed(
                name,
                f"the {label} split has shape {split.shape}; expected {original.shape}.",
                "standardising changes values, not shapes.",
            )
    if np.allclose(test.mean(axis=(0, 1, 2)), 0.0, atol=1e-3) or np.allclose(val.mean(axis=(0, 1, 2)), 0.0, atol=1e-3):
        raise CheckFailed(
            name,
            "the validation or test split was standardised with its own statistics.",
            "compute mean and std on the training images only, then apply those same numbers to every split: "
            "statistics from the test set leak information about it into the model.",
        )
    everything = np.concatenate(originals)
    pooled_mean, pooled_std = everything.mean(axis=(0, 1, 2)), everything.std(axis=(0, 1, 2))
    if np.allclose(train, (x_train - pooled_mean) / pooled_std, atol=1e-4):
        raise CheckFailed(
            name,
            "the statistics were computed over all three splits together.",
            "compute mean and std on the training images only: statistics that include the test images leak "
            "information about them.",
        )
    for split, original, label in ((train, x_train, "training"), (val, x_val, "validation"), (test, x_test, "test")):
        if not np.allclose(split, (original - mean) / std, atol=1e-4):
            hint = "subtract the mean, then divide by the std, per channel."
            if np.allclose(split, (original - x_train.mean()) / x_train.std(), rtol=1e-3, atol=1e-3):
                hint = "one mean and one std per channel, not for all pixels together: reduce over axis=(0, 1, 2)."
            elif np.allclose(split, (original - mean) / std**2, rtol=1e-3, atol=1e-3):
                hint = "divide by the standard deviation, not the variance."
            raise CheckFailed(name, f"the {label} split is not (images - train_mean) / train_std.", hint)
        if split.dtype != np.float32:
            raise CheckFailed(
                name,
                f"the {label} split has dtype {split.dtype}; expected float32.",
                "keep float32 (cast with .astype('float32')).",
            )
