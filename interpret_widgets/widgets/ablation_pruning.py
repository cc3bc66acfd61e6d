"""The pruning section of the ablation panel: accuracy against the pruned fraction, live.

:func:`~interpret_widgets.methods.iter_pruning_curve` yields one point per pruned amount;
a :class:`~.components.worker.Worker` thread draws each point as it comes into a
:class:`~.components.PruningChart` (one line per criterion), with the shared
:class:`~.components.run_controls.RunControls` (run, stop, progress). The model is never
changed: the methods prune copies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets
import traitlets

from .. import methods
from ..methods.pruning import CRITERIA
from ..methods.pruning_curve import DEFAULT_AMOUNTS
from .components import StepProgress
from .components.pruning_chart import PruningChart
from .components.run_controls import RunControls
from .components.worker import Worker
from .panel_view import bind
from .validators import one_of
from .view import captured

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class PruningSection(traitlets.HasTraits):
    """Mixed into :class:`~.ablation_panel.AblationPanel` (a :class:`~.view.View` with a
    ``selection``, a ``model`` and ``labels``): the pruning controls, chart and run.

    Traits
    ------
    criterion : str
        The pruning criterion of the next run (one of ``methods.pruning.CRITERIA``).
    """

    criterion = traitlets.Unicode("l1")
    _valid_criterion = one_of("criterion", CRITERIA)

    def _build_pruning(self) -> None:
        """The criterion, run/stop/progress row and the chart (call once, while building)."""
        self._pruning = Worker("pruning")
        self.criterion_dropdown = widgets.Dropdown(
            options=list(CRITERIA), description="criterion"
        ).add_class("iw-pruning-criterion")
        bind(self.criterion_dropdown, self, "criterion")
        self.pruning_controls = RunControls(
            ("stop", "iw-pruning-stop"), ("run", "iw-pruning-run"),
            progress=StepProgress(), leading=[self.criterion_dropdown],
        )  # fmt: skip
        self.pruning_controls.on_start(self.run_pruning)
        self.pruning_controls.on_stop(self.stop)
        self.run_button = self.pruning_controls.start_button
        self.stop_button = self.pruning_controls.stop_button
        self.progress = self.pruning_controls.progress
        accuracy = "accuracy" if self.labels is not None else "agreement"
        self.chart = PruningChart(accuracy_label=accuracy)

    @property
    def pruning(self) -> bool:
        """Whether a pruning curve is being measured."""
        return self._pruning.running

    @captured("Pruning")
    def run_pruning(self, amounts: Sequence[float] = DEFAULT_AMOUNTS) -> None:
        """Measure the pruning curve of :attr:`criterion` on every image, in a worker thread.

        The line of that criterion restarts and grows point by point; other criteria's
        lines stay. :meth:`stop` halts it after the current point; :meth:`wait` joins it.
        """
        criterion, total = self.criterion, len(amounts)
        self.chart.start(criterion)
        self.pruning_controls.running(True)
        self.progress.show(0, total)

        def job(run_id: int, stop: threading.Event) -> None:
            started = time.perf_counter()
            with self.capture(f"Pruning ({criterion})"):
                self.status.show(f"pruning by {criterion}: ranking the filters…")
                points = methods.iter_pruning_curve(
                    self.model, self.selection.images, self.labels, amounts, criterion
                )
                for done, point in enumerate(points, start=1):
                    if stop.is_set() or not self._pruning.is_current(run_id):
                        break
                    self.chart.add(criterion, point.amount, point.accuracy, point.mean_score)
                    self.progress.show(done, total, time.perf_counter() - started)
                    self.status.show(f"pruning by {criterion}: {done} / {total} amounts")
                stopped = " (stopped)" if stop.is_set() else ""
                self.status.show(f"pruning by {criterion}: done{stopped}")
            self.pruning_controls.running(False)

        self._pruning.start(job)

    def stop(self) -> bool:
        """Stop a running pruning curve after its current point; True if one was asked."""
        return self._pruning.stop()

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until background work (and a pruning run) is done; False on timeout."""
        return super().wait(timeout) and self._pruning.wait(timeout)

    def close(self) -> None:
        """Stop a pruning run and close the widgets."""
        self._pruning.close()
        super().close()

    def pruning_figure(self) -> Figure:
        """The pruning curves measured so far (:func:`~.render.pruning_curves_figure`).

        Raises
        ------
        ValueError
            If no curve has been measured.
        """
        from ..render.curves import pruning_curves_figure

        label = "accuracy" if self.labels is not None else "agreement"
        return pruning_curves_figure(self.chart.arrays(), accuracy_label=label)

