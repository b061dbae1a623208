"""Tests of cnn_course.data on the real MNIST and CIFAR-10 files, found through $CNN_COURSE_DATA."""

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from cnn_course.data import (
    CIFAR10_CLASS_NAMES,
    DATA_ENV_VAR,
    MNIST_CLASS_NAMES,
    DataError,
    add_channel_axis,
    channel_statistics,
    load_cifar10,
    load_cifar_batch,
    load_cifar_meta,
    load_mnist,
    read_idx,
    resolve_data_dir,
    scale_images,
    stratified_subset,
    train_validation_split,
)
from cnn_course.data.datasets import CIFAR10_LABEL_SHA256, MNIST_MD5

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def data_dir() -> Path:
    value = os.environ.get(DATA_ENV_VAR)
    if not value:
        pytest.skip(
            f"{DATA_ENV_VAR} is not set: stage the datasets with `python stage.py --out DIR` "
            f"(see the shared datasets README) and run `export {DATA_ENV_VAR}=DIR`"
        )
    return Path(value)


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_mnist()


@pytest.fixture(scope="module")
def cifar10(data_dir):
    return load_cifar10()


def message(info: pytest.ExceptionInfo) -> str:
    """The DataError's text, checked to be one paragraph."""
    text = str(info.value)
    assert "\n" not in text
    return text


def mnist_copy(data_dir: Path, target: Path, skip: tuple[str, ...] = ()) -> Path:
    """target/mnist/ with links to the real MNIST files, except those in skip; returns target/mnist."""
    folder = target / "mnist"
    folder.mkdir(parents=True)
    for name in MNIST_MD5:
        if name not in skip:
            (folder / name).symlink_to(data_dir / "mnist" / name)
    return folder


def cifar_copy(data_dir: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """target/cifar-10-batches-py/ with links to the real batches, and the files in replace written anew."""
    folder = target / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in CIFAR10_LABEL_SHA256:
        if name in replace:
            (folder / name).write_bytes(replace[name])
        else:
            (folder / name).symlink_to(data_dir / "cifar-10-batches-py" / name)
    return folder


def cifar_batch(data, labels, protocol: int = 3) -> bytes:
    return pickle.dumps({b"batch_label": b"test", b"data": data, b"labels": labels}, protocol=protocol)


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# ---------------------------------------------------------------- read_idx


def test_read_idx_reads_the_real_mnist_test_labels(data_dir):
    labels = read_idx(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_read_idx_returns_native_arrays_shaped_by_the_header(tmp_path, compress):
    expected = np.arange(-12, 12, dtype=np.int16).reshape(2, 3, 4)
    raw = idx_bytes(expected, 0x0B)
    path = tmp_path / "values.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    array = read_idx(path)
    assert array.dtype == np.int16 and array.dtype.isnative
    np.testing.assert_array_equal(array, expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc", "magic number"),
        (b"\x00\x00\x42\x01" + struct.pack(">I", 3) + b"abc", "unknown IDX data type 0x42"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 3), "header is incomplete"),
        (idx_bytes(np.zeros((4, 5), np.uint8), 0x08)[:-1], "holds 19 bytes of data"),
        (idx_bytes(np.zeros((4, 5), np.uint8), 0x08) + b"\x00", "holds 21 bytes of data"),
    ],
    ids=["bad-magic", "bad-dtype", "short-header", "short-payload", "long-payload"],
)
def test_read_idx_rejects_malformed_files(tmp_path, raw, reason):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError) as info:
        read_idx(path)
    text = message(info)
    assert str(path) in text and reason in text and "download or copy it again" in text


