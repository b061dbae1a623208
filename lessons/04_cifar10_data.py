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
# # Lesson 4 · CIFAR-10: colour images
#
# **Goal:** meet a harder dataset, colour photographs of ten kinds of objects, and prepare it
# the way the best CIFAR-10 models do: per-channel standardisation with statistics computed on
# the training split only.
#
# **You will learn to:** load colour images and look at their three channels; show one labelled
# sample per class; compute per-channel statistics; standardise every split with statistics of the
# training split only.
#
# **Before you start:** [Lesson 1](01_mnist_data.ipynb) (scaling, validation split); the CIFAR-10
# files at hand (`cnn-course doctor`).
#
# **Time:** about 30 minutes to read and do the three exercises; nothing to train.
#
# CIFAR-10 holds 60,000 photos of 32×32 pixels: 50,000 for training and 10,000 for the test.
# MNIST digits are centred strokes on a blank background; CIFAR-10 objects appear at any
# position, size and angle, on cluttered backgrounds, in colour. A network that scores 99 % on
# MNIST scores far less here, and the next lessons are about closing that gap.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 04` there; the graders live in the course's repository.

# %% tags=["install"]
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("cnn_course") is None:  # Colab, Binder, a notebook downloaded on its own
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "cnn-course @ git+https://github.com/cnn-course/cnn-course"])

# %% [markdown]
# ## Setup

# %% tags=["setup"]
import numpy as np

from cnn_course import data, plots
from cnn_course.checks import self_check

# %% [markdown]
# ## Load the data
#
# `data.load_cifar10()` reads the official "python version" batches from `CNN_COURSE_DATA` when
# it is set (checking the labels against the official checksums, and reading the pickles
# without running any code from them), or downloads them through `keras.datasets`.

# %%
(x_train, y_train), (x_test, y_test) = data.load_cifar10()
print("training images:", x_train.shape, x_train.dtype)
print("labels:", y_train.shape, y_train[:10])
print("classes:", data.CIFAR10_CLASS_NAMES)

# %% [markdown]
# The shape `(50000, 32, 32, 3)` already ends with the channel axis: **3 channels**, red, green
# and blue, each a 32×32 grid of values 0–255. A pixel is the mix of the three; the first
# convolution of a colour CNN has filters of depth 3 that learn which colour combinations to
# respond to.

# %%
image = x_train[0]
print("one image:", image.shape, "— top-left pixel (R, G, B):", image[0, 0])
plots.plot_image_grid(
    np.stack([image, image * [1, 0, 0], image * [0, 1, 0], image * [0, 0, 1]]).astype("uint8"),
    titles=["colour", "red channel", "green channel", "blue channel"],
    ncols=4,
);


# %% [markdown]
# ## Exercise 1 · A labelled sample per class
#
# To see what the network is up against, show a few examples of each class side by side. Write
# `first_indices_per_class`: for every class, the positions of its first `per_class` images.

