"""Pruning: a copy of the model with its least important filters (or weights) zeroed.

Pruning asks the ablation question for the whole network at once: which filters can go
without the model noticing? ``prune`` answers for one fraction on a **copy** of the model
(``keras.models.clone_model`` with the weights copied, nested models included), and
``pruning_curve`` measures accuracy and the score of the original top class as the fraction
grows, re-using one copy whose weights are re-assigned at every point.

A *filter* is one output channel of a layer with weights, with the kernel entries that feed
it and its bias:

- ``Conv*D`` and ``Dense``: ``kernel[..., f]`` and ``bias[f]``;
- ``Conv*DTranspose``: ``kernel[..., f, :]`` (Keras stores their output axis second to last);
- ``DepthwiseConv*D``: output channel ``f = c·multiplier + m`` is ``kernel[..., c, m]``, a
  single spatial kernel on input channel c;
- ``SeparableConv*D``: ``pointwise_kernel[..., f]`` and ``bias[f]``; the depthwise kernel is
  shared by every output and left alone (the ``"weights"`` criterion zeroes both kernels).

Zeroing a filter makes the layer's output channel 0 before its activation. A batch
normalization that follows still adds its constant shift (β − γ·μ/σ), so in a conv-BN-ReLU
block the channel becomes a constant rather than disappearing; ``batchnorm="zero"`` also
sets that batch normalization's moving mean and β to 0 for the pruned channels, which
removes the channel (output 0 after the batch normalization), as pruning that deletes a
filter together with its normalization does. The default, ``"keep"``, is the contract's
definition (kernel and bias only).

The relevance criterion follows the authors' implementation of Yeom et al.: the sum over
images and positions of the **absolute** LRP relevance of the channel. A signed sum would
rank backwards wherever the explained score is negative (relevance conserves the score, and
a pre-softmax top score can be negative), and would prune first the channels that carry the
strongest evidence against the class.

References
----------
Li et al. (2017), "Pruning Filters for Efficient ConvNets" (the L1 criterion); Yeom et al.
(2021), "Pruning by Explaining: A Novel Criterion for Deep Neural Network Pruning";
Han et al. (2015), "Learning both Weights and Connections for Efficient Neural Networks"
(unstructured weight pruning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import keras
import numpy as np

from ..model import LayerEntry, ModelAdapter, flatten_model, get_adapter, layer_kind
from .featviz.arguments import non_negative_int
from .lrp import layer_relevance

#: The criteria :func:`prune` ranks filters (or weights) by.
CRITERIA = ("l1", "random", "relevance", "weights")
#: What happens to a batch normalization right after a pruned layer (see :class:`Pruner`).
BATCHNORM = ("keep", "zero")
#: Layer kinds with output filters.
PRUNABLE_KINDS = ("conv", "dense", "depthwise_conv", "separable_conv", "conv_transpose")


@dataclass(frozen=True)
class PrunableLayer:
    """A layer with filters: its entry, reported name, and the kernels that hold them."""

    entry: LayerEntry
    name: str
    #: Name of the kernel variable whose output axis defines the filters.
    kernel: str
    #: Every kernel variable (the ``"weights"`` criterion zeroes entries of all of them).
    kernels: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.entry.kind

    def arrays(self, layer: Any) -> dict[str, np.ndarray]:
        """Copies of the layer's kernels and bias (``"bias"`` only where it has one)."""
        out = {name: np.array(getattr(layer, name).numpy()) for name in self.kernels}
        if getattr(layer, "bias", None) is not None:
            out["bias"] = np.array(layer.bias.numpy())
        return out

    def columns(self, kernel: np.ndarray) -> np.ndarray:
        """The kernel as ``(entries per filter, filters)``: column f is filter f."""
        if self.kind == "conv_transpose":
            kernel = np.swapaxes(kernel, -1, -2)
        elif self.kind == "depthwise_conv":
            kernel = kernel.reshape(kernel.shape[:-2] + (-1,))
        return kernel.reshape(-1, kernel.shape[-1])

    def filter_mask(self, kernel: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``keep`` (one 0/1 per filter) broadcast to the kernel's shape."""
        if self.kind == "conv_transpose":
            return np.broadcast_to(keep[:, None], kernel.shape)
        if self.kind == "depthwise_conv":
            return np.broadcast_to(keep.reshape(kernel.shape[-2:]), kernel.shape)
        return np.broadcast_to(keep, kernel.shape)

    @property
    def filters(self) -> int:
        return int(self.entry.output_shape[-1])


def prunable_layers(adapter: ModelAdapter, layers: object = None) -> list[PrunableLayer]:
    """The layers to prune: the given ones, or every conv and dense layer but the classifier.

    The classifier is the last layer with weights in execution order.

    Raises
    ------
    ValueError
        If a given layer has no filters (not a convolution or dense layer), or is unknown.
    """
    if layers is None:
        weighted = [
            e for e in adapter.layers if e.kind != "model" and getattr(e.layer, "weights", None)
        ]
        classifier = weighted[-1].layer if weighted else None
        entries = [e for e in weighted if e.kind in PRUNABLE_KINDS and e.layer is not classifier]
    else:
        if isinstance(layers, (str, keras.layers.Layer)):
            layers = [layers]
        entries = [adapter.resolve_layer(layer) for layer in layers]
    result = []
    for entry in entries:
        name = adapter.name_of(entry)
        if entry.kind not in PRUNABLE_KINDS:
            raise ValueError(
                f"layer {name!r} ({type(entry.layer).__name__}) has no filters to prune; "
                f"pruning needs layers of kinds {', '.join(PRUNABLE_KINDS)}"
            )
        if entry.kind == "separable_conv":
            kernels = ("depthwise_kernel", "pointwise_kernel")
            result.append(PrunableLayer(entry, name, "pointwise_kernel", kernels))
        else:
            result.append(PrunableLayer(entry, name, "kernel", ("kernel",)))
    return result


def check_amount(amount: object) -> float:
    """``amount`` as a float in [0, 1).

    Raises
    ------
    TypeError
        If it is not a real number.
    ValueError
        If it is outside [0, 1).
    """
    if isinstance(amount, bool) or not isinstance(amount, Real):
        raise TypeError(f"amount must be a fraction in [0, 1), got {type(amount).__name__}")
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"amount must be a fraction in [0, 1), got {amount}")
    return float(amount)


