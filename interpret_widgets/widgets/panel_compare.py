"""The second map of an attribution panel: another class, or another method for the class.

:class:`PanelComparison` is mixed into :class:`~.attribution.AttributionPanel`: the traits
of what the second map shows (``compare``, ``compare_mode``, ``compare_target``,
``compare_method``), their validation, and the observers that keep them consistent (the
runner-up class once the target is known; the compared method another one than the
panel's own) and show the controls of the mode in use. :meth:`PanelComparison.views` says
which (method, class) maps are shown.
"""

from __future__ import annotations

from typing import Any

import traitlets

from .panel_maps import method_check
from .validators import check_one_of

#: What the second map compares with: another class, or another method for the same class.
COMPARE_MODES = ("class", "method")


class PanelComparison(traitlets.HasTraits):
    """What a panel's second map shows: ``compare`` on/off, by class or by method.

    ``compare_target`` is the compared class (``compare_mode = "class"``),
    ``compare_method`` a key of the panel's method table (``compare_mode = "method"``).
    """

    compare = traitlets.Bool(False)
    compare_mode = traitlets.Unicode("class")
    compare_target = traitlets.Int(-1)
    compare_method = traitlets.Unicode()
    methods: Any

    _valid_compare_method = method_check("compare_method")

    @traitlets.validate("compare_mode")
    def _valid_compare_mode(self, proposal: dict[str, Any]) -> str:
        check_one_of("compare_mode", proposal["value"], COMPARE_MODES)
        if proposal["value"] == "method" and len(self.methods) < 2:
            raise traitlets.TraitError(f"{type(self).__name__} has no other method to compare")
        return proposal["value"]

    @traitlets.default("compare_method")
    def _default_compare_method(self) -> str:
        others = [key for key in self.method_table() if key != self.current_method]
        return others[0] if others else ""

    def views(self) -> list[tuple[str, int]]:
        """The (method, class) of each map shown: the panel's own, then the comparison."""
        views = [(self.current_method, self.target)]
        if self.compare and self.compare_mode == "method":
            views.append((self.compare_method, self.target))
        elif self.compare and self.compare_target >= 0:
            views.append((self.current_method, self.compare_target))
        return views

    @traitlets.observe("compare", "compare_mode")
    def _on_compare_change(self, change: dict[str, Any]) -> None:
        self._show_compare_controls()
        if not self.compare and change["name"] == "compare_mode":
            return  # nothing shown changes
        with self.hold_updates():
            self._pick_compare_target()
            self.request_update()

    @traitlets.observe("compare_method")
    def _on_compare_method_change(self, change: dict[str, Any]) -> None:
        self._show_compare_controls()
        if self.compare and self.compare_mode == "method":
            self.request_update()

    def _on_method_change(self, change: dict[str, Any]) -> None:
        """The panel's own method changed: keep the compared one another one, redraw.

        Maps are cached per method; a comparison with the method just chosen swaps to the
        one it replaced.
        """
        with self.hold_updates():
            wanted = self.compare_method
            if wanted == change["new"] and change["old"] in self.methods:
                wanted = change["old"]
            self.controls.offer_compare_methods(change["new"])
            self.compare_method = wanted
            self.controls.compare_method_dropdown.value = wanted
            self._show_compare_controls()
            self.request_update()

    def _pick_compare_target(self) -> None:
        # The runner-up once the target is known.
        if self.compare and self.ready and self.target >= 0 and self.compare_target < 0:
            self.compare_target = self.selection.runner_up(self.target)

    def _show_compare_controls(self) -> None:
        by_class = self.compare_mode == "class"
        self.compare_row.layout.display = None if self.compare else "none"
        self.controls.show_compare(self.compare, by_class)
        used = {name for method, _ in self.views() for name in self.methods[method].parameters}
        for name, control in self.parameter_widgets.items():
            control.layout.display = None if name in used else "none"

