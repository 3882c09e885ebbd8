"""Where a loss's input came from (layer L6): the model that made it, so that a loss refusing
its input against its target is repaired in the model that set the size, not in the data.

Design rules:
- A guarded module's check notes the call it checks (weak references to the module and its
  first argument: nothing is kept alive). A loss is called with the output of the last module
  called before it, in the usual training step; that is confirmed, not assumed: the module is
  run again on fake tensors of the noted input, and its output must have the shape the loss
  was given.
- Candidates are the knobs that set the output's last axis (`output_attr` of the layer kinds:
  `out_features`, `out_channels`, `hidden_size`) on the last layer that ran, set to the
  target's size on that axis. A candidate is proven when the module, rebuilt with it on fake
  tensors, gives an output under which the loss's own check holds with the target.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

from ..._errors import Fix, ShapeContractError
from ...fixes import SetSetting
from .._cache import bounded
from ..enrich import register_enricher
from .layers import kind_of, torch_class, who

__all__ = ["note_call", "producer_repairs"]

_LAST: list[Any] = [None]
"""(weak reference to the module, to its first argument) of the last guarded call."""


_LOSS: dict[type, bool] = {}
"""Module class -> is it a loss (its kind asks the eager verdict)? Asked once per class: the
note is made on every guarded call."""


def note_call(mod: Any, args: tuple[Any, ...]) -> None:
    """Note the guarded call `mod(*args)` (a loss module's call is not noted)."""
    t = type(mod)
    loss = _LOSS.get(t)
    if loss is None:
        loss = bounded(_LOSS)[t] = bool(kind_of(mod).eager_verdict)
    if loss or not args:
        return
    try:
        _LAST[0] = (weakref.ref(mod), weakref.ref(args[0]))
    except TypeError:  # not weakly referenceable: nothing to note
        _LAST[0] = None


def sizing_layer(shape: tuple[int, ...]) -> tuple[Any, Any, str, Any, str] | None:
    """(model, its input's signature, layer path, layer, knob): the layer of the last guarded
    call's model that sets the last axis of its output, when that call made an output of
    `shape` (confirmed on fake tensors); None otherwise."""
    from .fake import _signature
    from .search import run_watched

    if _LAST[0] is None:
        return None
    mod, x = _LAST[0][0](), _LAST[0][1]()
    sig = _signature([x]) if mod is not None and x is not None else None
    seen: list[Any] = []
    if sig is None or run_watched(mod, sig, out=seen) is not None or not seen or seen[0] != shape:
        return None  # the last module called did not make this value
    leaves = seen[1] or [("", mod, shape)]  # a guarded leaf module is its own last layer
    for name, leaf, leaf_shape in reversed(leaves):
        attr = kind_of(leaf).output_attr
        if attr is None:
            continue
        if getattr(leaf, attr, None) != shape[-1] or not leaf_shape or leaf_shape[-1] != shape[-1]:
            return None  # the last sizing layer does not set this axis
        return mod, sig, name, leaf, attr
    return None


def producer_repairs(loss: Any, given: Any, y: Any, err: Any) -> ShapeContractError | None:
    """`err` (a loss module refusing `given` = (input, target)) with a proven repair in the
    model that made the input, or None."""
    import torch

    from .. import contract_of
    from .fake import _signature
    from .search import _rebuilt, _Set, module_code, run_watched

    if (not isinstance(err, ShapeContractError) or not isinstance(given, tuple)
            or len(given) < 2 or not isinstance(loss, torch.nn.Module)
            or not kind_of(loss).eager_verdict or _LAST[0] is None):
        return None
    mod, x = _LAST[0][0](), _LAST[0][1]()
    out, target = given[0], given[1]
    if mod is None or x is None or not all(isinstance(t, torch.Tensor) for t in (out, target)):
        return None
    shape, want = tuple(out.shape), tuple(target.shape)
    sig = _signature([x])
    if (sig is not None and shape and want and hasattr(x, "shape") and x.shape
            and shape[0] != want[0] and want[0] == x.shape[0]):
        return _batch_kept(loss, mod, sig, out, target, err)
    if (len(shape) != len(want) or not shape or shape[:-1] != want[:-1]
            or shape[-1] == want[-1]):
        return None
    found = sizing_layer(shape)
    if found is None:
        return None
    mod, sig, name, leaf, attr = found
    size = want[-1]
    proof: list[Any] = []
    if name:
        ran = run_watched(mod, sig, (_Set(name, attr, size),), out=proof)
    else:
        ran = run_watched(_rebuilt(leaf, attr, size), sig, out=proof)
    if ran is not None:
        return None
    try:
        contract_of(loss).check(torch.zeros(proof[0], dtype=out.dtype),
                                torch.zeros(want, dtype=target.dtype))
    except ShapeContractError:
        return None
    label = who(torch_class(leaf), name)
    code = module_code(name, leaf, {**kind_of(leaf).knob_values(leaf), attr: size})
    fix = Fix(f"proven on the whole step: the input comes from {type(mod).__name__}, whose "
              f"{label} gives {shape[-1]} on the last axis; the target has {size}: "
              f"build it with {attr}={size}: {code}", "repair", code,
              SetSetting(label, type(leaf).__name__, attr, size))
    first = err.violations[0]
    return ShapeContractError([replace(first, suggestions=[fix, *first.suggestions]),
                               *err.violations[1:]], err.function, err.bindings, err.notes)


def _batch_kept(loss: Any, mod: Any, sig: Any, out: Any, target: Any, err: Any
                ) -> ShapeContractError | None:
    """The model's output has another batch than its input (and the target): a reshape in its
    forward folded the batch into another axis (`x.view(-1, 400)` on maps of another size).
    The edits that keep it, proven: the forward completes on fake tensors with an output whose
    batch is the input's, under which the loss's own check holds with the target."""
    import torch

    from .. import contract_of
    from .search import fixes_for, search_for

    batch = int(sig[0][0][0])

    def goal(shape: tuple[int, ...]) -> bool:
        if not shape or shape[0] != batch:
            return False
        try:
            contract_of(loss).check(torch.zeros(shape, dtype=out.dtype),
                                    torch.zeros(tuple(target.shape), dtype=target.dtype))
        except ShapeContractError:
            return False
        return True

    edits = search_for(mod, sig, goal)
    if not edits:
        return None
    fixes = [Fix(f"proven on the whole step: {type(mod).__name__}'s output has batch "
                 f"{int(out.shape[0])} for an input of {batch}: " + f, "repair", f.code, f.op)
             for f in fixes_for(mod, edits)]
    first = err.violations[0]
    return ShapeContractError([replace(first, suggestions=[*fixes, *first.suggestions]),
                               *err.violations[1:]], err.function, err.bindings, err.notes)


register_enricher(producer_repairs)
