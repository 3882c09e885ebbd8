"""Why a layer pair disagrees, found by experiment: try each candidate cause on that pair alone.

Design rules:
- The divergence walk (`first_divergence`) compares, pair by pair, the Keras layer's output
  with the torch module's output *as the forward reads it* (the module's own output, laid out
  like Keras's, with the activations the traced forward applies to it). The first pair that
  differs is explained, never the head that merely inherits the difference.
- Where the cause lies is decided by experiment: if the module, fed what Keras feeds its layer
  (laid out for torch), agrees, the cause is in what the forward passes it (`INPUT_CAUSES`);
  otherwise in the module (`MODULE_CAUSES`, per kind). A cause is reported only when applying
  its correction to a copy of the module (or to its input) makes the pair agree; the fix is the
  code of that correction.
- The candidate tables are rows: a kind gets a cause by adding a function to its row. A
  function yields (finding, experiment) variants; the experiment returns the corrected output.
- torch, keras and numpy are imported inside functions only.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .rules import (
    SEQUENCE,
    Pair,
    directions,
    keras_rule,
    pad_fix,
    tf_same_pads,
    to_numpy,
    torch_activation,
    torch_call,
    torch_class,
    torch_rule,
)
from .trace import Trace

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Diagnosis", "Divergence", "INPUT_CAUSES", "MODULE_CAUSES", "first_divergence"]


@dataclass
class Diagnosis:
    """A cause that, corrected on the pair alone, makes it agree: what, why, and the code."""

    cause: str  # short name: "gate order", "bidirectional final state", ...
    explanation: str
    fix: str  # code to change (torch side unless it says otherwise)
    residual: float  # max |diff| of the pair once corrected

    def __str__(self) -> str:
        fix = self.fix.replace("\n", "\n      ")
        return (f"cause: {self.cause}: {self.explanation}\n    fix:\n      {fix}\n"
                f"    (corrected on a copy, the pair agrees: max |diff| {self.residual:.2g})")


@dataclass
class Divergence:
    """Where the outputs start to differ, by how much, and why (if a candidate cause fits)."""

    pair: str
    max_abs_diff: float
    diagnosis: Diagnosis | None = None
    tried: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.pair}: max |diff| {self.max_abs_diff:.3g}"
        if self.diagnosis is not None:
            return text + "\n    " + str(self.diagnosis)
        if self.tried:
            text += ("\n    no single candidate cause makes this pair agree (tried: "
                     + ", ".join(self.tried) + ")")
        return text


@dataclass
class Context:
    """What an experiment on pair `index` has: both sides' values for it, and the run."""

    pair: Pair
    index: int
    keras_in: np.ndarray  # Keras layout
    keras_out: np.ndarray
    expected_in: Any  # keras_in laid out for the torch module (a tensor)
    actual_in: Any  # what the torch forward passed the module
    trace: Trace
    pairs: list[Pair]
    flattened: tuple[int, ...] | None  # the channels_last map a Flatten before the layer flattened
    atol: float

    @property
    def module_path(self) -> str:
        """The module as code reaches it from the model: `model.lstm`, `model[0]`."""
        return _path("model", self.pair.name)

    @property
    def label(self) -> str:
        return f"{torch_class(self.pair.module)} '{self.pair.name}'"

    def read(self, module: Any, x: Any, activations: bool = True) -> np.ndarray | None:
        """`module(x)` read like the Keras layer's output (layout, selection, the activations the
        traced forward applies after it); None if it cannot be compared."""
        import torch

        try:
            with torch.no_grad():
                out = module(x)
        except Exception:
            return None
        return self.reading(out, activations)

    def reading(self, out: Any, activations: bool = True) -> np.ndarray | None:
        import torch

        t = out[0] if isinstance(out, tuple) else out
        if activations:
            with torch.no_grad():
                for op in self.trace.activations_after(self.index):
                    t = op.replay(t)
        rule = keras_rule(self.pair.keras[-1])
        arr = to_numpy(t)
        if rule is not None:
            converted = rule.layout.to_keras(arr, self.keras_out, self.pair)
            if converted is None:
                return None
            arr = converted
        return arr if arr.shape == self.keras_out.shape else None

    def gap(self, got: np.ndarray | None) -> float:
        import numpy as np

        if got is None or got.shape != self.keras_out.shape:
            return float("inf")
        return float(np.max(np.abs(got - self.keras_out))) if got.size else 0.0


