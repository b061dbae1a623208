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
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
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
        return self._send({"method": "POST", "path": path, "many": [_split_form(form)[0] for form in requests], "threads": threads})


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


# ---------------------------------------------------------------------------------------------
# Encoding: any value -> JSON tree + files in `folder`.


class Encoder:
    """Turns values into a JSON tree, writing arrays and models as files in `folder`.

    `register_app` is called with a WSGI app and returns an id for it (learner side only).
    """

    def __init__(self, folder: Path, register_app: Callable[[Any], int] | None = None) -> None:
        self.folder, self.register_app, self._files = folder, register_app, 0

    def _file(self, suffix: str) -> tuple[Path, str]:
        self._files += 1
        name = f"{self._files}{suffix}"
        return self.folder / name, name

    def encode(self, value: Any) -> Any:
        """Return the JSON tree of `value`."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value if abs(value) < 2**53 else {"t": "bigint", "value": str(value)}
        if isinstance(value, float):
            return value if math.isfinite(value) else {"t": "float", "value": repr(value)}
        if isinstance(value, (list, tuple, set, frozenset)):
            kind = {list: "list", tuple: "tuple"}.get(type(value), "set" if isinstance(value, (set, frozenset)) else None)
            if kind is None:  # a namedtuple or list subclass: keep the data, lose the type
                kind = "tuple" if isinstance(value, tuple) else "list"
            return {"t": kind, "items": [self.encode(item) for item in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, PurePath):
            return {"t": "path", "value": str(value)}
        if isinstance(value, GeneratedArray):
            return {"t": "generated", "shape": list(value.shape), "seed": value.seed, "low": value.low, "high": value.high, "dtype": value.dtype}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {"t": "npscalar", "dtype": value.dtype.str, "value": self.encode(value.item())}
        if isinstance(value, np.ndarray):
            return self._array(value, "ndarray")
        return self._library_value(value)

    def _array(self, array: np.ndarray, kind: str) -> dict[str, Any]:
        if array.dtype.hasobject:
            return {"t": "foreign", "type": "ndarray of Python objects", "reason": "an array of dtype=object cannot be read safely: use a numeric dtype."}
        path, name = self._file(".npy")
        np.save(path, array, allow_pickle=False)
        return {"t": kind, "file": name}

    def _library_value(self, value: Any) -> Any:
        """Values of Keras, TensorFlow and Flask; everything else is foreign."""
        type_name = type(value).__name__
        module = type(value).__module__ or ""
        if module.startswith(("tensorflow", "keras", "tf_keras")) or hasattr(value, "wsgi_app"):
            import keras  # imported here: plain data needs no Keras

            if isinstance(value, keras.Model):
                return self._model(value)
            if isinstance(value, keras.callbacks.History):
                return {"t": "history", "history": self.encode(value.history), "params": self.encode(value.params or {})}
            if isinstance(value, keras.callbacks.Callback):
                return self._callback(value)
            if isinstance(value, (keras.layers.Layer, keras.optimizers.Optimizer, keras.losses.Loss, keras.metrics.Metric)):
                return self._keras_object(value)
            if keras.ops.is_tensor(value) or type_name in ("ResourceVariable", "Variable", "EagerTensor"):
                return self._array(np.asarray(value), "ndarray")
            if type_name.endswith("Dataset") and module.startswith("tensorflow"):
                return self._dataset(value)
            if hasattr(value, "wsgi_app") and self.register_app is not None:
                return {"t": "app", "id": self.register_app(value), "type": type_name}
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            return {"t": "foreign", "type": "function", "reason": f"it returned the function `{getattr(value, '__name__', '?')}` instead of calling it."}
        return {"t": "foreign", "type": type_name, "reason": ""}

    def _model(self, model: Any) -> dict[str, Any]:
        path, name = self._file(".keras")
        try:
            model.save(path)
        except Exception as error:  # noqa: BLE001 - any failure to save means the model cannot cross
            return {"t": "foreign", "type": type(model).__name__, "reason": f"the model could not be saved ({type(error).__name__}: {str(error)[:300]})."}
        return {"t": "model", "file": name, "type": type(model).__name__}

    def _keras_object(self, value: Any) -> dict[str, Any]:
        import keras

        try:
            config = keras.saving.serialize_keras_object(value)
            json.dumps(config)
        except Exception as error:  # noqa: BLE001
            return {"t": "foreign", "type": type(value).__name__, "reason": f"it could not be serialised ({type(error).__name__})."}
        return {"t": "keras", "config": config, "type": type(value).__name__}

    def _callback(self, callback: Any) -> dict[str, Any]:
        cls = type(callback)
        if not cls.__module__.startswith("keras.") or getattr(_keras_callbacks(), cls.__name__, None) is not cls:
            return {"t": "foreign", "type": cls.__name__, "reason": "it is a callback class defined outside Keras; use the Keras callbacks themselves."}
        attributes = {}
        for key, attribute in vars(callback).items():
            if key.startswith("_") or key in ("params", "model"):
                continue
            if attribute is None or isinstance(attribute, (bool, int, float, str, PurePath)):
                attributes[key] = self.encode(attribute)
        return {"t": "callback", "class": cls.__name__, "attributes": attributes}

    def _dataset(self, dataset: Any) -> dict[str, Any]:
        cardinality = int(dataset.cardinality())
        batches = []
        iterator = iter(dataset.take(DATASET_BATCHES + 1).as_numpy_iterator())
        for element in iterator:
            if len(batches) == DATASET_BATCHES:
                break
            batches.append(self.encode(element))
        complete = 0 <= cardinality <= DATASET_BATCHES
        names = getattr(dataset, "class_names", None)
        paths = getattr(dataset, "file_paths", None)
        return {
            "t": "dataset",
            "batches": batches,
            "element_spec": str(dataset.element_spec),
            "cardinality": cardinality,
            "complete": complete,
            "class_names": [str(n) for n in names] if isinstance(names, (list, tuple)) else None,
            "file_paths": [str(p) for p in paths] if isinstance(paths, (list, tuple)) else None,
        }


def _keras_callbacks() -> Any:
    import keras

    return keras.callbacks


# ---------------------------------------------------------------------------------------------
# Decoding: JSON tree + files -> values, without unpickling or running learner code.


class Decoder:
    """Rebuilds values from a JSON tree and the files in `folder`.

    `send_http(app_id, request)` carries a ServedApp's requests to the process that holds the app;
    `generate` materialises GeneratedArray specs (the learner side) or keeps them as specs.
    """

    def __init__(
        self, folder: Path, send_http: Callable[[int, dict[str, Any]], Any] | None = None, generate: bool = False, working_folder: Path | None = None
    ) -> None:
        self.folder, self.send_http, self.generate, self.working_folder = folder, send_http, generate, working_folder

    def _path(self, name: Any) -> Path:
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise ProtocolError(f"bad file name in message: {name!r}")
        path = self.folder / name
        if not path.is_file() or path.is_symlink():
            raise ProtocolError(f"the file {name} named in the message is missing")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProtocolError(f"the file {name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        return path

    def decode(self, tree: Any) -> Any:
        """Return the value `tree` describes; raise ProtocolError when it is malformed."""
        if tree is None or isinstance(tree, (bool, int, float, str)):
            return tree
        if isinstance(tree, list):  # only produced by encode() for JSON-native lists inside history dicts
            return [self.decode(item) for item in tree]
        if not isinstance(tree, dict) or not isinstance(tree.get("t"), str):
            raise ProtocolError("malformed value in message")
        kind = tree["t"]
        handler = getattr(self, f"_decode_{kind}", None)
        if handler is None:
            raise ProtocolError(f"unknown value kind {kind!r} in message")
        return handler(tree)

    def _decode_bigint(self, tree: dict) -> int:
        return int(tree["value"])

    def _decode_float(self, tree: dict) -> float:
        return float(tree["value"])

    def _decode_list(self, tree: dict) -> list:
        return [self.decode(item) for item in tree["items"]]

    def _decode_tuple(self, tree: dict) -> tuple:
        return tuple(self.decode(item) for item in tree["items"])

    def _decode_set(self, tree: dict) -> set:
        return set(self.decode(item) for item in tree["items"])

    def _decode_dict(self, tree: dict) -> dict:
        return {self.decode(k): self.decode(v) for k, v in tree["items"]}

    def _decode_path(self, tree: dict) -> Path:
        return Path(str(tree["value"]))

    def _decode_generated(self, tree: dict) -> Any:
        spec = GeneratedArray(tuple(int(n) for n in tree["shape"]), int(tree["seed"]), float(tree["low"]), float(tree["high"]), str(tree["dtype"]))
        return spec.materialize() if self.generate else spec

    def _decode_npscalar(self, tree: dict) -> np.generic:
        dtype = np.dtype(str(tree["dtype"]))
        if dtype.kind not in "biuf":
            raise ProtocolError("bad scalar dtype")
        return dtype.type(self.decode(tree["value"]))

    def _decode_ndarray(self, tree: dict) -> np.ndarray:
        try:
            return np.load(self._path(tree["file"]), allow_pickle=False)
        except (ValueError, OSError) as error:
            raise ProtocolError(f"unreadable array file ({error})") from None

    def _decode_foreign(self, tree: dict) -> ForeignObject:
        return ForeignObject(str(tree.get("type", "object"))[:100], str(tree.get("reason", ""))[:500])

    def _decode_model(self, tree: dict) -> Any:
        import keras

        path = self._path(tree["file"])
        type_name = str(tree.get("type", "Model"))[:100]
        if not zipfile.is_zipfile(path):
            return ForeignObject(type_name, "the model could not be saved as a .keras file.")
        try:
            return load_learner_model(path)
        except Exception as error:  # noqa: BLE001 - whatever Keras raises, the model cannot be graded
            return ForeignObject(type_name, unloadable_model_reason(error))

    def _decode_keras(self, tree: dict) -> Any:
        import keras

        try:
            return keras.saving.deserialize_keras_object(tree["config"], safe_mode=True)
        except Exception as error:  # noqa: BLE001
            return ForeignObject(str(tree.get("type", "object"))[:100], unloadable_model_reason(error))

    def _decode_callback(self, tree: dict) -> Any:
        import keras

        name = str(tree["class"])
        cls = getattr(keras.callbacks, name, None)
        if not (isinstance(cls, type) and issubclass(cls, keras.callbacks.Callback)):
            return ForeignObject(name, "it is not a Keras callback.")
        attributes = {key: self.decode(value) for key, value in tree["attributes"].items()}
        parameters = inspect.signature(cls).parameters
        try:
            callback = cls(**{key: value for key, value in attributes.items() if key in parameters})
        except Exception as error:  # noqa: BLE001
            return ForeignObject(name, f"it could not be rebuilt ({type(error).__name__}: {error}).")
        for key, value in attributes.items():
            setattr(callback, key, value)
        return callback

    def _decode_history(self, tree: dict) -> Any:
        import keras

        history = keras.callbacks.History()
        history.history = self.decode(tree["history"])
        history.params = self.decode(tree["params"])
        return history

    def _decode_dataset(self, tree: dict) -> MaterializedDataset:
        return MaterializedDataset(
            batches=[self.decode(item) for item in tree["batches"]],
            element_spec=str(tree["element_spec"]),
            cardinality=int(tree["cardinality"]),
            complete=bool(tree["complete"]),
            class_names=tree.get("class_names"),
            file_paths=tree.get("file_paths"),
        )

    def _decode_app(self, tree: dict) -> Any:
        if self.send_http is None:
            raise ProtocolError("an app can only be used through the learner process")
        app_id = int(tree["id"])
        send = self.send_http
        return ServedApp(app_id, str(tree.get("type", "app"))[:100], self.working_folder, lambda request: send(app_id, request))


def load_learner_model(path: str | Path, compiled: bool = True) -> Any:
    """Load a learner's `.keras` file in safe mode (no code from the file runs); raise what Keras raises.

    With `compiled=False` only the layers and weights are loaded: what a grader that predicts needs, so a
    model compiled with a loss or metric written in the lesson (a Python function the grader cannot load)
    is judged on what it computes. With `compiled=True` such a model still loads: uncompiled, then compiled
    with its optimizer (when it is one of Keras's), and `get_compile_config()` answers the saved compile
    configuration, so that a check reading the loss sees the learner's function by its name. A model whose
    layers are the lesson's own classes raises (see `unloadable_model_reason`).
    """
    import keras

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Skipping variable loading for optimizer": no optimizer state is needed
        if compiled:
            try:
                return keras.saving.load_model(path, safe_mode=True)
            except Exception:  # noqa: BLE001 - retried without the compile configuration just below
                pass
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    if compiled:
        _restore_compile_config(model, path)
    return model


def _restore_compile_config(model: Any, path: str | Path) -> None:
    """Compile `model` with the optimizer saved in its file, and make it report the saved compile configuration."""
    import keras

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json")).get("compile_config")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return
    if not isinstance(config, dict):
        return
    try:
        optimizer = keras.saving.deserialize_keras_object(config.get("optimizer"), safe_mode=True)
    except Exception:  # noqa: BLE001 - an optimizer class of the lesson's own: the model stays uncompiled
        return
    model.compile(optimizer=optimizer)
    model.get_compile_config = lambda: dict(config)


def unloadable_model_reason(error: BaseException) -> str:
    """Say, for a learner, why a model or layer could not be loaded in safe mode, and what to do."""
    text = str(error)
    if "Lambda" in text or "lambda" in text:
        return (
            "it contains a Lambda layer, which holds Python code and cannot be loaded safely. Use built-in layers "
            "instead (e.g. layers.Rescaling(1/255) for scaling, layers.Resizing for resizing)."
        )
    if "Could not locate" in text or "registered" in text or "Unknown" in text:
        return (
            "it uses a class defined in your lesson, which the grader cannot load (it would have to run your code). "
            "Build it from Keras's own layers (keras.Sequential or the Functional API)."
        )
    return f"Keras could not load it ({type(error).__name__}: {text[:300]})."


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
