"""Contract + signature -> one generated wrapper function (the fast path).

Design rules:
- The wrapper has the decorated function's own parameter list, so a call costs one extra
  frame and no `*args/**kwargs` packing.
- Its guard is a single boolean expression: exact-type membership in sets the slow path fills
  (`type(x) in T`), dtype membership (`x.dtype in D`), rank, and dim equalities. Bindings are
  the shape tuples themselves (`s0[1]`), so a passing call allocates almost nothing.
- The guard only decides "surely fine". Any miss, and any exception while deciding, goes to
  the slow path (`_explain.report`), which gives the real verdict and the explanation. So the
  fast path may be conservative, never lenient.
- Source is registered in `linecache` under a readable name, so tracebacks, `inspect` and pdb
  show it; `checker_source(fn)` returns it.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
from typing import Any, Callable

from . import _explain
from ._contract import Contract, Slot
from ._spec import (Anon, ArraySpec, DictSpec, Expr, Fixed, ModelSpec, Named, TupleSpec, Variadic,
                    expr_source)
from .backends import ARRAY_TYPES, DTYPE_SETS, TYPE_SETS

__all__ = ["compile_wrapper"]

_counter = itertools.count()


class _Gen:
    """Holds the state of one code generation: constants, shape variables, dim sources."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.globals: dict[str, Any] = {}
        self.n = 0
        self.static: dict[str, str] = {}  # dim name -> source expression (first binding)
        self.dynamic = _dynamic_names(contract)
        self.bound: set[str] = set()  # dims bound by the code emitted so far
        self.shape_of_spec: list[tuple[ArraySpec, str]] = []  # fully checked shape vars
        self.fast = _fast_possible(contract)

    def const(self, obj: Any, prefix: str) -> str:
        for k, v in self.globals.items():
            if v is obj and k.startswith(f"__sc_{prefix}"):
                return k
        name = f"__sc_{prefix}{len(self.globals)}"
        self.globals[name] = obj
        return name

    def var(self, prefix: str) -> str:
        self.n += 1
        return f"__sc_{prefix}{self.n}"

    def source(self, name: str) -> str:
        if name in self.dynamic:
            return f"__sc_d_{name}"
        return self.static[name]

    # -- conditions ---------------------------------------------------------------
    def value_conds(self, spec: ArraySpec | TupleSpec | None, v: str, pending: list[Expr | Any],
                    definite: bool) -> list[str]:
        if spec is None:
            return []
        if isinstance(spec, ModelSpec):
            return ["False"]  # a model's contract is derived and compared on the slow path
        if isinstance(spec, (TupleSpec, DictSpec)):
            if isinstance(spec, TupleSpec):
                kinds = self.const(frozenset(spec.kinds), "K")
                conds = [f"type({v}) in {kinds}", f"len({v}) == {len(spec.items)}"]
                keys: list[Any] = list(range(len(spec.items)))
            else:
                conds = [f"type({v}) is dict"]
                keys = list(spec.keys)
            for key, item in zip(keys, spec.items):
                iv = self.var("t")
                sub = self.value_conds(item, iv, pending, definite and not spec.optional)
                if sub:  # a missing key raises inside the guard: the slow path explains
                    conds.append(f"(({iv} := {v}[{key!r}]) is not None or True)")
                    conds.extend(sub)
            return self._optional(spec.optional, v, conds)
        conds = []
        if spec.dtypes is not None:
            # one lookup decides both: exact type seen valid, and dtype seen valid for that type
            key = (spec.array_types, spec.dtypes, spec.dtype_patterns)
            conds.append(f"{v}.dtype in {self.const(DTYPE_SETS.setdefault(key, {}), 'D')}[type({v})]")
        elif spec.array_types:
            t = self.const(TYPE_SETS.setdefault(spec.array_types, set()), "T")
            conds.append(f"type({v}) in {t}")
        else:
            conds.append(f"type({v}) in {self.const(ARRAY_TYPES, 'T')}")
        s = self.var("s")
        same = self._identical(spec)
        if same is not None:
            conds.append(f"({s} := {v}.shape) == {same}")
        else:
            rank = len(spec.dims) if spec.variadic_at is None else spec.min_rank
            op = "==" if spec.variadic_at is None else ">="
            conds.append(f"len({s} := {v}.shape) {op} {rank}")
            conds.extend(self._dim_conds(spec, s, pending, definite and not spec.optional))
        if definite and not spec.optional:
            self.shape_of_spec.append((spec, s))
        return self._optional(spec.optional, v, conds)

    @staticmethod
    def _optional(optional: bool, v: str, conds: list[str]) -> list[str]:
        if not optional:
            return conds
        return [f"({v} is None or ({' and '.join(conds)}))"]

    def _identical(self, spec: ArraySpec) -> str | None:
        """An earlier, fully checked shape with the very same plain dims: compare whole shapes."""
        if not all(isinstance(d, (Named, Fixed)) and not d.broadcast for d in spec.dims):
            return None
        for other, s in self.shape_of_spec:
            if other.dims == spec.dims:
                return s
        return None

    def _dim_conds(self, spec: ArraySpec, s: str, pending: list[Any], definite: bool) -> list[str]:
        conds: list[str] = []
        dims = spec.dims
        i = spec.variadic_at
        for axis, d in enumerate(dims):
            if i is None or axis < i:
                ax = f"{s}[{axis}]"
            elif axis > i:
                ax = f"{s}[{axis - len(dims)}]"
            else:
                assert isinstance(d, Variadic)
                if d.name is None:
                    continue
                k = len(dims) - i - 1
                ax = f"tuple({s}[{i}:{f'len({s}) - {k}' if k else ''}])"
                if d.name in self.bound:
                    conds.append(f"{ax} == {self.source(d.name)}")
                elif d.name in self.dynamic:
                    conds.append(f"(__sc_d_{d.name} := {ax}) is not None")
                    self.bound.add(d.name)
                else:
                    self.static[d.name] = ax
                    self.bound.add(d.name)
                continue
            if isinstance(d, Anon):
                continue
            if isinstance(d, Fixed):
                c = f"{ax} == {d.size}"
                conds.append(f"({ax} == 1 or {c})" if d.broadcast else c)
            elif isinstance(d, Expr):
                pending.append((d, ax))
            elif isinstance(d, Named):
                name = d.name
                if name in self.dynamic:
                    dv = f"__sc_d_{name}"
                    c = f"({ax} == {dv} if {dv} is not None else ({dv} := {ax}) is not None)"
                    conds.append(f"({ax} == 1 or {c})" if d.broadcast else c)
                    self.bound.add(name)
                elif name in self.bound:
                    conds.append(f"{ax} == {self.static[name]}")
                else:
                    assert definite and not d.broadcast, "static names bind in definite places"
                    self.static[name] = ax
                    self.bound.add(name)
        return conds

    def expr_conds(self, pending: list[Any], final: bool) -> tuple[list[str], list[Any]]:
        conds, later = [], []
        for d, ax in pending:
            if not final and not all(n in self.bound for n in d.names):
                later.append((d, ax))
                continue
            want = expr_source(d.tree, self.source)
            c = f"{ax} == {want}"
            conds.append(f"({ax} == 1 or {c})" if d.broadcast else c)
        return conds, later

    def hint_cond(self, slot: Slot, v: str) -> str:
        hint = int if slot.kind == "dim" else slot.hint
        if slot.kind == "dim":
            return f"type({v}) is int"
        if isinstance(hint, type) and not _is_generic(hint):
            return f"isinstance({v}, {self.const(hint, 'H')})"
        from beartype.door import is_bearable

        checker = self.const(lambda obj, _h=hint: is_bearable(obj, _h), "B")
        return f"{checker}({v})"


