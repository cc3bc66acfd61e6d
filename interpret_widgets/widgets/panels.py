"""The attribution panels: Grad-CAM, LRP and the gradient family, each a method table.

Each panel is an :class:`~interpret_widgets.widgets.attribution.AttributionPanel` given
data: its methods ``{key: PanelMethod(label, compute, parameters)}`` and the controls of its
parameters. The LRP panel reads its table from the LRP registry, so a rule or composite
registered with :func:`interpret_widgets.methods.lrp.register_composite` appears in its
selector without a change here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods import (
    grad_cam,
    grad_cam_plus_plus,
    guided_backprop,
    integrated_gradients_report,
    layer_cam,
    saliency,
    score_cam,
    smoothgrad,
)
from ..methods.lrp import composite_parameters, lrp_report, valid_names
from ..methods.lrp.rules import RULES
from ..render import to_map
from .attribution import AttributionPanel
from .common import layer_label
from .panel_maps import PanelMethod, RawMap, method_check
from .panel_view import slider_control
from .validators import at_least


def _cam(function: Any) -> Any:
    def compute(model: Any, x: np.ndarray, target: int, layer: str) -> RawMap:
        cam = function(model, x, target, layer or None)[0]  # None: a clear error
        return RawMap(cam, layer_label(layer, cam.shape))

    return compute


#: The CAM family: key -> (label, compute, parameters).
CAM_VARIANTS = {
    "gradcam": PanelMethod("Grad-CAM", _cam(grad_cam), ("layer",)),
    "gradcam++": PanelMethod("Grad-CAM++", _cam(grad_cam_plus_plus), ("layer",)),
    "scorecam": PanelMethod("Score-CAM", _cam(score_cam), ("layer",)),
    "layercam": PanelMethod("LayerCAM", _cam(layer_cam), ("layer",)),
}


class GradCAMPanel(AttributionPanel):
    """A class activation map of one image for the clicked class, at a chosen layer.

    Traits (besides the common ones): ``layer``, a layer with a 4-D output (shared with
    the selection; default the adapter's CAM layer), and ``variant``, a key of
    :data:`CAM_VARIANTS` (Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM); the method comparison
    shows another variant at the same layer.

    References
    ----------
    Selvaraju et al. (2017), "Grad-CAM"; Chattopadhyay et al. (2018), "Grad-CAM++"; Wang
    et al. (2020), "Score-CAM"; Jiang et al. (2021), "LayerCAM".
    """

    method_trait = "variant"

    layer = traitlets.Unicode("")
    variant = traitlets.Unicode("gradcam")
    _valid_variant = method_check("variant")

    def method_table(self) -> dict[str, PanelMethod]:
        return CAM_VARIANTS

    def method_controls(self) -> list[widgets.Widget]:
        self.layer_dropdown = widgets.Dropdown(
            options=[], description="layer", layout=widgets.Layout(width="230px")
        ).add_class("iw-cam-layer")
        self.variant_buttons = widgets.ToggleButtons(
            options=[(entry.label, key) for key, entry in CAM_VARIANTS.items()],
            style={"button_width": "100px"},
        ).add_class("iw-cam-variant")
        traitlets.link((self.variant_buttons, "value"), (self, "variant"))
        self.layer_dropdown.observe(self._on_layer_dropdown_change, "value")
        self.observe(self._on_layer_change, "layer")
        return [self.layer_dropdown, self.variant_buttons]

    def _on_layer_dropdown_change(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.layer = change["new"]

    def _on_layer_change(self, change: dict[str, Any]) -> None:
        # A layer the dropdown does not list (set from code) is still tried: the method's
        # error message then says why it does not fit.
        if not self.layer_dropdown.options and self.selection is not None:
            self.layer_dropdown.options = self.selection.adapter.spatial_layer_names()
        if change["new"] in self.layer_dropdown.options:
            self.layer_dropdown.value = change["new"]


#: Symbols of the words of LRP rule and composite names, for the selector's labels.
_SYMBOLS = {
    "epsilon": "ε",
    "plus": "z⁺",
    "zplus": "z⁺",
    "gamma": "γ",
    "box": "zᴮ",
    "zbox": "zᴮ",
    "alpha2": "α2",
    "beta1": "β1",
    "alpha_beta": "α-β",
}


def lrp_label(name: str) -> str:
    """``"composite ε + z⁺"`` for a composite name, ``"ε rule"`` for a rule name."""
    if name in RULES:
        return f"{_SYMBOLS.get(name, name)} rule"
    words = [_SYMBOLS.get(w, w) for w in name.split("_")]
    text = " + ".join(words).replace("α2 + β1", "α2β1")
    return f"composite {text}"


def conservation_text(score: float, relevance_sum: float) -> str:
    """How much of the score the input relevance keeps, e.g. ``Σ R = 0.97 · score``."""
    if abs(score) < 1e-12:
        return f"Σ R = {relevance_sum:.3g} (score {score:.3g})"
    return f"Σ R = {relevance_sum / score:.2f} · score (score {score:.2f})"


def _lrp(rule: str) -> Any:
    def compute(model: Any, x: np.ndarray, target: int, **values: float) -> RawMap:
        report = lrp_report(model, x, target, rule, **lrp_arguments(rule, values))
        text = conservation_text(float(report.scores[0]), float(report.input_sum[0]))
        return RawMap(to_map(np.asarray(report.relevance)[0]), text)

    return compute


def lrp_arguments(rule: str, values: dict[str, float]) -> dict[str, float]:
    """The keyword arguments of ``lrp`` for ``rule`` from the panel's parameter values.

    β follows α (β = α − 1, so that relevance is conserved).
    """
    wanted = composite_parameters(rule)
    arguments = {name: values[name] for name in wanted if name in values}
    if "beta" in wanted and "alpha" in values:
        arguments["beta"] = values["alpha"] - 1.0
    return arguments


def lrp_methods() -> dict[str, PanelMethod]:
    """One entry per registered rule and composite (composites first), read now."""
    names = sorted(valid_names(), key=lambda name: name in RULES)  # stable: keeps order
    return {
        name: PanelMethod(
            lrp_label(name),
            _lrp(name),
            tuple(p for p in composite_parameters(name) if p in LRPPanel.parameter_controls),
        )
        for name in names
    }


def _epsilon_slider() -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(
        1e-6, base=10, min=-9, max=0, step=0.5, description="ε", readout_format=".0e"
    ).add_class("iw-lrp-epsilon")


class LRPPanel(AttributionPanel):
    """Layer-wise relevance propagation of one image for the clicked class.

    Traits: ``rule`` (any registered rule or composite name), ``epsilon``, ``alpha``
    (β = α − 1) and ``gamma``. The conservation line compares the relevance that reaches
    the input, Σ R, with the explained pre-softmax score.

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation"; Montavon et al. (2019), "Layer-Wise Relevance
    Propagation: An Overview".
    """

    family = "LRP"
    method_trait = "rule"
    parameter_controls: ClassVar[dict[str, Any]] = {
        "epsilon": _epsilon_slider,
        "alpha": lambda: widgets.FloatSlider(
            1.0, min=1.0, max=4.0, step=0.5, description="α (β = α−1)"
        ).add_class("iw-lrp-alpha"),
        "gamma": lambda: widgets.FloatSlider(
            0.25, min=0.0, max=2.0, step=0.05, description="γ"
        ).add_class("iw-lrp-gamma"),
    }

    rule = traitlets.Unicode("epsilon_plus")
    epsilon = traitlets.Float(1e-6)
    alpha = traitlets.Float(1.0)
    gamma = traitlets.Float(0.25)
    cmap = traitlets.Unicode("bwr")
    normalization = traitlets.Unicode("symmetric")
    _valid_rule = method_check("rule")

    def method_table(self) -> dict[str, PanelMethod]:
        return lrp_methods()

    def method_controls(self) -> list[widgets.Widget]:
        self.rule_dropdown = self.method_selector("iw-lrp-rule", "260px", "rule")
        self.conservation = widgets.HTML().add_class("iw-conservation")
        traitlets.dlink((self.main, "note_text"), (self.conservation, "value"))
        return [self.rule_dropdown, *self.parameter_widgets.values(), self.conservation]

    _valid_epsilon = at_least("epsilon", 0)
    _valid_gamma = at_least("gamma", 0)

    @traitlets.validate("alpha")
    def _valid_alpha(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] >= 1:
            raise traitlets.TraitError("alpha must be >= 1 (beta = alpha - 1 >= 0)")
        return proposal["value"]

    def rule_parameters(self, rule: str | None = None) -> dict[str, float]:
        """The keyword arguments of ``lrp`` that ``rule`` (default: the panel's) takes."""
        rule = rule or self.rule
        return lrp_arguments(rule, self.parameters(rule))


def _saliency(model: Any, x: np.ndarray, target: int) -> RawMap:
    return RawMap(to_map(saliency(model, x, target)[0]))


def _guided_backprop(model: Any, x: np.ndarray, target: int) -> RawMap:
    return RawMap(to_map(guided_backprop(model, x, target)[0]))


def _smoothgrad(model: Any, x: np.ndarray, target: int, samples: int, noise: float) -> RawMap:
    return RawMap(to_map(smoothgrad(model, x, target, samples=samples, noise=noise)[0]))


def _integrated_gradients(model: Any, x: np.ndarray, target: int, steps: int) -> RawMap:
    report = integrated_gradients_report(model, x, target, steps=steps)
    total = float(report.score_difference[0] + report.completeness_error[0])
    note = (
        f"Σ IG = {total:.3g}; score(x) − score(0) = {float(report.score_difference[0]):.3g}"
    )
    return RawMap(to_map(report.attribution[0]), note)


#: The gradient family: key -> (label, compute, parameters).
GRADIENT_METHODS = {
    "saliency": PanelMethod("Saliency", _saliency),
    "smoothgrad": PanelMethod("SmoothGrad", _smoothgrad, ("samples", "noise")),
    "integrated_gradients": PanelMethod(
        "Integrated Gradients", _integrated_gradients, ("steps",)
    ),
    "guided_backprop": PanelMethod("Guided Backprop", _guided_backprop),
}


class GradientPanel(AttributionPanel):
    """Saliency, SmoothGrad, Integrated Gradients or guided backprop of one image for a class.

    Traits: ``method`` (a key of :data:`GRADIENT_METHODS`), ``samples`` and ``noise``
    (SmoothGrad), ``steps`` (Integrated Gradients, zero baseline). The raw map is the
    attribution summed over colour channels; under Integrated Gradients' map, the sum and
    the score difference it should equal (completeness).

    References
    ----------
    Simonyan et al. (2014); Smilkov et al. (2017), "SmoothGrad"; Sundararajan et al.
    (2017), "Axiomatic Attribution for Deep Networks"; Springenberg et al. (2015),
    "Striving for Simplicity: The All Convolutional Net" (guided backprop).
    """

    parameter_controls: ClassVar[dict[str, Any]] = {
        "samples": slider_control(widgets.IntSlider, 16, 1, 128, "samples", "iw-gradient-samples"),
        "noise": slider_control(
            widgets.FloatSlider, 0.15, 0.0, 0.5, "noise", "iw-gradient-noise", step=0.01
        ),
        "steps": slider_control(widgets.IntSlider, 32, 1, 256, "steps", "iw-gradient-steps"),
    }

    method = traitlets.Unicode("saliency")
    samples = traitlets.Int(16)
    noise = traitlets.Float(0.15)
    steps = traitlets.Int(32)
    cmap = traitlets.Unicode("inferno")
    normalization = traitlets.Unicode("abs")
    opacity = traitlets.Float(0.6)
    _valid_method = method_check("method")

    def method_table(self) -> dict[str, PanelMethod]:
        return GRADIENT_METHODS

    def method_controls(self) -> list[widgets.Widget]:
        self.method_dropdown = self.method_selector("iw-gradient-method", "260px")
        return [self.method_dropdown, *self.parameter_widgets.values()]
