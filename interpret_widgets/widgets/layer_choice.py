"""LayerChoice: the layers a view offers, their channel counts, labels and checks.

The activation explorer, the filter visualizer and the ablation panel all offer the layers
with a 4-D ``(N, h, w, k)`` output (from the adapter's public ``spatial_layers``), label
them with their shape, check a chosen layer and channel, and fall back to a default layer
with a notice when the one asked for does not fit. This is that logic, written once.
"""

from __future__ import annotations

from typing import Any

import traitlets


class LayerChoice:
    """The 4-D layers of a model (none without an adapter).

    Attributes
    ----------
    names : list of str
        The layers in model order.
    counts : dict
        Channels (last axis) of each layer.
    options : list of (label, name)
        Dropdown options: ``"conv_b · (16, 16, 8)"``.
    """

    def __init__(self, adapter: Any = None) -> None:
        self.model_name = "" if adapter is None else adapter.name
        self.names: list[str] = [] if adapter is None else list(adapter.spatial_layer_names())
        shapes = {} if adapter is None else {
            adapter.name_of(entry): tuple(entry.output_shape) for entry in adapter.spatial_layers()
        }  # fmt: skip
        self.counts = {name: int(shapes[name][-1]) for name in self.names}
        self.options = [(f"{name} · {shapes[name][1:]}", name) for name in self.names]

    def __contains__(self, name: object) -> bool:
        return name in self.counts

    def __bool__(self) -> bool:
        return bool(self.names)

    def require(self, purpose: str) -> None:
        """Raise ``ValueError`` (saying ``purpose``) when the model has no 4-D layer."""
        if not self.names:
            raise ValueError(
                f"model {self.model_name!r} has no layer with a 4-D (N, h, w, k) output; "
                f"{purpose}"
            )

    def channel_count(self, layer: str) -> int:
        """Channels of ``layer`` (0 for a layer not offered)."""
        return self.counts.get(layer, 0)

    def check(self, layer: str) -> str:
        """``layer`` if it is offered; else a ``TraitError`` listing the choices."""
        if layer not in self.counts:
            raise traitlets.TraitError(
                f"layer {layer!r} has no 4-D output in this model "
                f"(choices: {', '.join(self.names) or 'none'})"
            )
        return layer

    def check_channel(self, layer: str, channel: int) -> int:
        """``channel`` if ``layer`` has it (any channel while the layer is unknown)."""
        count = self.channel_count(layer)
        if count and not 0 <= channel < count:
            raise traitlets.TraitError(
                f"channel {channel} is out of range 0..{count - 1} for layer {layer!r}"
            )
        return channel

    def pick(self, wanted: str | None, default: str | None = None) -> tuple[str, str]:
        """The layer to start on and a notice (``""`` when ``wanted`` fits).

        ``wanted`` if offered; otherwise ``default`` (if offered) or the last layer, with
        a notice that says why ``wanted`` was not taken.
        """
        fallback = default if default in self.counts else self.names[-1]
        if wanted is None:
            return fallback, ""
        if wanted in self.counts:
            return wanted, ""
        notice = (
            f"layer {wanted!r} has no 4-D output in this model; showing {fallback!r} "
            f"(choices: {', '.join(self.names)})"
        )
        return fallback, notice
