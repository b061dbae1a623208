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
# # Lesson 1 · MNIST: look at the data, then prepare it
#
# **Goal:** turn the raw MNIST digits into arrays a convolutional network can learn from, and
# understand every step.
#
# **You will learn to:** look at a dataset before modelling it (images, class balance); scale the
# pixels and add the channel axis a Keras CNN expects; one-hot encode labels and know when you need
# to; hold out a stratified validation set.
#
# **Before you start:** Python and NumPy basics (arrays, shapes, indexing); the course installed
# (`pip install -e .`) and the MNIST files at hand (`cnn-course doctor` says where they load from).
#
# **Time:** about 40 minutes to read and do the five exercises; nothing to train.
#
# MNIST holds 70,000 handwritten digits, 28×28 pixels in shades of grey, each labelled 0–9:
# 60,000 for training and 10,000 for the final test. It is small enough to train on a laptop in a
# minute and hard enough that a good model needs convolutions to beat 99 % accuracy.
#
# **How the exercises work.** Each exercise is a function with a docstring that states its
# contract. Replace `raise NotImplementedError` with your code, run the cell, then run the
# self-check below it: it runs the same check as the grader and prints what is wrong and a hint.
# When you are done, grade the whole lesson from a terminal with `pytest -k 01`.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 01` there; the graders live in the course's repository.

# %% tags=["install"]
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("cnn_course") is None:  # Colab, Binder, a notebook downloaded on its own
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "cnn-course @ git+https://github.com/cnn-course/cnn-course"])

# %% [markdown]
# ## Setup
#
# `cnn_course` is this course's own package: it loads the datasets, draws the figures and holds
# the checks. Run this cell first; the grader runs it too.

# %% tags=["setup"]
import cnn_course  # first: it keeps TensorFlow's start-up messages out of the notebook
import keras
import numpy as np
from sklearn.model_selection import train_test_split

from cnn_course import data, plots
from cnn_course.checks import self_check

# %% [markdown]
# ## Load the data
#
# `data.load_mnist()` returns two pairs `(images, labels)`: the training set and the test set.
# Where the files come from:
#
# - if the environment variable `CNN_COURSE_DATA` names a folder holding the four official MNIST
#   files (`train-images-idx3-ubyte.gz`, …), it reads them from there and checks their checksums;
# - otherwise it calls `keras.datasets.mnist.load_data()`, which downloads the data once and keeps
#   it in `~/.keras/datasets`.
#
# Look at what comes back: the **shape** says how many images of which size, the **dtype** says
# how the pixels are stored.

# %%
(x_train, y_train), (x_test, y_test) = data.load_mnist()
print("training images:", x_train.shape, x_train.dtype)
print("training labels:", y_train.shape, y_train.dtype, "first ten:", y_train[:10])
print("test images:    ", x_test.shape)
print("pixel values from", x_train.min(), "to", x_train.max())

# %% [markdown]
# Each image is a 28×28 grid of integers from 0 (white background) to 255 (black ink), stored as
# `uint8`, one byte per pixel. The labels are the digits themselves, also integers.
#
# A picture is worth a thousand shapes: here are the first 32 training images with their labels.

# %%
plots.plot_image_grid(x_train[:32], titles=[str(label) for label in y_train[:32]]);


# %% [markdown]
# ## Exercise 1 · Are the classes balanced?
#
# Before training a classifier, count the examples of each class. If one digit were ten times
# rarer than the others, a model could ignore it and still score well on *accuracy*, and we would
# have to watch per-class metrics (lesson 3) closely.
#
# Write `count_per_class`. `np.bincount` counts how often each integer occurs; make sure a class
# with no examples at all still gets its 0.

