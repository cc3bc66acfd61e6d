"""Trait validators that several views share: one of a list, at least, within bounds.

Each returns a ``traitlets.validate`` handler to assign in a class body
(``_valid_method = one_of("method", IMPORTANCE_METHODS)``), so every view words the same
refusal the same way; :class:`~.view.View` shows the ``TraitError`` in the status line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import traitlets


def one_of(name: str, choices: Collection[str] | Callable[[], Collection[str]]) -> Any:
    """A validator: the trait ``name`` holds one of ``choices`` (or of ``choices()``)."""

    def check(self: Any, proposal: dict[str, Any]) -> Any:
        allowed = choices() if callable(choices) else choices
        return check_one_of(name, proposal["value"], allowed)

    return traitlets.validate(name)(check)


def check_one_of(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``; else a ``TraitError`` naming ``name``."""
    if value not in choices:
        raise traitlets.TraitError(f"{name} must be one of {listing(choices)}, got {value!r}")
    return value


def listing(choices: Collection[Any]) -> str:
    """``"'a', 'b' or 'c'"``: the choices as a message names them."""
    words = [repr(c) for c in choices]
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def at_least(name: str, minimum: float = 1) -> Any:
    """A validator: the trait ``name`` is ``>= minimum``."""

    def check(self: Any, proposal: dict[str, Any]) -> Any:
        if not proposal["value"] >= minimum:
            raise traitlets.TraitError(f"{name} must be >= {minimum}, got {proposal['value']}")
        return proposal["value"]

    return traitlets.validate(name)(check)


def check_within(name: str, value: Any, low: Any, high: Any) -> Any:
    """``value`` if ``low <= value <= high``; else a ``TraitError`` naming ``name``."""
    if not low <= value <= high:
        raise traitlets.TraitError(f"{name} must be within {low}..{high}, got {value}")
    return value


def within(bounds: dict[str, tuple[Any, Any]]) -> Any:
    """A validator of every trait named in ``bounds``: its value lies in its (low, high)."""

    def check(self: Any, proposal: dict[str, Any]) -> Any:
        name = proposal["trait"].name
        return check_within(name, proposal["value"], *bounds[name])

    return traitlets.validate(*bounds)(check)
