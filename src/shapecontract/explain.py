"""Post-mortem explanations (layer L7): a framework's own shape error, read from its traceback.

Design rules:
- `explain(exc)` reads only the objects on `exc.__traceback__`: Keras's input check names the
  layer it refused (`layer_name`) and holds the symbolic input; Keras's call wrapper and a
  Sequential being built hold the layer objects; torch's `Module._call_impl` frames hold every
  module on the stack with the arguments it was called with. The innermost user frame gives the
  file and line.
- What the layer expects is the library's own knowledge: `contract_of(layer).check(input)` gives
  the violation (axis, expected, actual, origin) and its fixes; the layer kinds' knobs give the
  settings that could change it.
- Nothing is guessed: every suggestion is proven on a copy before it is shown. A Keras model is
  rebuilt from its layers' configs with the change (the whole Sequential, or the chain of layers
  from the input to the failing one) and must build; a torch step is re-run from the outermost
  module on the stack, on a deep copy, with the change applied at the failing module (a forward
  pre-hook changing its input, or the module rebuilt with a knob changed), and must run. No
  proven change, or no failing layer the library knows: `None`.
- Nothing is kept: frames, models and arrays are dropped when `explain` returns (the result holds
  shapes and settings only). The hooks (`install`, `load_ipython_extension`, the `run` command,
  the pytest plugin) call `explain` after the framework's own traceback is shown.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import linecache
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import FrameType, TracebackType
from typing import Any

from ._errors import Fix, Origin, ShapeContractError, Violation
from .fixes import InsertAxis, Op, SetSetting
from .frameworks import contract_of

__all__ = ["Fresh", "explain", "install", "load_ipython_extension", "uninstall",
           "unload_ipython_extension"]


@dataclass(frozen=True)
class Fresh(Op):
    """A new all-zeros state of `shape` in place of an all-zeros one of another shape (a
    recurrent layer's `h0` made for another batch size): the same values, the right shape."""

    shape: tuple[int, ...]

    def apply(self, x: Any) -> Any:
        import torch  # applied to a torch state that exists, never on import

        return torch.zeros(self.shape, dtype=x.dtype, device=x.device)

    def code(self, var: str, be: Any = None) -> str:
        return f"torch.zeros({', '.join(map(str, self.shape))})"


Step = tuple[Any, int]
"""A traceback entry: (frame, the line it was at)."""


def explain(exc: BaseException) -> ShapeContractError | None:
    """`exc`, a Keras, TensorFlow or PyTorch shape error, as a `ShapeContractError`: which layer
    refused which axis, what it expected and where that comes from, with fixes proven on a
    copy of the model. None when the library cannot say anything proven. A ShapeContractError
    is returned as it is. Never raises."""
    if isinstance(exc, ShapeContractError):
        return exc
    steps = _steps(exc.__traceback__)
    try:
        for reader in (_keras, _torch):
            try:
                err = reader(exc, steps)
            except Exception:  # explaining must never fail the program it explains
                err = None
            if err is not None:
                return err
        return None
    finally:
        del steps


def _steps(tb: TracebackType | None) -> list[Step]:
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _is_library(frame: FrameType) -> bool:
    name = frame.f_code.co_filename.replace("\\", "/")
    return ("/site-packages/" in name or "/dist-packages/" in name or name.startswith("<frozen")
            or ("/shapecontract/" in name and "/tests/" not in name))


def _where(steps: list[Step], before: int | None = None) -> tuple[str, int, str] | None:
    """(file, line, source) of the innermost user frame (before step `before`)."""
    for frame, line in reversed(steps[:before]):
        if not _is_library(frame):
            name = frame.f_code.co_filename
            source = linecache.getline(name, line).strip()
            with contextlib.suppress(ValueError):  # another drive
                relative = os.path.relpath(name)
                name = name if relative.startswith("..") else relative
            return name, line, source
    return None


def _headline(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _finish(base: ShapeContractError, function: str, message: str, origin: Origin | None,
            fixes: list[Fix], notes: list[str]) -> ShapeContractError:
    first, *rest = base.violations
    v = replace(first, message=message, origin=origin or first.origin, suggestions=fixes,
                explained=True)
    others = [replace(r, suggestions=[], explained=True) for r in rest]
    return ShapeContractError([v, *others], function, base.bindings, notes)


# ---------------------------------------------------------------------------------- Keras
def _keras_failure(keras: Any, steps: list[Step]) -> tuple[Any, Any, Any] | None:
    """(the layer that refused, its symbolic input, the Sequential being built or None), read
    from the frames Keras leaves on a filtered traceback: its input check (`layer_name`, `x`),
    a Sequential's build loop (`layer`, `x`) or the error handler around `Layer.__call__`
    (`args`: the layer, its input)."""
    found: list[Any] = []
    sequential = None
    for frame, _ in steps:
        loc = frame.f_locals
        args = loc.get("args")
        for value in (loc.get("self"), loc.get("layer"),
                      args[0] if isinstance(args, tuple) and args else None):
            if isinstance(value, keras.Layer) and all(value is not f for f in found):
                found.append(value)
                if isinstance(value, keras.Sequential):
                    sequential = value
                    found += list(value._layers)
    for frame, _ in reversed(steps):
        loc = frame.f_locals
        if frame.f_code.co_name == "assert_input_compatibility" and "layer_name" in loc:
            layer = next((f for f in reversed(found) if f.name == loc.get("layer_name")), None)
            x = loc.get("x")
            if layer is not None and hasattr(x, "_keras_history"):
                return layer, x, sequential
        args = loc.get("args")
        if (isinstance(args, tuple) and len(args) >= 2 and isinstance(args[0], keras.Layer)
                and not isinstance(args[0], keras.Model)
                and hasattr(args[1], "_keras_history")):
            return args[0], args[1], sequential
        layer, x = loc.get("layer"), loc.get("x")
        if (isinstance(loc.get("self"), keras.Sequential) and isinstance(layer, keras.Layer)
                and hasattr(x, "_keras_history")):
            return layer, x, sequential
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _keras_reason(exc: BaseException) -> str:
    """The framework's own sentence: Keras wraps it as 'Exception encountered when calling
    X.call(). <the reason> Arguments received by ...'."""
    text = _ANSI.sub("", str(exc)).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].startswith("Exception encountered when calling") and len(lines) > 1:
        return lines[1]
    return lines[0] if lines else type(exc).__name__


def _keras(exc: BaseException, steps: list[Step]) -> ShapeContractError | None:
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    failure = _keras_failure(keras, steps)
    if failure is None:
        return _keras_int_shape(keras, exc, steps)
    layer, x, sequential = failure
    from .frameworks.keras.layers import kind_of, who

    got = tuple(getattr(x, "shape", ()))
    base = None
    try:
        contract_of(layer).check(x)
    except ShapeContractError as e:
        base = e
    except Exception:  # no contract of its own (a wrapper): Keras's sentence is the violation
        pass
    if base is None:  # the layer's computation refused what its input check let through
        base = ShapeContractError([Violation(
            ("argument", "inputs"), "value", _keras_reason(exc), shape=got,
            origin=Origin.of_layer(who(layer), "config"))], who(layer))
    chain = _chain(keras, x)
    if chain is None:
        return None
    model_layers = list(sequential._layers) if sequential is not None and any(
        m is layer for m in sequential._layers) else [*chain, layer]
    v = base.violations[0]
    proven: list[tuple[int, int, Fix]] = []
    for order, (cost, text, code, op, edits) in enumerate(
            _keras_candidates(kind_of, who, model_layers, layer, v)):
        if _keras_builds(keras, model_layers, edits):
            proven.append((cost, order, Fix(f"{text}: {code}", "alternative", code, op)))
    if not proven:
        return None
    fixes: list[Fix] = []
    for _, _, fix in sorted(proven, key=lambda t: t[:2]):
        if len(fixes) < _SHOWN and all(f.code != fix.code for f in fixes):
            fixes.append(fix)
    before = model_layers[model_layers.index(layer) - 1] if layer in model_layers else chain[-1]
    message = (f"{who(layer)} cannot take {_shape(got)} from {who(before)}: {v.message}"
               if v.kind == "value" else
               f"{who(layer)} takes {v.contract or 'another shape'}; "
               f"{who(before)} before it gives {_shape(got)}: {v.message}")
    spec = getattr(layer, "input_spec", None)
    origin = (Origin.of_layer(who(layer), "input_spec", str(spec)) if v.kind != "value"
              and spec is not None else v.origin)
    where = _where(steps)
    notes = [f"Keras raised {_headline(exc)}"]
    if where is not None:
        notes.append(f"at {where[0]}:{where[1]}: {where[2]}")
    scope = "the whole Sequential" if sequential is not None else (
        f"the layers from the input to {who(layer)}")
    notes.append(f"each fix was proven by rebuilding {scope} from its layers' configs with it")
    return _finish(base, who(layer), message, origin, fixes, notes)


_SHOWN = 3
"""Proven fixes shown for one error, the smallest changes first."""


def _keras_int_shape(keras: Any, exc: BaseException, steps: list[Step]
                     ) -> ShapeContractError | None:
    """`input_shape=(3)`: a number, not a tuple (the comma of a one-item tuple forgotten), so
    Keras 'cannot convert 3 to a shape' while the Sequential is built. The shapes a number can
    have meant, (n,), (n, 1) and (1, n), are tried: the first under which the Sequential's
    layers, rebuilt from their configs, build is the fix."""
    from .frameworks.keras.layers import who
    from .frameworks.keras.verdict import no_trace

    n = next((f.f_locals.get("shape") for f, _ in reversed(steps)
              if f.f_code.co_name == "standardize_shape"), None)
    built = next((f.f_locals.get("layers") for f, _ in steps
                  if isinstance(f.f_locals.get("self"), keras.Sequential)
                  and isinstance(f.f_locals.get("layers"), (list, tuple))), None)
    if not isinstance(n, int) or isinstance(n, bool) or not built:
        return None
    layers = [m for m in built if isinstance(m, keras.Layer)]
    first = next((m for m in layers if type(m).__name__ != "InputLayer"), None)
    if first is None:
        return None
    for shape in ((n,), (n, 1), (1, n)):
        try:
            with no_trace():
                keras.Sequential([keras.Input(shape), *[
                    type(m).from_config(m.get_config()) for m in layers
                    if type(m).__name__ != "InputLayer"]])
        except Exception:
            continue
        code = f"{type(first).__name__}(..., input_shape={shape!r})"
        op = SetSetting(who(first), type(first).__name__, "input_shape", shape)
        v = Violation(("argument", "input_shape"), "type",
                      f"input_shape={n} is the number {n}, not a shape: a tuple of one item "
                      f"needs its comma, ({n},)", origin=Origin.of_layer(who(first), "input_shape"),
                      suggestions=[Fix(f"give the shape as a tuple: {code}", "alternative", code,
                                       op)], explained=True)
        notes = [f"Keras raised {_headline(exc)}",
                 "the fix was proven by building the Sequential's layers with it"]
        where = _where(steps)
        if where is not None:
            notes.insert(1, f"at {where[0]}:{where[1]}: {where[2]}")
        return ShapeContractError([v], who(first), {}, notes)
    return None


def _shape(shape: tuple[Any, ...]) -> str:
    items = ["None" if s is None else str(s) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _chain(keras: Any, x: Any) -> list[Any] | None:
    """The layers from the input layer to the one that made `x`, along a single-input path."""
    out: list[Any] = []
    while True:
        history = getattr(x, "_keras_history", None)
        if history is None:
            return None
        op = history.operation
        out.insert(0, op)
        if type(op).__name__ == "InputLayer":
            return out
        node = op._inbound_nodes[history.node_index]
        tensors = list(node.input_tensors)
        if len(tensors) != 1 or len(out) > 200:
            return None
        x = tensors[0]


Edits = dict[int, dict[str, Any]]
Candidate = tuple[int, str, str, SetSetting, Edits]
"""(cost, why, code, the operation shown, config changes by layer id)."""

_RESET = {"strides": 1, "padding": "same", "dilation_rate": 1}
"""Spatial knob values that shrink an axis least: what a too-small axis is tried with."""


def _keras_candidates(kind_of: Callable[[Any], Any], who: Callable[[Any], str],
                      model_layers: list[Any], layer: Any, v: Violation) -> Iterator[Candidate]:
    """Changes to the model's settings that could let `layer` build, each with its cost (the
    layers it touches): a layer before it that drops an axis (its rank knobs, nearest first);
    the declared input with an axis added, a leading axis dropped (the batch given as a
    sample axis) or its axes turned (channels or steps given first); and the spatial knobs
    (strides, padding, dilation) of the layers up to it, the same mistake on every layer that
    repeats it counting as one change."""
    at = next((i for i, m in enumerate(model_layers) if m is layer), len(model_layers))
    upto = model_layers[1:at + 1]
    for before in reversed(model_layers[1:at]):
        kind = kind_of(before)
        values = kind.knob_values(before)
        for knob in kind.knobs_for("rank"):
            value = values.get(knob.name)
            if isinstance(value, bool):
                op = SetSetting(who(before), type(before).__name__, knob.name, not value)
                code = kind.setting(before, **{knob.name: not value})
                yield (1, f"build {who(before)} with {knob.code(not value)}", code, op,
                       {id(before): {knob.name: not value}})
    yield from _input_candidates(who, model_layers, layer, v)
    yield from _layout_candidates(kind_of, who, model_layers)
    groups: dict[tuple[type, str, Any], list[Any]] = {}
    for m in model_layers[1:]:
        kind = kind_of(m)
        values = kind.knob_values(m)
        for knob in kind.knobs_for("spatial"):
            value, want = values.get(knob.name), _RESET.get(knob.name)
            if want is None or value is None or _all_equal(value, want):
                continue
            groups.setdefault((type(m), knob.name, _hashable(value)), []).append(m)
    singles: list[Candidate] = []
    for (cls, name, value), members in groups.items():
        want = _RESET[name]
        kind = kind_of(members[0])
        new = _like(value, want)
        code = kind.setting(members[0], **{name: new})
        op = SetSetting(", ".join(who(m) for m in members), cls.__name__, name, new)
        if len(members) > 1:
            yield (1, f"build every {cls.__name__} that has {name}={value!r} with "
                      f"{kind.knob(name).code(new)} ({', '.join(who(m) for m in members)})",
                   code, op, {id(m): {name: new} for m in members})
        for m in reversed([m for m in members if any(m is u for u in upto)]):
            one = SetSetting(who(m), cls.__name__, name, new)
            singles.append((2, f"build {who(m)} with {kind.knob(name).code(new)}",
                            kind.setting(m, **{name: new}), one, {id(m): {name: new}}))
    yield from singles


def _layout_candidates(kind_of: Callable[[Any], Any], who: Callable[[Any], str],
                       model_layers: list[Any]) -> Iterator[Candidate]:
    """Every layer that has a `data_format` with the other one (the model written for the
    other axis order: Theano's channels first), as one change."""
    having = [(m, kind_of(m).knob_values(m).get("data_format")) for m in model_layers[1:]]
    having = [(m, f) for m, f in having if f in ("channels_last", "channels_first")]
    formats = {f for _, f in having}
    if len(formats) != 1:
        return
    (current,) = formats
    new = "channels_first" if current == "channels_last" else "channels_last"
    members = [m for m, _ in having]
    op = SetSetting(", ".join(who(m) for m in members), type(members[0]).__name__,
                    "data_format", new)
    code = (f"data_format={new!r} on every layer that has one, or "
            f"keras.config.set_image_data_format({new!r})")
    yield (1, f"build every layer that has data_format={current!r} with {new!r} "
              f"({', '.join(who(m) for m in members)})", code, op,
           {id(m): {"data_format": new} for m in members})


def _input_candidates(who: Callable[[Any], str], model_layers: list[Any], layer: Any,
                      v: Violation) -> Iterator[Candidate]:
    """The declared input's shape changed so that `layer` can take it."""
    first = model_layers[0]
    if type(first).__name__ != "InputLayer":
        return
    batch_shape = tuple(first.get_config().get("batch_shape") or ())
    sample = batch_shape[1:]
    if not sample:
        return
    shapes: list[tuple[tuple[Any, ...], str]] = []
    if v.kind == "rank" and isinstance(v.expected, int) and isinstance(v.actual, int) and (
            v.expected == v.actual + 1):
        at = v.axis if isinstance(v.axis, int) and 0 < v.axis <= len(batch_shape) else len(
            batch_shape)
        data = InsertAxis(at, len(batch_shape) + 1).index("x")
        shapes.append(((*sample[:at - 1], 1, *sample[at - 1:]),
                       f"with the axis {who(layer)} misses (the data then needs it too: {data})"))
    else:
        shapes.append(((*sample, 1), "with a last axis of size 1 (the data then needs it too: "
                                     "x[..., None])"))
    if len(sample) >= 2:
        shapes.append((sample[1:], f"without its first axis, {sample[0]}: a sample's shape, "
                                   "not the whole array's (the batch is not declared)"))
        shapes.append(((*sample[1:], sample[0]), f"with its first axis, {sample[0]}, last: "
                                                 "channels (or features) come last"))
    user = model_layers[1] if len(model_layers) > 1 else None
    written = getattr(user, "_input_shape_arg", None) is not None
    for shape, why in shapes:
        if written:  # the user gave `input_shape=` to the first layer: the fix goes there
            op = SetSetting(who(user), type(user).__name__, "input_shape", shape)
            code = f"{type(user).__name__}(..., input_shape={shape!r})"
        else:
            op = SetSetting("the model's input", "Input", "shape", shape)
            code = f"keras.Input({shape!r})"
        yield 1, f"declare the input {why}", code, op, {id(first): {
            "batch_shape": (batch_shape[0], *shape)}}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _all_equal(value: Any, want: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return all(item == want for item in value)
    return bool(value == want)


def _like(value: Any, want: Any) -> Any:
    """`want` in the form of `value`: a tuple of it for a tuple."""
    if isinstance(value, (tuple, list)) and not isinstance(want, str):
        return tuple(want for _ in value)
    return want


def _keras_builds(keras: Any, layers: list[Any], edits: Edits) -> bool:
    """Whether the layers, rebuilt from their configs with `edits`, build one after another."""
    from .frameworks.keras.verdict import no_trace

    try:
        with no_trace():
            fresh = [type(layer).from_config({**layer.get_config(), **edits.get(id(layer), {})})
                     for layer in layers]
            t = fresh[0].output
            for layer in fresh[1:]:
                t = layer(t)
    except Exception:
        return False
    return True


# ---------------------------------------------------------------------------------- torch
def _torch(exc: BaseException, steps: list[Step]) -> ShapeContractError | None:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    calls = [(i, frame.f_locals["self"], frame.f_locals.get("args", ()),
              frame.f_locals.get("kwargs") or {})
             for i, (frame, _) in enumerate(steps)
             if frame.f_code.co_name == "_call_impl"
             and isinstance(frame.f_locals.get("self"), torch.nn.Module)]
    if not calls:
        return None
    index, module, args, kwargs = calls[-1]
    _, root, root_args, root_kwargs = calls[0]
    from .frameworks.torch.layers import kind_of, rule_of, torch_class

    valued = _torch_values(torch, exc, steps, module, args, root)
    if valued is not None:
        return valued
    if rule_of(module) is None:
        return _placed(exc, steps, root, root_args, root_kwargs)
    try:
        contract_of(module).check(*args, **kwargs)
    except ShapeContractError as e:
        base = e
    else:
        return _placed(exc, steps, root, root_args, root_kwargs)
    path = next((n for n, m in root.named_modules() if m is module), None)
    if path is None:
        return None
    label = f"{torch_class(module)} '{path or type(module).__name__}'"
    where = _where(steps, index)
    caller = next((f for f, _ in reversed(steps[:index]) if not _is_library(f)), None)
    names = list(inspect.signature(module.forward).parameters)

    def var(value: Any, fallback: str) -> str:
        if caller is not None:
            for k, local in caller.f_locals.items():
                if local is value and k != "self":
                    return str(k)
        return fallback

    def run(pre: Callable[..., Any] | None = None, new: Any = None) -> bool:
        try:
            twin = copy.deepcopy(root)
            if new is not None:
                if not path:
                    twin = new
                else:
                    parent, _, attr = path.rpartition(".")
                    setattr(twin.get_submodule(parent) if parent else twin, attr, new)
            sub = twin.get_submodule(path) if path else twin
            handle = sub.register_forward_pre_hook(pre, with_kwargs=True) if pre else None
            try:
                with torch.no_grad():
                    twin(*root_args, **root_kwargs)
            finally:
                if handle is not None:
                    handle.remove()
        except Exception:
            return False
        return True

    fixes: list[Fix] = []
    # the data at the failing module: the contract's own operations, then fresh states
    for position, changes, op, text in _data_candidates(base, names, args):
        def pre(m: Any, a: tuple[Any, ...], kw: dict[str, Any], position: int = position,
                changes: list[tuple[tuple[Any, ...], Op]] = changes) -> Any:
            items = list(a)
            for sub, change in changes:
                items[position] = _apply_at(items[position], sub, change)
            return tuple(items), kw
        if run(pre):
            name = var(args[position], names[position])
            if isinstance(op, Fresh):
                code = _fresh_code(op, base.violations, names, args, var)
                targets = ", ".join(name + "".join(f"[{s}]" for s in sub) for sub, _ in changes)
                text = f"{text}; make {targets} per call"
                fixes.append(Fix(f"{text}: {code} (each)", "alternative", code, op))
            else:
                target = name + "".join(f"[{s}]" for s in changes[0][0])
                code = op.code(target, _backend(args[position]))
                fixes.append(Fix(f"{text}: {code} (before calling {label})",
                                 _fix_kind(base, op), code, op))
    if not fixes:  # the module built for what it was given
        for _, knob, value in _knob_candidates(kind_of(module), module, base):
            try:
                values = {**kind_of(module).knob_values(module), knob: value}
                new = type(module)(**values).to(next(module.parameters()).dtype)
            except Exception:
                continue
            if run(new=new):
                code = f"nn.{type(module).__name__}(" + ", ".join(
                    f"{k}={val!r}" for k, val in values.items()) + ")"
                fixes.append(Fix(f"build {label} for its input, {knob}={value}: "
                                 f"self.{path} = {code}" if path else code, "alternative",
                                 code, SetSetting(label, type(module).__name__, knob, value)))
                break
    if not fixes:
        return _placed(exc, steps, root, root_args, root_kwargs)
    v0 = base.violations[0]
    message = f"{label} rejects its input: {v0.message}"
    notes = [f"PyTorch raised {_headline(exc)}"]
    if where is not None:
        notes.append(f"at {where[0]}:{where[1]}: {where[2]}")
    notes.append(f"each fix was proven by re-running {type(root).__name__} on a copy with it, "
                 "on the call that failed")
    return _finish(base, label, message, None, fixes, notes)


def _torch_values(torch: Any, exc: BaseException, steps: list[Step], module: Any,
                  args: tuple[Any, ...], root: Any) -> ShapeContractError | None:
    """Shapes right, values out of what a setting allows (what fake tensors cannot see):
    - ids at or above a layer's vocabulary knob (`nn.Embedding(num_embeddings)`: "index out of
      range in self"): the layer built for the largest id, proven by running it on the ids;
    - class indices at or above the classes a loss's input scores ("Target 50 is out of
      bounds"): the layer of the model that made the input (the last guarded call) that sizes
      its classes, built for them, proven by the loss on scores of that size."""
    from .frameworks.torch.layers import kind_of, torch_class
    from .frameworks.torch.search import module_code

    kind = kind_of(module)
    path = next((n for n, m in root.named_modules() if m is module), "")
    label = f"{torch_class(module)} '{path}'" if path else torch_class(module)
    notes = [f"PyTorch raised {_headline(exc)}"]
    where = _where(steps)
    if where is not None:
        notes.append(f"at {where[0]}:{where[1]}: {where[2]}")
    ids = args[0] if args else None
    for knob in kind.knobs_for("vocab"):
        if (not isinstance(ids, torch.Tensor) or ids.is_floating_point() or not ids.numel()):
            continue
        limit, top = knob.read(module), int(ids.max())
        if not isinstance(limit, int) or top < limit:
            continue
        values = {**kind.knob_values(module), knob.name: top + 1}
        try:
            with torch.no_grad():
                type(module)(**values)(*args)  # the proof: the ids go through
        except Exception:
            continue
        code = module_code(path, module, values, root="layer")
        fix = Fix(f"build {label} for every id it is given, {knob.name}={top + 1} (ids run "
                  f"0..{top}; a padding id 0 counts too): {code}", "repair", code,
                  SetSetting(label, type(module).__name__, knob.name, top + 1))
        v = Violation(("argument", "input"), "value",
                      f"{label} takes ids below {knob.name}={limit}; the largest id given is "
                      f"{top}", origin=Origin.of_layer(label, knob.name), suggestions=[fix],
                      explained=True)
        notes.append("proven by running the layer, built so, on the ids it was given")
        return ShapeContractError([v], label, {}, notes)
    if kind.eager_verdict and len(args) >= 2:  # a loss: class indices against its scores
        scores, target = args[0], args[1]
        if (not isinstance(target, torch.Tensor) or target.is_floating_point()
                or not isinstance(scores, torch.Tensor) or scores.dim() < 2 or not target.numel()):
            return None
        classes, top = int(scores.shape[1]), int(target.max())
        if top < classes:
            return None
        fixes = _class_fixes(torch, module, scores, target, top + 1)
        held = torch.unique(target)
        shown = (", ".join(str(int(c)) for c in held[:6]) + (", ..." if len(held) > 6 else ""))
        v = Violation(("argument", "target"), "value",
                      f"the target of {label} holds class {top}; the input scores {classes} "
                      f"classes (0..{classes - 1})", axis=1, expected=classes, actual=top + 1,
                      suggestions=fixes or [Fix(
                          f"the model must give {top + 1} classes on axis 1, or the target's "
                          f"values ({shown}) are not class indices 0..{classes - 1}: map them "
                          "to class indices", "advice")], explained=True)
        return ShapeContractError([v], label, {}, notes)
    return None


def _class_fixes(torch: Any, loss: Any, scores: Any, target: Any, classes: int) -> list[Fix]:
    """The layer that sizes the classes in the model that made `scores` (the last guarded
    call: `provenance.sizing_layer`), built for `classes`, proven by the loss on scores of that
    size."""
    from .frameworks.torch.layers import kind_of, torch_class
    from .frameworks.torch.provenance import sizing_layer
    from .frameworks.torch.search import module_code

    found = sizing_layer(tuple(scores.shape)) if scores.dim() == 2 else None
    if found is None:
        return []
    model, _, name, leaf, attr = found
    try:
        with torch.no_grad():
            loss(torch.zeros((scores.shape[0], classes), dtype=scores.dtype), target)
    except Exception:
        return []
    label = f"{torch_class(leaf)} '{name or type(leaf).__name__}'"
    code = module_code(name, leaf, {**kind_of(leaf).knob_values(leaf), attr: classes})
    return [Fix(f"the scores come from {type(model).__name__}, whose {label} gives "
                f"{scores.shape[1]} classes: build it with {attr}={classes}: {code}",
                "repair", code, SetSetting(label, type(leaf).__name__, attr, classes))]


def _placed(exc: BaseException, steps: list[Step], root: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> ShapeContractError | None:
    """The failure placed where it happens in `root`'s forward (a leaf module, or a line of the
    forward's own code), with edits proven on fake tensors to make the forward complete
    (`frameworks.torch.search`); None when nothing is proven."""
    from .frameworks.torch.fake import _signature
    from .frameworks.torch.search import repair_forward

    if kwargs:
        return None
    sig = _signature(list(args))
    if sig is None:
        return None
    reason = repair_forward(root, sig)
    if reason is None or not reason.fixes:
        return None
    v = Violation(("argument", "x"), "value", str(reason), origin=None,
                  shape=tuple(args[0].shape) if args and hasattr(args[0], "shape") else None)
    notes = [f"PyTorch raised {_headline(exc)}"]
    where = _where(steps)
    if where is not None:
        notes.append(f"at {where[0]}:{where[1]}: {where[2]}")
    notes.append(f"each fix was proven by running {type(root).__name__}.forward on fake tensors "
                 "of the call's shapes with it")
    base = ShapeContractError([v], f"{type(root).__name__}.forward", {}, notes)
    return _finish(base, f"{type(root).__name__}.forward", str(reason), None,
                   list(reason.fixes), notes)


def _backend(value: Any) -> Any:
    from .backends import backend_of

    return backend_of(value)


def _fix_kind(base: ShapeContractError, op: Op) -> str:
    for v in base.violations:
        for s in v.suggestions:
            if s.op == op:
                return str(s.kind)
    return "alternative"


def _apply_at(value: Any, sub: tuple[Any, ...], op: Op) -> Any:
    """`op` applied to `value`, or to its item at `sub` (a state inside a tuple)."""
    if not sub:
        return op.apply(value)
    items = list(value)
    items[sub[0]] = _apply_at(items[sub[0]], sub[1:], op)
    return type(value)(items) if isinstance(value, tuple) else items


def _item(value: Any, sub: tuple[Any, ...]) -> Any:
    for s in sub:
        value = value[s]
    return value


def _data_candidates(base: ShapeContractError, names: list[str], args: tuple[Any, ...]
                     ) -> Iterator[tuple[int, list[tuple[tuple[Any, ...], Op]], Op, str]]:
    """(argument position, [(item path, op)], the op shown, why): the operations the
    contract's own fixes carry, then, per argument, fresh all-zeros states in the size expected
    in place of all-zeros ones made for another size (an `h0` made for another batch)."""
    fresh: dict[int, list[tuple[tuple[Any, ...], Op]]] = {}
    why: dict[int, str] = {}
    for v in base.violations:
        if len(v.location) < 2 or v.location[0] != "argument" or v.location[1] not in names:
            continue
        position = names.index(v.location[1])
        if not 0 <= position < len(args):
            continue
        for s in v.suggestions:
            if s.op is not None and not isinstance(s.op, SetSetting):
                yield position, [(v.location[2:], s.op)], s.op, str(s).split(";")[0]
        value = _item(args[position], v.location[2:])
        if (v.kind == "dim" and isinstance(v.axis, int) and isinstance(v.expected, int)
                and v.location[2:] and hasattr(value, "shape") and not bool(value.any())):
            shape = list(value.shape)
            shape[v.axis] = v.expected
            fresh.setdefault(position, []).append((v.location[2:], Fresh(tuple(shape))))
            why.setdefault(position, f"{v.slot} is all zeros made for {v.dim or 'axis'}="
                                     f"{v.actual}, this call has {v.expected}")
    for position, changes in fresh.items():
        ops = {op for _, op in changes}
        if len(ops) == 1:  # one op shown for every item it changes
            yield position, changes, changes[0][1], why[position]


_BOUND = re.compile(r"argument (\w+) axis (\d+)$")


def _fresh_code(op: Fresh, violations: list[Violation], names: list[str],
                args: tuple[Any, ...], var: Callable[[Any, str], str]) -> str:
    """`torch.zeros(1, x.size(0), 64)`: the size taken from the argument that binds it."""
    parts = [str(s) for s in op.shape]
    v = violations[0]
    m = _BOUND.search(str(v.origin or ""))
    if m is not None and m.group(1) in names and isinstance(v.axis, int):
        position = names.index(m.group(1))
        if position < len(args):
            parts[v.axis] = f"{var(args[position], m.group(1))}.size({m.group(2)})"
    return f"torch.zeros({', '.join(parts)})"


def _knob_candidates(kind: Any, module: Any, base: ShapeContractError
                     ) -> Iterator[tuple[Violation, str, Any]]:
    """The module's input knob the violation's origin names, set to what it was given."""
    for v in base.violations:
        attribute = getattr(v.origin, "attribute", None) or str(v.origin or "").rpartition(" ")[2]
        if v.kind != "dim" or not isinstance(v.actual, int):
            continue
        for knob in kind.knobs:
            if knob.name == attribute and knob.side == "input":
                yield v, knob.name, v.actual


# ---------------------------------------------------------------------------------- hooks
def explanation_text(exc: BaseException) -> str | None:
    """What the hooks print after a framework's traceback, or None."""
    if isinstance(exc, ShapeContractError):
        return None  # it explains itself
    err = explain(exc)
    if err is None:
        return None
    return "shapecontract explains the error above:\n" + str(err)


def _print_explanation(exc: BaseException, stream: Any = None) -> None:
    text = explanation_text(exc)
    if text is not None:
        print(text, file=stream or sys.stderr)


def _excepthook(etype: type[BaseException], value: BaseException,
                tb: TracebackType | None) -> None:
    previous = getattr(_excepthook, "previous", sys.__excepthook__)
    previous(etype, value, tb)
    with contextlib.suppress(Exception):
        _print_explanation(value)


def install() -> None:
    """Explain uncaught framework errors: `sys.excepthook` prints the framework's traceback,
    then the explanation (when `explain` has one). Calling it again changes nothing."""
    if sys.excepthook is not _excepthook:
        _excepthook.previous = sys.excepthook  # type: ignore[attr-defined]
        sys.excepthook = _excepthook


def uninstall() -> None:
    """Restore the `sys.excepthook` that `install` replaced."""
    if sys.excepthook is _excepthook:
        sys.excepthook = getattr(_excepthook, "previous", sys.__excepthook__)


def _ipython_handler(shell: Any, etype: type[BaseException], value: BaseException,
                     tb: TracebackType | None, tb_offset: int | None = None) -> Any:
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    with contextlib.suppress(Exception):
        _print_explanation(value, sys.stdout)


def load_ipython_extension(ip: Any) -> None:
    """`%load_ext shapecontract`: each exception a cell raises is shown as IPython shows it,
    then explained (`explain`)."""
    ip.set_custom_exc((Exception,), _ipython_handler)


def unload_ipython_extension(ip: Any) -> None:
    """`%unload_ext shapecontract`: IPython's own handling again."""
    ip.set_custom_exc((), None)


def run_script(path: str, argv: list[str]) -> int:
    """Run `path` as `__main__` with `argv` (as `python path argv...` would); an uncaught
    exception is shown with its traceback, then explained; exit code 1. Returns the code."""
    import runpy

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exception(type(e), e, _user_tb(e.__traceback__))
        _print_explanation(e)
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _user_tb(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the script's own frames on (runpy's and ours left out)."""
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__
                              or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb
