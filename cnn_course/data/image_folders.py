"""Folders of image files, one subfolder per class: exported from CIFAR-10, with the mess real folders hold.

A learner's own photos arrive as `DIR/<class>/<file>.jpg`, not as arrays. `export_cifar10_folder`
writes CIFAR-10 images in that layout, as a stand-in that works offline; with `messy=True` it adds
what real folders contain (`add_messy_files`): a corrupt file, a grayscale and an RGBA image,
images of other sizes, hidden files and Jupyter's `.ipynb_checkpoints` folders.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import CIFAR10_CLASS_NAMES, load_cifar10

# The extensions keras.utils.image_dataset_from_directory reads (it compares them lower-cased).
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
SPLIT_SIZES = {"train": 5_000, "test": 1_000}  # CIFAR-10 images per class in each split
JPEG_QUALITY = 95
# The first bytes of a macOS "AppleDouble" file: the `._name` companion a Mac writes next to a
# file on a non-Mac disk. It holds metadata, not pixels, whatever its name says.
APPLEDOUBLE_HEADER = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


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
        raise ImageFolderError(f"--per-class must be between 1 and {SPLIT_SIZES[split]:,} for the {split} split, got {per_class}.")
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
                save_image(_resized(images[index], size), staging / name / f"{name}_{index:05d}.{extension}")
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


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    """Return the uint8 image (H, W, 3) resampled to (size, size, 3) with bicubic interpolation."""
    from PIL import Image

    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def save_image(pixels: np.ndarray, path: Path) -> None:
    """Save uint8 pixels (H, W), (H, W, 3) or (H, W, 4) to `path`, in the format its extension names."""
    from PIL import Image

    image = Image.fromarray(pixels)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(path, "PNG")


def add_messy_files(folder: Path, samples: dict[str, np.ndarray]) -> dict[str, str]:
    """Add to `folder` the problem files real image folders hold; return {relative path: what it is}.

    `samples` maps each class subfolder's name to one uint8 RGB image (H, W, 3) of that class, from
    which the extras are made. The extras are spread over the classes in alphabetical order
    (wrapping around when there are fewer than eight). Paths use POSIX separators.
    """
    from PIL import Image

    names = sorted(samples)

    def in_class(position: int, filename: str) -> tuple[str, np.ndarray]:
        name = names[position % len(names)]
        return f"{name}/{filename.format(name=name)}", samples[name]

    extras: dict[str, str] = {}

    def write(relative: str, content: bytes, description: str) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        extras[relative] = description

    def encoded(pixels: np.ndarray, image_format: str) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, image_format, **({"quality": JPEG_QUALITY} if image_format == "JPEG" else {}))
        return buffer.getvalue()

    relative, image = in_class(0, "{name}_truncated.jpg")
    whole = encoded(_resized(image, 64), "JPEG")
    write(relative, whole[: len(whole) // 2], "corrupt: a JPEG cut off halfway, as an interrupted download leaves it")
    relative = in_class(1, "._{name}_photo.png")[0]
    write(relative, APPLEDOUBLE_HEADER + bytes(4096 - len(APPLEDOUBLE_HEADER)), "hidden: a macOS '._' file, metadata and not an image despite its name")
    write(in_class(1, ".DS_Store")[0], bytes(64), "hidden: macOS folder settings, not an image")
    relative, image = in_class(2, "{name}_grayscale.png")
    write(relative, encoded(np.asarray(Image.fromarray(image).convert("L")), "PNG"), "grayscale: mode L, 1 channel")
    relative, image = in_class(3, "{name}_transparent.png")
    alpha = np.linspace(64, 255, image.shape[1], dtype=np.uint8)[None, :].repeat(image.shape[0], axis=0)
    write(relative, encoded(np.dstack([image, alpha]), "PNG"), "RGBA: 4 channels, the 4th a transparency mask")
    relative, image = in_class(4, "{name}_large.jpg")
    large = np.asarray(Image.fromarray(image).resize((128, 96), Image.Resampling.BICUBIC))
    write(relative, encoded(large, "JPEG"), "another size: 96 x 128 pixels (height x width), not square")
    relative, image = in_class(5, "{name}_small.png")
    small = np.asarray(Image.fromarray(image).resize((20, 20), Image.Resampling.BICUBIC))
    write(relative, encoded(small, "PNG"), "another size: 20 x 20 pixels")
    write(in_class(6, "notes.txt")[0], b"photos from the field trip, to sort\n", "not an image: a text file")
    write(".ipynb_checkpoints/Untitled-checkpoint.ipynb", b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n',
          "Jupyter's checkpoints folder at the top: a hidden folder, not a class")
    relative, image = in_class(7, ".ipynb_checkpoints/{name}_copy-checkpoint.png")
    write(relative, encoded(image, "PNG"), "a hidden folder inside a class folder: a copy of an image, which would be counted twice")
    return extras

