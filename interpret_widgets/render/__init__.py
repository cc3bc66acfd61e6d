"""Display helpers: pure functions of numpy arrays, no TensorFlow, no widgets."""

from .maps import (
    NORMALIZATIONS,
    colorize,
    grid_position,
    normalize,
    overlay,
    resize,
    tile,
    to_map,
    to_uint8_image,
)
from .png import to_png, upscale, upscale_factor
from .segments import BASELINES, perturbation_baseline, segment_boundaries, top_segments
from .volume import activation_volume

__all__ = [
    "BASELINES",
    "NORMALIZATIONS",
    "activation_volume",
    "colorize",
    "grid_position",
    "normalize",
    "overlay",
    "perturbation_baseline",
    "resize",
    "segment_boundaries",
    "tile",
    "to_map",
    "to_png",
    "to_uint8_image",
    "top_segments",
    "upscale",
    "upscale_factor",
]