def _path(root: str, name: str) -> str:
    text = root
    for part in name.split(".") if name else []:
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def _caller(name: str) -> str:
    """How the port's forward calls the module: `self.lstm`, `self.block[0]`."""
    return _path("self", name)


Variant = tuple[str, str, str, Callable[[], "np.ndarray | None"]]  # cause, why, fix, experiment
Candidate = Callable[[Context], Iterator[Variant]]


# ------------------------------------------------------------------------ module causes
def _with(ctx: Context, change: Callable[[Any], None]) -> Callable[[], np.ndarray | None]:
    def run() -> np.ndarray | None:
        import torch

        m = copy.deepcopy(ctx.pair.module)
        with torch.no_grad():
            change(m)
        return ctx.read(m, ctx.expected_in)
    return run


def _gate_params(m: Any) -> list[tuple[str, Any]]:
    return [(n, p) for n, p in m.named_parameters() if n.startswith(("weight_ih", "weight_hh",
                                                                       "bias_ih", "bias_hh"))]


_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
_KERAS_GATES = {"lstm": "i,f,c,o (the same order)", "gru": "z,r,h"}


def gate_order(ctx: Context) -> Iterator[Variant]:
    """The gate blocks of the weights in another order than torch's (LSTM i,f,g,o; GRU r,z,n)."""
    rule = torch_rule(ctx.pair.module)
    kind = rule.kind if rule is not None else ""
    names = _GATES.get(kind)
    if names is None:
        return
    g = len(names)
    for perm in itertools.permutations(range(g)):
        if perm == tuple(range(g)):
            continue

        def change(m: Any, perm: tuple[int, ...] = perm) -> None:
            import torch

            for _, p in _gate_params(m):
                c = p.chunk(g, 0)
                p.copy_(torch.cat([c[j] for j in perm], 0))

        inverse = [perm.index(k) for k in range(g)]
        found = ",".join(names[inverse[k]] for k in range(g))
        blocks = ", ".join(f"c[{j}]" for j in perm)
        fix = (f"with torch.no_grad():  # reorder the {g} gate blocks of every weight and bias\n"
               f"    for name, p in {ctx.module_path}.named_parameters():\n"
               f"        if name.startswith(('weight_ih', 'weight_hh', 'bias_')):\n"
               f"            c = p.chunk({g}, 0)\n"
               f"            p.copy_(torch.cat([{blocks}], 0))")
        why = (f"the gate blocks of the weights of {ctx.label} are in the order {found}; torch's "
               f"{torch_class(ctx.pair.module)} expects {','.join(names)} (Keras: "
               f"{_KERAS_GATES[kind]}). transfer_weights does this reordering; copying by hand, "
               "reorder the blocks (or, torch -> Keras, the inverse on the Keras kernels)")
        yield "gate order", why, fix, _with(ctx, change)


def bias_counted_twice(ctx: Context) -> Iterator[Variant]:
    """LSTM/RNN: torch adds bias_ih and bias_hh; Keras's one bias must equal their sum."""
    params = [n for n, _ in _gate_params(ctx.pair.module) if n.startswith("bias_hh")]
    if not params:
        return

    def change(m: Any) -> None:
        for n in params:
            getattr(m, n).zero_()

    fix = ("with torch.no_grad():  # torch adds bias_ih + bias_hh: the Keras bias goes in one\n"
           + "".join(f"    {ctx.module_path}.{n}.zero_()\n" for n in params)
           + "# torch -> Keras: cell.bias = bias_ih + bias_hh")
    why = (f"{ctx.label} adds bias_ih and bias_hh, while Keras has one bias: it was counted twice "
           "(or, torch -> Keras, only one of torch's two biases was copied)")
    yield "bias counted twice", why, fix, _with(ctx, change)


