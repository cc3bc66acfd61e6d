"""One data-set job: which method, on which model, with which arguments, for one batch.

The same :class:`ExplainJob` runs in the kernel (local engine) and inside each Ray actor
(Ray engine), so both engines compute every image the same way. A model is never pickled
to a worker: the job carries a zero-argument loader and each worker calls it once.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .. import methods as _methods
from ..model import get_adapter

Loader = Callable[[], keras.Model]


def resolve_method(method: str | Callable[..., np.ndarray]) -> tuple[str, Callable[..., Any]]:
    """The name and function of ``method``: a name of :mod:`interpret_widgets.methods` or a
    callable ``(model, x, target=..., **kwargs) -> map``.

    Raises
    ------
    ValueError
        If the name is not a map-producing method of :mod:`interpret_widgets.methods`.
    TypeError
        If ``method`` is neither a string nor callable.
    """
    if callable(method):
        return getattr(method, "__name__", "custom"), method
    if not isinstance(method, str):
        raise TypeError(f"method must be a method name or a callable, got {type(method).__name__}")
    function = getattr(_methods, method, None)
    if function is None or not _explains_images(function):
        names = sorted(n for n in _methods.__all__ if _explains_images(getattr(_methods, n)))
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(names)}")
    return method, function


def _explains_images(function: Any) -> bool:
    """Whether ``function`` is a per-image map method: ``(model, x, …, target=…)``."""
    if not inspect.isfunction(function):
        return False
    params = list(inspect.signature(function).parameters)
    return params[:2] == ["model", "x"] and "target" in params and function.__name__ not in (
        "ablate", "deletion_curve", "insertion_curve", "activations", "lrp_report")


def model_loader(model: keras.Model | Loader, folder: Path | None) -> Loader:
    """A zero-argument loader for ``model``.

    A loader is returned as it is. A model object is saved once as a ``.keras`` file (in
    ``folder`` or a temporary folder) and loaded from there by each worker; the file must be
    reachable by the workers (it is on a single machine; on a cluster pass a loader).
    """
    if isinstance(model, keras.Model):
        target = Path(folder or tempfile.mkdtemp(prefix="iw-model-")) / "model.keras"
        model.save(target)
        path = str(target)
        return lambda: keras.models.load_model(path, compile=False)
    if callable(model):
        return model
    raise TypeError(
        f"model must be a keras.Model or a zero-argument function that loads one, got "
        f"{type(model).__name__}"
    )


class ExplainJob:
    """Explains batches of images with one method; holds the model once per process."""

    def __init__(
        self,
        model: keras.Model | Loader,
        method: str | Callable[..., Any],
        method_kwargs: Mapping[str, Any],
    ) -> None:
        self._model = model if isinstance(model, keras.Model) else None
        self._loader = None if self._model is not None else model
        self.method_name, self._method = resolve_method(method)
        self.method_kwargs = dict(method_kwargs)

    @property
    def model(self) -> keras.Model:
        if self._model is None:
            self._model = self._loader()
        return self._model

    def __call__(self, images: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
        """Maps, predictions, targets and scores of one batch.

        The target is the label where labels are given, else the predicted class; the score
        is the target's pre-softmax score.
        """
        adapter = get_adapter(self.model)
        batch = adapter.check_input(images)
        logits = adapter.logits(batch)
        predictions = np.argmax(logits, axis=-1).astype(np.int64)
        targets = predictions if labels is None else np.asarray(labels, dtype=np.int64)
        target = targets.astype(np.int32)
        maps = self._method(self.model, batch, target=target, **self.method_kwargs)
        return {
            "maps": np.asarray(maps, dtype=np.float32),
            "predictions": predictions,
            "targets": targets,
            "scores": logits[np.arange(len(batch)), targets].astype(np.float32),
        }
