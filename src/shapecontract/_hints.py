"""Annotations -> specs (layer L2): jaxtyping array classes, unions, tuples, TypedDicts, yields.

Design rules:
- An annotation that states no array shape gives None (beartype checks it instead).
- An annotation that mixes arrays into a structure this version cannot check raises
  `ContractSyntaxError` at decoration time, rather than being checked silently wrong.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from typing import Any, Union

from ._dims import parse_dims
from ._errors import ContractSyntaxError
from ._spec import (
    AnyOf,
    ArraySpec,
    DictSpec,
    ModelSpec,
    PyTreeSpec,
    TupleSpec,
    _AnyArray,
    as_array,
    check_structure,
)

__all__ = ["array_spec_from_jaxtyping", "is_array_hint", "opaque_reason", "spec_from_hint",
           "yield_spec"]


def _jaxtyping_array_base() -> Any:
    jt = sys.modules.get("jaxtyping")
    return None if jt is None else jt.AbstractArray


def is_array_hint(hint: Any) -> bool:
    base = _jaxtyping_array_base()
    return base is not None and isinstance(hint, type) and issubclass(hint, base) and hint is not base


def array_spec_from_jaxtyping(hint: Any, optional: bool = False) -> ArraySpec:
    """Our spec for one jaxtyping array class (`jaxtyping.Float[np.ndarray, "b t"]`)."""
    dims = parse_dims(hint.dim_str)
    raw = hint.dtypes
    if isinstance(raw, (tuple, list)):
        names = frozenset(d for d in raw if isinstance(d, str))
        patterns = tuple(d for d in raw if isinstance(d, re.Pattern))
    else:  # jaxtyping's "any dtype" sentinel
        names, patterns = None, ()
    at = hint.array_type
    if at is _AnyArray or getattr(at, "__shapecontract_any_array__", False):
        types: tuple[Any, ...] = ()
    elif at is Any:
        types = (Any,)
    else:
        types = (at,)
    return ArraySpec(dims, names, hint.dtype.__name__, types, optional, patterns)


def pytree_spec(hint: Any) -> PyTreeSpec | None:
    """Our spec for `jaxtyping.PyTree[leaf]` / `PyTree[leaf, "T"]`, or None: not a PyTree
    subscript, or one that states no array and no structure (beartype checks it, through
    jaxtyping's own isinstance)."""
    mod = sys.modules.get("jaxtyping._pytree_type")  # loaded once a PyTree annotation exists
    meta = getattr(mod, "_MetaPyTree", None)
    if meta is None or not isinstance(hint, meta) or not hasattr(hint, "leaftype"):
        return None
    leaftype, structure = hint.leaftype, hint.structure
    leaf = None if leaftype is Any else spec_from_hint(leaftype)
    if leaf is None and structure is None:
        return None
    return PyTreeSpec(leaf, None if leaf is not None else leaftype,
                      None if structure is None else check_structure(structure))


def spec_from_hint(hint: Any) -> Any:
    """The shape spec a type hint states, or None when it states none (checked by beartype).

    Raises `ContractSyntaxError` for hints that mix arrays into a structure this version
    cannot check, rather than check them silently wrong.
    """
    import typing

    if is_array_hint(hint):
        return array_spec_from_jaxtyping(hint)
    tree = pytree_spec(hint)
    if tree is not None:
        return tree
    if isinstance(hint, ModelSpec):
        return hint
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or (sys.version_info >= (3, 10) and _is_uniontype(origin)):
        return _union_spec(hint, args)
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        fields = typing.get_type_hints(hint, include_extras=True)
        items = tuple(spec_from_hint(fields[f]) if f in fields else None for f in hint._fields)
        return None if all(i is None for i in items) else TupleSpec(items, kinds=(hint,))
    if typing.is_typeddict(hint):
        fields = typing.get_type_hints(hint, include_extras=True)
        keys = tuple(fields)
        items = tuple(spec_from_hint(fields[k]) for k in keys)
        if all(i is None for i in items):
            return None
        return DictSpec(tuple(k for k, i in zip(keys, items) if i is not None),
                        tuple(i for i in items if i is not None))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            if spec_from_hint(args[0]) is None:
                return None
            raise ContractSyntaxError(
                f"unsupported annotation {hint!r}: variable-length tuples of arrays are not "
                "checked yet; give each item its own spec"
            )
        items = tuple(spec_from_hint(a) for a in args)
        if all(i is None for i in items):
            return None
        return TupleSpec(items)
    if opaque_reason(hint) is not None:
        return None  # accepted, not looked into (as jaxtyping): `opaque_reason` says so
    if args and any(spec_from_hint(a) is not None for a in args if not isinstance(a, (str, int))):
        raise ContractSyntaxError(
            f"unsupported annotation {hint!r}: arrays inside {origin!r} are not checked yet"
        )
    return None


def _union_spec(hint: Any, args: tuple[Any, ...]) -> Any:
    """A union: one array spec (arrays that differ only in their array type merge into one),
    a structure or None, else an `AnyOf` whose members are tried in order as beartype tries
    them; members that state no array shape (`float`, `np.number` in `Float[ArrayLike, ""]`)
    are its `others`."""
    members = [a for a in args if a is not type(None)]
    optional = len(members) < len(args)
    specs = [spec_from_hint(m) for m in members]
    if all(s is None for s in specs):
        return None
    options: list[Any] = []
    at: list[int] = []  # per other member: the option it is tried before
    prev: Any = None
    for m, s in zip(members, specs):  # neighbours with the same dims and dtypes: one option
        a, last = as_array(s), as_array(prev)
        prev = s
        if (a is not None and last is not None and a.dims == last.dims
                and a.dtypes == last.dtypes and a.dtype_patterns == last.dtype_patterns):
            types: tuple[Any, ...] = ()
            if a.array_types and last.array_types:
                types = last.array_types + tuple(t for t in a.array_types
                                                  if t not in last.array_types)
            options[-1] = prev = dataclasses.replace(last, array_types=types, optional=False)
        elif s is not None:
            options.append(s)
        elif isinstance(m, type) and typing.get_origin(m) is None:
            at.append(len(options))  # beartype tries the classes in written order ...
        else:
            at.append(-1)  # ... and other hints after them
    others = tuple(m for m, s in zip(members, specs) if s is None)
    at = [len(options) if k < 0 else k for k in at]
    others_at = tuple(at) if any(k < len(options) for k in at) else ()
    if len(options) == 1 and not others and hasattr(options[0], "optional"):
        return dataclasses.replace(options[0], optional=optional)
    return AnyOf(tuple(options), others, optional, others_at)


def opaque_reason(hint: Any) -> str | None:
    """Why arrays named inside `hint` are accepted but not checked (jaxtyping does not look
    inside either): a `Callable[...]`'s parameters and result, a user generic's type
    arguments (`AbstractMinimiser[Y, tuple[Scalar, Aux]]`). None for any other hint, and for
    one that names no array."""
    import collections.abc

    origin = typing.get_origin(hint)
    if origin is None:
        return None
    if origin is collections.abc.Callable:
        what = "Callable[...]"
    elif (isinstance(origin, type) and issubclass(origin, typing.Generic)
          and origin.__module__ not in ("typing", "collections.abc", "builtins")):
        what = f"{origin.__qualname__}[...] (a user generic)"
    else:
        return None
    if not _names_arrays(hint):
        return None
    return f"arrays inside {what} are not checked"


def _names_arrays(hint: Any) -> bool:
    """Whether an array annotation appears anywhere inside `hint`."""
    if isinstance(hint, (list, tuple)):  # Callable's parameter list
        return any(_names_arrays(h) for h in hint)
    if is_array_hint(hint):
        return True
    try:
        if pytree_spec(hint) is not None:
            return True
    except ContractSyntaxError:
        return True
    return any(_names_arrays(a) for a in typing.get_args(hint) if not isinstance(a, (str, int)))


def _is_uniontype(origin: Any) -> bool:
    import types

    return origin is types.UnionType



ITERATOR_ORIGINS = {"Iterator", "Iterable", "Generator", "AsyncIterator", "AsyncIterable",
                    "AsyncGenerator"}


def yield_spec(hint: Any) -> Any:
    """The element spec of `Iterator[Y]`, `Generator[Y, S, R]`, `AsyncIterator[Y]` ..., or None."""
    origin = typing.get_origin(hint)
    if origin is None or getattr(origin, "__name__", "") not in ITERATOR_ORIGINS:
        return None
    args = typing.get_args(hint)
    return spec_from_hint(args[0]) if args else None
