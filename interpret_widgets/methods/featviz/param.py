"""Image parametrizations: how free variables become an image in [0, 1].

Feature visualization optimizes an image, but the variables it optimizes need not be the
pixels. Pixel space is the naive choice; a Fourier-space parametrization whose spectrum is
scaled by 1/f (so every frequency starts with equal energy in the image) and whose colours
are decorrelated with ImageNet's colour correlations gives the optimizer a better-conditioned
problem and far less high-frequency noise. Both end in a sigmoid, so every image is valid
in [0, 1]; mapping [0, 1] to the model's input range is the optimizer's business.

Every parametrization is batched: one independent image per batch item, each initialized
from its own random generator so that an item's start does not depend on its neighbours.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
Mordvintsev et al. (2018), "Differentiable Image Parameterizations", Distill.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ...model import backend

#: Square root of ImageNet's RGB colour covariance (as used by Lucid): multiplying a
#: decorrelated colour vector by it gives natural colour statistics.
COLOR_CORRELATION_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32
)
#: The same matrix scaled so that its largest column has unit norm.
COLOR_CORRELATION_NORMALIZED = COLOR_CORRELATION_SQRT / np.max(
    np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0)
)


class Parametrization:
    """Base class: ``K`` images of ``(height, width, channels)`` from a variable.

    Subclasses define :meth:`variable_shape` (the shape of one item's variables),
    :meth:`initial` (one item's starting values) and :meth:`to_unit` (a batch of variables
    to images in [0, 1], a differentiable ``keras.ops`` computation).
    """

    name = "base"

    def __init__(self, height: int, width: int, channels: int, sd: float = 0.01) -> None:
        if min(height, width) < 2 or channels < 1:
            raise ValueError(
                f"an image parametrization needs at least 2×2 pixels and one channel, got "
                f"{height}×{width}×{channels}"
            )
        self.height, self.width, self.channels = int(height), int(width), int(channels)
        self.sd = float(sd)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.height, self.width, self.channels

    def variable_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        """One item's initial variables: Gaussian noise with standard deviation ``sd``."""
        return (self.sd * rng.standard_normal(self.variable_shape())).astype(np.float32)

    def to_unit(self, params: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.height}, {self.width}, {self.channels})"


class PixelImage(Parametrization):
    """Pixel space: the image is ``sigmoid(v)`` for a free variable ``v`` of its shape."""

    name = "pixel"

    def variable_shape(self) -> tuple[int, ...]:
        return self.image_shape

    def to_unit(self, params: Any) -> Any:
        return keras.ops.sigmoid(params)


class FourierImage(Parametrization):
    """Fourier space with 1/f scaling and (for RGB) decorrelated colours, then a sigmoid.

    The variables are the real and imaginary parts of each channel's real 2-D spectrum.
    Each frequency f (cycles per pixel) is scaled by ``1 / max(f, 1/max(H, W))**decay``,
    which whitens natural-image spectra; the result is divided by 4 as in Lucid. For three
    channels the colours are then mixed by :data:`COLOR_CORRELATION_NORMALIZED` (a
    decorrelated colour space); other channel counts skip that step.
    """

    name = "fourier"

    def __init__(
        self,
        height: int,
        width: int,
        channels: int,
        sd: float = 0.01,
        decay_power: float = 1.0,
        decorrelate: bool = True,
    ) -> None:
        super().__init__(height, width, channels, sd)
        self.decay_power = float(decay_power)
        self.decorrelate = bool(decorrelate) and channels == 3
        fy = np.fft.fftfreq(self.height)[:, None]
        fx = np.fft.rfftfreq(self.width)[None, :]
        frequencies = np.sqrt(fx * fx + fy * fy)
        floor = 1.0 / max(self.height, self.width)
        scale = np.maximum(frequencies, floor) ** -self.decay_power
        self.spectrum_scale = (scale * np.sqrt(self.height * self.width)).astype(np.float32)

    def variable_shape(self) -> tuple[int, ...]:
        return (2, self.channels, *self.spectrum_scale.shape)

    def to_unit(self, params: Any) -> Any:
        real = params[:, 0] * self.spectrum_scale
        imag = params[:, 1] * self.spectrum_scale
        image = backend.irfft2d(real, imag, (self.height, self.width)) / 4.0
        image = keras.ops.transpose(image, (0, 2, 3, 1))  # (K, C, H, W) -> (K, H, W, C)
        if self.decorrelate:
            image = keras.ops.matmul(image, COLOR_CORRELATION_NORMALIZED.T)
        return keras.ops.sigmoid(image)


_KINDS: dict[str, type[Parametrization]] = {"pixel": PixelImage, "fourier": FourierImage}


def make_parametrization(
    spec: str | Parametrization, height: int, width: int, channels: int
) -> Parametrization:
    """The parametrization named ``spec`` (``"pixel"`` or ``"fourier"``) for this shape.

    A :class:`Parametrization` instance is returned as it is after checking its shape.

    Raises
    ------
    ValueError
        On an unknown name, or an instance whose image shape differs from the one asked.
    TypeError
        If ``spec`` is neither a name nor a :class:`Parametrization`.
    """
    if isinstance(spec, Parametrization):
        if spec.image_shape != (height, width, channels):
            raise ValueError(
                f"the parametrization makes {spec.image_shape} images but the optimizer needs "
                f"{(height, width, channels)}"
            )
        return spec
    if isinstance(spec, str):
        kind = _KINDS.get(spec.lower())
        if kind is None:
            raise ValueError(
                f"unknown parametrization {spec!r}; expected one of {', '.join(map(repr, _KINDS))}"
            )
        return kind(height, width, channels)
    raise TypeError(
        f"parametrization must be 'pixel', 'fourier' or a Parametrization, got "
        f"{type(spec).__name__}"
    )
