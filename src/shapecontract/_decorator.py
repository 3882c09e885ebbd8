"""`@contract`: read a function's annotations once, compile a checker, wrap.

Design rules:
- Annotations are read and validated at decoration time; a malformed one raises
  `ContractSyntaxError` then, never at call time. (Forward references that cannot be resolved
  yet are resolved on the first call instead.)
- Functions, methods, staticmethods, classmethods and async functions are wrapped by one
  generated wrapper each; generators and async generators annotated `Iterator[...]` have
  their arguments checked when called and every element checked as it is yielded.
- With mode `off` at decoration time, the function itself is returned: zero overhead.
- The wrapper carries `__wrapped__`, `__shapecontract__` (the Contract) and
  `__shapecontract_source__` (the generated code, see `checker_source`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import _coverage
from ._compile import Contract, compile_wrapper
from ._config import get_mode
from ._contract import Slot
from ._dims import Expr, Named
from ._errors import ContractSyntaxError, Origin, ShapeContractError, Violation
from ._evaluate import evaluate
from ._hints import spec_from_hint, yield_spec
from ._spec import iter_array_specs, kind_of, kind_tag

__all__ = ["checker_source", "contract"]

F = TypeVar("F", bound=Callable[..., Any])


@overload
def contract(fn: F, *, stable: tuple[str, ...] | list[str] = (), guard: bool = False) -> F: ...


@overload
def contract(fn: None = None, *, stable: tuple[str, ...] | list[str] = (),
             guard: bool = False) -> Callable[[F], F]: ...


def contract(fn: Any = None, *, stable: tuple[str, ...] | list[str] = (),
             guard: bool = False) -> Any:
    """Check a function's array annotations on every call (arguments and return share dims).

    ```python
    @contract
    def make_windows(series: Float[Array, "samples features"], timesteps: int
                     ) -> Float[Array, "windows timesteps features"]: ...
    ```

    Generators annotated `Iterator[...]` have every element checked; `stable=("timesteps",)`
    names element dims that must keep the first element's value. A builder annotated
    `Model[...]` has the built model checked; `guard=True` returns it guarded.
    """
    # Names local to the decorating scope (e.g. under `from __future__ import annotations`)
    try:
        localns = dict(sys._getframe(1).f_locals)
    except (AttributeError, ValueError):
        localns = {}
    if fn is None:  # @contract(stable=..., guard=...)
        return lambda f: _decorate(f, tuple(stable), guard, localns)
    return _decorate(fn, tuple(stable), guard, localns)


def _decorate(fn: Any, stable: tuple[str, ...], guard: bool, localns: dict[str, Any]) -> Any:
    if inspect.isclass(fn):
        return _decorate_dataclass(fn, localns)
    if isinstance(fn, (staticmethod, classmethod)):
        return type(fn)(_decorate(fn.__func__, stable, guard, localns))
    if not callable(fn):
        raise TypeError(f"@contract decorates a function, not {type(fn).__name__}")
    if get_mode() == "off":
        if _coverage.active():
            _coverage.unchecked(_coverage_name(fn))
        return fn
    try:
        hints = typing.get_type_hints(fn, localns=localns, include_extras=True)
    except NameError:
        if _coverage.active():
            _coverage.declare("function", _coverage_name(fn))
        return _deferred(fn, localns, stable, guard)
    return _build(fn, hints, stable, guard)


def _decorate_dataclass(cls: type, localns: dict[str, Any]) -> type:
    """`@contract` on a dataclass (an `equinox.Module` too), as jaxtyping's `jaxtyped` does it:
    its `__init__` is checked, so the fields are checked at construction, as the arguments of
    `__init__` and before it runs (before `__post_init__`, converters, `__check_init__`), with
    dims shared across them. The class itself is returned."""
    import dataclasses

    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"@contract decorates a function or a dataclass, not the class "
                        f"{cls.__qualname__} (put @contract above @dataclass)")
    init = cls.__init__
    if hasattr(init, "__shapecontract__") or hasattr(init, "__shapecontract_resolve__"):
        return cls  # checked already (here, or by a parent's decoration)
    new = _decorate_init(cls, init, localns)
    if new is not init:
        cls.__init__ = new  # type: ignore[method-assign]
    return cls


def _decorate_init(cls: type, init: Any, localns: dict[str, Any]) -> Any:
    """A dataclass's `__init__` checked, its violations located at `field x` when `__init__`
    is the one dataclasses generated (its parameters are the fields), else at `argument x`."""
    if get_mode() == "off" or not inspect.isfunction(init):
        return init
    generated = getattr(getattr(init, "__code__", None), "co_filename", "") == "<string>"
    try:
        hints = typing.get_type_hints(init, localns=localns, include_extras=True)
    except NameError:
        return _deferred(init, localns)
    for p in inspect.signature(init).parameters.values():
        # a field with a default_factory: dataclasses passes a sentinel, then calls the
        # factory; like jaxtyping (beartype checks no default), the sentinel is not checked
        if p.name in hints and type(p.default).__name__ == "_HAS_DEFAULT_FACTORY_CLASS":
            union: Any = typing.cast(Any, typing.Union)
            hints[p.name] = union[hints[p.name], type(p.default)]
    return _build(init, hints, fields=generated, name=cls.__qualname__.rsplit("<locals>.", 1)[-1])


def _build(fn: Any, hints: dict[str, Any], stable: tuple[str, ...] = (), guard: bool = False,
           fields: bool = False, name: str | None = None) -> Any:
    sig = inspect.signature(fn)
    is_async = inspect.iscoroutinefunction(fn)
    # a generator, or a plain function returning Iterator[...] / Iterable[...] of arrays (one
    # that builds its stream itself, or a generator wrapped by another decorator): the
    # arguments are checked on call, each element as it is read
    is_gen = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
    plain_stream = False
    if not is_gen and not is_async and "return" in hints:
        try:
            plain_stream = yield_spec(hints["return"]) is not None
        except ContractSyntaxError:
            plain_stream = True  # reported below, as for a generator
        is_gen = plain_stream
    if name is None:
        name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
        name = name.rsplit("<locals>.", 1)[-1]  # `Model.forward`, not `test.<locals>.Model.forward`
    specs: dict[str, Any] = {}
    ys = None
    if is_gen and "return" in hints:
        try:
            ys = yield_spec(hints["return"])
        except ContractSyntaxError as e:
            raise ContractSyntaxError(f"{name}: yield type: {e}") from None
    if stable and ys is None:
        raise ContractSyntaxError(f"{name}: stable= applies to the elements of a generator "
                                  "annotated with Iterator[...] / Generator[...]")
    for pname, hint in hints.items():
        if pname == "return" and is_gen:
            continue
        try:
            specs[pname] = _with_model_checker(_spec_of(hint))
        except ContractSyntaxError as e:
            raise ContractSyntaxError(f"{name}: {'return' if pname == 'return' else 'argument ' + pname}: {e}") from None
    all_names = _dim_names_in({**specs, "<yield>": ys})
    slots: list[Slot] = []
    P = inspect.Parameter
    for p in sig.parameters.values():
        if p.name not in hints:
            continue
        star = "*" if p.kind is P.VAR_POSITIONAL else "**" if p.kind is P.VAR_KEYWORD else ""
        spec = specs.get(p.name)
        loc = ("field", p.name) if fields and not star else ()
        if spec is not None:
            slots.append(Slot(p.name, "array", spec, hints[p.name], star, loc=loc))
        elif hints[p.name] is int and p.name in all_names and not star:
            slots.append(Slot(p.name, "dim", None, int, loc=loc))
        elif not star:  # *args/**kwargs with a non-array hint: not checked (documented)
            slots.append(Slot(p.name, "hint", None, hints[p.name], loc=loc))
    check_return = False
    if "return" in hints and not is_gen:
        spec = specs.get("return")
        if spec is not None:
            slots.append(Slot("return", "array", spec, hints["return"]))
            check_return = True
        elif hints["return"] is not type(None) and hints["return"] is not None:
            slots.append(Slot("return", "hint", None, hints["return"]))
            check_return = True
    c = Contract(name, tuple(slots))
    if not c.slots and ys is None:
        return fn
    wrapper, source = compile_wrapper(fn, c, sig, is_async, check_return)
    _coverage.tag(wrapper, "function", _coverage_name(fn))
    if ys is not None:
        wrapper = _stream_wrapper(fn, wrapper, c, sig, ys, stable, name, plain_stream)
    if guard:
        ret = next((s for s in c.slots if s.is_return), None)
        if ret is None or kind_tag(ret.spec) != "model":
            raise ContractSyntaxError(f"{name}: guard=True needs a Model[...] return annotation")
        wrapper = _guarding_builder(wrapper, c, sig)
    functools.update_wrapper(wrapper, fn)
    wrapper.__shapecontract__ = c  # type: ignore[attr-defined]
    wrapper.__shapecontract_source__ = source  # type: ignore[attr-defined]
    # TensorFlow autograph: call the checker as plain Python (it cannot convert the generated
    # code, and need not: it only reads static shapes). The attribute is autograph's marker.
    wrapper.autograph_info__ = {}  # type: ignore[attr-defined]
    # torch.jit.script compiles source, and cannot compile the checker: say so, and what to do
    wrapper.__prepare_scriptable__ = functools.partial(_refuse_script, name)  # type: ignore[attr-defined]
    return wrapper


def _coverage_name(fn: Any) -> str:
    """`module.qualname`: how contract coverage names a decorated function."""
    return f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', repr(fn))}"


def _refuse_script(name: str) -> Any:
    raise TypeError(
        f"torch.jit.script cannot compile the @contract function {name}: TorchScript does not "
        "understand array annotations or the generated checker. Use torch.compile (the "
        "contract is checked, see docs/guarantees.md), or torch.jit.trace (the example inputs "
        "are checked at trace time); to script it, write it without array annotations "
        "(TorchScript reads annotations as its own types)")


def _stream_wrapper(fn: Any, checked: Any, c: Contract, sig: inspect.Signature, ys: Any,
                    stable: tuple[str, ...], name: str, plain: bool = False) -> Any:
    """Wrap a generator function: arguments checked on call, every element as it is yielded.
    Dims the arguments bind hold for the whole stream; `stable` dims hold from the first element.
    `plain`: a function returning the stream; an iterator comes back as a checked iterator, a
    re-iterable (a list, a DataLoader) as a checked iterable whose every pass is checked."""
    from ._stream import (
        AsyncGuardedIterator,
        GuardedIterable,
        GuardedIterator,
        StreamContract,
        guarded_generator,
    )

    sc = StreamContract(name, ys, stable=stable)
    ys_text = str(ys)
    yield_names = {d.name for a in iter_array_specs(ys) for d in a.dims
                   if hasattr(d, "name") and d.name}
    iterator = AsyncGuardedIterator if inspect.isasyncgenfunction(fn) else guarded_generator

    def pins_of(args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> tuple[dict[str, int], dict[str, Origin]]:
        if not c.slots:
            return {}, {}
        ba = sig.bind(*args, **kwargs)
        ba.apply_defaults()
        st = evaluate(c, [ba.arguments.get(s.name) for s in c.slots])
        pins = {k: v for k, v in st.bindings.items() if k in yield_names and type(v) is int}
        return pins, {k: st.origins[k] for k in pins}

    def stream(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        source = checked(*args, **kwargs)
        pins, origins = pins_of(args, kwargs)
        if plain:
            try:
                it = iter(source)
            except TypeError:
                raise ShapeContractError([Violation(
                    ("return",), "type", f"expected an iterable of arrays (the annotation "
                    f"says {ys_text}), got {type(source).__name__}")], name) from None
            if it is source:
                return GuardedIterator(source, sc.start(pins, origins))
            return GuardedIterable(source, sc, pins, origins)
        return iterator(source, sc.start(pins, origins))

    stream.__shapecontract_stream__ = sc  # type: ignore[attr-defined]
    stream.__shapecontract_yield__ = ys  # type: ignore[attr-defined]
    return stream


def _guarding_builder(build: Any, c: Contract, sig: inspect.Signature) -> Any:
    """A model builder whose (checked) model comes back guarded, with the dims its arguments
    bound pinned where the model leaves them open."""
    from ._guard import guard as guard_model
    from .frameworks import contract_of

    def builder(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        model = build(*args, **kwargs)
        ba = sig.bind(*args, **kwargs)
        ba.apply_defaults()
        values = [ba.arguments.get(s.name) if not s.is_return else model for s in c.slots]
        bindings = evaluate(c, values).bindings
        open_dims = contract_of(model).dim_names()[0]
        pins = {k: v for k, v in bindings.items() if k in open_dims and type(v) is int
                and k != "batch"}
        return guard_model(model, dims=pins or None)

    return builder


def _spec_of(hint: Any) -> Any:
    """The spec an annotation states: a spec object of a registered kind is its own."""
    return hint if kind_of(hint) is not None else spec_from_hint(hint)


def _with_model_checker(spec: Any) -> Any:
    """A `Model[...]` spec gets the adapters' `check_model` as its checker."""
    if kind_tag(spec) == "model" and spec.checker is None:
        import dataclasses

        from .frameworks.check_model import check_model

        return dataclasses.replace(spec, checker=check_model)
    return spec


