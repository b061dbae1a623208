"""Image files written as phones and real folders hold them: JPEGs stored turned with their EXIF orientation tag,
and the problem files (`add_messy_files`) a folder of photos gathers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

ORIENTATION_TAG = 0x0112  # EXIF: how a viewer turns the stored pixels to show the photo upright (1: as stored)
# Per tag, the turn that stores an upright image: Pillow's ImageOps.exif_transpose undoes it.
STORED_TURNS = {3: "ROTATE_180", 6: "ROTATE_90", 8: "ROTATE_270"}
JPEG_QUALITY = 95
# The first bytes of a macOS "AppleDouble" file: the `._name` companion a Mac writes next to a
# file on a non-Mac disk. It holds metadata, not pixels, whatever its name says.
APPLEDOUBLE_HEADER = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
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


def save_rotated_photo(upright: np.ndarray, path: Path, orientation: int) -> None:
    """Save uint8 pixels (H, W, 3) as a JPEG as a phone does: stored turned, with the EXIF orientation tag that
    turns it upright (3: half a turn, 6: a quarter turn clockwise, 8: a quarter turn anticlockwise).

    Raises KeyError for another tag.
    """
    from PIL import Image

    stored = Image.fromarray(upright).transpose(getattr(Image.Transpose, STORED_TURNS[orientation]))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    stored.save(path, "JPEG", quality=JPEG_QUALITY, exif=exif.tobytes())


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
        Image.fromarray(pixels).save(
            buffer, image_format, **({"quality": JPEG_QUALITY} if image_format == "JPEG" else {})
        )
        return buffer.getvalue()

    relative, image = in_class(0, "{name}_truncated.jpg")
    whole = encoded(resize_square(image, 64), "JPEG")
    write(relative, whole[: len(whole) // 2], "corrupt: a JPEG cut off halfway, as an interrupted download leaves it")
    relative = in_class(1, "._{name}_photo.png")[0]
    write(
        relative,
        APPLEDOUBLE_HEADER + bytes(4096 - len(APPLEDOUBLE_HEADER)),
        "hidden: a macOS '._' file, metadata and not an image despite its name",
    )
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
    write(
        ".ipynb_checkpoints/Untitled-checkpoint.ipynb",
        b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n',
        "Jupyter's checkpoints folder at the top: a hidden folder, not a class",
    )
    relative, image = in_class(7, ".ipynb_checkpoints/{name}_copy-checkpoint.png")
    write(
        relative,
        encoded(image, "PNG"),
        "a hidden folder inside a class folder: a copy of an image, which would be counted twice",
    )
    return extras
