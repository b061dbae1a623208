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
# # Lesson 6 · Evaluate the CIFAR-10 model and analyse its errors
#
# **Goal:** measure the CNN of lesson 5 on the 10,000 CIFAR-10 test images, then find out *how*
# it fails: which classes it finds hard, which classes it mixes up, how sure it is when it is
# wrong, and what a single prediction looks like.
#
# **You will learn to:** report test accuracy and loss; compute per-class precision, recall and F1;
# read a confusion matrix and list the most confused pairs; look at the mistakes; draw one-vs-rest
# ROC curves with their AUC; explain a single prediction by its top 3 classes.
#
# **Before you start:** the model [Lesson 5](05_cifar10_cnn.ipynb) saves, `models/cifar10_cnn.keras`:
# run lesson 5 to the end first, with the same `MODEL_DIR`. The metrics of
# [Lesson 3](03_mnist_training.ipynb) (confusion matrix, precision and recall) are used again here.
#
# **Time:** about 45 minutes to read and do the four exercises; nothing to train (evaluating the
# model takes about a minute).
#
# One number, the accuracy, tells us how often the model is right. This lesson takes it apart.
# A per-class report, a confusion matrix, ROC curves and a look at the mistakes themselves tell
# us where to spend the next hour of work: more data for one class, augmentation that matches its
# variations, or simply a model that is trained for longer.

# %% [markdown]
# ## In a hosted notebook
#
# Opened in Colab or Binder, or downloaded on its own? The next cell installs the course's package
# when it is missing; in your copy of the course it does nothing. If pip asks you to restart the
# runtime, do so and run the notebook again from the top. The data then comes through
# `keras.datasets`, which downloads it once, and `self_check` works as on a laptop. A lesson that
# trains saves its model in `models/` beside the notebook: on Colab, download it before the session
# ends. To grade a whole lesson, put the notebook in your copy of the course's `lessons/` folder and
# run `pytest -k 06` there; the graders live in the course's repository.

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
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score

from cnn_course import data, evaluation, plots
from cnn_course.checks import self_check

# %% [markdown]
# ## Settings
#
# `MODEL_DIR` is the folder where lesson 5 saved its model. `QUICK_RUN = True` evaluates on the
# first 2,000 test images only, which takes a few seconds: handy to try the lesson, while the
# full test set gives the numbers to report.

# %% tags=["parameters"]
QUICK_RUN = False
MODEL_DIR = "models"

# %%
TEST_IMAGES = 2000 if QUICK_RUN else None  # None: all 10,000
CLASS_NAMES = data.CIFAR10_CLASS_NAMES

# %% [markdown]
# ## Load the model and the test set
#
# `keras.saving.load_model` restores the architecture and the weights that lesson 5 saved.
# `safe_mode=True` refuses files that would run arbitrary Python code while loading: always use
# it for a model file you did not write yourself.
#
# The model takes images scaled to [0, 1]: the per-channel standardisation of lesson 4 is its
# first layer. The test set was never used while training or choosing settings in lesson 5, so
# the numbers below are an honest estimate of how the model does on new photos.

# %%
model_path = Path(MODEL_DIR) / "cifar10_cnn.keras"
if not model_path.is_file():
    raise FileNotFoundError(
        f"there is no trained model at {model_path.resolve()}. This lesson evaluates the CNN that "
        "lesson 5 (05_cifar10_cnn) trains and saves: run lesson 5 to the end first, with the same MODEL_DIR."
    )
model = keras.saving.load_model(model_path, safe_mode=True)
print(f"loaded {model_path}: {model.count_params():,} parameters, input {model.input_shape}, output {model.output_shape}")

(_, _), (x_test, y_test) = data.load_cifar10()
x_test, y_test = data.scale_images(x_test)[:TEST_IMAGES], y_test[:TEST_IMAGES]
print(f"test set: {x_test.shape}, {len(np.unique(y_test))} classes")

# %% [markdown]
# ## Predict once, then analyse
#
# Every measure in this lesson starts from the model's probabilities: for each test image, 10
# numbers that sum to 1. We compute them once and keep them; the predicted class is the most
# probable one.

