"""The perturbation panel's method table: KernelSHAP, LIME, occlusion, DeepSHAP as panel methods.

Each entry adapts a method of :mod:`interpret_widgets.methods` to the panel's
``compute(model, x, target, **parameters)``: the superpixels and the baseline image are made
from the panel's parameters (``render.perturbation_baseline``), and the raw map comes back
with a note and, for the segment methods, the superpixels it was computed on.
:class:`ParameterCache` keys the maps by their parameters too, so parameters set back find
their maps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..methods import deep_shap, kernel_shap, lime, occlusion, superpixels
from ..render import perturbation_baseline, to_map
from .panel_maps import MapCache, MapKey, PanelMethod, RawMap


class SegmentMap(NamedTuple):
    """A raw map with the superpixels it was computed on (``None`` for pixel methods)."""

    values: np.ndarray
    note: str = ""
    segments: np.ndarray | None = None


def _segment_method(function: Any) -> Any:
    """KernelSHAP or LIME on SLIC superpixels of the image."""

    def compute(
        model: Any,
        x: np.ndarray,
        target: int,
        n_segments: int,
        compactness: float,
        samples: int,
        baseline: str,
        **run: Any,
    ) -> SegmentMap:
        segments = superpixels(x, n_segments, compactness)
        base = perturbation_baseline(x, baseline)
        values = function(
            model, x, target, segments=segments, samples=samples, baseline=base, **run
        )
        values = values[0]
        count = len(np.unique(segments[0]))
        return SegmentMap(values, f"{count} segments · {samples} samples", segments[0])

    return compute


def _occlusion(
    model: Any, x: np.ndarray, target: int, window: int, stride: int, baseline: str, **run: Any
) -> SegmentMap:
    base = perturbation_baseline(x, baseline)
    values = occlusion(model, x, target, window=window, stride=stride, baseline=base, **run)[0]
    return SegmentMap(values, f"window {window}, stride {stride}")


def _deep_shap(
    model: Any, x: np.ndarray, target: int, background: np.ndarray, **run: Any
) -> SegmentMap:
    values = deep_shap(model, x, background, target, **run)[0]
    return SegmentMap(to_map(values), f"{len(background)} background images")


#: The perturbation family: key -> (label, compute, parameters).
PERTURBATION_METHODS = {
    "kernel_shap": PanelMethod(
        "KernelSHAP",
        _segment_method(kernel_shap),
        ("n_segments", "compactness", "samples", "baseline"),
    ),
    "lime": PanelMethod(
        "LIME", _segment_method(lime), ("n_segments", "compactness", "samples", "baseline")
    ),
    "occlusion": PanelMethod("Occlusion", _occlusion, ("window", "stride", "baseline")),
    "deep_shap": PanelMethod("DeepSHAP", _deep_shap, ("background",)),
}


class ParameterCache(MapCache):
    """Raw maps by (method, parameters, class): parameters set back find their maps."""

    def __init__(self, parameters_of: Any) -> None:
        super().__init__()
        self.parameters_of = parameters_of

    def key(self, key: MapKey) -> tuple:
        method, target = key
        return (method, target, tuple(sorted(self.parameters_of(method).items())))

    def __contains__(self, key: MapKey) -> bool:
        return self.key(key) in self.maps

    def __getitem__(self, key: MapKey) -> RawMap:
        return self.maps[self.key(key)]

    def missing(self, keys: Any) -> list[MapKey]:
        return [key for key in keys if self.key(key) not in self.maps]

    def store(self, maps: dict, shown: list[MapKey]) -> None:
        super().store({self.key(k): v for k, v in maps.items()}, [self.key(k) for k in shown])
