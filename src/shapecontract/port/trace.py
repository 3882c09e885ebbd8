"""What the torch forward really does between the modules the port pairs, seen by running it.

Design rules:
- A port's forward is code, not a module list: `torch.relu(self.conv(x))`, `out[:, -1, :]`,
  `torch.cat((h_n[-2], h_n[-1]), 1)`. `trace` runs it once (no grad, eval mode, restored
  after) under a `TorchFunctionMode` with hooks on the paired and leaf modules, and follows each
  tensor back to the paired module it came from: which part of its output (`out`, `h_n`,
  `c_n`), and which operations (functions, methods, leaf modules such as `nn.ReLU`) were applied
  to it since. Calls inside a module's own forward are not the port's code and are not recorded.
- The trace keeps the values (each paired module's input and output) for the diagnosis, and the
  operations as calls it can replay on another tensor (an activation with its `dim`/slope).
- torch is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .rules import ACTIVATIONS

__all__ = ["ACTIVATION_FUNCTIONS", "Node", "Op", "Trace", "trace_forward"]

# torch functions / methods / modules that are activations, by the name Keras gives them
ACTIVATION_FUNCTIONS = {
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh",
    "tanh_": "tanh", "softmax": "softmax", "gelu": "gelu", "silu": "silu", "elu": "elu",
    "selu": "selu", "softplus": "softplus", "leaky_relu": "leaky_relu", "log_softmax": "log_softmax",
    "hardtanh": "hard_tanh", "relu6": "relu6", "mish": "mish",
    **{module: keras for keras, module in ACTIVATIONS.items() if keras != "swish"},
}


@dataclass(frozen=True)
class Op:
    """One operation applied to a tensor on its way from a paired module, replayable."""

    name: str  # function/method name, or a leaf module's class name
    call: Any  # the function, or the module
    args: tuple[Any, ...] = ()  # the other positional arguments (the tensor is the first)
    kwargs: tuple[tuple[str, Any], ...] = ()
    text: str = ""  # as the port's code reads it: `[:, -1, :]`, `relu`

    @property
    def activation(self) -> str | None:
        """The Keras name of the activation this is, or None; a leaky ReLU with its slope
        (`leaky_relu(0.01)`), since Keras's defaults (0.2, 0.3) are not torch's (0.01)."""
        name = ACTIVATION_FUNCTIONS.get(self.name)
        if name == "leaky_relu":
            kwargs = dict(self.kwargs)
            slope = getattr(self.call, "negative_slope", None)
            if slope is None:
                slope = kwargs.get("negative_slope", self.args[0] if self.args else 0.01)
            return f"leaky_relu({float(slope):g})"
        return name

    def replay(self, x: Any) -> Any:
        return self.call(x, *self.args, **dict(self.kwargs))


@dataclass(frozen=True)
class Node:
    """Where a tensor comes from: a paired module's output part, and the operations since."""

    source: int | None  # index of the paired module, None for the model input
    part: str  # "out", "h_n", "c_n", "input"
    ops: tuple[Op, ...] = ()
    extra: tuple[Node, ...] = ()  # other tensors an op combined it with (torch.cat)
    shape: tuple[int, ...] = ()

    @property
    def activations(self) -> list[Op]:
        return [op for op in self.ops if op.activation is not None]

    @property
    def expression(self) -> str:
        """The value as the port's code computes it, e.g. `out[:, -1, :]`, `relu(out)`."""
        text = self.part
        for op in self.ops:
            if op.name == "__getitem__":
                text += op.text
            elif op.name == "cat":
                text = op.text
            else:
                text = f"{op.text}({text})"
        return text


