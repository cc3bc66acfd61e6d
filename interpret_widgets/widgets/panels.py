"""The attribution panels: Grad-CAM, LRP and the gradient family.

Each panel is an :class:`~interpret_widgets.widgets.attribution.AttributionPanel` that adds
its method's traits and controls and a :meth:`compute` that calls the method from
:mod:`interpret_widgets.methods`; caching, rendering, error capture and the side-by-side
comparison (another class, or another of the panel's methods) are shared.
"""

from __future__ import annotations

from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods import (
    grad_cam,
    grad_cam_plus_plus,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from ..render import to_map
from .attribution import AttributionPanel, RawMap

CAM_VARIANTS = {"gradcam": ("Grad-CAM", grad_cam), "gradcam++": ("Grad-CAM++", grad_cam_plus_plus)}


class GradCAMPanel(AttributionPanel):
    """Grad-CAM (or Grad-CAM++) of one image for the clicked class, at a chosen layer.

    Traits (besides the common ones): ``layer``, the name of a layer with a 4-D output
    (default: the last one), and ``variant``, ``"gradcam"`` or ``"gradcam++"``; the method
    comparison shows the other variant at the same layer.

    References
    ----------
    Selvaraju et al. (2017), "Grad-CAM"; Chattopadhyay et al. (2018), "Grad-CAM++".
    """

    method_label = "Grad-CAM"
    method_choices: ClassVar[dict[str, str]] = {k: label for k, (label, _) in CAM_VARIANTS.items()}
    _method_trait = "variant"

    layer = traitlets.Unicode("")
    variant = traitlets.Unicode("gradcam")

    def _setup(self) -> None:
        names = [
            self.adapter.name_of(e) for e in self.adapter.spatial_layers() if e.kind != "model"
        ]
        default = self.adapter.cam_layer(None)  # raises a clear error without a 4-D layer
        wanted = self.layer or self.adapter.name_of(default)
        self.layer_dropdown.options = names  # (moves the dropdown's value, hence the reset)
        self.layer = wanted
        if wanted in names:
            self.layer_dropdown.value = wanted

    def _method_controls(self) -> list[widgets.Widget]:
        return [self.layer_dropdown, self.variant_buttons]

    def _build_common_view(self, top_k: int) -> None:
        super()._build_common_view(top_k)
        self.layer_dropdown = widgets.Dropdown(
            options=[], description="layer", layout=widgets.Layout(width="230px")
        ).add_class("iw-cam-layer")
        self.variant_buttons = widgets.ToggleButtons(
            options=[(label, key) for key, (label, _) in CAM_VARIANTS.items()],
            style={"button_width": "115px"},
        ).add_class("iw-cam-variant")
        self.layer_dropdown.observe(self._on_layer_dropdown_change, "value")
        self._bind(self.variant_buttons, "variant")

    def _on_layer_dropdown_change(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.layer = change["new"]

    @traitlets.validate("variant")
    def _valid_variant(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in CAM_VARIANTS:
            raise traitlets.TraitError(
                f"variant must be one of {tuple(CAM_VARIANTS)}, got {proposal['value']!r}"
            )
        return proposal["value"]

    @traitlets.observe("layer")
    def _on_layer_change(self, change: dict[str, Any]) -> None:
        # A layer the dropdown does not list (set from code or a linked explorer) is still
        # tried: the method's error message then says why it does not fit.
        if change["new"] in self.layer_dropdown.options:
            self.layer_dropdown.value = change["new"]
        self.invalidate()

    @traitlets.observe("variant")
    def _on_variant_change(self, change: dict[str, Any]) -> None:
        self.method_label = CAM_VARIANTS[change["new"]][0]
        self._switch_method(change)

    def compute(self, target: int, method: str | None = None) -> RawMap:
        cam_method = CAM_VARIANTS[method or self.variant][1]
        cam = cam_method(self.model, self.current_batch(), target, self.layer)[0]
        return RawMap(cam, f"layer {self.layer}, {cam.shape[0]}×{cam.shape[1]}")

    def describe(self, method: str | None = None) -> str:
        return f"{CAM_VARIANTS[method or self.variant][0]} at {self.layer}"


#: LRP rules and composites offered in the dropdown, with the parameters each one uses.
LRP_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "epsilon_plus": ("composite ε + z⁺", ("epsilon",)),
    "epsilon_plus_flat": ("composite ε + z⁺ + flat", ("epsilon",)),
    "epsilon_gamma_box": ("composite ε + γ + zᴮ", ("epsilon", "gamma")),
    "epsilon_alpha2_beta1": ("composite ε + α2β1", ("epsilon",)),
    "epsilon": ("ε rule", ("epsilon",)),
    "zplus": ("z⁺ rule", ()),
    "alpha_beta": ("α-β rule", ("alpha",)),
    "gamma": ("γ rule", ("gamma",)),
    "flat": ("flat rule", ()),
}


def conservation_text(score: float, relevance_sum: float) -> str:
    """How much of the score the input relevance keeps, e.g. ``Σ R = 0.97 · score``."""
    if abs(score) < 1e-12:
        return f"Σ R = {relevance_sum:.3g} (score {score:.3g})"
    return f"Σ R = {relevance_sum / score:.2f} · score (score {score:.2f})"


class LRPPanel(AttributionPanel):
    """Layer-wise relevance propagation of one image for the clicked class.

    Traits: ``rule`` (a rule or composite name from :data:`LRP_RULES`), ``epsilon``,
    ``alpha`` (β = α − 1) and ``gamma``. The conservation line compares the relevance that
    reaches the input, Σ R, with the explained pre-softmax score. The method comparison
    shows another rule or composite, with the same parameter values.

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation"; Montavon et al. (2019), "Layer-Wise Relevance
    Propagation: An Overview".
    """

    method_label = "LRP"
    method_choices: ClassVar[dict[str, str]] = {k: label for k, (label, _) in LRP_RULES.items()}
    _method_trait = "rule"

    rule = traitlets.Unicode("epsilon_plus")
    epsilon = traitlets.Float(1e-6)
    alpha = traitlets.Float(1.0)
    gamma = traitlets.Float(0.25)
    cmap = traitlets.Unicode("bwr")
    normalization = traitlets.Unicode("symmetric")

    def _build_common_view(self, top_k: int) -> None:
        super()._build_common_view(top_k)
        self.rule_dropdown = widgets.Dropdown(
            options=[(label, key) for key, (label, _) in LRP_RULES.items()],
            description="rule",
            layout=widgets.Layout(width="260px"),
        ).add_class("iw-lrp-rule")
        self.epsilon_slider = widgets.FloatLogSlider(
            1e-6, base=10, min=-9, max=0, step=0.5, description="ε", readout_format=".0e"
        ).add_class("iw-lrp-epsilon")
        self.alpha_slider = widgets.FloatSlider(
            1.0, min=1.0, max=4.0, step=0.5, description="α (β = α−1)"
        ).add_class("iw-lrp-alpha")
        self.gamma_slider = widgets.FloatSlider(
            0.25, min=0.0, max=2.0, step=0.05, description="γ"
        ).add_class("iw-lrp-gamma")
        self.conservation = widgets.HTML().add_class("iw-conservation")
        for control, name in (
            (self.rule_dropdown, "rule"),
            (self.epsilon_slider, "epsilon"),
            (self.alpha_slider, "alpha"),
            (self.gamma_slider, "gamma"),
        ):
            self._bind(control, name)
        self._show_parameters()

    def _parameter_controls(self) -> dict[str, widgets.Widget]:
        return {
            "epsilon": self.epsilon_slider,
            "alpha": self.alpha_slider,
            "gamma": self.gamma_slider,
        }

    def _method_parameters(self, method: str) -> tuple[str, ...]:
        return LRP_RULES[method][1]

    def _method_controls(self) -> list[widgets.Widget]:
        return [
            self.rule_dropdown,
            self.epsilon_slider,
            self.alpha_slider,
            self.gamma_slider,
            self.conservation,
        ]

    def _setup(self) -> None:
        from ..methods.lrp import lrp_report  # noqa: F401  (a clear error if it is missing)

    @traitlets.validate("rule")
    def _valid_rule(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in LRP_RULES:
            raise traitlets.TraitError(
                f"rule must be one of {tuple(LRP_RULES)}, got {proposal['value']!r}"
            )
        return proposal["value"]

    @traitlets.validate("epsilon", "gamma")
    def _valid_non_negative(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] >= 0:
            raise traitlets.TraitError(f"{proposal['trait'].name} must be >= 0")
        return proposal["value"]

    @traitlets.validate("alpha")
    def _valid_alpha(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] >= 1:
            raise traitlets.TraitError("alpha must be >= 1 (beta = alpha - 1 >= 0)")
        return proposal["value"]

    @traitlets.observe("rule", "epsilon", "alpha", "gamma")
    def _on_rule_change(self, change: dict[str, Any]) -> None:
        if change["name"] == "rule":
            self._switch_method(change)
        else:  # recomputes only if a shown rule uses it
            self._update_parameter(change["name"])

    def rule_parameters(self, rule: str | None = None) -> dict[str, float]:
        """The keyword arguments that ``rule`` (default: the panel's) takes from the traits."""
        used = LRP_RULES[rule or self.rule][1]
        params: dict[str, float] = {}
        if "epsilon" in used:
            params["epsilon"] = self.epsilon
        if "alpha" in used:
            params["alpha"], params["beta"] = self.alpha, self.alpha - 1.0
        if "gamma" in used:
            params["gamma"] = self.gamma
        return params

    def compute(self, target: int, method: str | None = None) -> RawMap:
        from ..methods.lrp import lrp_report

        rule = method or self.rule
        report = lrp_report(
            self.model, self.current_batch(), target, rule, **self.rule_parameters(rule)
        )
        text = conservation_text(float(report.scores[0]), float(report.input_sum[0]))
        return RawMap(to_map(np.asarray(report.relevance)[0]), text)

    def _render(self) -> None:
        super()._render()
        self.conservation.value = self._cache[self._views()[0]].note

    def describe(self, method: str | None = None) -> str:
        rule = method or self.rule
        params = ", ".join(f"{k} = {v:.3g}" for k, v in self.rule_parameters(rule).items())
        return f"LRP {rule}" + (f" ({params})" if params else "")


GRADIENT_METHODS = {
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
}


class GradientPanel(AttributionPanel):
    """Saliency, SmoothGrad or Integrated Gradients of one image for the clicked class.

    Traits: ``method`` (a key of :data:`GRADIENT_METHODS`), ``samples`` and ``noise``
    (SmoothGrad), ``steps`` (Integrated Gradients, zero baseline). The raw map is the
    attribution summed over colour channels. The method comparison shows another of the
    three, with the same parameter values.

    References
    ----------
    Simonyan et al. (2014); Smilkov et al. (2017), "SmoothGrad"; Sundararajan et al.
    (2017), "Axiomatic Attribution for Deep Networks".
    """

    method_label = "Saliency"
    method_choices: ClassVar[dict[str, str]] = GRADIENT_METHODS
    _method_trait = "method"

    method = traitlets.Unicode("saliency")
    samples = traitlets.Int(16)
    noise = traitlets.Float(0.15)
    steps = traitlets.Int(32)
    cmap = traitlets.Unicode("inferno")
    normalization = traitlets.Unicode("abs")
    opacity = traitlets.Float(0.6)

    def _build_common_view(self, top_k: int) -> None:
        super()._build_common_view(top_k)
        self.method_dropdown = widgets.Dropdown(
            options=[(label, key) for key, label in GRADIENT_METHODS.items()],
            description="method",
            layout=widgets.Layout(width="260px"),
        ).add_class("iw-gradient-method")
        self.samples_slider = widgets.IntSlider(
            16, min=1, max=128, description="samples", continuous_update=False
        ).add_class("iw-gradient-samples")
        self.noise_slider = widgets.FloatSlider(
            0.15, min=0.0, max=0.5, step=0.01, description="noise", continuous_update=False
        ).add_class("iw-gradient-noise")
        self.steps_slider = widgets.IntSlider(
            32, min=1, max=256, description="steps", continuous_update=False
        ).add_class("iw-gradient-steps")
        for control, name in (
            (self.method_dropdown, "method"),
            (self.samples_slider, "samples"),
            (self.noise_slider, "noise"),
            (self.steps_slider, "steps"),
        ):
            self._bind(control, name)
        self._show_parameters()

    def _method_controls(self) -> list[widgets.Widget]:
        return [self.method_dropdown, self.samples_slider, self.noise_slider, self.steps_slider]

    def _parameter_controls(self) -> dict[str, widgets.Widget]:
        return {
            "samples": self.samples_slider,
            "noise": self.noise_slider,
            "steps": self.steps_slider,
        }

    def _method_parameters(self, method: str) -> tuple[str, ...]:
        return {"smoothgrad": ("samples", "noise"), "integrated_gradients": ("steps",)}.get(
            method, ()
        )

    @traitlets.validate("method")
    def _valid_method(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in GRADIENT_METHODS:
            raise traitlets.TraitError(
                f"method must be one of {tuple(GRADIENT_METHODS)}, got {proposal['value']!r}"
            )
        return proposal["value"]

    @traitlets.observe("method", "samples", "noise", "steps")
    def _on_method_change(self, change: dict[str, Any]) -> None:
        if change["name"] == "method":
            self.method_label = GRADIENT_METHODS[change["new"]]
            self._switch_method(change)
        else:  # recomputes only if a shown method uses it
            self._update_parameter(change["name"])

    def attribution(self, target: int, method: str | None = None) -> np.ndarray:
        """The ``(H, W, C)`` attribution of the current image for ``target``.

        ``method`` is a key of :data:`GRADIENT_METHODS` (default: the panel's ``method``).
        """
        method = method or self.method
        x = self.current_batch()
        if method == "smoothgrad":
            return smoothgrad(self.model, x, target, samples=self.samples, noise=self.noise)[0]
        if method == "integrated_gradients":
            return integrated_gradients(self.model, x, target, steps=self.steps)[0]
        return saliency(self.model, x, target)[0]

    def compute(self, target: int, method: str | None = None) -> RawMap:
        method = method or self.method
        values = self.attribution(target, method)
        note = ""
        if method == "integrated_gradients":
            x = self.current_batch()
            scores = self.adapter.logits(np.concatenate([x, np.zeros_like(x)]))[:, target]
            note = (
                f"Σ IG = {float(values.sum()):.3g}; score(x) − score(0) = "
                f"{float(scores[0] - scores[1]):.3g}"
            )
        return RawMap(to_map(values), note)

    def describe(self, method: str | None = None) -> str:
        method = method or self.method
        if method == "smoothgrad":
            return f"SmoothGrad ({self.samples} samples, noise {self.noise:.2f})"
        if method == "integrated_gradients":
            return f"Integrated Gradients ({self.steps} steps)"
        return "Saliency"
