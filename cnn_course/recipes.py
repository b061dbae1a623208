"""Training recipes: a model builder with the optimiser, schedule and budget that train it.

Ours are tuned for time-to-accuracy on a laptop CPU; the baselines reproduce the Keras and
TensorFlow examples a learner would otherwise start from, for the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

# Keras, NumPy and the models are imported where they are used: `cnn-course train --help` lists these
# recipes without importing TensorFlow.
if TYPE_CHECKING:
    import keras
    import numpy as np

    from cnn_course.precision import PolicyChoice
    from cnn_course.preparation import PreparedData
    from cnn_course.time_budget import TimeBudget

# Training images whose statistics BatchNorm takes after training with a moving average of the weights (a few
# seconds of forward passes for the airbench network on 2 cores).
STATISTICS_IMAGES = 2048


@dataclass(frozen=True)
class Recipe:
    """How to train one model: architecture, optimiser, schedule, loss, budget, test-time flips."""

    name: str
    dataset: str
    description: str
    build: Callable[[PreparedData], keras.Model]
    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str = "adam"  # "adam", "adamw", "rmsprop" or "sgd" (Nesterov momentum, `training.BiasScaledSGD`)
    schedule: str = "warmup_cosine"  # or "warmup_linear" (to final_fraction x the peak rate), or "constant"
    warmup_fraction: float = 0.125  # of training, rising from initial_fraction x the peak rate
    initial_fraction: float = 0.05
    final_fraction: float = 0.0  # warmup_linear only
    weight_decay: float = 0.0  # decoupled: each step shrinks the weights by learning rate x weight_decay
    momentum: float = 0.9  # sgd only
    bias_scale: float = 1.0  # sgd only: how many times faster BatchNorm offsets learn
    label_smoothing: float = 0.0
    ema_momentum: float | None = None  # train with an exponential moving average of the weights, kept at the end
    lookahead: bool = False  # airbench's Lookahead (`training.Lookahead`): the slow weights are kept at the end
    stem_bias_fraction: float | None = None  # of training after which the layer named "whitening" stops learning
    flip_tta: bool = False
    shift_tta: int = 0  # pixels; > 0 also averages predictions over two shifted views at test time
    baseline: bool = False
    validation_fraction: float = 0.1
    summary: str = ""  # one line for `cnn-course train --help` and the training banner; no epoch count
    # False: `--dtype auto` trains in float32 without measuring. For a recipe whose result the course states as the
    # same on every run and machine (MNIST's 99.09 %), and for baselines, which stand for others' code as written.
    measures_precision: bool = True

    def __post_init__(self) -> None:
        if self.lookahead and self.ema_momentum is not None:
            raise ValueError("a recipe averages its weights one way: Lookahead or a moving average, not both")

    @property
    def keeps_best_epoch(self) -> bool:
        """Whether training keeps the weights of the best validation epoch (`training.KeepBestWeights`).

        Not with a moving average of the weights or Lookahead: the average (written into the model when `fit`
        ends) would be replaced by the best epoch's weights, which are not averaged.
        """
        return self.ema_momentum is None and not self.lookahead

    def choose_dtype_policy(self, prepared: PreparedData, requested: str = "auto") -> PolicyChoice:
        """The dtype policy to train this recipe with (`precision.choose_dtype_policy`): under "auto", float32 without
        measuring for a recipe that does not measure (`measures_precision`). Raises ValueError for an unknown
        `requested`."""
        from cnn_course.precision import FLOAT32, PolicyChoice, choose_dtype_policy

        if requested == "auto" and not self.measures_precision:
            return PolicyChoice(
                FLOAT32, f"the {self.name} recipe trains in float32, its result the same on every machine"
            )
        return choose_dtype_policy(lambda: self.build(prepared), self.batch_size, requested)

    def training_callbacks(
        self, model: keras.Model, x_train: np.ndarray, budget: TimeBudget | None = None
    ) -> list[keras.callbacks.Callback]:
        """Callbacks of this recipe's own techniques, to pass to `fit` after `budget` (whose progress they follow;
        None: the epochs given to `fit`): Lookahead; the stem's bias frozen after `stem_bias_fraction` of training;
        with a moving average of the weights, BatchNorm statistics recomputed for the averaged weights from the
        first `STATISTICS_IMAGES` of `x_train` (N, H, W, C)."""
        from cnn_course.training import FreezeAfter, Lookahead, RecomputeBatchStatistics

        callbacks: list[keras.callbacks.Callback] = [Lookahead(budget)] if self.lookahead else []
        stems = [layer for layer in model.layers if layer.name == "whitening"]
        if self.stem_bias_fraction is not None and stems:
            callbacks.append(FreezeAfter([stems[0].bias], self.stem_bias_fraction, budget))
        if self.ema_momentum is not None:
            callbacks.append(RecomputeBatchStatistics(x_train[:STATISTICS_IMAGES]))
        return callbacks

    def learning_rate_for(self, total_steps: int | None) -> float | keras.optimizers.schedules.LearningRateSchedule:
        """Return the constant rate or the warm-up + cosine or linear schedule over `total_steps`.

        total_steps None: the constant rate, for a `time_budget()` callback to schedule by time.
        """
        if self.schedule == "constant" or total_steps is None:
            return self.learning_rate
        from cnn_course.time_budget import WarmupLinearDecay
        from cnn_course.training import warmup_cosine_schedule

        if self.schedule == "warmup_linear":
            return WarmupLinearDecay(
                self.learning_rate, total_steps, self.warmup_fraction, self.initial_fraction, self.final_fraction
            )
        return warmup_cosine_schedule(self.learning_rate, total_steps, self.warmup_fraction, self.initial_fraction)

    def time_budget(self, seconds: float | None, verbose: int = 1) -> TimeBudget:
        """Return the callback that ends training after `seconds` and schedules this recipe's rate by time.

        The model must be compiled with `compile(model, None)`. A constant-rate recipe keeps its rate.
        """
        from cnn_course.time_budget import TimeBudget

        peak = None if self.schedule == "constant" else self.learning_rate
        return TimeBudget(
            seconds,
            peak,
            self.warmup_fraction,
            self.initial_fraction,
            verbose=verbose,
            decay="linear" if self.schedule == "warmup_linear" else "cosine",
            final_fraction=self.final_fraction,
        )

    def compile(self, model: keras.Model, total_steps: int | None) -> keras.Model:
        """Compile `model` with this recipe's optimiser and loss; return it.

        total_steps: the steps the schedule spans; None to schedule by time with `time_budget()`.
        """
        import keras

        from cnn_course.training import BiasScaledSGD

        rate = self.learning_rate_for(total_steps)
        ema = {"use_ema": True, "ema_momentum": self.ema_momentum} if self.ema_momentum else {}
        optimizers = {
            "adam": lambda: keras.optimizers.Adam(rate, **ema),
            "adamw": lambda: keras.optimizers.AdamW(rate, weight_decay=self.weight_decay, **ema),
            "rmsprop": lambda: keras.optimizers.RMSprop(rate, **ema),
            "sgd": lambda: BiasScaledSGD(
                rate,
                momentum=self.momentum,
                nesterov=True,
                weight_decay=self.weight_decay or None,
                bias_scale=self.bias_scale,
                **ema,
            ),
        }
        loss = (
            keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)
            if self.label_smoothing
            else keras.losses.SparseCategoricalCrossentropy()
        )
        model.compile(optimizer=optimizers[self.optimizer](), loss=loss, metrics=["accuracy"])
        return model

    def targets(self, labels: np.ndarray, num_classes: int) -> np.ndarray:
        """Return labels in the form the loss expects: one-hot (N, num_classes) with label smoothing, else ints (N,).

        `labels`: class indices (N,) or (N, 1), a list, or one-hot rows; ValueError (saying what to pass) otherwise.
        """
        import keras

        from cnn_course.labels import class_indices

        labels = class_indices(labels, num_classes=num_classes)
        return keras.utils.to_categorical(labels, num_classes) if self.label_smoothing else labels


def training_statistics(prepared: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance of the training split (never validation or test)."""
    from cnn_course import data

    mean, std = data.channel_statistics(prepared.x_train)
    return mean, std**2


