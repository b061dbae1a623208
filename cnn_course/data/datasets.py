"""Loaders for MNIST and CIFAR-10: from a local folder in the official layouts, else through keras.datasets."""

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .cifar_pickle import CIFAR10_URL, load_cifar_batch
from .errors import DataError
from .idx import read_idx

MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
CIFAR10_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DATA_ENV_VAR = "CNN_COURSE_DATA"

MNIST_URL = "http://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)"
# md5 of the official files, in the order train images, train labels, test images, test labels.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# sha256 of each official batch's labels as uint8 bytes. Labels rather than whole files because
# copies of CIFAR-10 that re-encode the pixels are common; a batch with the right labels in the
# right order is the right batch.
CIFAR10_LABEL_SHA256 = {
    "data_batch_1": "d829dbdf32167c9d7b3687cee66d92d80d46c441308b5aca0d11e8b69e27dac9",
    "data_batch_2": "5d18f7371ed35ea9ade77952fe958b0660a45cd6c8b8a8970030f21612cfd7e3",
    "data_batch_3": "32cf77b0ee2e790b1c4384d2d82e42dc1571b87e67f6da8f444b2725b2973f65",
    "data_batch_4": "d2815e3f8f656272864920fc0edde56b04ec9cf81bf397c0dd3069f4aea51aeb",
    "data_batch_5": "2ddf3ab27d5d04409c94ce7b56849c243129c10de1058ae0bfe14c77e934800c",
    "test_batch": "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5",
}
# md5 of the same files decompressed (train-images-idx3-ubyte, ...), as some mirrors and archives ship them.
MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
CIFAR10_BATCH_SIZE = 10_000
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"

_MNIST_REMEDY = f"download the four files {', '.join(MNIST_MD5)} from {MNIST_URL} into DIR/mnist/"
_CIFAR10_REMEDY = f"download {CIFAR10_URL} and extract it into DIR, which creates DIR/cifar-10-batches-py/"

Split = tuple[np.ndarray, np.ndarray]


def resolve_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """Return the data folder: data_dir if given, else $CNN_COURSE_DATA, else None (use keras.datasets)."""
    if data_dir is None:
        # Windows' `set VAR="C:\My data"` keeps the quotes in the value: a folder name never starts with one.
        data_dir = os.environ.get(DATA_ENV_VAR, "").strip().strip('"').strip("'") or None
        if data_dir is None:
            return None
        source, fix = f"the {DATA_ENV_VAR} environment variable", f"set {DATA_ENV_VAR} to"
    else:
        source, fix = "the data folder argument", "pass"
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"The data folder {folder} (from {source}) does not exist or is not a folder. "
            f"Either {fix} the folder that holds the datasets (DIR/mnist/ and DIR/cifar-10-batches-py/), "
            f"or create it: to fill it, {_MNIST_REMEDY}, and {_CIFAR10_REMEDY}."
        )
    return folder


def mnist_files(data_dir: str | Path | None = None) -> list[Path] | None:
    """Return the paths of the four MNIST files (train images, train labels, test images, test labels), unverified.

    Looks in DIR/mnist/, then DIR itself, for the official .gz files or the same files decompressed;
    None when no data folder is configured (keras.datasets is used). Raises DataError, saying where
    the files are and how to move them, when they are missing, one folder too deep or elsewhere nearby.
    """
    root = resolve_data_dir(data_dir)
    if root is None:
        return None
    folder = _find_dataset_folder(root, "mnist", list(MNIST_MD5), _mnist_path, "MNIST", _MNIST_REMEDY)
    return [_mnist_path(folder, name) for name in MNIST_MD5]


def cifar10_files(data_dir: str | Path | None = None) -> list[Path] | None:
    """Return the paths of the six CIFAR-10 batches (data_batch_1..5, test_batch), unverified.

    Looks in DIR/cifar-10-batches-py/, then DIR itself; None when no data folder is configured.
    Raises DataError, saying what to do, when they are missing, misplaced or still in their archive.
    """
    root = resolve_data_dir(data_dir)
    if root is None:
        return None
    folder = _find_dataset_folder(
        root, "cifar-10-batches-py", list(CIFAR10_LABEL_SHA256), _plain_path, "CIFAR-10", _CIFAR10_REMEDY
    )
    return [folder / name for name in CIFAR10_LABEL_SHA256]


def load_mnist(data_dir: str | Path | None = None) -> tuple[Split, Split]:
    """Return MNIST as ((x_train, y_train), (x_test, y_test)): uint8 images (60000|10000, 28, 28), uint8 labels (N,).

    Every file is checked against the official md5 sum; DataError says which file is wrong and what to do.
    """
    paths = mnist_files(data_dir)
    if paths is None:
        return _load_with_keras("mnist", "MNIST", _MNIST_REMEDY)
    x_train, y_train, x_test, y_test = (_read_mnist_file(path, name) for path, name in zip(paths, MNIST_MD5))
    return (x_train, y_train), (x_test, y_test)


