"""`assert_equivalent`: both models on the same data; on a mismatch, where it starts and why.

Design rules:
- The input is Keras-layout data, laid out for torch by its first paired module's layout
  (NCHW permute, time-major transpose). Every output is compared (lists, tuples and dicts are
  flattened in order), on any Keras backend; values are read with `keras.ops.convert_to_numpy`
  and torch's `.detach()`, so tensors that require grad are fine.
- On a mismatch, `diagnose.first_divergence` walks the pairs with the Keras layers' inputs and
  outputs (one probe model) and one traced torch run, and names the first pair that differs
  with the cause that, corrected on that pair alone, makes it agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .compare import PortReport, Probe, align_outputs, check_models, compare, pairing
from .diagnose import Divergence, first_divergence
from .rules import to_numpy
from .weights import flatten_sources

__all__ = ["Equivalence", "PortMismatch", "assert_equivalent"]


@dataclass
class Equivalence:
    """`assert_equivalent`'s answer: the largest difference per output, and where it starts."""

    max_abs_diff: list[float]
    atol: float
    first_divergence: Divergence | None = None
    names: list[str] = field(default_factory=list)
    problem: str | None = None  # outputs that cannot be compared: their number or shapes differ
    note: str = ""  # how the outputs were matched, when not one to one in order

    @property
    def ok(self) -> bool:
        return self.problem is None and all(d <= self.atol for d in self.max_abs_diff)

    def __str__(self) -> str:
        names = self.names or [str(i) for i in range(len(self.max_abs_diff))]
        if len(self.max_abs_diff) == 1:
            diffs = f"{self.max_abs_diff[0]:.3g}"
        else:
            diffs = ", ".join(f"{n} {d:.3g}" for n, d in zip(names, self.max_abs_diff))
        text = (self.problem if self.problem is not None else
                f"max |keras - torch| per output: {diffs} (atol {self.atol:g})")
        if self.note:
            text += f"\n  outputs: {self.note}"
        if self.first_divergence is not None:
            text += f"\n  first divergence: {self.first_divergence}"
        return text


class PortMismatch(AssertionError):
    """The Keras model and its PyTorch port disagree (see `.report`)."""

    def __init__(self, report: Equivalence, compared: PortReport | None = None) -> None:
        self.report = report
        self.compared = compared
        text = str(report)
        if compared is not None and (compared.differences or compared.unseen):
            text += "\n" + str(compared)
        super().__init__(text)


