"""`assert_equivalent`: both models on the same data; on a mismatch, where it starts.

Design rules:
- The input is Keras-layout data, laid out for torch by its first paired module's layout
  (NCHW permute, time-major transpose).
- On a mismatch, each pair's torch output is laid out like the Keras one by the Keras rule's
  layout, and the first pair that differs by more than `atol` is named; a pair whose outputs
  cannot be compared (e.g. a bidirectional last step) is skipped, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .compare import PortReport, compare, pair_layers, torch_input
from .rules import Pair, keras_rule, to_numpy

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Equivalence", "PortMismatch", "assert_equivalent"]


@dataclass
class Equivalence:
    """`assert_equivalent`'s answer: the largest difference per output, and where it starts."""

    max_abs_diff: list[float]
    atol: float
    first_divergence: str | None = None

    @property
    def ok(self) -> bool:
        return all(d <= self.atol for d in self.max_abs_diff)

    def __str__(self) -> str:
        diffs = ", ".join(f"{d:.3g}" for d in self.max_abs_diff)
        text = f"max |keras - torch| per output: {diffs} (atol {self.atol:g})"
        if self.first_divergence:
            text += f"\n  first divergence: {self.first_divergence}"
        return text


class PortMismatch(AssertionError):
    """The Keras model and its PyTorch port disagree (see `.report`)."""

    def __init__(self, report: Equivalence | str, compared: PortReport | None = None) -> None:
        self.report = report
        self.compared = compared
        text = str(report)
        if compared is not None and compared.differences:
            text += "\n" + str(compared)
        super().__init__(text)


def assert_equivalent(keras_model: Any, torch_model: Any, sample: Any = None,
                      atol: float = 1e-5, seed: int = 0) -> Equivalence:
    """Run both models on the same input (laid out for each) and compare their outputs.

    `sample` is Keras-layout data; by default 2 random samples of the model's input shape.
    Raises `PortMismatch` (an AssertionError) naming the first diverging layer pair and the
    contract differences `compare` finds; returns the `Equivalence` on success.
    """
    import numpy as np
    import torch

    if sample is None:
        shape = tuple(2 if s is None else s for s in keras_model.inputs[0].shape)
        sample = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x = np.asarray(sample, np.float32)
    k_out = [np.asarray(keras_model(x))]
    torch_model.eval()
    with torch.no_grad():
        t = torch_model(torch_input(torch_model, x))
    t_out = [to_numpy(t[0] if isinstance(t, (tuple, list)) else t)]
    diffs = []
    for a, b in zip(k_out, t_out):
        if a.shape != b.shape:
            raise PortMismatch(f"output shapes differ: Keras {a.shape}, torch {b.shape}",
                               compare(keras_model, torch_model))
        diffs.append(float(np.max(np.abs(a - b))) if a.size else 0.0)
    eq = Equivalence(diffs, atol)
    if not eq.ok:
        eq.first_divergence = _first_divergence(keras_model, torch_model, x, atol)
        raise PortMismatch(eq, compare(keras_model, torch_model))
    return eq


def _first_divergence(keras_model: Any, torch_model: Any, x: np.ndarray, atol: float) -> str | None:
    import keras
    import numpy as np
    import torch

    pairs = pair_layers(keras_model, torch_model, PortReport())
    layers = [p.keras[-1] for p in pairs]
    try:
        probe = keras.Model(keras_model.inputs, [layer.output for layer in layers])
        k_outs = probe(x)
        k_outs = [np.asarray(o) for o in (k_outs if isinstance(k_outs, (list, tuple)) else [k_outs])]
    except Exception:
        return None
    t_outs: dict[int, Any] = {}
    handles = [p.module.register_forward_hook(
        lambda mod, args, out, _i=i: t_outs.setdefault(_i, out)) for i, p in enumerate(pairs)]
    try:
        with torch.no_grad():
            torch_model(torch_input(torch_model, x))
    finally:
        for h in handles:
            h.remove()
    for i, (p, ko) in enumerate(zip(pairs, k_outs)):
        to = t_outs.get(i)
        if to is None:
            continue
        to = _keras_layout(p, to_numpy(to[0] if isinstance(to, (tuple, list)) else to), ko)
        if to is None:
            continue
        d = float(np.max(np.abs(ko - to)))
        if d > atol:
            return (f"{type(p.keras[-1]).__name__} '{p.keras[-1].name}' <-> "
                    f"{type(p.module).__name__} '{p.name}': max |diff| {d:.3g}")
    return None


def _keras_layout(p: Pair, to: np.ndarray, ko: np.ndarray) -> np.ndarray | None:
    """A torch layer output rearranged like the Keras layer's output, or None if incomparable."""
    rule = keras_rule(p.keras[-1])
    if rule is not None:
        converted = rule.layout.to_keras(to, ko, p)
        if converted is None:
            return None
        to = converted
    return to if to.shape == ko.shape else None
