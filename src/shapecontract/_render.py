"""Rich display hooks: how contracts and errors render in notebooks (layer L0).

Design rules:
- `Contract` (L3) and `ShapeContractError` (L0) answer `_repr_html_` by asking this registry;
  they never import the renderer, which lives in `picture` (L7) and draws with data from every
  layer below it. Nothing imports upward, not even inside a function.
- `shapecontract/__init__` registers a renderer that loads `picture` on first use (importing
  `picture` registers its own `to_html` too); any import of the package (even of a private
  module) runs `__init__`, so every contract and error renders, and a program that never draws
  never loads `picture`. For a format nobody registered, `render` returns None (notebooks show
  the text).
- A renderer that fails raises: a notebook shows its formatter error, never a silent blank.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_renderer", "render"]

_RENDERERS: dict[str, Callable[[Any], str]] = {}
"""Format (`html`) -> the function that renders an object in it."""


def register_renderer(fmt: str, renderer: Callable[[Any], str]) -> None:
    """Make `renderer(obj)` the `fmt` rendering of contracts and errors (the last one wins)."""
    _RENDERERS[fmt] = renderer


def render(obj: Any, fmt: str) -> str | None:
    """`obj` rendered in `fmt` by the registered renderer, or None when none is registered."""
    renderer = _RENDERERS.get(fmt)
    return None if renderer is None else renderer(obj)