def _is_generic(hint: Any) -> bool:
    import typing

    return typing.get_origin(hint) is not None or hint is typing.Any


def _occurrences(contract: Contract) -> list[tuple[str, bool]]:
    """(dim name, binds-for-sure-here) in evaluation order."""
    out: list[tuple[str, bool]] = []
    for slot in contract.slots:
        if slot.kind == "dim":
            out.append((slot.name, True))
    for slot in contract.slots:
        if slot.kind != "array":
            continue
        out.extend(_spec_occurrences(slot.spec, definite=not slot.star))
    return out


def _spec_occurrences(spec: Any, definite: bool) -> list[tuple[str, bool]]:
    if isinstance(spec, (TupleSpec, DictSpec)):
        res = []
        for item in spec.items:
            res.extend(_spec_occurrences(item, definite and not spec.optional))
        return res
    if not isinstance(spec, ArraySpec):
        return []
    definite = definite and not spec.optional
    res = []
    for d in spec.dims:
        if isinstance(d, Named):
            res.append((d.name, definite and not d.broadcast))
        elif isinstance(d, Variadic) and d.name:
            res.append((d.name, definite))
    return res


def _dynamic_names(contract: Contract) -> set[str]:
    seen: set[str] = set()
    dynamic: set[str] = set()
    for name, sure in _occurrences(contract):
        if name not in seen:
            seen.add(name)
            if not sure:
                dynamic.add(name)
    return dynamic


