"""airbench94's own PyTorch code, run on this CPU in float32 for some epochs: the yardstick for the Keras port.

    pip install "torch==2.13.0+cpu" pillow    # not dependencies of the course; any CPU build of PyTorch 2
    python -m benchmarks.airbench_reference --airbench-source PATH/legacy/airbench94.py --epochs 6

PATH is a checkout of https://github.com/KellerJordan/cifar10-airbench (MIT licence). The network, its
initialisation (Dirac, patch whitening), the alternating flips and 2-pixel crops, Lookahead, the test-time
augmentation and the hyperparameters are that file's own, executed as published; this script replaces only
what needs a GPU or torchvision: the data (CIFAR-10 from the course's loader: a random 45,000 of the 50,000
training images, as many as the recipes train on, or `--train-images`; the test split for the accuracy),
float32 on the CPU instead of float16 on CUDA, and the schedule's length (`--epochs`, airbench94: 9.9).
`--no-lookahead` and `--cosine` (a cosine decay to 0 from the peak instead of the linear one to 0.07) turn
off the two techniques the Keras port lacked. Prints the processor, the test accuracy after each epoch
without test-time augmentation, and at the end with airbench's (flips and 1-pixel shifts).

`--subset exact` or `--subset jpeg` measures what the JPEG copy of CIFAR-10 in `../shared/datasets` costs
(most images are a JPEG re-encoding: quality 75 with 4:2:0 chroma, as the files' quantisation tables and
sampling factors say, about 30 dB PSNR; 7,897 training and 932 test images keep their original pixels).
It trains on those 7,897 images, either as original pixels or as their JPEG versions decoded as `stage.py`
decodes them, and prints the accuracy on both versions of the 932 test images. `--batch-size` and `--seed`
change airbench94's batch of 1,024 and the seed (0) for such small runs.
"""

from __future__ import annotations

import argparse
import io
import math
import time
from pathlib import Path

import numpy as np

from benchmarks.budget_benchmark import processor_description
from cnn_course.data import load_cifar10


def airbench_namespace(source: Path) -> dict:
    """Execute airbench94.py's definitions (not its main run) without torchvision; return its namespace."""
    code = source.read_text()
    code = code.replace("import torchvision\n", "").replace("import torchvision.transforms as T\n", "")
    namespace: dict = {}
    exec(compile(code.split('if __name__ == "__main__":')[0], str(source), "exec"), namespace)
    return namespace


