"""Perturbation methods: occlusion, LIME and KernelSHAP over superpixels.

All of them (and Score-CAM) score their perturbed copies through one batched evaluator
(:mod:`.evaluate`), which also carries the ``progress(done, total)`` callback that can stop
a run (:class:`~interpret_widgets.methods.progress.Stopped`).
"""

from .lime import lime
from .occlusion import occlusion
from .segments import superpixels
from .shapley import kernel_shap

__all__ = ["kernel_shap", "lime", "occlusion", "superpixels"]