def _contains(spec: Any, kind: type) -> bool:
    if isinstance(spec, kind):
        return True
    if isinstance(spec, (TupleSpec, DictSpec)):
        return any(_contains(i, kind) for i in spec.items)
    return False


def _fast_possible(contract: Contract) -> bool:
    """Broadcast variadics and annotated *args/**kwargs always take the slow path."""
    from ._contract import iter_array_specs

    from ._spec import OneOf

    for slot in contract.slots:
        if slot.star and slot.kind == "array":
            return False
        if _contains(slot.spec, OneOf):
            return False
        for spec in iter_array_specs(slot.spec):
            if any(isinstance(d, Variadic) and d.broadcast for d in spec.dims):
                return False
    return True


# ------------------------------------------------------------------------- wrapper
def _signature_text(sig: inspect.Signature, gen: _Gen) -> tuple[str, str]:
    """(parameter list, call argument list) reproducing `sig`."""
    params, call = [], []
    saw_kwonly_marker = False
    P = inspect.Parameter
    kinds = [p.kind for p in sig.parameters.values()]
    for p in sig.parameters.values():
        text = p.name
        if p.default is not P.empty:
            text += f"={gen.const(p.default, 'default')}"
        if p.kind is P.VAR_POSITIONAL:
            params.append("*" + p.name)
            call.append("*" + p.name)
            saw_kwonly_marker = True
            continue
        if p.kind is P.VAR_KEYWORD:
            params.append("**" + p.name)
            call.append("**" + p.name)
            continue
        if p.kind is P.KEYWORD_ONLY:
            if not saw_kwonly_marker:
                params.append("*")
                saw_kwonly_marker = True
            params.append(text)
            call.append(f"{p.name}={p.name}")
            continue
        params.append(text)
        call.append(p.name)
        if p.kind is P.POSITIONAL_ONLY and P.POSITIONAL_ONLY in kinds:
            idx = [q for q in sig.parameters.values()].index(p)
            nxt = list(sig.parameters.values())[idx + 1:idx + 2]
            if not nxt or nxt[0].kind is not P.POSITIONAL_ONLY:
                params.append("/")
    return ", ".join(params), ", ".join(call)


