"""Proven repairs added to a guard's error (layer L7): when a guarded Keras entry point or torch
module refuses the arrays it was given, the repair search (`repair.repairs`) runs on a copy of the step and
its proven repairs are added to the error, after the fixes it has (a repair whose code a fix
already shows is not repeated). Registered with `frameworks.enrich` when `shapecontract` is
imported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ._errors import Fix, ShapeContractError
from .backends import backend_of
from .frameworks.enrich import register_enricher
from .repair import call_repairs, repairs

__all__ = ["with_repairs"]


def with_repairs(model: Any, x: Any, y: Any, err: Any) -> ShapeContractError | None:
    """`err` with the step's proven repairs, or None when there are none (or the values are
    not arrays: streams and datasets are repaired where they are built)."""
    if not isinstance(err, ShapeContractError):
        return None
    if isinstance(x, tuple):  # one call of several arrays (a loss's input and target)
        found = call_repairs(model, x)
    elif backend_of(x) is None or (y is not None and backend_of(y) is None):
        return None
    else:
        found = repairs(model, x, y, model_edits=not _trained(model))
    if not found:
        return None
    first = err.violations[0]
    known = {s.code for v in err.violations for s in v.suggestions if s.code}
    ops = [s.op for v in err.violations for s in v.suggestions if s.op is not None]
    added = [Fix(f"proven on the whole step: {r.why}: {r.code}", "repair", r.code, r.op)
             for r in found if r.code not in known and all(r.op != o for o in ops)]
    if not added:
        return None
    violations = [replace(first, suggestions=[*first.suggestions, *added]),
                  *err.violations[1:]]
    return ShapeContractError(violations, err.function, err.bindings, err.notes)


def _trained(model: Any) -> bool:
    """Has the model taken optimizer steps (a Keras model after `fit`)? A rebuilt model would
    lose what it learned, so only the data is repaired then. (A torch module keeps no such
    count: its settings are offered, proven on a copy.)"""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    try:
        return iterations is not None and int(iterations) > 0
    except (TypeError, ValueError):
        return False


register_enricher(with_repairs)
