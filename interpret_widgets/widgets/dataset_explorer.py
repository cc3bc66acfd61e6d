"""DatasetExplorer: a whole data set's explanations as a 3-D or 2-D scatter to explore.

Each point is one image, placed by an embedding of its map (t-SNE of SpRAy features), and
coloured by class, by correctness, by a per-image metric or by the SpRAy cluster of the class
being analysed. Clicking a point shows that image, its map and its prediction, and moves a
linked Dashboard to it. "Find strategies" runs SpRAy on one class and shows each cluster's
mean map: a cluster that looks somewhere other than the object is a Clever Hans candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot
import ipyvolume as ipv
import ipywidgets as widgets
import numpy as np
import traitlets

from .. import dataset
from ..render import colorize, normalize, overlay, tile, to_uint8_image, upscale, upscale_factor
from ..render.points import category_colors, hex_colors, value_colors
from .common import image_widget, set_png
from .validators import check_one_of, one_of
from .view import View, captured

COLOUR_BY = ("class", "prediction", "correct", "cluster")
VIEWS = ("3-D", "2-D")


class DatasetExplorer(View):
    """Explore ``result`` (a :class:`~interpret_widgets.dataset.DatasetResult`) over ``images``.

    ``result_or_model`` may also be a model: the explorer then runs
    :func:`~interpret_widgets.dataset.explain_dataset` with ``method`` itself, in the
    background, with progress in the status line. ``labels`` (the true classes) enable the
    "correct" colouring and the misclassified filter.

    Traits: ``index`` (the selected image), ``colour_by`` (one of :data:`COLOUR_BY` or a
    metric name of the result), ``view`` ("3-D" or "2-D"), ``misclassified_only``,
    ``spray_class`` (the class SpRAy analyses), ``n_clusters`` (0: from the eigengap) and
    ``cluster`` (the cluster whose prototypes are shown, −1 for none).
    """

    index = traitlets.Int(0)
    colour_by = traitlets.Unicode("class")
    view = traitlets.Unicode("3-D")
    misclassified_only = traitlets.Bool(False)
    spray_class = traitlets.Int(0)
    n_clusters = traitlets.Int(0)
    cluster = traitlets.Int(-1)

    def __init__(
        self,
        result_or_model: Any,
        images: np.ndarray,
        labels: Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
        *,
        method: str = "grad_cam",
        embedding: str | None = None,
        **method_kwargs: Any,
    ) -> None:
        super().__init__()
        self.images = np.asarray(images, dtype=np.float32)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.result: dataset.DatasetResult | None = None
        self.spray_result: dataset.SprayResult | None = None
        self.embedding = np.zeros((0, 3), np.float32)
        self._embedding_method = embedding
        self._visible = np.zeros(0, np.int64)
        self._points_shown: tuple | None = None  # what the scatter's points were drawn for
        self._data_version = 0  # a new result or SpRAy result: the points change
        self._links: list[traitlets.link] = []
        self.class_names = list(class_names) if class_names is not None else None
        self._build_widgets()
        if isinstance(result_or_model, dataset.DatasetResult):
            self._use_result(result_or_model)
        else:
            self.run_in_background(
                f"explaining {len(self.images)} images with {method}…",
                lambda: dataset.explain_dataset(
                    result_or_model, self.images, method, labels=self.labels,
                    progress=self._show_progress, **method_kwargs),
                self._use_result,
            )

    # -- building ------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.add_class("iw-dataset-explorer")
        self.view_toggle = widgets.ToggleButtons(options=VIEWS, value=self.view)
        self.colour_select = widgets.Dropdown(options=COLOUR_BY, value="class",
                                              description="colour")
        self.misclassified_box = widgets.Checkbox(description="misclassified only")
        # Per-point arrays throughout: ipyvolume 0.6 turns a scalar size or colour into a 0-d
        # array that its comm cannot serialize.
        self.scatter3d = ipv.Scatter(geo="sphere", **_points_3d(np.zeros((1, 3)), np.zeros((1, 3))))
        self.figure3d = ipv.Figure(scatters=[self.scatter3d], width=520, height=440)
        self.figure3d.xlabel, self.figure3d.ylabel, self.figure3d.zlabel = "t1", "t2", "t3"
        self.scatter2d = bqplot.Scatter(x=[0.0], y=[0.0], scales={
            "x": bqplot.LinearScale(), "y": bqplot.LinearScale()}, default_size=16)
        self.figure2d = bqplot.Figure(marks=[self.scatter2d], layout=widgets.Layout(
            width="520px", height="440px"), fig_margin={"top": 10, "bottom": 10, "left": 10,
                                                        "right": 10})
        self.figure2d.add_class("iw-dataset-scatter")
        self.plot = widgets.Box([self.figure3d])
        self.picture = image_widget(220).add_class("iw-dataset-picture")
        self.heatmap = image_widget(220).add_class("iw-dataset-heatmap")
        self.caption = widgets.HTML().add_class("iw-dataset-caption")
        self.class_select = widgets.Dropdown(options=[("–", 0)], value=0, description="class")
        self.clusters_text = widgets.BoundedIntText(value=0, min=0, max=20,
                                                    description="clusters (0 = auto)")
        self.spray_button = widgets.Button(description="Find strategies", icon="search")
        self.cluster_select = widgets.Dropdown(options=[("–", -1)], value=-1,
                                               description="cluster")
        self.spray_summary = widgets.HTML()
        self.prototypes = image_widget(360)
        self.members = image_widget(360)
        for source, name in ((self.view_toggle, "view"), (self.colour_select, "colour_by"),
                             (self.misclassified_box, "misclassified_only"),
                             (self.class_select, "spray_class"),
                             (self.clusters_text, "n_clusters"),
                             (self.cluster_select, "cluster")):
            self._links.append(traitlets.link((source, "value"), (self, name)))
        self.scatter3d.observe(self._on_clicked_3d, "clicked_index")
        self.scatter2d.on_element_click(self._on_clicked_2d)
        self.spray_button.on_click(lambda _: self.find_strategies())
        detail = widgets.VBox([self.picture, self.heatmap, self.caption])
        self.children = [
            widgets.HBox([self.view_toggle, self.colour_select, self.misclassified_box]),
            widgets.HBox([self.plot, detail]),
            widgets.HBox([self.class_select, self.clusters_text, self.spray_button]),
            widgets.HBox([self.cluster_select, self.spray_summary]),
            widgets.HBox([self.prototypes, self.members]),
            self.status,
        ]

    def _show_progress(self, done: int, total: int | None) -> None:
        self.status.show(f"explaining images: {done} of {total}…", "busy")

    def _use_result(self, result: dataset.DatasetResult) -> None:
        if len(result) != len(self.images):
            raise ValueError(f"the result explains {len(result)} images, {len(self.images)} "
                             "were given")
        self.result = result
        self._data_version += 1
        self.embedding = dataset.map_embedding(result, 3, method=self._embedding_method)
        names = self.class_names or [f"class {k}" for k in range(int(result.targets.max()) + 1)]
        self.class_names = names
        self.class_select.options = [(name, k) for k, name in enumerate(names)]
        self.colour_select.options = COLOUR_BY + tuple(result.metrics)
        self.status.show(f"{len(result)} images explained with {result.manifest.method}")
        self.ready = True
        self.request_update()

    # -- validation ------------------------------------------------------------------------
    @traitlets.validate("index")
    def _valid_index(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 0 <= value < len(self.images):
            raise traitlets.TraitError(f"index must be in [0, {len(self.images) - 1}], "
                                       f"got {value}")
        return value

    @traitlets.validate("colour_by")
    def _valid_colour_by(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        metrics = tuple(self.result.metrics) if self.result is not None else ()
        check_one_of("colour_by", value, COLOUR_BY + metrics)
        if value == "correct" and self.labels is None:
            raise traitlets.TraitError("colour_by='correct' needs labels")
        return value

    _valid_view = one_of("view", VIEWS)

    @traitlets.validate("misclassified_only")
    def _valid_misclassified(self, proposal: dict[str, Any]) -> bool:
        if proposal["value"] and self.labels is None:
            raise traitlets.TraitError("misclassified_only needs labels")
        return proposal["value"]

    # -- reactions ---------------------------------------------------------------------------
    @traitlets.observe("index", "colour_by", "view", "misclassified_only", "cluster")
    def _on_index_change(self, change: dict[str, Any]) -> None:
        self.request_update()

    @captured("Selecting a point")
    def _on_clicked_3d(self, change: dict[str, Any]) -> None:
        if change["new"] is not None and change["new"] < len(self._visible):
            self.index = int(self._visible[change["new"]])

    @captured("Selecting a point")
    def _on_clicked_2d(self, mark: Any, event: dict[str, Any]) -> None:
        self.index = int(self._visible[int(event["data"]["index"])])

    def find_strategies(self) -> None:
        """Run SpRAy on ``spray_class`` (in the background); then colour by cluster."""
        if self.result is None:
            return
        result, target, k = self.result, self.spray_class, self.n_clusters or None
        self.run_in_background(
            f"SpRAy on class {self.class_names[target]}…",
            lambda: dataset.spray(result, target, k),
            self._use_spray,
        )

    def _use_spray(self, found: dataset.SprayResult) -> None:
        self.spray_result = found
        self._data_version += 1
        self.cluster_select.options = [("–", -1)] + [
            (f"{c} ({int(np.sum(found.labels == c))} images)", c)
            for c in range(found.n_clusters)]
        self.spray_summary.value = (
            f"{len(found.indices)} images of <b>{self.class_names[self.spray_class]}</b>: "
            f"{found.n_clusters} clusters (eigengap)" if not self.n_clusters else
            f"{len(found.indices)} images, {found.n_clusters} clusters")
        factor = upscale_factor(found.prototypes.shape[1:], 64)
        grid = [upscale(colorize(normalize(p, "symmetric"), "bwr"), factor)
                for p in found.prototypes]
        set_png(self.prototypes, tile(grid, columns=min(4, len(grid))))
        self.status.show(f"SpRAy: {found.n_clusters} strategies found")
        with self.hold_updates():
            self.colour_by = "cluster"
            self.cluster = 0
            self.request_update()

    def link(self, dashboard: Any) -> traitlets.link:
        """Link the selected image to ``dashboard``'s (which must show the same images)."""
        count = len(dashboard.selection.images) if dashboard.selection is not None else 0
        if count != len(self.images):
            raise ValueError(f"the dashboard shows {count} images, the explorer "
                             f"{len(self.images)}; build it on the same images")
        connection = traitlets.link((self, "index"), (dashboard, "image_index"))
        self._links.append(connection)
        return connection

    # -- rendering -------------------------------------------------------------------------
    def point_colours(self) -> np.ndarray:
        """RGB ``(N, 3)`` of every point under the current ``colour_by``."""
        result = self.result
        if self.colour_by == "class":
            return category_colors(result.targets)
        if self.colour_by == "prediction":
            return category_colors(result.predictions)
        if self.colour_by == "correct":
            return category_colors((result.predictions == self.labels).astype(int) + 2)
        if self.colour_by == "cluster":
            values = np.full(len(result), -1)
            if self.spray_result is not None:
                values[self.spray_result.indices] = self.spray_result.labels
            return category_colors(values)
        return value_colors(result.metrics[self.colour_by])

    def visible_points(self) -> np.ndarray:
        """Indices of the points shown (all, or the misclassified ones)."""
        shown = np.ones(len(self.images), bool)
        if self.misclassified_only:
            shown &= self.result.predictions != self.labels
        return np.flatnonzero(shown)

    def update(self) -> None:
        points = (self.view, self.colour_by, self.misclassified_only, self._data_version)
        if points != self._points_shown:
            self._render_points()
            self._points_shown = points
        self._render_detail()
        self._render_members()

    def _render_points(self) -> None:
        """Send the scatter's points: only when what they show changed, never on a click.

        With 10,000 points, re-sending the arrays made the front end rebuild the whole
        scatter on every selection (seconds in the browser, for a picture that had not
        changed).
        """
        self._visible = self.visible_points()
        colours, coords = self.point_colours()[self._visible], self.embedding[self._visible]
        if self.view == "3-D":
            self.plot.children = [self.figure3d]
            with self.scatter3d.hold_sync():
                for name, value in _points_3d(coords, colours).items():
                    setattr(self.scatter3d, name, value)
        else:
            self.plot.children = [self.figure2d]
            with self.scatter2d.hold_sync():
                self.scatter2d.x, self.scatter2d.y = coords[:, 0], coords[:, 1]
                self.scatter2d.colors = hex_colors(colours)

    def _render_detail(self) -> None:
        i, result = self.index, self.result
        set_png(self.picture, to_uint8_image(self.images[i]))
        set_png(self.heatmap, overlay(self.images[i], result.maps[i], "jet", 0.5))
        names = self.class_names
        truth = "" if self.labels is None else f", label <b>{names[self.labels[i]]}</b>"
        self.caption.value = (f"image {i}: predicted <b>{names[result.predictions[i]]}</b>"
                              f"{truth}; map of <b>{names[result.targets[i]]}</b> "
                              f"(score {result.scores[i]:.3g})")

    def _render_members(self) -> None:
        found = self.spray_result
        if found is None or not 0 <= self.cluster < found.n_clusters:
            self.members.value = b""
            return
        nearest = found.nearest[self.cluster]
        set_png(self.members, tile([to_uint8_image(self.images[j]) for j in nearest],
                                   columns=4))


def _points_3d(coords: np.ndarray, colours: np.ndarray) -> dict[str, np.ndarray]:
    """The ipyvolume Scatter traits of ``coords`` (n, 3) coloured ``colours`` (n, 3)."""
    n = len(coords)
    return {
        "x": coords[:, 0].copy(),
        "y": coords[:, 1].copy(),
        "z": coords[:, 2].copy(),
        "color": colours,
        "color_selected": np.ones((n, 3), np.float32),
        "size": np.full(n, 2.0, np.float32),
        "size_selected": np.full(n, 3.0, np.float32),
    }
