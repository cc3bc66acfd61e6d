"""A flat, executable view of a Keras model's graph, nested models expanded.

Keras 3 runs a nested model (an application inside a Sequential) as one opaque step, so the
layers inside it have no tensors connected to the outer inputs. We walk the functional graphs
once, expanding every nested functional or Sequential model in place, and keep a list of
steps ``(operation, argument template, output keys)`` in topological order. Executing the
list on real tensors calls each layer as ``model.predict`` does (inference mode), but lets the
probes read or watch any intermediate tensor. Nothing is added to the model: walking reads
the existing nodes, and eager or traced calls on real tensors create no new ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import keras
from keras import tree

from .kinds import layer_kind


@dataclass(frozen=True)
class Ref:
    """A placeholder for the tensor with key ``key`` in an argument template."""

    key: int


@dataclass
class Step:
    """One call in the flattened graph.

    ``operation`` is ``None`` for an alias step that only renames tensors (the boundary of
    an expanded nested model: its inputs and outputs).
    """

    operation: Any
    args: tuple
    kwargs: dict
    outputs: tuple[int, ...]
    path: tuple[str, ...] = ()

    @property
    def input_keys(self) -> tuple[int, ...]:
        refs = [leaf for leaf in tree.flatten((self.args, self.kwargs)) if isinstance(leaf, Ref)]
        return tuple(ref.key for ref in refs)


@dataclass(frozen=True)
class LayerEntry:
    """A layer (or nested model) of the flattened graph and the tensor key of its output."""

    name: str
    layer: Any
    kind: str
    output_key: int
    output_shape: tuple
    path: tuple[str, ...]

    @property
    def channels(self) -> int | None:
        """Size of the last axis, where the output has one."""
        return self.output_shape[-1] if len(self.output_shape) >= 2 else None

    @property
    def qualified_name(self) -> str:
        return "/".join((*self.path, self.name))


@dataclass
class FlatGraph:
    """Steps in execution order, the model's input and output keys, and the layer entries."""

    steps: list[Step]
    input_keys: tuple[int, ...]
    output_keys: tuple[int, ...]
    entries: list[LayerEntry] = field(default_factory=list)

    def producer(self, key: int) -> Step | None:
        """The step that outputs ``key`` (``None`` for a model input)."""
        return self._producers.get(key)

    def __post_init__(self) -> None:
        self._producers = {k: s for s in self.steps for k in s.outputs}

    def consumers(self, key: int) -> list[Step]:
        """The steps that read ``key``."""
        return [s for s in self.steps if key in s.input_keys]

    def resolve_alias(self, key: int) -> int:
        """Follow alias steps back to the key of the tensor a real operation produced."""
        step = self.producer(key)
        while step is not None and step.operation is None:
            key = step.input_keys[step.outputs.index(key)]
            step = self.producer(key)
        return key


class _Builder:
    def __init__(self) -> None:
        self._counter = itertools.count()
        self.steps: list[Step] = []
        self.entries: list[LayerEntry] = []

    def new_key(self) -> int:
        return next(self._counter)

    def expand(self, model: keras.Model, input_keys: list[int], path: tuple[str, ...]) -> list[int]:
        """Append the steps of ``model`` fed by ``input_keys``; return its output keys."""
        functional = _functional_of(model)
        if functional is None:
            return self._expand_chain(model, input_keys, path)
        inputs = tree.flatten(functional.inputs)
        if len(inputs) != len(input_keys):
            raise ValueError(
                f"model {model.name!r} expects {len(inputs)} inputs, got {len(input_keys)}"
            )
        # Alias step: the nested model's own input tensors get keys of their own.
        own_keys = [self.new_key() for _ in inputs]
        self.steps.append(Step(None, tuple(Ref(k) for k in input_keys), {}, tuple(own_keys), path))
        key_of = {id(t): k for t, k in zip(inputs, own_keys, strict=True)}
        for node in _nodes_in_order(functional):
            self._add_node(node, key_of, path)
        return [key_of[id(t)] for t in tree.flatten(functional.outputs)]

    def _expand_chain(
        self, model: keras.Model, input_keys: list[int], path: tuple[str, ...]
    ) -> list[int]:
        if not isinstance(model, keras.Sequential):
            return self._add_opaque(model, input_keys, path)
        keys = input_keys
        for layer in model.layers:
            keys = self._add_call(layer, (Ref(keys[0]),), {}, None, path)
        return keys

    def _add_opaque(self, model: Any, input_keys: list[int], path: tuple[str, ...]) -> list[int]:
        outputs = [self.new_key()]
        self.steps.append(Step(model, tuple(Ref(k) for k in input_keys), {}, tuple(outputs), path))
        self._add_entry(model, outputs[0], path)
        return outputs

    def _add_node(self, node: Any, key_of: dict[int, int], path: tuple[str, ...]) -> None:
        def to_ref(value: Any) -> Any:
            if isinstance(value, keras.KerasTensor):
                return Ref(key_of[id(value)])
            return value

        args = tree.map_structure(to_ref, node.arguments.args)
        kwargs = tree.map_structure(to_ref, node.arguments.kwargs)
        outputs = self._add_call(node.operation, tuple(args), dict(kwargs), node, path)
        for tensor, key in zip(node.outputs, outputs, strict=True):
            key_of[id(tensor)] = key

    def _add_call(
        self, operation: Any, args: tuple, kwargs: dict, node: Any, path: tuple[str, ...]
    ) -> list[int]:
        if isinstance(operation, keras.Model) and _is_graph_model(operation):
            input_keys = [
                leaf.key for leaf in tree.flatten((args, kwargs)) if isinstance(leaf, Ref)
            ]
            outputs = self.expand(operation, input_keys, (*path, operation.name))
            # Alias step: the nested model's outputs, under a key that names the model.
            alias = [self.new_key() for _ in outputs]
            self.steps.append(Step(None, tuple(Ref(k) for k in outputs), {}, tuple(alias), path))
            self._add_entry(operation, alias[0], path)
            return alias
        n_out = len(node.outputs) if node is not None else 1
        outputs = [self.new_key() for _ in range(n_out)]
        self.steps.append(Step(operation, args, kwargs, tuple(outputs), path))
        self._add_entry(operation, outputs[0], path)
        return outputs

    def _add_entry(self, operation: Any, key: int, path: tuple[str, ...]) -> None:
        name = getattr(operation, "name", type(operation).__name__)
        try:
            shape = tuple(operation.output.shape)
        except (AttributeError, ValueError, RuntimeError):
            shape = ()
        kind = layer_kind(operation)
        self.entries.append(LayerEntry(name, operation, kind, key, shape, path))


