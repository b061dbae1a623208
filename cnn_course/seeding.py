"""The one place where random seeds are set, so runs repeat."""

import os

import keras

DEFAULT_SEED = 42
NONDETERMINISTIC_ENV_VAR = "CNN_COURSE_NONDETERMINISTIC"


def set_global_seed(seed: int = DEFAULT_SEED, deterministic: bool = False) -> None:
    """Seed Python's `random`, NumPy and TensorFlow through Keras; with `deterministic`, also fix TensorFlow's op order.

    Seeds alone leave TensorFlow free to sum in a different order from run to run, so the last
    digits of a model (and sometimes its test accuracy) vary. With deterministic=True the same seed
    gives the same model on the same machine and versions, at some cost in speed (measured by
    benchmarks/mnist_repeatability.py); the environment variable CNN_COURSE_NONDETERMINISTIC=1
    turns it off again.
    """
    keras.utils.set_random_seed(seed)
    wanted = deterministic and os.environ.get(NONDETERMINISTIC_ENV_VAR, "").strip().lower() not in ("1", "true", "yes")
    if wanted and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