# %%
probabilities = evaluation.predict_probabilities(model, x_test)
y_pred = np.argmax(probabilities, axis=1)
print("probabilities:", probabilities.shape, "— first image:", probabilities[0].round(3))

# %% [markdown]
# ## Test accuracy and loss
#
# - **Accuracy** is the share of test images whose most probable class is the true one. Guessing
#   at random scores 10 %.
# - **Loss** (cross-entropy) is the average of −log(probability given to the true class). It
#   rewards being *sure* of the right answer and punishes being sure of a wrong one: a model that
#   gives the true class 0.9 contributes 0.11, one that gives it 0.01 contributes 4.6. Spreading
#   the probability evenly over the 10 classes scores ln 10 ≈ 2.30.
#
# Two models with the same accuracy can have different losses: the one with the lower loss is
# better calibrated, confident when right and hesitant when wrong.

# %%
accuracy = np.mean(y_pred == y_test)
loss = evaluation.cross_entropy(probabilities, y_test)
print(f"test accuracy {accuracy:.2%} ({np.sum(y_pred != y_test):,} mistakes out of {len(y_test):,})")
print(f"test loss {loss:.4f} (spreading the probability evenly scores {np.log(10):.4f})")


# %% [markdown]
# ## Exercise 1 · Precision, recall and F1 per class
#
# Accuracy mixes all classes together. For each class `c`, three numbers tell more:
#
# - **precision**: of the images *predicted* as `c`, the share that really are `c`;
# - **recall**: of the images that really *are* `c`, the share the model predicted as `c`;
# - **F1**: their harmonic mean, 2·P·R / (P + R), high only when both are.
#
# A class with low recall is often *missed*; a class with low precision is often *wrongly
# claimed*. Write `precision_recall_f1` with NumPy. Careful: a class that is never predicted has
# no predictions to divide by. Its precision is 0 / 0, which scikit-learn (with
# `zero_division=0`) reports as 0: do the same for every ratio whose denominator is 0.

