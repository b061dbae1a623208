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
# # Lesson 7 · Your own images: from a folder of files to a trained model
#
# **Goal:** train a classifier on a **folder of image files**, one subfolder per class, the way
# your own photos arrive, and save a model that takes any image file as it is: any size, pixel
# values 0–255.
#
# **You will learn to:** inspect a folder before training (images per class, files that cannot be
# decoded, unusual modes and sizes, photos turned by their EXIF orientation, hidden files, the order of
# the classes); load it the way `keras.utils.image_dataset_from_directory` does, with photos upright and
# a validation split that does not leak; make the input pipeline fast with `cache`, `shuffle` and
# `prefetch`, and measure it; put resizing and rescaling inside the model; train, save and evaluate it
# with lesson 6's tools.
#
# **Before you start:** [Lesson 5](05_cifar10_cnn.ipynb) (batch normalisation, augmentation,
# training a CIFAR-10 CNN) and [Lesson 6](06_cifar10_evaluation.ipynb) (reading a classifier's
# results).
#
# **Time:** about 50 minutes to read and do the four exercises, plus the training: about 3 minutes
# on a 2-core laptop CPU (the whole notebook about 6 minutes, on a busy 2-core machine).
#
# So far the data came as ready-made arrays. A real project starts from something like this:
#
# ```
# my_photos/
#     cat/    IMG_0001.jpg  IMG_0002.jpg ...
#     dog/    IMG_0107.JPG  ...
# ```
#
# and such folders are never clean: a file that was cut off while copying, a grayscale scan, a
# PNG with transparency, photos of every size, phone photos stored on their side, hidden files your
# computer added. We **inspect** the folder first, set aside what cannot be read, **load** it as
# `keras.utils.image_dataset_from_directory` does, feed it through a fast `tf.data` **pipeline**, and
# train a CNN that **resizes and rescales inside the model**.
#
# Offline, the course makes such a folder from the CIFAR-10 files (`cnn-course export-images
# cifar10 DIR --messy` does the same from a terminal): a stand-in for your own photos.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 07` there; the graders live in the course's repository.

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
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from PIL import Image

from cnn_course import evaluation, inference, plots, saving, training
from cnn_course.checks import self_check
from cnn_course.data import image_folders
from cnn_course.data.image_folders import IMAGE_SUFFIXES, ORIENTATION_TAG, export_cifar10_folder
from cnn_course.images import decode_image, to_channels
from cnn_course.seeding import set_global_seed

# %% [markdown]
# ## Settings
#
# `QUICK_RUN = True` shrinks the folder and the training to seconds, to try the whole lesson
# quickly (the model is then far from its real accuracy). `IMAGE_DIR = None` exports CIFAR-10
# images into a temporary folder; set it to the path of **your own folder** of photos (one
# subfolder per class: two classes or many, a few dozen images each or thousands) to run the lesson on
# them instead; with photos larger than CIFAR-10's 32 x 32 pixels, a larger `IMAGE_SIZE` (64 or 96)
# lets the model see more, at the price of slower epochs. The trained model, its history and its class
# names are saved in `MODEL_DIR`.

# %% tags=["parameters"]
QUICK_RUN = False
MODEL_DIR = "models"
IMAGE_DIR = None

# %%
PER_CLASS = 60 if QUICK_RUN else 1_000  # CIFAR-10 training images exported per class
TEST_PER_CLASS = 20 if QUICK_RUN else 1_000  # images per class of the held-out folder (the CIFAR-10 test split)
IMAGE_SIZE = 32  # the side, in pixels, of the images the network sees
BATCH_SIZE = 128
VALIDATION_SPLIT = 0.2
SHUFFLE_BUFFER = 1_000  # images the pipeline shuffles among
TIMING_BATCHES = 16  # training batches the pipeline measurements read: enough for steady rates, quick on large photos
EPOCHS = 1 if QUICK_RUN else 15
PEAK_LEARNING_RATE = 4e-3
SEED = 42
FEW_IMAGES = 10  # a class with fewer images than this is flagged: too few to learn from, or to measure
GALLERY_SIZE = 16  # mistakes shown at the end
set_global_seed(SEED)

