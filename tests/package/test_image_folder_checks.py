"""Lesson 07's checks pass the master's solutions and other valid versions, and fail typical mistakes."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from PIL import Image

from cnn_course.checks import CheckFailed
from cnn_course.checks.calls import call_exercise
from cnn_course.checks.folder_loading import check_load_image_folder
from cnn_course.checks.folder_models import (
    check_build_folder_cnn,
    check_class_names_sidecar,
    check_folder_model_accuracy,
    read_folder_images,
)
from cnn_course.checks.image_folders import check_count_images_per_class, check_image_shape
from cnn_course.data import image_folders
from cnn_course.data.image_folders import IMAGE_SUFFIXES

from .conftest import SOLUTIONS, master_namespace, run_graders


@pytest.fixture(scope="module")
def master():
    """The master's setup and exercise cells, run in this process."""
    return master_namespace("07_own_images")


def guarded(function):
    """The function as a grader calls it: errors become ExerciseError, as lesson.exercise() does."""

    def call(*args, **kwargs):
        return call_exercise(function, *args, **kwargs)

    call.__name__ = function.__name__
    return call


@pytest.mark.parametrize("name", ["count_images_per_class", "image_shape", "load_image_folder", "build_folder_cnn"])
def test_the_masters_solutions_pass(master, name):
    check = {
        "count_images_per_class": check_count_images_per_class,
        "image_shape": check_image_shape,
        "load_image_folder": check_load_image_folder,
        "build_folder_cnn": check_build_folder_cnn,
    }[name]
    check(guarded(master[name]))


# -- count_images_per_class ----------------------------------------------------------------------------


def count_with_os_walk(
    folder, *, skip_hidden=True, images_only=True, lower=True, recursive=True, order=sorted, hidden_classes=False
):
    """count_images_per_class with os.walk; the keyword arguments switch on one mistake each."""
    counts = {}
    names = [
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir() and (hidden_classes or not entry.name.startswith("."))
    ]
    for name in order(names):
        total = 0
        for _root, folders, files in os.walk(Path(folder) / name):
            if skip_hidden:
                folders[:] = [f for f in folders if not f.startswith(".")]
            if not recursive:
                folders[:] = []
            for file in files:
                suffix = os.path.splitext(file)[1]
                if skip_hidden and file.startswith("."):
                    continue
                if images_only and (suffix.lower() if lower else suffix) not in IMAGE_SUFFIXES:
                    continue
                total += 1
        counts[name] = total
    return counts


def test_counting_with_os_walk_passes():
    check_count_images_per_class(guarded(count_with_os_walk))


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"order": lambda names: sorted(names, key=int)}, "'10' comes before '2'"),
        ({"order": lambda names: sorted(names, reverse=True)}, "'10' comes before '2'"),
        ({"hidden_classes": True}, ".ipynb_checkpoints"),
        ({"images_only": False, "skip_hidden": True}, "count only files whose extension"),
        ({"lower": False}, "compare extensions in lower case"),
        ({"recursive": False}, "Keras reads a class folder recursively"),
    ],
)
def test_counting_mistakes_get_their_hint(changes, hint):
    def count_images_per_class(folder):
        return count_with_os_walk(folder, **changes)

    with pytest.raises(CheckFailed, match="count_images_per_class") as failure:
        check_count_images_per_class(guarded(count_images_per_class))
    assert hint in str(failure.value)


def test_counting_hidden_files_gets_its_hint():
    def count_images_per_class(folder):
        counts = {}
        for class_folder in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = [
                p
                for p in class_folder.rglob("*")
                if p.suffix.lower() in IMAGE_SUFFIXES and ".ipynb_checkpoints" not in p.parts
            ]
            counts[class_folder.name] = len(files)
        return counts

    with pytest.raises(CheckFailed, match="hidden files"):
        check_count_images_per_class(guarded(count_images_per_class))


def test_counting_checkpoint_copies_gets_its_hint():
    def count_images_per_class(folder):
        counts = {}
        for class_folder in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = [
                p for p in class_folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            ]
            counts[class_folder.name] = len(files)
        return counts

    with pytest.raises(CheckFailed, match="inside a hidden folder"):
        check_count_images_per_class(guarded(count_images_per_class))


# -- image_shape ---------------------------------------------------------------------------------------


def shape_with_tensorflow(path):
    try:
        return tuple(int(n) for n in tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False).shape)
    except tf.errors.InvalidArgumentError:
        return None


def shape_with_pil_convert(path):
    """Decodes the pixels, but by converting them to numpy."""
    try:
        pixels = np.asarray(Image.open(path))
    except OSError:
        return None
    return (*pixels.shape[:2], 1 if pixels.ndim == 2 else pixels.shape[2])


@pytest.mark.parametrize("image_shape", [shape_with_tensorflow, shape_with_pil_convert])
def test_other_decoders_pass(image_shape):
    check_image_shape(guarded(image_shape))


def shape_header_only(path):
    try:
        with Image.open(path) as image:
            return image.height, image.width, len(image.getbands())
    except OSError:
        return None