def _builder(name: str) -> Callable[[PreparedData], keras.Model]:
    """The recipe's `build`: `cnn_course.models.<name>()`, whatever the prepared data."""

    def build(prepared: PreparedData) -> keras.Model:
        from cnn_course import models

        return getattr(models, name)()

    return build


FAST_MAX_SHIFT = 0.0625  # of the height and width: up to 2 pixels of 32


def fast_network(
    prepared: PreparedData,
    widths: tuple[int, ...] = (16, 32, 64, 128),
    convs_per_stage: tuple[int, ...] = (1, 2, 2, 2),
    max_shift: float = FAST_MAX_SHIFT,
) -> keras.Model:
    """The fast recipes' network (uncompiled) for `prepared`: `models.build_cifar10_fast_cnn` with stages of
    `convs_per_stage` convolutions of `widths` filters, standardised by the training split's statistics,
    flips and shifts of up to `max_shift` inside, trained with `models.FusedBatchNormalization`."""
    from cnn_course import models

    return models.build_cifar10_fast_cnn(
        *training_statistics(prepared),
        models.build_cifar10_augmentation(max_shift),
        widths=widths,
        convs_per_stage=convs_per_stage,
        fused_batch_norm=True,
    )


AIRBENCH_WIDTHS = (64, 256, 256)
AIRBENCH_WHITENING_IMAGES = 5000  # training images the patch-whitening stem is computed from
# The techniques of the airbench recipe, each of which `airbench_recipe` can switch from its default, so that a
# benchmark arm measures what it buys (`python -m benchmarks.explore_budget --arms airbench airbench-no-whitening ...`).
AIRBENCH_TECHNIQUES = (
    "whitening",
    "identity_init",
    "nesterov_sgd",
    "label_smoothing",
    "alternating_flips",
    "translation",
    "large_batch",
    "ema",
    "tta",
    "lookahead",
    "linear_decay",
    "stem_bias_freeze",
)
# Each technique's default in the airbench recipe.
AIRBENCH_DEFAULTS = {
    technique: technique not in ("ema", "lookahead", "linear_decay", "stem_bias_freeze")
    for technique in AIRBENCH_TECHNIQUES
}
AIRBENCH_STEM_BIAS_FRACTION = 3 / 9.9  # airbench94 trains its whitening bias for 3 of its 9.9 epochs
# airbench's optimiser, in Keras's terms (airbench94: lr 11.5 and weight decay 0.0153 per 1024 images with a summed
# loss, momentum 0.85): a rate of 11.5 / (1 + 1 / (1 - 0.85)) = 1.5 on the mean loss of a batch of 1024, and a
# decoupled decay whose shrink per step, 0.0089 x the rate, is the one PyTorch's coupled decay reaches through the
# momentum (0.0153 / 7.67 / (1 - 0.85) = 0.0133 at the peak rate).
AIRBENCH_SGD = {
    "optimizer": "sgd",
    "learning_rate": 1.5,
    "momentum": 0.85,
    "weight_decay": 0.0089,
    "bias_scale": 64.0,
    "warmup_fraction": 0.23,
    "initial_fraction": 0.2,
}
AIRBENCH_ADAMW = {"optimizer": "adamw", "learning_rate": 1e-2, "weight_decay": 5e-2}
AIRBENCH_LOGIT_SCALE = 1 / 9  # airbench's classifier multiplies its logits by this, with its SGD's large rate


