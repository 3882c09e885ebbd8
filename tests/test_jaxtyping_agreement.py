"""Differential: our verdict against `jaxtyping.jaxtyped(typechecker=beartype)` (issue 20, part 2).

Each case is a signature (annotations) and a call (values); both checkers decorate the same
function, and must agree on whether the call holds. The cases are written here in the spirit of
jaxtyping's own tests: arrays, dims shared across arguments, unions of arrays (a member that
fails binds nothing), unions of arrays and scalars (`ArrayLike`, `ScalarLike`), key arrays.
Where we differ on purpose, docs/semantics.md says so and names the test that pins it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jt = pytest.importorskip("jaxtyping")
beartype = pytest.importorskip("beartype").beartype

from shapecontract import ShapeContractError, contract  # noqa: E402

A = np.ndarray
F, Int, B = jt.Float, jt.Int, jt.Bool


def _function(annots: dict[str, Any], ret: Any) -> Any:
    names = [n for n in annots if n != "return"]
    ns: dict[str, Any] = {}
    exec(f"def f({', '.join(names)}):\n    return RET[0]\n", ns)
    f = ns["f"]
    f.__globals__["RET"] = [ret]
    f.__annotations__ = dict(annots)
    return f


def jaxtyping_accepts(annots: dict[str, Any], values: tuple[Any, ...], ret: Any = None) -> bool:
    f = jt.jaxtyped(typechecker=beartype)(_function(annots, ret))
    try:
        f(*values)
    except Exception:  # jaxtyping.TypeCheckError / beartype's violation
        return False
    return True


def we_accept(annots: dict[str, Any], values: tuple[Any, ...], ret: Any = None) -> bool:
    f = contract(_function(annots, ret))
    try:
        f(*values)
    except ShapeContractError:
        return False
    return True


def f32(*shape: int) -> Any:
    return np.zeros(shape, np.float32)


def i32(*shape: int) -> Any:
    return np.zeros(shape, np.int32)


def b_(*shape: int) -> Any:
    return np.zeros(shape, bool)


KEYS = jt.PRNGKeyArray

CASES: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    # arrays
    ("dtype ok", {"x": F[A, "n"]}, (f32(3),)),
    ("dtype wrong", {"x": F[A, "n"]}, (i32(3),)),
    ("rank wrong", {"x": F[A, "n"]}, (f32(3, 1),)),
    ("shared dims", {"x": F[A, "n m"], "y": F[A, "m"]}, (f32(2, 3), f32(3))),
    ("shared dims wrong", {"x": F[A, "n m"], "y": F[A, "m"]}, (f32(2, 3), f32(2))),
    ("fixed", {"x": F[A, "2 n"]}, (f32(3, 2),)),
    ("variadic shared", {"x": F[A, "*b n"], "y": F[A, "*b"]}, (f32(4, 5, 2), f32(4, 5))),
    ("variadic wrong", {"x": F[A, "*b n"], "y": F[A, "*b"]}, (f32(4, 5, 2), f32(5, 4))),
    ("anonymous variadic", {"x": F[A, "... n"], "y": F[A, "n"]}, (f32(1, 2, 3), f32(3))),
    ("broadcast", {"x": F[A, "#n"], "y": F[A, "n"]}, (f32(1), f32(4))),
    ("return", {"x": F[A, "n"], "return": F[A, "n"]}, (f32(3),)),
    # unions of arrays: the first member that holds decides; a failed member binds nothing
    ("ranks differ, first", {"m": B[A, "q k"] | B[A, "h q k"], "q": F[A, "q"]},
     (b_(3, 4), f32(3))),
    ("ranks differ, second", {"m": B[A, "q k"] | B[A, "h q k"], "q": F[A, "q"]},
     (b_(2, 3, 4), f32(3))),
    ("ranks differ, dim wrong", {"m": B[A, "q k"] | B[A, "h q k"], "q": F[A, "q"]},
     (b_(2, 5, 4), f32(3))),
    ("ranks differ, none", {"m": B[A, "q k"] | B[A, "h q k"] | None, "q": F[A, "q"]},
     (None, f32(7))),
    ("ranks differ, no member", {"m": B[A, "q k"] | B[A, "h q k"]}, (b_(3),)),
    ("failed member binds nothing", {"x": F[A, "n 5"] | F[A, "k 4"], "y": F[A, "n"]},
     (f32(2, 4), f32(7))),
    ("held member binds", {"x": F[A, "n 5"] | F[A, "k 4"], "y": F[A, "k"]},
     (f32(2, 4), f32(7))),
    ("same rank, dims decide", {"x": F[A, "n n"] | F[A, "n m"], "y": F[A, "m"]},
     (f32(2, 3), f32(3))),
    ("same rank, first binds", {"x": F[A, "n n"] | F[A, "n m"], "y": F[A, "m"]},
     (f32(2, 2), f32(3))),
    ("by dtype", {"x": F[A, "n"] | Int[A, "n 2"]}, (i32(3, 2),)),
    ("by dtype, wrong", {"x": F[A, "n"] | Int[A, "n 2"]}, (i32(3),)),
    ("array or int", {"x": F[A, "n"] | int, "y": F[A, "n"]}, (5, f32(3))),
    ("array or int, bound", {"x": F[A, "n"] | int, "y": F[A, "n"]}, (f32(2), f32(3))),
    ("array or str, wrong", {"x": F[A, "n"] | str}, (3.0,)),
    # key arrays
    ("new key", {"k": KEYS}, (jax.random.key(0),)),
    ("old key", {"k": KEYS}, (jax.random.PRNGKey(0),)),
    ("key of 4", {"k": KEYS}, (jnp.zeros(4, jnp.uint32),)),
    ("not a key", {"k": KEYS}, (jnp.zeros(3, jnp.uint32),)),
    ("not a key dtype", {"k": KEYS}, (jnp.zeros(2, jnp.int32),)),
]

SCALAR_HINTS = {
    "Float[ArrayLike, '']": jt.Float[jt.ArrayLike, ""],
    "Int[ArrayLike, '']": jt.Int[jt.ArrayLike, ""],
    "Bool[ArrayLike, '']": jt.Bool[jt.ArrayLike, ""],
    "Complex[ArrayLike, '']": jt.Complex[jt.ArrayLike, ""],
    "ScalarLike": jt.ScalarLike,
    "Float[ArrayLike, '...']": jt.Float[jt.ArrayLike, "..."],
    "Float[ArrayLike, 'n']": jt.Float[jt.ArrayLike, "n"],
    "Shaped[ArrayLike, '*b']": jt.Shaped[jt.ArrayLike, "*b"],
}

SCALAR_VALUES = {
    "1.0": 1.0, "1": 1, "True": True, "1j": 1j, "np.float32": np.float32(1),
    "np.int32": np.int32(1), "np.bool_": np.bool_(True), "np.complex64": np.complex64(1),
    "f32()": f32(), "f32(3)": f32(3), "i32()": i32(), "b_()": b_(),
    "jnp f32()": jnp.float32(1), "jnp i32(2)": jnp.zeros(2, jnp.int32), "str": "1.0",
    "None": None, "list": [1.0],
}

for hname, hint in SCALAR_HINTS.items():
    for vname, value in SCALAR_VALUES.items():
        CASES.append((f"{hname} <- {vname}", {"x": hint}, (value,)))
CASES += [
    ("ArrayLike shares dims", {"x": jt.Float[jt.ArrayLike, "n"], "y": F[A, "n"]},
     (jnp.zeros(3), f32(4))),
    ("ArrayLike binds *b", {"x": jt.Float[jt.ArrayLike, "*b"], "y": F[A, "*b"]},
     (f32(2, 3), f32(2, 3))),
    ("ArrayLike scalar binds nothing", {"x": jt.Float[jt.ArrayLike, "*b"], "y": F[A, "*b"]},
     (1.0, f32(2, 3))),
]


@pytest.mark.parametrize("name,annots,values", CASES, ids=[c[0] for c in CASES])
def test_we_agree_with_jaxtyping(name: str, annots: dict[str, Any],
                                 values: tuple[Any, ...]) -> None:
    ret = values[0] if "return" in annots else None
    assert we_accept(annots, values, ret) == jaxtyping_accepts(annots, values, ret)


def test_the_cases_tell_both_ways() -> None:
    """Meta-test: the cases hold both verdicts, in numbers that make the comparison mean
    something."""
    verdicts = [jaxtyping_accepts(a, v, v[0] if "return" in a else None) for _, a, v in CASES]
    assert sum(verdicts) > 30 and len(verdicts) - sum(verdicts) > 30


def test_a_wrong_return_is_refused_by_both() -> None:
    annots = {"x": F[A, "n"], "return": F[A, "n"]}
    assert not jaxtyping_accepts(annots, (f32(3),), f32(4))
    assert not we_accept(annots, (f32(3),), f32(4))


ORDER_CASES = [
    # beartype tries a union's classes in written order: a class written before an array
    # member holds first, and then binds nothing
    ("class first binds nothing", {"x": np.ndarray | F[A, "n"], "y": F[A, "n"]},
     (f32(2), f32(3))),
    ("array first binds", {"x": F[A, "n"] | np.ndarray, "y": F[A, "n"]}, (f32(2), f32(3))),
    ("class between members", {"x": F[A, "n"] | float | F[Any, "n"], "y": F[A, "n"]},
     (1.0, f32(3))),
    ("a generic hint is tried after the classes",
     {"x": list[int] | F[A, "n"], "y": F[A, "n"]}, ([1], f32(3))),
]


@pytest.mark.parametrize("name,annots,values", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_union_members_are_tried_in_beartypes_order(name: str, annots: dict[str, Any],
                                                    values: tuple[Any, ...]) -> None:
    assert we_accept(annots, values) == jaxtyping_accepts(annots, values)