def test_read_idx_rejects_a_truncated_gzip(data_dir, tmp_path):
    raw = (data_dir / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(path) in message(info) and "cannot be read or decompressed" in message(info)


# ---------------------------------------------------------------- resolve_data_dir


def test_resolve_data_dir_prefers_the_argument_then_the_env_var(monkeypatch, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert resolve_data_dir(other) == other
    assert resolve_data_dir() == tmp_path
    monkeypatch.setenv(DATA_ENV_VAR, "")
    assert resolve_data_dir() is None
    monkeypatch.delenv(DATA_ENV_VAR)
    assert resolve_data_dir() is None


def test_resolve_data_dir_rejects_a_missing_folder(monkeypatch, tmp_path):
    with pytest.raises(DataError) as info:
        resolve_data_dir(tmp_path / "nowhere")
    assert f"{tmp_path / 'nowhere'} (from the data folder argument) does not exist" in message(info)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as info:
        load_mnist()
    assert f"set {DATA_ENV_VAR} to the folder" in message(info)


# ---------------------------------------------------------------- load_mnist


def test_load_mnist_reads_the_official_files_through_the_env_var(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert all(array.dtype == np.uint8 for array in (x_train, y_train, x_test, y_test))
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert x_train.max() == 255 and x_test.min() == 0
    assert tuple("0123456789") == MNIST_CLASS_NAMES


def test_load_mnist_accepts_the_files_directly_in_the_folder(data_dir, mnist):
    (_, y_train), (x_test, _) = load_mnist(data_dir / "mnist")
    np.testing.assert_array_equal(y_train, mnist[0][1])
    np.testing.assert_array_equal(x_test, mnist[1][0])


def test_load_mnist_detects_a_flipped_byte(data_dir, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    folder = mnist_copy(data_dir, tmp_path, skip=(name,))
    raw = bytearray((data_dir / "mnist" / name).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / name).write_bytes(raw)
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    text = message(info)
    assert f"{folder / name} is corrupt or incomplete (md5 " in text
    assert f"expected {MNIST_MD5[name]}): download it again from http://yann.lecun.com/exdb/mnist/" in text


def test_load_mnist_detects_a_truncated_file(data_dir, tmp_path):
    name = "train-labels-idx1-ubyte.gz"
    folder = mnist_copy(data_dir, tmp_path, skip=(name,))
    (folder / name).write_bytes((data_dir / "mnist" / name).read_bytes()[:1000])
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    assert f"{folder / name} is corrupt or incomplete" in message(info)


def test_load_mnist_lists_the_missing_files(data_dir, tmp_path):
    missing = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    folder = mnist_copy(data_dir, tmp_path, skip=missing)
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    text = message(info)
    assert f"MNIST is incomplete in {folder}: {', '.join(missing)} are missing" in text
    assert "train-images-idx3-ubyte.gz is missing" not in text and "DIR/mnist/" in text


@pytest.mark.parametrize("folder", ["cifar-10-batches-py", "."], ids=["cifar-folder", "data-root-without-mnist"])
def test_load_mnist_explains_a_wrong_folder(data_dir, tmp_path, folder):
    root = tmp_path if folder == "." else data_dir / folder
    with pytest.raises(DataError) as info:
        load_mnist(root)
    text = message(info)
    assert f"{root} holds no MNIST files" in text and "contains mnist/ with the files train-images" in text


def test_load_cifar10_explains_a_wrong_folder(data_dir):
    with pytest.raises(DataError) as info:
        load_cifar10(data_dir / "mnist")
    text = message(info)
    assert f"{data_dir / 'mnist'} holds no CIFAR-10 files" in text and "cifar-10-batches-py/" in text


# ---------------------------------------------------------------- load_cifar10 and the pickle reader


def test_load_cifar10_reads_the_official_batches_through_the_env_var(cifar10):
    (x_train, y_train), (x_test, y_test) = cifar10
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert y_train.shape == (50000,) and y_test.shape == (10000,)
    assert all(array.dtype == np.uint8 for array in (x_train, y_train, x_test, y_test))
    assert x_train.flags.c_contiguous
    assert np.bincount(y_train).tolist() == [5000] * 10 and np.bincount(y_test).tolist() == [1000] * 10


def test_load_cifar10_accepts_the_batches_folder_itself(data_dir, cifar10):
    (_, y_train), (x_test, _) = load_cifar10(data_dir / "cifar-10-batches-py")
    np.testing.assert_array_equal(y_train, cifar10[0][1])
    np.testing.assert_array_equal(x_test, cifar10[1][0])


def test_load_cifar_meta_reads_the_class_names(data_dir):
    assert load_cifar_meta(data_dir / "cifar-10-batches-py" / "batches.meta") == list(CIFAR10_CLASS_NAMES)


def test_load_cifar_batch_puts_the_colour_planes_last(tmp_path):
    planes = np.repeat(np.array([10, 20, 30], np.uint8), 1024)  # R plane, then G, then B
    path = tmp_path / "batch"
    path.write_bytes(cifar_batch(np.stack([planes, planes + 1]), [3, 9]))
    images, labels = load_cifar_batch(path)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert images[0, 5, 7].tolist() == [10, 20, 30] and images[1, 31, 0].tolist() == [11, 21, 31]
    assert labels.tolist() == [3, 9] and labels.dtype == np.uint8


def test_load_cifar_batch_reads_python2_style_pickles(tmp_path):
    # Protocol 2 stores bytes through _codecs.encode; the official batches also name numpy.core.
    raw = cifar_batch(np.full((1, 3072), 7, np.uint8), [4], protocol=2)
    raw = raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"numpy.core.multiarray\n_reconstruct" in raw and b"_codecs\nencode" in raw
    path = tmp_path / "data_batch_1"
    path.write_bytes(raw)
    images, labels = load_cifar_batch(path)
    assert images.shape == (1, 32, 32, 3) and int(images.sum()) == 7 * 3072 and labels.tolist() == [4]


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_load_cifar_batch_refuses_a_pickle_that_runs_code(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar_batch(_RunsCode(marker), [0], protocol=protocol))
    with pytest.raises(DataError) as info:
        load_cifar_batch(path)
    text = message(info)
    assert f"{path} contains code, not data" in text and "it is not an official CIFAR-10 batch" in text
    assert "system" in text and not marker.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, "not a uint8 array of shape (N, 3072)"),
        (
            {b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]},
            "an array of dtype float32 and shape (2, 3072)",
        ),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "not 2 integers"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "not all between 0 and 9"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "it has no 'labels' entry"),
        ([1, 2, 3], "it holds an object of type list, not a dict"),
    ],
    ids=["wrong-shape", "wrong-dtype", "too-few-labels", "label-out-of-range", "no-labels", "not-a-dict"],
)
def test_load_cifar_batch_rejects_malformed_batches(tmp_path, content, reason):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(DataError) as info:
        load_cifar_batch(path)
    text = message(info)
    assert f"{path} is not an official CIFAR-10 file" in text and reason in text and "cifar-10-python.tar.gz" in text


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_load_cifar_batch_rejects_damaged_files(tmp_path, damage):
    raw = cifar_batch(np.zeros((20, 3072), np.uint8), list(range(10)) * 2)
    path = tmp_path / "test_batch"
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncated" else os.urandom(1000))
    with pytest.raises(DataError) as info:
        load_cifar_batch(path)
    assert f"{path} cannot be read as a CIFAR-10 file" in message(info) and "truncated or damaged" in message(info)