def airbench_network(
    prepared: PreparedData,
    whitening: bool = True,
    alternating_flips: bool = True,
    translation: int = 2,
    widths: tuple[int, ...] = AIRBENCH_WIDTHS,
    identity_init: bool = True,
    logit_scale: float | None = AIRBENCH_LOGIT_SCALE,
) -> keras.Model:
    """The airbench recipe's network (uncompiled) for `prepared`: `models.build_cifar10_airbench`.

    whitening: a frozen 2x2 patch-whitening stem computed from the first `AIRBENCH_WHITENING_IMAGES` training
    images (else a learnt stem). alternating_flips: `models.AlternatingFlip` (else random flips).
    translation: random shifts of up to this many whole pixels while training (0: none). identity_init, logit_scale:
    as `models.build_cifar10_airbench`.
    """
    from keras import layers

    from cnn_course import models

    mean, variance = training_statistics(prepared)
    flips = (
        models.AlternatingFlip(len(prepared.x_train), dtype="float32")
        if alternating_flips
        else layers.RandomFlip("horizontal")
    )
    height = prepared.x_train.shape[1]
    # Nearest, not bilinear: whole-pixel shifts, as airbench's crops; a fractional shift would blur training images.
    shifts = [
        layers.RandomTranslation(
            translation / height, translation / height, fill_mode="reflect", interpolation="nearest"
        )
    ]
    kernel = (
        models.patch_whitening_kernel(prepared.x_train[:AIRBENCH_WHITENING_IMAGES], mean, variance)
        if whitening
        else None
    )
    return models.build_cifar10_airbench(
        mean,
        variance,
        [flips, *(shifts if translation else [])],
        kernel,
        widths,
        prepared.x_train.shape[1:],
        identity_init=identity_init,
        logit_scale=logit_scale,
    )