# %% [markdown]
# ## Prepare a folder of images
#
# The export writes the first `PER_CLASS` images of each CIFAR-10 class as PNG files, and
# `messy=True` adds the problems real folders hold. It never writes into a folder that already
# holds files.

# %%
workspace = tempfile.TemporaryDirectory(prefix="cnn-course-lesson07-")  # removed when the notebook's kernel stops
if IMAGE_DIR is None:
    summary = export_cifar10_folder(Path(workspace.name) / "photos", per_class=PER_CLASS, messy=True)
    image_dir = summary.folder
    print(f"wrote {summary.images:,} images into {image_dir}, and these extras:")
    for path, description in summary.messy.items():
        print(f"  {path:48} {description}")
else:
    image_dir = Path(IMAGE_DIR).expanduser()
    if not image_dir.is_dir():
        raise FileNotFoundError(f"IMAGE_DIR = {IMAGE_DIR!r} is not a folder: name your folder of class subfolders.")
print("\ntop level:", sorted(path.name for path in image_dir.iterdir()))

# %% [markdown]
# ## Exercise 1 · How many images per class?
#
# Before training, count what each class holds: a class with ten times fewer images than the
# others, or with none, changes everything that follows. Count as the folder will be read:
#
# - every **subfolder** of `folder` is a class, even an empty one, except **hidden** folders
#   (names starting with `.`) such as `.ipynb_checkpoints`, which Jupyter creates in any folder
#   it opens;
# - an **image file** is a file whose extension, in lower case, is one of `IMAGE_SUFFIXES`
#   (`.bmp .gif .jpeg .jpg .png .webp`: cameras often write `.JPG`), anywhere inside its class
#   folder, subfolders included;
# - skip hidden files and files inside hidden folders: a Mac writes a `._photo.jpg` next to
#   each photo on a USB stick, which holds metadata, not pixels;
# - list the classes in **sorted order of their names, as strings**: that is the order
#   Keras numbers them in, so `"10"` comes before `"2"`.

# %% tags=["exercise"]
def count_images_per_class(folder: Path) -> dict[str, int]:
    """Return {class name: number of image files}, classes in sorted order of their folder names.

    folder: a folder with one subfolder per class. Hidden folders and files (name starting with
    '.') and files whose lower-cased extension is not in IMAGE_SUFFIXES are not counted.
    """
    ### BEGIN SOLUTION
    counts = {}
    for class_folder in sorted(path for path in Path(folder).iterdir() if path.is_dir() and not path.name.startswith(".")):
        files = [path.relative_to(class_folder) for path in class_folder.rglob("*") if path.is_file()]
        counts[class_folder.name] = sum(
            1 for file in files if file.suffix.lower() in IMAGE_SUFFIXES and not any(part.startswith(".") for part in file.parts)
        )
    return counts
    ### END SOLUTION


# %%
self_check(count_images_per_class)

# %% alt="Bar chart of the number of images in each class folder of the exported CIFAR-10 folder, ten bars of about the same height."
counts = count_images_per_class(image_dir)
print(counts)
print(f"classes with fewer than {FEW_IMAGES} images:", {name: n for name, n in counts.items() if n < FEW_IMAGES})
plots.plot_class_counts(np.array(list(counts.values())), list(counts));

# %% [markdown]
# **Why the order matters.** The model's output number *k* means "the *k*-th class name", and
# Keras numbers the class folders in sorted order of their names, compared as **strings**, one
# character at a time. Folders named after numbers sort in a surprising order:

