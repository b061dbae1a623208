"""Image files into model inputs: the one preprocessing path of training, `predict`, `serve` and lesson 9.

Training feeds the course's models uint8 pixels scaled to float32 [0, 1] by `data.scale_images`,
channels last, at the dataset's size; the models standardise their inputs themselves (a
`Normalization` layer inside the model). An image file goes the same way: decoded, turned into
the model's number of channels, resized to the model's height and width (unless the model takes
any size), then scaled by the same `data.scale_images`. A model that rescales its inputs itself
(lesson 7's model, trained on image folders: a `Rescaling` layer first) gets the pixel values 0-255
as they are in the file, as it did in training.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_course.data.preprocessing import scale_images

# A decoded image larger than this is refused: a small compressed file can expand to gigabytes. Pillow's own limit
# (about 89 million pixels, 268 MB as RGB) lets through every phone's full-resolution photo (48-64 MP).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
_BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, as a browser would


class ImageError(ValueError):
    """A file that cannot be used as an image: unreadable, not an image, corrupt, or too large."""


def decode_image(source: str | Path | bytes, name: str | None = None) -> Image.Image:
    """Decode a PNG, JPEG (or any format Pillow reads) from a path or bytes; return a loaded PIL image.

    EXIF orientation is applied, so a phone photo comes out the right way up. `name` labels the
    source in error messages (default: the path, or "the upload").
    Raises ImageError naming the source when it is missing, not an image, truncated or too large.
    """
    label = name or (str(source) if isinstance(source, str | Path) else "the upload")
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise ImageError(f"{label}: cannot be read ({error.strerror or error}).") from None
    with stream, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream)
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(
                    f"{label}: {image.width}x{image.height} pixels is too large (at most {MAX_PIXELS:,} pixels)."
                )
            image.load()
            return ImageOps.exif_transpose(image)
        except UnidentifiedImageError:
            raise ImageError(f"{label}: not an image file Pillow can read (expected PNG or JPEG).") from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageError(f"{label}: too many pixels to decode safely (at most {MAX_PIXELS:,}).") from None
        except (OSError, SyntaxError, ValueError) as error:
            if isinstance(error, ImageError):
                raise
            raise ImageError(f"{label}: corrupt or truncated image ({error}).") from None


def to_channels(image: Image.Image, channels: int) -> np.ndarray:
    """Return `image` as uint8 pixels (H, W, channels): 1 = grayscale, 3 = RGB.

    Transparent pixels are composited on white; 16-bit images are reduced to 8 bits.
    Raises ImageError for another number of channels.
    """
    if channels not in (1, 3):
        raise ImageError(f"models taking {channels} channels are not supported: only 1 (grayscale) or 3 (RGB).")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if image.mode.startswith("I;16") or pixels.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(pixels / scale * 255 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba)
    pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return pixels[..., np.newaxis] if channels == 1 else pixels


def prepare_image(image: Image.Image, input_shape: Sequence[int | None], raw_pixels: bool = False) -> np.ndarray:
    """Turn a decoded image into one model input: float32 (H, W, C) in [0, 1], or 0-255 with `raw_pixels`.

    `input_shape` is the model's input shape without the batch axis, (H, W, C); where H and W are
    None (the model takes any size, resizing inside itself) the image keeps its size. Resizing
    uses bilinear interpolation with antialiasing (Pillow's), then pixels are scaled exactly as in
    training (`data.scale_images`), unless `raw_pixels` (a model that rescales its inputs itself,
    see `takes_raw_pixels`). Raises ImageError for an input shape that is not (H, W, 1 or 3).
    """
    if len(input_shape) != 3 or input_shape[-1] is None:
        raise ImageError(
            f"the model takes inputs of shape {tuple(input_shape)}; only images (H, W, 1 or 3) are supported."
        )
    height, width, channels = input_shape
    pixels = to_channels(image, channels)
    if height is not None and width is not None and pixels.shape[:2] != (height, width):
        resized = Image.fromarray(pixels[..., 0] if channels == 1 else pixels).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        pixels = np.asarray(resized, dtype=np.uint8).reshape(height, width, channels)
    return pixels.astype(np.float32) if raw_pixels else scale_images(pixels)


def load_image(
    source: str | Path | bytes, input_shape: Sequence[int | None], name: str | None = None, raw_pixels: bool = False
) -> np.ndarray:
    """Decode an image file (path or bytes) into a model input: float32 (H, W, C) in [0, 1] (0-255 with `raw_pixels`).

    Raises ImageError (naming the file) for anything that is not a readable image.
    """
    return prepare_image(decode_image(source, name), input_shape, raw_pixels)


def takes_raw_pixels(model) -> bool:
    """True when a Keras model rescales its inputs itself: a Rescaling layer comes before its first layer with weights.

    Such a model (lesson 7's, or a Keras application with its built-in preprocessing) takes pixel
    values 0-255, as they are in the file; the course's other models take pixels in [0, 1].
    """
    import keras

    from cnn_course.models import flat_layers

    for layer in flat_layers(model):
        if isinstance(layer, keras.layers.Rescaling):
            return True
        if layer.weights and not isinstance(layer, keras.layers.Normalization):
            return False
    return False


def model_input_shape(model) -> tuple[int | None, int | None, int]:
    """Return the (H, W, C) a Keras model takes, without the batch axis; ImageError if it takes no images."""
    shape = model.input_shape
    if isinstance(shape, list):
        raise ImageError(f"the model has {len(shape)} inputs; predicting on images needs a model with one image input.")
    shape = tuple(shape[1:])
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ImageError(f"the model takes inputs of shape {shape}; only images (H, W, 1 or 3) are supported.")
    return shape
