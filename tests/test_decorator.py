"""@contract on real numpy, torch and TensorFlow arrays: verdicts, scopes, call forms."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import numpy as np
import pytest

from shapecontract import (
    Array,
    ContractSyntaxError,
    Float,
    Int,
    ShapeContractError,
    Shaped,
    checker_source,
    contract,
)


@contract
def pair(x: Float[Array, "b t f"], y: Float[Array, "b t f"], z: Float[Array, "b"]) -> Float[Array, "b"]:
    return z


def test_passes_and_returns_the_same_object(xp: Any) -> None:
    """A valid call returns exactly what the function returned, untouched."""
    x, z = xp((4, 5, 3)), xp((4,))
    assert pair(x, x, z) is z
    assert pair(x, x, z) is z  # second call: learned fast path


def test_shared_dims_across_arguments(xp: Any) -> None:
    """A dim bound by one argument must hold in the others."""
    with pytest.raises(ShapeContractError) as info:
        pair(xp((4, 5, 3)), xp((4, 6, 3)), xp((4,)))
    e = info.value
    assert (e.slot, e.axis, e.dim, e.expected, e.actual) == ("argument y", 1, "t", 5, 6)
    assert e.bindings == {"b": 4, "t": 5, "f": 3}
    assert "argument x axis 1" in e.origin


def test_rank_and_dtype_and_type(xp: Any) -> None:
    """Wrong rank, wrong dtype category and a non-array are each reported."""
    with pytest.raises(ShapeContractError, match="expected 3 axes, got 2"):
        pair(xp((4, 5)), xp((4, 5, 3)), xp((4,)))
    with pytest.raises(ShapeContractError, match="expected dtype Float") as info:
        pair(xp((4, 5, 3), "int32"), xp((4, 5, 3)), xp((4,)))
    assert info.value.violations[0].kind == "dtype"
    with pytest.raises(ShapeContractError, match="expected an array"):
        pair([[[1.0]]], xp((1, 1, 1)), xp((1,)))


def test_return_shares_dims_with_arguments(xp: Any) -> None:
    """The return value is checked against the dims the arguments bound."""
    @contract
    def f(x: Float[Array, "b n"]) -> Float[Array, "b"]:
        return x[:, 0] if x.shape[0] != 3 else x[:2, 0]

    f(xp((4, 2)))
    with pytest.raises(ShapeContractError) as info:
        f(xp((3, 2)))
    assert info.value.slot == "return" and info.value.expected == 3


def test_int_parameter_binds_dim() -> None:
    """`timesteps: int` binds dim `timesteps`, and the origin says so."""
    @contract
    def windows(x: Float[Array, "n"], timesteps: int) -> Float[Array, "w timesteps"]:
        return np.zeros((x.shape[0] - 2, 3))

    windows(np.zeros(5), 3)
    with pytest.raises(ShapeContractError) as info:
        windows(np.zeros(5), 4)
    assert info.value.origin == "timesteps=4 from argument timesteps=4"
    with pytest.raises(ShapeContractError, match="expected int"):
        windows(np.zeros(5), "4")  # type: ignore[arg-type]


def test_symbolic_dims() -> None:
    """`t-1` and `2*h` are checked against bound dims, in any slot order."""
    @contract
    def diff(x: Float[Array, "t"], pad: Float[Array, "2*h"], h: int) -> Float[Array, "t-1"]:
        return np.diff(x)

    diff(np.zeros(5), np.zeros(6), 3)
    with pytest.raises(ShapeContractError, match="2\\*h with h=3"):
        diff(np.zeros(5), np.zeros(5), 3)

    @contract
    def bad(x: Float[Array, "t"]) -> Float[Array, "t"]:
        return x[1:]

    with pytest.raises(ShapeContractError):
        bad(np.zeros(4))


def test_symbolic_dim_needs_a_binding() -> None:
    """A symbolic dim over a name nothing binds fails at decoration time."""
    with pytest.raises(ContractSyntaxError, match="no argument or return binds"):
        @contract
        def f(x: Float[Array, "n+1"]) -> None: ...


def test_variadic_broadcast_and_anonymous() -> None:
    """`*batch` binds a tuple, `#n` accepts 1, `_` and `...` accept anything."""
    @contract
    def f(x: Float[Array, "*batch c"], y: Float[Array, "*batch #c"], z: Shaped[Array, "_ ..."]) -> None:
        return None

    f(np.zeros((2, 3, 4)), np.zeros((2, 3, 1)), np.zeros((7,)))
    f(np.zeros((4,)), np.zeros((4,)), np.zeros((1, 2, 3)))
    with pytest.raises(ShapeContractError, match=r"\*batch"):
        f(np.zeros((2, 3, 4)), np.zeros((2, 2, 4)), np.zeros((1,)))
    with pytest.raises(ShapeContractError):
        f(np.zeros((2, 3, 4)), np.zeros((2, 3, 2)), np.zeros((1,)))
    with pytest.raises(ShapeContractError, match="at least 1 axes"):
        f(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.zeros(()))


def test_broadcast_dim_first_then_bound_later() -> None:
    """A `#n` seen first with size 1 does not bind n; a later `n` does."""
    @contract
    def f(a: Float[Array, "#n"], b: Float[Array, "n"], c: Float[Array, "n"]) -> None:
        return None

    f(np.zeros(1), np.zeros(5), np.zeros(5))
    f(np.zeros(5), np.zeros(5), np.zeros(5))
    with pytest.raises(ShapeContractError):
        f(np.zeros(1), np.zeros(5), np.zeros(4))
    with pytest.raises(ShapeContractError):
        f(np.zeros(3), np.zeros(5), np.zeros(5))


def test_optional_and_tuple_return() -> None:
    """`X | None` accepts None; `tuple[A, B]` checks each item with shared dims."""
    @contract
    def split(x: Float[Array, "n f"], mask: Int[Array, "n"] | None = None
              ) -> tuple[Float[Array, "n f-1"], Float[Array, "n 1"]]:
        return x[:, :-1], x[:, -1:]

    split(np.zeros((4, 3)))
    split(np.zeros((4, 3)), np.zeros(4, dtype=np.int64))
    with pytest.raises(ShapeContractError, match="argument mask"):
        split(np.zeros((4, 3)), np.zeros(5, dtype=np.int64))

    @contract
    def bad() -> tuple[Float[Array, "n"], Float[Array, "n"]]:
        return np.zeros(2), np.zeros(3)

    with pytest.raises(ShapeContractError) as info:
        bad()
    assert info.value.slot == "return[1]"


def test_concrete_array_type_restricts_framework() -> None:
    """Float[np.ndarray, ...] rejects a torch tensor that Float[Array, ...] accepts."""
    import torch

    @contract
    def only_np(x: Float[np.ndarray, "n"]) -> None: ...

    @contract
    def any_fw(x: Float[Array, "n"]) -> None: ...

    only_np(np.zeros(3))
    any_fw(torch.zeros(3))
    with pytest.raises(ShapeContractError, match="expected ndarray"):
        only_np(torch.zeros(3))


def test_jaxtyping_annotations_are_accepted() -> None:
    """Annotations written with jaxtyping.Float directly work the same."""
    import jaxtyping
    import torch

    @contract
    def f(x: jaxtyping.Float[torch.Tensor, "b 3"]) -> jaxtyping.Float[torch.Tensor, "b"]:
        return x.sum(-1)

    f(torch.zeros(2, 3))
    with pytest.raises(ShapeContractError):
        f(torch.zeros(2, 4))


def test_tf_variable_and_parameter_are_arrays() -> None:
    """tf.Variable and torch.nn.Parameter count as arrays of their framework."""
    import tensorflow as tf
    import torch

    @contract
    def f(x: Float[Array, "a b"]) -> None: ...

    f(tf.Variable(np.zeros((2, 3), np.float32)))
    f(torch.nn.Parameter(torch.zeros(2, 3)))
    with pytest.raises(ShapeContractError):
        f(tf.Variable(np.zeros((2,), np.float32)))


def test_non_array_hints_are_checked_with_beartype() -> None:
    """Other annotations are checked too (beartype semantics)."""
    @contract
    def f(x: Float[Array, "n"], name: str, opts: dict[str, int]) -> int:
        return len(name)

    assert f(np.zeros(2), "ab", {"a": 1}) == 2
    with pytest.raises(ShapeContractError, match="argument name"):
        f(np.zeros(2), 3, {})  # type: ignore[arg-type]
    with pytest.raises(ShapeContractError, match="argument opts"):
        f(np.zeros(2), "a", {"a": "b"})  # type: ignore[dict-item]


class Model:
    def __init__(self) -> None:
        self.calls = 0

    @contract
    def forward(self, x: Float[Array, "b 3"]) -> Float[Array, "b 1"]:
        self.calls += 1
        return x[:, :1]

    @staticmethod
    @contract
    def stat(x: Float[Array, "b 3"]) -> None: ...

    @contract
    @staticmethod
    def stat2(x: Float[Array, "b 3"]) -> None: ...

    @contract
    @classmethod
    def cls(cls, x: Float[Array, "b 3"]) -> None: ...


def test_methods_static_and_class_methods(xp: Any) -> None:
    """Methods, staticmethods and classmethods are wrapped, in either decorator order."""
    m = Model()
    m.forward(xp((2, 3)))
    assert m.calls == 1
    for call in (m.forward, Model.stat, Model.stat2, Model.cls, m.cls):
        with pytest.raises(ShapeContractError):
            call(xp((2, 4)))


def test_signature_kinds_and_defaults() -> None:
    """Positional-only, keyword-only and defaults behave exactly as without the decorator."""
    @contract
    def f(a: Float[Array, "n"], /, b: Float[Array, "n"], *, c: Float[Array, "n"], d: int = 7) -> int:
        return d

    x = np.zeros(3)
    assert f(x, x, c=x) == 7
    assert f(x, b=x, c=x, d=2) == 2
    with pytest.raises(TypeError):
        f(a=x, b=x, c=x)  # type: ignore[call-arg]
    with pytest.raises(ShapeContractError, match="argument c"):
        f(x, x, c=np.zeros(4))
    assert str(inspect.signature(f)) == str(inspect.signature(f.__wrapped__))


def test_star_args_each_item_checked() -> None:
    """An annotated *args checks every item against the spec, sharing dims."""
    @contract
    def cat(*xs: Float[Array, "n"]) -> None: ...

    cat(np.zeros(2), np.zeros(2))
    with pytest.raises(ShapeContractError, match=r"argument \*xs\[1\]"):
        cat(np.zeros(2), np.zeros(3))


def test_async_function(xp: Any) -> None:
    """Async functions are checked on call and on return, per task."""
    @contract
    async def f(x: Float[Array, "n"], delay: float) -> Float[Array, "n"]:
        await asyncio.sleep(delay)
        return x

    async def main() -> list[Any]:
        a, b = xp((2,)), xp((5,))
        return await asyncio.gather(f(a, 0.01), f(b, 0.0))

    out = asyncio.run(main())
    assert [tuple(o.shape) for o in out] == [(2,), (5,)]
    with pytest.raises(ShapeContractError):
        asyncio.run(f(xp((2, 2)), 0.0))


def test_generator_arguments_checked_when_called() -> None:
    """A generator's arguments are checked at call time, before the first next()."""
    @contract
    def gen(x: Float[Array, "n"], k: int):  # type: ignore[no-untyped-def]
        yield from range(k)

    assert list(gen(np.zeros(2), 3)) == [0, 1, 2]
    with pytest.raises(ShapeContractError):
        gen(np.zeros((2, 2)), 3)


