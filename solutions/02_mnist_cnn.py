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
# # Lesson 2 · Build a convolutional neural network
#
# **Goal:** build the CNN that will classify MNIST digits, and be able to predict, before running
# `model.summary()`, the shape of every layer's output and how many parameters it learns.
#
# **You will learn to:** predict a convolution's output size from its kernel, stride and padding;
# count a layer's parameters by hand; build a CNN with Keras and read `model.summary()`; compile it
# with the loss that matches integer labels.
#
# **Before you start:** [Lesson 1](01_mnist_data.ipynb): images as arrays of shape `(N, 28, 28, 1)`
# with integer labels.
#
# **Time:** about 40 minutes to read and do the four exercises; nothing to train (the model is built
# here and trained in lesson 3).
#
# A plain dense network would flatten each image into 784 numbers and forget which pixels are
# neighbours. A **convolutional** network slides small filters over the image instead: the same
# 3×3 filter looks for the same stroke everywhere, so the network needs far fewer weights and
# recognises a digit wherever it sits.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 02` there; the graders live in the course's repository.

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
import math

import keras
import numpy as np
from keras import layers

from cnn_course.checks import self_check

# %% [markdown]
# ## How a convolution changes the size of an image
#
# A `Conv2D` layer with `filters=32` and `kernel_size=3` slides 32 different 3×3 windows over the
# image and outputs 32 **feature maps**. How big is each map?
#
# - With `padding="valid"` (Keras's default) the window must fit entirely inside the image, so
#   it loses `kernel_size - 1` pixels per dimension. With a **stride** $s$ (the window jumps $s$
#   pixels at a time):
#   $$\text{out} = \left\lfloor \frac{\text{in} - \text{kernel}}{s} \right\rfloor + 1$$
# - With `padding="same"` the image is padded with zeros so that only the stride shrinks it:
#   $$\text{out} = \left\lceil \frac{\text{in}}{s} \right\rceil$$
#
# `MaxPooling2D(pool_size=2)` follows the same rule as a 2×2 window with stride 2 and no padding:
# it keeps the largest value of each 2×2 block, halving the size (rounding down) and keeping the
# strongest responses.
#
# ## Exercise 1 · Output size

# %% tags=["exercise"]
def conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding: str = "valid") -> int:
    """Return the output width (or height) of a convolution or pooling window.

    input_size: width of the input; kernel_size: width of the window; stride: step between windows;
    padding: "valid" (no padding) or "same" (zero padding, output = ceil(input / stride)).
    """
    ### BEGIN SOLUTION
    if padding == "same":
        return math.ceil(input_size / stride)
    return (input_size - kernel_size) // stride + 1
    ### END SOLUTION


# %%
self_check(conv_output_size)

# %% [markdown]
# Follow a 28×28 digit through two convolution + pooling blocks:

# %%
size = 28
for step, (kernel, stride) in [("conv 3x3", (3, 1)), ("pool 2x2", (2, 2)), ("conv 3x3", (3, 1)), ("pool 2x2", (2, 2))]:
    size = conv_output_size(size, kernel, stride)
    print(f"after {step}: {size} x {size}")

# %% [markdown]
# ## How many parameters does a convolution learn?
#
# Each filter has one weight per pixel of its window **and per input channel**, plus one bias.
# A `Conv2D(64, 3)` applied to 32 feature maps therefore learns
# $(3 \times 3 \times 32 + 1) \times 64 = 18{,}496$ numbers, whatever the size of the image: that
# independence from the image size is what makes convolutions cheap. Pooling, flattening and
# dropout learn nothing.
#
# ## Exercise 2 · Parameter count

# %% tags=["exercise"]
def conv2d_param_count(kernel_size: int, in_channels: int, filters: int) -> int:
    """Return the number of trainable parameters of a Conv2D layer with a bias.

    kernel_size: width of the square window; in_channels: channels of the input;
    filters: number of filters (output channels).
    """
    ### BEGIN SOLUTION
    return (kernel_size * kernel_size * in_channels + 1) * filters
    ### END SOLUTION


# %%
self_check(conv2d_param_count)