def gru_bias_rows(ctx: Context) -> Iterator[Variant]:
    """GRU (reset_after): Keras's bias is (2, 3u): row 0 the input bias, row 1 the recurrent one."""
    rule = torch_rule(ctx.pair.module)
    if rule is None or rule.kind != "gru":
        return
    names = [n for n, _ in _gate_params(ctx.pair.module) if n.startswith("bias_ih")]

    def change(m: Any) -> None:
        for n in names:
            a, b = getattr(m, n), getattr(m, n.replace("bias_ih", "bias_hh"))
            tmp = a.clone()
            a.copy_(b)
            b.copy_(tmp)

    swaps = "".join(f"    a, b = {ctx.module_path}.{n}, {ctx.module_path}.{n.replace('bias_ih', 'bias_hh')}\n"
                    "    a_old = a.clone(); a.copy_(b); b.copy_(a_old)\n" for n in names)
    fix = "with torch.no_grad():  # Keras GRU bias: row 0 -> bias_ih, row 1 -> bias_hh\n" + swaps
    why = ("the rows of the Keras GRU bias (2, 3*units) are swapped: with reset_after=True row 0 is "
           "the input bias (torch bias_ih) and row 1 the recurrent bias (torch bias_hh), which "
           "the reset gate multiplies")
    yield "GRU bias layout (reset_after)", why, fix.rstrip("\n"), _with(ctx, change)


def extra_bias(ctx: Context) -> Iterator[Variant]:
    """A torch bias where the Keras layer has none (use_bias=False): left at its initial value."""
    m = ctx.pair.module
    if getattr(m, "bias", None) is None or getattr(ctx.pair.keras[0], "use_bias", True):
        return

    def change(mod: Any) -> None:
        mod.bias.zero_()

    yield ("bias where Keras has none",
           f"the Keras layer has use_bias=False; {ctx.label} has a bias, left at its initial value",
           f"{ctx.module_path}.bias.data.zero_()  # or build it with bias=False",
           _with(ctx, change))


def transposed_weight(ctx: Context) -> Iterator[Variant]:
    """A square Dense kernel copied without the transpose ((in, out) -> (out, in))."""
    w = getattr(ctx.pair.module, "weight", None)
    if w is None or w.dim() != 2 or w.shape[0] != w.shape[1]:
        return

    def change(m: Any) -> None:
        m.weight.copy_(m.weight.T.clone())

    fix = (f"{ctx.module_path}.weight.data = torch.as_tensor(kernel).T.contiguous()  "
           "# Keras kernel (in, out) -> torch weight (out, in)")
    why = f"the weight of {ctx.label} is the Keras kernel untransposed: torch stores (out, in)"
    yield "kernel not transposed", why, fix, _with(ctx, change)


def flatten_order(ctx: Context) -> Iterator[Variant]:
    """A Dense after Flatten of a channels_last map: its rows follow (h, w, c) in Keras and the
    (c, h, w) order of torch's Flatten of an NCHW map."""
    w = getattr(ctx.pair.module, "weight", None)
    if ctx.flattened is None or w is None or w.dim() != 2:
        return
    *spatial, c = ctx.flattened
    nd = len(spatial)
    hwc_to_chw = (0, nd + 1, *range(1, nd + 1))  # weight (out, h, w, c) -> (out, c, h, w)
    chw_to_hwc = (0, *range(2, nd + 2), 1)

    def change(perm: tuple[int, ...], shape: tuple[int, ...]) -> Callable[[Any], None]:
        def run(m: Any) -> None:
            out = m.weight.shape[0]
            m.weight.copy_(m.weight.reshape(out, *shape).permute(*perm).reshape(out, -1))
        return run

    dims = ", ".join(map(str, spatial))
    yield ("flatten order",
           f"the weight columns of {ctx.label} are in Keras's (h, w, c) order, but torch flattens the "
           f"NCHW map in (c, h, w) order",
           f"w = {ctx.module_path}.weight.data  # columns (h, w, c) -> (c, h, w)\n"
           f"{ctx.module_path}.weight.data = w.reshape(w.shape[0], {dims}, {c})"
           f".permute{hwc_to_chw}.reshape(w.shape[0], -1)\n"
           "# (transfer_weights does this; or flatten in Keras order: x.permute(0, 2, 3, 1).flatten(1))",
           _with(ctx, change(hwc_to_chw, (*spatial, c))))
    yield ("flatten order",
           f"the weight columns of {ctx.label} are in torch's (c, h, w) order, but the map reaching it "
           "is flattened in Keras's (h, w, c) order",
           f"w = {ctx.module_path}.weight.data  # columns (c, h, w) -> (h, w, c)\n"
           f"{ctx.module_path}.weight.data = w.reshape(w.shape[0], {c}, {dims})"
           f".permute{chw_to_hwc}.reshape(w.shape[0], -1)",
           _with(ctx, change(chw_to_hwc, (c, *spatial))))


