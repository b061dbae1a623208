"""Folders of image files, one subfolder per class: loaded for training, and exported from CIFAR-10 with the mess
real folders hold.

A learner's own photos arrive as `DIR/<class>/<file>.jpg`, not as arrays. `image_dataset_from_directory`
loads such a folder as Keras's function of the same name does, but decodes every file through
`cnn_course.images`, the path `cnn-course predict` and `serve` take: a photo is turned upright by its
EXIF orientation tag, as every photo viewer shows it. `export_cifar10_folder` writes CIFAR-10 images in
that layout, as a stand-in that works offline; with `messy=True` it adds what real folders contain
(`add_messy_files`): a corrupt file, a grayscale and an RGBA image, images of other sizes, hidden files
and Jupyter's `.ipynb_checkpoints` folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import CIFAR10_CLASS_NAMES, load_cifar10
from .image_files import ORIENTATION_TAG, add_messy_files, resize_square, save_image  # noqa: F401  (ORIENTATION_TAG: lesson 7 reads it here)

# The extensions of the image files the course reads, compared lower-cased: those
# keras.utils.image_dataset_from_directory reads, and WebP, which Keras skips.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
LABEL_MODES = ("int", "categorical")
COLOR_MODES = {"rgb": 3, "grayscale": 1}
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
SPLIT_SIZES = {"train": 5_000, "test": 1_000}  # CIFAR-10 images per class in each split


class ImageFolderError(Exception):
    """A folder cannot be written as asked; the message says why and what to do."""


@dataclass
class ExportSummary:
    """What `export_cifar10_folder` wrote.

    folder: the folder written. class_names: its class subfolders, in alphabetical order.
    images: how many CIFAR-10 images were written (messy extras not included).
    messy: each extra file's path relative to `folder` (POSIX separators) and what it is.
    """

    folder: Path
    class_names: list[str]
    images: int
    messy: dict[str, str] = field(default_factory=dict)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def list_image_folder(
    directory: str | Path, class_names: list[str] | None = None
) -> tuple[list[str], np.ndarray, list[str]]:
    """List the image files of a folder of class subfolders, as Keras does; return (paths, labels, class names).

    Classes are the subfolders not starting with '.', in sorted order of their names as strings
    ('10' before '2'), or `class_names` in the order given. A class's images are the files with an
    extension in IMAGE_SUFFIXES (any case) anywhere inside its folder, walked in sorted order; hidden
    files and files in hidden folders are skipped. Labels are int32 class numbers (N,).

    Raises ImageFolderError when `directory` is not a folder, holds no class folder or no image,
    or `class_names` names a folder that is not there.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ImageFolderError(f"{root} is not a folder: name the folder that holds one subfolder per class of images.")
    found = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not _is_hidden(entry.name))
    if class_names is not None:
        missing = [name for name in class_names if name not in found]
        if missing:
            raise ImageFolderError(f"class_names {missing} are not subfolders of {root}; its class folders: {found}.")
        found = list(class_names)
    if not found:
        raise ImageFolderError(f"{root} has no class subfolders: put each class's images in a subfolder of its name.")
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(found):
        walked = []
        for folder, subfolders, files in os.walk(root / name):
            subfolders[:] = [sub for sub in subfolders if not _is_hidden(sub)]
            walked.append((folder, files))
        for folder, files in sorted(walked, key=lambda pair: pair[0]):
            for file in sorted(files):
                if not _is_hidden(file) and file.lower().endswith(IMAGE_SUFFIXES):
                    paths.append(os.path.join(folder, file))
                    labels.append(label)
    if not paths:
        raise ImageFolderError(
            f"{root} holds no image files in its class folders {found} (extensions read: {', '.join(IMAGE_SUFFIXES)})."
        )
    return paths, np.array(labels, dtype=np.int32), list(found)


