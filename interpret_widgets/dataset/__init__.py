"""Data-set jobs over the methods: explain many images locally or on Ray, find strategies.

Importable without any widget library; Ray is needed only for ``engine="ray"``
(``pip install interpret_widgets[scale]``).
"""

from .embed import embed
from .explain import explain_dataset
from .result import DatasetResult
from .spray import SprayResult, map_embedding, map_features, spray

__all__ = [
    "DatasetResult",
    "SprayResult",
    "embed",
    "explain_dataset",
    "map_embedding",
    "map_features",
    "spray",
]