@dataclass
class Trace:
    """One run of the torch forward: per paired module its input, output and where they come
    from; the model's outputs; or the error that stopped the run."""

    inputs: dict[int, Any] = field(default_factory=dict)  # pair index -> first positional input
    input_nodes: dict[int, Node] = field(default_factory=dict)
    outputs: dict[int, Any] = field(default_factory=dict)  # pair index -> what the module returned
    result: Any = None
    result_nodes: list[Node] = field(default_factory=list)
    # source pair -> (the node in which its output arrives, the consumer pair or None: output)
    consumers: dict[int, list[tuple[Node, int | None]]] = field(default_factory=dict)
    error: str | None = None
    failed: int | None = None  # the paired module whose forward raised `error`, if one did
    layout: str = "Keras layout"  # how the model input was laid out for this run
    call_order: list[int] = field(default_factory=list)  # paired modules, in first-call order
    result_keys: list[Any] | None = None  # the keys, when the forward returns a dict
    alternatives: list[Trace] = field(default_factory=list)  # runs with the input laid out otherwise

    def remap(self, to: dict[int, int]) -> Trace:
        """The same run with module indices renumbered (`to[old] = new`; others dropped)."""
        def node(n: Node) -> Node:
            return replace(n, source=None if n.source is None else to.get(n.source),
                           extra=tuple(node(e) for e in n.extra))

        def keyed(d: dict[int, Any]) -> dict[int, Any]:
            return {to[k]: v for k, v in d.items() if k in to}

        return replace(
            self, inputs=keyed(self.inputs),
            input_nodes={k: node(v) for k, v in keyed(self.input_nodes).items()},
            outputs=keyed(self.outputs), result_nodes=[node(n) for n in self.result_nodes],
            consumers={k: [(node(n), None if c is None else to.get(c)) for n, c in v]
                       for k, v in keyed(self.consumers).items()},
            failed=None if self.failed is None else to.get(self.failed),
            call_order=[to[i] for i in self.call_order if i in to],
            alternatives=[t.remap(to) for t in self.alternatives])

    @property
    def ok(self) -> bool:
        return self.error is None

    def downstream(self, index: int) -> list[tuple[Node, int | None]]:
        """Where the output of paired module `index` arrives (a paired module, or None for the
        model output), and as what (whatever was done to it on the way)."""
        return self.consumers.get(index, [])

    def activations_after(self, index: int) -> list[Op]:
        """Activations the forward applies to module `index`'s output before anything paired
        reads it (the first path that reaches a consumer)."""
        for node, _ in self.downstream(index):
            if node.part == "out" or node.activations:
                return node.activations
        return []


def _index_text(index: Any) -> str:
    def one(i: Any) -> str:
        if isinstance(i, slice):
            parts = ["" if v is None else str(v) for v in (i.start, i.stop)]
            text = ":".join(parts)
            return text + (f":{i.step}" if i.step is not None else "")
        if i is Ellipsis:
            return "..."
        if i is None:
            return "None"
        return str(int(i)) if isinstance(i, int) or hasattr(i, "__index__") else "?"

    items = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(one(i) for i in items) + "]"