def compile_checker(contract: Contract, with_output: bool = False,
                    report: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """Compile `check(<dim slots>, <input slots>[, __out=...])` for a contract's slots.

    Used for everything that is not a decorated function: model contracts, stream elements.
    With `with_output`, the output slots are checked against `__out` with shared bindings.
    """
    ins = [s for s in contract.slots if not s.is_return]
    outs = [s for s in contract.slots if s.is_return] if with_output else []
    slots = tuple(ins + [Slot("return", "array", o.spec, display=o.label) for o in outs])
    params = [s.name for s in ins]
    src = f"def check({', '.join(params)}{', *, __out=None' if with_output else ''}):\n"
    src += "    return __out\n" if with_output else "    return None\n"
    ns: dict[str, Any] = {}
    exec(src, ns)
    fn = ns["check"]  # its signature only: the result is inlined, nothing is called per check
    fn.__module__ = "shapecontract"
    sub = Contract(contract.name, slots)
    wrapper, source = compile_wrapper(fn, sub, inspect.signature(fn), False, bool(outs), report,
                                      result="__out" if with_output else "None")
    object.__setattr__(sub, "source", source)
    return wrapper


def compile_wrapper(fn: Callable[..., Any], contract: Contract, sig: inspect.Signature,
                    is_async: bool, check_return: bool,
                    report: Callable[..., Any] | None = None,
                    result: str | None = None) -> tuple[Callable[..., Any], str]:
    """Generate, compile and return `(wrapper, source)`. `report` is the slow path to call
    when the guard does not pass (default: decide, explain, and raise or warn per the mode).
    `result`, for pure checkers, is an expression used instead of calling `fn`."""
    gen = _Gen(contract)
    params, call = _signature_text(sig, gen)
    gen.globals.update({"__sc_fn": fn, "__sc_C": contract,
                        "__sc_report": report or _explain.report,
                        "__sc_MISSING": _explain.MISSING})
    arg_slots = [s for s in contract.slots if not s.is_return]
    ret_slot = next((s for s in contract.slots if s.is_return), None) if check_return else None

    pending: list[Any] = []
    arg_conds: list[str] = []
    if gen.fast:
        for slot in arg_slots:
            if slot.kind == "dim":
                arg_conds.append(gen.hint_cond(slot, slot.name))
                gen.static[slot.name] = slot.name
                gen.bound.add(slot.name)
        for slot in arg_slots:
            if slot.kind == "hint":
                arg_conds.append(gen.hint_cond(slot, slot.name))
            elif slot.kind == "array":
                arg_conds.extend(gen.value_conds(slot.spec, slot.name, pending, definite=True))
        more, pending = gen.expr_conds(pending, final=ret_slot is None)
        arg_conds.extend(more)
        ret_conds: list[str] = []
        if ret_slot is not None:
            if ret_slot.kind == "array":
                ret_conds.extend(gen.value_conds(ret_slot.spec, "__sc_r", pending, definite=True))
            else:
                ret_conds.append(gen.hint_cond(ret_slot, "__sc_r"))
            more, _ = gen.expr_conds(pending, final=True)
            ret_conds.extend(more)
    else:
        arg_conds = ["False"]
        ret_conds = ["False"]

    slot_values = ", ".join(
        (s.name if not s.is_return else "{ret}") for s in contract.slots)
    if ret_slot is None and any(s.is_return for s in contract.slots):
        slot_values = slot_values.replace("{ret}", "__sc_MISSING")
    vals_args = "[" + slot_values.replace("{ret}", "__sc_MISSING") + "]"
    vals_ret = "[" + slot_values.replace("{ret}", "__sc_r") + "]"
    aw = "await " if is_async else ""
    invoke = result if result is not None else f"{aw}__sc_fn({call})"
    name = fn.__name__ if fn.__name__.isidentifier() else "wrapper"
    for p in sig.parameters:
        if p.startswith("__sc_"):
            raise ValueError(f"parameter names starting with '__sc_' are reserved: {p}")
    dyn = sorted(gen.dynamic)
    lines = [f"{'async ' if is_async else ''}def {name}({params}):",
             "    __tracebackhide__ = True"]
    for d in dyn:
        lines.append(f"    __sc_d_{d} = None")
    guard = " and ".join(arg_conds) if arg_conds else "True"
    lines += ["    try:",
              f"        __sc_ok = {guard}",
              "    except Exception:",
              "        __sc_ok = False"]
    if ret_slot is None:
        lines += ["    if not __sc_ok:",
                  f"        __sc_report(__sc_C, {vals_args})",
                  f"    return {invoke}"]
    else:
        rguard = " and ".join(ret_conds) if ret_conds else "True"
        lines += ["    if __sc_ok:",
                  f"        __sc_r = {invoke}",
                  "        try:",
                  f"            if {rguard}:",
                  "                return __sc_r",
                  "        except Exception:",
                  "            pass",
                  "    else:",
                  f"        __sc_report(__sc_C, {vals_args})",
                  f"        __sc_r = {invoke}",
                  f"    __sc_report(__sc_C, {vals_ret})",
                  "    return __sc_r"]
    source = "\n".join(lines) + "\n"
    filename = f"<shapecontract checker {next(_counter)} for {fn.__module__}.{fn.__qualname__}>"
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:  # a bug in the generator: show the numbered source
        numbered = "\n".join(f"{i + 1:4d}  {line}" for i, line in enumerate(source.splitlines()))
        raise RuntimeError(f"shapecontract generated invalid code ({e}):\n{numbered}") from None
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = dict(gen.globals)
    exec(code, ns)
    return ns[name], source
