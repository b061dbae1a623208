"""Checks for lesson 07's folder exercises: counting a folder's images, reading a file's shape, loading the folder with Keras.

Each check writes its own small folder of images, with class names, sizes and colours drawn for the
run (`draws.generator`), in a temporary directory and passes its path to the exercise. Datasets come back from the exercise as tf.data datasets (in the lesson) or as their first
batches with `class_names` (across the grading boundary); the checks read only the first batches, so
the folders are small enough to fit in one batch.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed, ExerciseError
from cnn_course.data.image_folders import APPLEDOUBLE_HEADER, IMAGE_SUFFIXES, save_image, save_rotated_photo


@contextlib.contextmanager
def _temporary_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cnn-course-check-", ignore_cleanup_errors=True) as folder:  # Windows: a file the learner holds open
        yield Path(folder)


def _noise(height: int, width: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    """Draw uint8 noise (height, width[, channels])."""
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def class_names(rng: np.random.Generator, count: int) -> list[str]:
    """Draw `count` numbers as folder names, one of them from 10 to 19, so that sorting them as strings (as Keras
    does: '1x' before '2') differs from sorting them as numbers and from the reverse of either."""
    names = [str(n) for n in rng.choice(np.arange(2, 10), count - 1, replace=False)] + [str(rng.integers(10, 20))]
    return [names[i] for i in rng.permutation(count)]


# -- count_images_per_class -------------------------------------------------------------------------

# What makes a file of the counting folder special; a correct count counts the files with no
# property other than _UPPER_CASE and _NESTED.
_NOT_IMAGE, _HIDDEN_FILE, _HIDDEN_FOLDER = "not an image", "hidden file", "in a hidden folder"
_UPPER_CASE, _NESTED = "upper-case extension", "in a subfolder"
_COUNTED = frozenset({_UPPER_CASE, _NESTED})


def write_counting_folder(root: Path, rng: np.random.Generator) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Write a folder for `check_count_images_per_class` to count, with drawn class names and numbers of files.

    Return ({relative path: the file's properties}, the class names); the last class's folder is empty.
    """
    names = class_names(rng, 4)
    first, second, third = names[:3]
    files: dict[str, frozenset[str]] = {}
    for name in names[:3]:
        for index in range(int(rng.integers(2, 7))):
            files[f"{name}/{name}_{index}.png"] = frozenset()
        files[f"{name}/{name}_photo.jpeg"] = frozenset()
    files[f"{first}/IMG_{rng.integers(1000, 9999)}.JPG"] = frozenset({_UPPER_CASE})
    files[f"{second}/more/{second}_extra.png"] = frozenset({_NESTED})
    files[f"{second}/notes.txt"] = frozenset({_NOT_IMAGE})
    files[f"{third}/labels.csv"] = frozenset({_NOT_IMAGE})
    files[f"{first}/._{first}_0.png"] = frozenset({_HIDDEN_FILE})
    files[f"{third}/.DS_Store"] = frozenset({_HIDDEN_FILE, _NOT_IMAGE})
    files[f"{third}/.ipynb_checkpoints/{third}_0-checkpoint.png"] = frozenset({_HIDDEN_FOLDER, _NESTED})
    files[f".ipynb_checkpoints/{first}_0-checkpoint.png"] = frozenset({_HIDDEN_FOLDER})
    for relative, properties in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if _NOT_IMAGE in properties:
            path.write_text("not an image\n")
        elif _HIDDEN_FILE in properties:
            path.write_bytes(APPLEDOUBLE_HEADER + bytes(64))
        else:
            save_image(_noise(8, 8, 3, rng), path)
    (root / names[3]).mkdir()  # an empty class folder is a class too
    return files, names


def _with(files: dict[str, frozenset[str]], wanted: str) -> str:
    """The first file with property `wanted`."""
    return next(relative for relative, properties in files.items() if wanted in properties)


def _expected_counts(files: dict[str, frozenset[str]], names: list[str], counted: frozenset[str]) -> dict[str, int]:
    """Return the per-class counts of the files whose properties are all in `counted`."""
    counts = {name: 0 for name in sorted(names)}
    for relative, properties in files.items():
        top = relative.split("/")[0]
        if top in counts and properties <= counted:
            counts[top] += 1
    return counts


