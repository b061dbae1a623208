"""Checks for lesson 09: loading image files as the model expects, and top-k predictions (the web app's checks are in
`cnn_course.checks.serving_app`)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from cnn_course.checks.arrays import expect_array, expect_shape
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed
from cnn_course.data.preprocessing import scale_images
from cnn_course.images import load_image as reference_load_image
from cnn_course.inference import as_probabilities
from cnn_course.inference import top_k as reference_top_k

NAME_POOL = ("airplane", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", "tulip", "rose", "daisy")
INPUT_SHAPE = (16, 16, 3)
UPLOAD_LIMIT = 200_000


def drawn_classes(exercise: str) -> tuple[list[str], int, int]:
    """The run's class names (4 of NAME_POOL, in a drawn order), model seed and image seed for `exercise`'s check."""
    rng = generator(exercise)
    return (
        [str(name) for name in rng.choice(NAME_POOL, 4, replace=False)],
        int(rng.integers(2**31)),
        int(rng.integers(2**31)),
    )


def drawn_pixels(seed: int, height: int, width: int, smooth: bool = False) -> np.ndarray:
    """uint8 RGB pixels (height, width, 3): random, or smooth (which every resizing method treats alike)."""
    rng = np.random.default_rng(seed)
    if not smooth:
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    rows, columns = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    phase = rng.random(3) * 2 * np.pi
    channels = [127.5 + 120 * np.sin(2.5 * rows + 1.5 * columns + p) for p in phase]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def write_image(path: Path, pixels: np.ndarray, mode: str = "RGB", **options) -> Path:
    """Save uint8 pixels (H, W, 3) at `path` in Pillow `mode`, the format from its suffix (`options`: Pillow's)."""
    Image.fromarray(pixels).convert(mode).save(path, **options)
    return path


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A temporary folder for a check's image files, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cnn-course-check-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _expect_image_array(name: str, value: object, shape: tuple) -> np.ndarray:
    array = expect_array(name, value, f"an image array of shape {shape}")
    if array.ndim == 4 and array.shape[0] == 1:
        raise CheckFailed(
            name,
            f"the result has shape {array.shape}, with a batch axis.",
            f"return one image of shape {shape}; the caller adds the batch axis.",
        )
    if array.shape == (shape[1], shape[0], *shape[2:]) and shape[0] != shape[1]:
        raise CheckFailed(
            name,
            f"the result has shape {array.shape}; expected {shape}: its height and width are swapped.",
            f"Pillow's resize takes (width, height), the model's shape is (height, width, channels): "
            f"image.resize((input_shape[1], input_shape[0])), here resize(({shape[1]}, {shape[0]})).",
        )
    if array.ndim == 3 and array.shape[:2] == shape[:2] and array.shape[2] != shape[2]:
        raise CheckFailed(
            name,
            f"the result has {array.shape[2]} channel{'s' if array.shape[2] > 1 else ''}; the model takes {shape[2]}.",
            "convert every image to the model's mode, whatever the file holds (grayscale, RGBA, palette): "
            "image.convert('RGB') for 3 channels, image.convert('L') plus a channel axis for 1.",
        )
    expect_shape(
        name,
        array,
        shape,
        "resize to the model's height and width, and convert to its number of channels: "
        "Image.convert('RGB') for 3, Image.convert('L') plus a channel axis for 1.",
    )
    if array.dtype != np.float32:
        raise CheckFailed(
            name,
            f"the result has dtype {array.dtype}; the model was trained on float32.",
            "return array.astype(np.float32) / 255 (or np.float32 arithmetic).",
        )
    return array


def check_load_image(load_image: Callable) -> None:
    """load_image(path, input_shape) decodes PNG/JPEG of any size, mode and EXIF orientation exactly as the training
    data was prepared."""
    name = "load_image"
    seeds = generator(name).integers(2**31, size=5)
    with scratch_folder() as folder:
        exact = drawn_pixels(seeds[0], 16, 16)
        found = _expect_image_array(
            name, load_image(write_image(folder / "exact.png", exact), (16, 16, 3)), (16, 16, 3)
        )
        expected = scale_images(exact)
        if not np.allclose(found, expected, atol=1e-5):
            _explain_pixel_difference(name, found, expected, exact)

        gray = drawn_pixels(seeds[1], 16, 16)
        found = _expect_image_array(
            name, load_image(write_image(folder / "gray.png", gray, "L"), (16, 16, 3)), (16, 16, 3)
        )
        expected = reference_load_image(folder / "gray.png", (16, 16, 3))
        if not np.allclose(found, expected, atol=1e-5):
            raise CheckFailed(
                name,
                "a grayscale PNG loaded for a colour model differs from its gray levels repeated in R, G and B.",
                "convert every image to the model's mode first: image.convert('RGB').",
            )

        opaque = write_image(folder / "opaque.png", drawn_pixels(seeds[2], 16, 16), "RGBA")
        found = _expect_image_array(name, load_image(opaque, (16, 16, 3)), (16, 16, 3))
        if not np.allclose(found, reference_load_image(opaque, (16, 16, 3)), atol=1e-5):
            raise CheckFailed(
                name,
                "an RGBA PNG (a fourth, alpha channel) loads with the wrong colours.",
                "convert it to RGB: image.convert('RGB').",
            )

        photo = write_image(folder / "photo.jpg", drawn_pixels(seeds[3], 90, 120, smooth=True), quality=95)
        found = _expect_image_array(name, load_image(photo, (16, 16, 3)), (16, 16, 3))
        difference = float(np.abs(found - reference_load_image(photo, (16, 16, 3))).mean())
        if difference > 0.05:
            raise CheckFailed(
                name,
                f"a 120x90 JPEG resized to 16x16 differs from the expected pixels by {difference:.3f} on average "
                "(scale 0-1).",
                "resize to (width, height) = (input_shape[1], input_shape[0]): PIL's size is width first, "
                "the model's shape height first.",
            )

        blocks = np.zeros((30, 40, 3), dtype=np.uint8)  # four blocks: a swapped width and height misplaces them
        blocks[:, 20:] += 160
        blocks[15:] += 60
        blocks[..., 0] += np.uint8(seeds[4] % 36)
        colour = write_image(folder / "colour.png", blocks)
        found = _expect_image_array(name, load_image(colour, (12, 20, 1)), (12, 20, 1))
        if np.abs(found - reference_load_image(colour, (12, 20, 1))).mean() > 0.05:
            raise CheckFailed(
                name,
                "a colour PNG loaded for a grayscale model (input_shape (12, 20, 1)) has the wrong gray levels.",
                "image.convert('L'), resize to (20, 12), then add the channel axis: array[..., np.newaxis].",
            )

        _check_exif_orientation(name, load_image, folder, int(seeds[4]))


EXIF_ORIENTATION = 0x0112  # the EXIF tag that says how to turn a stored photo upright


def _check_exif_orientation(name: str, load_image: Callable, folder: Path, seed: int) -> None:
    """A photo stored on its side with EXIF orientation 6 (turn 90° clockwise) or 8 loads upright, as in training."""
    upright = np.zeros((24, 40, 3), dtype=np.uint8)  # a bright bar along the top edge, then a colour per half
    upright[:6] = 230
    upright[6:, :20, 0] = 200
    upright[6:, 20:, 2] = 200
    orientation = 6 if seed % 2 else 8
    stored = Image.fromarray(upright).transpose(
        Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270
    )
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    path = folder / "phone.jpg"
    stored.save(path, quality=95, exif=exif)
    found = _expect_image_array(name, load_image(path, (12, 20, 3)), (12, 20, 3))
    expected = reference_load_image(path, (12, 20, 3))
    if np.abs(found - expected).mean() > 0.05:
        with Image.open(path) as raw:
            sideways = (
                np.asarray(raw.convert("RGB").resize((20, 12), Image.Resampling.BILINEAR), dtype=np.float32) / 255
            )
        if np.abs(found - sideways).mean() < 0.05:
            raise CheckFailed(
                name,
                f"a phone photo stored on its side, with EXIF orientation {orientation}, loads on its side.",
                "turn it upright first, as lesson 7's training does and every photo viewer does: "
                "image = ImageOps.exif_transpose(image), right after Image.open.",
            )
        raise CheckFailed(
            name,
            f"a JPEG with EXIF orientation {orientation} loads with other pixels than expected "
            f"(mean difference {np.abs(found - expected).mean():.3f} on a 0-1 scale).",
            "open, ImageOps.exif_transpose, convert, resize to (width, height), scale to [0, 1].",
        )


def _explain_pixel_difference(name: str, found: np.ndarray, expected: np.ndarray, pixels: np.ndarray) -> None:
    """Fail with the most likely cause of a 16x16 PNG loading with other values than the training data."""
    if np.allclose(found, pixels, atol=1e-3):
        raise CheckFailed(
            name,
            "the pixels are 0-255; the model was trained on pixels scaled to [0, 1].",
            "divide by 255 as in training (data.scale_images): a model fed 0-255 pixels sees nearly white images.",
        )
    if np.allclose(found, expected[..., ::-1], atol=1e-5):
        raise CheckFailed(
            name,
            "the channels are in BGR order; training used RGB.",
            "PIL decodes to RGB: keep that order (OpenCV's imread gives BGR).",
        )
    if abs(float(found.mean())) < 0.05 and 0.5 < float(found.std()) < 2:
        raise CheckFailed(
            name,
            "the pixels are standardised (mean 0, std 1); training fed [0, 1] pixels and the model standardises them "
            "itself.",
            "only divide by 255: the model's Normalization layer does the rest.",
        )
    if np.allclose(found, expected, atol=2 / 255):
        raise CheckFailed(
            name,
            "the pixels are off by one or two levels of 255 (rounding).",
            "divide the uint8 pixels by 255 in float32, without rounding.",
        )
    raise CheckFailed(
        name,
        f"a 16x16 RGB PNG loads with values {found.min():.3f}..{found.max():.3f}, not its pixels / 255.",
        "np.asarray(Image.open(path).convert('RGB'), dtype=np.float32) / 255 for an image already at the model's size.",
    )


def reference_model(seed: int, logits: bool = False) -> keras.Model:
    """A small 4-class CNN on 16x16 RGB images with weights drawn from `seed`, softmax head or (logits=True) none."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = keras.layers.Conv2D(6, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=2.0))(x)
    outputs = x if logits else keras.layers.Softmax()(x)
    return keras.Model(inputs, outputs)


def expected_top_k(model: keras.Model, path: Path, class_names: list[str], k: int) -> list[tuple[str, float]]:
    """The course's own answer: the shared preprocessing, the model, probabilities, top k."""
    image = reference_load_image(path, tuple(model.input_shape[1:]))
    return reference_top_k(as_probabilities(model.predict(image[np.newaxis], verbose=0))[0], class_names, k)


def expect_pairs(name: str, value: object, k: int) -> list[tuple[str, float]]:
    """`value` as a list of k (class name, probability) pairs, or a failure saying what it is instead."""
    if value is None:
        raise CheckFailed(name, "returned None.", "did you forget the `return` statement?")
    if not isinstance(value, list | tuple) or len(value) != k:
        found = f"{len(value)} items" if isinstance(value, list | tuple) else f"a {type(value).__name__}"
        raise CheckFailed(
            name,
            f"called with k={k}, it returned {found}; expected a list of {k} (class_name, probability) pairs.",
            "return [(class_names[i], float(probabilities[i])) for i in order[:k]].",
        )
    pairs = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise CheckFailed(
                name,
                f"an item of the result is {item!r}; expected (class_name, probability).",
                "return pairs like ('cat', 0.87).",
            )
        pairs.append((item[0], float(item[1])))
    return pairs


def _softmax(values: np.ndarray) -> np.ndarray:
    exponentials = np.exp(values - values.max())
    return exponentials / exponentials.sum()


def _compare_top_k(
    name: str, found: list[tuple[str, float]], expected: list[tuple[str, float]], model: keras.Model, path: Path
) -> None:
    found_probabilities = np.array([p for _, p in found])
    expected_probabilities = np.array([p for _, p in expected])
    if np.any(np.diff(found_probabilities) > 1e-7):
        raise CheckFailed(
            name,
            f"the probabilities {found_probabilities.round(3).tolist()} are not in decreasing order.",
            "most probable first: np.argsort(-probabilities).",
        )
    if [label for label, _ in found] == [label for label, _ in expected] and np.allclose(
        found_probabilities, expected_probabilities, atol=1e-4
    ):
        return
    if np.allclose(found_probabilities, expected_probabilities, atol=1e-4):
        raise CheckFailed(
            name,
            f"the probabilities are right, but the classes are {[label for label, _ in found]}; "
            f"expected {[label for label, _ in expected]}.",
            "name each probability by its own index: class_names[i] for the index i of the probability, "
            "in the order class_names was given (not sorted).",
        )

    def top(probabilities: np.ndarray) -> np.ndarray:
        return np.sort(probabilities)[::-1][: len(found)]

    image = reference_load_image(path, INPUT_SHAPE)[np.newaxis]
    probabilities = as_probabilities(np.asarray(model.predict(image, verbose=0)))[0]
    if np.allclose(found_probabilities, top(_softmax(probabilities)), atol=1e-4):
        raise CheckFailed(
            name,
            "softmax was applied to outputs that were already probabilities, which flattens them.",
            "apply softmax only when the outputs are not probabilities already (some negative, or not summing to 1).",
        )
    unscaled = np.asarray(model.predict(image * 255, verbose=0))
    if np.allclose(found_probabilities, top(as_probabilities(unscaled)[0]), atol=1e-4):
        raise CheckFailed(
            name,
            "the predictions are those of 0-255 pixels: the image was not scaled as in training.",
            "prepare the image with your load_image (pixels / 255), exactly as the training images.",
        )
    raise CheckFailed(
        name,
        f"returned {[(label, round(p, 4)) for label, p in found]}; expected "
        f"{[(label, round(p, 4)) for label, p in expected]}.",
        "load the file with load_image(path, model.input_shape[1:]), add a batch axis, predict, "
        "then sort the probabilities.",
    )


def check_predict_top_k(predict_top_k: Callable) -> None:
    """predict_top_k(model, path, class_names, k) gives the k most probable classes; probabilities sum to 1."""
    name = "predict_top_k"
    classes, model_seed, image_seed = drawn_classes(name)
    softmax_model, logits_model = reference_model(model_seed), reference_model(model_seed, logits=True)
    with scratch_folder() as folder:
        path = write_image(folder / "image.png", drawn_pixels(image_seed, 16, 16))
        found = expect_pairs(name, predict_top_k(softmax_model, path, classes, k=3), 3)
        _compare_top_k(name, found, expected_top_k(softmax_model, path, classes, 3), softmax_model, path)

        everything = expect_pairs(name, predict_top_k(softmax_model, path, classes, k=len(classes)), len(classes))
        total = sum(p for _, p in everything)
        if abs(total - 1) > 1e-3:
            raise CheckFailed(
                name,
                f"the probabilities of all {len(classes)} classes sum to {total:.4f}, not 1.",
                "return the model's probabilities as they are, without rescaling them.",
            )

        found = expect_pairs(name, predict_top_k(logits_model, path, classes, k=len(classes)), len(classes))
        total = sum(p for _, p in found)
        if abs(total - 1) > 1e-3 or min(p for _, p in found) < 0:
            raise CheckFailed(
                name,
                f"for a model that ends without softmax (it outputs logits), the 'probabilities' sum to {total:.4f}, "
                "not 1.",
                "when the outputs are not already probabilities (non-negative, summing to 1), apply softmax: "
                "keras.ops.softmax or np.exp(z - z.max()) / sum.",
            )
        _compare_top_k(name, found, expected_top_k(logits_model, path, classes, len(classes)), logits_model, path)

        large = write_image(folder / "large.jpg", drawn_pixels(image_seed + 1, 48, 64, smooth=True), quality=95)
        found = expect_pairs(name, predict_top_k(softmax_model, large, classes, k=2), 2)
        expected = expected_top_k(softmax_model, large, classes, 2)
        if found[0][0] != expected[0][0] or abs(found[0][1] - expected[0][1]) > 0.05:
            raise CheckFailed(
                name,
                f"for a 64x48 JPEG the top class is {found[0]}; expected about {expected[0]}.",
                "resize the image to the model's input size in load_image.",
            )