def test_nested_and_recursive_calls_have_own_scope() -> None:
    """Each call, nested or recursive, binds its own dims."""
    @contract
    def rec(x: Float[Array, "n"], depth: int) -> Float[Array, "n"]:
        if depth:
            rec(np.zeros(x.shape[0] + 1), depth - 1)  # a different n inside
        return x

    rec(np.zeros(2), 3)


def test_forward_references_resolve_on_first_call() -> None:
    """Annotations naming things defined later are resolved at the first call."""
    @contract
    def f(x: Later) -> Later:  # type: ignore[name-defined]
        return x

    globals()["Later"] = Float[Array, "n 2"]
    try:
        f(np.zeros((3, 2)))
        with pytest.raises(ShapeContractError):
            f(np.zeros((3, 3)))
    finally:
        del globals()["Later"]


def test_checker_source_is_readable() -> None:
    """The generated checker's source is available and registered for tracebacks."""
    import linecache

    src = checker_source(pair)
    assert src.startswith("def pair(x, y, z):")
    filename = pair.__code__.co_filename
    assert filename.startswith("<shapecontract checker")
    assert linecache.getline(filename, 1).startswith("def pair")


def test_metadata_is_kept() -> None:
    """The wrapper keeps name, docstring, __wrapped__ and the contract."""
    assert pair.__name__ == "pair"
    assert pair.__wrapped__.__name__ == "pair"
    assert "pair(x: Float[Array" in str(pair.__shapecontract__)


