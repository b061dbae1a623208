"""Valid ways of writing an exercise that differ from the master's pass, through the learner process."""

from __future__ import annotations

import pytest

from .conftest import patched_masters, run_graders

FUNCTIONAL_MNIST = """    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, (3, 3), activation="relu")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
"""

FUNCTIONAL_SEED = """    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (32, 32, None, 64, 64, None):
        if filters is None:
            x = layers.MaxPooling2D(2)(x)
            x = layers.Dropout(0.25)(x)
            continue
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))
"""

FUNCTIONAL_AUGMENTATION = """    inputs = keras.Input(shape=(None, None, 3))
    x = layers.RandomTranslation((-max_shift, max_shift), (-max_shift, max_shift))(inputs)
    return keras.Model(inputs, layers.RandomFlip(mode="horizontal")(x))
"""

# (lesson, exact text in the master, replacement)
ALTERNATIVES = [
    (
        "02_mnist_cnn",
        "    return keras.Sequential(\n        [\n            keras.Input(shape=input_shape),\n"
        "            layers.Conv2D(32",
        FUNCTIONAL_MNIST + "    return keras.Sequential(\n        [\n            keras.Input(shape=input_shape),\n"
        "            layers.Conv2D(32",
    ),
    ("05_cifar10_cnn", "    def conv_bn_relu(filters: int)", FUNCTIONAL_SEED + "    def conv_bn_relu(filters: int)"),
    (
        "02_mnist_cnn",
        '        loss="sparse_categorical_crossentropy",\n        metrics=["accuracy"],',
        "        loss=keras.losses.SparseCategoricalCrossentropy(),\n"
        "        metrics=[keras.metrics.SparseCategoricalAccuracy()],",
    ),
    (
        "01_mnist_data",
        "    return np.bincount(labels, minlength=num_classes)",
        "    return np.array([(labels == c).sum() for c in range(num_classes)])",
    ),
    (
        "01_mnist_data",
        '    return images.astype("float32") / 255.0',
        "    import tensorflow as tf\n    return tf.cast(images, tf.float32) / 255.0",
    ),
    (
        "01_mnist_data",
        "    return (x_train, y_train), (x_val, y_val)",
        "    from sklearn.model_selection import StratifiedShuffleSplit\n"
        "    train, val = next(StratifiedShuffleSplit(1, test_size=validation_fraction, random_state=seed).split(x, "
        "y))\n    return [(x[train], y[train]), (x[val], y[val])]",
    ),
    (
        "05_cifar10_cnn",
        "    return keras.Sequential(\n        [layers.RandomFlip",
        FUNCTIONAL_AUGMENTATION + "    return keras.Sequential(\n        [layers.RandomFlip",
    ),
    (
        "05_cifar10_cnn",
        '    return [\n        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, '
        "restore_best_weights=True),",
        '    return [\n        keras.callbacks.ModelCheckpoint(str(checkpoint_path), monitor="val_accuracy", '
        'mode="max", save_best_only=True),\n'
        '        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, '
        "restore_best_weights=True),\n    ]\n    return [\n"
        '        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, '
        "restore_best_weights=True),",
    ),
    (
        "06_cifar10_evaluation",
        "    areas = []\n    for c in range(probabilities.shape[1]):",
        '    return roc_auc_score(y_true, probabilities, multi_class="ovr", average=None)\n    areas = []\n'
        "    for c in range(probabilities.shape[1]):",
    ),
    (
        "06_cifar10_evaluation",
        "    indices = np.argsort(probabilities)[::-1][:k]\n    return indices, probabilities[indices]",
        "    import tensorflow as tf\n    values, indices = tf.math.top_k(probabilities, k=k)\n"
        "    return [indices, values]",
    ),
]


@pytest.fixture(scope="module")
def alternative_run(tmp_path_factory):
    target = patched_masters(tmp_path_factory.mktemp("alternatives") / "lessons", ALTERNATIVES)
    return run_graders(target, "-k", "(01 or 02 or 05 or 06) and not saved", timeout=900)


@pytest.mark.parametrize(
    "test",
    [
        "test_build_mnist_cnn",
        "test_build_seed_cnn",
        "test_compile_classifier",
        "test_count_per_class",
        "test_scale_images",
        "test_split_train_validation",
        "test_augmentation_is_active_only_while_training",
        "test_training_callbacks_watch_the_validation_set",
        "test_roc_auc_one_vs_rest",
        "test_top_k_classes",
    ],
)
def test_a_valid_alternative_passes(alternative_run, test):
    outcome, message = alternative_run.results[test]
    assert outcome == "passed", message
