"""Image files made from test-set arrays, in the formats and modes of real files, to try `predict` and `serve` on."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_course.labels import class_indices


def write_sample_images(
    folder: str | Path, images: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> list[Path]:
    """Write test images as files of five kinds, plus one corrupt file; return the paths in order.

    `images` are uint8 (N, H, W, C) with C = 1 or 3, `labels` their int classes (N,) or (N, 1), or a list. Image i is
    written as `i_class.png` (native size), then in turn as JPEG, enlarged to a 200x150 PNG,
    grayscale PNG (a colour model must convert it) and RGBA PNG with a transparent border;
    `corrupt.jpg` is a JPEG cut off after 200 bytes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be uint8 (N, H, W, 1 or 3), got {images.dtype} {images.shape}.")
    labels = class_indices(labels, count=len(images), num_classes=len(class_names))
    paths = []
    for index, (pixels, label) in enumerate(zip(images, labels)):
        image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        stem = folder / f"{index}_{class_names[int(label)]}"
        kind = index % 5
        if kind == 0:
            path = stem.with_suffix(".png")
            image.save(path)
        elif kind == 1:
            path = stem.with_suffix(".jpg")
            image.convert("RGB").save(path, quality=92)
        elif kind == 2:
            path = stem.with_name(stem.name + "_200x150.png")
            image.resize((200, 150), Image.Resampling.BICUBIC).save(path)
        elif kind == 3:
            path = stem.with_name(stem.name + "_gray.png")
            image.convert("L").save(path)
        else:
            path = stem.with_name(stem.name + "_rgba.png")
            rgba = image.convert("RGBA")
            alpha = np.full(rgba.size[::-1], 255, dtype=np.uint8)
            alpha[:2, :] = alpha[-2:, :] = 0
            rgba.putalpha(Image.fromarray(alpha))
            rgba.save(path)
        paths.append(path)
    buffer = io.BytesIO()
    Image.fromarray(images[0][..., 0] if images.shape[-1] == 1 else images[0]).convert("RGB").save(
        buffer, format="JPEG"
    )
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(buffer.getvalue()[:200])
    paths.append(corrupt)
    return paths
