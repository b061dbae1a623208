"""Safe reader for the official CIFAR-10 "python version" batches (pickled dicts of numpy arrays)."""

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2 keeps it in numpy.core only
    from numpy.core.multiarray import _reconstruct

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_REDOWNLOAD = f"Download {CIFAR10_URL} again and extract it to replace this file."

# The only globals a pickled numpy array needs. Official batches are Python 2 pickles naming
# numpy.core; Python 3 protocol-2 pickles store bytes through _codecs.encode.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds plain containers and numpy arrays, and refuses every other global."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="bytes")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise DataError(
                f"{self.path} contains code, not data (it asks to call {module}.{name}); it is not an "
                f"official CIFAR-10 batch, and nothing in it was run. Do not use it. {_REDOWNLOAD}"
            ) from None


def load_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch: images uint8 (N, 32, 32, 3) channels-last, labels uint8 (N,) in 0-9."""
    path = Path(path)
    fields = _load_fields(path, required=("data", "labels"))
    data, labels = fields["data"], fields["labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        raise _not_a_batch(path, f"its 'data' is {_describe(data)}, not a uint8 array of shape (N, 3072)")
    try:
        labels = np.asarray(labels)
    except ValueError as error:
        raise _not_a_batch(path, f"its 'labels' are not a list of numbers ({error})") from error
    if not (np.issubdtype(labels.dtype, np.integer) and labels.shape == (len(data),)):
        raise _not_a_batch(path, f"its 'labels' are {_describe(labels)}, not {len(data)} integers")
    if ((labels < 0) | (labels > 9)).any():
        raise _not_a_batch(path, "its 'labels' are not all between 0 and 9")
    # Each row holds the red, green and blue 32x32 planes one after the other.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def load_cifar_meta(path: str | Path) -> list[str]:
    """Read a CIFAR-10 batches.meta file: the 10 class names, in label order."""
    path = Path(path)
    names = _load_fields(path, required=("label_names",))["label_names"]
    if not (isinstance(names, list) and len(names) == 10 and all(isinstance(n, (bytes, str)) for n in names)):
        raise _not_a_batch(path, f"its 'label_names' are {_describe(names)}, not a list of 10 names")
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]


def _load_fields(path: Path, required: tuple[str, ...]) -> dict[str, Any]:
    """Unpickle path safely into a dict with str keys, checking the required keys are there."""
    try:
        with path.open("rb") as file:
            batch = _DataOnlyUnpickler(file, path).load()
    except DataError:
        raise
    except Exception as error:  # a damaged pickle fails in many ways: EOFError, UnpicklingError, ValueError...
        raise DataError(
            f"{path} cannot be read as a CIFAR-10 file ({type(error).__name__}: {error}); it is missing, "
            f"truncated or damaged. {_REDOWNLOAD}"
        ) from error
    if not isinstance(batch, dict):
        raise _not_a_batch(path, f"it holds {_describe(batch)}, not a dict")
    fields = {
        (key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)): value for key, value in batch.items()
    }
    missing = [key for key in required if key not in fields]
    if missing:
        raise _not_a_batch(path, f"it has no {' or '.join(map(repr, missing))} entry")
    return fields


def _not_a_batch(path: Path, reason: str) -> DataError:
    return DataError(f"{path} is not an official CIFAR-10 file: {reason}. {_REDOWNLOAD}")


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"an object of type {type(value).__name__}"
