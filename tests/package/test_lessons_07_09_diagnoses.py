"""Lessons 07-09: for every exercise, wrong ways of writing it fail with a hint naming the cause, other valid ways pass,
and abusive answers (the wrong type, a server started, the same subset twice) get a verdict that says what they did."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from flask import Flask, jsonify, request
from keras import layers
from PIL import Image, ImageOps

from cnn_course import pretrained
from cnn_course.checks.calls import call_exercise
from cnn_course.data import image_folders
from cnn_course.data.image_folders import IMAGE_SUFFIXES

from .conftest import fails_with, master_namespace, passes, patched_masters, run_graders


@pytest.fixture(scope="module")
def lesson_07():
    return master_namespace("07_own_images")


@pytest.fixture(scope="module")
def lesson_08():
    return master_namespace("08_transfer_learning")


@pytest.fixture(scope="module")
def lesson_09():
    return master_namespace("09_predict_and_serve")


def graded(name, function):
    """`function` as the graders call it, named `name`: what it raises becomes ExerciseError (or NotAttempted)."""

    def call(*args, **kwargs):
        return call_exercise(function, *args, **kwargs)

    function.__name__ = call.__name__ = name
    return call


# -- count_images_per_class ------------------------------------------------------------------------------


def _image_files(folder: Path, pattern: str) -> list[Path]:
    return [p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def count_with_glob(folder):
    """Valid: glob('**/*') in each class folder, hidden paths skipped."""
    root = Path(folder)
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {name: len([p for p in _image_files(root / name, "**/*") if _visible(p, root / name)]) for name in names}


def count_top_level_only(folder):
    root = Path(folder)
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {name: len([p for p in _image_files(root / name, "*") if _visible(p, root / name)]) for name in names}


def count_skipping_empty_classes(folder):
    return {name: count for name, count in count_with_glob(folder).items() if count}


def count_as_pairs(folder):
    return list(count_with_glob(folder).items())


def count_as_flags(folder):
    return {name: count > 0 for name, count in count_with_glob(folder).items()}


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (count_top_level_only, ("misses the images in a subfolder", "recursively")),
        (count_skipping_empty_classes, ("even an empty one",)),
        (count_as_pairs, ("returned list", "expected a dict")),
        (count_as_flags, ("expected whole numbers",)),
    ],
    ids=["top-level-only", "empty-class-left-out", "abuse-list-of-pairs", "abuse-booleans"],
)
def test_count_images_per_class_wrong(function, hints):
    fails_with("count_images_per_class", graded("count_images_per_class", function), *hints)


def test_count_images_per_class_with_glob_passes():
    passes("count_images_per_class", graded("count_images_per_class", count_with_glob))


# -- image_shape -------------------------------------------------------------------------------------------


def shape_from_size(path):
    try:
        with Image.open(path) as image:
            image.load()
            return (*image.size, len(image.getbands()))
    except OSError:
        return None


def shape_after_rgb(path):
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")).shape
    except OSError:
        return None


def shape_from_header(path):
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            return image.height, image.width, len(image.getbands())
    except Exception:  # noqa: BLE001 - the slip under test keeps only the header
        return None


def shape_from_array(path):
    """Valid: the decoded array's shape, a channel axis added for grayscale; any decoding error means None."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image)
    except Exception:  # noqa: BLE001
        return None
    return pixels.shape if pixels.ndim == 3 else (*pixels.shape, 1)


def shape_of_the_array(path):
    try:
        with Image.open(path) as image:
            return np.asarray(image).shape
    except OSError:
        return None


def shape_raising_for_bad_files(path):
    with Image.open(path) as image:
        image.load()
        return image.height, image.width, len(image.getbands())


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (shape_from_size, ("image.size is (width, height)",)),
        (shape_after_rgb, ("don't convert to RGB",)),
        (shape_from_header, ("truncated.jpg", "decode the pixels")),
        (shape_of_the_array, ("grayscale image: the channels are missing", "len(image.getbands())")),
        (shape_raising_for_bad_files, ("raises an error for", "return None when the file cannot be decoded")),
    ],
    ids=["width-first", "converted-to-rgb", "header-only", "2-d-grayscale", "abuse-raises"],
)
def test_image_shape_wrong(function, hints):
    fails_with("image_shape", graded("image_shape", function), *hints)


def test_image_shape_from_the_array_passes():
    passes("image_shape", graded("image_shape", shape_from_array))