def airbench_recipe(
    whitening: bool = True,
    identity_init: bool = True,
    nesterov_sgd: bool = True,
    label_smoothing: bool = True,
    alternating_flips: bool = True,
    translation: bool = True,
    large_batch: bool = True,
    ema: bool = False,
    tta: bool = True,
    lookahead: bool = False,
    linear_decay: bool = False,
    stem_bias_freeze: bool = False,
    widths: tuple[int, ...] = AIRBENCH_WIDTHS,
) -> Recipe:
    """The airbench recipe with each of its techniques (`AIRBENCH_TECHNIQUES`) on or off; named "airbench" as
    `AIRBENCH_DEFAULTS` has them, else "airbench-no-<technique>-..." for those turned off and
    "airbench-<technique>-..." for those turned on.

    Off means: a learnt 2x2 stem; Keras's default (Glorot) initialisation; AdamW (`AIRBENCH_ADAMW`) and a Dense
    layer with a bias instead of SGD with Nesterov momentum, 64 times faster BatchNorm offsets and logits scaled by
    1/9 (`AIRBENCH_SGD`); no label smoothing; random flips; no shifts; batch 256 instead of 1024; no average of the
    weights (on: an exponential moving average, momentum 0.98, off by default: it cost 6.5 points after 2 epochs);
    a single view at test time instead of flips and 2-pixel shifts; no Lookahead (`training.Lookahead`); a cosine
    decay to 0 instead of airbench94's linear decay to 0.07 of the peak; a stem bias that learns throughout instead
    of freezing after `AIRBENCH_STEM_BIAS_FRACTION` of training.
    """
    switches = {
        "whitening": whitening,
        "identity_init": identity_init,
        "nesterov_sgd": nesterov_sgd,
        "label_smoothing": label_smoothing,
        "alternating_flips": alternating_flips,
        "translation": translation,
        "large_batch": large_batch,
        "ema": ema,
        "tta": tta,
        "lookahead": lookahead,
        "linear_decay": linear_decay,
        "stem_bias_freeze": stem_bias_freeze,
    }
    off = [name.replace("_", "-") for name, on in switches.items() if not on and AIRBENCH_DEFAULTS[name]]
    added = [name.replace("_", "-") for name, on in switches.items() if on and not AIRBENCH_DEFAULTS[name]]
    batch_size = 1024 if large_batch else 256
    optimizer = dict(AIRBENCH_SGD if nesterov_sgd else AIRBENCH_ADAMW)
    if nesterov_sgd:  # airbench's rate is per 1024 images: a smaller batch steps less far
        optimizer["learning_rate"] *= batch_size / 1024
    return Recipe(
        name="-".join(["airbench", *(f"no-{name}" for name in off), *added]),
        summary="airbench's techniques: a frozen patch-whitening stem, identity-initialised BatchNorm blocks, Nesterov "
        "SGD, alternating flips, label smoothing 0.2, batch 1024, test-time flips and shifts",
        dataset="cifar10",
        description=f"airbench ported to Keras: 2x2 patch-whitening stem ({'frozen' if whitening else 'learnt'}), "
        f"conv-pool-BN-GELU-conv-BN-GELU blocks of {'-'.join(map(str, widths))} filters, global max pooling; "
        + (f"off: {', '.join(off)}; " if off else "")
        + (f"on: {', '.join(added)}; " if added else "")
        + (
            "SGD with Nesterov momentum 0.85, BatchNorm offsets at 64x the rate, logits scaled by 1/9"
            if nesterov_sgd
            else "AdamW"
        )
        + (", warm-up and linear decay to 0.07 of the peak" if linear_decay else ", warm-up and cosine decay")
        + (", Lookahead" if lookahead else ""),
        build=lambda prepared: airbench_network(
            prepared,
            whitening,
            alternating_flips,
            2 if translation else 0,
            widths,
            identity_init=identity_init,
            logit_scale=AIRBENCH_LOGIT_SCALE if nesterov_sgd else None,
        ),
        epochs=10,
        batch_size=batch_size,
        **optimizer,
        label_smoothing=0.2 if label_smoothing else 0.0,
        ema_momentum=0.98 if ema else None,
        lookahead=lookahead,
        schedule="warmup_linear" if linear_decay else "warmup_cosine",
        final_fraction=0.07 if linear_decay else 0.0,
        stem_bias_fraction=AIRBENCH_STEM_BIAS_FRACTION if stem_bias_freeze and whitening else None,
        flip_tta=tta,
        shift_tta=2 if tta else 0,
    )