def test_load_cifar10_checks_the_row_count(data_dir, tmp_path):
    folder = cifar_copy(data_dir, tmp_path, {"data_batch_1": cifar_batch(np.zeros((100, 3072), np.uint8), [0] * 100)})
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path)
    assert f"{folder / 'data_batch_1'} holds 100 images instead of 10000" in message(info)


def test_load_cifar10_checks_the_labels_against_the_official_ones(data_dir, tmp_path):
    wrong_labels = [i % 10 for i in range(10000)]
    folder = cifar_copy(
        data_dir, tmp_path, {"test_batch": cifar_batch(np.zeros((10000, 3072), np.uint8), wrong_labels)}
    )
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path)
    text = message(info)
    assert f"{folder / 'test_batch'} is corrupt or is not the official test_batch" in text
    assert f"expected {CIFAR10_LABEL_SHA256['test_batch']}" in text


def test_load_cifar10_lists_the_missing_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3"):
        (folder / name).touch()
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path)
    assert f"CIFAR-10 is incomplete in {folder}: data_batch_4, data_batch_5, test_batch are missing" in message(info)


# ---------------------------------------------------------------- keras.datasets fallback


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_offline_keras_download_raises_a_data_error(monkeypatch, name):
    keras = pytest.importorskip("keras")
    offline = OSError("[Errno 101] Network is unreachable")

    def fail():
        raise offline

    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", fail)
    with pytest.raises(DataError) as info:
        (load_mnist if name == "mnist" else load_cifar10)()
    text = message(info)
    assert "Network is unreachable" in text and "~/.keras/datasets" in text
    assert f"set the {DATA_ENV_VAR} environment variable" in text and "--data-dir" in text
    assert info.value.__cause__ is offline