def shape_verify_only(path):
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            return image.height, image.width, len(image.getbands())
    except OSError:
        return None


def shape_width_first(path):
    try:
        with Image.open(path) as image:
            image.load()
            return (*image.size, len(image.getbands()))
    except OSError:
        return None


def shape_converted_to_rgb(path):
    try:
        return tuple(
            int(n) for n in tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False).shape
        )
    except tf.errors.InvalidArgumentError:
        return None


def shape_raising(path):
    with Image.open(path) as image:
        image.load()
        return image.height, image.width, len(image.getbands())


@pytest.mark.parametrize(
    ("image_shape", "hint"),
    [
        (shape_header_only, "read only the header"),
        (shape_verify_only, "read only the header"),
        (shape_width_first, "PIL's image.size is (width, height)"),
        (shape_converted_to_rgb, "don't convert to RGB"),
        (shape_raising, "catch the decoder's exception"),
    ],
)
def test_shape_mistakes_get_their_hint(image_shape, hint):
    image_shape.__name__ = "image_shape"
    with pytest.raises(CheckFailed, match="image_shape") as failure:
        check_image_shape(guarded(image_shape))
    assert hint in str(failure.value)


# -- load_image_folder ---------------------------------------------------------------------------------


def load_in_two_calls(
    folder,
    image_size=(32, 32),
    batch_size=128,
    validation_split=0.2,
    seed=42,
    validation_seed=None,
    load=None,
    **options,
):
    """Two calls, one per subset; `validation_seed`, `load` (Keras's loader) and `options` switch on mistakes."""
    load = load or image_folders.image_dataset_from_directory
    common = {"image_size": image_size, "batch_size": batch_size, "validation_split": validation_split, **options}
    training = load(folder, subset="training", seed=seed, **common)
    validation = load(folder, subset="validation", seed=seed if validation_seed is None else validation_seed, **common)
    return training, validation


def test_loading_in_two_calls_with_one_seed_passes():
    check_load_image_folder(guarded(load_in_two_calls))


def no_shuffle_for_validation(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    """The validation call without shuffle and seed: Keras allows it, and takes the split from the unshuffled list."""
    common = {"image_size": image_size, "batch_size": batch_size, "validation_split": validation_split}
    training = image_folders.image_dataset_from_directory(folder, subset="training", seed=seed, **common)
    validation = image_folders.image_dataset_from_directory(folder, subset="validation", shuffle=False, **common)
    return training, validation


def cached(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    training, validation = load_in_two_calls(folder, image_size, batch_size, validation_split, seed)
    return training.cache(), validation.cache()


@pytest.mark.parametrize(
    ("load", "hint"),
    [
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, batch_size, validation_split, seed, validation_seed=seed + 1
            ),
            "same seed=seed",
        ),
        (no_shuffle_for_validation, "same seed=seed"),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, batch_size, validation_split, 123
            ),
            "pass seed=seed",
        ),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, (32, 32), batch_size, validation_split, seed
            ),
            "pass image_size=image_size",
        ),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, batch_size, validation_split, seed, label_mode="categorical"
            ),
            "label_mode='int'",
        ),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, batch_size, validation_split, seed, class_names=sorted(os.listdir(folder), key=int)
            ),
            "'10' before '2'",
        ),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, 32, validation_split, seed
            ),
            "pass batch_size=batch_size",
        ),
        (cached, "without .class_names"),
        (
            lambda folder, image_size, batch_size, validation_split, seed: load_in_two_calls(
                folder, image_size, batch_size, validation_split, seed, load=keras.utils.image_dataset_from_directory
            ),
            "ignores the tag",
        ),
    ],
)
def test_loading_mistakes_get_their_hint(load, hint):
    load.__name__ = "load_image_folder"
    with pytest.raises(CheckFailed, match="load_image_folder") as failure:
        check_load_image_folder(guarded(load))
    assert hint in str(failure.value)


# -- build_folder_cnn ----------------------------------------------------------------------------------


