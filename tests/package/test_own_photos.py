"""Lesson 7 on a learner's own photos: the master runs end to end on folders unlike CIFAR-10, and a photo's EXIF
orientation is one rule for the loader, `cnn-course predict` and `serve`."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from cnn_course.authoring.notebook_runner import execute_notebook
from cnn_course.data import image_folders
from cnn_course.data.image_files import APPLEDOUBLE_HEADER, save_rotated_photo

from .conftest import SOLUTIONS

# Where the mistake galleries of the lesson's runs are saved, to look at them.
GALLERY_DIR_ENV = "CNN_COURSE_GALLERY_DIR"


def photo(height: int, width: int, colour: tuple[int, int, int], seed: int) -> np.ndarray:
    """Return uint8 (height, width, 3): a noisy `colour` with a yellow bar along the top, so that upright is visible."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    pixels[: max(2, height // 5)] = (255, 220, 0)
    return pixels


def two_classes_of_turned_photos(root: Path) -> None:
    """Two classes of 40 JPEG photos each, 40 x 30 pixels upright; two in three stored turned, EXIF tags 6 and 8.

    The classes' colours are close, so that a model trained for one epoch makes some mistakes, fewer than 16.
    """
    for name, colour in (("chats", (125, 100, 90)), ("chiens", (105, 100, 110))):
        (root / name).mkdir(parents=True)
        for index in range(40):
            upright = photo(40, 30, colour, index)
            path = root / name / f"IMG_{index:04d}.jpg"
            if index % 3:
                save_rotated_photo(upright, path, 6 if index % 3 == 1 else 8)
            else:
                Image.fromarray(upright).save(path, "JPEG", quality=90)


def ten_unbalanced_classes(root: Path) -> None:
    """Ten classes of 3 to 60 PNG images of 24 to 40 pixels, named '1' to '10' (Keras orders them as strings)."""
    for label, count in enumerate((3, 5, 8, 12, 18, 25, 33, 42, 50, 60), start=1):
        (root / str(label)).mkdir(parents=True)
        colour = (25 * label, 255 - 20 * label, (70 * label) % 256)
        for index in range(count):
            Image.fromarray(photo(24 + index % 17, 40 - index % 11, colour, index)).save(
                root / str(label) / f"{index}.png"
            )