def test_generated_source_lives_exactly_as_long_as_its_checker() -> None:
    """Issue 8.8: throwaway decorations do not leave their source in linecache forever."""
    import gc
    import linecache

    def ours() -> set[str]:
        return {k for k in linecache.cache if k.startswith("<shapecontract checker")}

    def throwaway() -> Any:
        def f(x: Float[Array, "n 2"]) -> Float[Array, "n 2"]:
            return x
        return contract(f)

    before = ours()
    kept = [throwaway()]
    for _ in range(300):
        throwaway()
    gc.collect()
    after = ours() - before
    assert len(after) == 1  # only the checker still alive
    (name,) = after
    assert linecache.getline(name, 1).startswith("def f(")
    kept.clear()
    gc.collect()
    assert ours() - before == set()


def test_numpy_integers_bind_int_dims() -> None:
    """Issue 9: `win(x, np.int64(5))` binds timesteps=5 like an int (bools do not)."""
    @contract
    def win(x: Float[Array, "n f"], timesteps: int) -> Float[Array, "w timesteps f"]:
        return np.zeros((x.shape[0] - timesteps + 1, timesteps, x.shape[1]))

    for _ in range(2):  # the slow path learns np.int64; the fast path then takes it
        assert win(np.zeros((10, 3)), np.int64(5)).shape == (6, 5, 3)
    assert win(np.zeros((10, 3)), np.int32(4)).shape == (7, 4, 3)
    with pytest.raises(ShapeContractError):
        win(np.zeros((10, 3)), True)


