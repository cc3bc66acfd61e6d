"""Layers with weights as linear maps z = f(x; W, b) that rules can call with other W, b.

LRP rules evaluate a layer's linear map with modified parameters (W⁺, ones, W + γW⁺…) and
take vector-Jacobian products of it. :class:`LinearMap` gives that map for each kind of
layer with weights, reading only the layer's configuration (strides, padding…) and
variables, never changing them. A separable convolution is two stages (depthwise, then
pointwise), each a linear map of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras import ops

from .canonize import batchnorm_affine, fold

#: Stages a LinearMap can compute.
STAGES = ("dense", "conv", "depthwise", "separable_depthwise", "separable_pointwise", "affine")


@dataclass(frozen=True, eq=False)
class LinearMap:
    """One layer with weights (or one stage of it), with batch normalizations folded in.

    ``stage`` is one of :data:`STAGES`; ``"affine"`` is a batch normalization standing
    alone, an element-wise map with diagonal weights. ``batchnorms`` are folded into the
    parameters, in order.
    """

    layer: Any
    stage: str
    batchnorms: tuple[Any, ...] = ()

    def parameters(self) -> tuple[Any, Any | None]:
        """Kernel and bias (None where the layer has none), as new float32 tensors."""
        layer = self.layer
        if self.stage == "affine":
            return batchnorm_affine(layer)
        bias = None
        if self.stage == "separable_depthwise":
            kernel = layer.depthwise_kernel
        elif self.stage == "separable_pointwise":
            kernel = layer.pointwise_kernel
            bias = layer.bias if layer.use_bias else None
        else:
            kernel = layer.kernel
            bias = layer.bias if layer.use_bias else None
        kernel = ops.convert_to_tensor(kernel, dtype="float32")
        if bias is not None:
            bias = ops.convert_to_tensor(bias, dtype="float32")
        for bn in self.batchnorms:
            kernel, bias = fold(kernel, bias, bn, depthwise=self.stage == "depthwise")
        return kernel, bias

    def apply(self, x: Any, kernel: Any, bias: Any | None) -> Any:
        """z = f(x; kernel, bias) with this layer's configuration."""
        layer = self.layer
        if self.stage == "affine":
            shape = [1] * len(x.shape)
            shape[int(layer.axis) % len(x.shape)] = -1
            z = x * ops.reshape(kernel, shape)
            return z if bias is None else self.add_bias(z, bias)
        if self.stage == "dense":
            z = ops.matmul(x, kernel)
        elif self.stage == "conv":
            z = _conv(layer, x, kernel)
        elif self.stage in ("depthwise", "separable_depthwise"):
            z = ops.depthwise_conv(
                x,
                kernel,
                strides=layer.strides,
                padding=layer.padding,
                dilation_rate=layer.dilation_rate,
                data_format=layer.data_format,
            )
        else:
            z = ops.conv(x, kernel, strides=1, padding="valid", data_format=layer.data_format)
        return z if bias is None else self.add_bias(z, bias)

    def add_bias(self, z: Any, bias: Any) -> Any:
        """z + b, the bias broadcast along the channel axis."""
        if self.stage == "affine":
            shape = [1] * len(z.shape)
            shape[int(self.layer.axis) % len(z.shape)] = -1
            return z + ops.reshape(bias, shape)
        if getattr(self.layer, "data_format", None) == "channels_first":
            return z + ops.reshape(bias, (1, -1) + (1,) * (len(z.shape) - 2))
        return z + bias

    def output(self, x: Any) -> Any:
        """The unmodified z = f(x; W, b)."""
        return self.apply(x, *self.parameters())


def _conv(layer: Any, x: Any, kernel: Any) -> Any:
    if getattr(layer, "groups", 1) > 1 and kernel.shape[-2] == 1 and len(kernel.shape) == 4:
        # One input channel per group (ConvNeXt's depthwise convolution written as a grouped
        # Conv2D): the same map as a depthwise convolution, whose gradient TensorFlow has on
        # CPU (a grouped convolution's has none outside XLA/graph rewrites) and is faster.
        groups = layer.groups
        depthwise = ops.reshape(kernel, (*kernel.shape[:2], groups, kernel.shape[-1] // groups))
        return ops.depthwise_conv(
            x,
            depthwise,
            strides=layer.strides,
            padding=layer.padding,
            dilation_rate=layer.dilation_rate,
            data_format=layer.data_format,
        )
    padding = layer.padding
    if padding == "causal":
        left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
        widths = [[0, 0], [left, 0], [0, 0]]
        if layer.data_format == "channels_first":
            widths = [[0, 0], [0, 0], [left, 0]]
        x = ops.pad(x, widths)
        padding = "valid"
    return ops.conv(
        x,
        kernel,
        strides=list(layer.strides),
        padding=padding,
        dilation_rate=layer.dilation_rate,
        data_format=layer.data_format,
    )


def forward_with_record(maps: tuple[LinearMap, ...], activation: Any, record: Any) -> Any:
    """A replacement for a layer's call that records its pre-activation tensors.

    ``maps`` are the layer's stages in order (one, or two for a separable convolution);
    ``record(stage_index, z)`` receives each stage's output before the activation.
    """

    def call(inputs: Any, **_: Any) -> Any:
        h = inputs
        for i, linear in enumerate(maps):
            h = linear.output(h)
            record(i, h)
        return h if activation is None else activation(h)

    return call
