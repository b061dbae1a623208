"""`cnn-course doctor`: what a learner or a helper needs to know about this installation."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "cnn-course",
    "keras",
    "tensorflow",
    "numpy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "jupytext",
    "jupyterlab",
    "pytest",
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def data_source_lines() -> tuple[list[str], bool]:
    """Describe where MNIST and CIFAR-10 load from, after verifying every file as the loaders do; True if all is well.

    A configured folder is checked completely (the MNIST md5 sums, the CIFAR-10 batch sizes and
    labels); a keras.datasets cache is checked by loading from it. Nothing is downloaded.
    """
    from cnn_course.data import (
        DATA_ENV_VAR,
        DataError,
        cifar10_files,
        load_cifar10,
        load_mnist,
        mnist_files,
        resolve_data_dir,
    )

    try:
        folder = resolve_data_dir()
    except DataError as error:
        return [f"  data: PROBLEM: {error}"], False
    datasets = (
        ("mnist", mnist_files, load_mnist, "md5 sums match the official files"),
        ("cifar10", cifar10_files, load_cifar10, "sizes and labels match the official batches"),
    )
    healthy = True
    if folder is None:
        loaders = {name: load for name, _, load, _ in datasets}
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
        lines = [f"  data: {DATA_ENV_VAR} is not set; keras.datasets downloads and caches in {cache}"]
        for name, cached in (("mnist", cache / "mnist.npz"), ("cifar10", cache / "cifar-10-batches-py")):
            if not cached.exists():
                lines.append(f"    {name + ':':<8} not cached yet (needs internet once)")
                continue
            try:
                loaders[name]()
            except DataError as error:
                healthy = False
                lines.append(f"    {name + ':':<8} PROBLEM: {error}")
            else:
                lines.append(f"    {name + ':':<8} cached, loads")
        return lines, healthy
    lines = [f"  data: {DATA_ENV_VAR}={folder}"]
    for name, files, load, verified in datasets:
        try:
            paths = files(folder)
            load(folder)
        except DataError as error:
            healthy = False
            lines.append(f"    {name + ':':<8} PROBLEM: {error}")
        else:
            lines.append(f"    {name + ':':<8} {len(paths)} files in {paths[0].parent}, {verified}")
    return lines, healthy


def transfer_lines() -> list[str]:
    """Describe lesson 8's backbones: the course's own (checksum verified) and the optional ImageNet one."""
    from cnn_course.pretrained import BackboneError, verify_backbone
    from cnn_course.transfer import imagenet_weights_status

    try:
        record = verify_backbone()
        backbone = (
            f"ok ({record['accuracy']['source_test']:.1%} on its source classes, sha256 {record['sha256'][:12]}…)"
        )
    except BackboneError as error:
        backbone = str(error)
    return [
        f"  pretrained backbone: {backbone}",
        f"  ImageNet weights (optional, lesson 8): {imagenet_weights_status()}",
    ]


def grading_lines() -> list[str]:
    """Describe how grading runs here: the system, the learner-process backend, its limits and the sandbox."""
    from cnn_course.grading.environment import FolderGuard
    from cnn_course.runtime.backends import choose_backend
    from cnn_course.runtime.limits import mechanism
    from cnn_course.runtime.sandbox import sandbox_status

    try:
        _, backend = choose_backend()
    except ValueError as error:
        backend = f"PROBLEM: {error}"
    memory = (
        "an address-space limit per learner process"
        if platform.system() == "Linux"
        else f"not enforced on {platform.system()} (no such limit there)"
    )
    inside = {"alarm": "SIGALRM", "watchdog": "a watchdog thread"}[mechanism()]
    mode, reason = sandbox_status()
    batch = "" if platform.system() == "Linux" else " (cnn-course grade needs Linux: see the instructor guide)"
    return [
        f"  system: {platform.platform()}",
        f"  learner processes (pytest): {backend}",
        f"    time limits: {inside} inside, the process ended from outside at the limit; memory: {memory}",
        f"  learner's folder (pytest): {FolderGuard().protection()}",
        f"  grading sandbox (cnn-course grade): {mode}: {reason}{batch}",
    ]


def report_lines() -> tuple[list[str], bool]:
    """Return the doctor's report (Python, package versions, devices, data sources) and whether the data is usable."""
    import keras
    import tensorflow as tf

    lines = [
        f"cnn-course doctor: Python {platform.python_version()} on {platform.system()} {platform.machine()}",
        "  packages:",
    ]
    lines += [f"    {package:<13} {_version(package)}" for package in PACKAGES]
    devices = ", ".join(f"{d.device_type}" for d in tf.config.list_physical_devices()) or "none"
    lines.append(f"  keras backend: {keras.backend.backend()}; devices: {devices}; CPU cores: {os.cpu_count()}")
    data_lines, healthy = data_source_lines()
    lines += data_lines
    lines += transfer_lines()
    lines += grading_lines()
    lines.append(
        "no problem found."
        if healthy
        else "Some data is missing or damaged: follow the PROBLEM lines above, then run `cnn-course doctor` again."
    )
    return lines, healthy
