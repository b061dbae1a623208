"""Export a trained classifier for devices (LiteRT, formerly TensorFlow Lite) and check the export.

Keras 3 writes the `.tflite` file itself (`model.export(path, format="litert")`, TensorFlow
backend). The check runs it in LiteRT's CPU interpreter (`ai-edge-litert` from PyPI, else
TensorFlow's own `tf.lite.Interpreter`) on test images and compares its top-1 class with the
Keras model's, image by image, and times both.
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

from cnn_course.inference import as_probabilities
from cnn_course.quiet import filtered_stderr
from cnn_course.saving import class_names_path


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


def export_litert(model, model_path: str | Path, out: str | Path | None = None) -> Path:
    """Write `model` (loaded from `model_path`) as a LiteRT flatbuffer; return the .tflite path.

    The file goes to `out`, default `model_path` with the suffix .tflite; the class-names sidecar
    is copied next to it when the two stems differ. Raises ExportError when Keras cannot export.
    """
    import keras

    out = Path(out) if out else Path(model_path).with_suffix(".tflite")
    if out.suffix != ".tflite":
        raise ExportError(f"{out}: a LiteRT model file must end in .tflite.")
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"LiteRT export needs the TensorFlow backend (KERAS_BACKEND=tensorflow); this is {keras.backend.backend()}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), _tensorflow_warnings_off():
            model.export(str(out), format="litert", verbose=False)
    except Exception as error:  # the converter raises many kinds: ConverterError, ValueError, ...
        raise ExportError(f"Keras could not export the model to LiteRT ({type(error).__name__}: {error}).") from None
    sidecar, copy = class_names_path(model_path), class_names_path(out)
    if sidecar.is_file() and sidecar != copy:
        shutil.copyfile(sidecar, copy)
    return out


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


def check_export(model, model_path: str | Path, tflite_path: str | Path, images: np.ndarray, labels: np.ndarray | None = None, timed: int = 200) -> ExportCheck:
    """Compare the LiteRT export with the Keras model on `images` (N, H, W, C) float32 in [0, 1].

    Agreement is measured on every image; speed on the first `timed` images, one at a time
    (the latency a device or a web request sees), plus Keras on one batch of all `images`.
    `labels` (N,) int, when given, adds both models' accuracies.
    """
    with _tensorflow_warnings_off():  # each new batch shape traces the predict function again, and TensorFlow says so
        return _check_export(model, model_path, tflite_path, np.asarray(images, dtype=np.float32), labels, timed)


def _check_export(model, model_path: str | Path, tflite_path: str | Path, images: np.ndarray, labels: np.ndarray | None, timed: int) -> ExportCheck:
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
