"""`cnn-course doctor`: what a learner or a helper needs to know about this installation."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("cnn-course", "keras", "tensorflow", "numpy", "scikit-learn", "matplotlib", "seaborn", "jupytext", "jupyterlab", "pytest")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def data_source_lines() -> list[str]:
    """Describe where MNIST and CIFAR-10 would load from, and whether that looks ready."""
    from cnn_course.data import DATA_ENV_VAR, DataError, resolve_data_dir

    try:
        folder = resolve_data_dir()
    except DataError as error:
        return [f"  data: {error}"]
    if folder is None:
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
        return [
            f"  data: {DATA_ENV_VAR} is not set; keras.datasets downloads and caches in {cache}",
            f"    mnist:   {'cached' if (cache / 'mnist.npz').is_file() else 'not cached yet (needs internet once)'}",
            f"    cifar10: {'cached' if (cache / 'cifar-10-batches-py').is_dir() else 'not cached yet (needs internet once)'}",
        ]
    lines = [f"  data: {DATA_ENV_VAR}={folder}"]
    for name, sub in (("mnist", "mnist"), ("cifar10", "cifar-10-batches-py")):
        lines.append(f"    {name}: {'found ' + str(folder / sub) if (folder / sub).is_dir() else 'no ' + sub + '/ folder there'}")
    return lines


def report_lines() -> list[str]:
    """Return the doctor's report: Python, package versions, devices, data sources."""
    import keras
    import tensorflow as tf

    lines = [f"cnn-course doctor: Python {platform.python_version()} on {platform.system()} {platform.machine()}", "  packages:"]
    lines += [f"    {package:<13} {_version(package)}" for package in PACKAGES]
    devices = ", ".join(f"{d.device_type}" for d in tf.config.list_physical_devices()) or "none"
    lines.append(f"  keras backend: {keras.backend.backend()}; devices: {devices}; CPU cores: {os.cpu_count()}")
    lines += data_source_lines()
    from cnn_course.instructor.sandbox import sandbox_status

    mode, reason = sandbox_status()
    lines.append(f"  grading sandbox (cnn-course grade): {mode}: {reason}")
    return lines
