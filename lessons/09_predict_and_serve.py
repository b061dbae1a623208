# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,alt,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 9 · Predict on any image, serve the model, export it for devices
#
# **Goal:** take the CIFAR-10 classifier out of the notebook. By the end of this lesson it
# classifies image files of any size and colour mode, answers a web page and a JSON API, and
# runs as a LiteRT (TensorFlow Lite) file of the kind phones and small boards run.
#
# **You will learn to:** load any image file (size, colour mode, transparency) exactly as the
# training images were prepared; report a prediction's top classes with their probabilities; build
# a web app with a factory function that loads the model once; export the model to LiteRT and check
# the export against the original.
#
# **Before you start:** the model [Lesson 5](05_cifar10_cnn.ipynb) saves, `models/cifar10_cnn.keras`
# (without it, this lesson trains a small stand-in in about a minute), and
# [Lesson 6](06_cifar10_evaluation.ipynb)'s reading of probabilities and top-k classes.
#
# **Time:** about 45 minutes to read and do the three exercises; nothing to train when lesson 5's
# model is there (exporting and checking it takes a minute or two).
#
# The one rule that holds all of this together: **an image must reach the model prepared
# exactly as the training images were.** The model of lesson 5 was trained on 32×32 RGB
# pixels scaled to [0, 1]; it standardises them itself, with its own `Normalization` layer.
# A photo from a phone is a 4000×3000 JPEG, maybe grayscale or with transparency. Everything
# in between is preprocessing, and it must be written once and shared by the notebook, the
# command line and the server.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 09` there; the graders live in the course's repository.

# %% tags=["install"]
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("cnn_course") is None:  # Colab, Binder, a notebook downloaded on its own
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "cnn-course @ git+https://github.com/cnn-course/cnn-course"])

# %% [markdown]
# ## Setup

# %% tags=["setup"]
import cnn_course  # first: it keeps TensorFlow's start-up messages out of the notebook
import io
from pathlib import Path

import keras
import numpy as np
from flask import Flask, jsonify, request
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_course import data, export, models, plots, saving, training
from cnn_course.checks import self_check
from cnn_course.sample_images import write_sample_images
from cnn_course.seeding import set_global_seed

# %% [markdown]
# ## Settings
#
# `MODEL_DIR` is the folder where lesson 5 saved its model. `QUICK_RUN = True` makes the
# stand-in model (if one is needed) and the export check take seconds.

# %% tags=["parameters"]
QUICK_RUN = False
MODEL_DIR = "models"

# %%
SEED = 42
CLASS_NAMES = data.CIFAR10_CLASS_NAMES
EXPORT_CHECK_IMAGES = 200 if QUICK_RUN else 1000
set_global_seed(SEED)

# %% [markdown]
# ## The model, loaded safely
#
# A `.keras` file holds the architecture as a configuration and the weights as arrays. Loading it
# in **safe mode** (the default of `keras.saving.load_model`, written out here) refuses to run any
# Python code stored in the file, such as a `Lambda` layer's function: a model file from someone
# else cannot run code on your machine. The course saves the class names next to each model,
# in `cifar10_cnn.classes.json`, so whatever predicts with the model can name its classes.
#
# If lesson 5's model is not there, the next cell trains a stand-in: the same network, two epochs
# on 10,000 training images (about a minute on a laptop CPU, around 55 % accuracy instead of 75 %+).

# %%
(x_train, y_train), (x_test, y_test) = data.load_cifar10()
model_path = Path(MODEL_DIR) / "cifar10_cnn.keras"
if not model_path.is_file():
    model_path = Path(MODEL_DIR) / "cifar10_standin.keras"
    print(f"no model from lesson 5 in {MODEL_DIR}/: training a stand-in, saved as {model_path}")
    x_fit, y_fit = data.stratified_subset(data.scale_images(x_train), y_train, 2_000 if QUICK_RUN else 10_000, seed=SEED)
    mean, std = data.channel_statistics(x_fit)
    epochs = 1 if QUICK_RUN else 2
    standin = models.build_cifar10_fast_cnn(mean, std**2)
    training.compile_classifier(standin, training.warmup_cosine_schedule(4e-3, epochs * training.steps_per_epoch(len(x_fit), 128)))
    standin.fit(x_fit, y_fit, epochs=epochs, batch_size=128, verbose=2)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    saving.save_model_with_classes(standin, model_path, CLASS_NAMES)

