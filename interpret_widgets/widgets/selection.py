"""The selection every view shares: images, class names, probabilities, image, class, layer.

One :class:`Selection` holds what a user has chosen: which image of the batch
(``image_index``), which class it explains (``target``) and which layer (``layer``). It also
holds what these refer to, checked once: the model's adapter, the images as the model takes
them, the class names, and the class probabilities of each image (computed once, cached).

A standalone view makes its own Selection; the Dashboard owns one and hands it to every
panel. :meth:`Selection.attach` joins a view's traits of the same names to it with
``traitlets.link`` and registers the view so that one change of the selection (a new image
*and* its predicted class) makes each view update once, not once per trait.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import traitlets

from ..model import get_adapter

#: The traits of a selection whose change updates the views.
SHARED = ("image_index", "target", "layer")
#: The traits that :meth:`Selection.attach` links by default.
LINKED = (*SHARED, "follow_prediction")


def generic_class_names(count: int) -> list[str]:
    """``["class 0", "class 1", …]`` for models that come without class names."""
    return [f"class {i}" for i in range(int(count))]


def resolve_class_names(class_names: Sequence[str] | None, count: int) -> list[str]:
    """The given class names checked against the model, or generic ones.

    Raises
    ------
    ValueError
        If the number of names differs from the model's number of classes.
    """
    if class_names is None:
        return generic_class_names(count)
    names = [str(n) for n in class_names]
    if len(names) != count:
        raise ValueError(f"class_names has {len(names)} names but the model has {count} classes")
    return names


def prepare_images(adapter: Any, images: object, owner: str) -> np.ndarray:
    """``images`` as a validated float32 ``(N, H, W, C)`` batch for the adapter's model.

    A single image of the model's input shape gets its batch axis added (a widget is for
    people, not a contract test).

    Raises
    ------
    ValueError
        If the model is not an image model or the images do not fit it.
    """
    shape = adapter.input_shape
    if len(shape) != 4:
        raise ValueError(
            f"{owner} explains image models with (N, H, W, C) inputs; model {adapter.name!r} "
            f"has input shape {shape}"
        )
    try:
        array = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"images must be a numeric array, got {type(images).__name__}") from error
    single = array.ndim == 3 and all(
        e is None or e == s for e, s in zip(shape[1:], array.shape, strict=True)
    )
    if single:
        array = array[None]
    try:
        return adapter.check_input(array)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the images do not fit model {adapter.name!r}: {error}") from None


def check_masks(masks: object, images: np.ndarray, owner: str) -> np.ndarray | None:
    """``masks`` as a bool ``(N, H, W)`` array matching ``images`` (``None`` stays ``None``).

    Ground-truth object masks let the views score a map's localization (pointing game,
    relevance mass); they must say, for every image and pixel, whether it is on the object.

    Raises
    ------
    ValueError
        If ``masks`` is not a bool array shaped like the images' first three axes.
    """
    if masks is None:
        return None
    array = np.asarray(masks)
    expected = tuple(images.shape[:3])
    if array.dtype != np.bool_ or array.shape != expected:
        raise ValueError(
            f"{owner}: masks must be a bool array (N, H, W) = {expected} matching the images, "
            f"got {array.dtype} of shape {array.shape}"
        )
    return array


def check_index(value: int, what: str, count: int) -> int:
    """``value`` if it indexes ``count`` items.

    Raises
    ------
    traitlets.TraitError
        If it is out of range (the message gives the range).
    """
    if not 0 <= value < count:
        raise traitlets.TraitError(
            f"{what} {value} is out of range: there are {count} (0..{count - 1})"
        )
    return value


class Selection(traitlets.HasTraits):
    """Images, class names and probabilities of one model, and what the user selected.

    Parameters
    ----------
    model : keras.Model
        The classifier (never modified).
    images : array (N, H, W, C), optional
        Inputs as the model takes them (a single image is accepted); without them the
        selection waits for :meth:`set_images`.
    class_names : sequence of str, optional
        One name per class; ``"class k"`` when omitted.
    owner : str
        The view's name, used in error messages.
    masks : array (N, H, W) of bool, optional
        Ground-truth object masks of the images (:func:`check_masks`), for localization
        scores; :attr:`masks` is ``None`` without them.

    Traits
    ------
    image_index : int
        The selected image.
    target : int
        The selected class (-1 until there are images).
    layer : str
        The selected layer; default the adapter's CAM layer (``""`` without a 4-D layer).
    follow_prediction : bool
        A new image selects its predicted class.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is not a Keras classifier, the class names or the images do not fit.
    """

    image_index = traitlets.Int(0)
    target = traitlets.Int(-1)
    layer = traitlets.Unicode("")
    follow_prediction = traitlets.Bool(True)

    def __init__(
        self,
        model: Any,
        images: object = None,
        class_names: Sequence[str] | None = None,
        *,
        owner: str = "view",
        masks: object = None,
    ) -> None:
        super().__init__()
        self.masks: np.ndarray | None = None
        self.model = model
        self.owner = owner
        self.adapter = get_adapter(model)
        self.class_names = resolve_class_names(class_names, self.adapter.num_classes)
        self.images = np.zeros((0, 1, 1, 1), dtype=np.float32)
        self._probabilities: dict[int, np.ndarray] = {}
        self._views: weakref.WeakSet = weakref.WeakSet()
        self._attached: dict[int, tuple[list[traitlets.link], Any]] = {}
        self.observe(self._follow_prediction, "image_index")
        names = self.adapter.spatial_layer_names()
        self.layer = self.adapter.name_of(self.adapter.cam_layer(None)) if names else ""
        if images is not None:
            self.set_images(images, masks)
        elif masks is not None:
            raise ValueError(f"{owner}: masks were given without images")

    # -- images and probabilities --------------------------------------------------------
    def set_images(self, images: object, masks: object = None) -> None:
        """Select from ``images`` (with their ``masks``, if any) from now on: the first image
        and its predicted class.

        Raises
        ------
        ValueError
            If the images do not fit the model or the masks the images; the selection then
            stays as it was.
        """
        checked = prepare_images(self.adapter, images, self.owner)
        checked_masks = check_masks(masks, checked, self.owner)
        with self.hold():
            self.images, self._probabilities = checked, {}
            self.masks = checked_masks
            self.set_trait("image_index", 0)
            self.target = self.predicted(0)

    @property
    def has_images(self) -> bool:
        """Whether there are images to select from."""
        return len(self.images) > 0

    def probabilities(self, index: int | None = None) -> np.ndarray:
        """Class probabilities of image ``index`` (default: the selected one), cached."""
        index = self.image_index if index is None else int(index)
        if index not in self._probabilities:
            batch = self.images[index : index + 1]
            self._probabilities[index] = self.adapter.probabilities(batch)[0]
        return self._probabilities[index]

    def predicted(self, index: int | None = None) -> int:
        """The most probable class of image ``index`` (default: the selected one)."""
        return int(np.argmax(self.probabilities(index)))

    def runner_up(self, target: int | None = None) -> int:
        """The most probable class other than ``target`` (default: the selected class)."""
        target = self.target if target is None else target
        order = np.argsort(-self.probabilities(), kind="stable")
        return int(order[1] if order[0] == target and len(order) > 1 else order[0])

    def current_batch(self) -> np.ndarray:
        """The selected image as a batch of one, ``(1, H, W, C)``."""
        return self.images[self.image_index : self.image_index + 1]

    def current_image(self) -> np.ndarray:
        """The selected image, ``(H, W, C)``."""
        return self.images[self.image_index]

    def current_mask(self) -> np.ndarray | None:
        """The selected image's object mask ``(H, W)``, or ``None`` without masks."""
        return None if self.masks is None else self.masks[self.image_index]

    def class_name(self, target: int | None = None) -> str:
        """The name of ``target`` (default: the selected class)."""
        return self.class_names[self.target if target is None else target]

    # -- checks (views validate their linked traits with the same ones) --------------------
    def check_image_index(self, value: int) -> int:
        """``value`` if it selects an image (:func:`check_index`)."""
        return check_index(value, "image_index", len(self.images))

    def check_target(self, value: int, allow_unset: bool = False) -> int:
        """``value`` if it is a class of the model (-1 allowed with ``allow_unset``)."""
        if allow_unset and value == -1:
            return value
        return check_index(value, "target class", len(self.class_names))

    @traitlets.validate("image_index")
    def _valid_image_index(self, proposal: dict[str, Any]) -> int:
        return self.check_image_index(proposal["value"])

    @traitlets.validate("target")
    def _valid_target(self, proposal: dict[str, Any]) -> int:
        return self.check_target(proposal["value"], allow_unset=not self.has_images)

    # -- views -------------------------------------------------------------------------------
    def attach(
        self,
        view: traitlets.HasTraits,
        names: Sequence[str] = LINKED,
        react: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[traitlets.link]:
        """Link ``view``'s traits ``names`` to this selection and defer its updates.

        ``react(change)``, if given, is called on each change of a shared trait after the
        view's linked traits have the new value. While a change (and the changes it causes)
        runs, every attached view with ``hold_updates`` is held, so it updates once at the
        end (:meth:`notify_change`). Returns the links (:meth:`detach` undoes all).
        """
        links = [
            traitlets.link((self, name), (view, name)) for name in names if view.has_trait(name)
        ]
        if hasattr(view, "hold_updates"):
            self._views.add(view)
        if react is not None:
            self.observe(react, SHARED)
        self._attached[id(view)] = (links, react)
        return links

    def detach(self, view: traitlets.HasTraits) -> None:
        """Undo :meth:`attach`: unlink ``view`` and stop deferring its updates."""
        links, react = self._attached.pop(id(view), ([], None))
        for link in links:
            link.unlink()
        if react is not None:
            self.unobserve(react, SHARED)
        self._views.discard(view)

    @contextlib.contextmanager
    def hold(self) -> Any:
        """Hold every attached view's updates for a block; each updates once after it."""
        with contextlib.ExitStack() as stack:
            for view in list(self._views):
                stack.enter_context(view.hold_updates())
            yield

    def notify_change(self, change: Any) -> None:
        """Run the observers of a change of a shared trait with every attached view held.

        The observers (the prediction followed, the links to the views, the views'
        reactions) run inside :meth:`hold`, so each view updates once, after all of them,
        even when one of them raises.
        """
        if change.get("name") in SHARED:
            with self.hold():
                super().notify_change(change)
        else:
            super().notify_change(change)

    def _follow_prediction(self, change: dict[str, Any]) -> None:
        if self.follow_prediction and self.has_images:
            self.target = self.predicted(change["new"])


class SelectionTraits(traitlets.HasTraits):
    """The traits a view links to its :attr:`selection`, validated by the selection's checks.

    A view that mixes this in refuses the values its selection would refuse *before* the
    link passes them on, so a view and its selection never disagree.
    """

    image_index = traitlets.Int(0)
    target = traitlets.Int(-1)
    follow_prediction = traitlets.Bool(True)

    selection: Selection | None = None

    @traitlets.validate("image_index")
    def _valid_image_index(self, proposal: dict[str, Any]) -> int:
        selection = self.selection
        if selection is None or not selection.has_images:
            return proposal["value"]
        return selection.check_image_index(proposal["value"])

    @traitlets.validate("target", "compare_target")
    def _valid_target(self, proposal: dict[str, Any]) -> int:
        if self.selection is None:
            return proposal["value"]
        return self.selection.check_target(proposal["value"], allow_unset=True)