# %% [markdown]
# ## The architecture
#
# The network reads like a funnel: convolutions find strokes, pooling keeps the strongest ones
# and shrinks the maps, and dense layers combine them into a decision.
#
# | layer | what it does | output shape |
# |---|---|---|
# | `Input(shape=(28, 28, 1))` | declares the image shape | (None, 28, 28, 1) |
# | `Conv2D(32, 3, activation="relu")` | 32 stroke detectors | (None, 26, 26, 32) |
# | `MaxPooling2D(2)` | keep the strongest response per 2×2 block | (None, 13, 13, 32) |
# | `Conv2D(64, 3, activation="relu")` | 64 detectors of stroke combinations | (None, 11, 11, 64) |
# | `MaxPooling2D(2)` | | (None, 5, 5, 64) |
# | `Flatten()` | the 5×5×64 maps become one vector | (None, 1600) |
# | `Dropout(0.3)` | randomly zero 30 % of the values while training | (None, 1600) |
# | `Dense(128, activation="relu")` | combine features | (None, 128) |
# | `Dropout(0.3)` | | (None, 128) |
# | `Dense(num_classes, activation="softmax")` | one probability per class | (None, 10) |
#
# `None` is the batch size, left open. Three ideas deserve a word:
#
# - **ReLU** (`max(0, x)`) lets the network bend: without a non-linearity, stacked layers
#   would collapse into a single linear map.
# - **Dropout** switches off a random part of the values at each training step, so the network
#   cannot rely on any single feature; it is inactive when predicting.
# - **Softmax** turns the 10 output scores into probabilities: positive, summing to 1.
#
# ## Exercise 3 · Build the model
#
# Build it with `keras.Sequential`, using `input_shape` and `num_classes` rather than fixed
# numbers. Do not compile it yet.

# %% tags=["exercise"]
def build_mnist_cnn(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Return the (uncompiled) MNIST CNN of the table above.

    input_shape: (height, width, channels) of one image; num_classes: number of output classes.
    The model maps float32 images of shape (batch, *input_shape) to probabilities of shape
    (batch, num_classes).
    """
    ### BEGIN SOLUTION
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(64, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    ### END SOLUTION


# %%
self_check(build_mnist_cnn)

# %% [markdown]
# `model.summary()` lists each layer with its output shape and parameter count. Check two lines
# against your own arithmetic: the first convolution has $(3 \cdot 3 \cdot 1 + 1) \cdot 32 = 320$
# parameters, and the first `Dense` layer $1600 \cdot 128 + 128 = 204{,}928$, most of the model.

# %%
model = build_mnist_cnn()
model.summary()

# %%
assert conv2d_param_count(3, 1, 32) == model.layers[0].count_params()
assert conv2d_param_count(3, 32, 64) == model.layers[2].count_params()

# %% [markdown]
# ## Exercise 4 · Compile: loss, optimizer, metric
#
# `model.compile` chooses how the model learns:
#
# - **loss** `"sparse_categorical_crossentropy"`: $-\log$ of the probability given to the true
#   class; our labels are integers (lesson 1), hence the *sparse* version;
# - **optimizer** `keras.optimizers.Adam(learning_rate)`: a gradient descent that adapts the
#   step size of each weight; the learning rate sets the overall step;
# - **metrics** `["accuracy"]`: reported while training, for us to read; it does not steer
#   learning.
#
# Return the model so that calls can be chained.

# %% tags=["exercise"]
def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile `model` in place for integer-labelled classification and return it.

    Uses Adam with `learning_rate` (a float or a keras LearningRateSchedule), the sparse
    categorical cross-entropy loss and the accuracy metric.
    """
    ### BEGIN SOLUTION
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
    ### END SOLUTION


# %%
self_check(compile_classifier)

# %% [markdown]
# ## Sanity check before training
#
# An untrained model knows nothing, so it should give every digit roughly the same probability,
# about 1/10, and its loss should be close to $-\log(1/10) = \ln 10 \approx 2.30$. A much larger
# loss before training usually means unscaled inputs or a wrong loss.

# %%
model = compile_classifier(build_mnist_cnn())
random_images = np.random.default_rng(0).random((256, 28, 28, 1), dtype=np.float32)
random_labels = np.random.default_rng(1).integers(0, 10, 256)
probabilities = model.predict(random_images, verbose=0)
print("mean probability per class:", probabilities.mean(axis=0).round(3))
loss, accuracy = model.evaluate(random_images, random_labels, verbose=0)
print(f"loss before training: {loss:.2f} (ln 10 = {math.log(10):.2f})")

# %% [markdown]
# ## What you built
#
# A 225,034-parameter CNN whose every shape and parameter count you can derive by hand, compiled
# for integer labels. The package's `cnn_course.models.build_mnist_cnn` is the same model. Grade
# this lesson with `pytest -k 02`.
#
# ## Questions to think about
#
# 1. `Dense(128)` holds about 90 % of the parameters. What happens to the count if `Flatten` becomes
#    `GlobalAveragePooling2D`, and what might the network lose?
# 2. Two stacked 3×3 convolutions see a 5×5 patch of their input. How many weights do they need,
#    compared with one 5×5 convolution of the same width?
# 3. Which shapes of the summary would change with `padding="same"` in both convolutions, and
#    how many parameters would the dense layer then have?
#
# **Next:** [Lesson 3 · Train, evaluate, and save the MNIST CNN](03_mnist_training.ipynb).