def test_keras_cifar10_labels_are_flattened(monkeypatch):
    keras = pytest.importorskip("keras")
    images = np.zeros((4, 32, 32, 3), np.uint8)
    labels = np.arange(4, dtype=np.uint8).reshape(4, 1)
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((images, labels), (images, labels)))
    (_, y_train), (_, y_test) = load_cifar10()
    assert y_train.shape == (4,) and y_test.tolist() == [0, 1, 2, 3]


# ---------------------------------------------------------------- preprocessing


def test_scale_images_maps_uint8_to_float32_unit_range(mnist):
    x_test = mnist[1][0]
    scaled = scale_images(x_test)
    assert scaled.shape == x_test.shape and scaled.dtype == np.float32
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_allclose(scaled[0] * 255, x_test[0], atol=1e-4)
    with pytest.raises(ValueError, match="already"):
        scale_images(scaled)


def test_add_channel_axis(mnist):
    x_test = mnist[1][0]
    with_channel = add_channel_axis(x_test)
    assert with_channel.shape == (10000, 28, 28, 1) and np.shares_memory(with_channel, x_test)
    assert add_channel_axis(with_channel).shape == (10000, 28, 28, 1)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, C\), got shape \(28, 28\)"):
        add_channel_axis(x_test[0])


def test_train_validation_split_is_stratified_disjoint_and_reproducible(mnist):
    y = mnist[0][1]
    (i_train, y_train), (i_val, y_val) = train_validation_split(np.arange(len(y)), y)
    assert len(i_val) == 6000 and len(i_train) == 54000
    np.testing.assert_array_equal(y[i_train], y_train)  # pairs stay together
    np.testing.assert_array_equal(y[i_val], y_val)
    assert np.union1d(i_train, i_val).size == len(y)
    assert np.all(np.abs(np.bincount(y_val) - 0.1 * np.array(MNIST_TRAIN_COUNTS)) <= 1)
    (_, _), (again, _) = train_validation_split(np.arange(len(y)), y)
    (_, _), (other, _) = train_validation_split(np.arange(len(y)), y, seed=1)
    np.testing.assert_array_equal(again, i_val)
    assert not np.array_equal(other, i_val)


def test_train_validation_split_keeps_the_image_shape(cifar10):
    x, y = cifar10[1]
    (x_train, _), (x_val, _) = train_validation_split(x, y, validation_fraction=0.2)
    assert x_train.shape == (8000, 32, 32, 3) and x_val.shape == (2000, 32, 32, 3) and x_val.dtype == np.uint8


@pytest.mark.parametrize(
    ("x", "y", "fraction", "match"),
    [
        (np.zeros(10), np.arange(10) % 2, 1.0, "between 0 and 1"),
        (np.zeros(10), np.zeros((10, 2, 1)), 0.1, r"shape \(N,\) or \(N, 1\); got shape \(10, 2, 1\)"),
        (np.zeros(9), np.arange(10) % 2, 0.1, "same number of samples, got 9 and 10"),
    ],
    ids=["fraction", "3d-labels", "length-mismatch"],
)
def test_train_validation_split_rejects_bad_input(x, y, fraction, match):
    with pytest.raises(ValueError, match=match):
        train_validation_split(x, y, validation_fraction=fraction)


def test_stratified_subset_is_class_balanced(cifar10, mnist):
    for x, y in (cifar10[0], mnist[0]):
        x_small, y_small = stratified_subset(x, y, 1000)
        assert x_small.shape == (1000, *x.shape[1:]) and x_small.dtype == np.uint8
        assert np.bincount(y_small).tolist() == [100] * 10
    y = mnist[0][1]
    index, y_small = stratified_subset(np.arange(len(y)), y, 15, seed=3)
    np.testing.assert_array_equal(y[index], y_small)
    assert len(set(index.tolist())) == 15 and sorted(np.bincount(y_small, minlength=10)) == [1] * 5 + [2] * 5
    np.testing.assert_array_equal(stratified_subset(np.arange(len(y)), y, 15, seed=3)[0], index)


