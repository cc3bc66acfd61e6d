"""The view base and the shared selection, through their public surface.

A small View subclass counts its updates; a real small CNN feeds the Selection, whose
probabilities are checked against an independent numpy softmax of the adapter's logits.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
import traitlets
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets.model import get_adapter
from interpret_widgets.widgets.selection import Selection
from interpret_widgets.widgets.view import View, captured


class Counter(View):
    """A view whose update counts, with one validated input trait."""

    size = traitlets.Int(1)
    flavour = traitlets.Unicode("plain")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.updates: list[tuple[int, str]] = []
        self.children = [self.status]
        self.ready = True

    @traitlets.validate("size")
    def _valid_size(self, proposal):
        if proposal["value"] < 1:
            raise traitlets.TraitError(f"size must be >= 1, got {proposal['value']}")
        return proposal["value"]

    @traitlets.observe("size", "flavour")
    def _on_size_change(self, change):
        self.request_update()

    @captured("Clicking")
    def click(self):
        raise RuntimeError("the button broke")

    def update(self):
        self.updates.append((self.size, self.flavour))


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense", seed=7)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(5).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


def test_ready_view_updates_once_per_request():
    view = Counter()
    assert view.updates == [(1, "plain")]  # becoming ready runs the first update
    view.size = 2
    assert view.updates[-1] == (2, "plain") and len(view.updates) == 2


def test_hold_updates_runs_one_update_at_the_end():
    view = Counter()
    with view.hold_updates():
        view.size = 3
        view.flavour = "salty"
        with view.hold_updates():  # nested holds: still one update, after the outermost
            view.size = 4
        assert len(view.updates) == 1
    assert view.updates[1:] == [(4, "salty")]


def test_inactive_view_catches_up_once():
    view = Counter(active=False)
    assert view.updates == []
    view.size = 5
    view.flavour = "sweet"
    assert view.updates == []
    view.active = True
    assert view.updates == [(5, "sweet")]


def test_invalid_value_raises_and_is_shown():
    view = Counter()
    with pytest.raises(traitlets.TraitError, match="size must be >= 1"):
        view.size = 0
    assert view.size == 1  # nothing clamped, nothing changed
    assert view.status.state == "error"
    assert "size must be >= 1, got 0" in view.status.message
    assert "iw-status-error" in view.status._dom_classes
    with pytest.raises(traitlets.TraitError):
        view.size = "big"  # a type error is a TraitError too, and shown
    assert "size" in view.status.message


def test_handler_exception_becomes_the_status_line():
    view = Counter()
    assert view.click() is None
    assert view.status.state == "error"
    assert view.status.message == "Clicking failed: the button broke"
    assert "RuntimeError" in view.status.last_traceback


def test_background_work_applies_result_and_wait_joins():
    view = Counter()
    release = threading.Event()
    applied: list[int] = []

    def work() -> int:
        release.wait(10)
        return threading.get_ident()

    view.run_in_background("preparing the counter…", work, applied.append)
    assert view.busy and view.status.state == "busy"
    assert "iw-spinner" in view.status.value and "preparing the counter" in view.status.value
    view.size = 6  # requested while busy: runs after the work
    assert view.updates[-1] == (1, "plain")
    release.set()
    assert view.wait(10)
    assert not view.busy
    assert applied and applied[0] != threading.get_ident()  # it ran off this thread
    assert view.updates[-1] == (6, "plain")


def test_stale_background_result_is_dropped():
    view = Counter()
    release = threading.Event()
    applied: list[str] = []
    view.run_in_background("slow…", lambda: release.wait(10) and "old", applied.append)
    view.inputs_changed()  # an input changed meanwhile: the result is for the old one
    release.set()
    assert view.wait(10)
    assert applied == []


def test_background_failure_is_a_status_message():
    view = Counter()

    def fail() -> None:
        raise ValueError("no probe for you")

    view.run_in_background("preparing…", fail, print)
    assert view.wait(10)
    assert view.status.state == "error"
    assert "no probe for you" in view.status.message and not view.busy


# -- the selection -------------------------------------------------------------------------
def numpy_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_selection_probabilities_and_prediction(model, images):
    with untouched(model):
        selection = Selection(model, images, ["a", "b", "c", "d", "e"])
        logits = get_adapter(model).logits(images)
        for i in range(len(images)):
            # float32 logits of a batch of 3 vs a batch of 1 differ by rounding (~1e-7)
            np.testing.assert_allclose(
                selection.probabilities(i),
                numpy_softmax(logits[i].astype(np.float64)),
                rtol=0,
                atol=1e-6,
            )
        assert selection.target == int(np.argmax(logits[0]))
        selection.image_index = 2
        assert selection.target == int(np.argmax(logits[2]))  # follows the prediction
        second = int(np.argsort(-logits[2])[1])
        assert selection.runner_up() == second
        assert selection.layer == "conv_b"  # the adapter's CAM layer
        assert selection.current_batch().shape == (1, 16, 16, 3)


def test_selection_checks(model, images):
    with pytest.raises(ValueError, match="2 names"):
        Selection(model, images, ["a", "b"])
    with pytest.raises(ValueError, match="expects 3"):
        Selection(model, np.zeros((2, 16, 16, 1), "float32"))
    selection = Selection(model, images[0])  # a single image gets its batch axis
    assert selection.images.shape == (1, 16, 16, 3)
    assert selection.class_names[0] == "class 0"
    for name, value in [("image_index", 1), ("target", 5), ("target", -1)]:
        with pytest.raises(traitlets.TraitError, match="out of range"):
            setattr(selection, name, value)
    empty = Selection(model)
    assert not empty.has_images and empty.target == -1
    empty.set_images(images)
    assert empty.target == empty.predicted(0)


def test_attached_views_update_once_per_selection_change(model, images):
    class Follower(Counter):
        image_index = traitlets.Int(0)
        target = traitlets.Int(-1)

        @traitlets.observe("image_index", "target")
        def _on_image_index_change(self, change):
            self.request_update()

        def update(self):
            self.updates.append((self.image_index, self.target))

    selection = Selection(model, images)
    views = [Follower(), Follower()]
    for view in views:
        selection.attach(view)
        view.updates.clear()
    views[0].image_index = 2  # set on one view: the selection and the other view follow
    predicted = selection.predicted(2)
    for view in views:
        assert (view.image_index, view.target) == (2, predicted)
        # one update each, with the new image *and* its class (not one per trait)
        assert view.updates == [(2, predicted)]
    other = (predicted + 1) % 5
    views[1].target = other
    assert views[0].target == selection.target == other
    assert views[0].updates[-1] == (2, other) and len(views[0].updates) == 2


def test_a_refusing_view_leaves_no_view_held(model, images):
    """An observer that raises during a selection change does not leave views held."""

    class Picky(Counter):
        target = traitlets.Int(-1)

        @traitlets.validate("target")
        def _valid_target(self, proposal):
            if proposal["value"] == 3:
                raise traitlets.TraitError("not class 3")
            return proposal["value"]

    selection = Selection(model, images)
    start = 2 if selection.target == 3 else selection.target
    selection.target = start
    follower, picky = Counter(), Picky()
    selection.attach(follower, react=lambda change: follower.request_update())
    selection.attach(picky)
    with pytest.raises(traitlets.TraitError, match="not class 3"):
        selection.target = 3
    follower.updates.clear()
    follower.request_update()  # not held any more: it updates at once
    assert len(follower.updates) == 1
