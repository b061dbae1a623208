"""Decoding, in the process that receives a value: a JSON tree plus files -> values, without unpickling, without
importing a module the learner named, and without running learner code; and loading a learner's saved model."""

from __future__ import annotations

import inspect
import json
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnn_course.runtime.protocol import (
    MAX_FILE_BYTES,
    ForeignObject,
    GeneratedArray,
    MaterializedDataset,
    ProtocolError,
    ServedApp,
)


class Decoder:
    """Rebuilds values from a JSON tree and the files in `folder`.

    `send_http(app_id, request)` carries a ServedApp's requests to the process that holds the app;
    `generate` materialises GeneratedArray specs (the learner side) or keeps them as specs.
    """

    def __init__(
        self,
        folder: Path,
        send_http: Callable[[int, dict[str, Any]], Any] | None = None,
        generate: bool = False,
        working_folder: Path | None = None,
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
        spec = GeneratedArray(
            tuple(int(n) for n in tree["shape"]),
            int(tree["seed"]),
            float(tree["low"]),
            float(tree["high"]),
            str(tree["dtype"]),
        )
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
        return ServedApp(
            app_id, str(tree.get("type", "app"))[:100], self.working_folder, lambda request: send(app_id, request)
        )


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
