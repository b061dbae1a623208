"""The checks of lesson 09 pass the master and other valid ways of writing it, and explain typical mistakes."""

import io
import os
import tempfile

import keras
import numpy as np
import pytest
from flask import Flask, jsonify, request
from PIL import Image, ImageOps

from cnn_course.checks import CheckFailed, self_check
from cnn_course.checks.serving_app import check_app_matches_predict_top_k

from .conftest import SOLUTIONS, copy_lessons, master_namespace, run_graders

EXERCISES = ("load_image", "predict_top_k", "create_app")


@pytest.fixture(scope="module")
def master():
    """The exercise functions of the master notebook, run in this process."""
    return master_namespace("09_predict_and_serve")


@pytest.mark.parametrize("name", EXERCISES)
def test_the_masters_solution_passes(master, name, capsys):
    self_check(master[name])
    assert f"✔ {name} passes every check." in capsys.readouterr().out


def test_the_masters_app_answers_as_its_predict_top_k(master):
    check_app_matches_predict_top_k(master["create_app"], master["predict_top_k"])


def fails_with(function, hint: str) -> CheckFailed:
    with pytest.raises(CheckFailed) as failure:
        self_check(function)
    assert hint in str(failure.value)
    assert str(failure.value).startswith(f"{function.__name__}: ")
    return failure.value


# load_image ------------------------------------------------------------------------------------


