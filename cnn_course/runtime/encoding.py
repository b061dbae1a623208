"""Encoding, in the process that holds a value: any value -> a JSON tree plus files in one folder per call
(see `cnn_course.runtime.protocol` for what each kind of value becomes)."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from cnn_course.runtime.protocol import DATASET_BATCHES, GeneratedArray


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
            kind = {list: "list", tuple: "tuple"}.get(
                type(value), "set" if isinstance(value, (set, frozenset)) else None
            )
            if kind is None:  # a namedtuple or list subclass: keep the data, lose the type
                kind = "tuple" if isinstance(value, tuple) else "list"
            return {"t": kind, "items": [self.encode(item) for item in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, PurePath):
            return {"t": "path", "value": str(value)}
        if isinstance(value, GeneratedArray):
            return {
                "t": "generated",
                "shape": list(value.shape),
                "seed": value.seed,
                "low": value.low,
                "high": value.high,
                "dtype": value.dtype,
            }
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {"t": "npscalar", "dtype": value.dtype.str, "value": self.encode(value.item())}
        if isinstance(value, np.ndarray):
            return self._array(value, "ndarray")
        return self._library_value(value)

    def _array(self, array: np.ndarray, kind: str) -> dict[str, Any]:
        if array.dtype.hasobject:
            return {
                "t": "foreign",
                "type": "ndarray of Python objects",
                "reason": "an array of dtype=object cannot be read safely: use a numeric dtype.",
            }
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
                return {
                    "t": "history",
                    "history": self.encode(value.history),
                    "params": self.encode(value.params or {}),
                }
            if isinstance(value, keras.callbacks.Callback):
                return self._callback(value)
            if isinstance(
                value, (keras.layers.Layer, keras.optimizers.Optimizer, keras.losses.Loss, keras.metrics.Metric)
            ):
                return self._keras_object(value)
            if keras.ops.is_tensor(value) or type_name in ("ResourceVariable", "Variable", "EagerTensor"):
                return self._array(np.asarray(value), "ndarray")
            if type_name.endswith("Dataset") and module.startswith("tensorflow"):
                return self._dataset(value)
            if hasattr(value, "wsgi_app") and self.register_app is not None:
                return {"t": "app", "id": self.register_app(value), "type": type_name}
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            return {
                "t": "foreign",
                "type": "function",
                "reason": f"it returned the function `{getattr(value, '__name__', '?')}` instead of calling it.",
            }
        return {"t": "foreign", "type": type_name, "reason": ""}

    def _model(self, model: Any) -> dict[str, Any]:
        path, name = self._file(".keras")
        try:
            model.save(path)
        except Exception as error:  # noqa: BLE001 - any failure to save means the model cannot cross
            return {
                "t": "foreign",
                "type": type(model).__name__,
                "reason": f"the model could not be saved ({type(error).__name__}: {str(error)[:300]}).",
            }
        return {"t": "model", "file": name, "type": type(model).__name__}

    def _keras_object(self, value: Any) -> dict[str, Any]:
        import keras

        try:
            config = keras.saving.serialize_keras_object(value)
            json.dumps(config)
        except Exception as error:  # noqa: BLE001
            return {
                "t": "foreign",
                "type": type(value).__name__,
                "reason": f"it could not be serialised ({type(error).__name__}).",
            }
        return {"t": "keras", "config": config, "type": type(value).__name__}

    def _callback(self, callback: Any) -> dict[str, Any]:
        cls = type(callback)
        if not cls.__module__.startswith("keras.") or getattr(_keras_callbacks(), cls.__name__, None) is not cls:
            return {
                "t": "foreign",
                "type": cls.__name__,
                "reason": "it is a callback class defined outside Keras; use the Keras callbacks themselves.",
            }
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