model = keras.saving.load_model(model_path, safe_mode=True)
class_names, note = saving.read_class_names(model_path, model.output_shape[-1])
print(f"{model_path}: input {model.input_shape}, output {model.output_shape}")
print("classes:", ", ".join(class_names))

# %% [markdown]
# ## Image files, as they come
#
# Ten test images written as files of five kinds: PNG at the native 32×32, JPEG (lossy), a PNG
# enlarged to 200×150 (another size *and* another aspect ratio), a grayscale PNG (one channel
# where the model wants three), an RGBA PNG (a fourth, transparency channel), and a JPEG cut off
# after 200 bytes, as a failed download leaves it.

# %%
sample_folder = Path(MODEL_DIR) / "sample_images"
sample_paths = write_sample_images(sample_folder, x_test[:10], y_test[:10], CLASS_NAMES)
for path in sample_paths:
    try:
        with Image.open(path) as picture:
            picture.load()
            print(f"{path.name:<28} {picture.format:<5} {picture.mode:<5} {picture.width}x{picture.height}")
    except OSError as error:
        print(f"{path.name:<28} cannot be read: {error}")


# %% [markdown]
# ## Exercise 1 · Load an image file as the model expects it
#
# Write `load_image(path, input_shape)`, which turns any image file into one model input:
#
# 1. open it with Pillow (`Image.open` accepts a path or a file object, such as an upload);
# 2. turn it upright by its EXIF orientation tag with `ImageOps.exif_transpose`: a phone stores a
#    photo as its sensor saw it and records how to turn it, and every viewer turns it. Lesson 7
#    trains on photos turned this way, so the image the model sees is the one the learner sees;
# 3. convert it to the model's colour mode: `"RGB"` when the model takes 3 channels, `"L"`
#    (grayscale) when it takes 1;
# 4. resize it to the model's height and width. Careful: Pillow sizes are **(width, height)**,
#    Keras shapes are **(height, width, channels)**;
# 5. return float32 pixels **scaled to [0, 1]**, shaped (height, width, channels), exactly like
#    the training images (`data.scale_images` divides the uint8 pixels by 255).
#
# Do not standardise: the model does that itself, with the training statistics it carries.

