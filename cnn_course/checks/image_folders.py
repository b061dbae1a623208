"""Checks for lesson 07's folder-reading exercises: counting a folder's images and reading an image file's shape.

Each check writes its own small folder of images, with class names, sizes and contents drawn for the
run (`draws.generator`), in a temporary directory and passes its path to the exercise.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed, ExerciseError
from cnn_course.data.image_files import APPLEDOUBLE_HEADER, save_image
from cnn_course.data.image_folders import IMAGE_SUFFIXES


@contextlib.contextmanager
def temporary_folder() -> Iterator[Path]:
    """A temporary folder for a check's files, removed afterwards as far as it can be (Windows keeps open files)."""
    with tempfile.TemporaryDirectory(prefix="cnn-course-check-", ignore_cleanup_errors=True) as folder:
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
    """count_images_per_class(folder) gives {class: image files}, sorted as strings, hidden and non-images skipped."""
    name = "count_images_per_class"
    with temporary_folder() as root:
        files, names = write_counting_folder(root, generator(name))
        found = count_images_per_class(root)
    if not isinstance(found, dict):
        raise CheckFailed(
            name, f"returned {type(found).__name__}; expected a dict {{class name: count}}.", "build and return a dict."
        )
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
            "each subfolder of `folder` is a class, even an empty one (count 0); "
            "files at the top level belong to no class.",
        )
    if keys != list(expected):
        raise CheckFailed(
            name,
            f"the classes come in the order {keys}; Keras numbers them {list(expected)}.",
            "Keras sorts the class folders by name, as strings, so '10' comes before '2': "
            "return them in sorted() order, the order of the labels the model will learn.",
        )
    counts = {str(key): value for key, value in found.items()}
    if not all(isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in counts.values()):
        raise CheckFailed(
            name,
            f"the counts are {counts}; expected whole numbers.",
            "count the files: len(...) of a list, or a running total.",
        )
    if counts == expected:
        return
    hidden_folder = _with(files, _HIDDEN_FOLDER).rsplit("/", 1)[0]
    mistakes = [
        (
            _COUNTED | {_NOT_IMAGE},
            "it counts files that are not images (notes.txt, labels.csv).",
            f"count only files whose extension, lower-cased, is one Keras reads: {', '.join(IMAGE_SUFFIXES)}.",
        ),
        (
            _COUNTED | {_HIDDEN_FILE},
            f"it counts hidden files ({_with(files, _HIDDEN_FILE)}).",
            "skip files whose name starts with '.': a '._' file is macOS metadata, not an image, "
            "even when its name ends in .png.",
        ),
        (
            _COUNTED | {_HIDDEN_FOLDER},
            f"it counts files inside a hidden folder ({hidden_folder}/).",
            "skip every path with a part starting with '.': a checkpoint copy of an image would be counted twice.",
        ),
        (
            _COUNTED - {_UPPER_CASE},
            f"it misses {_with(files, _UPPER_CASE)}.",
            "compare extensions in lower case: cameras often write .JPG.",
        ),
        (
            _COUNTED - {_NESTED},
            f"it misses the images in a subfolder of a class ({_with(files, _NESTED).rsplit('/', 1)[0]}/).",
            "look in subfolders too (rglob or os.walk): Keras reads a class folder recursively.",
        ),
    ]
    for counted, problem, hint in mistakes:
        if counts == _expected_counts(files, names, frozenset(counted)):
            raise CheckFailed(name, problem, hint)
    raise CheckFailed(
        name,
        f"returned {counts}; expected {expected}.",
        "count, in each class folder and its subfolders, the files with an image extension (any case), "
        "skipping any path with a part that starts with '.'.",
    )


# -- image_shape -------------------------------------------------------------------------------------


def write_shape_files(root: Path, rng: np.random.Generator) -> dict[str, tuple[int, int, int] | None]:
    """Write the files `check_image_shape` reads, of drawn sizes (never square).

    Return {file name: (height, width, channels) or None}.
    """
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
    with temporary_folder() as root:
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
                    "._photo.png": (
                        "it is a macOS '._' metadata file named like a PNG: decode the file, don't trust its name."
                    ),
                    "text.png": "it is a text file named like a PNG: decode the file, don't trust its name.",
                }[filename]
                raise CheckFailed(
                    name,
                    f"returned {result!r} for {filename}, which cannot be decoded.",
                    f"return None for it: {detail}",
                )
            continue
        if result is None:
            raise CheckFailed(
                name,
                f"returned None for {filename}, a valid image of shape {shape}.",
                "return None only when decoding fails.",
            )
        try:
            values = tuple(int(value) for value in result)
        except (TypeError, ValueError):
            raise CheckFailed(
                name,
                f"returned {result!r} for {filename}; expected a tuple (height, width, channels).",
                "return three integers.",
            ) from None
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
        raise CheckFailed(
            name,
            f"returned {values} for {filename}; expected {shape}.",
            "return (height, width, channels) of the decoded pixels.",
        )