def test_a_plain_function_returning_an_iterator_of_arrays_is_checked_per_element() -> None:
    """`-> Iterator[Float[...]]` on a function that is not itself a generator (it builds the
    stream, or another decorator such as jaxtyping's wraps the generator) was a
    ContractSyntaxError ('arrays inside Iterator are not checked yet'), which also broke
    imports under the import hook. Now: arguments on call, every element as it is read, the
    dims the arguments bind shared; a re-iterable comes back checked on every pass."""
    import collections.abc as cabc

    @contract
    def batches(X: Float[Array, "n f"], k: int) -> cabc.Iterator[Float[Array, "b f"]]:
        return iter(np.array_split(X, k))

    assert [b.shape for b in batches(np.zeros((6, 3)), 2)] == [(3, 3), (3, 3)]

    @contract
    def bad(X: Float[Array, "n f"]) -> cabc.Iterator[Float[Array, "b f"]]:
        return iter([X, X[:, :2]])

    it = bad(np.zeros((4, 3)))
    assert next(it).shape == (4, 3)
    with pytest.raises(ShapeContractError) as e:
        next(it)
    assert e.value.violations[0].location[:2] == ("element", 1)

    @contract
    def listed(X: Float[Array, "n f"]) -> cabc.Iterable[Float[Array, "b f"]]:
        return [X, X[:, :2]]

    out = listed(np.zeros((4, 3)))
    assert len(out) == 2
    for _ in range(2):  # every pass is checked
        with pytest.raises(ShapeContractError):
            list(out)

    @contract
    def not_iterable(X: Float[Array, "n f"]) -> cabc.Iterator[Float[Array, "b f"]]:
        return 5  # type: ignore[return-value]

    with pytest.raises(ShapeContractError, match="expected an iterable"):
        not_iterable(np.zeros((4, 3)))


def test_a_generator_wrapped_by_jaxtyping_then_contract_checks_elements() -> None:
    """jaxtyped(typechecker=beartype) hides that a function is a generator; @contract over it
    checks each element instead of refusing the annotation."""
    import collections.abc as cabc

    import jaxtyping
    from beartype import beartype

    def gen(X: Float[Array, "n f"]) -> cabc.Iterator[Float[Array, "b f"]]:
        yield X
        yield X[:, :2]

    wrapped = contract(jaxtyping.jaxtyped(typechecker=beartype)(gen))
    it = wrapped(np.zeros((4, 3), np.float32))
    assert next(it).shape == (4, 3)
    with pytest.raises(ShapeContractError):
        next(it)
