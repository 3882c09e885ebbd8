"""Pairing and `compare`: which Keras layer goes with which torch module, and how they differ.

Design rules:
- Layers whose rule pairs (see `rules`) are paired in order: `model.layers` on the Keras side,
  `named_modules()` on the torch side. A torch rule that stacks takes `num_layers`
  consecutive Keras layers.
- `compare` runs the Keras rule's checks on each pair of the same kind, then, for what only
  the forward shows (is the last step taken?), runs the torch model on fake tensors. It never
  runs a model on data. Every difference says which side to change and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from .._errors import Report
from .rules import (
    SEQUENCE,
    Pair,
    directions,
    keras_class,
    keras_paired,
    keras_rule,
    torch_class,
    torch_rule,
)

__all__ = ["Difference", "PortReport", "compare"]


@dataclass
class Difference:
    """One way the port differs: where, what, both values, and which side to change how."""

    keras: str
    torch: str
    what: str
    keras_value: Any
    torch_value: Any
    fix: str

    def __str__(self) -> str:
        return (f"{self.keras} <-> {self.torch}: {self.what}: Keras {self.keras_value}, torch "
                f"{self.torch_value}\n    fix: {self.fix}")


@dataclass
class PortReport(Report):
    """`compare`'s answer: the layer pairs, and every difference found."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    def __str__(self) -> str:
        head = "port: " + ", ".join(f"{k} <-> {t}" for k, t in self.pairs)
        if self.ok:
            return head + "\n  no differences in contract"
        return "\n".join([head, f"  {len(self.differences)} difference(s):"]
                         + ["  " + str(d).replace("\n", "\n  ") for d in self.differences])


# ---------------------------------------------------------------------------- pairing
def _label(x: Any, name: str | None = None) -> str:
    return f"{type(x).__name__} '{x.name if name is None else name}'"


def keras_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if keras_paired(layer)]


def torch_modules(model: Any) -> list[tuple[str, Any]]:
    out = []
    for name, m in model.named_modules():
        rule = torch_rule(m)
        if rule is not None and rule.paired:
            out.append((name or type(m).__name__, m))
    return out


def _next_siblings(torch_model: Any) -> dict[int, Any]:
    """For each module, the module registered right after it in its parent (forward order in
    an nn.Sequential; registration order in a custom module, which usually matches)."""
    nexts: dict[int, Any] = {}
    for parent in torch_model.modules():
        kids = list(parent.children())
        for a, b in pairwise(kids):
            nexts.setdefault(id(a), b)
    return nexts


def pair_layers(keras_model: Any, torch_model: Any, report: PortReport) -> list[Pair]:
    """The layer pairs, in order; unpaired layers on either side go to `report`."""
    ks = keras_layers(keras_model)
    ts = torch_modules(torch_model)
    nexts = _next_siblings(torch_model)
    pairs: list[Pair] = []
    i = 0
    for name, m in ts:
        if i >= len(ks):
            report.differences.append(Difference(
                "(none)", _label(m, name), "extra torch module", "-", "present",
                "remove it from the torch model, or add the matching layer to the Keras model"))
            continue
        take = 1
        rule = torch_rule(m)
        if rule is not None and rule.stacks:
            take = max(1, min(m.num_layers, len(ks) - i))
        group = ks[i:i + take]
        i += take
        pairs.append(Pair(group, name, m, nexts.get(id(m))))
        report.pairs.append((" + ".join(_label(k) for k in group), _label(m, name)))
    for k in ks[i:]:
        report.differences.append(Difference(
            _label(k), "(none)", "missing torch module", "present", "-",
            f"add the torch counterpart of {_label(k)}"))
    return pairs


def same_kind(p: Pair) -> bool:
    """Are the Keras layer and the torch module of one kind (so the Keras rule applies)?"""
    krule, trule = keras_rule(p.keras[0]), torch_rule(p.module)
    return krule is not None and trule is not None and krule.kind == trule.kind