# %% tags=["exercise"]
def count_per_class(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Return the number of examples of each class.

    labels: integer class labels, shape (N,).
    Returns an integer array of shape (num_classes,) whose entry c counts the labels equal to c.
    """
    # YOUR CODE HERE
    raise NotImplementedError("count_per_class is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(count_per_class)

# %%
counts = count_per_class(y_train)
plots.plot_class_counts(counts, data.MNIST_CLASS_NAMES);
print("fewest:", counts.min(), "most:", counts.max())


# %% [markdown]
# **What to look for:** every digit has between about 5,400 and 6,700 examples. The classes are
# close enough to balanced that plain accuracy is a fair first measure.

# %% [markdown]
# ## Exercise 2 · Scale the pixels to [0, 1]
#
# Networks learn best when their inputs are small numbers of similar size. With raw pixels up to
# 255, the first layer's outputs are large, the gradients are large, and training with the usual
# learning rates becomes unstable. Dividing by 255 maps every pixel into [0, 1] and keeps the
# picture exactly as it is.
#
# Two details matter:
#
# - convert to `float32` first: `uint8` cannot hold fractions, and integer division `//` would
#   turn every pixel into 0 or 1;
# - `float32` (not NumPy's default `float64`): it is what Keras computes in, at half the memory.

# %% tags=["exercise"]
def scale_images(images: np.ndarray) -> np.ndarray:
    """Return the images as float32 with pixel values in [0, 1].

    images: uint8 array of any shape, values 0-255. It is not modified.
    Returns a float32 array of the same shape, equal to images / 255.
    """
    # YOUR CODE HERE
    raise NotImplementedError("scale_images is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(scale_images)


# %% [markdown]
# ## Exercise 3 · Add the channel axis
#
# A convolution layer sees an image as a stack of *channels*: 3 for colour (red, green, blue), 1
# for grey. Keras expects the channels **last**: a batch of images has shape
# `(batch, height, width, channels)`. MNIST arrives as `(N, 28, 28)`, so we add an axis of
# length 1 at the end.

# %% tags=["exercise"]
def add_channel_axis(images: np.ndarray) -> np.ndarray:
    """Return the images with a channel axis of length 1 added at the end.

    images: array of shape (N, H, W).
    Returns an array of shape (N, H, W, 1) with the same values.
    """
    # YOUR CODE HERE
    raise NotImplementedError("add_channel_axis is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(add_channel_axis)

# %% [markdown]
# Now prepare both sets. The test set goes through exactly the same steps as the training set,
# otherwise the model would be tested on inputs unlike anything it learned from.

# %%
x_train_ready = add_channel_axis(scale_images(x_train))
x_test_ready = add_channel_axis(scale_images(x_test))
print(x_train_ready.shape, x_train_ready.dtype, "values from", x_train_ready.min(), "to", x_train_ready.max())


# %% [markdown]
# ## Exercise 4 · Labels: one-hot, and why integers work too
#
# The network's last layer outputs 10 numbers, one probability per digit. To compare them with a
# label, the label can be written as a **one-hot** vector: ten zeros with a single 1 at the
# digit, so 3 becomes `[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]`. The loss then measures how much
# probability the model put on that 1.
#
# `keras.utils.to_categorical` builds these vectors. Write `one_hot` with it.

# %% tags=["exercise"]
def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Return the one-hot encoding of integer labels.

    labels: integer array of shape (N,), values in [0, num_classes).
    Returns a float array of shape (N, num_classes) with a single 1 per row, at the label.
    """
    # YOUR CODE HERE
    raise NotImplementedError("one_hot is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(one_hot)
print(y_train[:3], "->\n", one_hot(y_train[:3]))


# %% [markdown]
# **Sparse labels also work.** One-hot vectors are mostly zeros: for 10 classes they hold 10 times
# more numbers than the labels. Keras offers two versions of the same loss:
#
# | labels you have | loss to use |
# |---|---|
# | one-hot vectors, shape `(N, 10)` | `categorical_crossentropy` |
# | integers, shape `(N,)` | `sparse_categorical_crossentropy` |
#
# Both compute $-\log p_{\text{true class}}$; the sparse one simply looks the probability up by
# index. This course keeps the integer labels and uses the sparse loss. Mixing them up is a
# classic error: Keras then complains about incompatible shapes.

# %% [markdown]
# ## Exercise 5 · A validation set, carved from the training set
#
# While training we want to know how well the model does on images it has **not** trained on,
# to choose the number of epochs or the learning rate. That is the job of a **validation set**.
#
# It must come from the training set. The test set is kept aside until the very end: if we used
# it to make choices, its accuracy would no longer be an honest estimate of how the model does on
# new data.
#
# Write `split_train_validation` with scikit-learn's `train_test_split`:
#
# - `test_size=validation_fraction` (here "test" means our validation part);
# - `stratify=y` keeps each digit's share the same in both parts;
# - `random_state=seed` makes the split repeat exactly.

# %% tags=["exercise"]
def split_train_validation(
    x: np.ndarray, y: np.ndarray, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split (x, y) into a training part and a stratified validation part.

    x: images, shape (N, ...); y: integer labels, shape (N,).
    Returns ((x_train, y_train), (x_val, y_val)); the validation part holds
    validation_fraction of the examples, with every class in the same proportion as in y.
    The same seed gives the same split.
    """
    # YOUR CODE HERE
    raise NotImplementedError("split_train_validation is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(split_train_validation)

# %%
(x_fit, y_fit), (x_val, y_val) = split_train_validation(x_train_ready, y_train, validation_fraction=0.1)
print("train:", x_fit.shape, " validation:", x_val.shape, " test:", x_test_ready.shape)
print("share of digit 1 in train / validation:", np.mean(y_fit == 1).round(4), np.mean(y_val == 1).round(4))

# %% [markdown]
# ## What you built
#
# - `uint8` pixels 0–255 became `float32` values in [0, 1], shape `(N, 28, 28, 1)`;
# - the labels stay integers, ready for `sparse_categorical_crossentropy`;
# - 54,000 images to train on, 6,000 to validate with, and 10,000 test images left untouched.
#
# The package has the same helpers (`data.scale_images`, `data.add_channel_axis`,
# `data.train_validation_split`), which the next lessons use. Grade this lesson with
# `pytest -k 01`.
#
# ## Questions to think about
#
# 1. Why must the validation images come from the training split and never from the test split?
#    Which number of lesson 3 would you no longer be able to trust?
# 2. MNIST's classes are nearly balanced. How unbalanced would they have to be before plain
#    accuracy misleads you, and what would you report instead?
# 3. Scaling to [0, 1] and standardising to mean 0 and standard deviation 1 both shrink the
#    inputs. Would the network of lesson 2 learn differently with one or the other? How would you
#    find out?
#
# **Next:** [Lesson 2 · Build a convolutional neural network](02_mnist_cnn.ipynb).
