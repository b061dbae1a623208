"""Image files into model inputs: every mode and size becomes what training fed the model."""

import io

import numpy as np
import pytest
from PIL import Image

from cnn_course.data import scale_images
from cnn_course.images import ImageError, load_image

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)


def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:  # noqa: A002 - Pillow's name
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def test_a_png_at_the_models_size_is_exactly_the_training_input():
    loaded = load_image(encoded(Image.fromarray(PIXELS)), (32, 32, 3))
    assert loaded.dtype == np.float32 and loaded.shape == (32, 32, 3)
    np.testing.assert_array_equal(loaded, scale_images(PIXELS))


def test_a_path_and_bytes_give_the_same_input(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(PIXELS).save(path)
    np.testing.assert_array_equal(load_image(path, (32, 32, 3)), load_image(path.read_bytes(), (32, 32, 3)))


def test_a_jpeg_is_close_to_the_original():
    ramp = np.linspace(0, 255, 32).astype(np.uint8)
    smooth = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 128), axis=-1).astype(
        np.uint8
    )  # JPEG's kind of image
    loaded = load_image(encoded(Image.fromarray(smooth), "JPEG", quality=95), (32, 32, 3))
    assert np.abs(loaded - scale_images(smooth)).max() < 0.05


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "1", "LA"])
def test_every_mode_becomes_rgb_or_grayscale(mode):
    data = encoded(Image.fromarray(PIXELS).convert(mode), "JPEG" if mode == "CMYK" else "PNG")
    for shape in ((32, 32, 3), (28, 28, 1)):
        loaded = load_image(data, shape)
        assert loaded.shape == shape and loaded.dtype == np.float32
        assert loaded.min() >= 0 and loaded.max() <= 1


def test_grayscale_to_rgb_repeats_the_gray_level():
    gray = PIXELS[..., 0]
    loaded = load_image(encoded(Image.fromarray(gray)), (32, 32, 3))
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], scale_images(gray))


def test_transparent_pixels_are_white():
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    loaded = load_image(encoded(Image.fromarray(rgba)), (32, 32, 3))
    np.testing.assert_array_equal(loaded, 1.0)


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    wide = PIXELS[..., 0].astype(np.uint16) * 257
    loaded = load_image(encoded(Image.fromarray(wide)), (32, 32, 1))
    np.testing.assert_allclose(loaded[..., 0], scale_images(PIXELS[..., 0]), atol=1e-6)


def test_other_sizes_are_resized_and_free_sizes_kept():
    data = encoded(Image.fromarray(PIXELS).resize((200, 150)))
    assert load_image(data, (32, 32, 3)).shape == (32, 32, 3)
    assert load_image(data, (None, None, 3)).shape == (150, 200, 3)


def test_exif_orientation_is_applied():
    image = Image.fromarray(PIXELS[:, :16])  # 16 wide, 32 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    loaded = load_image(encoded(image, "JPEG", exif=exif), (None, None, 3))
    assert loaded.shape == (16, 32, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image at all", "not an image file"),
        (encoded(Image.fromarray(PIXELS), "JPEG")[:200], "corrupt or truncated"),
        (b"", "not an image file"),
    ],
)
def test_bad_files_raise_a_clear_error_naming_the_file(data, message):
    with pytest.raises(ImageError, match=message) as error:
        load_image(data, (32, 32, 3), name="holiday.jpg")
    assert str(error.value).startswith("holiday.jpg: ")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ImageError, match="missing.png: cannot be read"):
        load_image(tmp_path / "missing.png", (32, 32, 3))


def test_a_decompression_bomb_is_refused():
    huge = encoded(Image.new("L", (10_000, 9_000)))  # 90 million pixels in a file of a few hundred KB
    with pytest.raises(ImageError, match="too large|too many pixels"):
        load_image(huge, (32, 32, 1))


def test_a_48_megapixel_phone_photo_is_decoded():
    """Phones save 48-64 MP photos at full resolution; they are photos, not decompression bombs."""
    pixels = load_image(encoded(Image.new("RGB", (8000, 6000), (200, 30, 30)), "JPEG"), (32, 32, 3))
    assert pixels.shape == (32, 32, 3) and abs(float(pixels[..., 0].mean()) - 200 / 255) < 0.02
