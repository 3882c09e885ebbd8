"""Per-model verdict caches, bounded (layer L6, no framework).

Design rule: a framework's verdict on shapes is cached per model by the shapes (and dtypes) it
was asked about. Variable-length batches (NLP) bring a new shape with every batch, so each
cache keeps at most `CACHE_SIZE` verdicts and drops the oldest first (dicts keep insertion
order): memory stays bounded, and a shape seen again after eviction is asked again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CACHE_SIZE", "bounded"]

CACHE_SIZE = 1024
"""Verdicts kept per model and per kind of question."""


def bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    """`cache`, with its oldest entry dropped when it is full: `bounded(c)[key] = value`."""
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return cache