def conv_kernel_layout(ctx: Context) -> Iterator[Variant]:
    """Conv kernels: spatial axes swapped (a wrong permute of (kh, kw, in, out)), in/out
    channels swapped, or the kernel flipped (convolution vs cross-correlation)."""
    w = getattr(ctx.pair.module, "weight", None)
    if w is None or w.dim() < 3:
        return
    nd = w.dim() - 2
    if nd == 2:
        def swap_spatial(m: Any) -> None:
            m.weight.copy_(m.weight.transpose(2, 3).clone())
        yield ("conv kernel axes",
               f"the kernel of {ctx.label} has its spatial axes swapped: Keras (kh, kw, in, out) is "
               "torch (out, in, kh, kw) by permute(3, 2, 0, 1), not a reversal of the axes",
               f"{ctx.module_path}.weight.data = torch.as_tensor(kernel).permute(3, 2, 0, 1)"
               ".contiguous()  # not .permute(3, 2, 1, 0)", _with(ctx, swap_spatial))
    if w.shape[0] == w.shape[1]:
        def swap_channels(m: Any) -> None:
            m.weight.copy_(m.weight.transpose(0, 1).clone())
        perm = (nd + 1, nd, *range(nd))
        yield ("conv kernel axes",
               f"the kernel of {ctx.label} has in and out channels swapped: torch's weight is "
               "(out, in, k...)",
               f"{ctx.module_path}.weight.data = torch.as_tensor(kernel).permute{perm}.contiguous()",
               _with(ctx, swap_channels))

    def flip(m: Any) -> None:
        m.weight.copy_(m.weight.flip(list(range(2, 2 + nd))))
    yield ("conv kernel flipped",
           f"the kernel of {ctx.label} is flipped: both frameworks cross-correlate, so the kernel is "
           "copied as is (a flip belongs to Theano-era convolution)",
           f"{ctx.module_path}.weight.data = {ctx.module_path}.weight.data.flip({list(range(2, 2 + nd))})",
           _with(ctx, flip))


def conv_padding(ctx: Context) -> Iterator[Variant]:
    """Keras 'same' where TF pads the odd row/column at the end (strides > 1, even kernels)
    and torch pads both sides alike."""
    k, m = ctx.pair.keras[0], ctx.pair.module
    if getattr(k, "padding", None) != "same" or isinstance(m.padding, str):
        return
    pads = tf_same_pads(ctx.pair.graph[0])
    if pads is None or all(a == b == t for (a, b), t in zip(pads, m.padding)):
        return

    def run() -> np.ndarray | None:
        import torch

        mod = copy.deepcopy(m)
        mod.padding = (0,) * len(pads)
        flat = [v for a, b in reversed(pads) for v in (a, b)]
        return ctx.read(mod, torch.nn.functional.pad(ctx.expected_in, flat))

    yield ("padding",
           f"Keras 'same' pads {tuple(pads)} (before, after) per axis, the odd one at the end; "
           f"{ctx.label} pads {tuple(m.padding)} on both sides",
           pad_fix(pads), run)


def batchnorm_epsilon(ctx: Context) -> Iterator[Variant]:
    k, m = ctx.pair.keras[0], ctx.pair.module
    eps = getattr(k, "epsilon", None)
    if eps is None or abs(eps - m.eps) <= 1e-12:
        return

    def change(mod: Any) -> None:
        mod.eps = eps

    yield ("epsilon", f"{ctx.label} uses eps={m.eps:g}, Keras epsilon={eps:g}",
           f"{ctx.module_path}.eps = {eps:g}  # or build nn.{torch_class(m)}(..., eps={eps:g})",
           _with(ctx, change))


