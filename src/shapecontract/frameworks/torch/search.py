"""Repairs of a module's forward, found and proven on fake tensors (layer L6).

Design rules:
- Cause first: the forward is run on fake tensors of the call's shapes with every leaf module
  watched, so a failure is placed where it happens: inside a leaf module (which one, on what
  input) or in the forward's own code between them (which file and line: a `view` with a
  hard-coded size is not the fault of the layer that ran before it).
- Candidates come from what the library knows, never from the case at hand: at a line, the
  reshape it makes with the batch axis kept (`x.view(x.size(0), -1)`); at a module, its kind's
  knobs: an input-side size set to what its contract says it was given (`in_features`,
  `input_size`, `num_features`), a layout flag turned (`batch_first`), and a `Flatten` before a
  Linear given an image-like map.
- Proof: each candidate is applied to the fake run itself (a module swapped for one built with
  the setting, a pre-hook that flattens, a reshape call rewritten at its line by a torch
  function mode); edits accumulate while each moves the failure further along the forward (at
  most three). Only a run that completes is a repair. Nothing is generated as source and the
  user's module is restored (`isolated`) after every run.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..._errors import Fix, Reason, ShapeContractError
from .layers import kind_of, torch_class, who

__all__ = ["Failure", "repair_forward", "run_watched"]

_DEPTH = 3
"""Edits one repair may combine (a reshape, the Linear after it, one more)."""


@dataclass(frozen=True)
class Failure:
    """Where a fake run of the forward failed: inside the leaf module `name` (with its input
    shape), or at `file:line` of the forward's own code; `order` counts the leaf modules
    entered before it (how far the forward got)."""

    order: int
    text: str
    name: str | None = None
    module: Any = None
    shape: tuple[int, ...] | None = None
    args: tuple[Any, ...] = ()
    file: str | None = None
    line: int | None = None
    source: str = ""
    before: tuple[str, Any, tuple[int, ...] | None] | None = None
    """The last leaf module that finished before a failure in the forward's code."""

    def key(self) -> tuple[Any, ...]:
        return (self.order, self.name, self.file, self.line, self.text)


# ------------------------------------------------------------------------------- edits
@dataclass(frozen=True)
class _Set:
    name: str
    knob: str
    value: Any


@dataclass(frozen=True)
class _FlattenBefore:
    name: str


@dataclass(frozen=True)
class _KeepBatch:
    file: str
    line: int
    source: str


@dataclass(frozen=True)
class _PadCat:
    """The tensors a `torch.cat` at `file:line` joins, padded to one size (a U-Net's upsampled
    map one pixel short of its skip connection)."""

    file: str
    line: int
    source: str


@dataclass(frozen=True)
class _Input:
    """The forward's first input of another spatial size (a multiple of what its poolings
    halve)."""

    shape: tuple[int, ...]
    multiple: int


Edit = _Set | _FlattenBefore | _KeepBatch | _PadCat | _Input


def _rebuilt(mod: Any, knob: str, value: Any) -> Any:
    """A new module of `mod`'s class built from its kind's knobs with `knob=value`."""
    values = {**kind_of(mod).knob_values(mod), knob: value}
    new = type(mod)(**values)
    params = list(mod.parameters())
    return new.to(params[0].dtype) if params else new


class _Rewrite:
    """A torch function mode that makes the reshapes called at given lines keep the batch
    axis: `t.view(...)` there runs as `t.reshape(t.shape[0], -1)`."""

    def __new__(cls, targets: set[tuple[str, int]],
                seen: list[_KeepBatch] | None = None,
                cats: set[tuple[str, int]] | None = None) -> Any:
        import linecache

        import torch
        from torch.overrides import TorchFunctionMode

        reshapes = {torch.Tensor.view, torch.Tensor.reshape, torch.reshape}

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (),
                                   kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                if cats and func in (torch.cat, torch.concat) and args and _called_from(cats):
                    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
                    return func(_padded(list(args[0]), dim), dim)
                if func in reshapes and args:
                    if seen is not None:
                        where = _user_frame()
                        if where is not None and all((k.file, k.line) != where for k in seen):
                            seen.append(_KeepBatch(*where, linecache.getline(*where).strip()))
                    if targets and _called_from(targets):
                        t = args[0]
                        return t.reshape(t.shape[0], -1)
                return func(*args, **kwargs)

        return Mode()


