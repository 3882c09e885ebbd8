"""Contract -> one generated checker (layer L5): the fast path, for every kind of contract.

Design rules:
- A decorated function's wrapper has the function's own parameter list, so a call costs one
  extra frame and no `*args/**kwargs` packing; a contract's checker (models, streams) has one
  parameter per input slot, optional slots defaulting to None.
- Its guard decides "surely fine" with one boolean expression, one line per slot: exact-type
  membership in sets the slow path fills (`type(x) in T`), dtype membership, rank, and dim
  equalities. Alternatives told apart by rank (batched or unbatched) are a conditional chain
  that picks exactly the option `OneOf.pick` picks. Bindings are the shape tuples themselves
  (`s0[1]`), so a passing call allocates almost nothing.
- A type or dtype not seen yet is decided in the line by `_evaluate.learn` (the reference's
  own rule, which teaches the sets), so a first call is decided like any other.
- Any other miss, and any exception while deciding, goes to the slow path (`_evaluate.report`),
  which returns the error; the generated code raises it (or warns at the caller's line) so
  the traceback ends at the user's call. The fast path may be conservative, never lenient.
- Under a graph compiler (torch.compile / Dynamo) the fast path is traced like any code: a
  passing check adds nothing to the graph and no graph break. The slow path is never traced:
  it runs outside the graph (`torch.compiler.disable`), on the real values, reading the mode
  then, so a violation arrives as `ShapeContractError` (or a warning) when the call runs
  (`backends.compiler_escape`, which the framework package does: torch's in
  `frameworks/torch/compile.py`; docs/guarantees.md says what `fullgraph=True` does with it).
- Source is registered in `linecache` under a readable name for exactly as long as the
  checker lives, so tracebacks, `inspect` and pdb show it; `checker_source` returns it.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import weakref
from collections.abc import Callable
from typing import Any

from . import _contract, _coverage, _evaluate
from ._contract import Slot
from ._dims import Anon, Expr, Fixed, Named, Variadic, expr_source
from ._errors import ContractSyntaxError
from ._spec import ArraySpec, iter_array_specs, kind_of, spec_text
from .backends import ARRAY_TYPES, DTYPE_SETS, INT_TYPES, TYPE_SETS, compiler_escape

__all__ = ["Contract", "compile_checker", "compile_wrapper"]

_counter = itertools.count()


class _Gen:
    """Holds the state of one code generation: constants, shape variables, dim sources."""

    def __init__(self, contract: _contract.Contract) -> None:
        self.contract = contract
        self.globals: dict[str, Any] = {}
        self.n = 0
        self.static: dict[str, str] = {}  # dim name -> source expression (first binding)
        self.dynamic = _dynamic_names(contract)
        self.bound: set[str] = set()  # dims bound by the code emitted so far
        self.shape_of_spec: list[tuple[ArraySpec, str]] = []  # fully checked shape vars
        self.fast = _fast_possible(contract)
        # a dim's variable is named by its position, never by the dim's name: no text from a
        # contract (annotation, JSON) becomes source except a slot name `_check_names` vetted
        self.dvars = {n: f"__sc_d{k}" for k, n in enumerate(sorted(self.dynamic))}

    def const(self, obj: Any, prefix: str) -> str:
        for k, v in self.globals.items():
            if v is obj and k.startswith(f"__sc_{prefix}_"):
                return k
        name = f"__sc_{prefix}_{len(self.globals)}"
        self.globals[name] = obj
        return name

    def var(self, prefix: str) -> str:
        self.n += 1
        return f"__sc_{prefix}{self.n}"

    def source(self, name: str) -> str:
        if name in self.dynamic:
            return self.dvars[name]
        return self.static[name]

    # -- conditions ---------------------------------------------------------------
    def value_conds(self, spec: Any, v: str, pending: list[Expr | Any],
                    definite: bool) -> list[str]:
        """The conditions under which the value named `v` surely satisfies `spec` (its kind
        emits them: `_spec.SpecKind.emit`)."""
        if spec is None:
            return []
        kind = kind_of(spec)
        if kind is None:
            raise TypeError(f"not a spec: {spec!r} ({type(spec).__name__})")
        return kind.emit(spec, v, self, pending, definite)

    def array_conds(self, spec: ArraySpec, v: str, s: str, pending: list[Any], definite: bool,
                     shape_known: bool) -> list[str]:
        conds = []
        # A type or dtype not seen yet is learned right here (`_evaluate.learn`: the reference
        # decides it, and the sets remember it), so the rest of the line still decides the
        # call: a first call is as fast-pathed as any, and a graph compiler tracing it reaches
        # the slow path only on a violation.
        learn = f"{self.const(_evaluate.learn, 'learn')}({self.const(spec, 'spec')}, {v})"
        if spec.dtypes is not None:
            # one lookup decides both: exact type seen valid, and dtype seen valid for that type
            key = (spec.array_types, spec.dtypes, spec.dtype_patterns)
            d = self.const(DTYPE_SETS.setdefault(key, {}), 'dtypes')
            conds.append(f"((type({v}) in {d} and {v}.dtype in {d}[type({v})]) or {learn})")
        elif spec.array_types:
            t = self.const(TYPE_SETS.setdefault(spec.array_types, set()), "types")
            conds.append(f"(type({v}) in {t} or {learn})")
        else:
            conds.append(f"(type({v}) in {self.const(ARRAY_TYPES, 'array_types')} or {learn})")
        same = None if shape_known else self._identical(spec)
        if same is not None:
            conds.append(f"({s} := {v}.shape) == {same}")
        else:
            if not shape_known:
                rank = len(spec.dims) if spec.variadic_at is None else spec.min_rank
                op = "==" if spec.variadic_at is None else ">="
                conds.append(f"len({s} := {v}.shape) {op} {rank}")
            conds.extend(self._dim_conds(spec, s, pending, definite and not spec.optional))
        if definite and not spec.optional:
            self.shape_of_spec.append((spec, s))
        return self.optional(spec.optional, v, conds)

    @staticmethod
    def optional(optional: bool, v: str, conds: list[str]) -> list[str]:
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
                    conds.append(f"({self.dvars[d.name]} := {ax}) is not None")
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
                    dv = self.dvars[name]
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
        if slot.kind == "dim":  # int, or a numpy integer the slow path has seen
            return f"type({v}) in {self.const(INT_TYPES, 'int_types')}"
        if hint is Any:  # any value (a forward's other arguments): nothing to decide
            return "True"
        if isinstance(hint, type) and not _is_generic(hint):
            return f"isinstance({v}, {self.const(hint, 'hint')})"
        from beartype.door import is_bearable

        checker = self.const(lambda obj, _h=hint: is_bearable(obj, _h), "bearable")
        return f"{checker}({v})"


def _is_generic(hint: Any) -> bool:
    import typing

    return typing.get_origin(hint) is not None or hint is typing.Any


def _occurrences(contract: _contract.Contract) -> list[tuple[str, bool]]:
    """(dim name, binds-for-sure-here) in evaluation order."""
    out: list[tuple[str, bool]] = []
    for slot in contract.slots:
        if slot.kind in ("dim", "pin"):
            out.append((slot.name, True))
    for slot in contract.slots:
        if slot.kind != "array":
            continue
        kind = kind_of(slot.spec)
        if kind is not None:
            out.extend(kind.occurrences(slot.spec, not slot.star and not slot.optional))
    return out


def _dynamic_names(contract: _contract.Contract) -> set[str]:
    seen: set[str] = set()
    dynamic: set[str] = set()
    for name, sure in _occurrences(contract):
        if name not in seen:
            seen.add(name)
            if not sure:
                dynamic.add(name)
    return dynamic


def _fast_possible(contract: _contract.Contract) -> bool:
    """Broadcast variadics, annotated *args/**kwargs and symbolic dims inside alternatives
    always take the slow path."""
    for slot in contract.slots:
        if slot.star and slot.kind == "array":
            return False
        for spec in iter_array_specs(slot.spec):
            if any(isinstance(d, Variadic) and d.broadcast for d in spec.dims):
                return False
        kind = kind_of(slot.spec)
        if kind is not None and not kind.fast(slot.spec):
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


def compile_checker(contract: _contract.Contract, with_output: bool = False,
                    report: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """Compile `check(<input slots>[, __out=...])` for a contract (pins are constants in it).

    Used for everything that is not a decorated function: model contracts, stream elements.
    With `with_output`, the output slots are checked against `__out` with shared bindings.
    """
    pins = tuple(s for s in contract.slots if s.kind == "pin")
    ins = [s for s in contract.slots if not s.is_return and s.kind != "pin"]
    outs = [s for s in contract.slots if s.is_return] if with_output else []
    slots = pins + tuple(ins) + tuple(Slot("return", "array", o.spec, loc=o.location) for o in outs)
    params, defaulted = [], False
    for s in ins:  # after an optional slot every parameter needs a default (None fails later)
        defaulted = defaulted or s.optional
        params.append(f"{s.name}=None" if defaulted else s.name)
    src = f"def check({', '.join(params)}{', *, __out=None' if with_output else ''}):\n"
    src += "    return __out\n" if with_output else "    return None\n"
    ns: dict[str, Any] = {}
    exec(src, ns)
    fn = ns["check"]  # its signature only: the result is inlined, nothing is called per check
    fn.__module__ = "shapecontract"
    fn.__qualname__ = f"check[{contract.name}]"
    sub = contract.replace(slots=slots)
    wrapper, _ = compile_wrapper(fn, sub, inspect.signature(fn), False, bool(outs), report,
                                 result="__out" if with_output else "None")
    return wrapper


def compile_wrapper(fn: Callable[..., Any], contract: _contract.Contract, sig: inspect.Signature,
                    is_async: bool, check_return: bool,
                    report: Callable[..., Any] | None = None,
                    result: str | None = None) -> tuple[Callable[..., Any], str]:
    """Generate, compile and return `(wrapper, source)`. `report` is the slow path called when
    the guard does not pass (default: `_evaluate.report`, which returns the error or None).
    `result`, for pure checkers, is an expression used instead of calling `fn`."""
    gen = _Gen(contract)
    params, call = _signature_text(sig, gen)
    gen.globals.update({"__sc_fn": fn, "__sc_C": contract,
                        "__sc_report": compiler_escape(report or _evaluate.report,
                                                       _evaluate.warned if report is None
                                                       else _never, not gen.fast,
                                                       _evaluate.holds),
                        "__sc_warned": _evaluate.warned if report is None else _never,
                        "__sc_warn_mode": _evaluate.warn_mode if report is None else _no,
                        "__sc_MISSING": _evaluate.MISSING})
    arg_slots = [s for s in contract.slots if not s.is_return]
    ret_slot = next((s for s in contract.slots if s.is_return), None) if check_return else None

    pending: list[Any] = []
    guess_overruled = ""  # a guessed contract: the framework's acceptance, checked when not ok
    arg_lines: list[tuple[str, list[str]]] = []  # (comment, conditions) per slot
    ret_lines: list[tuple[str, list[str]]] = []
    if gen.fast:
        for slot in arg_slots:
            if slot.kind == "pin":
                gen.static[slot.name] = gen.const(slot.value, "pin")
                gen.bound.add(slot.name)
            elif slot.kind == "dim":
                arg_lines.append((f"{slot.name}: int (binds dim {slot.name})",
                                  [gen.hint_cond(slot, slot.name)]))
                gen.static[slot.name] = slot.name
                gen.bound.add(slot.name)
        for slot in arg_slots:
            if slot.kind == "hint":
                arg_lines.append((f"{slot.name}: {_hint_text(slot.hint)}",
                                  [gen.hint_cond(slot, slot.name)]))
            elif slot.kind == "array":
                conds = gen.value_conds(slot.spec, slot.name, pending,
                                        definite=not slot.optional)
                if slot.optional and conds and not getattr(slot.spec, "optional", False):
                    conds = [f"({slot.name} is None or ({' and '.join(conds)}))"]
                arg_lines.append((f"{slot.name}: {spec_text(slot.spec)}", conds))
        more, pending = gen.expr_conds(pending, final=ret_slot is None)
        if more:
            arg_lines.append(("symbolic dims", more))
        if contract.framework is not None and (contract.level == "framework"
                                               or not contract.complete):
            # the framework's own verdict (cached by shape): relations the slots cannot state
            fw = gen.const(contract.framework, "framework_verdict")
            arrays = [s.name for s in contract.arguments()]
            test = "" if contract.level == "framework" else " is not False"
            if hasattr(contract.framework, "fast"):  # one dict lookup by (shape, dtype)
                call = f"{fw}.fast({', '.join(arrays)})"
            else:
                call = f"{fw}([{', '.join(arrays)}])[0]"
            arg_lines.append((f"{contract.framework_name} accepts these shapes", [call + test]))
            if contract.guessed and not any(s.kind == "pin" for s in contract.slots):
                # the slots are a guess: the framework's acceptance overrules them (a pinned
                # size is the user's intent: such a checker asks the slow path, which keeps it)
                guess_overruled = f"{call} is True"
        if ret_slot is not None:
            if ret_slot.kind == "array":
                conds = gen.value_conds(ret_slot.spec, "__sc_r", pending, definite=True)
                ret_lines.append((f"return: {spec_text(ret_slot.spec)}", conds))
            else:
                ret_lines.append((f"return: {_hint_text(ret_slot.hint)}",
                                  [gen.hint_cond(ret_slot, "__sc_r")]))
            more, _ = gen.expr_conds(pending, final=True)
            if more:
                ret_lines.append(("symbolic dims", more))
    else:
        arg_lines = [("checked on the slow path only", ["False"])]
        ret_lines = [("checked on the slow path only", ["False"])]

    values = ["None" if s.kind == "pin" else ("__sc_r" if s.is_return else s.name)
              for s in contract.slots]
    vals_args = "[" + ", ".join(v if v != "__sc_r" else "__sc_MISSING" for v in values) + "]"
    vals_ret = "[" + ", ".join(values) + "]"
    aw = "await " if is_async else ""
    invoke = result if result is not None else f"{aw}__sc_fn({call})"
    name = fn.__name__ if _contract.is_name(fn.__name__) else "wrapper"
    for p in sig.parameters:  # the signature's names are the only outside text in the source
        if not _contract.is_name(p):
            raise ContractSyntaxError(f"{fn.__qualname__}: parameter {p!r}: "
                                      f"{_contract.name_problem(p)}")
    hook = (_coverage.HOOK_LINE_KEEP if "__tracebackhide__" in sig.parameters
            else _coverage.HOOK_LINE)  # its counting twin (coverage sessions only) counts calls
    lines = [f"{'async ' if is_async else ''}def {name}({params}):", hook]
    for d in sorted(gen.dynamic):
        lines.append(f"    {gen.dvars[d]} = None")
    lines += ["    try:"]
    lines += _guard_lines("__sc_ok", arg_lines, 8)
    if guess_overruled:
        lines += [f"        __sc_ok = __sc_ok or {guess_overruled}"]
    lines += ["    except Exception:",
              "        __sc_ok = False"]
    raise_it = "if __sc_e is not None and not __sc_warned(__sc_e):"
    if ret_slot is None:
        lines += ["    if not __sc_ok:",
                  f"        __sc_e = __sc_report(__sc_C, {vals_args})",
                  f"        {raise_it}",
                  "            raise __sc_e",
                  f"    return {invoke}"]
    else:
        lines += ["    if __sc_ok:",
                  f"        __sc_r = {invoke}",
                  "        try:"]
        lines += _guard_lines("__sc_rok", ret_lines, 12)
        lines += ["        except Exception:",
                  "            __sc_rok = False",
                  "        if __sc_rok:",
                  "            return __sc_r",
                  f"        __sc_e = __sc_report(__sc_C, {vals_ret})",
                  "    else:",
                  f"        __sc_e = __sc_report(__sc_C, {vals_args})",
                  "        if __sc_e is not None and not __sc_warn_mode():",
                  "            raise __sc_e",
                  "        # warn mode: one warning per call, with the return's violations too",
                  "        try:",
                  f"            __sc_r = {invoke}",
                  "        except BaseException:",
                  "            if __sc_e is not None:",
                  "                __sc_warned(__sc_e)",
                  "            raise",
                  f"        __sc_e = __sc_report(__sc_C, {vals_ret})",
                  f"    {raise_it}",
                  "        raise __sc_e",
                  "    return __sc_r"]
    source = "\n".join(lines) + "\n"
    # the name is outside text (a JSON contract's name): escaped, as in comments, so that no
    # character of it (a NUL, a line break) reaches compile() or a traceback raw
    where = _comment(f"{fn.__module__}.{fn.__qualname__}")
    filename = f"<shapecontract checker {next(_counter)} for {where}>"
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:  # a bug in the generator: show the numbered source
        numbered = "\n".join(f"{i + 1:4d}  {line}" for i, line in enumerate(source.splitlines()))
        raise RuntimeError(f"shapecontract generated invalid code ({e}):\n{numbered}") from None
    ns = dict(gen.globals)
    exec(code, ns)
    wrapper = ns[name]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    weakref.finalize(wrapper, linecache.cache.pop, filename, None)  # lives as long as it
    wrapper.__shapecontract_source__ = source
    _coverage.register(wrapper, source, filename)
    return wrapper, source


def _never(err: Any) -> bool:
    """A checker with its own slow path (streams) always raises: its caller delivers."""
    return False


def _no() -> bool:
    return False


def _guard_lines(var: str, groups: list[tuple[str, list[str]]], indent: int) -> list[str]:
    """`var = (` one line per slot, with a comment naming it `)`."""
    pad = " " * indent
    groups = [(c, conds) for c, conds in groups if conds]
    if not groups:
        return [f"{pad}{var} = True"]
    out = [f"{pad}{var} = ("]
    for k, (comment, conds) in enumerate(groups):
        out.append(f"{pad}    # {_comment(comment)}")
        out.append(f"{pad}    {'and ' if k else ''}{' and '.join(conds)}")
    out.append(f"{pad})")
    return out


def _comment(text: str) -> str:
    """`text` as the body of one comment line: every character that could end the line or
    hide in it (line breaks, form feeds, U+2028, other controls) is written escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _hint_text(hint: Any) -> str:
    return str(getattr(hint, "__name__", None) or repr(hint))


# ------------------------------------------------------------------------ contracts
Contract = _contract.Contract
"""The one Contract class (`_contract`); this layer lends it its checker compiler."""
_contract.lend("compile", compile_checker)
