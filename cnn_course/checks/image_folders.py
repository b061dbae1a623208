"""Checks for lesson 07: inspecting a folder of images, loading it with Keras, a model that resizes and rescales.

Each check writes its own small folder of images in a temporary directory and passes its path to the
exercise. Datasets come back from the exercise as tf.data datasets (in the lesson) or as their first
batches with `class_names` (across the grading boundary); the checks read only the first batches, so
the folders are small enough to fit in one batch.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cnn_course.checks.feedback import CheckFailed, ExerciseError, NotAttempted
from cnn_course.data.image_folders import APPLEDOUBLE_HEADER, IMAGE_SUFFIXES, save_image
from cnn_course.evaluation import predict_probabilities
from cnn_course.models import flat_layers

# Digits as class names: sorted as strings, "10" comes before "2", as Keras orders them.
COUNT_CLASSES = ("1", "2", "10", "7")
LOAD_CLASSES = ("1", "2", "10")
IMAGES_PER_CLASS = 10


@contextlib.contextmanager
def _temporary_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cnn-course-check-", ignore_cleanup_errors=True) as folder:  # Windows: a file the learner holds open
        yield Path(folder)


def _noise(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """Return uint8 noise (height, width[, channels])."""
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# -- count_images_per_class -------------------------------------------------------------------------

# What makes a file of the counting folder special; a correct count counts the files with no
# property other than _UPPER_CASE and _NESTED.
_NOT_IMAGE, _HIDDEN_FILE, _HIDDEN_FOLDER = "not an image", "hidden file", "in a hidden folder"
_UPPER_CASE, _NESTED = "upper-case extension", "in a subfolder"
_COUNTED = frozenset({_UPPER_CASE, _NESTED})


def write_counting_folder(root: Path) -> dict[str, frozenset[str]]:
    """Write the folder `check_count_images_per_class` counts; return {relative path: the file's properties}."""
    files: dict[str, frozenset[str]] = {}
    for position, name in enumerate(COUNT_CLASSES[:3]):
        for index in range(3 + position):
            files[f"{name}/{name}_{index}.png"] = frozenset()
        files[f"{name}/{name}_photo.jpeg"] = frozenset()
    files["1/IMG_0042.JPG"] = frozenset({_UPPER_CASE})
    files["2/more/2_extra.png"] = frozenset({_NESTED})
    files["2/notes.txt"] = frozenset({_NOT_IMAGE})
    files["10/labels.csv"] = frozenset({_NOT_IMAGE})
    files["1/._1_0.png"] = frozenset({_HIDDEN_FILE})
    files["10/.DS_Store"] = frozenset({_HIDDEN_FILE, _NOT_IMAGE})
    files["10/.ipynb_checkpoints/10_0-checkpoint.png"] = frozenset({_HIDDEN_FOLDER, _NESTED})
    files[".ipynb_checkpoints/1_0-checkpoint.png"] = frozenset({_HIDDEN_FOLDER})
    for relative, properties in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if _NOT_IMAGE in properties:
            path.write_text("not an image\n")
        elif _HIDDEN_FILE in properties:
            path.write_bytes(APPLEDOUBLE_HEADER + bytes(64))
        else:
            save_image(_noise(8, 8, 3, len(path.name)), path)
    (root / COUNT_CLASSES[3]).mkdir()  # an empty class folder is a class too
    return files


def _expected_counts(files: dict[str, frozenset[str]], counted: frozenset[str]) -> dict[str, int]:
    """Return the per-class counts of the files whose properties are all in `counted`."""
    counts = {name: 0 for name in sorted(COUNT_CLASSES)}
    for relative, properties in files.items():
        top = relative.split("/")[0]
        if top in counts and properties <= counted:
            counts[top] += 1
    return counts


def check_count_images_per_class(count_images_per_class: Callable) -> None:
    """count_images_per_class(folder) returns {class: image files}, classes sorted as strings, hidden and non-image files skipped."""
    name = "count_images_per_class"
    with _temporary_folder() as root:
        files = write_counting_folder(root)
        found = count_images_per_class(root)
    if not isinstance(found, dict):
        raise CheckFailed(name, f"returned {type(found).__name__}; expected a dict {{class name: count}}.", "build and return a dict.")
    expected = _expected_counts(files, _COUNTED)
    keys = [str(key) for key in found]
    hidden = [key for key in keys if key.startswith(".")]
    if hidden:
        raise CheckFailed(
            name,
            f"it lists {hidden} as a class.",
            "skip folders whose name starts with '.': Jupyter creates .ipynb_checkpoints in any folder it opens; "
            "it is not a class, and Keras ignores it.",
        )
    if set(keys) != set(expected):
        raise CheckFailed(
            name,
            f"the classes are {keys}; the folder's class subfolders are {sorted(expected)}.",
            "each subfolder of `folder` is a class, even an empty one (count 0); files at the top level belong to no class.",
        )
    if keys != list(expected):
        raise CheckFailed(
            name,
            f"the classes come in the order {keys}; Keras numbers them {list(expected)}.",
            "Keras sorts the class folders by name, as strings, so '10' comes before '2': return them in sorted() order, "
            "the order of the labels the model will learn.",
        )
    counts = {str(key): value for key, value in found.items()}
    if not all(isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in counts.values()):
        raise CheckFailed(name, f"the counts are {counts}; expected whole numbers.", "count the files: len(...) of a list, or a running total.")
    if counts == expected:
        return
    mistakes = [
        (_COUNTED | {_NOT_IMAGE}, "it counts files that are not images (notes.txt, labels.csv).",
         f"count only files whose extension, lower-cased, is one Keras reads: {', '.join(IMAGE_SUFFIXES)}."),
        (_COUNTED | {_HIDDEN_FILE}, "it counts hidden files (1/._1_0.png).",
         "skip files whose name starts with '.': a '._' file is macOS metadata, not an image, even when its name ends in .png."),
        (_COUNTED | {_HIDDEN_FOLDER}, "it counts files inside a hidden folder (10/.ipynb_checkpoints/).",
         "skip every path with a part starting with '.': a checkpoint copy of an image would be counted twice."),
        (_COUNTED - {_UPPER_CASE}, "it misses 1/IMG_0042.JPG.", "compare extensions in lower case: cameras often write .JPG."),
        (_COUNTED - {_NESTED}, "it misses the images in a subfolder of a class (2/more/).",
         "look in subfolders too (rglob or os.walk): Keras reads a class folder recursively."),
    ]
    for counted, problem, hint in mistakes:
        if counts == _expected_counts(files, frozenset(counted)):
            raise CheckFailed(name, problem, hint)
    raise CheckFailed(
        name,
        f"returned {counts}; expected {expected}.",
        "count, in each class folder and its subfolders, the files with an image extension (any case), skipping any path "
        "with a part that starts with '.'.",
    )


# -- image_shape -------------------------------------------------------------------------------------

def write_shape_files(root: Path) -> dict[str, tuple[int, int, int] | None]:
    """Write the files `check_image_shape` reads; return {file name: expected (height, width, channels) or None}."""
    from PIL import Image

    expected: dict[str, tuple[int, int, int] | None] = {}
    for filename, (height, width, channels) in {
        "rgb.png": (20, 30, 3),
        "photo.jpg": (12, 40, 3),
        "grayscale.png": (16, 24, 1),
        "transparent.png": (18, 10, 4),
    }.items():
        save_image(_noise(height, width, channels, height), root / filename)
        expected[filename] = (height, width, channels)
    whole = root / "whole.jpg"
    Image.fromarray(_noise(64, 64, 3, 1)).save(whole, "JPEG", quality=95)
    content = whole.read_bytes()
    whole.unlink()
    (root / "truncated.jpg").write_bytes(content[: len(content) // 2])
    (root / "._photo.png").write_bytes(APPLEDOUBLE_HEADER + bytes(4000))
    (root / "text.png").write_text("this is not an image\n")
    expected.update({"truncated.jpg": None, "._photo.png": None, "text.png": None})
    return expected


def check_image_shape(image_shape: Callable) -> None:
    """image_shape(path) returns (height, width, channels) of the decoded image, or None when it cannot be decoded."""
    name = "image_shape"
    with _temporary_folder() as root:
        expected = write_shape_files(root)
        found: dict[str, Any] = {}
        for filename, shape in expected.items():
            try:
                found[filename] = image_shape(root / filename)
            except ExerciseError as error:
                if shape is None:
                    raise CheckFailed(
                        name,
                        f"it raises an error for {filename}, a file that is not a valid image ({error}).",
                        "return None when the file cannot be decoded: catch the decoder's exception (PIL raises "
                        "OSError and its subclasses, tf.io.decode_image raises tf.errors.InvalidArgumentError).",
                    ) from None
                raise
    for filename, shape in expected.items():
        result = found[filename]
        if shape is None:
            if result is not None:
                detail = {
                    "truncated.jpg": (
                        "its header is intact but half of its pixels are missing. Image.open() and verify() read "
                        "only the header: decode the pixels (image.load(), image.convert(...), or "
                        "tf.io.decode_image) inside the try."
                    ),
                    "._photo.png": "it is a macOS '._' metadata file named like a PNG: decode the file, don't trust its name.",
                    "text.png": "it is a text file named like a PNG: decode the file, don't trust its name.",
                }[filename]
                raise CheckFailed(name, f"returned {result!r} for {filename}, which cannot be decoded.", f"return None for it: {detail}")
            continue
        if result is None:
            raise CheckFailed(name, f"returned None for {filename}, a valid image of shape {shape}.", "return None only when decoding fails.")
        try:
            values = tuple(int(value) for value in result)
        except (TypeError, ValueError):
            raise CheckFailed(name, f"returned {result!r} for {filename}; expected a tuple (height, width, channels).", "return three integers.") from None
        if values == shape:
            continue
        if len(values) == 3 and values[:2] == shape[1::-1]:
            raise CheckFailed(
                name,
                f"returned {values} for {filename}, an image {shape[0]} pixels high and {shape[1]} wide.",
                "height comes first, as in the array's shape: PIL's image.size is (width, height).",
            )
        if len(values) == 3 and values[:2] == shape[:2] and shape[2] != 3 and values[2] == 3:
            raise CheckFailed(
                name,
                f"returned {values} for {filename}, whose pixels have {shape[2]} channel{'s' if shape[2] > 1 else ''}.",
                "report the channels stored in the file: don't convert to RGB (convert('RGB'), channels=3) before "
                "counting them; grayscale has 1, RGBA 4.",
            )
        raise CheckFailed(name, f"returned {values} for {filename}; expected {shape}.", "return (height, width, channels) of the decoded pixels.")


# -- load_image_folder -------------------------------------------------------------------------------

def write_loading_folder(root: Path) -> dict[int, tuple[str, str]]:
    """Write the folder `check_load_image_folder` loads: flat-colour images of several sizes.

    Each image is one colour, which survives any resizing; return {colour code: (class, file name)},
    where the code of colour (r, g, b) is r * 65536 + g * 256 + b.
    """
    images = {}
    sizes = ((20, 28), (40, 40), (16, 16), (33, 21))
    for class_index, name in enumerate(LOAD_CLASSES):
        (root / name).mkdir(parents=True)
        for index in range(IMAGES_PER_CLASS):
            colour = (40 + 16 * index, 40 + 64 * class_index, 200 - 8 * index - 40 * class_index)
            height, width = sizes[(index + class_index) % len(sizes)]
            filename = f"{name}_{index}.png"
            save_image(np.full((height, width, 3), colour, np.uint8), root / name / filename)
            images[colour[0] * 65536 + colour[1] * 256 + colour[2]] = (name, filename)
    return images


def _first_batches(dataset: Any) -> list[tuple[np.ndarray, ...]]:
    """Return the first batches of a tf.data.Dataset, or of the MaterializedDataset that stands for one."""
    batches = getattr(dataset, "batches", None)
    if batches is None:
        batches = list(dataset.take(4).as_numpy_iterator())
    return [tuple(np.asarray(part) for part in batch) for batch in batches]


def _split(name: str, subset: Any, label: str, classes: list[str], images: dict[int, tuple[str, str]]) -> list[str]:
    """Check one subset's first batch and return the file names it holds (the whole subset fits in it)."""
    batches = _first_batches(subset)
    if not batches or len(batches[0]) != 2:
        raise CheckFailed(name, f"the {label} dataset does not yield (images, labels) batches.", "load with labels='inferred' (the default).")
    pixels, labels = batches[0]
    if pixels.ndim != 4 or pixels.shape[1:3] != (16, 16):
        raise CheckFailed(
            name,
            f"called with image_size=(16, 16), the {label} images have shape {pixels.shape[1:]}.",
            "pass image_size=image_size: the images of a folder have many sizes, and a batch needs one.",
        )
    if pixels.shape[3] != 3:
        raise CheckFailed(name, f"the {label} images have {pixels.shape[3]} channels.", "load RGB images: color_mode='rgb' (the default).")
    if labels.shape != (len(pixels),):
        raise CheckFailed(
            name,
            f"the {label} labels have shape {labels.shape}: one-hot vectors, not class numbers.",
            "pass label_mode='int': the model is trained with sparse_categorical_crossentropy, which takes class numbers.",
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
                f"an image of folder '{true_class}' has label {int(label_value)}, which class_names calls '{classes[int(label_value)]}'.",
                "let image_dataset_from_directory infer the labels from the folders (labels='inferred').",
            )
        files.append(f"{true_class}/{filename}")
    return files


def check_load_image_folder(load_image_folder: Callable) -> None:
    """load_image_folder(folder, image_size, batch_size, validation_split, seed) returns the two subsets of one shuffle."""
    name = "load_image_folder"
    with _temporary_folder() as root:  # the datasets read the files lazily: judge them while the folder exists
        images = write_loading_folder(root)
        _check_loaded_splits(name, root, images, load_image_folder)


def _check_loaded_splits(name: str, root: Path, images: dict[int, tuple[str, str]], load_image_folder: Callable) -> None:
    """Call load_image_folder on the folder `root` and judge the two subsets it returns."""
    result = load_image_folder(root, image_size=(16, 16), batch_size=64, validation_split=0.2, seed=7)
    small = load_image_folder(root, image_size=(16, 16), batch_size=4, validation_split=0.2, seed=7)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras reports the split even with verbose=False
        reference = keras.utils.image_dataset_from_directory(
            root, image_size=(16, 16), batch_size=64, validation_split=0.2, subset="validation", seed=7, verbose=False
        )
    reference_validation = sorted(Path(path).relative_to(root).as_posix() for path in reference.file_paths)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(name, f"returned {type(result).__name__}; expected a pair (training, validation).", "return train_ds, val_ds.")
    expected_classes = sorted(LOAD_CLASSES)
    for label, subset in zip(("training", "validation"), result):
        classes = getattr(subset, "class_names", None)
        if classes is None:
            raise CheckFailed(
                name,
                f"the {label} dataset has no class_names.",
                "return the datasets as image_dataset_from_directory makes them: cache(), shuffle() and prefetch() return "
                "new datasets without .class_names; the lesson's pipeline adds them afterwards.",
            )
        if list(classes) != expected_classes:
            raise CheckFailed(
                name,
                f"the {label} dataset's class_names are {list(classes)}; the folders, in Keras's order, are {expected_classes}.",
                "don't pass class_names: Keras sorts the folder names as strings ('10' before '2'), and any other order "
                "must be saved with the model and used everywhere.",
            )
    training = _split(name, result[0], "training", expected_classes, images)
    validation = _split(name, result[1], "validation", expected_classes, images)
    both = sorted(set(training) & set(validation))
    if both:
        raise CheckFailed(
            name,
            f"{len(both)} of the {len(images)} images are in both the training and the validation set ({', '.join(both[:3])}...).",
            "the two subsets must come from the same shuffle: pass the same seed=seed (and shuffle=True) to both "
            "calls, or make one call with subset='both'. Validation images the model trained on make its validation "
            "accuracy a lie.",
        )
    if len(training) + len(validation) != len(images):
        raise CheckFailed(
            name,
            f"with validation_split=0.2 the subsets hold {len(training)} and {len(validation)} of the {len(images)} images.",
            "pass validation_split=validation_split to both calls, and subset='training' / 'validation'.",
        )
    if sorted(validation) != reference_validation:
        raise CheckFailed(
            name,
            "called with seed=7, the validation set is not the one that seed gives.",
            "pass seed=seed: the same seed always gives the same split, so results can be compared between runs.",
        )
    first = _first_batches(small[0])[0][0]
    if len(first) != 4:
        raise CheckFailed(name, f"called with batch_size=4, the first training batch holds {len(first)} images.", "pass batch_size=batch_size.")


# -- build_folder_cnn --------------------------------------------------------------------------------

def check_build_folder_cnn(build_folder_cnn: Callable) -> None:
    """build_folder_cnn(num_classes, image_size) takes raw RGB images of any size: resizing and rescaling inside."""
    name = "build_folder_cnn"
    model = build_folder_cnn(num_classes=5, image_size=24)
    if not isinstance(model, keras.Model):
        raise CheckFailed(name, f"returned {type(model).__name__}, not a Keras model.", "return a keras.Sequential (or a functional keras.Model).")
    input_shape = tuple(model.input_shape)
    if input_shape[1:3] != (None, None):
        raise CheckFailed(
            name,
            f"the model takes images of shape {input_shape[1:]} only: resizing happens outside the model.",
            "start with keras.Input(shape=(None, None, 3)) and a layers.Resizing(image_size, image_size) layer, so the saved "
            "model takes a photo of any size, exactly as it comes from the file.",
        )
    if input_shape[3:] != (3,):
        raise CheckFailed(name, f"the model's input has {input_shape[3:]} channels.", "take RGB images: keras.Input(shape=(None, None, 3)).")
    layers_in_order = flat_layers(model)
    first_conv = next((i for i, layer in enumerate(layers_in_order) if isinstance(layer, keras.layers.Conv2D)), None)
    if first_conv is None:
        raise CheckFailed(name, "the model has no Conv2D layer.", "a CNN: add convolution blocks after the resizing and rescaling.")
    before = layers_in_order[:first_conv]
    resizing = [layer for layer in before if isinstance(layer, keras.layers.Resizing)]
    if not resizing:
        raise CheckFailed(
            name,
            "there is no Resizing layer before the first convolution.",
            "add layers.Resizing(image_size, image_size) right after the input: the model must bring any photo to the size it was trained on.",
        )
    if (resizing[0].height, resizing[0].width) != (24, 24):
        raise CheckFailed(
            name,
            f"called with image_size=24, the Resizing layer resizes to {resizing[0].height} x {resizing[0].width}.",
            "use Resizing(image_size, image_size).",
        )
    rescaling = [layer for layer in before if isinstance(layer, keras.layers.Rescaling)]
    if not rescaling:
        raise CheckFailed(
            name,
            "there is no Rescaling layer before the first convolution.",
            "add layers.Rescaling(1 / 255): the images arrive as pixel values 0-255, as they are in the files.",
        )
    scale, offset = float(np.squeeze(rescaling[0].scale)), float(np.squeeze(rescaling[0].offset))
    if not (np.isclose(scale, 1 / 255) and np.isclose(offset, 0.0)) and not (np.isclose(scale, 1 / 127.5) and np.isclose(offset, -1.0)):
        raise CheckFailed(
            name,
            f"the Rescaling layer multiplies by {scale:.6g} and adds {offset:g}: pixels 0-255 do not end in [0, 1] (or [-1, 1]).",
            "use layers.Rescaling(1 / 255) (scale=1/255, offset 0).",
        )
    rng = np.random.default_rng(0)
    for height, width in ((20, 36), (64, 48)):
        raw = rng.integers(0, 256, (2, height, width, 3)).astype(np.float32)
        output = np.asarray(model(raw, training=False))
        if output.shape != (2, 5):
            raise CheckFailed(
                name,
                f"for 2 images of {height} x {width} pixels and num_classes=5, the output has shape {output.shape}.",
                "end with layers.Dense(num_classes, activation='softmax'), after global average pooling or Flatten.",
            )
        if not np.all(np.isfinite(output)) or not np.allclose(output.sum(axis=1), 1.0, atol=1e-3):
            raise CheckFailed(name, "the outputs are not class probabilities (each row should sum to 1).", "use activation='softmax' on the last layer.")
    if model.count_params() > 1_000_000:
        raise CheckFailed(
            name,
            f"the model has {model.count_params():,} parameters.",
            "keep it under 1,000,000 so it trains in minutes on a CPU: a few convolution blocks and global average pooling.",
        )


# -- the saved model ---------------------------------------------------------------------------------

def check_class_names_sidecar(exercise: str, path: Path, saved_by: str) -> list[str]:
    """Return the class names saved next to a model (`NAME.classes.json`, see cnn_course.saving); fail with a hint when unusable."""
    if not path.is_file():
        raise NotAttempted(exercise, f"{exercise}: no class names at {path} yet. Run lesson {saved_by} to the end.")
    try:
        names = json.loads(path.read_text())["class_names"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckFailed(
            exercise, f"{path} is not a class-names file ({type(error).__name__}: {error}).", f"run lesson {saved_by} again to rewrite it."
        ) from None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise CheckFailed(
            exercise,
            f"{path} holds {names!r}, not a list of class names.",
            "save the model with saving.save_model_with_classes(model, path, train_ds.class_names).",
        )
    return names


def read_folder_images(folder: Path) -> tuple[np.ndarray, list[str]]:
    """Return the images of a folder of equal-size RGB files, uint8 (N, H, W, 3), and each one's class folder.

    Files are read in sorted order of their paths; only files with an image extension are read.
    """
    from PIL import Image

    paths = sorted(path for path in folder.glob("*/*") if path.suffix.lower() in IMAGE_SUFFIXES)
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    return np.stack(images), [path.parent.name for path in paths]


def check_folder_model_accuracy(
    exercise: str, model: keras.Model, class_names: list[str], images: np.ndarray, labels: list[str], threshold: float
) -> float:
    """Fail unless `model` classifies the held-out `images` with accuracy >= threshold; return the accuracy.

    `images` are uint8 (N, H, W, 3), the pixels as an image folder's files hold them (0-255; see
    `read_folder_images`); `labels` name each image's class folder; the model's outputs are named by
    `class_names`, which must be the held-out classes.
    """
    if tuple(model.input_shape[1:3]) != (None, None):
        raise CheckFailed(
            exercise,
            f"the saved model takes images of shape {tuple(model.input_shape[1:])} only: resizing happens outside the model.",
            "start the model with keras.Input(shape=(None, None, 3)) and a Resizing layer, so it takes a photo of any size.",
        )
    folder_classes = sorted(set(labels))
    if sorted(class_names) != folder_classes:
        raise CheckFailed(
            exercise,
            f"the saved class names are {class_names}; the held-out folder's classes are {folder_classes}.",
            "train on the lesson's CIFAR-10 folder and save train_ds.class_names next to the model.",
        )
    if model.output_shape[-1] != len(class_names):
        raise CheckFailed(
            exercise,
            f"the model has {model.output_shape[-1]} outputs for {len(class_names)} class names.",
            "save the class names of the dataset the model was trained on.",
        )
    predicted = np.argmax(predict_probabilities(model, images.astype(np.float32)), axis=1)
    accuracy = float(np.mean(np.array(class_names)[predicted] == np.array(labels)))
    if accuracy < threshold:
        raise CheckFailed(
            exercise,
            f"accuracy {accuracy:.2%} on the {len(labels):,} images of a held-out folder (the official CIFAR-10 test split); "
            f"at least {threshold:.2%} is required.",
            "the model must take the pixels as they are in the files (0-255: Rescaling(1 / 255) inside the model), and the "
            "class-names file must list the classes in the order of its outputs; then train with the lesson's settings.",
        )
    return accuracy