# ---------------------------------------------------------------------------- compare
def compare(keras_model: Any, torch_model: Any) -> PortReport:
    """Every difference in contract between a Keras model and its PyTorch port, layer by layer."""
    report = PortReport()
    pairs = pair_layers(keras_model, torch_model, report)
    for p in pairs:
        _compare_pair(p, report)
    _compare_flow(keras_model, torch_model, pairs, report)
    return report


def _diff(report: PortReport, p: Pair, what: str, kv: Any, tv: Any, fix: str) -> None:
    k = " + ".join(_label(x) for x in p.keras)
    report.differences.append(Difference(k, _label(p.module, p.name), what, kv, tv, fix))


def _compare_pair(p: Pair, report: PortReport) -> None:
    k, m = p.keras[0], p.module
    rule = keras_rule(k)
    if rule is None or not same_kind(p):
        kind = keras_class(k)
        port = rule.port if rule is not None and rule.port is not None else "?"
        _diff(report, p, "layer kind", kind, torch_class(m), f"port {kind} as nn.{port}")
        return
    for check in rule.checks:
        for issue in check(p):
            _diff(report, p, *issue)


def _compare_flow(keras_model: Any, torch_model: Any, pairs: list[Pair], report: PortReport) -> None:
    """What only the forward shows: the shapes passed between layers, and the final output."""
    shapes = _torch_shapes(keras_model, torch_model)
    if shapes is None:
        return
    for idx, p in enumerate(pairs):
        k_last = p.keras[-1]
        rule = keras_rule(k_last)
        if (rule is None or rule.layout is not SEQUENCE
                or getattr(directions(k_last)[0], "return_sequences", True)):
            continue
        nxt = pairs[idx + 1] if idx + 1 < len(pairs) else None
        if nxt is None:
            continue
        got = shapes.get(id(nxt.module))
        if got is not None and len(got) == 3:
            bidir = len(directions(k_last)) == 2
            fix = ("use torch.cat((h_n[-2], h_n[-1]), dim=1): for a bidirectional layer the last "
                   "step of `output` is not what Keras returns" if bidir else
                   "take the last step: out[:, -1] (batch_first) / out[-1], or h_n[-1]")
            _diff(report, p, "what is returned", "last step only (return_sequences=False)",
                  f"all steps reach {_label(nxt.module, nxt.name)} {tuple(got)}", fix)
    k_out = tuple(2 if s is None else s for s in keras_model.outputs[0].shape) if keras_model.outputs else None
    t_out = shapes.get("__output__")
    if k_out is not None and t_out is not None and tuple(t_out) != k_out:
        report.differences.append(Difference(
            f"model '{keras_model.name}' output", "torch forward output",
            "output shape for a probe batch of 2", k_out, tuple(t_out),
            "make the torch forward return what the Keras model returns (see the differences above)"))


def torch_input(torch_model: Any, x: Any) -> Any:
    """Keras-layout data, as a tensor laid out for the torch model's first paired module."""
    import numpy as np
    import torch

    mods = torch_modules(torch_model)
    t = torch.as_tensor(np.asarray(x))
    if not mods:
        return t
    first = mods[0][1]
    rule = torch_rule(first)
    return t if rule is None else rule.layout.to_torch(t, first)


def _torch_shapes(keras_model: Any, torch_model: Any) -> dict[Any, Any] | None:
    """Input shape of each paired torch module, and the output, on fake tensors."""
    import numpy as np
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from ..frameworks.torch import _quiet

    try:
        shape = tuple(2 if s is None else s for s in keras_model.inputs[0].shape)
    except Exception:
        return None
    seen: dict[Any, Any] = {}
    handles = []
    for _, m in torch_modules(torch_model):
        def hook(mod: Any, args: Any, _m: Any = m) -> None:
            if args and hasattr(args[0], "shape"):
                seen.setdefault(id(_m), tuple(args[0].shape))
        handles.append(m.register_forward_pre_hook(hook))
    try:
        x = torch_input(torch_model, np.zeros(shape, np.float32))
        with _quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            out = torch_model(torch.empty(tuple(x.shape), dtype=x.dtype))
        o = out[0] if isinstance(out, (tuple, list)) else out
        seen["__output__"] = tuple(o.shape)
    except Exception:
        return seen or None
    finally:
        for h in handles:
            h.remove()
    return seen
