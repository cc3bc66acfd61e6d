"""The table of layer kinds: what a layer does, as far as the methods need to know.

Every method that treats layers differently (LRP rules, the CAM layer choice, the widgets'
layer lists) asks this table instead of testing classes itself, so that supporting a new layer
class is one line here.
"""

from __future__ import annotations

import re

import keras

# Ordered: the first matching class wins (subclasses before their bases).
_KIND_TABLE: tuple[tuple[str, str], ...] = (
    ("InputLayer", "input"),
    ("DepthwiseConv1D", "depthwise_conv"),
    ("DepthwiseConv2D", "depthwise_conv"),
    ("SeparableConv1D", "separable_conv"),
    ("SeparableConv2D", "separable_conv"),
    ("Conv1DTranspose", "conv_transpose"),
    ("Conv2DTranspose", "conv_transpose"),
    ("Conv3DTranspose", "conv_transpose"),
    ("Conv1D", "conv"),
    ("Conv2D", "conv"),
    ("Conv3D", "conv"),
    ("Dense", "dense"),
    ("EinsumDense", "einsum_dense"),
    ("BatchNormalization", "batchnorm"),
    ("LayerNormalization", "layernorm"),
    ("GroupNormalization", "groupnorm"),
    ("MaxPooling1D", "max_pool"),
    ("MaxPooling2D", "max_pool"),
    ("MaxPooling3D", "max_pool"),
    ("AveragePooling1D", "avg_pool"),
    ("AveragePooling2D", "avg_pool"),
    ("AveragePooling3D", "avg_pool"),
    ("GlobalAveragePooling1D", "global_avg_pool"),
    ("GlobalAveragePooling2D", "global_avg_pool"),
    ("GlobalAveragePooling3D", "global_avg_pool"),
    ("GlobalMaxPooling1D", "global_max_pool"),
    ("GlobalMaxPooling2D", "global_max_pool"),
    ("GlobalMaxPooling3D", "global_max_pool"),
    ("Softmax", "softmax"),
    ("ReLU", "activation"),
    ("LeakyReLU", "activation"),
    ("PReLU", "activation"),
    ("ELU", "activation"),
    ("Activation", "activation"),
    ("Flatten", "reshape"),
    ("Reshape", "reshape"),
    ("Permute", "reshape"),
    ("ZeroPadding1D", "padding"),
    ("ZeroPadding2D", "padding"),
    ("ZeroPadding3D", "padding"),
    ("Cropping1D", "cropping"),
    ("Cropping2D", "cropping"),
    ("Cropping3D", "cropping"),
    ("Dropout", "identity"),
    # Preprocessing and augmentation layers that are the identity at inference.
    ("RandomFlip", "identity"),
    ("RandomRotation", "identity"),
    ("RandomZoom", "identity"),
    ("RandomContrast", "identity"),
    ("RandomTranslation", "identity"),
    ("RandomBrightness", "identity"),
    ("SpatialDropout1D", "identity"),
    ("SpatialDropout2D", "identity"),
    ("SpatialDropout3D", "identity"),
    ("GaussianNoise", "identity"),
    ("GaussianDropout", "identity"),
    ("AlphaDropout", "identity"),
    ("ActivityRegularization", "identity"),
    ("Identity", "identity"),
    ("Rescaling", "rescaling"),
    ("LayerScale", "scale"),
    ("Normalization", "normalization"),
    ("Add", "add"),
    ("Subtract", "subtract"),
    ("Multiply", "multiply"),
    ("Average", "average"),
    ("Maximum", "maximum"),
    ("Minimum", "minimum"),
    ("Concatenate", "concat"),
    ("UpSampling1D", "upsampling"),
    ("UpSampling2D", "upsampling"),
    ("UpSampling3D", "upsampling"),
)

#: Keras *operations* (``keras.ops`` calls recorded in a functional graph, not layers):
#: class name → kind. Arithmetic keeps the name of its merging-layer twin; whether the
#: other operand is a constant or a tensor is a property of the call (see the LRP plan).
_OP_TABLE: dict[str, str] = {
    "Add": "add",
    "Subtract": "subtract",
    "Multiply": "multiply",
    "TrueDivide": "divide",
    "Divide": "divide",
    **{
        name: "activation"
        for name in (
            "Relu",
            "Relu6",
            "LeakyRelu",
            "Elu",
            "Selu",
            "Celu",
            "Gelu",
            "Silu",
            "HardSilu",
            "Sigmoid",
            "HardSigmoid",
            "Tanh",
            "Softplus",
            "Softsign",
        )
    },
}

