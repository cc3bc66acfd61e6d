"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus
from .gradients import integrated_gradients, saliency, smoothgrad

__all__ = [
    "activations",
    "grad_cam",
    "grad_cam_plus_plus",
    "integrated_gradients",
    "saliency",
    "smoothgrad",
]
