"""DatasetExplorer in Python: points, clicks in 3-D and 2-D, colourings, the misclassified
filter, SpRAy from the button, the Dashboard link, validation, and a model as input."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from interpret_widgets import Dashboard, DatasetExplorer
from interpret_widgets.dataset import explain_dataset
from interpret_widgets.demo import CLASS_NAMES

POINT_TRAITS_3D = ("x", "y", "z", "color", "color_selected", "size", "size_selected")


@pytest.fixture(scope="module")
def data(demo_data):
    images, labels, _ = demo_data
    return images[:48], labels[:48].astype(np.int64)


@pytest.fixture(scope="module")
def result(demo_model, data, tmp_path_factory):
    images, _ = data
    return explain_dataset(demo_model, images, "grad_cam", out=tmp_path_factory.mktemp("r"))


@pytest.fixture
def explorer(result, data):
    images, labels = data
    labels = labels.copy()
    labels[:3] = (labels[:3] + 1) % 10  # three images the model now gets "wrong"
    view = DatasetExplorer(result, images, labels, CLASS_NAMES)
    assert view.ready and view.status.state == "ok", view.status.message
    return view


def test_every_image_is_a_point_coloured_by_its_class(explorer, result):
    assert len(explorer.scatter3d.x) == 48 and explorer.embedding.shape == (48, 3)
    colours = np.asarray(explorer.scatter3d.color)
    same = result.targets[:, None] == result.targets[None, :]
    equal_colour = np.all(colours[:, None] == colours[None, :], axis=-1)
    np.testing.assert_array_equal(equal_colour, same)  # ≤ 10 classes: one colour each


def test_a_click_in_3d_and_in_2d_selects_the_image(explorer, data, result):
    images, _ = data
    before = explorer.heatmap.value
    explorer.scatter3d.clicked_index = 5
    assert explorer.index == 5 and explorer.heatmap.value != before
    assert CLASS_NAMES[result.predictions[5]] in explorer.caption.value
    explorer.view = "2-D"
    assert explorer.plot.children == (explorer.figure2d,)
    assert len(explorer.scatter2d.x) == 48 and len(explorer.scatter2d.colors) == 48
    explorer.scatter2d._handle_custom_msgs(
        explorer.scatter2d, {"event": "element_click", "data": {"index": 7}}, [])
    assert explorer.index == 7


def test_a_click_sends_no_points(explorer):
    """#15: a selection changes the picture, the map and the caption, never the scatter's
    points (with 10,000 points, re-sending them on each click kept the browser busy for
    seconds); a change of what the points show sends them again."""
    sent = []
    explorer.scatter3d.observe(lambda c: sent.append(c["name"]), names=list(POINT_TRAITS_3D))
    explorer.scatter2d.observe(lambda c: sent.append(c["name"]), names=["x", "y", "colors"])
    before = explorer.heatmap.value
    explorer.scatter3d.clicked_index = 9
    assert explorer.index == 9 and explorer.heatmap.value != before and sent == []
    explorer.view = "2-D"
    assert {"x", "y", "colors"} <= set(sent)
    sent.clear()
    explorer.scatter2d._handle_custom_msgs(
        explorer.scatter2d, {"event": "element_click", "data": {"index": 13}}, [])
    assert explorer.index == 13 and "image 13:" in explorer.caption.value and sent == []
    explorer.colour_by = "correct"
    assert sent == ["colors"]
    explorer.view = "3-D"
    assert "color" in sent


def test_misclassified_filter_and_correct_colouring(explorer, result):
    explorer.misclassified_only = True
    wrong = np.flatnonzero(result.predictions != explorer.labels)
    assert len(wrong) >= 3 and len(explorer.scatter3d.x) == len(wrong)
    np.testing.assert_allclose(explorer.scatter3d.x, explorer.embedding[wrong, 0])
    explorer.scatter3d.clicked_index = 0
    assert explorer.index == wrong[0]
    explorer.misclassified_only = False
    explorer.colour_by = "correct"
    colours = np.asarray(explorer.scatter3d.color)
    assert len({tuple(c) for c in colours[wrong]}) == 1
    assert tuple(colours[wrong[0]]) not in {tuple(c) for c in np.delete(colours, wrong, 0)}


def test_find_strategies_runs_spray_and_shows_prototypes(explorer, result):
    cls = int(np.bincount(result.targets).argmax())
    explorer.spray_class = cls
    explorer.n_clusters = 2
    explorer.spray_button.click()
    assert explorer.wait(120)
    found = explorer.spray_result
    assert found is not None and found.n_clusters == 2
    np.testing.assert_array_equal(found.indices, np.flatnonzero(result.targets == cls))
    assert explorer.colour_by == "cluster" and explorer.cluster == 0
    assert len(explorer.prototypes.value) > 0 and len(explorer.members.value) > 0
    colours = np.asarray(explorer.scatter3d.color)
    others = np.flatnonzero(result.targets != cls)
    assert len({tuple(c) for c in colours[others]}) == 1  # muted: not analysed


def test_validation_raises_and_shows_in_the_status_line(explorer):
    with pytest.raises(traitlets.TraitError):
        explorer.index = 48
    assert "index" in explorer.status.message and explorer.status.state == "error"
    with pytest.raises(traitlets.TraitError):
        explorer.colour_by = "temperature"


def test_link_moves_the_dashboard(explorer, demo_model, data):
    images, _ = data
    dashboard = Dashboard(demo_model, images, class_names=CLASS_NAMES)
    explorer.link(dashboard)
    explorer.scatter3d.clicked_index = 11
    assert dashboard.image_index == 11
    dashboard.image_index = 4
    assert explorer.index == 4
    with pytest.raises(ValueError, match="same images"):
        explorer.link(Dashboard(demo_model, images[:5], class_names=CLASS_NAMES))


def test_a_model_is_explained_in_the_background(demo_model, data):
    images, labels = data
    explorer = DatasetExplorer(demo_model, images[:12], labels[:12], CLASS_NAMES,
                               method="saliency")
    assert explorer.wait(120)
    assert explorer.ready and explorer.result is not None and len(explorer.result) == 12
    assert explorer.result.maps.shape == (12, 64, 64, 3)
    assert len(explorer.scatter3d.x) == 12