# -- load_image_folder --------------------------------------------------------------------------------------


def _both(folder, image_size, batch_size, validation_split, seed, **options):
    """The lesson's loader (photos turned upright by their EXIF tag), both subsets in one call."""
    return image_folders.image_dataset_from_directory(
        folder,
        image_size=image_size,
        batch_size=batch_size,
        validation_split=validation_split,
        subset="both",
        seed=seed,
        verbose=False,
        **options,
    )


def load_unshuffled(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    return _both(folder, image_size, batch_size, validation_split, seed, shuffle=False)


def load_width_first(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    return _both(folder, image_size[::-1], batch_size, validation_split, seed)


def load_swapped(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    training, validation = _both(folder, image_size, batch_size, validation_split, seed)
    return validation, training


def load_same_subset_twice(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    training, _ = _both(folder, image_size, batch_size, validation_split, seed)
    return training, training


def load_spelled_out(folder, image_size=(32, 32), batch_size=128, validation_split=0.2, seed=42):
    """Valid: every default spelled out, a list instead of a tuple."""
    return list(
        _both(
            folder,
            image_size,
            batch_size,
            validation_split,
            seed,
            labels="inferred",
            label_mode="int",
            color_mode="rgb",
            shuffle=True,
        )
    )


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (load_unshuffled, ("without shuffling", "keep shuffle=True")),
        (load_width_first, ("height and width are swapped", "(height, width)")),
        (load_swapped, ("they are swapped", "return (training, validation)")),
        (load_same_subset_twice, ("in both the training and the validation set",)),
    ],
    ids=["not-shuffled", "image-size-swapped", "subsets-swapped", "abuse-same-subset-twice"],
)
def test_load_image_folder_wrong(function, hints):
    message = fails_with("load_image_folder", graded("load_image_folder", function), *hints)
    if function is load_unshuffled:
        assert "seed" not in message.splitlines()[0], message  # the cause is the missing shuffle, not the seed


def test_load_image_folder_spelled_out_passes():
    passes("load_image_folder", graded("load_image_folder", load_spelled_out))


# -- build_folder_cnn ---------------------------------------------------------------------------------------


def _folder_cnn(num_classes, image_size, *, rescale=True, classes=None):
    inputs = keras.Input(shape=(None, None, 3))
    x = layers.Rescaling(1 / 255)(inputs) if rescale else inputs
    x = layers.Resizing(image_size, image_size)(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes or num_classes, activation="softmax")(x))


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (
            lambda num_classes=10, image_size=32: _folder_cnn(num_classes, image_size, rescale=False),
            ("Rescaling(1 / 255)",),
        ),
        (
            lambda num_classes=10, image_size=32: _folder_cnn(num_classes, image_size, classes=10),
            ("num_classes=", "Dense(num_classes"),
        ),
        (lambda num_classes=10, image_size=32: keras.Sequential, ("not a Keras model",)),
    ],
    ids=["no-rescaling", "ten-classes-always", "abuse-a-class"],
)
def test_build_folder_cnn_wrong(function, hints):
    fails_with("build_folder_cnn", graded("build_folder_cnn", function), *hints)


def test_build_folder_cnn_rescaling_first_passes():
    passes(
        "build_folder_cnn",
        graded("build_folder_cnn", lambda num_classes=10, image_size=32: _folder_cnn(num_classes, image_size)),
    )


# -- build_transfer_model -----------------------------------------------------------------------------------


def _transfer(base, num_classes, *, freeze=True, training=False, classes=None):
    base.trainable = not freeze
    inputs = keras.Input(shape=base.input_shape[1:])
    x = layers.RandomFlip("horizontal")(inputs)
    x = base(x, training=training) if training is not None else base(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes or num_classes, activation="softmax")(x))


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (
            lambda base, num_classes: _transfer(base, num_classes, freeze=False),
            ("base is left trainable", "base.trainable = False"),
        ),
        (
            lambda base, num_classes: _transfer(base, num_classes, training=None),
            ("no training argument", "training=False"),
        ),
        (
            lambda base, num_classes: _transfer(base, num_classes, classes=5),
            ("num_classes=", "one probability per class"),
        ),
        (lambda base, num_classes: base, ("no layer that is the base",)),
    ],
    ids=["base-trainable", "no-training-false", "five-classes-always", "abuse-echo-base"],
)
def test_build_transfer_model_wrong(function, hints):
    fails_with("build_transfer_model", graded("build_transfer_model", function), *hints)


