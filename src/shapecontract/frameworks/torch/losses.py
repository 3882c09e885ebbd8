"""torch loss kinds: the slots a loss module's forward takes, as kinds (layer L6).

Design rules:
- A loss is a `TorchKind` whose `slots` name the forward's parameters as torch does (`input`,
  `target`; CTC's lengths); its knob `reduction` decides the output's rank.
- Element-wise losses take input and target of one shape; class losses scores and indices (or
  probabilities); torch's eager verdict decides the relations slots cannot tie together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._contract import Slot
from ..._dims import parse_dims
from ..._spec import ArraySpec, OneOf
from ..kinds import Knob
from .layers import TorchKind, _float, _integer, _spec, register

__all__ = ["LOSS_KINDS"]


def _f(dims: str, who: str, advice: str = "") -> ArraySpec:
    return _spec(list(parse_dims(dims)), [], _float(), (advice,) if advice else ())


def _i(dims: str, who: str, advice: str) -> ArraySpec:
    return _spec(list(parse_dims(dims)), [], _integer(), (advice,))


def _elementwise_loss(m: Any, cls: str) -> list[Slot]:
    """MSE, L1, SmoothL1, Huber, BCE, BCEWithLogits, KLDiv: input and target of one shape."""
    who = f"nn.{cls}"
    advice = (f"{who} compares input and target element by element, so they must have the same "
              "shape: torch would broadcast (N, 1) against (N,) into (N, N) and train on it "
              "(with a warning). Match them: target.unsqueeze(-1) or input.squeeze(-1)")
    spec = _f("*shape", who, advice)
    return [Slot("input", "array", spec), Slot("target", "array", spec)]


def _class_loss(m: Any, cls: str) -> list[Slot]:
    """CrossEntropy / NLL: scores (batch, classes, *d) or (classes,); targets of class indices
    (batch, *d) or (), or, for CrossEntropy, probabilities shaped like a batched input (the
    strict level does not state unbatched probabilities; the framework level takes them)."""
    who = f"nn.{cls}"
    idx = (f"{who} takes class indices as an integer tensor of shape (batch,): e.g. "
           "labels.long(), or labels.argmax(1) for one-hot labels")
    inp = OneOf((_f("classes", who), _f("batch classes *d", who)))
    options = [_i("batch *d", who, idx), _i("", who, idx)]
    if cls == "CrossEntropyLoss":  # probabilities (soft or one-hot labels), float, like input
        options += [_f("batch classes *d", who)]
    target = OneOf(tuple(options), by_dtype=True)
    return [Slot("input", "array", inp), Slot("target", "array", target)]


def _ctc_loss(m: Any, cls: str) -> list[Slot]:
    who = f"nn.{cls}"
    lengths = "input_lengths and target_lengths are integer tensors of shape (batch,)"
    targets = OneOf((_i("batch target_length", who, "targets: (batch, S) padded, or all "
                                                    "targets concatenated (sum(target_lengths),)"),
                     _i("total", who, "targets: (batch, S) padded, or all targets concatenated")))
    return [Slot("log_probs", "array", _f("timesteps batch classes", who)),
            Slot("targets", "array", targets),
            Slot("input_lengths", "array", _i("batch", who, lengths)),
            Slot("target_lengths", "array", _i("batch", who, lengths))]



_REDUCTION = Knob("reduction", "rank", "output",
                  doc="'mean'/'sum': one number; 'none': one per element")


def _loss(names: tuple[str, ...] | str, slots: Callable[[Any, str], list[Slot]],
          complete: bool = True, eager_verdict: bool = True) -> TorchKind:
    return TorchKind("loss", names, first_input=False, slots=slots, complete=complete,
                     eager_verdict=eager_verdict, knobs=(_REDUCTION,))


LOSS_KINDS: tuple[TorchKind, ...] = (
    _loss(("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss"), _elementwise_loss),
    _loss(("CrossEntropyLoss", "NLLLoss"), _class_loss, complete=False),
    _loss("CTCLoss", _ctc_loss, eager_verdict=False),
)
for _kind in LOSS_KINDS:
    register(_kind)
