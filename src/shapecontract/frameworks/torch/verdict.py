"""torch's own verdict on shapes: forward run on fake tensors (layer L6).

Design rules:
- The verdict runs a module's `forward` on fake tensors of the call's shapes and dtypes (no
  memory, no data), cached per module by them; a loss is asked on real zeros (its kind says
  so). An op fake tensors cannot run on shapes alone makes the verdict "cannot tell".
- A rejection names the layer, what it needs and what it got (its kind's
  `explain_rejection`), with fixes tried on fake tensors first.
- A run for shapes leaves nothing behind (`isolated`): attributes, buffers, random state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._spec import options_of
from .._cache import bounded
from .fake import _cannot_tell, _fake, _first_line, _signature, isolated, quiet
from .layers import first_known, kind_of, known, torch_class, who

__all__ = ["TorchVerdict", "call_untraced", "isolated", "quiet", "run_fake", "sizes_that_fit"]


_SIZES_CHECKED = 4
"""Batch sizes run on fake tensors per shape before a new one is taken on trust."""


class TorchVerdict:
    """torch's own verdict for one module on input values: its forward run on fake tensors of
    the same shapes and dtypes (no memory, no data), cached by them. Held by the module's
    contract. Runs `forward` itself, so the module's hooks (a guard)
    are not involved."""

    def __init__(self, module: Any, batch_axes: int | None = None) -> None:
        self._module = module  # the contract describes this module: it keeps it
        self._fast: dict[Any, bool | None] = {}
        self._cache: dict[Any, tuple[bool | None, str]] = {}
        self._batch_axes = batch_axes
        """Its first input leads with the batch (`_batch_axes`): torch's acceptance of a shape
        holds for every batch size of the same rank (a new batch size costs no fake pass). A
        rejection is kept for its own shape only."""
        self._accepted: dict[Any, set[int]] = {}
        """Batch sizes torch accepted, by the call's shapes without the batch: after
        `_SIZES_CHECKED` of them, a new batch size of the same shapes is taken as accepted. A
        forward can depend on the batch size (a state made for a fixed batch, BatchNorm on a
        batch of one, a `view` with the batch size written in), and the one that fails is
        the last, smaller batch of an epoch: the second size a module sees."""
        self.guessed_from: str | None = None
        """The layer a guessed input contract was read from (`LSTM 'lstm'`): when torch
        rejects a call at that very layer, the guess's violations stand."""

    def fast(self, *values: Any) -> bool | None:
        """The verdict's first element for these tensors, from a cache keyed by their
        `(shape, dtype)` (what a compiled checker asks on every call: one dict lookup)."""
        try:
            key = tuple(None if v is None else (v.shape, v.dtype) for v in values)
            return self._fast[key]
        except (KeyError, TypeError, AttributeError):
            pass
        if self._batch_axes is not None:
            free, _ = self._free(values)
            if free is not None and len(self._accepted.get(free, ())) >= _SIZES_CHECKED:
                return True
        ok = self(list(values))[0]
        try:
            bounded(self._fast)[key] = ok
        except (TypeError, AttributeError, UnboundLocalError):
            pass
        return ok

    def _free(self, values: Any) -> tuple[Any, int]:
        """The call's shapes without the first input's batch axis, and its batch size."""
        k = self._batch_axes if self._batch_axes is not None else 0
        if not values or values[0] is None:
            return None, 0
        try:
            x = values[0]
            shape = tuple(x.shape)
            kept = shape[1:] if k == 0 else shape[len(shape) - k:]
            size = int(shape[0]) if k == 0 else int(shape[len(shape) - k - 1])
            return (len(shape), kept, x.dtype, _signature(list(values[1:]))), size
        except (TypeError, AttributeError, IndexError):
            return None, 0

    def batch_sizes_accepted(self, values: Any) -> set[int]:
        """The batch sizes torch accepted for these shapes otherwise."""
        free, _ = self._free(values)
        return set(self._accepted.get(free, ())) if free is not None else set()

    def __call__(self, values: list[Any]) -> tuple[bool | None, str]:
        while values and values[-1] is None:  # omitted optional inputs (hx)
            values = values[:-1]
        key = _signature(values)
        if key is None:
            return None, ""  # unknown sizes or something that is not a tensor: cannot tell
        hit = self._cache.get(key)
        if hit is None:
            if _compiling():  # Dynamo traces this: it cannot run fake tensors, but its own
                return None, ""  # trace runs the module on them, and says what torch rejects
            hit = _torch_verdict(self._module, key)
            if hit[0] is False:
                hit = (False, _batch_dependent(hit[1], values, self.batch_sizes_accepted(values)))
            hit = bounded(self._cache)[key] = hit
        if hit[0]:
            free, size = self._free(values)
            if free is not None:
                bounded(self._accepted).setdefault(free, set()).add(size)
        return hit


