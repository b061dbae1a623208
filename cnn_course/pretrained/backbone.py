"""The backbone's architecture and its pretraining recipe on the five source classes of CIFAR-10."""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from cnn_course import data, models, training
from cnn_course.pretrained import BACKBONE_NAME, BUILD_COMMAND, SOURCE_CLASS_NAMES, SOURCE_CLASSES, file_sha256
from cnn_course.seeding import set_global_seed

WIDTHS = (16, 32, 64, 128)
CONVS_PER_STAGE = (1, 2, 2, 1)
EPOCHS = 10
BATCH_SIZE = 256
PEAK_LEARNING_RATE = 4e-3
WEIGHT_DECAY = 5e-4
MAX_SHIFT = 0.125
VALIDATION_FRACTION = 0.1
SEED = 42


def build_backbone(
    mean: np.ndarray,
    variance: np.ndarray,
    input_shape: tuple[int, int, int] = models.CIFAR10_INPUT_SHAPE,
    widths: tuple[int, ...] = WIDTHS,
    convs_per_stage: tuple[int, ...] = CONVS_PER_STAGE,
) -> keras.Model:
    """Return the backbone, untrained: a functional keras.Model named "cifar5_backbone".

    Takes float32 images (N, *input_shape) in [0, 1] and standardises them itself with `mean`
    and `variance` (per-channel, shape (3,)) in a Normalization layer named "preprocessing";
    then stages of 3x3 Conv2D (no bias) -> BatchNormalization -> ReLU with `widths` filters and
    `convs_per_stage` convolutions, 2x2 max pooling between stages. Returns feature maps
    (N, 4, 4, widths[-1]) for 32x32 inputs. Functional rather than Sequential: a saved
    Sequential model forgets its own `trainable` flag when loaded (Keras 3.15).
    """
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Normalization(mean=mean, variance=variance, name="preprocessing")(inputs)
    for stage, (filters, convs) in enumerate(zip(widths, convs_per_stage, strict=True), start=1):
        if stage > 1:
            x = layers.MaxPooling2D(2, name=f"block{stage - 1}_pool")(x)
        for conv in range(1, convs + 1):
            prefix = f"block{stage}_conv{conv}"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=prefix)(x)
            x = layers.BatchNormalization(name=f"{prefix}_bn")(x)
            x = layers.ReLU(name=f"{prefix}_relu")(x)
    return keras.Model(inputs, x, name=BACKBONE_NAME)


def build_classifier(backbone: keras.Model, num_classes: int) -> keras.Model:
    """Return backbone -> GlobalAveragePooling2D -> Dense(num_classes, softmax), a functional model."""
    inputs = keras.Input(shape=backbone.input_shape[1:], name="images")
    x = backbone(inputs)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{BACKBONE_NAME}_classifier")


def machine_description() -> dict[str, Any]:
    """Return the machine and software a run used: platform, processor, CPU count, library versions."""
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def pretrain(
    out_dir: Path,
    epochs: int = EPOCHS,
    seed: int = SEED,
    train_images: int | None = None,
    data_dir: str | Path | None = None,
    verbose: int | str = 2,
) -> dict[str, Any]:
    """Pretrain the backbone on the source classes; write cifar5_backbone.keras and .json to `out_dir`.

    Trains backbone + GlobalAveragePooling2D + Dense(5) on the source classes' training images
    (less a stratified 10 % for validation; `train_images` keeps a stratified subset of that
    size, for trying the recipe quickly), with flips and shifts, AdamW, a warm-up + cosine
    schedule; evaluates once on the source classes' official test images. Returns the
    provenance record it writes. Raises DataError when CIFAR-10 cannot be loaded.
    """
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(data_dir)
    x_train, y_train = data.select_classes(data.scale_images(x_train), y_train, SOURCE_CLASSES)
    x_test, y_test = data.select_classes(data.scale_images(x_test), y_test, SOURCE_CLASSES)
    (x_fit, y_fit), (x_val, y_val) = data.train_validation_split(x_train, y_train, VALIDATION_FRACTION, seed=seed)
    if train_images is not None:
        x_fit, y_fit = data.stratified_subset(x_fit, y_fit, train_images, seed=seed)
    mean, std = data.channel_statistics(x_fit)

    set_global_seed(seed)
    backbone = build_backbone(mean, std**2)
    classifier = build_classifier(backbone, len(SOURCE_CLASSES))
    inputs = keras.Input(shape=backbone.input_shape[1:])
    trainer = keras.Model(inputs, classifier(models.build_cifar10_augmentation(MAX_SHIFT)(inputs)))
    steps = epochs * training.steps_per_epoch(len(x_fit), BATCH_SIZE)
    trainer.compile(
        optimizer=keras.optimizers.AdamW(
            training.warmup_cosine_schedule(PEAK_LEARNING_RATE, steps), weight_decay=WEIGHT_DECAY
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = trainer.fit(
        x_fit, y_fit, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE, verbose=verbose
    )
    train_seconds = time.perf_counter() - start
    test_accuracy = float(np.mean(np.argmax(classifier.predict(x_test, batch_size=1000, verbose=0), axis=1) == y_test))

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{BACKBONE_NAME}.keras"
    classifier.save(model_path)  # without the augmentation and the optimizer: only what transfer needs
    record = {
        "name": BACKBONE_NAME,
        "file": model_path.name,
        "sha256": file_sha256(model_path),
        "size_bytes": model_path.stat().st_size,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": BUILD_COMMAND
        + (f" --epochs {epochs}" if epochs != EPOCHS else "")
        + (f" --seed {seed}" if seed != SEED else "")
        + (f" --train-images {train_images}" if train_images is not None else ""),
        "machine": machine_description(),
        "source_classes": dict(zip(SOURCE_CLASS_NAMES, SOURCE_CLASSES, strict=True)),
        "input": "float32 RGB images (N, 32, 32, 3) in [0, 1]; standardised inside, by the 'preprocessing' layer",
        "output": f"feature maps (N, 4, 4, {WIDTHS[-1]}); the saved file holds the source classifier around them",
        "preprocessing": {"mean": [round(float(v), 6) for v in mean], "std": [round(float(v), 6) for v in std]},
        "recipe": {
            "architecture": f"stages of 3x3 Conv2D-BatchNorm-ReLU, widths {list(WIDTHS)}, convolutions per stage "
            f"{list(CONVS_PER_STAGE)}, 2x2 max pooling between stages; head: global average pooling, Dense(5, softmax)",
            "parameters": backbone.count_params(),
            "augmentation": f"horizontal flips, shifts up to {MAX_SHIFT} of the size (reflect)",
            "optimizer": f"AdamW, weight decay {WEIGHT_DECAY}",
            "learning_rate": f"warm-up to {PEAK_LEARNING_RATE} over the first 12.5 % of steps, then cosine decay to 0",
            "batch_size": BATCH_SIZE,
            "epochs": epochs,
            "loss": "sparse categorical cross-entropy",
        },
        "seed": seed,
        "training_images": len(y_fit),
        "validation_images": len(y_val),
        "train_seconds": round(train_seconds, 1),
        "accuracy": {
            "source_validation": round(float(history.history["val_accuracy"][-1]), 4),
            "source_test": round(test_accuracy, 4),
            "source_test_images": len(y_test),
        },
    }
    (out_dir / f"{BACKBONE_NAME}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
