"""The feature-visualization optimizer: K channels, one batch, one compiled step.

:class:`FilterOptimizer` puts the parts together: a parametrization makes K images in
[0, 1] from its own variable, a seeded affine warp applies the random transforms, the
images are mapped to the model's input range, the model runs (through the adapter's flat
graph, nested models included) only as far as the objective needs, and Adam takes one step
on the variable. All of that is one compiled function, traced once per optimizer.
:meth:`FilterOptimizer.steps` is a generator that yields a :class:`Progress` after every
step, so a script can ignore it, a notebook can print it, and a widget can draw it and stop
by breaking out of the loop; :meth:`FilterOptimizer.result` then gives what was reached.

Every batch item has its own randomness (initial values and transforms) seeded from
``(seed, channel, occurrence)``, and items interact only through the optional diversity
term, so K channels optimized together give the same images as K separate runs.

A unit that is off for the grey starting image would have a zero gradient, so ReLUs get
Lucid's redirected gradient in our execution (see :mod:`.redirect`): every ReLU on the
path to the objective for the first ``redirect_steps`` steps, the objective's own ReLUs
after that. That is two compiled step functions, each traced once (the second only where
the scopes differ and the run goes past ``redirect_steps``); forward values are the same in
both. The user's model is never modified: the optimizer owns its variable and its Adam
state.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import keras
import numpy as np

from ...model import applies_softmax, backend, get_adapter
from .arguments import (
    channels_of,
    non_negative_int,
    positive_int,
    regularizer_list,
    sizes,
    value_map,
)
from .objectives import IMAGE, LOGITS, Objective, class_logit
from .objectives import channel as channel_objective
from .objectives import diversity as diversity_objective
from .param import make_parametrization
from .redirect import redirected_relu_steps
from .regularizers import Regularizer
from .transforms import identity_matrix, make_transforms, warp


@dataclass(frozen=True)
class Progress:
    """What one optimization step reached.

    ``objectives`` are the objective's values at this step (under the step's transforms,
    without regularizers or the diversity term); ``images`` are the current images in the
    model's input range, or ``None`` where images were not asked for at this step.
    """

    step: int
    total: int
    objectives: np.ndarray
    images: np.ndarray | None
    elapsed: float


@dataclass(frozen=True)
class FilterVisualization:
    """The outcome of a feature visualization.

    ``images`` ``(K, H, W, C)`` are the optimized inputs (un-transformed, in the model's
    input range) and ``unit_images`` the same before the mapping to that range, in [0, 1]
    for display. ``activations[k]`` is channel ``channels[k]``'s spatial mean activation at
    ``layer`` on image k, without transforms. ``objectives_history`` is ``(steps, K)``.
    """

    images: np.ndarray
    activations: np.ndarray
    channels: tuple[int, ...]
    layer: str
    objectives_history: np.ndarray
    unit_images: np.ndarray


class FilterOptimizer:
    """Optimize one input image per channel of ``layer``, all channels in one batch.

    Parameters
    ----------
    model : keras.Model
        A built model with one image input ``(N, H, W, C)``; never modified.
    layer : str or layer
        The layer whose channels are visualized (inside nested models too).
    channels : int, sequence of int, or None
        The channels, one batch item each; ``None`` means all (at most 256).
    objective : Objective, optional
        What to maximize; default: each item's channel mean (the pre-softmax class score
        when ``layer`` is the model's softmax output layer).
    size : int or (int, int), optional
        Image side; default the model's input size. Where it differs from a fixed model
        input size, the warp resizes the image to the model's size.
    parametrization : "fourier", "pixel" or Parametrization
    steps : int
        Number of optimization steps.
    learning_rate : float
        Adam's learning rate.
    seed : int
        Seeds every item's initial values and transforms.
    transforms : "standard", None or a list of Transform
        "standard" is Lucid's chain scaled to the image size.
    regularizers : sequence of Regularizer
        Penalties subtracted from the objective.
    value_range : (low, high), optional
        The model's input range; the [0, 1] image is mapped linearly onto it.
        Default (0, 1).
    preprocess : callable, optional
        Instead of ``value_range``: a traceable function of the [0, 1] image tensor that
        gives the model's input (e.g. ``lambda x: preprocess_input(255 * x)``).
    diversity : float
        Weight of the diversity term at ``layer`` (0: items independent).
    redirect_relu : bool
        Redirect ReLU gradients that vanish for a whole batch item (Lucid's trick, so that
        channels inactive on the starting image can still be optimized); forward values
        are unchanged. ``False`` gives ordinary gradients throughout.
    redirect_steps : int
        For this many first steps every ReLU on the path to the objective is redirected
        (Lucid: 16), so that a unit whose receptive field lies where an earlier ReLU is 0
        (a centre neuron on the grey start) can start; later steps redirect only the
        ReLUs that the objective reads. 0: only those from the start.

    Raises
    ------
    ValueError
        On a channel out of range, a layer without a channel axis, ``steps < 1``, a size
        that cannot be determined, an objective whose per-item indices do not match K, and
        other bad arguments. ``TypeError`` where an argument has the wrong type.

    References
    ----------
    Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
    """

    def __init__(
        self,
        model: keras.Model,
        layer: str | Any,
        channels: int | Sequence[int] | None = None,
        *,
        objective: Objective | None = None,
        size: int | tuple[int, int] | None = None,
        parametrization: str | Any = "fourier",
        steps: int = 256,
        learning_rate: float = 0.05,
        seed: int = 0,
        transforms: str | Sequence[Any] | None = "standard",
        regularizers: Sequence[Regularizer] = (),
        value_range: tuple[float, float] | None = None,
        preprocess: Callable[[Any], Any] | None = None,
        diversity: float = 0.0,
        redirect_relu: bool = True,
        redirect_steps: int = 16,
    ) -> None:
        self._adapter = adapter = get_adapter(model)
        self.total_steps = positive_int(steps, "steps")
        self.seed = non_negative_int(seed, "seed")
        if not isinstance(learning_rate, Real) or not learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        self.entry = adapter.resolve_layer(layer)
        self.layer = adapter.name_of(self.entry)
        self.channels = channels_of(channels, self.entry, self.layer)
        k = len(self.channels)
        image_shape, self.model_size = sizes(adapter.input_shape, adapter.name, size)
        self.param = make_parametrization(parametrization, *image_shape)
        self._map = value_map(value_range, preprocess)
        chain = make_transforms(transforms, max(image_shape[:2]))
        self._warp = bool(chain.transforms) or image_shape[:2] != self.model_size

        self.objective = self._default_objective() if objective is None else objective
        if not isinstance(self.objective, Objective):
            raise TypeError(f"objective must be an Objective, got {type(objective).__name__}")
        extra = [-r for r in regularizer_list(regularizers)]
        if not isinstance(diversity, Real):
            raise TypeError(f"diversity must be a number, got {type(diversity).__name__}")
        if diversity:
            extra.append(float(diversity) * diversity_objective(self.layer))
        self._extra = sum(extra) if extra else None
        redirect_steps = non_negative_int(redirect_steps, "redirect_steps")
        self._keys, self._score_replace, self._stop = self._resolve_keys(k)
        self._step_replace, path = self._redirects(bool(redirect_relu))
        # The path-wide replacements for the first steps; None where they add nothing.
        self._early_replace = None
        self.redirect_steps = 0
        if redirect_steps and path is not None and set(path) != set(self._step_replace or {}):
            self._early_replace, self.redirect_steps = path, redirect_steps

        # Per-item entropy: (seed, channel, occurrence), independent of the batch around it.
        seen: dict[int, int] = {}
        entropy = []
        for c in self.channels:
            entropy.append((self.seed, c, seen.get(c, 0)))
            seen[c] = seen.get(c, 0) + 1
        self._initial = np.stack(
            [self.param.initial(np.random.default_rng([*e, 0])) for e in entropy]
        )
        # The warp rows of every step, (steps, K, 6); None where nothing is warped.
        self._resize = np.tile(identity_matrix(image_shape[:2], self.model_size), (k, 1))
        self._matrices: np.ndarray | None = None
        if chain.transforms:
            self._matrices = np.stack(
                [
                    chain.matrices((*e, 1), self.total_steps, image_shape[:2], self.model_size)
                    for e in entropy
                ],
                axis=1,
            )
        elif self._warp:
            self._matrices = np.broadcast_to(self._resize, (self.total_steps, k, 6))

        self._variable = backend.variable(self._initial, name="featviz_params")
        self._adam = keras.optimizers.Adam(learning_rate=float(learning_rate))
        self._adam.build([self._variable])
        self._adam_initial = [np.array(v.numpy()) for v in self._adam.variables]
        self._history: list[np.ndarray] = []
        self._compiled: dict[str, Callable[..., Any]] = {}

    # -- setup helpers ----------------------------------------------------------------------
    def _default_objective(self) -> Objective:
        graph = self._adapter.graph
        outputs = {graph.resolve_alias(key) for key in graph.output_keys}
        is_output = graph.resolve_alias(self.entry.output_key) in outputs
        if is_output and applies_softmax(self.entry.layer):
            return class_logit(self.channels)
        return channel_objective(self.layer, self.channels)

    def _redirects(self, redirect: bool) -> tuple[dict | None, dict | None]:
        """Step replacements of the later steps and of the first (path-wide) ones."""
        score = self._score_replace or {}
        if not redirect:
            return score or None, None
        graph, keys = self._adapter.graph, list(self._keys.values())
        late = {**redirected_relu_steps(graph, keys), **score}
        path = {**redirected_relu_steps(graph, keys, "path"), **score}
        return late or None, path

    def _resolve_keys(self, k: int) -> tuple[dict[Any, int], dict[int, Any] | None, int | None]:
        total = self.objective if self._extra is None else self.objective + self._extra
        bad = total.batch_sizes() - {k}
        if bad:
            raise ValueError(
                f"the objective gives per-item indices for {min(bad)} items but there are "
                f"{k} channels (one batch item each); give one index per channel"
            )
        keys: dict[Any, int] = {}
        replace = None
        for spec in total.requires:
            if spec == IMAGE:
                continue
            if spec == LOGITS:
                keys[spec], replace = self._adapter.score_head()
            else:
                keys[spec] = self._adapter.resolve_layer(spec).output_key
        stop = max([*keys.values(), self.entry.output_key])
        return keys, replace or None, stop

    # -- the compiled functions -------------------------------------------------------------
    def _forward(
        self, unit: Any, matrices: Any, need: dict[Any, int], stop: int, replace: Any
    ) -> dict:
        x = warp(unit, matrices, self.model_size) if self._warp else unit
        values = self._adapter.run(self._map(x), replace=replace, stop_after=stop)
        acts = {spec: values[key] for spec, key in need.items()}
        acts[IMAGE] = unit
        return acts

    def _step_function(self) -> Callable[..., Any]:
        return self._make_step(self._step_replace)

    def _early_step_function(self) -> Callable[..., Any]:
        return self._make_step(self._early_replace)

    def _make_step(self, replace: dict[int, Any] | None) -> Callable[..., Any]:
        variable, objective, extra = self._variable, self.objective, self._extra

        def step(matrices: Any) -> Any:
            with backend.gradient_tape() as tape:
                tape.watch(variable)
                acts = self._forward(
                    self.param.to_unit(variable),
                    matrices,
                    self._keys,
                    self._stop,
                    replace,
                )
                values = objective(acts)
                total = values if extra is None else values + extra(acts)
                loss = -keras.ops.sum(total)
            self._adam.apply([tape.gradient(loss, variable)], [variable])
            return values

        return step

    def _images_function(self) -> Callable[..., Any]:
        def images() -> tuple[Any, Any]:
            unit = self.param.to_unit(self._variable)
            return unit, self._map(unit)

        return images

    def _measure_function(self) -> Callable[..., Any]:
        index = np.asarray(self.channels, dtype=np.int32)[:, None]
        key = self.entry.output_key

        def measure(resize: Any) -> Any:
            unit = self.param.to_unit(self._variable)
            values = self._forward(unit, resize, {"layer": key}, key, None)["layer"]
            if len(values.shape) > 2:
                values = keras.ops.mean(values, axis=tuple(range(1, len(values.shape) - 1)))
            return keras.ops.take_along_axis(values, index, axis=1)[:, 0]

        return measure

    def _call(self, name: str, *args: Any) -> Any:
        function = self._compiled.get(name)
        if function is None:
            make = getattr(self, f"_{name}_function")
            function = self._compiled[name] = backend.compile_function(make())
        return function(*args)

    # -- public -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Return the variable and Adam's state to the start (``steps()`` does this)."""
        self._variable.assign(self._initial)
        for variable, value in zip(self._adam.variables, self._adam_initial, strict=True):
            variable.assign(value)
        self._history = []

    def steps(self, every: int = 1, images: bool = True) -> Iterator[Progress]:
        """Run the optimization from the start, yielding a :class:`Progress` per step.

        Images are rendered (an extra small computation) at steps that are multiples of
        ``every`` when ``images`` is true. Breaking out of the loop stops the optimization;
        :meth:`result` then gives the images reached so far. Nothing runs before the first
        ``next``; each new iteration starts again from the initial state (same seed, same
        images).

        Raises
        ------
        ValueError
            If ``every < 1``.
        """
        every = positive_int(every, "every")
        return self._run(every, bool(images))

    def _run(self, every: int, images: bool) -> Iterator[Progress]:
        self.reset()
        start = time.perf_counter()
        dummy = np.zeros((len(self.channels), 6), dtype=np.float32)
        for index in range(self.total_steps):
            matrices = self._matrices[index] if self._matrices is not None else dummy
            name = "early_step" if index < self.redirect_steps else "step"
            values = backend.to_numpy(self._call(name, np.ascontiguousarray(matrices)))
            self._history.append(values)
            shown = None
            if images and (index + 1) % every == 0:
                shown = backend.to_numpy(self._call("images")[1])
            elapsed = time.perf_counter() - start
            yield Progress(index + 1, self.total_steps, values, shown, elapsed)

    def result(self) -> FilterVisualization:
        """The current images, their activations, and the objective history so far."""
        unit, images = self._call("images")
        activations = self._call("measure", self._resize)
        k = len(self.channels)
        history = np.asarray(self._history, dtype=np.float32).reshape(-1, k)
        return FilterVisualization(
            images=backend.to_numpy(images),
            activations=backend.to_numpy(activations),
            channels=tuple(self.channels),
            layer=self.layer,
            objectives_history=history,
            unit_images=backend.to_numpy(unit),
        )


def visualize_filters(
    model: keras.Model,
    layer: str | Any,
    channels: int | Sequence[int] | None = None,
    steps: int = 256,
    **kwargs: Any,
) -> FilterVisualization:
    """One optimized input per channel of ``layer``, all channels optimized as one batch.

    Keyword arguments are those of :class:`FilterOptimizer`. ``.images`` is
    ``(K, H, W, C)`` float32 in the model's input range and ``.activations[k]`` channel
    k's spatial mean activation on image k.

    Raises
    ------
    ValueError, TypeError
        See :class:`FilterOptimizer`.

    References
    ----------
    Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
    """
    optimizer = FilterOptimizer(model, layer, channels, steps=steps, **kwargs)
    for _ in optimizer.steps(images=False):
        pass
    return optimizer.result()