def activation(ctx: Context) -> Iterator[Variant]:
    """The activations Keras applies to the pair's output (`activation=` and activation layers
    after it) missing after the torch module, others applied, or some applied that Keras does
    not have (read from the traced forward, functional or module)."""
    import keras

    p = ctx.pair
    rule = keras_rule(p.keras[-1])
    if rule is not None and rule.layout is SEQUENCE:
        return  # an RNN's activations are inside the cell
    inner = directions(p.keras[-1])[0]
    own = getattr(getattr(inner, "activation", None), "__name__", "linear")
    want = p.keras_applied if p.keras_applied is not None else ([] if own == "linear" else [own])
    calls = p.keras_calls if p.keras_applied is not None else (
        [] if own == "linear" else [inner.activation])
    applied = [str(op.activation) for op in ctx.trace.activations_after(ctx.index)]
    if want == applied:
        return
    module_out = _module_output(ctx)
    if module_out is None:
        return

    def keras_activations() -> np.ndarray | None:
        raw = ctx.reading(module_out, activations=False)
        if raw is None:
            return None
        for call in calls:
            raw = keras.ops.convert_to_numpy(call(raw))
        return raw

    has, wants = ", ".join(applied), ", ".join(want)
    name = _caller(p.name)
    if want:
        module = " then ".join(torch_activation(a) for a in want)
        expr = f"{name}(x)"
        for a in want:
            expr = torch_call(a, expr)
        what = (f"the forward applies {has} after {ctx.label}; Keras applies {wants}" if applied
                else f"Keras applies {wants}; the torch forward applies nothing after {ctx.label}")
        yield ("missing activation" if not applied else "wrong activation", what,
               f"x = {expr}  # or {module} right after it", keras_activations)
    else:
        yield ("extra activation",
               f"the forward applies {has} after {ctx.label}; Keras applies none there",
               f"x = {name}(x)  # without {has}", keras_activations)


def _module_output(ctx: Context) -> Any:
    import torch

    try:
        with torch.no_grad():
            return ctx.pair.module(ctx.expected_in)
    except Exception:
        return None


def reference_weights(ctx: Context) -> Iterator[Variant]:
    """Last resort: the weights are not what `transfer_weights` gives (names what differs)."""
    rule = keras_rule(ctx.pair.keras[0])
    if rule is None or rule.transfer is None:
        return
    m = copy.deepcopy(ctx.pair.module)
    try:
        rule.transfer(Pair(ctx.pair.keras, ctx.pair.name, m), True, ctx.flattened)
    except Exception:
        return
    import numpy as np

    differ = [n for (n, a), (_, b) in zip(ctx.pair.module.named_parameters(), m.named_parameters())
              if not np.allclose(to_numpy(a), to_numpy(b))]
    if not differ:
        return
    yield ("weights", f"{', '.join(differ)} of {ctx.label} differ from the Keras weights converted "
           "(no single known mistake explains it)",
           "transfer_weights(keras_model, torch_model)  # converts every pair's weights",
           lambda: ctx.read(m, ctx.expected_in))


# ------------------------------------------------------------------------- input causes
def bidirectional_final_state(ctx: Context) -> Iterator[Variant]:
    """The value reaching the module is a bidirectional RNN's last step, not both final states."""
    node = ctx.trace.input_nodes.get(ctx.index)
    if node is None or node.source is None:
        return
    src = ctx.pairs[node.source]
    last = src.keras[-1]
    if len(directions(last)) != 2 or getattr(directions(last)[0], "return_sequences", True):
        return
    if node.part != "out":
        return
    h = src.module.hidden_size
    yield ("bidirectional final state",
           f"{ctx.label} reads `{node.expression}` of {torch_class(src.module)} '{src.name}'; for "
           f"a bidirectional layer the last step holds only the forward direction's final state: "
           f"the backward direction's is at step 0 (`out[:, 0, {h}:]`), and Keras returns both",
           (f"_, (h_n, c_n) = {_caller(src.name)}(x)\n" if torch_class(src.module) == "LSTM" else
            f"_, h_n = {_caller(src.name)}(x)\n") + "x = torch.cat((h_n[-2], h_n[-1]), dim=1)",
           lambda: ctx.read(ctx.pair.module, ctx.expected_in))


