"""What a compiled Keras loss expects of the targets `y`, given the model's output (layer L6).

Design rules:
- One table, `LOSSES`: a Keras loss (name, function or class, normalised) -> its `LossRule`.
- `target_contract` states the model's inputs and each output's target (sharing `batch`);
  `unbuilt_targets` reads them off a clone built for the data's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..._compile import Contract
from ..._contract import Slot
from ..._dims import Fixed, Named, Variadic
from ..._errors import Fix
from ..._spec import ArraySpec, OneOf, as_array
from ...backends import BrokenShape, shape_of
from ...fixes import OneHot
from ...fixes.rules import Problem, one_hot_labels, register_rule
from .contract import contract_of_keras
from .verdict import is_subclassed, no_trace

__all__ = ["LOSSES", "LossRule", "target_contract", "unbuilt_targets"]


@dataclass(frozen=True)
class LossRule:
    """What a compiled Keras loss expects of `y`, given the model's output."""

    target: str
    """`one_hot`: y has the output's shape (one-hot labels); `elementwise`: y has the output's
    shape, or lacks a trailing axis of size 1 (Keras's losses add it back: a (batch,) target
    for a (batch, 1) output is fine; (n, 5) is not); `sparse`: the output's shape without its
    last axis, or with a last axis of 1 (integer labels)."""
    advice: str
    """What to do when y does not fit (`{units}` is the output's last size)."""


_SAME_SHAPE_ADVICE = ("{loss} compares y with the model's output element by element, so y must "
                      "have the output's shape {shape}; a different shape is broadcast or "
                      "rejected. Select the targets that match it (one value per output "
                      "unit; for one-hot labels of a one-unit output, y[:, 1] or y.argmax(-1)), "
                      "or change the output layer (units, return_sequences)")
_CATEGORICAL = LossRule("one_hot", "{loss} takes one-hot targets shaped like the output {shape}: "
                                "keras.utils.to_categorical(y, {units}) makes them from integer "
                                "labels, or compile with loss='sparse_categorical_crossentropy' "
                                "to keep the integer labels")
_SPARSE = LossRule("sparse", "{loss} takes integer class labels of shape (batch,): y.argmax(-1) "
                             "makes them from one-hot labels, or compile with "
                             "loss='categorical_crossentropy' to keep one-hot labels")
LOSSES: dict[str, LossRule] = {
    "categoricalcrossentropy": _CATEGORICAL, "categoricalfocalcrossentropy": _CATEGORICAL,
    "categoricalhinge": _CATEGORICAL,
    "sparsecategoricalcrossentropy": _SPARSE,
    **{n: LossRule("elementwise", _SAME_SHAPE_ADVICE) for n in (
        "binarycrossentropy", "binaryfocalcrossentropy", "meansquarederror", "mse",
        "meanabsoluteerror", "mae", "meanabsolutepercentageerror", "mape",
        "meansquaredlogarithmicerror", "msle", "huber", "logcosh", "kldivergence", "kld",
        "kullbackleiblerdivergence", "hinge", "squaredhinge", "poisson", "cosinesimilarity")},
}
"""Keras loss (name, function or class, normalised) -> what it expects of `y`."""


def _to_categorical(p: Problem) -> Fix | None:
    """A fit's targets (`("target", ...)`) given as class labels where the loss takes one-hot
    rows: the generic one-hot rule's operation, written the way Keras users write it."""
    if not p.violation.location or p.violation.location[0] != "target":
        return None
    fix = one_hot_labels(p)
    if fix is None or not isinstance(fix.op, OneHot):
        return None
    code = f"keras.utils.to_categorical({p.var}, {fix.op.classes})"
    return Fix(f"{p.var} holds class labels and the loss takes one-hot rows of "
               f"{fix.op.classes}: {code}", "convert", code, fix.op)


register_rule(_to_categorical, before=one_hot_labels)


def _loss_key(loss: Any) -> str | None:
    candidates = [loss] if isinstance(loss, str) else [
        getattr(getattr(loss, "fn", None), "__name__", None),  # LossFunctionWrapper(mse)
        getattr(loss, "__name__", None),                        # keras.losses.mse
        type(loss).__name__]                                    # keras.losses.Huber()
    for candidate in candidates:
        if candidate:
            key = candidate.lower().replace("_", "")
            if key in LOSSES:
                return key
    return None