def _batch_dependent(reason: Any, values: Any, sizes: set[int]) -> Any:
    """A rejection of a batch size when other batch sizes of the same shapes passed: the
    forward depends on the batch size, and the failing batch is the last, smaller one of an
    epoch. Adds the remedy: drop that batch, or take sizes from the batch in the forward."""
    from ..._errors import Fix, Reason
    from ...fixes import SetSetting

    if not sizes:
        return reason
    try:
        got = int(values[0].shape[0])
    except (AttributeError, IndexError, TypeError):
        return reason
    seen = ", ".join(str(s) for s in sorted(sizes))
    fix = Fix(f"the same forward passed with batch size {seen} and fails with {got}: the last, "
              "smaller batch of an epoch. Drop it with DataLoader(..., drop_last=True), or "
              "make every size in the forward follow x.size(0)", "repair", "drop_last=True",
              SetSetting("the DataLoader", "DataLoader", "drop_last", True))
    text = f"{reason} (batch size {got}; batch size {seen} passed)"
    return Reason(text, getattr(reason, "layer", None), (*getattr(reason, "fixes", ()), fix))


def call_untraced(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` with `torch.jit.trace`'s tracer paused, if it runs: a guard checks the
    concrete sizes of the example inputs (traced sizes are tensors) and records nothing in the
    trace. Not traced by Dynamo (it only runs when `torch.jit` traces)."""
    import torch

    if torch.compiler.is_compiling():
        return fn(*args)
    state = torch._C._get_tracing_state()
    if state is None:
        return fn(*args)
    set_state = torch._C._set_tracing_state  # type: ignore[attr-defined]
    set_state(None)
    try:
        return fn(*args)
    finally:
        set_state(state)


def _compiling() -> bool:
    import torch

    return bool(torch.compiler.is_compiling())


def run_fake(m: Any, sig: Any, watch: Any = None) -> tuple[bool | None, str, Any]:
    """Run `m.forward` on fake tensors of `sig`: (ok, torch's first line, the last leaf module
    entered as (name, module, input shape)); ok is None when fake tensors cannot tell. `watch(name, module, shape)` sees every entry."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    last: list[Any] = [None]
    handles = []
    for name, sub in m.named_modules():
        if sub is not m and not list(sub.children()):
            def pre(mod: Any, args: Any, _name: str = name) -> None:
                a = args[0] if args else None
                shape = (tuple(int(s) for s in a.shape) if a is not None and hasattr(a, "shape")
                         else None)
                last[0] = (_name, mod, shape)
                if watch is not None:
                    watch(_name, mod, shape)
            handles.append(sub.register_forward_pre_hook(pre))
    import warnings

    try:
        with quiet(), isolated(m), FakeTensorMode(allow_non_fake_inputs=True), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own warnings are for the real call
            m.forward(*[_fake(s) for s in sig])
    except _cannot_tell() as e:  # an op whose output shape depends on the values (packing
        return None, _first_line(e), last[0]  # by lengths, nonzero, .item()): not a verdict
    except Exception as e:  # torch's own verdict, in torch's own words
        return False, _first_line(e), last[0]
    finally:
        for h in handles:
            h.remove()
    return True, "", None


def _torch_verdict(m: Any, sig: Any) -> tuple[bool | None, str]:
    from ..._errors import Reason

    if kind_of(m).eager_verdict:
        return _real_loss_verdict(m, sig)
    ok, text, last = run_fake(m, sig)
    if ok or ok is None:
        return ok, ""
    return False, _explain_failure(m, sig, text, last) or Reason(text)


def _real_loss_verdict(m: Any, sig: Any) -> tuple[bool, str]:
    """A loss module asked on real zeros of the same shapes and dtypes (once per signature; a
    loss is one cheap pass over its inputs). Fake tensors skip some of torch's own checks
    (an integer target for BCELoss, a float one for NLLLoss on empty inputs) and refuse what
    eager torch takes (an unbatched (C,) score with a (1,) target): the eager call decides.
    Zeros are valid probabilities and class index 0; with no class at all, no index is valid.
    (`TorchKind.eager_verdict` says which modules are asked this way.)"""
    import warnings

    import torch

    from ..._errors import Reason

    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # torch's own warnings are for the real call
            m.forward(*[_fake(s, zeros=True) for s in sig])
    except Exception as e:  # torch's own verdict, in torch's own words
        return False, Reason(_first_line(e))
    return True, ""


def _explain_failure(m: Any, sig: Any, text: str, last: Any) -> Any:
    """Name the layer that rejects the input, what it needs and what it got, and fixes that
    make torch accept it (each tried on fake tensors before it is offered)."""
    from ..._errors import Fix, Reason
    from ...fixes import Cast, InsertAxis

    fixes: list[Fix] = []
    first = sig[0] if sig else None
    if first is not None and first[0] is not None:
        batched = ((1, *first[0]), first[1])
        ok_b, text_b, last_b = run_fake(m, (batched, *sig[1:]))
        if ok_b:  # an unbatched input into a batch-only model
            fixes.append(Fix("the model works on batches and this input has no batch axis; add "
                             "it with x.unsqueeze(0) (or x[None])", "insert_axis", "x.unsqueeze(0)",
                             InsertAxis(0)))
        elif _looks_unbatched(m, first[0]):  # no batch axis, and wrong even with one
            inner = _explain_failure(m, (batched, *sig[1:]), text_b, last_b)
            hint = Fix("this input has no batch axis: add it with x.unsqueeze(0); with it, the "
                       "input still does not fit (below)", "advice")
            return Reason(f"this input has no batch axis; with one: {inner or text_b}",
                          getattr(inner, "layer", None), (hint, *getattr(inner, "fixes", ())))
    if fixes:
        return Reason(f"this input has no batch axis, and the model works on batches only "
                      f"(torch: {text})", None, tuple(fixes))
    floating = getattr(first[1], "is_floating_point", None) if first is not None else None
    if first is not None and first[0] is not None and isinstance(floating, bool):
        import torch  # the other kind of dtype, proven by torch

        other = torch.int64 if floating else torch.float32
        if run_fake(m, ((first[0], other), *sig[1:]))[0]:
            code = "x.long()" if other is torch.int64 else "x.float()"
            what = "integer indices (token ids)" if other is torch.int64 else "floats"
            return Reason(f"the model takes {what}, not {str(first[1]).replace('torch.', '')} "
                          f"(torch: {text})", None,
                          (Fix(f"convert it: {code} (torch accepts that)", "cast", code,
                               Cast("int64" if other is torch.int64 else "float32")),))
    from .search import repair_forward

    placed = repair_forward(m, sig)  # where it fails, with edits proven to make it complete
    if placed is not None and placed.layer is None:
        return placed  # in the forward's own code: the layer before it is not to blame
    if last is None:
        return placed
    name, mod, shape = last
    label = who(torch_class(mod), name)

    def fitting(attr: str, want: int) -> tuple[int, ...] | None:
        return _fitting_input(m, sig, name, attr, want)

    explained = kind_of(mod).explain_rejection(mod, label, shape, fitting, fixes)
    if explained is None:
        explained = Reason(f"{label} rejects its input {shape}: {text}", label, tuple(fixes))
    proven = list(placed.fixes) if placed is not None else []
    # a proven repair replaces the same change given as advice
    kept = [f for f in explained.fixes if all(f.op is None or f.op != p.op for p in proven)]
    return Reason(str(explained), explained.layer, (*kept, *proven), shape)


def _looks_unbatched(m: Any, shape: tuple[int, ...]) -> bool:
    """Does `shape` have the rank of the unbatched form of `m`'s first layer's input?"""
    first = (("", m) if known(m, "") is not None else first_known(m))
    specs = known(first[1], first[0]) if first is not None else None
    spec = specs[0] if specs is not None else None
    options = options_of(spec)
    if len(options) < 2:
        return False
    batched, *others = options
    return len(shape) != len(batched.dims) and any(
        o.variadic_at is None and len(o.dims) == len(shape) for o in others)


def _fitting_input(m: Any, sig: Any, layer: str, attr: str, want: int) -> tuple[int, ...] | None:
    """The input shape nearest to `sig[0]` whose spatial axes (all set to one size) give
    `layer` the `want` features it needs: a binary search over that size, on fake tensors."""
    first = sig[0]
    shape, dtype = first
    if len(shape) < 3:
        return None
    spatial = list(range(2, len(shape)))

    def features(size: int) -> int | None:
        seen: list[int] = []

        def watch(name: str, mod: Any, got: Any) -> None:
            if name == layer and got:
                seen.append(got[-1])
                raise _Found()

        probe = list(shape)
        for a in spatial:
            probe[a] = size
        run_fake(m, ((tuple(probe), dtype), *sig[1:]), watch)  # stops at the layer (_Found)
        return seen[0] if seen else None

    lo, hi = 1, 4096
    while lo < hi:  # features grow with the input size: find the smallest size giving >= want
        mid = (lo + hi) // 2
        got = features(mid)
        if got is None or got < want:
            lo = mid + 1
        else:
            hi = mid
    if features(lo) != want:
        return None
    fit = list(shape)
    for a in spatial:
        fit[a] = lo
    return tuple(fit)


def sizes_that_fit(m: Any, shape: tuple[int, ...]) -> str | None:
    """For a model whose Linear after a Flatten fixes its input size: which (square) input
    fits, found on fake tensors. None when that is not what stops the stand-in propagation."""
    import torch

    sig = ((shape, torch.float32),)
    ok, _, last = run_fake(m, sig)
    if ok or last is None:
        return None
    name, mod, got = last
    fixed = kind_of(mod).fixed_input(mod)
    if fixed is None or not got or got[-1] == fixed[1]:
        return None
    attr, want = fixed
    fit = _fitting_input(m, sig, name, attr, want)
    if fit is None:
        return None
    label = who(torch_class(mod), name)
    spatial = " x ".join(str(s) for s in fit[2:])
    return (f"input size: {label} takes {attr}={want}, which a {spatial} input "
            "gives (of square inputs); every input's size is checked on fake tensors as it "
            "arrives")


class _Found(Exception):
    """Stops a probe once the watched layer has seen its input."""