# %% tags=["exercise"]
def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the precision, recall and F1 score of every class.

    y_true, y_pred: integer labels, shape (N,).
    Returns (precision, recall, f1), each a float array of shape (num_classes,); a ratio whose
    denominator is 0 is 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("precision_recall_f1 is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(precision_recall_f1)

# %% [markdown]
# scikit-learn's `classification_report` prints the same three numbers per class, with the
# **support** (the number of test images of the class), and two averages: the *macro* average
# treats every class alike, the *weighted* one weights them by support. The test set has as many
# images of each class, so the two agree here.

# %%
precision, recall, f1 = precision_recall_f1(y_test, y_pred)
print(classification_report(y_test, y_pred, target_names=CLASS_NAMES, digits=3))
print("hardest classes (lowest F1):", ", ".join(CLASS_NAMES[c] for c in np.argsort(f1)[:3]))

# %% [markdown]
# **What to look for:** the spread between the best and the worst classes. Vehicles (automobile,
# ship, truck) usually score high; cat, bird and dog low. Then compare precision and recall of a
# weak class: cat with a lower recall than precision means real cats are often called something
# else, mostly dog, as the confusion matrix shows next.
#
# ## The confusion matrix
#
# Entry `[t, p]` counts the test images of true class `t` predicted as `p`: the diagonal holds the
# correct predictions, every other cell a kind of mistake. Rows are true classes, columns
# predictions, so a row adds up to the support of its class.

# %%
confusion = confusion_matrix(y_test, y_pred, labels=range(len(CLASS_NAMES)))
plots.plot_confusion_matrix(confusion, CLASS_NAMES, title="CIFAR-10 test set");


# %% [markdown]
# **What to look for:** two blocks. The animals (bird, cat, deer, dog, frog, horse) are mistaken
# for each other, and the vehicles (airplane, automobile, ship, truck) for each other, but an
# animal is rarely taken for a vehicle. The brightest cells off the diagonal are usually cat ↔
# dog, automobile ↔ truck and airplane ↔ ship (both often on a blue background). The matrix is not
# symmetric: cats taken for dogs need not be as many as dogs taken for cats.
#
# ## Exercise 2 · The most confused pairs
#
# With 90 cells off the diagonal, a list is easier to read than the picture. Write
# `most_confused_pairs`: the `k` largest off-diagonal entries of the matrix as
# `(true_class, predicted_class, count)`, largest first. Leave out the diagonal (correct
# predictions are not confusions) and the cells that hold 0.

# %% tags=["exercise"]
def most_confused_pairs(confusion: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """Return the k largest off-diagonal entries of a confusion matrix.

    confusion: integer array (C, C) whose entry [t, p] counts examples of true class t predicted as p.
    Returns a list of at most k tuples (true_class, predicted_class, count), largest count first,
    without the diagonal and without entries of 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("most_confused_pairs is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(most_confused_pairs)

# %%
pairs = most_confused_pairs(confusion, k=5)
for true_class, predicted_class, count in pairs:
    print(f"{CLASS_NAMES[true_class]:>10} taken for {CLASS_NAMES[predicted_class]:<10} {count:4d} times")

# %% [markdown]
# ## A gallery of mistakes
#
# Numbers say where the model fails; the images say why. First, the first 24 mistakes of the test
# set, a fair sample, each titled *true → predicted (confidence)*, where the confidence is the
# probability the model gave its answer.

# %%
confidence = probabilities.max(axis=1)
mistakes = np.flatnonzero(y_pred != y_test)
sample = mistakes[:24]
plots.plot_predictions(x_test[sample], y_test[sample], y_pred[sample], CLASS_NAMES, confidence[sample]);

# %%
right = y_pred == y_test
print(f"average confidence: {confidence[right].mean():.0%} when right, {confidence[~right].mean():.0%} when wrong")

# %% [markdown]
# Then the most confused pair only: images of the first class that the model took for the second.

# %%
true_class, predicted_class, _ = pairs[0]
pair = np.flatnonzero((y_test == true_class) & (y_pred == predicted_class))[:16]
print(f"{CLASS_NAMES[true_class]} predicted as {CLASS_NAMES[predicted_class]}:")
plots.plot_predictions(x_test[pair], y_test[pair], y_pred[pair], CLASS_NAMES, confidence[pair]);


# %% [markdown]
# **What to look for:** many mistakes come with a low confidence: the model hesitated, and the
# right answer is often its second choice. Others are made with high confidence; look at those
# closely. Some are genuinely hard at 32×32 pixels (a dog's face in close-up, a bird against the
# sky), some show an unusual pose or colour the training set has few examples of, and a few are
# arguably labelled wrong. A model that is on average much less sure when it is wrong is useful
# in practice: its confidence can flag the images a person should check.
#
# ## ROC curves and AUC, one class against the rest
#
# Predicting the most probable class hides how well the model *ranks* the images. Take one class,
# say cat, and ask a yes/no question of every test image: "is it a cat?", answered by comparing
# `probabilities[:, cat]` with a threshold.
#
# - The **true positive rate** is the share of real cats above the threshold (the recall of cat).
# - The **false positive rate** is the share of other images above it, wrongly flagged as cats.
#
# Lowering the threshold from 1 to 0 flags more and more images: both rates rise from 0 to 1, and
# the path they trace is the **ROC curve**. A perfect ranking puts all cats above all non-cats: the
# curve goes straight up to the top-left corner. The **AUC**, the area under the curve, sums it
# up in one number: it is exactly the probability that a randomly chosen cat gets a higher cat
# probability than a randomly chosen non-cat. 1.0 is a perfect ranking, 0.5 is chance.

# %% [markdown]
# ## Exercise 3 · AUC per class, one against the rest
#
# Use that last definition: for class `c`, compare every image of class `c` with every image of
# another class, and count the share of pairs in which the image of class `c` has the higher
# `probabilities[:, c]`. A tie counts half. Broadcasting builds the whole table of comparisons at
# once: with `a` of shape (P,) and `b` of shape (Q,), `a[:, None] > b[None, :]` has shape (P, Q).

# %% tags=["exercise"]
def roc_auc_one_vs_rest(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Return the one-vs-rest ROC AUC of every class.

    y_true: integer labels (N,); probabilities: float array (N, C) whose column c scores class c.
    Returns a float array (C,): for class c, the share of (image of class c, image of another class)
    pairs in which the image of class c has the higher probabilities[:, c], a tie counting 0.5.
    """
    # YOUR CODE HERE
    raise NotImplementedError("roc_auc_one_vs_rest is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(roc_auc_one_vs_rest)

# %%
areas = roc_auc_one_vs_rest(y_test, probabilities)
reference = [roc_auc_score(y_test == c, probabilities[:, c]) for c in range(len(CLASS_NAMES))]
print("the same as scikit-learn's roc_auc_score:", np.allclose(areas, reference))
print(f"AUC from {areas.min():.3f} ({CLASS_NAMES[areas.argmin()]}) to {areas.max():.3f} ({CLASS_NAMES[areas.argmax()]})")
plots.plot_roc_curves(y_test, probabilities, CLASS_NAMES);


# %% [markdown]
# **What to look for:** the curves of the easy classes hug the top-left corner; the weakest class
# here is usually the one with the lowest F1 above. Notice that the AUCs are much higher than the
# accuracy: even when a cat is not predicted as a cat, its cat probability is usually higher
# than that of most non-cats. The ranking is better than the top-1 decision suggests, which is
# why looking at the second and third choices pays off.
#
# ## One image, its top 3 classes
#
# Finally, a prediction the way an application makes one: a single photo in, the few most likely
# classes out, each with its probability.

# %% [markdown]
# ## Exercise 4 · The k most probable classes
#
# Write `top_k_classes`: the `k` most probable classes of one image and their probabilities, the
# most probable first.

# %% tags=["exercise"]
def top_k_classes(probabilities: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Return the k most probable classes of one image and their probabilities.

    probabilities: float array (C,), the model's output for one image.
    Returns (indices, probabilities): an integer array (k,) of classes, most probable first, and a
    float array (k,) of their probabilities in the same order.
    """
    # YOUR CODE HERE
    raise NotImplementedError("top_k_classes is not written yet: write your code in its exercise cell in place of this line, and run that cell")


# %%
self_check(top_k_classes)

# %% [markdown]
# Keras models take *batches*: to predict a single photo, add a batch axis of size 1 with
# `image[np.newaxis]` (shape (1, 32, 32, 3)), then take the first row of the result.

# %%
image, label = x_test[0], y_test[0]
single = model.predict(image[np.newaxis], verbose=0)[0]
classes, top = top_k_classes(single, k=3)
print("top 3:", ", ".join(f"{CLASS_NAMES[c]} {p:.1%}" for c, p in zip(classes, top)), "— true class:", CLASS_NAMES[label])
plots.plot_top_k(image, classes, top, CLASS_NAMES, true_class=label);

# %% [markdown]
# The same for the first mistake of the test set: the green bar, when there is one, is the true
# class.

# %%
index = mistakes[0]
classes, top = top_k_classes(probabilities[index], k=3)
plots.plot_top_k(x_test[index], classes, top, CLASS_NAMES, true_class=y_test[index]);

# %%
top_3 = np.argsort(probabilities, axis=1)[:, -3:]
print(f"top-1 accuracy {accuracy:.2%}, top-3 accuracy {np.mean((top_3 == y_test[:, None]).any(axis=1)):.2%}")

# %% [markdown]
# **What to look for:** when the model is right, one bar usually dwarfs the others. When it is
# wrong, the true class is often second or third, with a close probability: the **top-3
# accuracy** (the true class among the three most probable) is far above the top-1 accuracy.
# Applications that show a person a few suggestions rather than one answer benefit from exactly
# this.
#
# ## What you built
#
# A full evaluation of the CIFAR-10 CNN: accuracy and loss, per-class precision, recall and F1, the
# confusion matrix and its most confused pairs, a look at the mistakes, one-vs-rest ROC curves
# with their AUC, and a single prediction with its top 3 classes. Grade the lesson with
# `pytest -k 06`.
#
# ## Questions to think about
#
# 1. The most confused pairs are similar animals. Would you spend the next hour on more data,
#    different augmentation or a bigger model, and how would you check the choice?
# 2. A class can have an AUC close to 1 and an F1 far below it. How can both be true?
# 3. When is the top-3 accuracy the number that matters to the people who use a classifier?
#
# **Next:** [Lesson 7 · Your own images](07_own_images.ipynb): train on a folder of image files, the way
# your own photos come.