def check_count_images_per_class(count_images_per_class: Callable) -> None:
    """count_images_per_class(folder) returns {class: image files}, classes sorted as strings, hidden and non-image files skipped."""
    name = "count_images_per_class"
    with _temporary_folder() as root:
        files, names = write_counting_folder(root, generator(name))
        found = count_images_per_class(root)
    if not isinstance(found, dict):
        raise CheckFailed(name, f"returned {type(found).__name__}; expected a dict {{class name: count}}.", "build and return a dict.")
    expected = _expected_counts(files, names, _COUNTED)
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
    hidden_folder = _with(files, _HIDDEN_FOLDER).rsplit("/", 1)[0]
    mistakes = [
        (_COUNTED | {_NOT_IMAGE}, "it counts files that are not images (notes.txt, labels.csv).",
         f"count only files whose extension, lower-cased, is one Keras reads: {', '.join(IMAGE_SUFFIXES)}."),
        (_COUNTED | {_HIDDEN_FILE}, f"it counts hidden files ({_with(files, _HIDDEN_FILE)}).",
         "skip files whose name starts with '.': a '._' file is macOS metadata, not an image, even when its name ends in .png."),
        (_COUNTED | {_HIDDEN_FOLDER}, f"it counts files inside a hidden folder ({hidden_folder}/).",
         "skip every path with a part starting with '.': a checkpoint copy of an image would be counted twice."),
        (_COUNTED - {_UPPER_CASE}, f"it misses {_with(files, _UPPER_CASE)}.", "compare extensions in lower case: cameras often write .JPG."),
        (_COUNTED - {_NESTED}, f"it misses the images in a subfolder of a class ({_with(files, _NESTED).rsplit('/', 1)[0]}/).",
         "look in subfolders too (rglob or os.walk): Keras reads a class folder recursively."),
    ]
    for counted, problem, hint in mistakes:
        if counts == _expected_counts(files, names, frozenset(counted)):
            raise CheckFailed(name, problem, hint)
    raise CheckFailed(
        name,
        f"returned {counts}; expected {expected}.",
        "count, in each class folder and its subfolders, the files with an image extension (any case), skipping any path "
        "with a part that starts with '.'.",
    )


# -- image_shape -------------------------------------------------------------------------------------

def write_shape_files(root: Path, rng: np.random.Generator) -> dict[str, tuple[int, int, int] | None]:
    """Write the files `check_image_shape` reads, of drawn sizes (never square); return {file name: (height, width, channels) or None}."""
    from PIL import Image

    expected: dict[str, tuple[int, int, int] | None] = {}
    for filename, channels in (("rgb.png", 3), ("photo.jpg", 3), ("grayscale.png", 1), ("transparent.png", 4)):
        height, width = (int(n) for n in rng.choice(np.arange(6, 48), 2, replace=False))
        save_image(_noise(height, width, channels, rng), root / filename)
        expected[filename] = (height, width, channels)
    whole = root / "whole.jpg"
    Image.fromarray(_noise(64, 64, 3, rng)).save(whole, "JPEG", quality=95)
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
        expected = write_shape_files(root, generator(name))
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
        if values == shape[:2] and shape[2] == 1:
            raise CheckFailed(
                name,
                f"returned {values} for {filename}, a grayscale image: the channels are missing.",
                "a grayscale image decodes to a 2-D array, without a channel axis: count the bands the file stores "
                "(len(image.getbands())), which gives 1 for it.",
            )
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
    name: str, subset: Any, label: str, classes: list[str], images: dict[int, tuple[str, str]], image_size: tuple[int, int]
) -> list[str]:
    """Check one subset's first batch and return the file names it holds (the whole subset fits in it)."""
    batches = _first_batches(subset)
    if not batches or len(batches[0]) != 2:
        raise CheckFailed(name, f"the {label} dataset does not yield (images, labels) batches.", "load with labels='inferred' (the default).")
    pixels, labels = batches[0]
    if pixels.ndim != 4 or pixels.shape[1:3] != image_size:
        hint = "pass image_size=image_size: the images of a folder have many sizes, and a batch needs one."
        if pixels.ndim == 4 and pixels.shape[1:3] == image_size[::-1]:
            hint = "height and width are swapped: image_size is (height, width), as Keras takes it; pass it on as it is."
        raise CheckFailed(name, f"called with image_size={image_size}, the {label} images have shape {pixels.shape[1:]}.", hint)
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
    rng = generator(name)
    with _temporary_folder() as root:  # the datasets read the files lazily: judge them while the folder exists
        images, names = write_loading_folder(root, rng)
        _check_loaded_splits(name, root, images, names, load_image_folder, rng)