def _flat(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [v for val in x.values() for v in _flat(val)]
    if isinstance(x, (list, tuple)):
        return [v for val in x for v in _flat(val)]
    return [x]


def _keras_call(keras_model: Any, xs: list[Any]) -> list[Any]:
    """The Keras outputs in the order of `keras_model.outputs` (a dict by sorted key, as Keras
    flattens it)."""
    import keras

    out = keras_model(xs[0] if len(xs) == 1 else xs, training=False)
    if isinstance(out, dict):
        out = [out[k] for k in sorted(out)]
    return [keras.ops.convert_to_numpy(o) for o in _flat(out)]


def assert_equivalent(keras_model: Any, torch_model: Any, sample: Any = None,
                      atol: float = 1e-5, seed: int = 0) -> Equivalence:
    """Run both models on the same input (laid out for each) and compare every output.

    `sample` is Keras-layout data (an array, or a list of arrays for several inputs); by default
    a few random samples of the model's input shape (integers below the vocabulary for an
    integer input). Raises `PortMismatch` (an AssertionError) naming the first diverging layer
    pair, the cause that makes it agree once corrected and its fix, and the differences
    `compare` finds; returns the `Equivalence` on success.
    """
    check_models("assert_equivalent", keras_model, torch_model)
    # outputs are compared on a batch of several samples, so a ReLU meets negative
    # pre-activations (with 2, every unit of a small Dense stayed positive now and then)
    probe = Probe.of(keras_model, seed=seed, batches=(11, 13, 17, 19, 23))
    if sample is not None:
        xs = _sample(keras_model, sample)
        probe = Probe(xs, int(xs[0].shape[0]), probe.output_shapes if probe else [],
                      probe.permutations if probe else [])
    if probe is None:
        raise ValueError("the Keras model has no symbolic inputs: build or call it first, or "
                         "pass `sample=`")
    paired = pairing(keras_model, torch_model, PortReport(), probe)
    pairs, tr = paired.pairs, paired.trace
    if tr is None or not tr.ok:
        error = "no paired module" if tr is None else f"{tr.error} ({tr.layout})"
        raise PortMismatch(Equivalence([], atol, problem=f"the torch forward failed: {error}"),
                           compare(keras_model, torch_model))
    k_out = _keras_call(keras_model, probe.inputs)
    names = [str(n) for n in getattr(keras_model, "output_names", None) or []]
    eq = _outputs(k_out, tr, names if len(names) == len(k_out) else [], atol)
    if not eq.ok:  # the probe cannot tell two layouts apart (28 steps of 28 features): try both
        for other in tr.alternatives:
            alt = _outputs(k_out, other, eq.names, atol) if other.ok else None
            if alt is not None and alt.ok:
                alt.note = "; ".join(filter(None, [f"the port takes its input as: {other.layout}",
                                                   alt.note]))
                return alt
        eq.first_divergence = _divergence(keras_model, pairs, probe.inputs, tr, atol)
        raise PortMismatch(eq, compare(keras_model, torch_model))
    return eq


def _outputs(k_out: list[Any], tr: Any, names: list[str], atol: float) -> Equivalence:
    """Keras's outputs against one traced torch run's (matched as `align_outputs` says)."""
    import numpy as np

    t_out = [to_numpy(t) for t in _flat(tr.result)]
    eq = Equivalence([], atol, names=names)
    if len(k_out) != len(t_out):
        eq.problem = (f"the Keras model returns {len(k_out)} output(s), the torch forward "
                      f"{len(t_out)}")
    else:
        align = align_outputs([a.shape for a in k_out], [b.shape for b in t_out], names,
                              tr.result_keys)
        t_out = [t_out[j] for j in align.order]
        t_out = [np.moveaxis(b, 1, -1) if cf else b for b, cf in zip(t_out, align.channels_first)]
        eq.note = align.note
    for n, (a, b) in enumerate(zip(k_out, t_out)):
        if a.shape != b.shape:
            which = "output shapes" if len(k_out) == 1 else f"output {n} shapes"
            eq.problem = eq.problem or f"{which} differ: Keras {a.shape}, torch {b.shape}"
            eq.max_abs_diff.append(float("inf"))
        else:
            eq.max_abs_diff.append(float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0)
    return eq


def _sample(keras_model: Any, sample: Any) -> list[Any]:
    """The user's sample as one array per Keras input, checked against the inputs' shapes and
    given their dtypes (a ValueError says what does not fit, never a torch error later)."""
    import numpy as np

    inputs = list(getattr(keras_model, "inputs", None) or [])
    several = isinstance(sample, (list, tuple)) and len(inputs) > 1
    xs = [np.asarray(x) for x in sample] if several else [np.asarray(sample)]
    if inputs and len(xs) != len(inputs):
        raise ValueError(f"assert_equivalent: the Keras model has {len(inputs)} inputs, the "
                         f"sample {len(xs)} array(s)")
    out = []
    for n, x in enumerate(xs):
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"assert_equivalent: sample {n} has shape {x.shape}: an empty "
                             "batch compares nothing")
        if n < len(inputs):
            want = tuple(inputs[n].shape)
            if len(want) != x.ndim or any(w is not None and w != g
                                          for w, g in zip(want[1:], x.shape[1:])):
                raise ValueError(f"assert_equivalent: sample {n} has shape {x.shape}; the Keras "
                                 f"input takes {want} (batch first, Keras layout)")
            dtype = str(inputs[n].dtype)
            x = x.astype(dtype if dtype in ("float32", "float64") or "int" in dtype else "float32")
        out.append(x)
    return out


def _divergence(keras_model: Any, pairs: list[Any], xs: list[Any], tr: Any,
                atol: float) -> Divergence | None:
    """Each pair's Keras input and output (one probe model), then the walk."""
    import keras

    try:
        ins = [p.graph[0].input for p in pairs]
        outs = [(p.keras_end or p.graph[-1]).output for p in pairs]  # after its activations
        inputs = keras_model.inputs
        probe = keras.Model(inputs[0] if len(inputs) == 1 else inputs, ins + outs)
        values = [keras.ops.convert_to_numpy(v)
                  for v in probe(xs[0] if len(xs) == 1 else xs, training=False)]
    except Exception:  # a layer used twice, a nested model: no per-layer values
        return None
    n = len(pairs)
    return first_divergence(pairs, values[:n], values[n:], tr, flatten_sources(keras_model), atol)