def last_step(ctx: Context) -> Iterator[Variant]:
    """A unidirectional RNN whose Keras layer returns the last step, read at another step."""
    node = ctx.trace.input_nodes.get(ctx.index)
    if node is None or node.source is None or node.part != "out":
        return
    src = ctx.pairs[node.source]
    last = src.keras[-1]
    if len(directions(last)) != 1 or getattr(last, "return_sequences", True):
        return
    step = "out[:, -1]" if getattr(src.module, "batch_first", False) else "out[-1]"
    yield ("last step",
           f"{ctx.label} reads `{node.expression}` of {torch_class(src.module)} '{src.name}'; "
           "Keras returns the last step (return_sequences=False)",
           f"x = {step}  # or h_n[-1]: the last layer's final state",
           lambda: ctx.read(ctx.pair.module, ctx.expected_in))


def final_state_layer(ctx: Context) -> Iterator[Variant]:
    """A stacked RNN's final state read from another layer than the last (`h_n[0]`)."""
    node = ctx.trace.input_nodes.get(ctx.index)
    if node is None or node.source is None or node.part not in ("h_n", "c_n"):
        return
    src = ctx.pairs[node.source]
    layers = getattr(src.module, "num_layers", 1)
    bidir = getattr(src.module, "bidirectional", False)
    right = "torch.cat((h_n[-2], h_n[-1]), dim=1)" if bidir else "h_n[-1]"
    yield ("final state of another layer",
           f"{ctx.label} reads `{node.expression}` of {torch_class(src.module)} '{src.name}' "
           f"({layers} layer(s){', 2 directions' if bidir else ''}: h_n holds one state per "
           f"layer and direction, the last layer's last); Keras returns the last layer's",
           f"x = {right}", lambda: ctx.read(ctx.pair.module, ctx.expected_in))


def sequence_layout(ctx: Context) -> Iterator[Variant]:
    """A torch RNN that reads axis 0 as time (batch_first=False) given batch-major data, or the
    reverse."""
    m = ctx.pair.module
    if not hasattr(m, "batch_first") or getattr(ctx.actual_in, "dim", lambda: 0)() != 3:
        return
    if tuple(ctx.actual_in.shape) == tuple(ctx.expected_in.shape):
        flipped = ctx.actual_in.transpose(0, 1)
        import torch

        if not torch.allclose(flipped, ctx.expected_in.reshape(flipped.shape), atol=ctx.atol):
            return
    have = "batch-major (batch, timesteps, features)" if not m.batch_first else "time-major"
    yield ("batch_first",
           f"{ctx.label} has batch_first={m.batch_first} but receives {have} data: batch and time "
           "are swapped",
           f"nn.{torch_class(m)}(..., batch_first=True)  # or pass x.transpose(0, 1)",
           lambda: ctx.read(m, ctx.expected_in))


def flatten_input_order(ctx: Context) -> Iterator[Variant]:
    """What reaches a Dense after Flatten is flattened in the other order than its weights."""
    if ctx.flattened is None:
        return
    yield ("flatten order",
           f"the map reaching {ctx.label} is flattened in another order than its weights expect "
           "(torch's Flatten of NCHW gives (c, h, w); a permute before it gives Keras's (h, w, c))",
           "x = torch.flatten(x, 1)  # flatten the NCHW map as is: transfer_weights reorders the "
           "Dense rows for it",
           lambda: ctx.read(ctx.pair.module, ctx.expected_in))


def what_reaches(ctx: Context) -> Iterator[Variant]:
    """Last resort: the module is right, what the forward passes it is not."""
    node = ctx.trace.input_nodes.get(ctx.index)
    expr = node.expression if node is not None else "its input"
    src = ""
    if node is not None and node.source is not None:
        s = ctx.pairs[node.source]
        src = f" of {torch_class(s.module)} '{s.name}'"
    before = ctx.pair.keras_before
    keras_side = (f"; in Keras, between them: {', '.join(before)}" if before else "")
    yield ("input of the pair",
           f"{ctx.label} is right when given what Keras gives its layer, but the forward passes "
           f"it `{expr}`{src}{keras_side}",
           f"make the forward pass {ctx.label} what Keras's layer receives", lambda: ctx.read(
               ctx.pair.module, ctx.expected_in))