def _check_loaded_splits(
    name: str, root: Path, images: dict[int, tuple[str, str]], names: list[str], load_image_folder: Callable, rng: np.random.Generator
) -> None:
    """Call load_image_folder on the folder `root` with drawn arguments and judge the two subsets it returns."""
    image_size = tuple(int(n) for n in rng.choice(np.arange(10, 24), 2, replace=False))
    seed = int(rng.integers(1000))
    result = load_image_folder(root, image_size=image_size, batch_size=64, validation_split=0.2, seed=seed)
    small = load_image_folder(root, image_size=image_size, batch_size=4, validation_split=0.2, seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras reports the split even with verbose=False
        reference = keras.utils.image_dataset_from_directory(
            root, image_size=image_size, batch_size=64, validation_split=0.2, subset="validation", seed=seed, verbose=False
        )
    reference_validation = sorted(Path(path).relative_to(root).as_posix() for path in reference.file_paths)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(name, f"returned {type(result).__name__}; expected a pair (training, validation).", "return train_ds, val_ds.")
    expected_classes = sorted(names)
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
    training = _split(name, result[0], "training", expected_classes, images, image_size)
    validation = _split(name, result[1], "validation", expected_classes, images, image_size)
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
    if sorted(training) == reference_validation:
        raise CheckFailed(
            name,
            f"the first dataset returned holds {len(training)} images and the second {len(validation)}: they are swapped.",
            "return (training, validation), in that order: with subset='both', Keras returns the training subset first.",
        )
    validation_classes = sorted({path.split("/")[0] for path in validation})
    if sorted(validation) != reference_validation and len(validation_classes) == 1 and len(validation) > 1:
        raise CheckFailed(
            name,
            f"all {len(validation)} validation images are of class '{validation_classes[0]}', the last folder in Keras's order: "
            "the files were split in folder order, without shuffling.",
            "keep shuffle=True (the default): with shuffle=False, image_dataset_from_directory cuts the validation subset "
            "from the end of the files in folder order, so it holds the last class only, and the model is validated on a "
            "class it hardly trained on. The seed then decides nothing.",
        )
    if sorted(validation) != reference_validation:
        raise CheckFailed(
            name,
            f"called with seed={seed}, the validation set is not the one that seed gives.",
            "pass seed=seed: the same seed always gives the same split, so results can be compared between runs.",
        )
    first = _first_batches(small[0])[0][0]
    if len(first) != 4:
        raise CheckFailed(name, f"called with batch_size=4, the first training batch holds {len(first)} images.", "pass batch_size=batch_size.")
    with _temporary_folder() as root:
        write_orientation_folder(root)
        upright = load_image_folder(root, image_size=(16, 16), batch_size=64, validation_split=0.2, seed=7)
        pixels = _first_batches(upright[0])[0][0]
    top, bottom = pixels[:, :4].mean(axis=(1, 2, 3)), pixels[:, -4:].mean(axis=(1, 2, 3))
    if not np.all(top > bottom + 100):
        raise CheckFailed(
            name,
            f"{int(np.sum(top <= bottom + 100))} of {len(pixels)} training photos are not upright: their EXIF orientation tag says "
            "to turn them by 90 degrees, as a phone does when it is held sideways, and they were loaded as stored, on their side.",
            "Keras's image_dataset_from_directory ignores the tag: load with image_folders.image_dataset_from_directory "
            "(from cnn_course.data, the same arguments), which turns each photo upright as cnn-course predict and serve do.",
        )


def write_orientation_folder(root: Path) -> None:
    """Write two classes of five photos 24 x 12 pixels, bright at the top when upright, stored turned with EXIF tags 6 and 8."""
    upright = np.zeros((24, 12, 3), np.uint8)
    upright[:12] = 255
    for name, orientation in (("a", 6), ("b", 8)):
        (root / name).mkdir()
        for index in range(5):
            save_rotated_photo(upright, root / name / f"IMG_{index}.jpg", orientation)