def mixed_formats_and_names(root: Path) -> None:
    """Three classes with every format and mode, non-ASCII names, hidden files and a class of two images."""
    chats, chiens, oiseaux = root / "chats", root / "chiens", root / "oiseaux rares"
    for folder in (chats, chiens, oiseaux):
        folder.mkdir(parents=True)
    for folder, colour in ((chats, (210, 120, 60)), (chiens, (60, 120, 210))):
        rgb = [photo(30 + 7 * index, 50 - 3 * index, colour, index) for index in range(10)]
        Image.fromarray(rgb[0]).save(folder / "été 1.jpg", "JPEG")
        Image.fromarray(rgb[1]).save(folder / "Ünïcödé_2.PNG")
        Image.fromarray(rgb[2]).save(folder / "web 3.webp", "WEBP")
        Image.fromarray(rgb[3]).save(folder / "bitmap_4.bmp")
        Image.fromarray(rgb[4]).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "animé_5.gif")
        Image.fromarray(rgb[5]).convert("L").save(folder / "gris_6.png")
        Image.fromarray(np.dstack([rgb[6], np.full(rgb[6].shape[:2], 128, np.uint8)])).save(
            folder / "transparent_7.png"
        )
        Image.fromarray(rgb[7]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(folder / "palette_8.png")
        Image.fromarray(rgb[8][..., 0].astype(np.uint16) * 257).save(folder / "seize bits_9.png")
        save_rotated_photo(rgb[9], folder / "tourné_10.jpeg", 6)
        (folder / "._été 1.jpg").write_bytes(APPLEDOUBLE_HEADER + bytes(200))
        (folder / ".DS_Store").write_bytes(bytes(64))
        (folder / "notes à trier.txt").write_text("à trier\n")
    for index in range(2):
        Image.fromarray(photo(64, 48, (90, 200, 90), index)).save(oiseaux / f"oiseau_{index}.jpg", "JPEG")


def run_lesson(image_dir: Path, work: Path, name: str) -> tuple[str, list[bytes], Path]:
    """Execute the master in quick mode on `image_dir`; return what it printed, its PNG figures of the mistake gallery,
    and its model folder."""
    model_dir = work / "models"
    notebook = execute_notebook(
        SOLUTIONS / "07_own_images.ipynb",
        {"QUICK_RUN": True, "MODEL_DIR": str(model_dir), "IMAGE_DIR": str(image_dir)},
        cell_timeout_s=600,
        cwd=work,
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [output for cell in code for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    printed = "".join(output.get("text", "") for output in outputs)
    gallery = [
        base64.b64decode(output["data"]["image/png"])
        for cell in code
        if "plot_predictions(" in cell.source
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    if os.environ.get(GALLERY_DIR_ENV):
        for index, png in enumerate(gallery):
            (Path(os.environ[GALLERY_DIR_ENV]) / f"lesson07-{name}-mistakes-{index}.png").write_bytes(png)
    return printed, gallery, model_dir


def test_lesson_runs_on_two_classes_of_turned_phone_photos(tmp_path):
    two_classes_of_turned_photos(tmp_path / "photos")
    printed, gallery, model_dir = run_lesson(tmp_path / "photos", tmp_path, "two-classes")
    assert "passes every check" in printed and "not written yet" not in printed
    assert "stored turned, with an EXIF orientation tag: 52 files" in printed
    model = keras.saving.load_model(model_dir / "own_images_cnn.keras", safe_mode=True)
    assert model.output_shape == (None, 2)
    assert (model_dir / "own_images_cnn.classes.json").read_text().count("chat") == 1
    mistakes = int(printed.split(" mistakes among ")[0].split()[-1])
    assert len(gallery) == (1 if mistakes else 0)


def test_lesson_runs_on_ten_unbalanced_classes(tmp_path):
    ten_unbalanced_classes(tmp_path / "numbers")
    printed, _, model_dir = run_lesson(tmp_path / "numbers", tmp_path, "ten-classes")
    assert "classes with fewer than 10 images: {'1': 3, '2': 5, '3': 8}" in printed
    assert "classes without a validation image:" in printed
    assert keras.saving.load_model(model_dir / "own_images_cnn.keras", safe_mode=True).output_shape == (None, 10)


def test_lesson_runs_on_mixed_formats_modes_and_names(tmp_path):
    mixed_formats_and_names(tmp_path / "mes photos")
    printed, _, model_dir = run_lesson(tmp_path / "mes photos", tmp_path, "mixed")
    assert "Found 22 files belonging to 3 classes." in printed
    assert keras.saving.load_model(model_dir / "own_images_cnn.keras", safe_mode=True).output_shape == (None, 3)


# -- one rule for a photo's orientation: the loader, predict and serve see the same pixels ---------------------------


def test_loader_predict_and_serve_see_a_turned_photo_upright(tmp_path, monkeypatch):
    from cnn_course import inference, saving
    from cnn_course.commands.cli import main
    from cnn_course.serving import create_app

    upright = photo(40, 30, (200, 90, 40), 0)
    folder = tmp_path / "photos"
    for name, orientation in (("a", 6), ("b", 8)):
        (folder / name).mkdir(parents=True)
        save_rotated_photo(upright, folder / name / "IMG_0001.jpg", orientation)
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    saving.save_model_with_classes(model, tmp_path / "model.keras", ["a", "b"])
    seen = []
    original_predict = inference.Classifier.predict

    def recording_predict(self, images):
        seen.append(np.asarray(images)[0])
        return original_predict(self, images)

    monkeypatch.setattr(inference.Classifier, "predict", recording_predict)
    photo_path = folder / "a" / "IMG_0001.jpg"
    assert main(["predict", str(tmp_path / "model.keras"), str(photo_path)]) == 0
    client = create_app(tmp_path / "model.keras").test_client()
    response = client.post("/predict", data={"file": (io.BytesIO(photo_path.read_bytes()), "IMG_0001.jpg")})
    assert response.status_code == 200
    dataset = image_folders.image_dataset_from_directory(folder, image_size=(40, 30), shuffle=False, verbose=False)
    ((loaded, _),) = dataset.as_numpy_iterator()
    predicted, served = seen
    assert predicted.shape == served.shape == loaded[0].shape == (40, 30, 3)
    np.testing.assert_array_equal(predicted, served)
    np.testing.assert_array_equal(loaded[0], predicted)
    assert predicted[:4, :, 1].mean() > predicted[-4:, :, 1].mean() + 100  # the yellow bar on top: upright


def test_the_loader_splits_as_keras_does(tmp_path):
    ten_unbalanced_classes(tmp_path / "numbers")
    for subset in ("training", "validation"):
        ours = image_folders.image_dataset_from_directory(
            tmp_path / "numbers", image_size=(16, 16), validation_split=0.2, subset=subset, seed=3, verbose=False
        )
        theirs = keras.utils.image_dataset_from_directory(
            tmp_path / "numbers", image_size=(16, 16), validation_split=0.2, subset=subset, seed=3, verbose=False
        )
        assert ours.class_names == theirs.class_names
        assert ours.file_paths == theirs.file_paths


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"validation_split": 0.2, "subset": "both", "seed": 1}, "leaves no image for validation"),
        ({"validation_split": 0.2, "subset": "both"}, "pass a seed"),
        ({"label_mode": "binary"}, "choose 'int'"),
        ({"subset": "training"}, "validation_split and subset go together"),
    ],
)
def test_the_loader_refuses_what_it_cannot_do_with_a_message(tmp_path, options, message):
    (tmp_path / "one").mkdir()
    Image.fromarray(photo(8, 8, (0, 0, 0), 0)).save(tmp_path / "one" / "a.png")
    with pytest.raises(ValueError, match=message):
        image_folders.image_dataset_from_directory(tmp_path, verbose=False, **options)


def test_the_loader_names_a_folder_without_images(tmp_path):
    with pytest.raises(image_folders.ImageFolderError, match="is not a folder"):
        image_folders.image_dataset_from_directory(tmp_path / "missing")
    with pytest.raises(image_folders.ImageFolderError, match="no class subfolders"):
        image_folders.image_dataset_from_directory(tmp_path)
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "notes.txt").write_text("no photo yet")
    with pytest.raises(image_folders.ImageFolderError, match="holds no image files"):
        image_folders.image_dataset_from_directory(tmp_path)