def _is_graph_model(model: keras.Model) -> bool:
    return _functional_of(model) is not None or isinstance(model, keras.Sequential)


def _functional_of(model: keras.Model) -> Any:
    """The functional graph behind ``model``: itself, a Sequential's inner one, or None."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    if hasattr(model, "_nodes_by_depth"):
        return model
    return None


def _nodes_in_order(functional: Any) -> Iterable[Any]:
    by_depth = functional._nodes_by_depth
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            yield node


def flatten_model(model: keras.Model) -> FlatGraph:
    """Build the flat graph of ``model``.

    Raises
    ------
    ValueError
        If the model is not built (it has no defined inputs).
    """
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built: call it on data or give it an Input first"
        )
    builder = _Builder()
    functional = _functional_of(model)
    if functional is None and not isinstance(model, keras.Sequential):
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) is a subclassed model without a "
            "functional graph; wrap it in a functional or Sequential model"
        )
    n_inputs = len(tree.flatten(functional.inputs)) if functional is not None else 1
    input_keys = [builder.new_key() for _ in range(n_inputs)]
    output_keys = builder.expand(model, input_keys, ())
    return FlatGraph(builder.steps, tuple(input_keys), tuple(output_keys), builder.entries)


def run_graph(
    graph: FlatGraph,
    inputs: list[Any],
    on_output: Callable[[int, Any], Any] | None = None,
    stop_after: int | None = None,
    replace: dict[int, Callable[..., Any]] | None = None,
) -> dict[int, Any]:
    """Execute the flat graph on real tensors and return every tensor by key.

    Every layer that takes a ``training`` argument is called with ``training=False``, also
    where the functional graph recorded ``training=True``: Keras records the *default* of a
    layer's ``call`` there, and augmentation layers (``RandomFlip``, ``RandomRotation``…)
    default to ``True``, so the model's own ``model(x)`` would flip and rotate the image.
    The methods explain the model at inference, as ``model.predict`` runs it.

    ``on_output(key, tensor)`` sees each new tensor and may return a substitute (a probe
    uses it to ``watch`` a tensor in a gradient tape). ``stop_after`` ends the walk once that
    key exists. ``replace`` maps a step's first output key to a callable used instead of the
    step's operation (the pre-softmax head uses it).
    """
    values: dict[int, Any] = dict(zip(graph.input_keys, inputs, strict=True))
    if on_output is not None:
        for key in graph.input_keys:
            values[key] = on_output(key, values[key])
    for step in graph.steps:
        if stop_after is not None and stop_after in values:
            break

        def fill(value: Any) -> Any:
            return values[value.key] if isinstance(value, Ref) else value

        args = tree.map_structure(fill, step.args)
        kwargs = tree.map_structure(fill, step.kwargs)
        if step.operation is None:
            results = list(args)
        else:
            operation = step.operation
            if replace is not None and step.outputs[0] in replace:
                operation = replace[step.outputs[0]]
            elif getattr(operation, "_call_has_training_arg", False):
                kwargs = {**kwargs, "training": False}
            results = tree.flatten(operation(*args, **kwargs))
        for key, tensor in zip(step.outputs, results, strict=True):
            values[key] = on_output(key, tensor) if on_output is not None else tensor
    return values
