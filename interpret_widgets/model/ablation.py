"""The model's flat graph cut at a layer, with a channel mask at the cut: the ablation probe.

Knocking channels out of a layer must not touch the user's model, and toggling channels in
a widget must be fast. The graph is cut once at the layer's output: the *prefix* computes
every tensor that the rest of the graph reads from before the cut (the layer's output and,
in a residual network, the skip tensors that bypass it), the *suffix* runs from those
tensors to the pre-softmax score. At the cut the layer's output is replaced, channel by
channel, by ``where(keep, output, value)``; ``keep`` and ``value`` are tensor arguments, so
both halves are compiled once per layer (and input signature) and a new channel selection
never retraces. Nested models are part of the flat graph, so the cut can be inside one.

The suffix takes a ``rows`` index per mask row: row r ablates ``keep[r]`` on sample
``rows[r]`` of the prefix batch. Many masks over few images (every channel alone, for the
importance of each) then cost one prefix pass and one suffix pass per mask row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from keras import ops

from . import backend
from .adapter import ModelAdapter
from .graph import FlatGraph, LayerEntry, Step, run_graph


class GraphSplit:
    """The flat graph of ``adapter``'s model cut at ``entry``'s output.

    ``boundary(x)`` runs the prefix; ``scores(boundary, rows, keep, value)`` runs the
    suffix with the layer's channels masked. Both are compiled functions cached in the
    adapter (keys ``("ablation_prefix", key)`` and ``("ablation_suffix", key)``).

    Raises
    ------
    ValueError
        If the layer's output has no channel axis (rank < 2 or unknown size).
    """

    def __init__(self, adapter: ModelAdapter, entry: LayerEntry, name: str) -> None:
        if len(entry.output_shape) < 2 or entry.output_shape[-1] is None:
            raise ValueError(
                f"layer {name!r} has output shape {entry.output_shape} with no channel axis; "
                "ablation needs a layer whose output is (N, ..., channels)"
            )
        self.adapter = adapter
        self.entry = entry
        self.channels = int(entry.output_shape[-1])
        self.rank = len(entry.output_shape)
        graph = adapter.graph
        self.score_key, self.replace = adapter.score_head()
        key = entry.output_key
        cut = next((i for i, s in enumerate(graph.steps) if key in s.outputs), -1)
        suffix = _needed(graph.steps[cut + 1 :], [self.score_key])
        before = set(graph.input_keys).union(*(s.outputs for s in graph.steps[: cut + 1]))
        reads = {k for s in suffix for k in s.input_keys} | {key, self.score_key}
        self.boundary_keys = tuple(sorted(k for k in reads if k in before))
        prefix = _needed(graph.steps[: cut + 1], self.boundary_keys)
        self._prefix = FlatGraph(prefix, graph.input_keys, self.boundary_keys)
        self._suffix = FlatGraph(suffix, self.boundary_keys, (self.score_key,))

    def boundary(self, x: np.ndarray) -> list[Any]:
        """The tensors at the cut for the batch ``x`` (kept as tensors for :meth:`scores`)."""

        def make() -> Any:
            def forward(inputs: Any) -> list[Any]:
                values = run_graph(self._prefix, [inputs], replace=self.replace)
                return [values[k] for k in self.boundary_keys]

            return forward

        probe = self.adapter._probe(("ablation_prefix", self.entry.output_key), make)
        return list(probe(self.adapter._tensor(x)))

    def scores(
        self, boundary: list[Any], rows: np.ndarray, keep: np.ndarray, value: float
    ) -> np.ndarray:
        """Pre-softmax scores ``(R, classes)``: row r is sample ``rows[r]`` with the layer's
        channels where ``keep[r]`` is 0 set to ``value`` at every position.

        ``keep`` is ``(R, channels)`` of 0 and 1 (float32).
        """
        key = self.entry.output_key
        shape = (-1,) + (1,) * (self.rank - 2) + (self.channels,)

        def make() -> Any:
            def forward(tensors: list[Any], rows: Any, keep: Any, value: Any) -> Any:
                taken = [ops.take(t, rows, axis=0) for t in tensors]
                mask = ops.reshape(keep, shape) > 0.5

                def at_cut(k: int, tensor: Any) -> Any:
                    if k != key:
                        return tensor
                    return ops.where(mask, tensor, ops.cast(value, tensor.dtype))

                values = run_graph(self._suffix, taken, on_output=at_cut, replace=self.replace)
                return values[self.score_key]

            return forward

        probe = self.adapter._probe(("ablation_suffix", key), make)
        logits = probe(
            boundary,
            backend.to_tensor(np.asarray(rows), "int32"),
            backend.to_tensor(np.asarray(keep, dtype=np.float32)),
            backend.to_tensor(np.float32(value)),
        )
        return backend.to_numpy(logits)

    def masked_layer_gradients(
        self, x: np.ndarray, keep: np.ndarray, value: float, targets: np.ndarray,
        entry: LayerEntry,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Activations of ``entry`` and their target-score gradients, channels masked.

        The whole flat graph runs with the cut layer's channels where ``keep`` (``(N,
        channels)`` of 0 and 1) is 0 set to ``value``, as :meth:`scores` does; the tape
        watches ``entry``'s output (after the mask, when it is the cut layer itself).
        Compiled once per (cut layer, watched layer). Returns activations, gradients and
        the targets used (negative targets become the masked model's top class).
        """
        cut, watched = self.entry.output_key, entry.output_key
        shape = (-1,) + (1,) * (self.rank - 2) + (self.channels,)

        def make() -> Any:
            def forward_backward(inputs: Any, keep: Any, value: Any, classes: Any) -> Any:
                mask = ops.reshape(keep, shape) > 0.5
                with backend.gradient_tape() as tape:

                    def hook(k: int, tensor: Any) -> Any:
                        if k == cut:
                            tensor = ops.where(mask, tensor, ops.cast(value, tensor.dtype))
                        if k == watched:
                            tape.watch(tensor)
                        return tensor

                    values = self.adapter.run(inputs, on_output=hook, replace=self.replace)
                    logits = values[self.score_key]
                    classes = backend.select_targets(logits, classes)
                    scores = backend.gather_rows(logits, classes)
                acts = values[watched]
                return acts, tape.gradient(scores, acts), classes

            return forward_backward

        probe = self.adapter._probe(("ablation_gradients", cut, watched), make)
        acts, grads, classes = probe(
            self.adapter._tensor(x),
            backend.to_tensor(np.asarray(keep, dtype=np.float32)),
            backend.to_tensor(np.float32(value)),
            backend.to_tensor(np.asarray(targets), "int32"),
        )
        return backend.to_numpy(acts), backend.to_numpy(grads), classes.numpy()


def _needed(steps: list[Step], keys: Iterable[int]) -> list[Step]:
    """The steps (in order) that the tensors ``keys`` depend on."""
    wanted = set(keys)
    kept = []
    for step in reversed(steps):
        if wanted.intersection(step.outputs):
            kept.append(step)
            wanted.update(step.input_keys)
    return kept[::-1]