def test_build_transfer_model_with_flip_and_no_dropout_passes():
    passes(
        "build_transfer_model", graded("build_transfer_model", lambda base, num_classes: _transfer(base, num_classes))
    )


# -- unfreeze_top_layers ------------------------------------------------------------------------------------


def _unfreeze(model, num_layers, learning_rate, *, top=True, batch_norm_frozen=True, recompile=True):
    base = model.get_layer(pretrained.BACKBONE_NAME)
    base.trainable = True
    for index, layer in enumerate(base.layers):
        below = index < len(base.layers) - num_layers
        layer.trainable = not (top and below) and not (
            batch_norm_frozen and isinstance(layer, layers.BatchNormalization)
        )
    if recompile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
    return model


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (
            lambda model, num_layers, learning_rate: _unfreeze(model, num_layers, learning_rate, top=False),
            ("is trainable", "freeze the rest"),
        ),
        (
            lambda model, num_layers, learning_rate: _unfreeze(
                model, num_layers, learning_rate, batch_norm_frozen=False
            ),
            ("BatchNormalization",),
        ),
        (
            lambda model, num_layers, learning_rate: _unfreeze(model, num_layers, learning_rate, recompile=False),
            ("not compiled again",),
        ),
        (lambda model, num_layers, learning_rate: None, ("returned NoneType", "not a Keras model")),
    ],
    ids=["whole-base", "batch-norm-trainable", "not-recompiled", "abuse-none"],
)
def test_unfreeze_top_layers_wrong(function, hints):
    fails_with("unfreeze_top_layers", graded("unfreeze_top_layers", function), *hints)


def test_unfreeze_top_layers_by_index_passes():
    passes("unfreeze_top_layers", graded("unfreeze_top_layers", _unfreeze))


# -- load_image ---------------------------------------------------------------------------------------------


def _load(path, input_shape, *, size=lambda h, w: (w, h), scale=255.0, mode=True):
    height, width, channels = input_shape
    with Image.open(path) as image:
        if mode:
            image = image.convert("RGB" if channels == 3 else "L")
        pixels = np.asarray(image.resize(size(height, width), Image.Resampling.BILINEAR), dtype=np.float32) / scale
    return pixels if pixels.ndim == 3 else pixels[..., np.newaxis]


@pytest.mark.parametrize(
    ("function", "hints"),
    [
        (
            lambda path, input_shape: _load(path, input_shape, size=lambda h, w: (h, w)),
            ("height and width are swapped", "(width, height)"),
        ),
        (lambda path, input_shape: _load(path, input_shape, scale=1.0), ("pixels are 0-255", "divide by 255")),
        (lambda path, input_shape: _load(path, input_shape, mode=False), ("1 channel", "convert('RGB')")),
        (lambda path, input_shape: _load(path, input_shape).tolist(), ("returned a list",)),
    ],
    ids=["height-width-swapped", "not-scaled", "mode-not-converted", "abuse-list"],
)
def test_load_image_wrong(function, hints):
    fails_with("load_image", graded("load_image", function), *hints)


def test_load_image_through_keras_img_to_array_passes():
    def load_image(path, input_shape):
        height, width, channels = input_shape
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB" if channels == 3 else "L")
            resized = upright.resize((width, height), Image.Resampling.BILINEAR)
        return keras.utils.img_to_array(resized, dtype="float32") / 255.0

    passes("load_image", graded("load_image", load_image))


# -- predict_top_k ------------------------------------------------------------------------------------------


def _top_k(lesson, model, path, class_names, k, *, softmax_always=False, names=None, fixed_k=None):
    image = lesson["load_image"](path, model.input_shape[1:])
    outputs = np.asarray(model.predict(image[np.newaxis], verbose=0), dtype=np.float64)[0]
    if softmax_always or outputs.min() < 0 or not np.isclose(outputs.sum(), 1, atol=1e-3):
        outputs = np.exp(outputs - outputs.max()) / np.exp(outputs - outputs.max()).sum()
    labels = names(class_names) if names else class_names
    return [(labels[i], float(outputs[i])) for i in np.argsort(-outputs)[: fixed_k or k]]