def load_cifar10(data_dir: str | Path | None = None) -> tuple[Split, Split]:
    """Return CIFAR-10 as ((x_train, y_train), (x_test, y_test)): uint8 images (N, 32, 32, 3), labels (N,).

    N is 50000 for the training split and 10000 for the test split; the labels are uint8 too. Every batch is checked
    for its size and the official labels; DataError says which file is wrong and what to do.
    """
    paths = cifar10_files(data_dir)
    if paths is None:
        return _load_with_keras("cifar10", "CIFAR-10", _CIFAR10_REMEDY)
    batches = [_read_cifar_file(path, CIFAR10_LABEL_SHA256[path.name]) for path in paths]
    train, (x_test, y_test) = batches[:-1], batches[-1]
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    return (x_train, y_train), (x_test, y_test)


def _plain_path(folder: Path, name: str) -> Path | None:
    path = folder / name
    return path if path.is_file() else None


def _mnist_path(folder: Path, name: str) -> Path | None:
    """The official file `name` in `folder`, gzip'ed or not (train-images-idx3-ubyte or train-images.idx3-ubyte)."""
    raw = name.removesuffix(".gz")
    for candidate in (name, raw, raw.replace("-idx", ".idx", 1)):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


Locate = Callable[[Path, str], Path | None]


def _find_dataset_folder(root: Path, subfolder: str, names: list[str], locate: Locate, title: str, remedy: str) -> Path:
    """Return root/subfolder or root, whichever holds the dataset's files; DataError if none or some are missing."""
    for folder in (root / subfolder, root):
        missing = [name for name in names if locate(folder, name) is None]
        if len(missing) < len(names):
            if missing:
                raise DataError(
                    f"{title} is incomplete in {folder}: {', '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} missing. The folder must hold all of "
                    f"{', '.join(names)}. To get them, with DIR = {root}: {remedy}."
                )
            return folder
    target = root / subfolder
    for folder in _folders_below(root, depth=2):
        if any(locate(folder, name) is not None for name in names):
            raise DataError(
                f"{root} holds no {title} files, but {folder} does: that is not where the course looks. "
                f"Move them to {target}/, e.g. `mkdir -p {target} && mv {folder}/* {target}/`, "
                f"so that {target / names[0]} exists."
            )
    if subfolder == "cifar-10-batches-py":
        for archive in (root / CIFAR10_ARCHIVE, target / CIFAR10_ARCHIVE):
            if archive.is_file():
                raise DataError(
                    f"{archive} is the CIFAR-10 archive, not yet extracted. Extract it: "
                    f"`tar -xzf {archive} -C {root}`, which creates {target}/ with the batches."
                )
    raise DataError(
        f"{root} holds no {title} files. Point the course at the folder DIR that contains {subfolder}/ "
        f"with the files {', '.join(names)} (or at a folder holding those files directly), not at another "
        f"dataset's folder. To get them: {remedy}."
    )


def _folders_below(root: Path, depth: int) -> list[Path]:
    """The folders under `root`, `depth` levels deep at most, breadth first; unreadable ones are skipped."""
    found, level = [], [root]
    for _ in range(depth):
        level = [child for folder in level for child in _subfolders(folder)]
        found += level
    return found


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    except OSError:
        return []


def _read_mnist_file(path: Path, name: str) -> np.ndarray:
    """Check the md5 of `path` (the official file `name`, gzip'ed or not) against the official one; parse it as IDX."""
    expected_md5 = MNIST_MD5[name] if path.name == name else MNIST_RAW_MD5[name]
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    if md5 != expected_md5:
        raise DataError(
            f"{path} is corrupt or incomplete (md5 {md5}, expected {expected_md5}): download it again from {MNIST_URL}."
        )
    return read_idx(path)


def _read_cifar_file(path: Path, expected_sha256: str) -> Split:
    """Read one CIFAR-10 batch and check it has 10000 rows and the official labels."""
    images, labels = load_cifar_batch(path)
    if len(labels) != CIFAR10_BATCH_SIZE:
        raise DataError(
            f"{path} holds {len(labels)} images instead of {CIFAR10_BATCH_SIZE}: it is not an official "
            f"CIFAR-10 batch. Download {CIFAR10_URL} again and extract it to replace it."
        )
    sha256 = hashlib.sha256(labels.tobytes()).hexdigest()
    if sha256 != expected_sha256:
        raise DataError(
            f"{path} is corrupt or is not the official {path.name} (sha256 of its labels {sha256}, "
            f"expected {expected_sha256}): download {CIFAR10_URL} again and extract it to replace it."
        )
    return images, labels


def _load_with_keras(name: str, title: str, remedy: str) -> tuple[Split, Split]:
    """Load a dataset through keras.datasets (downloads once, then reads ~/.keras/datasets); labels flattened."""
    import keras  # here, not at the top: TensorFlow takes seconds to import and folder users never need it

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:
        raise DataError(
            f"Could not load {title} through keras.datasets ({type(error).__name__}: {error}); the "
            f"computer is probably offline. Either connect to the internet once so that Keras downloads "
            f"{title} and caches it in ~/.keras/datasets, or {remedy}, where DIR is any folder, then "
            f"point the course at DIR: set the {DATA_ENV_VAR} environment variable to it or pass --data-dir DIR."
        ) from error
    return (x_train, y_train.reshape(-1)), (x_test, y_test.reshape(-1))