# %%
with tempfile.TemporaryDirectory() as demo:
    for name in ("1", "2", "10"):
        (Path(demo) / name).mkdir()
        Image.new("RGB", (8, 8)).save(Path(demo) / name / "image.png")
    demo_dataset = keras.utils.image_dataset_from_directory(demo, image_size=(8, 8), verbose=False)
    print("folders 1, 2, 10 -> class_names", demo_dataset.class_names)

# %% [markdown]
# Class number 1 is `"10"`, not `"2"`. Nothing is wrong as long as the same list travels with
# the model, which is why we will save `class_names` next to it. Naming folders `01, 02, …, 10`
# makes the string order the natural one.

# %% [markdown]
# ## Exercise 2 · Can every file be read?
#
# A file's name says nothing certain about its content. Decode each file and report the shape of
# its pixels, `(height, width, channels)`, or `None` when it cannot be decoded. Either library
# works:
#
# - **Pillow:** `Image.open(path)` reads only the file's **header**, and `verify()` checks little
#   more; the pixels are decoded by `image.load()`. Then `image.height`, `image.width` and
#   `len(image.getbands())` (1 for grayscale, 3 for RGB, 4 for RGBA). It raises `OSError` (or a
#   subclass) for a file it cannot read.
# - **TensorFlow:** `tf.io.decode_image(tf.io.read_file(str(path)))` decodes the whole file into
#   a `(height, width, channels)` tensor, and raises `tf.errors.InvalidArgumentError`.
#
# Report the channels **as stored**: don't convert to RGB first.

# %% tags=["exercise"]
def image_shape(path: Path) -> tuple[int, int, int] | None:
    """Return (height, width, channels) of the image in the file at `path`, or None if it cannot be decoded.

    channels is what the file stores: 1 (grayscale), 3 (RGB) or 4 (RGBA).
    """
    ### BEGIN SOLUTION
    try:
        with Image.open(path) as image:
            image.load()
            return image.height, image.width, len(image.getbands())
    except OSError:
        return None
    ### END SOLUTION


# %%
self_check(image_shape)

# %% [markdown]
# Now every file of every class folder, hidden ones included, goes through `image_shape`:

# %%
shapes, unreadable, not_images, turned = Counter(), [], [], []
for path in sorted(image_dir.rglob("*")):
    relative = path.relative_to(image_dir)
    if not path.is_file() or len(relative.parts) < 2 or relative.parts[0].startswith("."):
        continue
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        not_images.append(relative)
        continue
    shape = image_shape(path)
    if shape is None:
        unreadable.append(relative)
        continue
    shapes[shape] += 1
    with Image.open(path) as photo:
        if photo.getexif().get(ORIENTATION_TAG, 1) != 1:
            turned.append(relative)
print("(height, width, channels): files")
for shape, number in shapes.most_common(10):
    print(f"  {shape}: {number}")
if len(shapes) > 10:
    print(f"  and {len(shapes) - 10} other shapes")
print("cannot be decoded:", [str(path) for path in unreadable])
print("not images (skipped when loading):", [str(path) for path in not_images][:20])
print(f"stored turned, with an EXIF orientation tag: {len(turned)} files", [str(path) for path in turned[:5]])

# %% [markdown]
# What the scan finds, and what each finding means for training:
#
# - **files that cannot be decoded**, like a JPEG cut off halfway or a `._` metadata file named
#   like a PNG. A loader lists files by their names and stops with an error **in the middle of an
#   epoch** when it reaches one. They must go.
# - **grayscale (1 channel), RGBA (4 channels), palette and 16-bit** images: they are turned into
#   RGB as they are loaded (`color_mode="rgb"`), so they can stay; transparent pixels are shown on
#   white, as a browser shows them.
# - **other sizes**: every image is resized to `image_size` as it is loaded, so they can stay,
#   but a batch of images mostly of one size tells you what size to train at.
# - **photos with an EXIF orientation tag**: a phone stores a photo as its sensor saw it and writes
#   in the file how to turn it (tag 6: a quarter turn clockwise). Every photo viewer turns it
#   upright, and so does this course, in training as in `cnn-course predict` and `serve`; the
#   shapes above are as stored, before turning.
# - **files that are not images** (`.txt`, `.DS_Store`) are skipped when loading; leave them.
#
# We move the undecodable files, and the images hidden inside class folders (the course's loader
# skips them, but Keras's reads them: a checkpoint copy would be counted twice), into a folder next
# to the data. Moving instead of
# deleting means nothing is lost: check them, then put them back or delete them yourself.

