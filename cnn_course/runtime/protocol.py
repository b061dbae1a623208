"""What crosses between the grading process and the learner process: data, never code.

Values are written as a JSON tree plus files in one folder per call:

- plain Python values (None, bool, int, float, str, list, tuple, dict, set, pathlib.Path) as JSON;
- NumPy arrays and TensorFlow tensors as `.npy` files, read with `allow_pickle=False`;
- Keras models as `.keras` files, loaded in safe mode;
- Keras layers, optimizers, losses and metrics as their serialised configs, rebuilt in safe mode;
- Keras callbacks as their public attributes, rebuilt from the Keras class of the same name;
- a `History` as its `history` and `params`;
- a `tf.data.Dataset` as its first batches (`MaterializedDataset`);
- a WSGI application (a Flask app) stays in the learner process and is reached through `ServedApp`
  (requests are carried to it; it behaves like Flask's test client);
- anything else arrives as a `ForeignObject` that names its type and fails every isinstance test.

Decoding never unpickles and never imports a module the learner named; a model, layer or callback
the grader cannot rebuild from Keras's own classes becomes a `ForeignObject` that says why.

This module holds the messages' framing and the value types both sides share; `encoding` writes values
(`Encoder`), `decoding` reads them back (`Decoder`) and loads a learner's saved model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 4 * 2**20
MAX_FILE_BYTES = 2 * 2**30
DATASET_BATCHES = 8


class ProtocolError(Exception):
    """A message or file from the other process is malformed, too large, or not what it claims."""


@dataclass(frozen=True)
class GeneratedArray:
    """An input array the learner process generates itself from a seed, so large inputs cost no copy.

    `materialize()` returns float32 (or `dtype`) values uniform in [low, high), shape `shape`,
    from `np.random.default_rng(seed)`: the grader calls it too and gets the same array.
    """

    shape: tuple[int, ...]
    seed: int
    low: float = 0.0
    high: float = 1.0
    dtype: str = "float32"

    def materialize(self) -> np.ndarray:
        """Return the array (shape `shape`, dtype `dtype`)."""
        rng = np.random.default_rng(self.seed)
        values = rng.random(self.shape, dtype=np.float32 if self.dtype == "float32" else np.float64)
        values *= self.high - self.low
        values += self.low
        return values.astype(self.dtype, copy=False)


@dataclass
class ForeignObject:
    """A value the grader cannot or will not rebuild: its type's name and why it could not cross."""

    type_name: str
    reason: str = ""

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


@dataclass
class MaterializedDataset:
    """The first `DATASET_BATCHES` elements of a `tf.data.Dataset`, as NumPy arrays.

    `batches` holds one entry per element (an array, or a tuple of arrays such as (images, labels));
    `class_names` and `file_paths` are the attributes `image_dataset_from_directory` sets (None when
    absent); `element_spec` is the dataset's spec as text; `cardinality` is the number of elements
    (-1 infinite, -2 unknown), `complete` whether `batches` holds them all.
    """

    batches: list[Any]
    element_spec: str
    cardinality: int
    complete: bool
    class_names: list[str] | None = None
    file_paths: list[str] | None = None


@dataclass
class HttpResponse:
    """A response of a `ServedApp`: status code, headers and body, like a Flask test-client response."""

    status_code: int
    headers: dict[str, str]
    data: bytes

    def get_data(self) -> bytes:
        return self.data

    def get_json(self) -> Any:
        """Return the body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.data)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass
class ServedApp:
    """A WSGI application (e.g. a Flask app) that lives in the learner process.

    Use it as Flask's test client: `test_client()` returns the app itself, whose `get(path)` and
    `post(path, data={field: (file object or bytes, filename) or text})` send one request through
    the app in the learner process and return an HttpResponse; `post_many` sends several at once
    from threads there. `working_folder` is the learner process's working folder, where a relative
    path the app writes to ends up.
    """

    app_id: int
    type_name: str
    working_folder: Path | None
    _send: Callable[[dict[str, Any]], Any] = field(repr=False)

    def test_client(self) -> ServedApp:
        return self

    def get(self, path: str) -> HttpResponse:
        return self._send({"method": "GET", "path": path})

    def post(self, path: str, data: dict[str, Any] | None = None, **_: Any) -> HttpResponse:
        files, fields = _split_form(data or {})
        return self._send({"method": "POST", "path": path, "files": files, "data": fields})

    def post_many(self, path: str, requests: list[dict[str, Any]], threads: int = 8) -> list[HttpResponse]:
        """POST each form of `requests` (as for `post`) to `path`, `threads` at a time; responses in order."""
        return self._send(
            {"method": "POST", "path": path, "many": [_split_form(form)[0] for form in requests], "threads": threads}
        )


def _split_form(form: dict[str, Any]) -> tuple[dict[str, tuple], dict[str, str]]:
    """Split a Flask-test-client form into file fields {field: (filename, bytes)} and text fields."""
    files, fields = {}, {}
    for name, value in form.items():
        if isinstance(value, tuple):
            content, filename = value[0], value[1]
            files[name] = (filename, content.read() if hasattr(content, "read") else bytes(content))
        else:
            fields[name] = str(value)
    return files, fields


@dataclass(frozen=True)
class CallDetails:
    """What one call of an exercise did, beyond its return value.

    `returned_argument`: the position (int) or keyword (str) of the argument the function returned
    itself, or None; `changed_arguments`: positions/keywords of array arguments it modified in place;
    `arguments_after`: the Keras-model arguments as they were after the call (position/keyword -> model);
    `written_files`: files the call created or changed in the learner's working folders (relative paths);
    `started_server`: whether the call tried to start a Flask development server (`app.run()`), which the
    observed call answers at once instead of serving forever.
    """

    value: Any
    returned_argument: int | str | None = None
    changed_arguments: tuple[int | str, ...] = ()
    arguments_after: dict[int | str, Any] = field(default_factory=dict)
    written_files: tuple[str, ...] = ()
    started_server: bool = False


def write_message(message: dict[str, Any]) -> bytes:
    """Return `message` as one JSON line (UTF-8)."""
    return (json.dumps(message, allow_nan=True) + "\n").encode()


def read_message(line: bytes) -> dict[str, Any]:
    """Parse one JSON line; raise ProtocolError when it is not a JSON object or too long."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError("message too long")
    try:
        message = json.loads(line)
    except ValueError:
        raise ProtocolError("message is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("message is not a JSON object")
    return message
