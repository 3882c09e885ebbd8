"""What the layers above add to a guard's error before it is raised (layer L6).

A guarded entry point (Keras `fit`, `predict` ...) that refuses its data hands the error and
the step (model, x, y) to `enrich`, which passes them to what registered (the repair search,
`_proven`): the error that comes back is raised. Registering from above keeps the frameworks
below the repair search, which needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["enrich", "register_enricher"]

Enricher = Callable[[Any, Any, Any, Any], Any]
"""`enricher(model, x, y, error)` -> the error to raise instead, or None to keep it."""

_ENRICHERS: list[Enricher] = []


def register_enricher(fn: Enricher) -> None:
    if fn not in _ENRICHERS:
        _ENRICHERS.append(fn)


def enrich(model: Any, x: Any, y: Any, err: Any) -> Any:
    """`err`, or what an enricher made of it (an enricher that fails leaves it as it was)."""
    for fn in _ENRICHERS:
        try:
            better = fn(model, x, y, err)
        except Exception:  # explaining more must never lose the error
            continue
        if better is not None:
            err = better
    return err
