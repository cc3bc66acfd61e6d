"""One adapter per user model: layer lookup, the pre-softmax score head, compiled probes.

The adapter reads the model and never writes to it. Everything it holds is derived from the
model (the flat graph, the compiled probes) and can be dropped at any time with
:func:`clear_adapters` without changing a single result.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import keras
import numpy as np

from . import backend
from .graph import FlatGraph, LayerEntry, flatten_model, run_graph
from .inputs import as_batch, as_targets
from .kinds import applies_softmax, layer_kind
from .scores import softmax

_ADAPTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_adapter(model: keras.Model) -> ModelAdapter:
    """The cached adapter of ``model`` (built on first use).

    Raises
    ------
    TypeError
        If ``model`` is not a Keras model.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a built keras.Model, got {type(model).__name__}")
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = ModelAdapter(model)
        _ADAPTERS[model] = adapter
    return adapter


def clear_adapters() -> None:
    """Drop every cached adapter (and the compiled functions they hold)."""
    _ADAPTERS.clear()


class ModelAdapter:
    """Read-only view of a Keras model for the methods.

    Holds the flattened graph (nested models expanded), the table of layers, the score
    head, and compiled probes keyed by what they capture.
    """

    def __init__(self, model: keras.Model) -> None:
        self._model_ref = weakref.ref(model)
        self.name: str = model.name
        self.graph: FlatGraph = flatten_model(model)
        self.layers: list[LayerEntry] = [e for e in self.graph.entries if e.kind != "input"]
        self._names = _unique_names(self.layers)
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs:
            raise ValueError(f"model {model.name!r} has no defined inputs; build it first")
        if len(inputs) != 1:
            raise ValueError(
                f"model {model.name!r} has {len(inputs)} inputs; interpret_widgets explains "
                "single-input models"
            )
        self.input_shape: tuple = tuple(inputs[0].shape)
        self.input_dtype: str = str(inputs[0].dtype)
        self._score: tuple[int, dict[int, Callable[..., Any]]] | None = None
        self._probes: dict[tuple, Callable[..., Any]] = {}

    # -- layers ---------------------------------------------------------------------------
    def name_of(self, entry: LayerEntry) -> str:
        """The name under which ``entry`` is reported (qualified only where names clash)."""
        return self._names[id(entry)]

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per layer: name, kind, output shape, channel count, enclosing models."""
        return [
            {
                "name": self.name_of(e),
                "kind": e.kind,
                "output_shape": e.output_shape,
                "channels": e.channels,
                "path": "/".join(e.path),
            }
            for e in self.layers
        ]

    def layer_names(self) -> list[str]:
        return [self.name_of(e) for e in self.layers]

    def resolve_layer(self, layer: str | Any) -> LayerEntry:
        """The entry for a layer name, qualified name (``outer/inner``) or layer object.

        Raises
        ------
        ValueError
            If no layer of the model matches; the message lists the closest names.
        TypeError
            If ``layer`` is neither a string nor a layer.
        """
        if isinstance(layer, str):
            for entry in self.layers:
                if layer in (self.name_of(entry), entry.qualified_name):
                    return entry
            for entry in self.layers:
                if entry.name == layer:
                    return entry
            close = difflib.get_close_matches(layer, self.layer_names(), n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"model {self.name!r} has no layer named {layer!r}{hint}")
        if isinstance(layer, (keras.layers.Layer, keras.Operation)):
            for entry in self.layers:
                if entry.layer is layer:
                    return entry
            raise ValueError(
                f"layer {getattr(layer, 'name', layer)!r} is not part of model {self.name!r}"
            )
        raise TypeError(f"layer must be a layer name or a keras layer, got {type(layer).__name__}")

    def spatial_layers(self) -> list[LayerEntry]:
        """Layers with 4-D outputs ``(N, h, w, k)``, in execution order."""
        return [e for e in self.layers if len(e.output_shape) == 4]

    def cam_layer(self, layer: str | Any | None) -> LayerEntry:
        """The layer a CAM method uses: the given one, or the default CAM layer.

        The default is the last layer whose output is 4-D ``(N, h, w, k)`` with more than one
        spatial position (h·w > 1, or unknown). A pooled ``(N, 1, 1, k)`` head, such as
        MobileNetV3's ``GlobalAveragePooling2D(keepdims=True)`` followed by 1×1 convolutions,
        would make every map a single flat value, so it is passed over; such a layer is still
        used when asked for by name.

        Raises
        ------
        ValueError
            If the layer has no spatial axes, or the model has no 4-D layer with h·w > 1.
        """
        if layer is None:
            candidates = [
                e for e in self.spatial_layers() if e.kind != "model" and _has_positions(e)
            ]
            if not candidates:
                raise ValueError(
                    f"model {self.name!r} has no layer with a 4-D (N, h, w, k) output of more "
                    "than one spatial position; CAM methods need a convolutional layer"
                )
            return candidates[-1]
        entry = self.resolve_layer(layer)
        if len(entry.output_shape) != 4:
            names = [self.name_of(e) for e in self.spatial_layers()][-3:]
            raise ValueError(
                f"layer {self.name_of(entry)!r} has output shape {entry.output_shape} with no "
                f"spatial axes; CAM methods need a 4-D (N, h, w, k) layer such as "
                f"{', '.join(map(repr, names)) or 'a convolution'}"
            )
        return entry

    # -- inputs and the score head ---------------------------------------------------------
    def check_input(self, x: object) -> np.ndarray:
        """``x`` validated against the model's input (see :func:`as_batch`)."""
        return as_batch(x, self.input_shape, self.name)

    @property
    def num_classes(self) -> int:
        shape = self._output_entry_shape()
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"model {self.name!r} has output shape {shape}; class scores need a "
                "(N, classes) output"
            )
        return int(shape[-1])

    def _output_entry_shape(self) -> tuple:
        if len(self.graph.output_keys) != 1:
            raise ValueError(
                f"model {self.name!r} has {len(self.graph.output_keys)} outputs; "
                "class scores need a single (N, classes) output"
            )
        model = self._model_ref()
        return tuple(model.outputs[0].shape) if model is not None and model.outputs else ()

    def check_targets(self, target: object, n: int) -> np.ndarray:
        """Targets as class indices, -1 standing for the top class (see :func:`as_targets`)."""
        return as_targets(target, n, self.num_classes)

    def score_head(self) -> tuple[int, dict[int, Callable[..., Any]]]:
        """Key of the pre-softmax score tensor, and step replacements that expose it.

        Where the last layer is a ``Softmax`` or ``Activation("softmax")`` the score is the
        tensor that goes into it. Where the last layer is a ``Dense`` with a softmax
        activation, its step is replaced (in our execution only) by the same affine map
        without the activation. Otherwise the model's output is the score.
        """
        if self._score is None:
            self._score = self._find_score_head()
        return self._score

    def _find_score_head(self) -> tuple[int, dict[int, Callable[..., Any]]]:
        self._output_entry_shape()
        out_key = self.graph.resolve_alias(self.graph.output_keys[0])
        step = self.graph.producer(out_key)
        layer = step.operation if step is not None else None
        if layer is None or not applies_softmax(layer):
            return self.graph.output_keys[0], {}
        kind = layer_kind(layer)
        if kind in ("softmax", "activation"):
            return step.input_keys[0], {}
        if kind == "dense":
            return self.graph.output_keys[0], {out_key: _dense_logits(layer)}
        raise ValueError(
            f"the last layer {layer.name!r} ({type(layer).__name__}) applies softmax inside "
            "itself and its pre-softmax value cannot be formed; end the model with a Dense "
            "layer, a Softmax layer or Activation('softmax')"
        )

    # -- compiled probes ---------------------------------------------------------------
    def _probe(self, key: tuple, make: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
        probe = self._probes.get(key)
        if probe is None:
            probe = backend.compile_function(make())
            self._probes[key] = probe
        return probe

    def run(self, x: Any, **kwargs: Any) -> dict[int, Any]:
        """Execute the flat graph on tensor ``x`` (inference mode); see :func:`run_graph`."""
        return run_graph(self.graph, [x], **kwargs)

    def activations(self, x: np.ndarray, entries: Iterable[LayerEntry]) -> dict[str, np.ndarray]:
        """Outputs of ``entries`` for batch ``x`` from one forward pass."""
        entries = list(entries)
        keys = tuple(e.output_key for e in entries)

        def make() -> Callable[..., Any]:
            def forward(inputs: Any) -> list[Any]:
                values = self.run(inputs, stop_after=max(keys) if keys else None)
                return [values[k] for k in keys]

            return forward

        outputs = self._probe(("activations", keys), make)(self._tensor(x))
        return {self.name_of(e): backend.to_numpy(t) for e, t in zip(entries, outputs, strict=True)}

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Pre-softmax class scores ``(N, classes)``."""
        score_key, replace = self.score_head()

        def make() -> Callable[..., Any]:
            def forward(inputs: Any) -> Any:
                return self.run(inputs, replace=replace)[score_key]

            return forward

        return backend.to_numpy(self._probe(("logits",), make)(self._tensor(x)))

    def input_gradients(
        self,
        x: np.ndarray,
        targets: np.ndarray,
        replace: Callable[[], dict[int, Callable[..., Any]]] | None = None,
        probe: str = "input_gradients",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, gradients of each sample's target score w.r.t. its input, and targets.

        ``replace`` builds extra step replacements (see :func:`run_graph`), merged under the
        score head's, for a probe compiled once under the name ``probe`` (guided
        backpropagation substitutes its ReLUs this way); one name, one set of replacements.
        """
        score_key, head = self.score_head()

        def make() -> Callable[..., Any]:
            steps = head if replace is None else {**replace(), **head}

            def forward_backward(inputs: Any, classes: Any) -> tuple[Any, Any, Any]:
                with backend.gradient_tape() as tape:
                    tape.watch(inputs)
                    logits = self.run(inputs, replace=steps)[score_key]
                    classes = backend.select_targets(logits, classes)
                    scores = backend.gather_rows(logits, classes)
                return scores, tape.gradient(scores, inputs), classes

            return forward_backward

        function = self._probe((probe,), make)
        scores, grads, classes = function(self._tensor(x), backend.to_tensor(targets, "int32"))
        return backend.to_numpy(scores), backend.to_numpy(grads), classes.numpy()

    def layer_gradients(
        self, x: np.ndarray, targets: np.ndarray, entry: LayerEntry
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Scores, the layer's activations, their score gradients, and the targets.

        The tape watches only the layer's output, so the backward pass stops there.
        """
        score_key, replace = self.score_head()
        layer_key = entry.output_key

        def make() -> Callable[..., Any]:
            def forward_backward(inputs: Any, classes: Any) -> tuple[Any, ...]:
                with backend.gradient_tape() as tape:

                    def watch(key: int, tensor: Any) -> Any:
                        if key == layer_key:
                            tape.watch(tensor)
                        return tensor

                    values = self.run(inputs, on_output=watch, replace=replace)
                    logits = values[score_key]
                    classes = backend.select_targets(logits, classes)
                    scores = backend.gather_rows(logits, classes)
                activation = values[layer_key]
                return scores, activation, tape.gradient(scores, activation), classes

            return forward_backward

        probe = self._probe(("layer_gradients", layer_key), make)
        scores, acts, grads, classes = probe(self._tensor(x), backend.to_tensor(targets, "int32"))
        return (
            backend.to_numpy(scores),
            backend.to_numpy(acts),
            backend.to_numpy(grads),
            classes.numpy(),
        )

    def _tensor(self, x: np.ndarray) -> Any:
        return backend.to_tensor(x, self.input_dtype)

    # -- accessors for views (widgets use only these and the public methods above) ------
    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, classes)``, float64: the softmax of :meth:`logits`.

        Computed from the pre-softmax scores (numerically stable), so a model whose softmax
        sits inside its last Dense layer gives the same numbers as its own output.
        """
        return softmax(self.logits(x))

    def spatial_layer_names(self) -> list[str]:
        """Names of the layers with 4-D outputs, nested models themselves left out.

        The list that a view offers for a layer choice (CAM layer, activation layer).
        """
        return [self.name_of(e) for e in self.spatial_layers() if e.kind != "model"]

    # -- weights for display ---------------------------------------------------------------
    def kernel_layer(self, layer: str | Any) -> str | None:
        """Name of the 2-D convolution producing ``layer``, or the nearest one before it.

        Views of a ReLU or pooling layer show the kernels of the convolution that feeds it;
        ``None`` where no plain convolution (kind ``"conv"`` with a 4-D output) precedes it.

        Raises
        ------
        ValueError, TypeError
            As :meth:`resolve_layer`, if ``layer`` is not a layer of the model.
        """
        entry = self.resolve_layer(layer)
        position = next(i for i, e in enumerate(self.layers) if e is entry)
        for candidate in reversed(self.layers[: position + 1]):
            if candidate.kind == "conv" and len(candidate.output_shape) == 4:
                return self.name_of(candidate)
        return None

    def kernels(self, layer: str | Any) -> np.ndarray:
        """A float32 copy of a 2-D convolution's kernel, ``(kh, kw, c_in, c_out)``.

        A copy, so that a view can never write into the model's weights.

        Raises
        ------
        ValueError
            If ``layer`` is not a plain 2-D convolution (see :meth:`kernel_layer`), or not a
            layer of the model.
        """
        entry = self.resolve_layer(layer)
        if entry.kind != "conv" or len(entry.output_shape) != 4:
            raise ValueError(
                f"layer {self.name_of(entry)!r} is a {entry.kind!r} layer with output shape "
                f"{entry.output_shape}; kernels are read from a 2-D convolution"
            )
        return np.array(backend.to_numpy(entry.layer.kernel), dtype=np.float32, copy=True)


def _dense_logits(layer: keras.layers.Dense) -> Callable[[Any], Any]:
    """The affine part of a Dense layer, reading the layer's own variables."""

    def logits(inputs: Any, **_: Any) -> Any:
        z = keras.ops.matmul(inputs, layer.kernel)
        if layer.use_bias:
            z = keras.ops.add(z, layer.bias)
        return z

    return logits


def _has_positions(entry: LayerEntry) -> bool:
    """Whether a 4-D output ``(N, h, w, k)`` may have h·w > 1 (unknown sizes count as yes)."""
    h, w = entry.output_shape[1:3]
    return h is None or w is None or h * w > 1


def _unique_names(entries: list[LayerEntry]) -> dict[int, str]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.name] = counts.get(entry.name, 0) + 1
    return {id(e): e.name if counts[e.name] == 1 else e.qualified_name for e in entries}
