"""Unions as jaxtyping decides them (`AnyOf`), opaque annotations, and a bare `*` as a name
(issue 20, part 2). The verdicts themselves are compared with jaxtyping's in
tests/test_jaxtyping_agreement.py; here: the kind's fast path, its explanation, JSON, and the
hints that become it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
import pytest

from shapecontract import Contract, Float, Int, ShapeContractError, contract
from shapecontract._hints import opaque_reason, spec_from_hint
from shapecontract._spec import AnyOf, ArraySpec, kind_tag, primary_array

A = np.ndarray


def test_a_union_of_arrays_of_different_ranks_is_an_anyof() -> None:
    spec = spec_from_hint(Float[A, "q k"] | Float[A, "h q k"] | None)
    assert isinstance(spec, AnyOf) and spec.optional and len(spec.options) == 2
    assert kind_tag(spec) == "any_of"
    assert primary_array(spec) == spec.options[0]
    # arrays that differ only in their array type still merge into one array spec
    one = spec_from_hint(Float[A, "n"] | Float[Any, "n"])
    assert isinstance(one, ArraySpec)
    # neighbours with the same dims merge, scalars are the others
    mixed = spec_from_hint(Float[A, "n"] | Float[Any, "n"] | float | int)
    assert isinstance(mixed, AnyOf) and len(mixed.options) == 1
    assert mixed.others == (float, int)


def test_the_fast_path_decides_unions() -> None:
    """Every member's conditions, in order: a call that holds never reaches the slow path."""
    calls: list[Any] = []

    @contract
    def f(m: Float[A, "q k"] | Float[A, "h q k"] | None, q: Float[A, "q"]) -> None:
        return None

    src = f.__shapecontract_source__
    assert " or " in src and "isinstance(m, " in src
    g = f.__globals__  # the generated wrapper's namespace: count the slow path's calls
    real = g["__sc_report"]
    g["__sc_report"] = lambda c, v: calls.append(v) or real(c, v)
    try:
        for m in (None, np.zeros((3, 4)), np.zeros((2, 3, 4))):
            f(m, np.zeros(3))
        assert calls == []
        with pytest.raises(ShapeContractError):
            f(np.zeros((2, 5, 4)), np.zeros(3))
        assert len(calls) == 1
    finally:
        g["__sc_report"] = real
    with pytest.raises(ShapeContractError, match="argument q"):
        f(np.zeros((2, 5, 4)), np.zeros(3))


def test_a_failed_member_explains_with_the_closest_member() -> None:
    @contract
    def f(x: Float[A, "n 5"] | Int[A, "k 4 2"], y: Float[A, "n"]) -> None:
        return None

    with pytest.raises(ShapeContractError) as info:
        f(np.zeros((2, 6), np.float32), np.zeros(2, np.float32))
    v = info.value.violations[0]
    assert (v.kind, v.expected, v.actual) == ("dim", 5, 6)  # the rank-2 member, axis 1
    with pytest.raises(ShapeContractError, match="expected one of"):
        f("x", np.zeros(2, np.float32))
    f(np.zeros((2, 4, 2), np.int32), np.zeros(7, np.float32))  # n not bound by member 1


def test_anyof_to_json_and_back() -> None:
    @contract
    def f(x: Float[A, "n 5"] | Float[A, "n"] | float | None, y: Float[A, "n"]) -> None:
        return None

    c = f.__shapecontract__
    text = c.to_json()
    assert '"any_of"' in text
    back = Contract.from_json(text)
    assert back.slots[0].spec == c.slots[0].spec
    back.check(np.zeros((2, 5)), np.zeros(2))
    back.check(1.5, np.zeros(2))
    with pytest.raises(ShapeContractError):
        back.check(np.zeros((2, 5)), np.zeros(3))
    with pytest.raises(ShapeContractError):
        back.check(1, np.zeros(3))


Y = TypeVar("Y")


class Solver(Generic[Y]):
    pass


def test_callables_and_user_generics_are_opaque() -> None:
    pytest.importorskip("jax")
    from jaxtyping import Array, Scalar

    assert opaque_reason(Callable[[Float[Array, "n"]], Scalar]) is not None
    assert opaque_reason(Callable[..., int]) is None  # names no array: nothing to say
    assert opaque_reason(Solver[Float[Array, "n"]]) is not None
    assert opaque_reason(list[Float[Array, "n"]]) is None  # not opaque: refused
    assert spec_from_hint(Callable[[Float[Array, "n"]], Scalar]) is None

    @contract
    def f(fn: Callable[[Float[A, "n"]], float], y: Float[A, "n"]) -> None:
        return None

    f(lambda y: 0.0, np.zeros(3))
    with pytest.raises(ShapeContractError, match="argument fn"):
        f(3, np.zeros(3))  # not callable: beartype's verdict on the hint
    with pytest.raises(ShapeContractError, match="argument y"):
        f(lambda y: 0.0, np.zeros((3, 1)))


def test_a_bare_star_counts_as_a_name() -> None:
    """A bare `*` is a variadic named "": shared across the call. Its first occurrence in an
    optional slot binds it at call time (a dynamic name), on the fast path; `dim_names` lists
    it; the picture keys it as `*`."""
    @contract
    def f(x: Float[A, "*"] | None, y: Float[A, "*"]) -> None:
        return None

    assert "__sc_d0" in f.__shapecontract_source__  # bound at call time, not statically
    f(None, np.zeros((2, 3)))
    f(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ShapeContractError):
        f(np.zeros((2, 3)), np.zeros((3, 2)))
    assert f.__shapecontract__.dim_names() == ([], [""])
    from shapecontract.picture import to_svg

    assert 'data-dim="*"' in to_svg(f.__shapecontract__)
