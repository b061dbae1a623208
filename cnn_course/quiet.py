"""Quiet TensorFlow start-up: no absl/oneDNN/CUDA banner lines unless CNN_COURSE_VERBOSE=1.

Imported first by `cnn_course/__init__.py`, so the CLI, the graders, the learner process and every
lesson (whose setup cell imports `cnn_course` before Keras) start quietly. Two mechanisms, because
TensorFlow logs through two channels:

- `TF_CPP_MIN_LOG_LEVEL=3` hides TensorFlow's C++ log lines once its logging is set up, among
  them the "E0000 … NodeDef mentions attribute use_unbounded_threadpool" error line that tf.data
  prints on every training run. A real failure still raises a Python exception, with its
  message, and Python warnings (Keras's, TensorFlow's, NumPy's) still show.
- The lines written before that (absl's "All log messages before absl::InitializeLog()" banner,
  the oneDNN and CUDA-stub notes) and the "failed call to cuInit" error of a machine without a GPU
  ignore that variable: while `tensorflow` is imported and lists its devices, file descriptor 2 goes
  to a temporary file, and afterwards every captured line except those known start-up lines is
  written back to `sys.stderr`.

`CNN_COURSE_VERBOSE=1` (or `cnn-course --verbose`) turns all of this off.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from types import ModuleType

VERBOSE_ENV_VAR = "CNN_COURSE_VERBOSE"
_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
_STARTUP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] "  # absl INFO/WARNING lines logged before TensorFlow reads its log level
    r"|E\d{4} .*(failed call to cuInit|Unable to register cu(DNN|FFT|BLAS) factory)"
    r"|To enable the following instructions: .* rebuild TensorFlow"
)


def verbose() -> bool:
    """Return True when CNN_COURSE_VERBOSE asks for TensorFlow's start-up logs (1, true, yes or on)."""
    return os.environ.get(VERBOSE_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def is_startup_noise(line: str) -> bool:
    """Return True for a TensorFlow/absl start-up line that tells a learner nothing (the line, without its newline)."""
    return _STARTUP_NOISE.match(line) is not None


@contextlib.contextmanager
def filtered_stderr(drop: Callable[[str], bool] = is_startup_noise) -> Iterator[None]:
    """Capture what is written to file descriptor 2 in the block.

    Afterwards write back the lines `drop` is false for.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no usable stderr (e.g. pythonw): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line for line in capture.read().decode(errors="replace").splitlines(keepends=True) if not drop(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Wraps TensorFlow's loader: runs the import, and the device listing that logs cuInit, under filtered_stderr."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)
            module.config.list_physical_devices()  # allowed before any device is configured

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, with its loader wrapped in _QuietLoader."""

    def find_spec(self, fullname: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once is enough; find the real spec without this finder
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_finder = _QuietTensorFlowFinder()
_set_log_level = False


def install() -> None:
    """Make TensorFlow's start-up quiet, unless CNN_COURSE_VERBOSE is set or TensorFlow is already imported."""
    global _set_log_level
    if verbose() or "tensorflow" in sys.modules:
        return
    if _TF_LOG_LEVEL not in os.environ:
        os.environ[_TF_LOG_LEVEL] = "3"
        _set_log_level = True
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Stop filtering TensorFlow's start-up (import hook and the log level install() set)."""
    global _set_log_level
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    if _set_log_level:
        os.environ.pop(_TF_LOG_LEVEL, None)
        _set_log_level = False


def make_verbose() -> None:
    """Bring TensorFlow's logs back, here and in child processes (the `--verbose` switch)."""
    os.environ[VERBOSE_ENV_VAR] = "1"
    uninstall()