def pruned_count(amount: float, filters: int) -> int:
    """⌊amount · filters⌋, robust to the float error of products like 0.29 · 100."""
    return math.floor(round(amount * filters, 9))


class Pruner:
    """Ranks the filters of the chosen layers once; gives pruned weights for any amount.

    Holds the original weights (copies), the per-filter criterion values and, for
    ``"weights"``, one uniform draw per kernel entry, so that the pruned sets grow with the
    amount (every filter pruned at 0.3 is also pruned at 0.5).

    With ``batchnorm="zero"`` a batch normalization that directly follows a pruned layer
    gets moving mean and β set to 0 for the pruned channels, so that the channel's output is
    0 after it too (the channel is removed, as in structured pruning that deletes filters);
    ``"keep"`` (the contract's definition) leaves it alone.

    Raises
    ------
    ValueError
        On an unknown criterion or ``batchnorm``, ``criterion="relevance"`` without images,
        a layer without filters, and on bad ``x`` or ``seed``.
    """

    def __init__(
        self,
        model: keras.Model,
        criterion: str = "l1",
        layers: object = None,
        x: np.ndarray | None = None,
        seed: int = 0,
        batchnorm: str = "keep",
    ) -> None:
        if criterion not in CRITERIA:
            raise ValueError(
                f"criterion must be one of {', '.join(map(repr, CRITERIA))}, got {criterion!r}"
            )
        if batchnorm not in BATCHNORM:
            raise ValueError(
                f"batchnorm must be one of {', '.join(map(repr, BATCHNORM))}, got {batchnorm!r}"
            )
        seed = non_negative_int(seed, "seed")
        adapter = get_adapter(model)
        self.criterion = criterion
        self.layers = prunable_layers(adapter, layers)
        self.batchnorms = [
            following_batchnorm(adapter, p.entry) if batchnorm == "zero" else None
            for p in self.layers
        ]
        if criterion == "relevance":
            if x is None:
                raise ValueError(
                    "criterion 'relevance' ranks filters by their LRP relevance on images: "
                    "pass them as x (N, H, W, C)"
                )
            x = adapter.check_input(x)
        self.originals = [p.arrays(p.entry.layer) for p in self.layers]
        rng = np.random.default_rng(seed)
        self.ranking: list[np.ndarray] = []
        self.draws: list[dict[str, np.ndarray]] = []
        for layer, arrays in zip(self.layers, self.originals, strict=True):
            if criterion == "weights":
                self.draws.append({k: rng.random(arrays[k].shape) for k in layer.kernels})
                continue
            score = self._criterion(model, layer, arrays, x, rng)
            self.ranking.append(np.argsort(score, kind="stable"))

    def _criterion(
        self,
        model: keras.Model,
        layer: PrunableLayer,
        arrays: dict[str, np.ndarray],
        x: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """One value per filter; the lowest are pruned first."""
        if self.criterion == "l1":
            return np.abs(layer.columns(arrays[layer.kernel])).sum(axis=0, dtype=np.float64)
        if self.criterion == "random":
            return rng.random(layer.filters)
        relevance = layer_relevance(model, x, layer.name, None, "epsilon_plus")
        axes = tuple(range(relevance.ndim - 1))
        return np.abs(relevance).sum(axis=axes, dtype=np.float64)

    def weights(self, amount: float) -> list[tuple[LayerEntry, dict[str, np.ndarray]]]:
        """(layer, new weights by attribute name) for every layer that pruning changes."""
        amount = check_amount(amount)
        pruned = []
        for i, (layer, arrays) in enumerate(zip(self.layers, self.originals, strict=True)):
            new = dict(arrays)
            if self.criterion == "weights":
                for name in layer.kernels:
                    new[name] = np.where(self.draws[i][name] < amount, 0, arrays[name])
                    new[name] = new[name].astype(arrays[name].dtype)
            else:
                keep = np.ones(layer.filters, dtype=arrays[layer.kernel].dtype)
                keep[self.ranking[i][: pruned_count(amount, layer.filters)]] = 0
                kernel = arrays[layer.kernel]
                new[layer.kernel] = kernel * layer.filter_mask(kernel, keep)
                if "bias" in arrays:
                    new["bias"] = arrays["bias"] * keep
                batchnorm = self.batchnorms[i]
                if batchnorm is not None:
                    pruned.append((batchnorm, _zero_batchnorm(batchnorm.layer, keep)))
            pruned.append((layer.entry, new))
        return pruned

    def assign(self, copy: keras.Model, amount: float) -> None:
        """Write the weights pruned at ``amount`` into ``copy`` (a clone of the model)."""
        pruned = self.weights(amount)
        targets = copy_layers(copy, [entry for entry, _ in pruned])
        for layer, (_, arrays) in zip(targets, pruned, strict=True):
            for name, value in arrays.items():
                getattr(layer, name).assign(value)


def following_batchnorm(adapter: ModelAdapter, entry: LayerEntry) -> LayerEntry | None:
    """The batch normalization (over the last axis) that alone reads ``entry``'s output."""
    consumers = adapter.graph.consumers(entry.output_key)
    if len(consumers) != 1 or consumers[0].operation is None:
        return None
    layer = consumers[0].operation
    if layer_kind(layer) != "batchnorm" or layer.axis not in (-1, len(entry.output_shape) - 1):
        return None
    return next(e for e in adapter.layers if e.layer is layer)


def _zero_batchnorm(layer: Any, keep: np.ndarray) -> dict[str, np.ndarray]:
    """Moving mean and β with the pruned channels at 0: a zero input then gives 0."""
    out = {"moving_mean": layer.moving_mean.numpy() * keep}
    if layer.beta is not None:
        out["beta"] = layer.beta.numpy() * keep
    return out


def clone(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with the same architecture and its own copies of the weights.

    Raises
    ------
    ValueError
        If Keras cannot clone the model (a layer without a usable ``get_config``).
    """
    try:
        copy = keras.models.clone_model(model)
    except Exception as error:  # noqa: BLE001 - Keras raises many types here
        raise ValueError(
            f"model {model.name!r} cannot be copied with keras.models.clone_model "
            f"({type(error).__name__}: {error}); its layers need get_config/from_config"
        ) from error
    copy.set_weights(model.get_weights())
    return copy


def copy_layers(copy: keras.Model, entries: Sequence[LayerEntry]) -> list[Any]:
    """The layers of ``copy`` that correspond to ``entries`` of the original model.

    Matched by position in the flat graph (nested models expanded), checked by name.
    """
    by_key = {e.output_key: e for e in flatten_model(copy).entries if e.kind != "input"}
    found = []
    for entry in entries:
        match = by_key.get(entry.output_key)
        if match is None or match.name != entry.name:
            raise ValueError(f"the copy of the model has no layer matching {entry.name!r}")
        found.append(match.layer)
    return found


def prune(
    model: keras.Model,
    amount: float,
    criterion: str = "l1",
    layers: object = None,
    x: np.ndarray | None = None,
    seed: int = 0,
    *,
    batchnorm: str = "keep",
) -> keras.Model:
    """A copy of ``model`` with the fraction ``amount`` of each layer's filters zeroed.

    In every chosen layer (``layers=None``: every convolution and dense layer except the
    last layer with weights, the classifier) the ⌊amount · filters⌋ filters with the lowest
    criterion get kernel and bias 0 (ties: lower index first). Criteria: ``"l1"`` (L1 norm
    of the filter's kernel), ``"random"`` (seeded), ``"relevance"`` (total absolute LRP
    relevance, ε⁺ composite, of the channel's output over the images ``x``, explaining each
    image's top class), and ``"weights"``: each kernel entry zeroed with probability
    ``amount``, biases kept. ``batchnorm="zero"`` also zeroes the moving mean and β of a
    batch normalization right after a pruned layer for the pruned channels (the channel is
    removed; see the module docstring, also for what a filter is). The user's model is not
    changed; the copy has its own weights.

    Raises
    ------
    ValueError
        If ``amount`` is outside [0, 1), on an unknown criterion or ``batchnorm``, a layer
        without filters, ``"relevance"`` without ``x``, or a model that cannot be cloned.
    TypeError
        If ``amount`` is not a number.

    References
    ----------
    Li et al. (2017), "Pruning Filters for Efficient ConvNets"; Yeom et al. (2021),
    "Pruning by Explaining".
    """
    amount = check_amount(amount)
    pruner = Pruner(model, criterion, layers, x, seed, batchnorm)
    copy = clone(model)
    pruner.assign(copy, amount)
    return copy
