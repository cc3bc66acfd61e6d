"""interpret_widgets: interactive interpretability for live Keras 3 models in Jupyter.

The computation API lives in :mod:`interpret_widgets.methods` and loads no widget library;
the widget classes are imported lazily on first attribute access, so
``import interpret_widgets.methods`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY_WIDGETS = {
    "ActivationExplorer": "interpret_widgets.widgets",
    "FilterVisualizer": "interpret_widgets.widgets",
    "GradCAMPanel": "interpret_widgets.widgets",
    "LRPPanel": "interpret_widgets.widgets",
    "GradientPanel": "interpret_widgets.widgets",
    "Dashboard": "interpret_widgets.widgets",
    "AblationPanel": "interpret_widgets.widgets",
    "DatasetExplorer": "interpret_widgets.widgets",
}

__all__ = ["__version__", *_LAZY_WIDGETS]


def __getattr__(name: str) -> Any:
    module = _LAZY_WIDGETS.get(name)
    if module is None:
        raise AttributeError(f"module 'interpret_widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
