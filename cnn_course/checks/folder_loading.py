"""Checks for lesson 07's load_image_folder: two subsets of one shuffle, Keras's arguments, photos upright.

The check writes a small folder of flat-colour images, with class names, sizes and colours drawn for the
run, and passes its path to the exercise. Datasets come back from the exercise as tf.data datasets (in the
lesson) or as their first batches with `class_names` (across the grading boundary); the check reads only
the first batches, so the folders are small enough to fit in one batch.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed
from cnn_course.checks.image_folders import class_names, temporary_folder
from cnn_course.data.image_files import save_image, save_rotated_photo


def write_loading_folder(root: Path, rng: np.random.Generator) -> tuple[dict[int, tuple[str, str]], list[str]]:
    """Write a folder for `check_load_image_folder` to load: 3 classes of 8 to 12 flat-colour images of drawn sizes.

    Each image is one colour, which survives any resizing. Return ({colour code: (class, file name)}, the
    class names), where the code of colour (r, g, b) is r * 65536 + g * 256 + b.
    """
    images = {}
    names = class_names(rng, 3)
    counts = rng.integers(8, 13, len(names))
    codes = rng.choice(200 * 65536, int(counts.sum()), replace=False) + 28 * 65536
    for name, count in zip(names, counts):
        (root / name).mkdir(parents=True)
        for index in range(int(count)):
            code = int(codes[len(images)])
            colour = (code // 65536, code // 256 % 256, code % 256)
            height, width = (int(n) for n in rng.integers(12, 48, 2))
            filename = f"{name}_{index}.png"
            save_image(np.full((height, width, 3), colour, np.uint8), root / name / filename)
            images[code] = (name, filename)
    return images, names


def _first_batches(dataset: Any) -> list[tuple[np.ndarray, ...]]:
    """Return the first batches of a tf.data.Dataset, or of the MaterializedDataset that stands for one."""
    batches = getattr(dataset, "batches", None)
    if batches is None:
        batches = list(dataset.take(4).as_numpy_iterator())
    return [tuple(np.asarray(part) for part in batch) for batch in batches]


def _split(
    name: str,
    subset: Any,
    label: str,
    classes: list[str],
    images: dict[int, tuple[str, str]],
    image_size: tuple[int, int],
) -> list[str]:
    """Check one subset's first batch and return the file names it holds (the whole subset fits in it)."""
    batches = _first_batches(subset)
    if not batches or len(batches[0]) != 2:
        raise CheckFailed(
            name,
            f"the {label} dataset does not yield (images, labels) batches.",
            "load with labels='inferred' (the default).",
        )
    pixels, labels = batches[0]
    if pixels.ndim != 4 or pixels.shape[1:3] != image_size:
        hint = "pass image_size=image_size: the images of a folder have many sizes, and a batch needs one."
        if pixels.ndim == 4 and pixels.shape[1:3] == image_size[::-1]:
            hint = (
                "height and width are swapped: image_size is (height, width), as Keras takes it; pass it on as it is."
            )
        raise CheckFailed(
            name, f"called with image_size={image_size}, the {label} images have shape {pixels.shape[1:]}.", hint
        )
    if pixels.shape[3] != 3:
        raise CheckFailed(
            name,
            f"the {label} images have {pixels.shape[3]} channels.",
            "load RGB images: color_mode='rgb' (the default).",
        )
    if labels.shape != (len(pixels),):
        raise CheckFailed(
            name,
            f"the {label} labels have shape {labels.shape}: one-hot vectors, not class numbers.",
            "pass label_mode='int': the model is trained with sparse_categorical_crossentropy, "
            "which takes class numbers.",
        )
    files = []
    for image, label_value in zip(pixels, labels):
        r, g, b = (int(round(value)) for value in image.reshape(-1, 3).mean(axis=0))
        if r * 65536 + g * 256 + b not in images:
            raise CheckFailed(
                name,
                f"a {label} image has pixel values around {(r, g, b)}, not those of any image of the folder.",
                "return the images as loaded (pixel values 0-255): rescaling belongs inside the model.",
            )
        true_class, filename = images[r * 65536 + g * 256 + b]
        if classes[int(label_value)] != true_class:
            raise CheckFailed(
                name,
                f"an image of folder '{true_class}' has label {int(label_value)}, "
                f"which class_names calls '{classes[int(label_value)]}'.",
                "let image_dataset_from_directory infer the labels from the folders (labels='inferred').",
            )
        files.append(f"{true_class}/{filename}")
    return files


def check_load_image_folder(load_image_folder: Callable) -> None:
    """load_image_folder(folder, image_size, batch_size, validation_split, seed): the two subsets of one shuffle."""
    name = "load_image_folder"
    rng = generator(name)
    with temporary_folder() as root:  # the datasets read the files lazily: judge them while the folder exists
        images, names = write_loading_folder(root, rng)
        _check_loaded_splits(name, root, images, names, load_image_folder, rng)


