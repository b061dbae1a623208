"""The one place where random seeds are set, so runs repeat."""

import os

import keras

DEFAULT_SEED = 42
NONDETERMINISTIC_ENV_VAR = "CNN_COURSE_NONDETERMINISTIC"


def set_global_seed(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's `random`, NumPy and TensorFlow through Keras, and make TensorFlow's ops deterministic.

    With op determinism the same seed gives the same model, to the last digit, on the same machine
    and versions (benchmarks/mnist_repeatability.py measures what it costs). Setting
    CNN_COURSE_NONDETERMINISTIC=1 leaves TensorFlow free to pick faster, order-dependent kernels.
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow" and os.environ.get(NONDETERMINISTIC_ENV_VAR, "") not in ("1", "true", "yes"):
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