def pillow_pixels(path, input_shape, mode=None, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    height, width, channels = input_shape
    with Image.open(path) as image:
        image = (
            ImageOps.exif_transpose(image)
            .convert(mode or ("RGB" if channels == 3 else "L"))
            .resize((width, height), resample)
        )
        return np.asarray(image)


def test_load_image_alternatives_pass(capsys):
    def load_image(path, input_shape):  # Keras's array conversion, nearest-neighbour resizing, the turn by hand
        height, width, channels = input_shape
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB" if channels == 3 else "L")
            image = image.resize((width, height), Image.Resampling.NEAREST)
        return keras.utils.img_to_array(image, dtype="float32") / 255

    self_check(load_image)

    def load_image(path, input_shape):  # noqa: F811 - bicubic, float32 arithmetic, channel axis by np.atleast_3d
        pixels = pillow_pixels(path, input_shape, resample=Image.Resampling.BICUBIC)
        return np.atleast_3d(pixels.astype(np.float32) * np.float32(1 / 255))

    self_check(load_image)
    assert capsys.readouterr().out.count("passes every check") == 2


def test_load_image_leaving_phone_photos_on_their_side():
    def load_image(path, input_shape):  # Keras's own loader ignores the EXIF orientation tag
        height, width, channels = input_shape
        image = keras.utils.load_img(
            path, color_mode="rgb" if channels == 3 else "grayscale", target_size=(height, width)
        )
        return keras.utils.img_to_array(image, dtype="float32") / 255

    fails_with(load_image, "ImageOps.exif_transpose(image)")


def test_load_image_without_scaling():
    def load_image(path, input_shape):
        return pillow_pixels(path, input_shape).astype(np.float32).reshape(input_shape)

    fails_with(load_image, "the pixels are 0-255; the model was trained on pixels scaled to [0, 1]")


def test_load_image_in_bgr_order():
    def load_image(path, input_shape):
        pixels = pillow_pixels(path, input_shape).astype(np.float32) / 255
        return pixels.reshape(input_shape)[..., ::-1].copy()

    fails_with(load_image, "the channels are in BGR order")


def test_load_image_standardising_again():
    def load_image(path, input_shape):
        pixels = pillow_pixels(path, input_shape).astype(np.float32).reshape(input_shape)
        return ((pixels - pixels.mean()) / pixels.std()).astype(np.float32)

    fails_with(load_image, "the pixels are standardised (mean 0, std 1)")


def test_load_image_in_float64():
    def load_image(path, input_shape):
        return pillow_pixels(path, input_shape).reshape(input_shape) / 255

    fails_with(load_image, "dtype float64; the model was trained on float32")


def test_load_image_without_converting_the_mode():
    def load_image(path, input_shape):
        height, width, _ = input_shape
        with Image.open(path) as image:
            return np.asarray(image.resize((width, height)), dtype=np.float32) / 255

    fails_with(load_image, "expected (16, 16, 3)")


def test_load_image_with_a_batch_axis():
    def load_image(path, input_shape):
        return (pillow_pixels(path, input_shape).astype(np.float32) / 255).reshape(1, *input_shape)

    fails_with(load_image, "with a batch axis")


def test_load_image_with_width_and_height_swapped():
    def load_image(path, input_shape):
        height, width, channels = input_shape
        pixels = pillow_pixels(path, (width, height, channels)).astype(np.float32) / 255
        return pixels.reshape(input_shape)

    fails_with(load_image, "resize to (20, 12)")


# predict_top_k ---------------------------------------------------------------------------------


@pytest.fixture
def learner_load_image(master):
    return master["load_image"]


def test_predict_top_k_alternatives_pass(learner_load_image, capsys):
    load_image = learner_load_image

    def predict_top_k(model, path, class_names, k=3):  # keras.ops.softmax when the last layer is not a softmax
        outputs = model(load_image(path, model.input_shape[1:])[None], training=False)
        if (
            not isinstance(model.layers[-1], keras.layers.Softmax)
            and getattr(model.layers[-1], "activation", None) is not keras.activations.softmax
        ):
            outputs = keras.ops.softmax(outputs)
        probabilities = keras.ops.convert_to_numpy(outputs)[0]
        return [[class_names[i], probabilities[i]] for i in np.argsort(probabilities)[::-1][:k]]

    self_check(predict_top_k)
    assert "passes every check" in capsys.readouterr().out


def test_predict_top_k_returning_logits(learner_load_image):
    load_image = learner_load_image

    def predict_top_k(model, path, class_names, k=3):
        outputs = model.predict(load_image(path, model.input_shape[1:])[None], verbose=0)[0]
        return [(class_names[i], float(outputs[i])) for i in np.argsort(-outputs)[:k]]

    fails_with(predict_top_k, "it outputs logits), the 'probabilities' sum to")


def test_predict_top_k_with_softmax_twice(learner_load_image):
    load_image = learner_load_image

    def predict_top_k(model, path, class_names, k=3):
        outputs = np.asarray(
            keras.ops.softmax(model.predict(load_image(path, model.input_shape[1:])[None], verbose=0))
        )[0]
        return [(class_names[i], float(outputs[i])) for i in np.argsort(-outputs)[:k]]

    fails_with(predict_top_k, "softmax was applied to outputs that were already probabilities")


def test_predict_top_k_on_unscaled_pixels():
    def predict_top_k(model, path, class_names, k=3):
        height, width, _ = model.input_shape[1:]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB").resize((width, height)), dtype=np.float32)
        outputs = model.predict(pixels[None], verbose=0)[0]
        return [(class_names[i], float(outputs[i])) for i in np.argsort(-outputs)[:k]]

    fails_with(predict_top_k, "the predictions are those of 0-255 pixels")


def test_predict_top_k_least_probable_first(learner_load_image):
    load_image = learner_load_image

    def predict_top_k(model, path, class_names, k=3):
        outputs = np.asarray(
            keras.ops.softmax(model.predict(load_image(path, model.input_shape[1:])[None], verbose=0))
        )[0]
        return [(class_names[i], float(outputs[i])) for i in np.argsort(outputs)[-k:]]

    fails_with(predict_top_k, "are not in decreasing order")


def test_predict_top_k_returning_the_array(learner_load_image):
    load_image = learner_load_image

    def predict_top_k(model, path, class_names, k=3):
        return model.predict(load_image(path, model.input_shape[1:])[None], verbose=0)[0]

    fails_with(predict_top_k, "expected a list of 3 (class_name, probability) pairs")


# create_app ------------------------------------------------------------------------------------


def app_factory(
    predict_top_k, *, load_per_request=False, save_uploads_to=None, size_limit=True, json_errors=True, preprocess=None
):
    """A create_app with one of the classic mistakes switched on."""

    def create_app(model_path, class_names, max_upload_bytes=8 * 1024 * 1024):
        model = None if load_per_request else keras.saving.load_model(model_path)
        app = Flask(__name__)
        if size_limit:
            app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes

        @app.post("/predict")
        def predict():
            if json_errors and "file" not in request.files:
                return jsonify(error="no file"), 400
            upload = request.files["file"]
            source = upload.stream
            if save_uploads_to is not None:
                saved = os.path.join(save_uploads_to, upload.filename)
                upload.save(saved)
                source = saved
            current = keras.saving.load_model(model_path) if load_per_request else model
            try:
                top = (
                    preprocess(current, source, class_names)
                    if preprocess
                    else predict_top_k(current, source, class_names, k=3)
                )
            except OSError as error:
                if not json_errors:
                    raise
                return jsonify(error=str(error)), 400
            return {"predictions": [{"class": name, "probability": probability} for name, probability in top]}

        @app.get("/health")
        def health():
            return {"status": "ok"}

        return app

    return create_app


def test_create_app_alternative_passes(master, capsys):
    """Reads the upload's bytes, a dict instead of jsonify, a JSON 413 handler of its own."""
    predict_top_k = master["predict_top_k"]

    def create_app(model_path, class_names, max_upload_bytes=8 * 1024 * 1024):
        model = keras.saving.load_model(model_path, compile=False)
        app = Flask("classifier")
        app.config.update(MAX_CONTENT_LENGTH=max_upload_bytes)
        app.register_error_handler(413, lambda error: ({"error": "too large"}, 413))

        @app.route("/health")
        def health():
            return {"status": "ok", "classes": len(class_names)}

        @app.route("/predict", methods=["POST"])
        def predict():
            upload = request.files.get("file")
            if upload is None:
                return {"error": "field 'file' missing"}, 400
            try:
                top = predict_top_k(model, io.BytesIO(upload.read()), class_names)
            except Exception as error:  # noqa: BLE001
                return {"error": f"bad image: {error}"}, 400
            return {"predictions": [{"class": c, "probability": round(p, 6)} for c, p in top]}

        return app

    self_check(create_app)
    assert "passes every check" in capsys.readouterr().out


def test_create_app_loading_the_model_at_every_request(master):
    create_app = app_factory(master["predict_top_k"], load_per_request=True)
    fails_with(create_app, "load the model once, in create_app")


def test_create_app_writing_uploads_to_disk(master):
    create_app = app_factory(master["predict_top_k"], save_uploads_to=tempfile.gettempdir())
    failure = fails_with(create_app, "an upload was written to disk")
    for path in tempfile.gettempdir(), os.getcwd():
        for name in os.listdir(path):
            if name.startswith(("upload-", "photo-")) and name.endswith((".png", ".jpg")):
                os.remove(os.path.join(path, name))
    assert tempfile.gettempdir() in str(failure)


def test_create_app_without_a_size_limit(master):
    fails_with(app_factory(master["predict_top_k"], size_limit=False), "expected 413")


def test_create_app_without_json_errors(master):
    fails_with(app_factory(master["predict_top_k"], json_errors=False), "answered status 500; expected 400")


def test_create_app_preprocessing_unlike_training(master):
    def unscaled(model, source, class_names):
        with Image.open(source) as image:
            pixels = np.asarray(image.convert("RGB").resize(model.input_shape[1:3][::-1]), dtype=np.float32)
        probabilities = model.predict(pixels[None], verbose=0)[0]
        return [(class_names[i], float(probabilities[i])) for i in np.argsort(-probabilities)[:3]]

    fails_with(app_factory(master["predict_top_k"], preprocess=unscaled), "POST /predict answered")


def test_create_app_returning_no_app():
    def create_app(model_path, class_names, max_upload_bytes=8 * 1024 * 1024):
        return "http://localhost:5000"

    fails_with(create_app, "returned a str, not a Flask app")


def test_the_graders_see_the_mistakes_across_the_process_boundary(tmp_path):
    """Graded as a learner is: the exercises run in the learner process, the app answers from there."""
    target = copy_lessons(SOLUTIONS, tmp_path / "lessons")
    lesson = target / "09_predict_and_serve.py"
    text = lesson.read_text()
    for old, new in [
        ("    if np.any(outputs < 0) or not np.isclose(outputs.sum(), 1, atol=1e-3):\n", "    if False:\n"),
        (
            '            top = predict_top_k(classifier, request.files["file"].stream, class_names, k=3)',
            '            request.files["file"].save(request.files["file"].filename)  # into the working folder\n'
            '            top = predict_top_k(classifier, request.files["file"].filename, class_names, k=3)',
        ),
    ]:
        assert old in text, "the master 09 changed: update this test"
        text = text.replace(old, new, 1)
    lesson.write_text(text)
    run = run_graders(target, "-k", "09")
    assert run.results["test_load_image_prepares_files_as_in_training"][0] == "passed", run.output
    outcome, message = run.results["test_predict_top_k"]
    assert outcome == "failure" and "it outputs logits), the 'probabilities' sum to" in message
    outcome, message = run.results["test_create_app"]
    assert outcome == "failure" and "an upload was written to disk" in message, message