def exact_and_jpeg_subset(shared_datasets: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CIFAR-10 images of `split` ("train" or "test") that the JPEG copy keeps exactly, in both versions.

    Reads `cifar10/cifar10-exact.npz` and `cifar10/cifar10-jpeg.npz` of `shared_datasets`
    (see its README). Returns (original, jpeg, labels): uint8 (n, 32, 32, 3) twice and uint8 (n,),
    n = 7,897 for "train" and 932 for "test".
    """
    from PIL import Image

    exact = np.load(shared_datasets / "cifar10" / "cifar10-exact.npz")
    packed = np.load(shared_datasets / "cifar10" / "cifar10-jpeg.npz")
    rows = exact[f"{split}_index"]
    original = exact[f"{split}_images"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    blob, offsets = packed[f"{split}_jpeg"].tobytes(), packed[f"{split}_jpeg_offsets"]
    jpeg = np.stack(
        [np.asarray(Image.open(io.BytesIO(blob[offsets[i] : offsets[i + 1]])).convert("RGB")) for i in rows]
    )
    return original, jpeg, packed[f"{split}_labels"][rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airbench-source", type=Path, required=True, help="legacy/airbench94.py of a checkout")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--data-dir", default=None, help="folder of the official CIFAR-10 files")
    parser.add_argument(
        "--train-images", type=int, default=45000, help="a random this many of the 50,000 (airbench94: all)"
    )
    parser.add_argument(
        "--subset", choices=["exact", "jpeg"], help="train on the 7,897 exact images, as original pixels or JPEG"
    )
    parser.add_argument("--shared-datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--batch-size", type=int, default=None, help="airbench94: 1024")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-lookahead", action="store_true")
    parser.add_argument("--cosine", action="store_true")
    args = parser.parse_args()
    try:
        import torch
        import torch.nn.functional as F
        from torch import nn
    except ImportError:
        raise SystemExit(
            "this reference run needs PyTorch, which the course does not install: "
            'pip install "torch==2.13.0+cpu" (or any CPU build of PyTorch 2), then run it again'
        ) from None
    if not args.airbench_source.is_file():
        raise SystemExit(
            f"{args.airbench_source} is not a file: pass legacy/airbench94.py of a checkout of "
            "https://github.com/KellerJordan/cifar10-airbench"
        )
    if args.subset is not None:
        if not (args.shared_datasets / "cifar10" / "cifar10-exact.npz").is_file():
            raise SystemExit(
                f"{args.shared_datasets} has no cifar10/cifar10-exact.npz: pass the shared datasets folder "
                "with --shared-datasets"
            )
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise SystemExit(
                "--subset decodes JPEG images with Pillow: pip install pillow, then run it again"
            ) from None
    ab = airbench_namespace(args.airbench_source)
    print(
        f"Processor: {processor_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads, float32"
    )

    if args.subset is None:
        (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
        keep = np.random.default_rng(0).permutation(len(x_train))[: args.train_images]
        x_train, y_train = x_train[keep], y_train[keep]
        tests = {"test": (x_test, y_test)}
    else:
        original, jpeg, y_train = exact_and_jpeg_subset(args.shared_datasets, "train")
        x_train = original if args.subset == "exact" else jpeg
        test_original, test_jpeg, y_test = exact_and_jpeg_subset(args.shared_datasets, "test")
        tests = {"original test": (test_original, y_test), "JPEG test": (test_jpeg, y_test)}
        print(f"training on the {len(x_train)} exact images as {args.subset}, testing on {len(y_test)}")
    mean = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
    std = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)

    def normalised(images: np.ndarray) -> torch.Tensor:
        tensor = torch.tensor(images.transpose(0, 3, 1, 2)).float() / 255
        return ((tensor - mean) / std).contiguous(memory_format=torch.channels_last)

    class Loader:
        """airbench94's CifarLoader on arrays: flips fixed in the first epoch and all reversed every other one,
        crops from reflect-padded images drawn anew each epoch, reshuffled batches (drop_last when training)."""

        def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, train: bool) -> None:
            self.images, self.labels = normalised(images), torch.tensor(labels.astype(np.int64))
            self.batch_size, self.train, self.epoch = batch_size, train, 0

        def normalize(self, images: torch.Tensor) -> torch.Tensor:
            return images  # already standardised

        def __len__(self) -> int:
            count = len(self.images)
            return count // self.batch_size if self.train else math.ceil(count / self.batch_size)

        def __iter__(self):
            if self.train and self.epoch == 0:
                self.padded = F.pad(ab["batch_flip_lr"](self.images), (2,) * 4, "reflect")
            images = ab["batch_crop"](self.padded, 32) if self.train else self.images
            if self.train and self.epoch % 2 == 1:
                images = images.flip(-1)
            self.epoch += 1
            order = torch.randperm(len(images)) if self.train else torch.arange(len(images))
            for i in range(len(self)):
                rows = order[i * self.batch_size : (i + 1) * self.batch_size]
                yield images[rows], self.labels[rows]

    hyp = ab["hyp"]
    if args.batch_size is not None:
        hyp["opt"]["batch_size"] = args.batch_size  # the weight decay below follows it, as airbench94 scales it
    train_loader = Loader(x_train, y_train, hyp["opt"]["batch_size"], train=True)
    test_loaders = {name: Loader(x, y, 2000, train=False) for name, (x, y) in tests.items()}
    widths, bn_momentum = hyp["net"]["widths"], hyp["net"]["batchnorm_momentum"]
    torch.manual_seed(args.seed)
    # make_net() as published, without .half().cuda()
    model = nn.Sequential(
        ab["Conv"](3, 24, 2, padding=0, bias=True),
        nn.GELU(),
        ab["ConvGroup"](24, widths["block1"], bn_momentum),
        ab["ConvGroup"](widths["block1"], widths["block2"], bn_momentum),
        ab["ConvGroup"](widths["block2"], widths["block3"], bn_momentum),
        nn.MaxPool2d(3),
        ab["Flatten"](),
        nn.Linear(widths["block3"], 10, bias=False),
        ab["Mul"](hyp["net"]["scaling_factor"]),
    ).to(memory_format=torch.channels_last)
    model[0].weight.requires_grad = False

    # main() as published, from here on
    batch_size, momentum = hyp["opt"]["batch_size"], hyp["opt"]["momentum"]
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr = hyp["opt"]["lr"] / kilostep_scale
    wd = hyp["opt"]["weight_decay"] * batch_size / kilostep_scale
    lr_biases = lr * hyp["opt"]["bias_scaler"]
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hyp["opt"]["label_smoothing"], reduction="none")
    total_train_steps = math.ceil(len(train_loader) * args.epochs)
    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    other_params = [p for k, p in model.named_parameters() if "norm" not in k and p.requires_grad]
    optimizer = torch.optim.SGD(
        [
            dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
            dict(params=other_params, lr=lr, weight_decay=wd / lr),
        ],
        momentum=momentum,
        nesterov=True,
    )

    def get_lr(step: int) -> float:
        warmup_steps = int(total_train_steps * 0.23)
        if step < warmup_steps:
            frac = step / warmup_steps
            return 0.2 * (1 - frac) + 1.0 * frac
        frac = (step - warmup_steps) / (total_train_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * frac)) if args.cosine else 1.0 * (1 - frac) + 0.07 * frac

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, get_lr)
    alpha_schedule = 0.95**5 * (torch.arange(total_train_steps + 1) / total_train_steps) ** 3
    lookahead_state = None if args.no_lookahead else ab["LookaheadState"](model)
    ab["init_whitening_conv"](model[0], train_loader.images[:5000])
    current_steps, start = 0, time.perf_counter()
    for epoch in range(math.ceil(args.epochs)):
        model[0].bias.requires_grad = epoch < hyp["opt"]["whiten_bias_epochs"]
        model.train()
        for inputs, labels in train_loader:
            outputs = model(inputs)
            loss = loss_fn(outputs, labels).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            current_steps += 1
            if lookahead_state is not None and current_steps % 5 == 0:
                lookahead_state.update(model, decay=alpha_schedule[current_steps].item())
            if current_steps >= total_train_steps:
                if lookahead_state is not None:
                    lookahead_state.update(model, decay=1.0)
                break
        accuracies = ", ".join(
            f"{name} accuracy {ab['evaluate'](model, loader, tta_level=0):.2%}" for name, loader in test_loaders.items()
        )
        print(f"epoch {epoch + 1}: step {current_steps}, {accuracies}, {time.perf_counter() - start:.0f} s", flush=True)
    for name, loader in test_loaders.items():
        tta = ab["evaluate"](model, loader, tta_level=hyp["net"]["tta_level"])
        print(f"after {args.epochs:g} epochs: {name} {tta:.2%} with airbench's test-time augmentation", flush=True)


if __name__ == "__main__":
    main()