def trace_forward(torch_model: Any, inputs: list[Any], paired: list[Any]) -> Trace:
    """Run `torch_model(*inputs)` once and trace it (see the module docstring). `paired` are
    the paired modules, in pair order. Never raises: an error ends the trace in `.error`."""
    import torch
    from torch._subclasses.fake_tensor import is_fake
    from torch.overrides import TorchFunctionMode

    tr = Trace()
    nodes: dict[int, Node] = {}
    keep: list[Any] = []  # tensors whose ids are in `nodes` stay alive while tracing
    depth = [0]
    index_of = {id(m): i for i, m in enumerate(paired)}

    def mark(t: Any, node: Node) -> None:
        if isinstance(t, torch.Tensor):
            nodes[id(t)] = replace(node, shape=tuple(int(s) for s in t.shape))
            keep.append(t)

    def node_of(t: Any) -> Node | None:
        return nodes.get(id(t)) if isinstance(t, torch.Tensor) else None

    def tensors_in(args: Any) -> list[Any]:
        out: list[Any] = []
        for a in args:
            if isinstance(a, torch.Tensor):
                out.append(a)
            elif isinstance(a, (list, tuple)):
                out.extend(x for x in a if isinstance(x, torch.Tensor))
        return out

    def reached(node: Node, consumer: int | None) -> None:
        if node.source is not None:
            tr.consumers.setdefault(node.source, []).append((node, consumer))
        for other in node.extra:
            reached(other, consumer)

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if depth[0] or (isinstance(out, torch.Tensor) and is_fake(out)):
                return out
            if isinstance(out, tuple) and out and all(isinstance(t, torch.Tensor) for t in out):
                # torch.max(x, 2) / x.max(dim=2): (values, indices); `.values` is element 0
                origins = [o for x in tensors_in(args) if (o := node_of(x)) is not None]
                if origins:
                    fname = getattr(func, "__name__", type(func).__name__)
                    src = origins[0]
                    for k, x in enumerate(out):
                        op = Op(f"{fname}[{k}]", func, text=f"{fname}[{k}]")
                        mark(x, Node(src.source, src.part, (*src.ops, op), src.extra))
                return out
            if not isinstance(out, torch.Tensor):
                return out
            srcs = [(t, n) for t in tensors_in(args) if (n := node_of(t)) is not None]
            if not srcs:
                return out
            name = getattr(func, "__name__", type(func).__name__)
            first_t, first = srcs[0]
            if name == "cat":
                parts = [n.expression if (n := node_of(t)) is not None else "?"
                         for t in tensors_in(args[:1])]
                dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
                op = Op(name, func, text=f"torch.cat(({', '.join(parts)}), {dim})")
                mark(out, Node(first.source, first.part, (*first.ops, op),
                               tuple(n for _, n in srcs[1:])))
                return out
            rest = tuple(args[1:]) if args and args[0] is first_t else ()
            text = _index_text(args[1]) if name == "__getitem__" and len(args) > 1 else name
            op = Op(name, func, rest if args and args[0] is first_t else (), tuple(kwargs.items()), text)
            mark(out, Node(first.source, first.part, (*first.ops, op), first.extra))
            return out

    def fake(args: Any) -> bool:
        """A run on fake tensors inside the real one (a shapecontract guard's, a compiler's):
        not the port's data, not traced."""
        return bool(args) and isinstance(args[0], torch.Tensor) and is_fake(args[0])

    def pre(mod: Any, args: Any) -> None:
        if fake(args):
            return
        i = index_of.get(id(mod))
        if i is not None and depth[0] == 0 and args:
            node = node_of(args[0])
            if i not in tr.call_order:
                tr.call_order.append(i)
            if i not in tr.inputs:
                tr.inputs[i] = args[0]
                if node is not None:
                    tr.input_nodes[i] = node
            if node is not None:
                reached(node, i)
        depth[0] += 1

    def post(mod: Any, args: Any, out: Any) -> None:
        if fake(args):
            return
        depth[0] -= 1
        if depth[0]:
            return
        i = index_of.get(id(mod))
        if i is not None:
            tr.outputs.setdefault(i, out)
            if isinstance(out, torch.Tensor):
                mark(out, Node(i, "out"))
            elif isinstance(out, tuple) and out:
                mark(out[0], Node(i, "out"))
                states = out[1] if len(out) > 1 else None
                if isinstance(states, torch.Tensor):
                    mark(states, Node(i, "h_n"))
                elif isinstance(states, tuple):
                    for t, part in zip(states, ("h_n", "c_n")):
                        mark(t, Node(i, part))
            return
        src = node_of(args[0]) if args else None
        if src is not None and isinstance(out, torch.Tensor):
            op = Op(type(mod).__name__, mod, text=type(mod).__name__)
            mark(out, Node(src.source, src.part, (*src.ops, op), src.extra))

    watched = [m for m in torch_model.modules()
               if id(m) in index_of or not any(True for _ in m.children())]
    handles = [h for m in watched for h in (m.register_forward_pre_hook(pre),
                                           m.register_forward_hook(post))]
    was_training = torch_model.training
    torch_model.eval()
    try:
        for x in inputs:
            mark(x, Node(None, "input"))
        with torch.no_grad(), Recorder():
            result = torch_model(*inputs)
        tr.result = result
        flat = list(result) if isinstance(result, (tuple, list)) else (
            list(result.values()) if isinstance(result, dict) else [result])
        tr.result_keys = list(result) if isinstance(result, dict) else None
        for t in flat:
            node = node_of(t)
            shape = tuple(int(n) for n in t.shape) if isinstance(t, torch.Tensor) else ()
            tr.result_nodes.append(node if node is not None else Node(None, "?", shape=shape))
            if node is not None:
                reached(node, None)
    except Exception as exc:  # a wrong port may fail in its own forward: that is a finding
        tr.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        entered = [i for i in tr.call_order if i not in tr.outputs]
        tr.failed = entered[-1] if entered else None
    finally:
        for h in handles:
            h.remove()
        torch_model.train(was_training)
    return tr