def test_stratified_subset_handles_small_classes():
    y = np.array([0] * 100 + [1] * 3)
    _, y_small = stratified_subset(np.arange(len(y)), y, 10)
    assert np.bincount(y_small).tolist() == [7, 3]
    index, _ = stratified_subset(np.arange(len(y)), y, len(y))
    assert sorted(index.tolist()) == list(range(len(y)))


@pytest.mark.parametrize("size", [9, 61], ids=["fewer-than-classes", "more-than-samples"])
def test_stratified_subset_rejects_impossible_sizes(size):
    y = np.arange(60) % 10
    with pytest.raises(ValueError, match=f"number of classes \\(10\\).*samples \\(60\\), got {size}"):
        stratified_subset(np.zeros((60, 2)), y, size)


def test_channel_statistics_on_cifar10(cifar10):
    x_train = cifar10[0][0]
    mean, std = channel_statistics(x_train)
    assert mean.shape == std.shape == (3,) and mean.dtype == std.dtype == np.float32
    # Published CIFAR-10 figures; this copy's re-encoded images move them by well under 1.
    np.testing.assert_allclose(mean, [125.3, 123.0, 113.9], atol=1.0)
    np.testing.assert_allclose(std, [63.0, 62.1, 66.7], atol=1.0)
    subset = x_train[:300]
    sub_mean, sub_std = channel_statistics(scale_images(subset))
    np.testing.assert_allclose(sub_mean, subset.mean(axis=(0, 1, 2)) / 255, rtol=1e-5)
    np.testing.assert_allclose(sub_std, subset.std(axis=(0, 1, 2)) / 255, rtol=1e-5)


def test_channel_statistics_on_mnist(mnist):
    mean, std = channel_statistics(add_channel_axis(scale_images(mnist[0][0])))
    np.testing.assert_allclose(mean, [0.1307], atol=1e-4)
    np.testing.assert_allclose(std, [0.3081], atol=1e-4)
    with pytest.raises(ValueError, match="add_channel_axis"):
        channel_statistics(mnist[0][0])


# ---------------------------------------------------------------- wrong layouts: decompressed, nested, unextracted


def test_load_mnist_accepts_decompressed_files(data_dir, mnist, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST_MD5:
        (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress((data_dir / "mnist" / name).read_bytes()))
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path)
    np.testing.assert_array_equal(x_train, mnist[0][0])
    np.testing.assert_array_equal(y_test, mnist[1][1])


def test_load_mnist_checks_decompressed_files_against_their_own_md5(data_dir, tmp_path):
    folder = tmp_path / "mnist"
    mnist_copy(data_dir, tmp_path, skip=("t10k-labels-idx1-ubyte.gz",))
    raw = gzip.decompress((data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (folder / "t10k-labels.idx1-ubyte").write_bytes(raw[:-1] + b"\x07")
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    assert f"{folder / 't10k-labels.idx1-ubyte'} is corrupt or incomplete" in message(info)


@pytest.mark.parametrize(
    ("subfolder", "names", "loader"),
    [
        ("mnist/mnist", list(MNIST_MD5), load_mnist),
        ("cifar-10-python/cifar-10-batches-py", list(CIFAR10_LABEL_SHA256), load_cifar10),
        ("MNIST_data", [name.removesuffix(".gz") for name in MNIST_MD5], load_mnist),
    ],
    ids=["mnist-twice", "cifar-inside-archive-folder", "mnist-other-name"],
)
def test_loaders_name_the_folder_that_holds_the_files_and_how_to_move_them(tmp_path, subfolder, names, loader):
    nested = tmp_path / subfolder
    nested.mkdir(parents=True)
    for name in names:
        (nested / name).write_bytes(b"tiny")
    target = tmp_path / ("mnist" if loader is load_mnist else "cifar-10-batches-py")
    with pytest.raises(DataError) as info:
        loader(tmp_path)
    text = message(info)
    assert f"but {nested} does" in text
    assert f"`mkdir -p {target} && mv {nested}/* {target}/`" in text


def test_load_cifar10_explains_an_unextracted_archive(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"tiny")
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path)
    assert f"`tar -xzf {tmp_path / 'cifar-10-python.tar.gz'} -C {tmp_path}`" in message(info)