def _dim_names_in(specs: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for spec in specs.values():
        for a in iter_array_specs(spec):
            for d in a.dims:
                if isinstance(d, Named):
                    names.add(d.name)
                elif isinstance(d, Expr):
                    names.update(d.names)
    return names


def _deferred(fn: Any, localns: dict[str, Any], stable: tuple[str, ...] = (),
              guard: bool = False) -> Any:
    """Annotations that name things not defined yet: resolve and compile on the first call."""
    state: dict[str, Any] = {}

    def resolve() -> Any:
        """Resolve the annotations and compile now (on the first call, or when the contract is
        asked for first: `contract_of` a model whose forward is decorated)."""
        checked = state.get("fn")
        if checked is None:
            checked = state["fn"] = _build(
                fn, typing.get_type_hints(fn, localns=localns, include_extras=True), stable, guard)
            first_call.__shapecontract__ = getattr(checked, "__shapecontract__", None)  # type: ignore[attr-defined]
        return checked

    @functools.wraps(fn)
    def first_call(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return resolve()(*args, **kwargs)

    first_call.__shapecontract_resolve__ = resolve  # type: ignore[attr-defined]

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def first_call_async(*args: Any, **kwargs: Any) -> Any:
            return await first_call(*args, **kwargs)

        return first_call_async
    return first_call


def checker_source(obj: Any) -> str:
    """The generated source of the checker behind `obj`: a `@contract` function, a `Contract`,
    a guarded model (its forward / `__call__` checker) or a guarded stream (its element
    checker). What runs on every call, readable."""
    source = getattr(obj, "__shapecontract_source__", None)
    if source is not None:
        return str(source)
    if isinstance(obj, Contract):
        return obj.checker_source()
    c = getattr(obj, "__shapecontract__", None)
    if isinstance(c, Contract):
        return c.checker_source()
    from .frameworks import adapter_of

    adapter = adapter_of(obj)
    g = adapter.guard_of(obj) if adapter is not None else None
    if g is not None:
        where = adapter.entry_point if adapter is not None else "__call__"
        return str(g.checker(obj, where).__shapecontract_source__)
    from .pipeline import stream_checker

    fn = stream_checker(obj)
    if fn is not None:
        return str(fn.__shapecontract_source__)
    raise TypeError(f"{obj!r} has no shapecontract checker (not decorated with @contract, not a "
                    "Contract, not guarded)")