@pytest.mark.parametrize(
    ("change", "hints"),
    [
        ({"softmax_always": True}, ("softmax was applied to outputs that were already probabilities",)),
        ({"names": lambda names: names[::-1]}, ("the probabilities are right, but the classes are", "its own index")),
        ({"fixed_k": 3}, ("called with k=4", "returned 3 items")),
    ],
    ids=["softmax-twice", "class-names-reversed", "k-ignored"],
)
def test_predict_top_k_wrong(lesson_09, change, hints):
    def predict_top_k(model, path, class_names, k=3):
        return _top_k(lesson_09, model, path, class_names, k, **change)

    fails_with("predict_top_k", graded("predict_top_k", predict_top_k), *hints)


def test_predict_top_k_as_a_dict_fails(lesson_09):
    def predict_top_k(model, path, class_names, k=3):
        return dict(_top_k(lesson_09, model, path, class_names, k))

    fails_with("predict_top_k", graded("predict_top_k", predict_top_k), "a dict", "(class_name, probability) pairs")


def test_predict_top_k_with_keras_softmax_passes(lesson_09):
    def predict_top_k(model, path, class_names, k=3):
        outputs = model(lesson_09["load_image"](path, model.input_shape[1:])[None], training=False)[0]
        if float(keras.ops.min(outputs)) < 0 or abs(float(keras.ops.sum(outputs)) - 1) > 1e-3:
            outputs = keras.ops.softmax(outputs)
        probabilities = keras.ops.convert_to_numpy(outputs)
        return sorted(((class_names[i], float(p)) for i, p in enumerate(probabilities)), key=lambda pair: -pair[1])[:k]

    passes("predict_top_k", graded("predict_top_k", predict_top_k))


# -- create_app -------------------------------------------------------------------------------------------


def _app(lesson, model_path, class_names, max_upload_bytes, *, run=False, reload=False, limit=True):
    model = keras.saving.load_model(model_path)
    app = Flask("served")
    if limit:
        app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes

    @app.route("/health", methods=["GET"])
    def health():
        return {"status": "ok"}

    @app.route("/predict", methods=["POST"])
    def predict():
        upload = request.files.get("file")
        if upload is None:
            return jsonify(error="no 'file' field"), 400
        try:
            top = lesson["predict_top_k"](
                keras.saving.load_model(model_path) if reload else model, upload.stream, class_names, 3
            )
        except OSError as error:
            return jsonify(error=str(error)), 400
        return jsonify(predictions=[{"class": name, "probability": p} for name, p in top])

    if run:
        app.run(port=0)
    return app


@pytest.mark.parametrize(
    ("change", "hints"),
    [
        ({"run": True}, ("starts a web server", "app.run", "cnn-course serve")),
        ({"reload": True}, ("after the model file was replaced", "load the model once")),
        ({"limit": False}, ("expected 413", "MAX_CONTENT_LENGTH")),
    ],
    ids=["abuse-app-run", "model-loaded-per-request", "no-upload-limit"],
)
def test_create_app_wrong(lesson_09, change, hints):
    def create_app(model_path, class_names, max_upload_bytes=8 * 1024 * 1024):
        return _app(lesson_09, model_path, class_names, max_upload_bytes, **change)

    message = fails_with("create_app", graded("create_app", create_app), *hints)
    assert "did not finish" not in message


def test_create_app_with_route_decorators_passes(lesson_09):
    def create_app(model_path, class_names, max_upload_bytes=8 * 1024 * 1024):
        return _app(lesson_09, model_path, class_names, max_upload_bytes)

    passes("create_app", graded("create_app", create_app))


def test_the_masters_solutions_of_lessons_07_to_09_pass(lesson_07, lesson_08, lesson_09):
    for lesson, names in (
        (lesson_07, ("count_images_per_class", "image_shape", "load_image_folder", "build_folder_cnn")),
        (lesson_08, ("build_transfer_model", "unfreeze_top_layers")),
        (lesson_09, ("load_image", "predict_top_k", "create_app")),
    ):
        for name in names:
            passes(name, graded(name, lesson[name]))


def test_the_grader_names_a_server_started_in_the_learner_process(tmp_path):
    """Graded in the learner process, create_app that calls app.run() gets its cause named, not a time-out."""
    target = patched_masters(
        tmp_path / "lessons",
        [("09_predict_and_serve", "\n    return app\n", "\n    app.run(port=0)\n    return app\n")],
    )
    run = run_graders(target, "-k", "create_app", "--exercise-timeout", "20")
    outcome, message = run.results["test_create_app"]
    assert outcome == "failure" and "starts a web server (it calls app.run(...))" in message, run.output