def image_dataset_from_directory(
    directory: str | Path,
    labels: str = "inferred",
    label_mode: str = "int",
    class_names: list[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    verbose: bool = True,
) -> Any:
    """Load a folder of images, one subfolder per class, as keras.utils.image_dataset_from_directory does, but upright.

    The arguments, the files listed, the class numbers and the split are Keras's (same seed, same
    validation files), except that hidden files are skipped and WebP files are read. Each file is
    decoded by `cnn_course.images`, the path of `cnn-course predict` and `serve`: turned upright by
    its EXIF orientation tag, transparent pixels on white, 16-bit images to 8 bits, the first frame
    of an animation; then resized to `image_size` with bilinear interpolation, as a model's
    `Resizing` layer does.

    Args:
        directory: the folder; see `list_image_folder` for what it holds.
        labels: only "inferred" (from the class folders).
        label_mode: "int" (int32 class numbers (N,)) or "categorical" (float32 one-hot (N, classes)).
        class_names: the class folders to read, in the order of their numbers (default: all, sorted).
        color_mode: "rgb" (3 channels) or "grayscale" (1).
        batch_size: images per batch.
        image_size: (height, width) in pixels of every image.
        shuffle: shuffle the list of files (with `seed`) and, for the training set, the images at every epoch.
        seed: the shuffle's seed; needed with `validation_split` and `shuffle`.
        validation_split: the fraction of the files held out for validation, between 0 and 1.
        subset: with `validation_split`: "training", "validation", or "both" (returns [training, validation]).
        verbose: print how many files and classes were found, and the split.

    Returns:
        A tf.data.Dataset of batches (images float32 (N, height, width, channels) with values 0-255,
        labels), with attributes `class_names` and `file_paths`; with subset="both", a list of two.

    Raises:
        ValueError: an argument Keras would refuse, or a split that leaves a subset without an image.
        ImageFolderError: see `list_image_folder`.
    A file that cannot be decoded stops the iteration with an error naming it (cnn_course.images.ImageError).
    """
    if labels != "inferred":
        raise ValueError(f"labels={labels!r}: only 'inferred' is supported (the class of an image is its folder).")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode={label_mode!r}: choose 'int' (class numbers) or 'categorical' (one-hot vectors).")
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode={color_mode!r}: choose 'rgb' or 'grayscale'.")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"validation_split={validation_split}: give a fraction between 0 and 1, e.g. 0.2.")
    subsets = {"training": ("training",), "validation": ("validation",), "both": ("training", "validation")}
    if (subset is None) != (validation_split is None):
        raise ValueError(
            "validation_split and subset go together: pass both (subset='training', 'validation' or 'both') or neither."
        )
    if subset is not None and subset not in subsets:
        raise ValueError(f"subset={subset!r}: choose 'training', 'validation' or 'both'.")
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(
            "with validation_split and shuffle, pass a seed (e.g. seed=42), so that every call splits the files alike."
        )
    paths, numbers, names = list_image_folder(directory, class_names)
    if shuffle:
        order = np.arange(len(paths))
        np.random.RandomState(seed if seed is not None else np.random.randint(1_000_000)).shuffle(order)
        paths, numbers = [paths[i] for i in order], numbers[order]
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if subset is None:
        return _folder_dataset(paths, numbers, names, label_mode, color_mode, batch_size, image_size, shuffle, seed)
    held_out = int(validation_split * len(paths))
    if not 0 < held_out < len(paths):
        empty = "validation" if held_out == 0 else "training"
        raise ValueError(
            f"validation_split={validation_split} of {len(paths)} images leaves no image for {empty}: "
            "add images, or change validation_split."
        )
    datasets = []
    for name in subsets[subset]:
        part = slice(None, -held_out) if name == "training" else slice(-held_out, None)
        if verbose:
            print(f"Using {len(paths[part])} files for {name}.")
        options = (label_mode, color_mode, batch_size, image_size, shuffle and name == "training", seed)
        datasets.append(_folder_dataset(paths[part], numbers[part], names, *options))
    return datasets if subset == "both" else datasets[0]


def _folder_dataset(
    paths: list[str],
    numbers: np.ndarray,
    class_names: list[str],
    label_mode: str,
    color_mode: str,
    batch_size: int,
    image_size: tuple[int, int],
    shuffle: bool,
    seed: int | None,
) -> Any:
    """Return the batched tf.data.Dataset of these files and labels, with `class_names` and `file_paths` set."""
    import tensorflow as tf

    from cnn_course.images import decode_image, to_channels

    channels = COLOR_MODES[color_mode]
    height, width = image_size

    def decode(path: tf.Tensor) -> np.ndarray:
        return to_channels(decode_image(os.fsdecode(path.numpy())), channels)

    def load(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pixels = tf.py_function(decode, [path], tf.uint8)
        pixels.set_shape((None, None, channels))
        image = tf.image.resize(pixels, (height, width), method="bilinear")
        image.set_shape((height, width, channels))
        return image, label

    labels = tf.one_hot(numbers, len(class_names)) if label_mode == "categorical" else numbers
    dataset = tf.data.Dataset.from_tensor_slices(([os.fsencode(path) for path in paths], labels))
    if shuffle:
        dataset = dataset.shuffle(buffer_size=batch_size * 8, seed=seed)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    dataset.class_names = list(class_names)
    dataset.file_paths = list(paths)
    return dataset


def export_cifar10_folder(
    out: str | Path,
    per_class: int = 100,
    size: int = 32,
    messy: bool = False,
    split: str = "train",
    image_format: str = "png",
    data_dir: str | Path | None = None,
) -> ExportSummary:
    """Write the first `per_class` images of each CIFAR-10 class of `split` as files, one subfolder per class.

    Files are `out/<class>/<class>_<index>.<ext>`, `index` being the image's position in the split
    (5 digits), so the same arguments always write the same files. Images are `size` x `size`
    pixels RGB (resampled with bicubic interpolation when `size` is not 32), saved as PNG
    (lossless) or JPEG (quality 95). The whole folder is written next to `out` first and moved into
    place at the end, so an interrupted export leaves no half-written folder.

    Args:
        out: the folder to create; it must not exist, or be empty.
        per_class: images per class, 1 to 5,000 (train) or 1,000 (test).
        size: side of the square images in pixels, 8 to 512.
        messy: also write the problem files of `add_messy_files`.
        split: "train" or "test", the official CIFAR-10 split to take the images from.
        image_format: "png" or "jpeg".
        data_dir: the folder with the official CIFAR-10 files (default: $CNN_COURSE_DATA, else keras.datasets).

    Returns:
        An ExportSummary.

    Raises:
        ImageFolderError: a bad argument, `out` holding files already, or `out` not writable.
        DataError: CIFAR-10 cannot be loaded (the message says how to get it).
    """
    out = Path(out).expanduser()
    if split not in SPLIT_SIZES:
        raise ImageFolderError(f"unknown split '{split}': choose 'train' (5,000 images per class) or 'test' (1,000).")
    if not 1 <= per_class <= SPLIT_SIZES[split]:
        raise ImageFolderError(
            f"--per-class must be between 1 and {SPLIT_SIZES[split]:,} for the {split} split, got {per_class}."
        )
    if not 8 <= size <= 512:
        raise ImageFolderError(f"--size must be between 8 and 512 pixels, got {size}.")
    if image_format not in IMAGE_FORMATS:
        raise ImageFolderError(f"unknown image format '{image_format}': choose one of {', '.join(IMAGE_FORMATS)}.")
    _check_destination(out)

    (x_train, y_train), (x_test, y_test) = load_cifar10(data_dir)
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    extension = "jpg" if image_format == "jpeg" else "png"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        written = 0
        samples = {}
        for label, name in enumerate(CIFAR10_CLASS_NAMES):
            (staging / name).mkdir()
            indices = np.flatnonzero(labels == label)[:per_class]
            samples[name] = images[indices[0]]
            for index in indices:
                save_image(resize_square(images[index], size), staging / name / f"{name}_{index:05d}.{extension}")
                written += 1
        extras = add_messy_files(staging, samples) if messy else {}
        if out.exists():
            out.rmdir()  # empty, as _check_destination made sure
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportSummary(out, sorted(CIFAR10_CLASS_NAMES), written, extras)


def _check_destination(out: Path) -> None:
    """Raise ImageFolderError unless `out` is absent or an empty folder."""
    if out.is_dir():
        if any(out.iterdir()):
            raise ImageFolderError(
                f"{out} already holds files; nothing was written, so that nothing of yours is overwritten. "
                "Name a new folder (or an empty one), or delete this one yourself if you no longer need it."
            )
    elif out.exists():
        raise ImageFolderError(f"{out} is a file, not a folder: name a folder to create.")