MNIST_RECIPES = [
    Recipe(
        name="cnn",
        summary="the course's CNN: two conv/pool blocks + Dense(128), Adam with warm-up and cosine decay",
        dataset="mnist",
        description="two conv/pool blocks + Dense(128), Adam with warm-up and cosine decay, 3 epochs",
        build=_builder("build_mnist_cnn"),
        epochs=3,
        batch_size=128,
        learning_rate=3e-3,
        measures_precision=False,
    ),
    Recipe(
        name="keras-example",
        summary="baseline: the keras.io mnist_convnet example, Adam 1e-3",
        dataset="mnist",
        description="keras.io mnist_convnet: conv32-pool-conv64-pool-dropout-dense, Adam 1e-3, 15 epochs",
        build=_builder("build_keras_mnist_convnet"),
        epochs=15,
        batch_size=128,
        learning_rate=1e-3,
        schedule="constant",
        baseline=True,
        measures_precision=False,
    ),
]

CIFAR10_FAST = Recipe(
    name="fast",
    summary="compact all-convolutional net with BatchNorm and in-model augmentation, AdamW",
    dataset="cifar10",
    description="compact all-conv net (16-32-32-64-64-128-128, 294k parameters) with BatchNorm and global average "
    "pooling, flip + 2-pixel shifts inside the model, AdamW with warm-up and cosine decay, label smoothing 0.1, "
    "test-time augmentation over flips and 2-pixel shifts",
    build=fast_network,
    epochs=12,
    batch_size=256,
    learning_rate=1e-2,
    optimizer="adamw",
    weight_decay=5e-2,  # Keras's AdamW shrinks weights by learning rate x decay per step: 5e-4 at the peak
    label_smoothing=0.1,
    flip_tta=True,
    shift_tta=2,
)

CIFAR10_RECIPES = [
    CIFAR10_FAST,
    airbench_recipe(),
    replace(
        CIFAR10_FAST,
        name="deeper",
        summary="the fast recipe twice as wide: slower, more accurate",
        description="the fast recipe twice as wide (32-64-64-128-128-256-256, 1.17M parameters), for 10 epochs: "
        "slower, more accurate",
        build=lambda prepared: fast_network(prepared, widths=(32, 64, 128, 256)),
        epochs=10,
    ),
    Recipe(
        name="seed",
        summary="the lessons' seed CNN: two BatchNorm conv blocks (32, 64) + Dense(512)",
        dataset="cifar10",
        description=(
            "the lessons' seed CNN: two BatchNorm conv blocks (32, 64) + Dense(512), Adam with warm-up and cosine decay"
        ),
        build=_builder("build_cifar10_seed_cnn"),
        epochs=10,
        batch_size=128,
        learning_rate=2e-3,
    ),
    Recipe(
        name="keras-cifar10-cnn",
        summary="baseline: the classic Keras cifar10_cnn example, RMSprop 1e-4",
        dataset="cifar10",
        description=(
            "classic Keras cifar10_cnn example: conv32-conv32-pool-conv64-conv64-pool-dense512, RMSprop 1e-4, batch 32"
        ),
        build=_builder("build_keras_cifar10_cnn"),
        epochs=50,
        batch_size=32,
        learning_rate=1e-4,
        optimizer="rmsprop",
        schedule="constant",
        baseline=True,
        measures_precision=False,
    ),
    Recipe(
        name="tf-tutorial",
        summary="baseline: TensorFlow's CNN tutorial, Adam 1e-3",
        dataset="cifar10",
        description="TensorFlow's CNN tutorial: conv32-pool-conv64-pool-conv64-dense64, Adam 1e-3, 10 epochs, batch 32",
        build=_builder("build_tf_tutorial_cnn"),
        epochs=10,
        batch_size=32,
        learning_rate=1e-3,
        schedule="constant",
        baseline=True,
        measures_precision=False,
    ),
]

RECIPES: dict[str, dict[str, Recipe]] = {
    "mnist": {recipe.name: recipe for recipe in MNIST_RECIPES},
    "cifar10": {recipe.name: recipe for recipe in CIFAR10_RECIPES},
}
DEFAULT_RECIPE = {"mnist": "cnn", "cifar10": "fast"}
