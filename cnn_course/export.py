"""Export a trained classifier for devices (LiteRT, formerly TensorFlow Lite) and check the export.

Keras 3 writes the `.tflite` file itself (`model.export(path, format="litert")`, TensorFlow
backend). The check runs it in LiteRT's CPU interpreter (`ai-edge-litert` from PyPI, else
TensorFlow's own `tf.lite.Interpreter`) on test images and compares its top-1 class with the
Keras model's, image by image, and times both.

A model that takes images of any size (`keras.Input((None, None, 3))`, lesson 7's) is exported for one
size (see `concrete_input_size`). The test images go through the course's one preprocessing path
(`images.prepare_image`): resized to that size, scaled to [0, 1], or left 0-255 for a model that rescales
them itself. `export_and_check` writes the file under a temporary name and gives it its name only once
the check passed: a `.tflite` file the course wrote has always been checked.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_course.images import prepare_image
from cnn_course.inference import as_probabilities, load_classifier
from cnn_course.labels import class_indices
from cnn_course.quiet import filtered_stderr
from cnn_course.saving import class_names_path

MIN_AGREEMENT = 0.99  # of the top-1 classes, for an export to be kept
EXPORT_DATASETS = {(28, 28, 1): "mnist", (32, 32, 3): "cifar10"}  # the test set of a model by its input shape


@contextlib.contextmanager
def _tensorflow_warnings_off():
    """Hide TensorFlow's Python INFO/WARNING logs in the block ("Assets written to", retracing notes)."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


class ExportError(RuntimeError):
    """The model could not be exported, or no interpreter can run the export."""