def target_contract(model: Any, contract: Contract) -> Contract | None:
    """The model's inputs and, for each output whose compiled loss the table knows, the target
    `y` it takes (sharing `batch` with the inputs: sample counts must agree). None if the model
    is not compiled with a loss we know for every output."""
    loss = getattr(model, "loss", None)
    outs = contract.outputs()
    if loss is None or not outs or contract.level != "strict":
        return None  # the framework level accepts what Keras accepts, broadcasts included
    if isinstance(loss, dict) or hasattr(loss, "keys"):
        per_output = [loss.get(s.key or "", loss.get(str(s.location[1]), None)) for s in outs]
    elif isinstance(loss, (list, tuple)) or type(loss).__name__ == "ListWrapper":
        per_output = list(loss)
    else:
        per_output = [loss] * len(outs)
    if len(per_output) != len(outs):
        return None
    targets: list[Slot] = []
    for j, (out, item) in enumerate(zip(outs, per_output)):
        key = _loss_key(item)
        if key is None or as_array(out.spec) is None:
            return None
        rule = LOSSES[key]
        dims = out.spec.dims
        if dims and isinstance(dims[0], Fixed):  # the batch Keras recorded when it was built
            dims = (Named("batch"), *dims[1:])  # (a predict on 10 rows): any batch of data
        last = dims[-1] if dims else None
        units = last.size if isinstance(last, Fixed) else "n_classes"
        shape = "(" + ", ".join(getattr(d, "name", None) or str(getattr(d, "size", "?"))
                                for d in dims) + ")"
        advice = (rule.advice.format(loss=item if isinstance(item, str) else
                                     getattr(getattr(item, "fn", item), "__name__", key),
                                     shape=shape, units=units),)
        origins = out.spec.origins
        if rule.target == "one_hot":
            spec: Any = ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice)
        elif rule.target == "elementwise" and not (isinstance(last, Fixed) and last.size == 1):
            # Keras squeezes a trailing axis of size 1 off y: (n, 2, 1) for a (batch, 2) output
            spec = OneOf((ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice),
                          ArraySpec((*dims, Fixed(1, False, "label")), None, "Shaped", (Any,),
                                    advice=advice)))
        elif rule.target == "elementwise":  # (batch, 1) output: (batch, 1) or (batch,) targets
            spec = OneOf((ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice),
                          ArraySpec(dims[:-1], None, "Shaped", (Any,), advice=advice)))
        else:
            base = dims[:-1]
            spec = OneOf((ArraySpec(base, None, "Shaped", (Any,), advice=advice),
                          ArraySpec((*base, Fixed(1, False, "label")), None, "Shaped", (Any,),
                                    advice=advice)))
        name = str(out.location[1]) if len(out.location) > 1 else f"y{j}"
        var = "y" if len(outs) == 1 else f"y{j}"  # the name fixes are written with
        targets.append(Slot(var, "array", spec, loc=("target", name), key=out.key or name))
    weight = Slot("sample_weight", "array", ArraySpec(
        (Named("batch"), Variadic(None)), None, "Shaped", (Any,)),
        optional=True)  # per sample (the batch the inputs bind), or per step (temporal)
    return contract.replace(slots=(*contract.inputs(), *targets, weight), framework=None)



def unbuilt_targets(model: Any, x: Any, level: str) -> Contract | None:
    """The target contract of an unbuilt model about to be fit on the array `x`: read off a
    clone built for x's shape (the model itself stays unbuilt: Keras builds it its own way), so
    y is checked against the loss before the first step. None when it cannot be cloned."""
    import warnings

    import keras

    try:
        shape = tuple(shape_of(x) or ())
    except BrokenShape:
        return None
    if not shape or is_subclassed(model):
        return None
    with warnings.catch_warnings(), no_trace():
        warnings.simplefilter("ignore")
        try:
            clone = keras.models.clone_model(model)
            clone.build((None, *shape[1:]))
        except Exception:
            return None
    return target_contract(model, contract_of_keras(clone, level))
