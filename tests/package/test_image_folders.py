"""`cnn-course export-images`: CIFAR-10 as image files, deterministic, messy on request, never over a user's files."""

import hashlib

import keras
import numpy as np
import pytest
from PIL import Image

from cnn_course.commands.cli import main
from cnn_course.data import load_cifar10
from cnn_course.data.image_folders import ImageFolderError, export_cifar10_folder

from .conftest import needs_data

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def digest(folder):
    """Map every file below `folder` (hidden ones included) to its sha256."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A messy export with 3 images per class, written through the command line."""
    folder = tmp_path_factory.mktemp("export") / "photos"
    assert main(["export-images", "cifar10", str(folder), "--per-class", "3", "--messy"]) == 0
    return folder


@needs_data()
def test_the_export_writes_the_first_images_of_each_class_losslessly(messy):
    (x_train, y_train), _ = load_cifar10()
    assert sorted(path.name for path in messy.iterdir() if not path.name.startswith(".")) == CLASSES
    for label, name in enumerate(CLASSES):
        expected = np.flatnonzero(y_train == label)[:3]
        files = sorted((messy / name).glob(f"{name}_[0-9]*.png"))
        assert [int(path.stem.split("_")[-1]) for path in files] == list(expected)
        assert np.array_equal(np.asarray(Image.open(files[0])), x_train[expected[0]])


@needs_data()
def test_the_messy_extras_are_the_problems_real_folders_hold(messy, capsys):
    modes = {path.name: Image.open(path).mode for path in messy.glob("*/[!.]*_*.png") if "_0" not in path.name}
    assert modes == {"bird_grayscale.png": "L", "cat_transparent.png": "RGBA", "dog_small.png": "RGB"}
    assert Image.open(messy / "deer" / "deer_large.jpg").size == (128, 96)
    with pytest.raises(OSError, match="truncated"):
        Image.open(messy / "airplane" / "airplane_truncated.jpg").load()
    for hidden in (
        "automobile/._automobile_photo.png",
        "automobile/.DS_Store",
        ".ipynb_checkpoints/Untitled-checkpoint.ipynb",
        "horse/.ipynb_checkpoints/horse_copy-checkpoint.png",
    ):
        assert (messy / hidden).is_file(), hidden
    assert (messy / "frog" / "notes.txt").read_text().startswith("photos")


@needs_data()
def test_keras_reads_ten_classes_and_stops_at_the_corrupt_file(messy):
    dataset = keras.utils.image_dataset_from_directory(
        messy, image_size=(32, 32), batch_size=64, shuffle=False, verbose=False
    )
    assert dataset.class_names == CLASSES
    with pytest.raises(Exception, match="(?i)jpeg|png|image"):
        for _ in dataset:
            pass


@needs_data()
def test_the_same_arguments_write_the_same_files(tmp_path, messy):
    again = tmp_path / "again"
    export_cifar10_folder(again, per_class=3, messy=True)
    assert digest(again) == digest(messy)


@needs_data()
def test_sizes_formats_and_the_test_split(tmp_path):
    summary = export_cifar10_folder(tmp_path / "big", per_class=1, size=48, split="test", image_format="jpeg")
    files = sorted(summary.folder.glob("*/*.jpg"))
    assert summary.images == len(files) == 10
    assert {Image.open(path).size for path in files} == {(48, 48)}
    assert files[0].name == "airplane_00003.jpg"  # test image 3 is the first airplane of the test split


def test_a_folder_with_files_is_never_overwritten(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    assert main(["export-images", "cifar10", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "already holds files; nothing was written" in error and "Traceback" not in error
    assert [path.name for path in folder.iterdir()] == ["holiday.jpg"]
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


@needs_data()
def test_an_interrupted_export_leaves_nothing_behind(tmp_path, monkeypatch):
    import cnn_course.data.image_folders as image_folders

    calls = []

    def failing_save(pixels, path):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(image_folders, "save_image", failing_save)
    with pytest.raises(KeyboardInterrupt):
        export_cifar10_folder(tmp_path / "photos", per_class=2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export-images", "svhn", "DIR"], "unknown dataset 'svhn'"),
        (["export-images", "cifar10", "DIR", "--per-class", "5001"], "between 1 and 5,000"),
        (["export-images", "cifar10", "DIR", "--per-class", "1001", "--split", "test"], "between 1 and 1,000"),
        (["export-images", "cifar10", "DIR", "--size", "4"], "between 8 and 512"),
        (["export-images", "cifar10", "DIR", "--per-class", "0"], "must be at least 1"),
        (["export-images", "cifar10", "DIR", "--format", "tiff"], "invalid choice: 'tiff'"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_write_nothing(args, message, tmp_path, capsys):
    args = [str(tmp_path / "out") if arg == "DIR" else arg for arg in args]
    try:
        status = main(args)
    except SystemExit as exit:  # argparse rejects malformed values itself
        status = exit.code
    error = capsys.readouterr().err
    assert status == 2
    assert message in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_a_file_in_the_way_is_explained(tmp_path):
    (tmp_path / "photos").write_text("a file")
    with pytest.raises(ImageFolderError, match="is a file, not a folder"):
        export_cifar10_folder(tmp_path / "photos")


def test_predict_feeds_raw_pixels_to_a_model_that_rescales_itself(tmp_path):
    from keras import layers

    from cnn_course.inference import load_classifier
    from cnn_course.saving import save_model_with_classes

    Image.new("RGB", (20, 30), (255, 255, 255)).save(tmp_path / "white.png")
    rescaling = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            layers.Resizing(8, 8),
            layers.Rescaling(1 / 255),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    scaled = keras.Sequential(
        [keras.Input((8, 8, 3)), layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")]
    )
    for name, model, maximum in (("rescaling", rescaling, 255.0), ("scaled", scaled, 1.0)):
        save_model_with_classes(model, tmp_path / f"{name}.keras", ["dark", "light"])
        classifier = load_classifier(tmp_path / f"{name}.keras")
        pixels = classifier.preprocess(tmp_path / "white.png")
        assert float(pixels.max()) == maximum, name
        assert classifier.top_k(tmp_path / "white.png", k=1)[0][0] in ("dark", "light")


@needs_data()
def test_the_graders_held_out_images_are_what_the_exported_test_files_decode_to(tmp_path):
    from cnn_course.checks.folder_models import read_folder_images
    from cnn_course.grading.test_sets import cifar10_test_images_by_class

    folder = tmp_path / "test_images"
    assert main(["export-images", "cifar10", str(folder), "--per-class", "5", "--split", "test"]) == 0
    from_files, file_labels = read_folder_images(folder)
    images, labels = cifar10_test_images_by_class()
    assert images.dtype == np.uint8 and images.shape == (10_000, 32, 32, 3) and len(labels) == 10_000
    kept = [index for name in CLASSES for index in [i for i, label in enumerate(labels) if label == name][:5]]
    assert np.array_equal(from_files, images[kept]) and file_labels == [labels[i] for i in kept]