# %% tags=["exercise"]
def first_indices_per_class(labels: np.ndarray, per_class: int = 8, num_classes: int = 10) -> np.ndarray:
    """Return the positions of the first `per_class` examples of every class.

    labels: integer labels, shape (N,).
    Returns an integer array of shape (num_classes, per_class); row c lists, in increasing
    order, the first positions where labels == c.
    """
    # YOUR CODE HERE
    raise NotImplementedError("first_indices_per_class is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(first_indices_per_class)

# %%
rows = first_indices_per_class(y_train, per_class=8)
plots.plot_image_grid(
    x_train[rows.ravel()], titles=[data.CIFAR10_CLASS_NAMES[y_train[i]] for i in rows.ravel()], ncols=8
);

# %% [markdown]
# **What to look for:** the backgrounds (sky behind airplanes and birds, water under ships),
# the viewpoints, and the classes that look alike at 32×32 pixels: cat and dog, automobile
# and truck, deer and horse. Expect the model's mistakes there.

# %%
plots.plot_class_counts(np.bincount(y_train, minlength=10), data.CIFAR10_CLASS_NAMES);


# %% [markdown]
# Exactly 5,000 training images per class: a perfectly balanced dataset.
#
# ## Exercise 2 · Per-channel statistics
#
# In lesson 1 we divided by 255. Better still for a deep network is to **standardise** each
# channel: subtract its mean and divide by its standard deviation, so that every input channel
# is centred on 0 with a spread of 1. Red, green and blue have different averages (photos hold
# a lot of blue sky), so each channel gets its own pair of numbers.
#
# Write `channel_mean_std`: the mean and standard deviation of each channel over all images,
# rows and columns.
#
# **A float32 trap.** The 45,000 training images hold 46 million values per channel. Summed in
# float32 (24 bits of precision), a running total past about 16 million can no longer grow by a
# value below 1, so `images.mean(axis=(0, 1, 2))` on float32 images returns the *same wrong
# number* for all three channels (0.364 here, against the true 0.491, 0.482 and 0.446). Ask NumPy
# to accumulate in float64 with `dtype=np.float64`, then cast the small result to float32 as the
# contract says.

# %% tags=["exercise"]
def channel_mean_std(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and standard deviation of each channel.

    images: float array (N, H, W, C).
    Returns (mean, std), each a float32 array of shape (C,), computed over N, H and W.
    """
    # YOUR CODE HERE
    raise NotImplementedError("channel_mean_std is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(channel_mean_std)


# %% [markdown]
# ## Exercise 3 · Standardise with the training statistics only
#
# Which images should the statistics come from? **The training split only.** The validation and
# test images are transformed with the *training* mean and std, exactly as a new photo would be
# once the model is in use: we cannot compute statistics on data we have not seen yet. Using the
# test set's own statistics would leak information about it into the pipeline.
#
# Write `standardize_splits`, which computes the statistics on `x_train` and applies them to all
# three splits.

# %% tags=["exercise"]
def standardize_splits(
    x_train: np.ndarray, x_val: np.ndarray, x_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise three splits per channel with the mean and std of `x_train`.

    Each input is a float array (N, H, W, C). Returns float32 arrays of the same shapes:
    (x - train_mean) / train_std for each split.
    """
    # YOUR CODE HERE
    raise NotImplementedError("standardize_splits is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(standardize_splits)

# %% [markdown]
# Now the whole pipeline: scale to [0, 1], carve a stratified validation set out of the training
# set (never out of the test set), then standardise.

# %%
x_train_scaled, x_test_scaled = data.scale_images(x_train), data.scale_images(x_test)
(x_fit, y_fit), (x_val, y_val) = data.train_validation_split(x_train_scaled, y_train, validation_fraction=0.1, seed=42)
x_fit_std, x_val_std, x_test_std = standardize_splits(x_fit, x_val, x_test_scaled)
mean, std = channel_mean_std(x_fit)
print("training-split mean per channel (R, G, B):", mean.round(4), " std:", std.round(4))
standardized_mean, standardized_std = channel_mean_std(x_fit_std)
print("after standardising, training mean:", standardized_mean.round(3), " std:", standardized_std.round(3))
print("validation mean:", channel_mean_std(x_val_std)[0].round(3), "— close to 0, but not exactly: it is another sample")

# %% [markdown]
# **What to look for:** the training split is exactly centred (mean 0, std 1) by construction;
# the validation and test splits come out *close* to that, which tells us they are drawn from
# the same distribution.
#
# In the next lesson the standardisation moves **inside the model**, as a
# `keras.layers.Normalization` layer built from these training statistics, so that a saved model
# takes plain [0, 1] images and nobody can forget the step.
#
# ## What you built
#
# A look at every class, per-channel statistics, and a leak-free standardisation. Grade it with
# `pytest -k 04`.
#
# ## Questions to think about
#
# 1. What exactly leaks into the test score if the mean and standard deviation are computed on
#    all 60,000 images?
# 2. Per-channel standardisation keeps three means; per-pixel standardisation would keep
#    32×32×3. What would each remove from the images, and which suits a CNN?
# 3. The three channel means differ. Is that a property of the objects, of the photographers, or of
#    the cameras, and does it matter for the model?
#
# **Next:** [Lesson 5 · A deeper CNN: regularisation, augmentation and callbacks](05_cifar10_cnn.ipynb).