def litert_interpreter(path: str | Path, num_threads: int | None = None):
    """A LiteRT interpreter for a .tflite file, tensors allocated: ai-edge-litert's, else TensorFlow's."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow still ships the same interpreter as tf.lite.Interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806 - a class
    # LiteRT's C++ "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." tells a learner nothing.
    with filtered_stderr(drop=lambda line: "XNNPACK delegate for CPU" in line):
        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    return interpreter


def concrete_input_size(model, image_size: int | tuple[int, int] | None = None) -> tuple[tuple[int, int], str]:
    """Return the (height, width) in pixels an export of `model` takes, and where it comes from, in words.

    A model with a fixed input size keeps it (`image_size`, if given, must agree). A model that takes any
    size gets `image_size` (a side, or (height, width)) when given, else the size of its first `Resizing`
    layer (lesson 7's model resizes every image to the size it trained at). Raises ExportError when
    neither says, or `image_size` contradicts a fixed input size.
    """
    import keras

    from cnn_course.models import flat_layers

    height, width = model.input_shape[1:3]
    asked = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size) if image_size else None
    if height is not None and width is not None:
        if asked and asked != (height, width):
            raise ExportError(
                f"the model takes {height} x {width} images only; leave out the image size, or pass {height}."
            )
        return (height, width), "the model's input size"
    if asked:
        return (int(asked[0]), int(asked[1])), "the size asked for"
    for layer in flat_layers(model):
        if isinstance(layer, keras.layers.Resizing):
            return (int(layer.height), int(layer.width)), "the model's first Resizing layer, the size it trained at"
    raise ExportError(
        "the model takes images of any size, and a LiteRT model takes one: say which with --image-size N "
        "(the side, in pixels, of the images it was trained on)."
    )


def export_litert(
    model, model_path: str | Path, out: str | Path | None = None, image_size: int | tuple[int, int] | None = None
) -> Path:
    """Write `model` (loaded from `model_path`) as a LiteRT flatbuffer; return the .tflite path.

    The file goes to `out`, default `model_path` with the suffix .tflite; the class-names sidecar
    is copied next to it when the two stems differ. The export takes images of one size, batch
    axis free: (N, H, W, C) float32, (H, W) from `concrete_input_size(model, image_size)`.
    Raises ExportError when Keras cannot export, or the size is not known.
    """
    out = _litert_path(model_path, out)
    _write_litert(model, out, concrete_input_size(model, image_size)[0])
    _copy_class_names(model_path, out)
    return out


def _litert_path(model_path: str | Path, out: str | Path | None) -> Path:
    out = Path(out) if out else Path(model_path).with_suffix(".tflite")
    if out.suffix != ".tflite":
        raise ExportError(f"{out}: a LiteRT model file must end in .tflite.")
    return out


def _write_litert(model, out: Path, size: tuple[int, int]) -> None:
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ExportError(
            f"LiteRT export needs the TensorFlow backend (KERAS_BACKEND=tensorflow); this is {keras.backend.backend()}."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    signature = [tf.TensorSpec((None, *size, model.input_shape[-1]), tf.float32)]
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), _tensorflow_warnings_off():
            model.export(str(out), format="litert", verbose=False, input_signature=signature)
    except Exception as error:  # the converter raises many kinds: ConverterError, ValueError, ...
        raise ExportError(f"Keras could not export the model to LiteRT ({type(error).__name__}: {error}).") from None


def _copy_class_names(model_path: str | Path, out: Path) -> None:
    sidecar, copy = class_names_path(model_path), class_names_path(out)
    if sidecar.is_file() and sidecar != copy:
        shutil.copyfile(sidecar, copy)


def litert_probabilities(interpreter, images: np.ndarray) -> np.ndarray:
    """Class probabilities float32 (N, classes) from a LiteRT interpreter, one image (1, H, W, C) at a time."""
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    outputs = []
    for image in np.asarray(images, dtype=np.float32):
        interpreter.set_tensor(source["index"], image[np.newaxis])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"])[0].copy())
    return as_probabilities(np.stack(outputs))


@dataclass
class ExportCheck:
    """Top-1 agreement between the Keras model and its LiteRT export, and the speed of each (one image at a time)."""

    images: int
    agreement: float  # fraction of images whose top-1 class is the same
    max_probability_difference: float
    keras_accuracy: float | None
    litert_accuracy: float | None
    keras_ms_per_image: float
    litert_ms_per_image: float
    keras_batch_ms_per_image: float
    keras_bytes: int
    litert_bytes: int


def check_export(
    model,
    model_path: str | Path,
    tflite_path: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    timed: int = 200,
) -> ExportCheck:
    """Compare the LiteRT export with the Keras model on `images` (N, H, W, C) float32, prepared as the model
    takes them (see `prepared_test_images`: [0, 1], or 0-255 for a model that rescales them itself) at the
    export's input size.

    Agreement is measured on every image; speed on the first `timed` images, one at a time
    (the latency a device or a web request sees), plus Keras on one batch of all `images`.
    `labels` (N,) or (N, 1) int, when given, adds both models' accuracies. Raises ExportError when the
    interpreter cannot run the export on these images (another size, say).
    """
    images = np.asarray(images, dtype=np.float32)
    labels = None if labels is None else class_indices(labels, count=len(images))
    expected = tuple(int(side) for side in litert_interpreter(tflite_path).get_input_details()[0]["shape"][1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ExportError(
            f"the export takes images of shape {expected} (height, width, channels), "
            f"the check was given {images.shape[1:]}: prepare them at the export's size with "
            "cnn_course.export.prepared_test_images (or images.prepare_image)."
        )
    with _tensorflow_warnings_off():  # each new batch shape traces the predict function again, and TensorFlow says so
        return _check_export(model, model_path, tflite_path, images, labels, timed)


def _check_export(
    model, model_path: str | Path, tflite_path: str | Path, images: np.ndarray, labels: np.ndarray | None, timed: int
) -> ExportCheck:
    model.predict(images[:256], batch_size=256, verbose=0)  # the first call traces; not timed
    start = time.perf_counter()
    keras_probabilities = as_probabilities(np.asarray(model.predict(images, batch_size=256, verbose=0)))
    batch_seconds = time.perf_counter() - start
    interpreter = litert_interpreter(tflite_path, num_threads=os.cpu_count())
    litert_probs = litert_probabilities(interpreter, images)
    timed_images = images[:timed]
    model.predict_on_batch(timed_images[:1])  # the first call traces; not timed
    start = time.perf_counter()
    for image in timed_images:
        model.predict_on_batch(image[np.newaxis])
    keras_seconds = time.perf_counter() - start
    start = time.perf_counter()
    litert_probabilities(interpreter, timed_images)
    litert_seconds = time.perf_counter() - start
    keras_top1, litert_top1 = keras_probabilities.argmax(axis=1), litert_probs.argmax(axis=1)
    return ExportCheck(
        images=len(images),
        agreement=float(np.mean(keras_top1 == litert_top1)),
        max_probability_difference=float(np.abs(keras_probabilities - litert_probs).max()),
        keras_accuracy=None if labels is None else float(np.mean(keras_top1 == labels)),
        litert_accuracy=None if labels is None else float(np.mean(litert_top1 == labels)),
        keras_ms_per_image=1000 * keras_seconds / len(timed_images),
        litert_ms_per_image=1000 * litert_seconds / len(timed_images),
        keras_batch_ms_per_image=1000 * batch_seconds / len(images),
        keras_bytes=Path(model_path).stat().st_size,
        litert_bytes=Path(tflite_path).stat().st_size,
    )


def prepared_test_images(
    dataset: str, input_shape: tuple[int, int, int], raw_pixels: bool, count: int, data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` test images of "mnist" or "cifar10" as a model takes them, with their labels.

    Each goes through `images.prepare_image`, the path of `predict` and `serve`: turned into the model's
    channels, resized to `input_shape` (H, W, C), then scaled to [0, 1], or left 0-255 when `raw_pixels`.
    Returns (float32 (N, H, W, C), int labels (N,)). Raises DataError when the dataset cannot be loaded.
    """
    from PIL import Image

    from cnn_course import data

    loader = {"mnist": data.load_mnist, "cifar10": data.load_cifar10}[dataset]
    _, (x_test, y_test) = loader(data_dir)
    images = [prepare_image(Image.fromarray(pixels), input_shape, raw_pixels) for pixels in x_test[:count]]
    return np.stack(images), class_indices(y_test[:count])


def interpreter_name() -> str:
    """Which LiteRT interpreter the check runs, with its version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ai-edge-litert {version('ai-edge-litert')}"
    except PackageNotFoundError:
        return f"tf.lite.Interpreter of tensorflow {version('tensorflow')}"


@dataclass
class ExportReport:
    """What `export_and_check` did: the file written (None when the check failed), the size chosen, the check."""

    model_path: Path
    tflite_path: Path | None
    input_shape: tuple[int, int, int]
    size_source: str
    dataset: str
    labelled: bool  # the test set's classes are the model's: accuracies are meaningful
    export_seconds: float
    check: ExportCheck
    raw_pixels: bool = False  # the model rescales pixel values 0-255 itself, and was checked on them

    @property
    def passed(self) -> bool:
        """Whether at least MIN_AGREEMENT of the top-1 classes agree (the file was then kept)."""
        return self.check.agreement >= MIN_AGREEMENT

    def lines(self) -> list[str]:
        """The report for people, one line each: what was written, the input size, agreement, accuracy, speed."""
        result, title = self.check, {"mnist": "MNIST", "cifar10": "CIFAR-10"}[self.dataset]
        height, width, channels = self.input_shape
        written = "(file not kept: see below)"
        if self.tflite_path:
            written = f"to {self.tflite_path} ({result.litert_bytes / 1e6:.2f} MB)"
        lines = [
            f"exported {self.model_path} ({result.keras_bytes / 1e6:.2f} MB) {written} in {self.export_seconds:.1f} s",
            f"  input                  {height} x {width} x {channels} ({self.size_source}); pixels "
            + ("0-255, the model rescales them" if self.raw_pixels else "scaled to [0, 1]"),
            f"checked on {result.images:,} {title} test images with {interpreter_name()}:",
            f"  top-1 agreement        {result.agreement:.2%} "
            f"({round(result.agreement * result.images):,} of {result.images:,}); "
            f"largest probability difference {result.max_probability_difference:.1e}",
        ]
        if self.labelled:
            lines.append(
                f"  test accuracy          Keras {result.keras_accuracy:.2%}   LiteRT {result.litert_accuracy:.2%}"
            )
        else:
            lines.append(f"  test accuracy          not measured: the model's classes are not {title}'s")
        lines += [
            f"  one image at a time    Keras {result.keras_ms_per_image:.2f} ms   "
            f"LiteRT {result.litert_ms_per_image:.2f} ms per image",
            f"  Keras, batches of 256  {result.keras_batch_ms_per_image:.2f} ms per image",
        ]
        return lines


def export_and_check(
    model_path: str | Path,
    out: str | Path | None = None,
    dataset: str | None = None,
    image_size: int | tuple[int, int] | None = None,
    test_images: int = 1000,
    data_dir: str | Path | None = None,
) -> ExportReport:
    """Export the classifier saved at `model_path` to LiteRT, check it against the Keras model (`cnn-course export`).

    The export takes one image size (`concrete_input_size`); the check feeds `test_images` images of
    `dataset` ("mnist" or "cifar10"; default: the one whose classes or input shape the model has, else
    CIFAR-10 for colour models and MNIST for grayscale ones, for agreement only) prepared as the model takes
    them (`prepared_test_images`). The file is written under a temporary name and renamed to `out` (default
    MODEL.tflite), with the class names beside it, only when at least MIN_AGREEMENT of the top-1 classes
    agree; otherwise it is deleted and the report's `tflite_path` is None. Raises ExportError (or the
    loading errors of `inference.load_classifier`, the DataError of a missing dataset) with what to do.
    """
    import time

    from cnn_course import data

    model_path = Path(model_path)
    out = _litert_path(model_path, out)
    classifier = load_classifier(model_path)
    size, size_source = concrete_input_size(classifier.model, image_size)
    input_shape = (*size, classifier.input_shape[-1])
    names = {"mnist": data.MNIST_CLASS_NAMES, "cifar10": data.CIFAR10_CLASS_NAMES}
    matching = next((name for name, classes in names.items() if tuple(classes) == classifier.class_names), None)
    numbered = classifier.note is not None and len(classifier.class_names) == 10  # no sidecar: the classes are 0-9
    fallback = "mnist" if input_shape[-1] == 1 else "cifar10"  # for agreement only: the classes differ
    dataset = dataset or matching or EXPORT_DATASETS.get(input_shape) or fallback
    labelled = dataset == matching or (numbered and EXPORT_DATASETS.get(input_shape) == dataset)
    images, labels = prepared_test_images(dataset, input_shape, classifier.raw_pixels, test_images, data_dir)
    unchecked = out.with_name(f"{out.stem}.unchecked{out.suffix}")
    start = time.perf_counter()
    try:
        _write_litert(classifier.model, unchecked, size)
        export_seconds = time.perf_counter() - start
        check = check_export(classifier.model, model_path, unchecked, images, labels if labelled else None)
    except Exception as error:
        unchecked.unlink(missing_ok=True)
        if isinstance(error, ExportError):
            raise
        problem = f"{type(error).__name__}: {error}"
        raise ExportError(f"the exported model could not be checked in {interpreter_name()} ({problem}).") from None
    report = ExportReport(
        model_path, out, input_shape, size_source, dataset, labelled, export_seconds, check, classifier.raw_pixels
    )
    if report.passed:
        os.replace(unchecked, out)
        _copy_class_names(model_path, out)
    else:
        unchecked.unlink()
        report.tflite_path = None
    return report