# %% tags=["exercise"]
def load_image(path, input_shape: tuple[int, int, int]) -> np.ndarray:
    """Return the image at `path` as a model input: float32 (height, width, channels) in [0, 1].

    path: a file path or a binary file object holding a PNG, JPEG or any format Pillow reads.
    input_shape: the model's (height, width, channels), channels 1 (grayscale) or 3 (RGB).
    A photo with an EXIF orientation tag is turned upright first, as in training (lesson 7).
    Raises PIL.UnidentifiedImageError or OSError if the file is not a readable image.
    """
    # YOUR CODE HERE
    raise NotImplementedError("load_image is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(load_image)

# %% [markdown]
# The PNG written from test image 0 loads **exactly** as the training pipeline prepares that image,
# down to the last bit: the same pixels, the same scaling, the same dtype.

# %%
from_file = load_image(sample_paths[0], model.input_shape[1:])
from_training = data.scale_images(x_test[:1])[0]
print(f"{sample_paths[0].name}: shape {from_file.shape}, dtype {from_file.dtype}, identical to the training input: {np.array_equal(from_file, from_training)}")
plots.plot_image_grid(np.stack([load_image(path, model.input_shape[1:]) for path in sample_paths[:10]]),
                      titles=[path.name.split("_", 1)[1] for path in sample_paths[:10]], ncols=5);


# %% [markdown]
# ## Exercise 2 · The k most probable classes of an image file
#
# Write `predict_top_k(model, path, class_names, k)`: load the file with your `load_image` (the
# model's input shape is `model.input_shape[1:]`), add the batch axis, predict, and return the
# k most probable classes as `(class_name, probability)` pairs, most probable first.
#
# The course's models end with a softmax, so their outputs are probabilities. A model compiled with
# `from_logits=True` ends without one and outputs **logits**, any real numbers. Return
# probabilities either way: when the outputs are not already non-negative and summing to 1,
# apply the softmax yourself.

# %% tags=["exercise"]
def predict_top_k(model: keras.Model, path, class_names: list[str], k: int = 3) -> list[tuple[str, float]]:
    """Return the k most probable (class_name, probability) pairs for the image at `path`, most probable first.

    path: a file path or binary file object (see load_image). Probabilities are floats that sum
    to 1 over all the model's classes, also when the model outputs logits.
    """
    # YOUR CODE HERE
    raise NotImplementedError("predict_top_k is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(predict_top_k)

# %% [markdown]
# Every file, whatever its size and mode; the corrupt one raises, and we say so and go on (as
# `cnn-course predict` does):

# %%
for path in sample_paths:
    try:
        top = predict_top_k(model, path, class_names)
    except OSError as problem:  # Pillow's UnidentifiedImageError is an OSError too
        print(f"{path.name:<28} cannot be read: {problem}")
        continue
    print(f"{path.name:<28} " + "   ".join(f"{name} {probability:.0%}" for name, probability in top))


# %% [markdown]
# **What to look for:** a file and its enlarged, grayscale or transparent variants are the same
# photo to us; to the model a grayscale picture has lost the colour it learned from, so its
# predictions shift the most.

# %% [markdown]
# ## Inputs unlike the training data
#
# A model is only as good as the match between the images it is given and the images it learned
# from. It has learned one thing: how images *like its training images* map to their classes.
# Shown anything else, it still answers, and the softmax still makes the answer look sure of
# itself: the probabilities always sum to 1 over the classes it knows, so "none of these" is not
# an answer it can give.
#
# MNIST digits are light strokes on a black background, centred in 28 x 28 pixels. Photograph a
# 7 written in ink on white paper and the strokes are dark on light: to the MNIST model the image
# is inside out, and it answered "0" at 81 %. A colour photo sent to it is seen as its brightness
# only, and still gets a digit. When the inputs a model meets in use differ from its training data
# like this, we speak of **distribution shift**; accuracy measured on the test set (drawn from the
# same distribution as the training set) says nothing about those inputs.
#
# Two cheap signs catch the worst cases. `cnn-course serve` reports them as warnings next to its
# answer (in its JSON, a `warnings` list), and so does `Classifier.classify` from `cnn_course.inference`:
#
# - **colour sent to a grayscale model**: the image has real colour, not gray stored as RGB;
# - **brightness far from the training images'**: the mean pixel value of the prepared image, compared
#   with the training images' (recorded in `model.classes.json` when the model is saved with its
#   training images, `saving.save_model_with_classes(model, path, names, training_images=x_train)`).
#   An inverted digit lands far from MNIST's 0.13.
#
# Passing both says little: a well-lit, centred photo of a cat is the right brightness for CIFAR-10
# and still unlike its 32 x 32 thumbnails. What helps is to **prepare inputs the way the training
# data was made** (invert dark-on-light digits, crop to the object, centre it), and to **collect
# training images like those the model will meet**, then measure it on a test set of them.

# %% [markdown]
# ## Exercise 3 · A web app, built by a factory function
#
# A **factory function** builds and returns the Flask app, instead of creating it at import time:
# each call makes a fresh app with its own settings (the model to serve, the upload limit), tests
# can create as many as they need, and production servers call it to get the app
# (`waitress-serve --call`, `gunicorn 'module:create_app(...)'`).
#
# Write `create_app(model_path, class_names, max_upload_bytes)` returning a Flask app with:
#
# - `GET /health` → 200 and JSON `{"status": "ok"}`;
# - `POST /predict` with the image in the multipart form field `"file"` → JSON
#   `{"predictions": [{"class": "cat", "probability": 0.87}, ...]}`, the top 3, computed with your
#   `predict_top_k` so the app and the notebook agree to the last digit;
# - a missing `"file"` field, or a file that is not a readable image → **400** and JSON
#   `{"error": "...what went wrong..."}`;
# - an upload larger than `max_upload_bytes` → **413**: set `app.config["MAX_CONTENT_LENGTH"]`
#   and Flask refuses it by itself.
#
# Two rules of a server: load the model **once**, in `create_app`, not at every request (loading
# takes a second or more), and **never write an upload to disk**: read it in memory,
# `request.files["file"].stream` is a file object `Image.open` accepts.

# %% tags=["exercise"]
def create_app(model_path: str | Path, class_names: list[str], max_upload_bytes: int = 8 * 1024 * 1024) -> Flask:
    """Return a Flask app serving the top-3 predictions of the classifier saved at `model_path`.

    GET /health -> {"status": "ok"}. POST /predict (image in form field "file") ->
    {"predictions": [{"class": str, "probability": float}, ...]}, 3 items, most probable first;
    400 with {"error": str} for a missing field or an unreadable image; 413 above max_upload_bytes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("create_app is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(create_app)

# %% [markdown]
# Flask's **test client** sends requests to the app without a network: the same requests a browser
# or `curl -F file=@cat.png http://localhost:5000/predict` would send.

# %%
app = create_app(model_path, list(class_names), max_upload_bytes=1_000_000)
client = app.test_client()
for path in sample_paths[:3] + sample_paths[-1:]:
    response = client.post("/predict", data={"file": (io.BytesIO(path.read_bytes()), path.name)})
    print(f"{path.name:<28} {response.status_code} {response.get_json()}")
response = client.post("/predict", data={"image": (io.BytesIO(sample_paths[0].read_bytes()), "cat.png")})
print(f"{'wrong field':<28} {response.status_code} {response.get_json()}")
response = client.post("/predict", data={"file": (io.BytesIO(bytes(2_000_000)), "huge.png")})
print(f"{'2 MB upload':<28} {response.status_code}")

# %% [markdown]
# To open it in a browser, run the course's own version of this app from a terminal (it adds an
# upload page with drag and drop, and runs on waitress, a production WSGI server):
#
# ```bash
# cnn-course serve models/cifar10_cnn.keras        # http://localhost:5000
# curl -F file=@models/sample_images/1_ship.jpg http://localhost:5000/predict
# ```
#
# It listens on `127.0.0.1`, this computer only. `--host 0.0.0.0` opens it to your network; for
# the internet, put a reverse proxy with HTTPS in front of it.

# %% [markdown]
# ## Export for devices: LiteRT
#
# Phones and small boards do not run Keras. They run **LiteRT** (formerly TensorFlow Lite), a
# small interpreter for a compact, frozen copy of the model. Keras writes it with
# `model.export(path, format="litert")`. A converted model must be checked: here the LiteRT
# interpreter and Keras classify the same test images and we count how often their top-1 classes agree.

# %%
tflite_path = export.export_litert(model, model_path)
x_check = data.scale_images(x_test[:EXPORT_CHECK_IMAGES])
result = export.check_export(model, model_path, tflite_path, x_check, y_test[:EXPORT_CHECK_IMAGES], timed=100)
print(f"{tflite_path.name}: {result.litert_bytes / 1e6:.2f} MB (the .keras file: {result.keras_bytes / 1e6:.2f} MB)")
print(f"top-1 agreement on {result.images} test images: {result.agreement:.2%}; largest probability difference {result.max_probability_difference:.1e}")
print(f"one image at a time: Keras {result.keras_ms_per_image:.2f} ms, LiteRT {result.litert_ms_per_image:.2f} ms")

# %% [markdown]
# **What to look for:** the agreement should be 100 % or very close: the converter keeps float32
# weights, so only rounding in a different order separates the two. LiteRT is usually several times
# faster per image: it runs one small, fixed graph without Keras's Python layers around it.
# `cnn-course export MODEL` does the same from a terminal.

# %% [markdown]
# ## What you built
#
# One preprocessing path from any image file to the model, the model's top classes with honest
# probabilities, a web app made by a factory that loads the model once and keeps uploads in
# memory, and a device-ready export checked against the original. Grade the lesson with
# `pytest -k 09`. The course's tools do the same from a terminal: `cnn-course predict`,
# `cnn-course serve` and `cnn-course export`.
#
# ## Questions to think about
#
# 1. A phone photo is 4000×3000 pixels; the model sees 32×32. What is lost in the resize, and
#    would cropping the centre first do better or worse on your own photos?
# 2. The web app answers with probabilities. When would you rather it answered "I don't know",
#    and how would you choose the threshold?
# 3. The LiteRT export agrees with the Keras model on almost every image. What could make it
#    disagree on the rest, and when would that matter?