def _check_loaded_splits(
    name: str,
    root: Path,
    images: dict[int, tuple[str, str]],
    names: list[str],
    load_image_folder: Callable,
    rng: np.random.Generator,
) -> None:
    """Call load_image_folder on the folder `root` with drawn arguments and judge the two subsets it returns."""
    image_size = tuple(int(n) for n in rng.choice(np.arange(10, 24), 2, replace=False))
    seed = int(rng.integers(1000))
    result = load_image_folder(root, image_size=image_size, batch_size=64, validation_split=0.2, seed=seed)
    small = load_image_folder(root, image_size=image_size, batch_size=4, validation_split=0.2, seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras reports the split even with verbose=False
        reference = keras.utils.image_dataset_from_directory(
            root,
            image_size=image_size,
            batch_size=64,
            validation_split=0.2,
            subset="validation",
            seed=seed,
            verbose=False,
        )
    reference_validation = sorted(Path(path).relative_to(root).as_posix() for path in reference.file_paths)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(
            name,
            f"returned {type(result).__name__}; expected a pair (training, validation).",
            "return train_ds, val_ds.",
        )
    expected_classes = sorted(names)
    for label, subset in zip(("training", "validation"), result):
        classes = getattr(subset, "class_names", None)
        if classes is None:
            raise CheckFailed(
                name,
                f"the {label} dataset has no class_names.",
                "return the datasets as image_dataset_from_directory makes them: cache(), "
                "shuffle() and prefetch() return new datasets without .class_names; "
                "the lesson's pipeline adds them afterwards.",
            )
        if list(classes) != expected_classes:
            raise CheckFailed(
                name,
                f"the {label} dataset's class_names are {list(classes)}; the folders, in Keras's order, "
                f"are {expected_classes}.",
                "don't pass class_names: Keras sorts the folder names as strings ('10' before '2'), "
                "and any other order must be saved with the model and used everywhere.",
            )
    training = _split(name, result[0], "training", expected_classes, images, image_size)
    validation = _split(name, result[1], "validation", expected_classes, images, image_size)
    both = sorted(set(training) & set(validation))
    if both:
        raise CheckFailed(
            name,
            f"{len(both)} of the {len(images)} images are in both the training and the validation set "
            f"({', '.join(both[:3])}...).",
            "the two subsets must come from the same shuffle: pass the same seed=seed (and shuffle=True) to both "
            "calls, or make one call with subset='both'. Validation images the model trained on make its validation "
            "accuracy a lie.",
        )
    if len(training) + len(validation) != len(images):
        raise CheckFailed(
            name,
            f"with validation_split=0.2 the subsets hold {len(training)} and {len(validation)} of "
            f"the {len(images)} images.",
            "pass validation_split=validation_split to both calls, and subset='training' / 'validation'.",
        )
    if sorted(training) == reference_validation:
        raise CheckFailed(
            name,
            f"the first dataset returned holds {len(training)} images and the second {len(validation)}: "
            "they are swapped.",
            "return (training, validation), in that order: with subset='both', "
            "Keras returns the training subset first.",
        )
    validation_classes = sorted({path.split("/")[0] for path in validation})
    if sorted(validation) != reference_validation and len(validation_classes) == 1 and len(validation) > 1:
        raise CheckFailed(
            name,
            f"all {len(validation)} validation images are of class '{validation_classes[0]}', "
            "the last folder in Keras's order: the files were split in folder order, without shuffling.",
            "keep shuffle=True (the default): with shuffle=False, image_dataset_from_directory cuts the validation "
            "subset from the end of the files in folder order, so it holds the last class only, "
            "and the model is validated on a class it hardly trained on. The seed then decides nothing.",
        )
    if sorted(validation) != reference_validation:
        raise CheckFailed(
            name,
            f"called with seed={seed}, the validation set is not the one that seed gives.",
            "pass seed=seed: the same seed always gives the same split, so results can be compared between runs.",
        )
    first = _first_batches(small[0])[0][0]
    if len(first) != 4:
        raise CheckFailed(
            name,
            f"called with batch_size=4, the first training batch holds {len(first)} images.",
            "pass batch_size=batch_size.",
        )
    with temporary_folder() as root:
        write_orientation_folder(root)
        upright = load_image_folder(root, image_size=(16, 16), batch_size=64, validation_split=0.2, seed=7)
        pixels = _first_batches(upright[0])[0][0]
    top, bottom = pixels[:, :4].mean(axis=(1, 2, 3)), pixels[:, -4:].mean(axis=(1, 2, 3))
    if not np.all(top > bottom + 100):
        raise CheckFailed(
            name,
            f"{int(np.sum(top <= bottom + 100))} of {len(pixels)} training photos are not upright: "
            "their EXIF orientation tag says to turn them by 90 degrees, as a phone does when it is held sideways, "
            "and they were loaded as stored, on their side.",
            "Keras's image_dataset_from_directory ignores the tag: load with "
            "image_folders.image_dataset_from_directory (from cnn_course.data, the same arguments), "
            "which turns each photo upright as cnn-course predict and serve do.",
        )


def write_orientation_folder(root: Path) -> None:
    """Write two classes of five photos 24 x 12 pixels, bright at the top when upright, stored turned (EXIF 6, 8)."""
    upright = np.zeros((24, 12, 3), np.uint8)
    upright[:12] = 255
    for name, orientation in (("a", 6), ("b", 8)):
        (root / name).mkdir()
        for index in range(5):
            save_rotated_photo(upright, root / name / f"IMG_{index}.jpg", orientation)