def _padded(tensors: list[Any], dim: int) -> list[Any]:
    """Every tensor after the first padded (or cropped, by a negative pad) on each axis but
    `dim` to the first's size, centred: what `_pad_code` writes."""
    import torch.nn.functional as F

    first = tensors[0]
    rank = first.dim()
    dim = dim % rank
    out = [first]
    for t in tensors[1:]:
        pad: list[int] = []
        for k in reversed(range(rank)):
            d = 0 if k == dim else int(first.shape[k]) - int(t.shape[k])
            pad += [d // 2, d - d // 2]
        out.append(F.pad(t, pad) if any(pad) else t)
    return out


def _pad_code(source: str) -> str:
    """The lines that make the second map of `torch.cat([a, b], ...)` at `source` the size of
    the first (padding, or cropping when it is larger), written with the line's own names."""
    m = re.search(r"torch\.(?:cat|concat)\(\s*[\[(]\s*([\w.]+)\s*,\s*([\w.]+)\s*[\])]", source)
    a, b = (m.group(1), m.group(2)) if m is not None else ("skip", "up")
    return (f"dy, dx = {a}.size(2) - {b}.size(2), {a}.size(3) - {b}.size(3); "
            f"{b} = F.pad({b}, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])")


def _user_frame() -> tuple[str, int] | None:
    """(file, line) of the innermost frame of the forward's own code."""
    f: Any = sys._getframe(2)
    for _ in range(8):
        if f is None:
            return None
        if not _is_library(f.f_code.co_filename):
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return None


def _called_from(targets: set[tuple[str, int]]) -> bool:
    f: Any = sys._getframe(2)
    for _ in range(6):
        if f is None:
            return False
        if (f.f_code.co_filename, f.f_lineno) in targets:
            return True
        f = f.f_back
    return False


# ------------------------------------------------------------------------------- the run
def _is_library(filename: str) -> bool:
    name = filename.replace("\\", "/")
    return ("/torch/" in name and "/site-packages/" in name) or name.startswith("<") or (
        "/shapecontract/" in name and "/tests/" not in name)


def run_watched(m: Any, sig: Any, edits: tuple[Edit, ...] = (),
                out: list[Any] | None = None,
                reshapes: list[_KeepBatch] | None = None) -> Failure | bool | None:
    """Run `m.forward` on fake tensors of `sig` with `edits` applied: None when it completes
    (`out`, if given, receives the output's shape and the leaf modules that finished;
    `reshapes` the reshapes the forward's own code made, by line), the `Failure` when it
    raises, False when fake tensors cannot tell (a data-dependent op)."""
    import linecache

    from torch._subclasses.fake_tensor import FakeTensorMode

    from .fake import _cannot_tell, _fake, _first_line, isolated, quiet

    order = [0]
    stack: list[tuple[str, Any, Any]] = []
    done: list[tuple[str, Any, tuple[int, ...] | None]] = []
    handles: list[Any] = []
    with quiet(), isolated(m), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in edits:
            if isinstance(e, _Set):
                parent, _, attr = e.name.rpartition(".")
                holder = m.get_submodule(parent) if parent else m
                holder._modules[attr] = _rebuilt(m.get_submodule(e.name), e.knob, e.value)
        flatten = {e.name for e in edits if isinstance(e, _FlattenBefore)}
        for name, sub in m.named_modules():
            if sub is m or list(sub.children()):
                continue

            def pre(mod: Any, args: Any, kwargs: Any, _name: str = name) -> Any:
                order[0] += 1
                if _name in flatten and args and hasattr(args[0], "flatten"):
                    args = (args[0].flatten(1), *args[1:])
                stack.append((_name, mod, args))
                return args, kwargs

            def post(mod: Any, args: Any, out: Any, _name: str = name) -> None:
                if stack:
                    stack.pop()
                shape = tuple(int(s) for s in out.shape) if hasattr(out, "shape") else None
                done.append((_name, mod, shape))

            handles.append(sub.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(sub.register_forward_hook(post))
        targets = {(e.file, e.line) for e in edits if isinstance(e, _KeepBatch)}
        cats = {(e.file, e.line) for e in edits if isinstance(e, _PadCat)}
        for e in edits:
            if isinstance(e, _Input) and sig:
                sig = ((e.shape, sig[0][1]), *sig[1:])
        try:
            mode = (_Rewrite(targets, reshapes, cats)
                    if targets or cats or reshapes is not None else None)
            with FakeTensorMode(allow_non_fake_inputs=True):
                if mode is not None:
                    with mode:
                        result = m.forward(*[_fake(s) for s in sig])
                else:
                    result = m.forward(*[_fake(s) for s in sig])
                if out is not None:
                    out.append(tuple(int(s) for s in result.shape)
                               if hasattr(result, "shape") else None)
                    out.append(list(done))
        except _cannot_tell():
            return False
        except Exception as e:
            text = _first_line(e)
            if stack:
                name, mod, args = stack[-1]
                a: Any = args[0] if args else None
                shape = tuple(int(s) for s in a.shape) if hasattr(a, "shape") else None
                return Failure(order[0], text, name, mod, shape, tuple(args))
            tb, where = e.__traceback__, None
            while tb is not None:
                if not _is_library(tb.tb_frame.f_code.co_filename):
                    where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
                tb = tb.tb_next
            if where is None:
                return Failure(order[0], text)
            source = linecache.getline(where[0], where[1]).strip()
            return Failure(order[0], text, file=where[0], line=where[1], source=source,
                           before=done[-1] if done else None)
        finally:
            for h in handles:
                h.remove()
    return None


# ------------------------------------------------------------------------------ the search
def _meta(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return torch.empty(tuple(value.shape), dtype=value.dtype, device="meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_meta(v) for v in value)
    return value


def _candidates(f: Failure, sig: Any = None) -> Iterator[Edit]:
    """What could move this failure: see the module docstring."""
    if f.file is not None and f.line is not None:
        if re.search(r"\.(view|reshape)\(|torch\.reshape\(", f.source):
            yield _KeepBatch(f.file, f.line, f.source)
        if re.search(r"torch\.(cat|concat)\(", f.source):
            yield _PadCat(f.file, f.line, f.source)
            yield from _resized(sig)
        return
    if f.name is None or f.module is None:
        return
    kind = kind_of(f.module)
    shape = f.shape or ()
    if kind.fixed_input(f.module) is not None and len(shape) >= 4:
        yield _FlattenBefore(f.name)  # a Linear given an image-like map
        return
    from ...frameworks import contract_of

    try:
        contract_of(f.module).check(*_meta(f.args))
    except ShapeContractError as e:
        for v in e.violations:
            attribute = getattr(v.origin, "attribute", None)
            if v.kind == "dim" and isinstance(v.actual, int):
                for knob in kind.knobs:
                    if knob.name == attribute and knob.side == "input":
                        yield _Set(f.name, knob.name, v.actual)
    except Exception:
        pass
    values = kind.knob_values(f.module)
    for knob in kind.knobs:  # an input size no axis has: built for another size of that axis
        value = values.get(knob.name)
        if (knob.side != "input" or knob.governs not in ("channels", "features")
                or not isinstance(value, int) or isinstance(value, bool) or len(shape) < 2
                or value in shape[1:]):
            continue  # a size another axis has: the layout is wrong, not the setting
        got = shape[1] if knob.governs == "channels" else shape[-1]
        if got != value:
            yield _Set(f.name, knob.name, got)
    for knob in kind.knobs_for("layout"):
        if isinstance(values.get(knob.name), bool):
            yield _Set(f.name, knob.name, not values[knob.name])


def _resized(sig: Any) -> Iterator[_Input]:
    """An image input whose height and width are not multiples of 2**k, made the nearest
    larger multiple (the skip connections of k poolings then meet), smallest k first."""
    try:
        shape, _ = sig[0]
    except (TypeError, ValueError, IndexError):
        return
    if not isinstance(shape, tuple) or len(shape) != 4:
        return
    h, w = shape[2], shape[3]
    for k in range(1, 6):
        m = 2 ** k
        if h % m or w % m:
            yield _Input((shape[0], shape[1], -(-h // m) * m, -(-w // m) * m), m)


def _progress(old: Failure, new: Failure | bool | None) -> bool:
    return isinstance(new, Failure) and new.order >= old.order and new.key() != old.key()


def search(m: Any, sig: Any, first: Failure, limit: int = 2) -> list[tuple[Edit, ...]]:
    """The smallest chains of edits (at most `_DEPTH` long, at most `limit` of them) under which
    the forward completes, each edit moving the failure further; [] when there is none."""
    edits: tuple[Edit, ...] = ()
    failure = first
    for _ in range(_DEPTH):
        step: tuple[Edit, Failure] | None = None
        found: list[tuple[Edit, ...]] = []
        tried: list[Edit] = []
        for cand in _candidates(failure, sig):
            if cand in edits or cand in tried or len(found) >= limit:
                continue  # the same edit from two sources is tried once
            tried.append(cand)
            try:
                got = run_watched(m, sig, (*edits, cand))
            except Exception:  # the module cannot be rebuilt so: not a candidate
                continue
            if got is None:
                if not (isinstance(cand, _Input) and any(isinstance(e[-1], _Input)
                                                         for e in found)):
                    found.append((*edits, cand))  # one input size: the smallest multiple
                continue
            if step is None and _progress(failure, got):
                assert isinstance(got, Failure)
                step = (cand, got)
        if found:
            return found
        if step is None:
            return []
        edits, failure = (*edits, step[0]), step[1]
    return []


def search_for(m: Any, sig: Any, goal: Any) -> tuple[Edit, ...] | None:
    """The smallest chain of edits (at most `_DEPTH`) under which the forward completes with an
    output shape `goal(shape)` accepts. A run that completes with another output is moved by
    the batch-keeping reshape at each line the forward reshapes at; a run that fails, by the
    candidates of its failure (`_candidates`)."""
    frontier: list[tuple[tuple[Edit, ...], Any]] = [((), None)]
    for _ in range(_DEPTH + 1):
        nxt: list[tuple[tuple[Edit, ...], Any]] = []
        for edits, _prev in frontier:
            out: list[Any] = []
            seen: list[_KeepBatch] = []
            try:
                got = run_watched(m, sig, edits, out=out, reshapes=seen)
            except Exception:
                continue
            if got is None:
                if out and out[0] is not None and goal(out[0]):
                    return edits
                cands: list[Edit] = list(seen)
            elif isinstance(got, Failure):
                cands = list(_candidates(got, sig))
            else:
                continue
            nxt += [((*edits, c), None) for c in cands if c not in edits][:4]
        if not nxt:
            return None
        frontier = nxt[:8]
    return None


# ------------------------------------------------------------------------------ as fixes
def _attr_path(name: str) -> str:
    return "self" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in name.split("."))


def module_code(name: str, module: Any, values: dict[str, Any], root: str = "model") -> str:
    """The line that builds `module` (at path `name` of its model) with `values`:
    `self.fc1 = nn.Linear(in_features=576, out_features=120)` (`root = ...` for the model
    itself)."""
    args = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return f"{_attr_path(name) if name else root} = nn.{type(module).__name__}({args})"


def _where(file: str, line: int) -> str:
    import os

    try:
        rel = os.path.relpath(file)
        file = file if rel.startswith("..") else rel
    except ValueError:
        pass
    return f"{file}:{line}"


def _keep_batch_code(source: str) -> str:
    m = re.search(r"([\w.\[\]]+)\.(view|reshape)\(", source)
    if m is not None:
        var, fn = m.group(1), m.group(2)
        return f"{var}.{fn}({var}.size(0), -1)"
    m = re.search(r"torch\.reshape\(\s*([\w.\[\]]+)", source)
    var = m.group(1) if m is not None else "x"
    return f"torch.reshape({var}, ({var}.size(0), -1))"


def fixes_for(m: Any, edits: tuple[Edit, ...]) -> list[Fix]:
    """The edits as fixes to paste, each naming the others it goes with."""
    from ...fixes import ChangeCall, InsertLayer, SetSetting

    out: list[tuple[str, str, Any]] = []
    for e in edits:
        if isinstance(e, _KeepBatch):
            code = _keep_batch_code(e.source)
            out.append((f"at {_where(e.file, e.line)} ({e.source}), keep the batch axis and "
                        f"flatten the rest: {code}", code,
                        ChangeCall(type(m).__name__ + ".forward", _where(e.file, e.line), code)))
        elif isinstance(e, _PadCat):
            code = _pad_code(e.source)
            out.append((f"at {_where(e.file, e.line)} ({e.source}), make the second map the "
                        f"first's size before joining them (pad, or crop when larger), just "
                        f"before that line: {code}", code,
                        ChangeCall(type(m).__name__ + ".forward", _where(e.file, e.line),
                                   code)))
        elif isinstance(e, _Input):
            size = tuple(e.shape[2:])
            code = f"transforms.Resize({size!r})"
            out.append((f"give the model inputs whose height and width are a multiple of "
                        f"{e.multiple} (each pooling halves them, and the skip connections "
                        f"must meet): resize or pad to {size}: {code} or "
                        f"F.interpolate(x, size={size!r})", code, None))
        elif isinstance(e, _FlattenBefore):
            sub = m.get_submodule(e.name)
            label = who(torch_class(sub), e.name)
            code = "nn.Flatten()"
            out.append((f"flatten each sample before {label} (a Linear acts on the last axis "
                        f"only): {code} before {_attr_path(e.name)}, or x = torch.flatten(x, 1)",
                        code, InsertLayer(label, code)))
        else:
            sub = m.get_submodule(e.name)
            label = who(torch_class(sub), e.name)
            values = {**kind_of(sub).knob_values(sub), e.knob: e.value}
            code = module_code(e.name, sub, values)
            out.append((f"build {label} with {e.knob}={e.value!r}: {code}", code,
                        SetSetting(label, type(sub).__name__, e.knob, e.value)))
    fixes = []
    for i, (text, code, op) in enumerate(out):
        if len(out) > 1:
            others = [c for j, (_, c, _) in enumerate(out) if j != i]
            text += f" (together with {'; '.join(others)})"
        fixes.append(Fix(text, "repair", code, op))
    return fixes


def repair_forward(m: Any, sig: Any) -> Reason | None:
    """Why `m.forward` fails on fake tensors of `sig`, placed where it fails, with the edits
    proven to make it complete; None when it does not fail, or fails where nothing is known."""
    first = run_watched(m, sig)
    if not isinstance(first, Failure):
        return None
    fixes = [f for edits in search(m, sig, first) for f in fixes_for(m, edits)]
    if first.file is not None and first.line is not None:
        after = ""
        if first.before is not None:
            name, mod, shape = first.before
            after = f" (after {who(torch_class(mod), name)}, which gives {shape})"
        text = (f"{type(m).__name__}.forward fails at {_where(first.file, first.line)}: "
                f"{first.source}: {first.text}{after}")
        return Reason(text, None, tuple(fixes))
    if not fixes:
        return None
    label = who(torch_class(first.module), first.name or "")
    return Reason(f"{label} rejects its input {first.shape}: {first.text}", label, tuple(fixes))