#: Kinds with trainable linear weights (the layers LRP rules apply to).
LINEAR_KINDS = frozenset(
    {"conv", "dense", "depthwise_conv", "separable_conv", "conv_transpose", "einsum_dense"}
)
#: Kinds that act element-wise and change no shape.
ELEMENTWISE_KINDS = frozenset({"activation", "identity"})


def layer_kind(layer: object) -> str:
    """Return the kind of ``layer``: a short string from the table above.

    Nested models are ``"model"``; a Keras operation that is not a layer (a ``keras.ops``
    call recorded in a functional graph) is ``"op"``; anything unknown is ``"other"``.
    """
    if isinstance(layer, keras.Model):
        return "model"
    if not isinstance(layer, keras.layers.Layer):
        return operation_kind(layer)
    mro_names = [cls.__name__ for cls in type(layer).__mro__]
    for class_name, kind in _KIND_TABLE:
        if class_name in mro_names:
            return kind
    return "other"


def operation_kind(operation: object) -> str:
    """The kind of a Keras operation that is not a layer (``x + 3.0`` in a functional model).

    Keras records ``keras.ops`` calls (and Python arithmetic on symbolic tensors) as nodes
    whose operation is an ``Operation`` of ``keras.src.ops``: ``x + 3.0`` is an ``Add``,
    ``x * (1 / 6)`` a ``Multiply``, ``ops.gelu(x)`` a ``Gelu``. Those of :data:`_OP_TABLE`
    get its kind (arithmetic the kind of the merging layer of the same name, element-wise
    functions ``"activation"``); any other operation, and any class from outside Keras, is
    ``"op"``.
    """
    cls = type(operation)
    if _is_keras_class(cls):
        return _OP_TABLE.get(cls.__name__, "op")
    return "op"


#: Methods whose override changes what a layer computes (``Conv.call`` calls
#: ``convolution_op``).
_FORWARD_METHODS = ("call", "convolution_op")


def _is_keras_class(cls: type) -> bool:
    module = getattr(cls, "__module__", "") or ""
    return module == "keras" or module.startswith("keras.")


def propagation_kind(layer: object) -> str:
    """The kind of ``layer`` where a method relies on the layer computing what its kind says.

    As :func:`layer_kind`, but stricter about classes from outside Keras: the kind is that
    of the first Keras class of the table in the layer's MRO. A subclass that overrides
    ``call`` (or ``convolution_op``) on the way to it, such as
    ``class MyDense(keras.layers.Dense)`` with a forward of its own, and a class that only
    shares a table name without deriving from the Keras class, are ``"other"``. Keras's own
    classes, and user subclasses that keep the inherited forward, keep their kind. LRP uses
    this so that it never applies the Keras layer's rule to a layer that computes something
    else.
    """
    if isinstance(layer, keras.Model):
        return "model"
    if not isinstance(layer, keras.layers.Layer):
        return operation_kind(layer)
    mro = type(layer).__mro__
    for class_name, kind in _KIND_TABLE:  # first match wins, as in layer_kind
        depth = next(
            (d for d, cls in enumerate(mro) if cls.__name__ == class_name and _is_keras_class(cls)),
            None,
        )
        if depth is None:
            continue
        for cls in mro[:depth]:
            if not _is_keras_class(cls) and any(name in vars(cls) for name in _FORWARD_METHODS):
                return "other"
        return kind
    return "other"


def activation_name(layer: object) -> str | None:
    """Name of the activation a layer applies inside itself (``"relu"``, ``"softmax"``…).

    ``None`` where the layer has no ``activation`` attribute. ``Softmax`` layers report
    ``"softmax"``; an element-wise Keras operation (``ops.sigmoid``…) reports its own name
    in snake case (``"hard_sigmoid"``).
    """
    if layer_kind(layer) == "softmax":
        return "softmax"
    if not isinstance(layer, keras.layers.Layer) and operation_kind(layer) == "activation":
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", type(activation).__name__).lower()


def applies_softmax(layer: object) -> bool:
    """True where the layer's output is a softmax of what goes into its last step."""
    return activation_name(layer) == "softmax"