def functional_cnn(num_classes=10, image_size=32):
    """A valid alternative: functional API, rescaling to [-1, 1] before resizing."""
    inputs = keras.Input(shape=(None, None, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = layers.Resizing(image_size, image_size)(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def test_a_functional_model_passes():
    check_build_folder_cnn(guarded(functional_cnn))


def folder_cnn(
    num_classes=10,
    image_size=32,
    input_shape=(None, None, 3),
    resize=True,
    scale=1 / 255,
    head="softmax",
    width=16,
    hidden=0,
):
    """A small model; the keyword arguments switch on one mistake each."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *([layers.Resizing(image_size, image_size)] if resize else []),
            *([layers.Rescaling(scale)] if scale else []),
            layers.Conv2D(width, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            *([layers.Dense(hidden)] if hidden else []),
            layers.Dense(num_classes, activation=head),
        ]
    )


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"input_shape": (32, 32, 3), "resize": False}, "resizing happens outside the model"),
        ({"resize": False}, "add layers.Resizing(image_size, image_size)"),
        ({"scale": None}, "add layers.Rescaling(1 / 255)"),
        ({"scale": 255.0}, "use layers.Rescaling(1 / 255)"),
        ({"head": None}, "activation='softmax'"),
        ({"width": 1024, "hidden": 1024}, "keep it under 1,000,000"),
    ],
)
def test_model_mistakes_get_their_hint(changes, hint):
    def build_folder_cnn(num_classes=10, image_size=32):
        return folder_cnn(num_classes, image_size, **changes)

    with pytest.raises(CheckFailed, match="build_folder_cnn") as failure:
        check_build_folder_cnn(guarded(build_folder_cnn))
    assert hint in str(failure.value)


def test_a_hardcoded_size_gets_its_hint():
    def build_folder_cnn(num_classes=10, image_size=32):
        return folder_cnn(num_classes, 32)

    with pytest.raises(CheckFailed, match="use Resizing"):
        check_build_folder_cnn(guarded(build_folder_cnn))


# -- the saved model -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    """A held-out folder of 3 classes x 4 noise images, 32 x 32."""
    folder = tmp_path_factory.mktemp("held_out")
    rng = np.random.default_rng(0)
    for name in ("cat", "dog", "ship"):
        (folder / name).mkdir()
        for index in range(4):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / name / f"{index}.png")
    return folder


def test_a_model_for_fixed_size_images_fails_the_saved_model_check(small_folder):
    model = folder_cnn(3, input_shape=(32, 32, 3), resize=False)
    with pytest.raises(CheckFailed, match="resizing happens outside the model"):
        check_folder_model_accuracy(
            "trained_own_images_cnn", model, ["cat", "dog", "ship"], *read_folder_images(small_folder), 0.5
        )


def test_class_names_of_another_folder_fail_the_saved_model_check(small_folder):
    with pytest.raises(CheckFailed, match="the held-out folder's classes are"):
        check_folder_model_accuracy(
            "trained_own_images_cnn", folder_cnn(3), ["0", "1", "2"], *read_folder_images(small_folder), 0.5
        )


def test_a_model_below_the_threshold_gets_the_preprocessing_hint(small_folder):
    with pytest.raises(CheckFailed, match=r"Rescaling\(1 / 255\) inside the model"):
        check_folder_model_accuracy(
            "trained_own_images_cnn", folder_cnn(3), ["cat", "dog", "ship"], *read_folder_images(small_folder), 0.99
        )


def test_a_missing_class_names_file_is_not_attempted(tmp_path):
    from cnn_course.checks import NotAttempted

    with pytest.raises(NotAttempted, match="Run lesson 07_own_images to the end"):
        check_class_names_sidecar("trained_own_images_cnn", tmp_path / "own_images_cnn.classes.json", "07_own_images")
    (tmp_path / "names.json").write_text('{"cat": 0}')
    with pytest.raises(CheckFailed, match="not a class-names file"):
        check_class_names_sidecar("trained_own_images_cnn", tmp_path / "names.json", "07_own_images")
    (tmp_path / "names.json").write_text('{"class_names": "cat"}')
    with pytest.raises(CheckFailed, match="not a list of class names"):
        check_class_names_sidecar("trained_own_images_cnn", tmp_path / "names.json", "07_own_images")


# -- the grader, run as a learner runs it, on a broken copy of the master --------------------------------

BREAKAGES = [
    (
        "    training_set, validation_set = image_folders.image_dataset_from_directory(",
        "    training_set = image_folders.image_dataset_from_directory(",
    ),
    (
        '        subset="both",\n        seed=seed,\n    )\n    return training_set, validation_set',
        '        subset="training",\n        seed=seed,\n    )\n'
        "    validation_set = image_folders.image_dataset_from_directory(\n"
        "        folder, image_size=image_size, batch_size=batch_size, validation_split=validation_split, "
        'subset="validation", shuffle=False\n'
        "    )\n    return training_set, validation_set",
    ),
    (
        "            keras.Input(shape=(None, None, 3)),\n            layers.Resizing(image_size, image_size),\n",
        "            keras.Input(shape=(image_size, image_size, 3)),\n",
    ),
    (
        "        with Image.open(path) as image:\n            image.load()\n",
        "        with Image.open(path) as image:\n",
    ),
]


def test_the_grader_names_the_cause_of_each_broken_exercise(tmp_path):
    target = tmp_path / "lessons"
    target.mkdir()
    text = (SOLUTIONS / "07_own_images.py").read_text()
    for old, new in BREAKAGES:
        assert old in text, "the master 07_own_images changed: update BREAKAGES"
        text = text.replace(old, new, 1)
    (target / "07_own_images.py").write_text(text)
    run = run_graders(target, "-k", "07 and not saved")
    expected = {
        "test_load_image_folder": "images are in both the training and the validation set",
        "test_build_folder_cnn": "resizing happens outside the model",
        "test_image_shape": "read only the header",
        "test_count_images_per_class": "",
    }
    for test, message in expected.items():
        outcome, details = run.results[test]
        assert outcome == ("failure" if message else "passed"), f"{test}: {outcome}\n{details}"
        assert message in details and "Traceback" not in details
