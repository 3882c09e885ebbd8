"""Hostile values and malformed contracts (issue 11, items 1-4): a clear ShapeContractError or
ContractSyntaxError, never a framework's error from deep inside, never a silent pass."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from shapecontract import Array, ContractSyntaxError, Float, ShapeContractError, contract


@contract
def strict(x: Float[Array, "b t f"]) -> None:
    pass


@contract
def duck(x: Float[Any, "b t f"]) -> None:
    pass


class ShapeNone(np.ndarray):
    @property  # type: ignore[misc]
    def shape(self) -> Any:
        return None


class ShapeString(np.ndarray):
    @property  # type: ignore[misc]
    def shape(self) -> Any:
        return "abc"  # three characters: three 'axes' to a careless len()


class RaisingShape:
    dtype = np.dtype("float32")

    @property
    def shape(self) -> Any:
        raise RuntimeError("boom")


class RaisingDtype:
    shape = (2, 3, 4)

    @property
    def dtype(self) -> Any:
        raise RuntimeError("dtype boom")


class Duck:
    def __init__(self, shape: Any) -> None:
        self.shape, self.dtype = shape, np.dtype("float32")


def _rejects(fn: Any, value: Any, words: str) -> None:
    with pytest.raises(ShapeContractError) as info:
        fn(value)
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("fn", [strict, duck])
def test_an_ndarray_subclass_with_a_bogus_shape_is_refused(fn: Any) -> None:
    """Observed: .shape None (or a string) passed silently, also once the type was learned by
    the fast path from a good value."""
    fn(np.zeros((2, 3, 4), np.float32))  # the fast path has now seen ndarray
    _rejects(fn, np.zeros((2, 3, 4), np.float32).view(ShapeNone), ".shape is None, not a shape")
    _rejects(fn, np.zeros((2, 3, 4), np.float32).view(ShapeString), ".shape is 'abc', not a shape")


@pytest.mark.parametrize("shape", [None, 5, "abc", (2.0, 3.0, 4.0), (2, -3, 4)])
def test_duck_arrays_with_bogus_shapes_are_refused(shape: Any) -> None:
    """Observed: Float[Any, ...] accepted .shape = None and .shape = 5; a good duck array
    passed first must not teach the fast path to pass a bad one."""
    duck(Duck((2, 3, 4)))
    duck(Duck((2, 3, 4)))
    _rejects(duck, Duck(shape), "not a shape")


@pytest.mark.parametrize("value, words", [(RaisingShape(), "reading .shape raised RuntimeError: boom"),
                                          (RaisingDtype(), "reading .dtype raised RuntimeError: dtype boom")])
def test_properties_that_raise_are_violations(value: Any, words: str) -> None:
    """Observed: a `.shape` / `.dtype` that raises escaped as the object's own RuntimeError."""
    _rejects(duck, value, words)


def test_torch_nested_tensors_are_refused_with_a_hint() -> None:
    """Observed: torch.nested tensors crashed inside with 'NestedTensorImpl doesn't support
    sizes'."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: the nested API is a prototype
        nt = torch.nested.nested_tensor([torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)])
    for fn in (strict, duck):
        _rejects(fn, nt, "x.unbind()")


def test_malformed_annotations_are_contract_syntax_errors() -> None:
    """Observed: a list of dims raised TypeError (unhashable), a 5000-digit size ValueError."""
    with pytest.raises(ContractSyntaxError, match="'b t' as one string"):
        Float[Array, ["b", "t"]]
    with pytest.raises(ContractSyntaxError, match="5000 digits is not a size"):
        Float[Array, "b " + "9" * 5000]
    with pytest.raises(ContractSyntaxError, match="23 digits is not a size"):
        Float[Array, "t t//(1+" + "9" * 23 + ")"]


def test_division_by_zero_in_a_dim_expression() -> None:
    """Observed: `t//0` and `d//g` with g=0 disabled the check. A literal zero divisor is a
    ContractSyntaxError at decoration; a bound zero divisor is a violation at the call, on
    the fast path's second call too."""
    with pytest.raises(ContractSyntaxError, match="division by zero"):
        Float[Array, "t t//0"]

    @contract
    def half(x: Float[Array, "d"], y: Float[Array, "d//g"], g: int) -> None:
        pass

    half(np.zeros(6, np.float32), np.zeros(3, np.float32), 2)
    for _ in range(2):
        with pytest.raises(ShapeContractError, match=r"d//g divides by zero with d=6, g=0"):
            half(np.zeros(6, np.float32), np.zeros(5, np.float32), 0)


def test_an_error_keeps_the_calls_values_alive_only_while_the_user_holds_it() -> None:
    """Memory: the library's record of recent errors (for frameworks that re-raise ours from
    their threads) held the errors with their tracebacks, so the arrays of the last 16 failed
    calls stayed alive. Now the record holds twins without tracebacks."""
    import gc
    import weakref

    @contract
    def f(x: Float[Array, "b 3"]) -> None:
        pass

    x = np.zeros((4, 5), np.float32)
    alive = weakref.ref(x)
    with pytest.raises(ShapeContractError) as info:
        f(x)
    del x
    gc.collect()
    assert alive() is not None  # the user's error (its traceback) still holds the call
    del info
    gc.collect()
    assert alive() is None
