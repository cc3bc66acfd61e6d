"""Synthetic demo data and a small pretrained CNN for the interpretability widgets.

``demo_images`` renders labelled "shapes on clutter" images with ground-truth
object masks; ``load_demo_model`` returns the CNN trained on them (see
``scripts/train_demo.py`` in the repository to regenerate it).
"""

from interpret_widgets.demo.model import DEMO_MODEL_PATH, build_demo_model, load_demo_model
from interpret_widgets.demo.shapes import CLASS_NAMES, IMAGE_SIZE, demo_images

__all__ = [
    "CLASS_NAMES",
    "DEMO_MODEL_PATH",
    "IMAGE_SIZE",
    "build_demo_model",
    "demo_images",
    "load_demo_model",
]