MODULE_CAUSES: dict[str, tuple[Candidate, ...]] = {
    "lstm": (gate_order, bias_counted_twice, reference_weights),
    "gru": (gate_order, gru_bias_rows, reference_weights),
    "simple_rnn": (bias_counted_twice, reference_weights),
    "dense": (activation, extra_bias, transposed_weight, flatten_order, reference_weights),
    "conv1d": (activation, extra_bias, conv_padding, conv_kernel_layout, reference_weights),
    "conv2d": (activation, extra_bias, conv_padding, conv_kernel_layout, reference_weights),
    "batchnorm": (batchnorm_epsilon, reference_weights),
    "embedding": (reference_weights,),
}
"""Per torch kind, the causes tried when the module itself disagrees, in order."""

INPUT_CAUSES: tuple[Candidate, ...] = (bidirectional_final_state, last_step, final_state_layer,
                                       sequence_layout,
                                       flatten_input_order, what_reaches)
"""The causes tried when the module agrees once given what Keras gives its layer."""


# ---------------------------------------------------------------------------- the walk
def first_divergence(pairs: list[Pair], keras_in: list[Any], keras_out: list[Any], trace: Trace,
                     flattened: dict[int, tuple[int, ...]], atol: float) -> Divergence | None:
    """The first pair whose output (as the forward reads it) differs from its Keras layer's,
    and the cause (see the module docstring). `keras_in`/`keras_out` are per pair."""
    modes = [(p.module, p.module.training) for p in pairs]
    for p in pairs:
        p.module.eval()  # the pair alone is run as the traced forward ran it: inference
    try:
        return _walk(pairs, keras_in, keras_out, trace, flattened, atol)
    finally:
        for m, training in modes:
            m.train(training)


def _walk(pairs: list[Pair], keras_in: list[Any], keras_out: list[Any], trace: Trace,
          flattened: dict[int, tuple[int, ...]], atol: float) -> Divergence | None:
    import numpy as np
    import torch

    for i, p in enumerate(pairs):
        if i not in trace.outputs or keras_out[i] is None:
            continue
        trule = torch_rule(p.module)
        expected = torch.as_tensor(np.asarray(keras_in[i]))
        if trule is not None:
            expected = trule.layout.to_torch(expected, p.module)
        expected = _flatten_for_torch(expected, flattened.get(id(p.graph[0])))
        actual = trace.inputs.get(i, expected)
        if hasattr(actual, "dtype") and hasattr(expected, "to"):
            expected = expected.to(actual.dtype)
        ctx = Context(p, i, np.asarray(keras_in[i]), np.asarray(keras_out[i]), expected, actual,
                      trace, pairs, flattened.get(id(p.graph[0])), atol)
        got = ctx.reading(trace.outputs[i])
        diff = ctx.gap(got)
        if diff <= atol:
            continue
        if got is None and _same(actual, expected, atol):
            continue  # given the right input, an output this walk cannot read (merge_mode="sum")
        label = (" + ".join(f"{type(k).__name__} '{k.name}'" for k in p.keras)
                 + f" <-> {ctx.label}")
        alone = ctx.gap(ctx.read(p.module, expected))
        kind = trule.kind if trule is not None else ""
        causes = INPUT_CAUSES if alone <= atol else MODULE_CAUSES.get(kind, (reference_weights,))
        node = trace.input_nodes.get(i)
        if alone <= atol:  # the module is right: what reaches it is not
            src = "the model input"
            if node is not None and node.source is not None:
                s = pairs[node.source]
                src = f"{torch_class(s.module)} '{s.name}'"
            label = f"what reaches {ctx.label} from {src} (Keras: {label.split(' <-> ')[0]})"
        tried: list[str] = []
        for candidate in causes:
            for cause, why, fix, experiment in candidate(ctx):
                residual = ctx.gap(experiment())
                if residual <= atol:
                    return Divergence(label, diff, Diagnosis(cause, why, fix, residual))
                if cause not in tried:
                    tried.append(cause)
        return Divergence(label, diff, None, tuple(tried))
    return None


def _same(a: Any, b: Any, atol: float) -> bool:
    import torch

    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
            and bool(torch.allclose(a.float(), b.float(), atol=atol, rtol=0)))


def _flatten_for_torch(x: Any, flattened: tuple[int, ...] | None) -> Any:
    """A Keras Flatten of a channels_last map, in the (c, h, w) order torch's Flatten gives."""
    if flattened is None or x.dim() != 2:
        return x
    nd = len(flattened)
    return x.reshape(x.shape[0], *flattened).permute(0, nd, *range(1, nd)).reshape(x.shape[0], -1)