# %%
set_aside = image_dir.parent / f"{image_dir.name}_set_aside"
hidden_images = [
    path.relative_to(image_dir)
    for path in image_dir.glob("*/**/*")
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and any(part.startswith(".") for part in path.relative_to(image_dir).parts[1:])
]
for relative in sorted(set(unreadable) | set(hidden_images)):
    (set_aside / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(image_dir / relative, set_aside / relative)
    print(f"moved {relative} to {set_aside.name}/")

# %% [markdown]
# Some of the unusual images that stay, as the model will see them (upright, in RGB), titled with
# their shape as stored:

# %% alt="A row of the folder's unusual image files (grayscale, RGBA, other sizes), resized for display, each titled with its file's suffix and its shape."
odd_files = [
    path for path in sorted(image_dir.glob("*/*"))
    if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and not path.parent.name.startswith(".")
    and image_shape(path) != (IMAGE_SIZE, IMAGE_SIZE, 3)
][:8]
if odd_files:
    upright_rgb = [Image.fromarray(to_channels(decode_image(path), 3)) for path in odd_files]
    odd_images = np.stack([np.asarray(image.resize((64, 64))) for image in upright_rgb])
    odd_titles = [f"{path.stem.split('_')[-1][:12]}\n{image_shape(path)}" for path in odd_files]
    plots.plot_image_grid(odd_images, titles=odd_titles, ncols=len(odd_files));

# %% [markdown]
# ## Exercise 3 · Load the folder
#
# `keras.utils.image_dataset_from_directory(folder, ...)` lists the image files, numbers the
# classes (sorted folder names, as in exercise 1) and returns a `tf.data.Dataset` of batches
# `(images, labels)`, decoding the files as it goes. It has one flaw for photos: it ignores their
# EXIF orientation tag, so a photo taken with the phone held upright trains on its side, while
# `cnn-course predict` and `serve` turn the same file upright. The rule of this course is the photo
# viewers' one: **an image is turned upright by its EXIF orientation tag, everywhere**. The
# course's `image_folders.image_dataset_from_directory` takes the same arguments and returns the
# same datasets (the same files, classes and split for the same seed), but decodes every file as
# `predict` and `serve` do: upright, transparent pixels on white, WebP files included, hidden files
# skipped. Call it with:
#
# - `image_size=(height, width)`: every image is resized to it, so they fit in one batch;
#   pixel values stay 0–255 (float32);
# - `label_mode="int"`: labels are class numbers, for `sparse_categorical_crossentropy`
#   (`"categorical"` would give one-hot vectors);
# - `validation_split=0.2, subset="training"` or `"validation"`: it shuffles the list of files
#   and keeps the first 80 % or the last 20 %. The two calls must shuffle **the same way**, so
#   both need the **same `seed`**; otherwise some images land in both sets, and validation
#   accuracy measures memory, not generalisation. `subset="both"` returns the two at once;
# - the datasets carry `.class_names`, the names of the label numbers.
#
# Return the training and the validation datasets as the loader makes them (the pipeline comes next).

# %% tags=["exercise"]
def load_image_folder(
    folder: Path, image_size: tuple[int, int] = (32, 32), batch_size: int = 128, validation_split: float = 0.2, seed: int = 42
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Return (training, validation) datasets of the folder's images, from image_folders.image_dataset_from_directory.

    Batches are (images float32 (N, *image_size, 3) with values 0-255, upright by their EXIF
    orientation, labels int32 (N,)); the validation set is `validation_split` of the images, the
    same ones for the same seed.
    """
    ### BEGIN SOLUTION
    training_set, validation_set = image_folders.image_dataset_from_directory(
        folder,
        label_mode="int",
        image_size=image_size,
        batch_size=batch_size,
        validation_split=validation_split,
        subset="both",
        seed=seed,
    )
    return training_set, validation_set
    ### END SOLUTION


# %%
self_check(load_image_folder)

# %% alt="A grid of 16 images from one training batch read from the folder, each titled with the class name taken from its subfolder."
train_ds, val_ds = load_image_folder(image_dir, (IMAGE_SIZE, IMAGE_SIZE), BATCH_SIZE, VALIDATION_SPLIT, SEED)
class_names = train_ds.class_names
short_names = [name if len(name) <= 10 else f"{name[:9]}…" for name in class_names]  # fit above a small image
print("class_names:", class_names)
images, labels = next(iter(train_ds))
print(f"one batch: images {images.shape} {images.dtype}, values {float(images.numpy().min()):.0f} to {float(images.numpy().max()):.0f}; labels {labels.shape} {labels.dtype}")
plots.plot_image_grid(images.numpy()[:16].astype("uint8"), titles=[short_names[i] for i in labels.numpy()[:16]]);

# %% [markdown]
# The split draws files at random, whatever their class: a class with few images may have none in
# the validation set, and then nothing measures how well the model knows it.

# %%
split_counts = {
    subset: Counter(Path(path).relative_to(image_dir).parts[0] for path in dataset.file_paths)
    for subset, dataset in (("training", train_ds), ("validation", val_ds))
}
for name in class_names:
    training_count, validation_count = split_counts["training"][name], split_counts["validation"][name]
    print(f"{name[:24]:>24}: {training_count:5,} training, {validation_count:4,} validation")
print("classes without a validation image:", [name for name in class_names if split_counts["validation"][name] == 0])

# %% [markdown]
# ## The input pipeline: cache, shuffle, prefetch
#
# The dataset Keras returns opens and decodes every file again at **every epoch**. Three
# `tf.data` steps make it fast:
#
# - `.cache()` keeps the decoded images in memory after the first pass (or on disk:
#   `.cache(path)`, for folders larger than the memory), so later epochs skip the files;
# - `.shuffle(SHUFFLE_BUFFER)` mixes the batches anew at every epoch (Keras shuffled the file
#   list once; after `cache()` the order would otherwise repeat);
# - `.prefetch(tf.data.AUTOTUNE)` prepares the next batches while the model trains on the
#   current one. Keras's dataset ends with a prefetch already; after `cache()` and `shuffle()`
#   it must be added again.
#
# How many images per second each version delivers, reading the first `TIMING_BATCHES` batches of
# the training set twice (no model: the pipeline alone; a sample of the folder keeps the measurement
# short on a folder of large photos):

# %%
def images_per_second(dataset: tf.data.Dataset, epochs: int = 2) -> list[float]:
    """Return the images per second of each pass over `dataset`."""
    rates = []
    for _ in range(epochs):
        start, count = time.perf_counter(), 0
        for batch_images, _ in dataset:
            count += int(batch_images.shape[0])
        rates.append(count / (time.perf_counter() - start))
    return rates


pipelined_train = train_ds.cache().shuffle(SHUFFLE_BUFFER, seed=SEED).prefetch(tf.data.AUTOTUNE)
pipelined_val = val_ds.cache().prefetch(tf.data.AUTOTUNE)
timing_loaded = train_ds.take(TIMING_BATCHES)
timing_cached = timing_loaded.cache().shuffle(SHUFFLE_BUFFER, seed=SEED).prefetch(tf.data.AUTOTUNE)
throughput = {
    "as loaded (decodes every epoch)": images_per_second(timing_loaded),
    "cache + shuffle + prefetch": images_per_second(timing_cached),
}
for name, (first, second) in throughput.items():
    print(f"{name:>32}: epoch 1 {first:>9,.0f} images/s, epoch 2 {second:>9,.0f} images/s")

# %% [markdown]
# The first pass decodes every file either way, and the cached pipeline also fills its cache, so
# neither is fast. From the second pass on, the cached pipeline hands out images from memory,
# orders of magnitude faster than decoding. Whether that shortens an epoch depends on how fast the model consumes them; the
# training below measures it.

# %% [markdown]
# ## Exercise 4 · A model that takes images as they are
#
# A saved model is used later on new files, of any size, with pixel values 0–255. If resizing
# and scaling to [0, 1] happen **outside** the model, every program that uses it must repeat them
# exactly, and a forgotten `/ 255` gives confident nonsense. Put them **inside**:
#
# - `keras.Input(shape=(None, None, 3))`: any height and width;
# - `layers.Resizing(image_size, image_size)`: to the training size (during training it changes
#   nothing, the dataset already has that size);
# - `layers.Rescaling(1 / 255)`: pixel values to [0, 1];
# - then augmentation, `layers.RandomFlip("horizontal")`, and the CNN: four stages of
#   `Conv2D(filters, 3, padding="same", use_bias=False)` → `BatchNormalization` → `ReLU`, with
#   16, 32, 64 and 128 filters and `MaxPooling2D(2)` between stages, then
#   `GlobalAveragePooling2D` and `Dense(num_classes, activation="softmax")`, as in lesson 5 but
#   narrower, to train in a few minutes.

# %% tags=["exercise"]
def build_folder_cnn(num_classes: int = 10, image_size: int = 32) -> keras.Sequential:
    """Return a CNN (uncompiled) for RGB images of any size with pixel values 0-255.

    Takes float32 images (N, H, W, 3), any H and W; resizes them to (image_size, image_size) and
    rescales them to [0, 1] itself; outputs (N, num_classes) class probabilities.
    """
    ### BEGIN SOLUTION
    body = []
    for stage, filters in enumerate((16, 32, 64, 128)):
        if stage:
            body.append(layers.MaxPooling2D(2))
        body += [layers.Conv2D(filters, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU()]
    return keras.Sequential(
        [
            keras.Input(shape=(None, None, 3)),
            layers.Resizing(image_size, image_size),
            layers.Rescaling(1 / 255),
            layers.RandomFlip("horizontal"),
            *body,
            layers.GlobalAveragePooling2D(),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    ### END SOLUTION


# %%
self_check(build_folder_cnn)

# %%
model = build_folder_cnn(len(class_names), IMAGE_SIZE)
model.summary()

# %% [markdown]
# ## What the pipeline changes in training
#
# A measurement first: training epochs on each pipeline (the same `TIMING_BATCHES` batches), with the
# same model, after a warm-up epoch that builds the training step and fills the cache (so that neither
# is counted). The two
# pipelines take turns, three epochs each, and each keeps its fastest epoch: on a computer doing
# other work, one epoch can take twice as long as the next.

# %%
def epoch_seconds(model: keras.Model, dataset: tf.data.Dataset) -> float:
    """Return the seconds one training epoch of `model` on `dataset` takes."""
    timer = training.EpochTimer()
    model.fit(dataset, epochs=1, verbose=0, callbacks=[timer])
    return timer.epoch_seconds[0]


probe = training.compile_classifier(build_folder_cnn(len(class_names), IMAGE_SIZE))
epoch_seconds(probe, timing_cached)
timing_images = sum(int(batch_labels.shape[0]) for _, batch_labels in timing_cached)
pipelines = {"as loaded (decodes every epoch)": timing_loaded, "cache + shuffle + prefetch": timing_cached}
epoch_times = {name: [] for name in pipelines}
for _ in range(3):
    for name, dataset in pipelines.items():
        epoch_times[name].append(epoch_seconds(probe, dataset))
decoding_seconds = timing_images / throughput["as loaded (decodes every epoch)"][1]
for name, seconds in epoch_times.items():
    rate = timing_images / min(seconds)
    print(f"{name:>32}: fastest epoch {min(seconds):4.1f} s ({rate:5,.0f} images/s); all: {[round(t, 1) for t in seconds]}")
print(f"decoding the {timing_images:,} images once, without a model: {decoding_seconds:.1f} s")
train_images = len(train_ds.file_paths)

# %% [markdown]
# **What to look for:** the cached pipeline removes the decoding from every epoch after the first;
# the pipeline measurement above says how long that decoding takes without a model. How much of
# an epoch it is depends on how fast the model consumes images: Keras decodes the files on
# several threads while the model trains, which hides part of the cost, and with this small model
# on a CPU the model sets the pace, so the gain is a modest share of each epoch, which the
# epoch-to-epoch variation of a busy computer can hide. The faster the model's step (a GPU, a smaller
# network), the larger the share: there an uncached pipeline leaves the accelerator waiting.

# %% [markdown]
# ## Train
#
# The cached pipeline feeds the model; the validation set is the 20 % that
# `image_dataset_from_directory` kept aside. About 2 to 3 minutes on two CPU cores with the CIFAR-10
# folder.

# %% alt="Two line charts per epoch of training on the folder, loss on the left and accuracy on the right, training against validation."
set_global_seed(SEED)
model = build_folder_cnn(len(class_names), IMAGE_SIZE)
training.compile_classifier(model, training.warmup_cosine_schedule(PEAK_LEARNING_RATE, EPOCHS * len(train_ds)))
timer = training.EpochTimer()
history = model.fit(pipelined_train, epochs=EPOCHS, validation_data=pipelined_val, callbacks=[timer], verbose=2)
print(f"training: {sum(timer.epoch_seconds):.1f} s for {EPOCHS} epochs of {train_images:,} images")
plots.plot_history(history.history);

# %% [markdown]
# **What to look for:** validation accuracy trails far behind in the first epochs, then catches
# up. `BatchNormalization` predicts with running averages of the batch statistics, which move only
# 1 % towards each new batch (`momentum=0.99`): with about 60 batches per epoch, they take a few
# epochs to settle. Training on a small folder, give it those epochs before judging the model. By
# the end, training accuracy is above validation accuracy: with 800 images per class, the model
# starts to learn them by heart, and more images (or more augmentation) would help.

# %% [markdown]
# ## Save the model, its history and its class names
#
# The class names go next to the model (`own_images_cnn.classes.json`): its output *k* means
# `class_names[k]`, and nothing in the `.keras` file says so. `saving.save_model_with_classes`
# writes both, and `cnn-course predict` and `serve` read them together.

# %%
model_dir = Path(MODEL_DIR)
model_dir.mkdir(parents=True, exist_ok=True)
saving.save_model_with_classes(model, model_dir / "own_images_cnn.keras", class_names)
(model_dir / "own_images_cnn_history.json").write_text(json.dumps(history.history, indent=2))
print("saved", sorted(path.name for path in model_dir.iterdir() if path.name.startswith("own_images")))

# %% [markdown]
# ## Evaluate on a held-out folder
#
# A folder the model never saw: images of the CIFAR-10 **test** split, exported the same way. The
# grader builds the same folder from all 10,000 test images. We load it with `shuffle=False`, so
# the order of the images is that of the files, and read it with lesson 6's tools.

# %% alt="Confusion matrix of the held-out folder as a heat map, true class by row and predicted class by column, with most counts on the diagonal."
saved = keras.saving.load_model(model_dir / "own_images_cnn.keras")
saved_class_names, _ = saving.read_class_names(model_dir / "own_images_cnn.keras", saved.output_shape[-1])
saved_class_names = list(saved_class_names)
if IMAGE_DIR is None:
    held_out = export_cifar10_folder(Path(workspace.name) / "held_out", per_class=TEST_PER_CLASS, split="test").folder
    test_ds = image_folders.image_dataset_from_directory(
        held_out, image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=500, shuffle=False
    )
    test_title = "Held-out folder"
else:  # your own photos: no held-out folder, so the validation set stands in for one
    test_ds, test_title = val_ds, "Validation set"
test_batches = list(test_ds.as_numpy_iterator())
x_test = np.concatenate([batch_images for batch_images, _ in test_batches])
y_test = np.concatenate([batch_labels for _, batch_labels in test_batches])
results = evaluation.evaluate_classifier(saved, x_test, y_test, saved_class_names)
print(f"accuracy {results.accuracy:.2%}, loss {results.loss:.4f} on {len(y_test):,} images\n")
print(results.report_text)
plots.plot_confusion_matrix(results.confusion, saved_class_names, title=test_title);

# %% [markdown]
# Up to `GALLERY_SIZE` of its mistakes, drawn at random, as lesson 6 showed them (true class →
# predicted, with the confidence). A small folder of your own may leave fewer, or none:

# %% alt="A grid of up to 16 held-out images the model misclassified, chosen at random, each titled with its true class, the predicted class and the confidence."
predicted = np.argmax(results.probabilities, axis=1)
confidence = results.probabilities.max(axis=1)
mistakes = np.flatnonzero(predicted != y_test)
print(f"{len(mistakes):,} mistakes among {len(y_test):,} images")
if len(mistakes):
    wrong = np.sort(np.random.default_rng(SEED).choice(mistakes, min(GALLERY_SIZE, len(mistakes)), replace=False))
    plots.plot_predictions(
        x_test[wrong].astype("uint8"), y_test[wrong], predicted[wrong], short_names, confidence[wrong]
    );

# %% [markdown]
# ## Predict on files of any size
#
# The saved model takes pixels exactly as a file holds them. `inference.load_classifier` loads it
# with its class names, the way `cnn-course predict` and `cnn-course serve` do: it sees the
# `Rescaling` layer, so it feeds the pixel values 0–255 unchanged, turning photos upright and
# grayscale and transparent images into RGB first, exactly as the loader did in training. The
# odd-sized files of the folder go in as they are:

# %%
classifier = inference.load_classifier(model_dir / "own_images_cnn.keras")
print("the model rescales pixel values itself:", classifier.raw_pixels)
for path in odd_files:
    (best, probability), *_ = classifier.top_k(path, k=1)
    print(f"{str(path.relative_to(image_dir)):32} {image_shape(path)} -> {best} ({probability:.0%})")

# %% [markdown]
# From a terminal: `cnn-course predict models/own_images_cnn.keras photo.jpg`.

# %% [markdown]
# ## What you built
#
# A model trained on a folder of files, as your own photos will come: the folder inspected
# (counts, undecodable files, modes and sizes, orientation tags, hidden files), the problem files set
# aside without deleting anything, photos upright in training as in prediction, a validation split
# without leaks, a cached and prefetched pipeline, and a
# saved model that resizes and rescales by itself, with its class names beside it. Grade the
# lesson with `pytest -k 07`: the grader checks the four exercises, then loads
# `models/own_images_cnn.keras` and its class names and classifies a held-out folder of the 10,000
# CIFAR-10 test images. To use your own photos, set `IMAGE_DIR` to their folder and run the
# lesson again.
#
# ## Questions to think about
#
# 1. Your folder has 2,000 photos of cats and 150 of dogs. What does the accuracy on a validation
#    split hide, and what would you look at instead?
# 2. Photos taken in bursts hold near-identical images. Why can a random validation split then
#    overstate the accuracy, and how would you split instead?
# 3. The cached pipeline keeps every decoded image in memory. When would you cache to a file, or
#    not cache at all?
#
# **Next:** [Lesson 8 · Transfer learning and fine-tuning](08_transfer_learning.ipynb).
