"""`jaxtyping.PyTree[...]` and dataclass / `equinox.Module` fields (issue 20, part 2).

Held here: a PyTree's leaves are found as jaxtyping finds them and checked sharing the call's
dims, its structure name compared across the call (composite `"S T"`, `"... T"`, `"T ..."`
too), the explanation names the leaf's path; `@contract` (and the import hook) on a dataclass
or an `equinox.Module` checks its fields at construction, before `__post_init__` and
`__check_init__`, naming the field. Then a differential test against
`jaxtyping.jaxtyped(typechecker=beartype)` on cases written in the spirit of jaxtyping's own
(pytrees, dataclasses, equinox Modules): every case must get the same verdict.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jt = pytest.importorskip("jaxtyping")
eqx = pytest.importorskip("equinox")
beartype = pytest.importorskip("beartype").beartype

from shapecontract import Contract, ContractSyntaxError, ShapeContractError, contract  # noqa: E402
from shapecontract._spec import PyTreeSpec, spec_text  # noqa: E402

from .test_import_hook import package  # noqa: E402,F401  (the fixture)

PyTree, F, Int, Array = jt.PyTree, jt.Float, jt.Int, jt.Array


def f32(*shape: int) -> Any:
    return jnp.zeros(shape, jnp.float32)


def i32(*shape: int) -> Any:
    return jnp.zeros(shape, jnp.int32)


# ------------------------------------------------------------------------------- own behaviour
def test_leaves_share_the_calls_dims_and_the_error_names_the_leaf_path() -> None:
    @contract
    def f(params: PyTree[F[Array, "n"]], x: F[Array, "n"]) -> None:
        pass

    f({"a": f32(3), "b": [f32(3), None]}, f32(3))
    with pytest.raises(ShapeContractError) as e:
        f({"a": f32(3), "b": [f32(3), f32(4)]}, f32(3))
    assert e.value.slot == "argument params['b'][1]"
    assert "n=3 from argument params['a']" in str(e.value)
    with pytest.raises(ShapeContractError):  # the leaves bind n, the array disagrees
        f({"a": f32(2)}, f32(3))
    with pytest.raises(ShapeContractError) as e:  # a leaf of another type
        f({"a": f32(3), "b": 1.0}, f32(3))
    assert e.value.slot == "argument params['b']"
    f(None, f32(3))  # an empty tree


def test_an_equinox_leaf_path_reads_as_attributes() -> None:
    class Lin(eqx.Module):
        w: Any
        b: Any

    @contract
    def f(m: PyTree[F[Array, "n"]]) -> None:
        pass

    with pytest.raises(ShapeContractError) as e:
        f(Lin(f32(2), f32(3)))
    assert e.value.slot == "argument m.b"


def test_structure_names_are_compared_across_the_call() -> None:
    @contract
    def f(x: PyTree[F[Array, "..."], "T"], y: PyTree[Int[Array, "..."], "T"]) -> None:
        pass

    f((f32(2), {"k": f32(1)}), (i32(5), {"k": i32()}))
    with pytest.raises(ShapeContractError) as e:
        f((f32(2), {"k": f32(1)}), [i32(5), {"k": i32()}])
    assert e.value.slot == "argument y" and "differs from T=" in str(e.value)


def test_composite_structures() -> None:
    @contract
    def f(x: PyTree[int, "T"], y: PyTree[int, "S"], z: PyTree[int, "S T"],
          p: PyTree[int, "S ..."], q: PyTree[int, "... T"]) -> None:
        pass

    f((1, 2), {"k": 3}, {"k": (4, 5)}, {"k": 0}, [(1, 2), (3, 4)])
    with pytest.raises(ShapeContractError):
        f((1, 2), {"k": 3}, {"k": (4, 5, 6)}, {"k": 0}, [(1, 2)])
    with pytest.raises(ShapeContractError):  # not a prefix of S
        f((1, 2), {"k": 3}, {"k": (4, 5)}, {"j": 0}, [(1, 2)])
    with pytest.raises(ShapeContractError):  # its lowest levels are not T
        f((1, 2), {"k": 3}, {"k": (4, 5)}, {"k": 0}, [(1, 2, 3)])

    @contract
    def g(z: PyTree[int, "S T"]) -> None:
        pass

    with pytest.raises(ShapeContractError) as e:  # jaxtyping raises an AnnotationError
        g({"k": (4, 5)})
    assert "no earlier PyTree" in str(e.value)


def test_unions_and_plain_leaf_types() -> None:
    @contract
    def f(x: PyTree[F[Array, "n"] | int], y: F[Array, "n"]) -> None:
        pass

    f([f32(2), 3, (f32(2),)], f32(2))
    with pytest.raises(ShapeContractError):
        f([f32(2), "s"], f32(2))
    with pytest.raises(ShapeContractError):
        f([f32(3)], f32(2))
    assert spec_text(PyTreeSpec(None, int, "T")) == "PyTree[int, 'T']"


def test_pytree_annotations_without_arrays_or_structure_stay_beartypes() -> None:
    @contract
    def f(x: PyTree[int], y: PyTree) -> None:
        pass

    f([1, 2], "anything")
    with pytest.raises(ShapeContractError):
        f([1, "a"], 0)


def test_question_mark_dims_are_refused_at_decoration() -> None:
    with pytest.raises(ContractSyntaxError):
        @contract
        def f(x: PyTree[F[Array, "?n"], "T"]) -> None:
            pass


def test_a_pytree_contract_goes_to_json_and_back() -> None:
    @contract
    def f(x: PyTree[F[Array, "n"], "T"], y: PyTree[int, "T"], z: F[Array, "n"]) -> None:
        pass

    c = f.__shapecontract__  # type: ignore[attr-defined]
    data = json.loads(c.to_json())
    back = Contract.from_json(json.dumps(data))
    assert back.to_json() == c.to_json()
    assert [spec_text(s.spec) for s in back.slots] == [spec_text(s.spec) for s in c.slots]
    back.check([f32(2)], [0], f32(2))
    with pytest.raises(ShapeContractError):
        back.check([f32(2)], (0,), f32(2))
    with pytest.raises(ShapeContractError):
        back.check([f32(3)], [0], f32(2))
    bad = dict(data)
    bad["slots"] = [dict(data["slots"][0], spec={"type": "pytree", "structure": "1x"})]
    with pytest.raises(ContractSyntaxError):
        Contract.from_json(json.dumps(bad))


# ------------------------------------------------------------------------------ dataclasses
def test_a_dataclass_checks_its_fields_at_construction_before_post_init() -> None:
    seen: list[str] = []

    @contract
    @dataclasses.dataclass
    class Pair:
        x: F[Array, "n"]
        y: F[Array, "n m"]
        scale: float = 1.0

        def __post_init__(self) -> None:
            seen.append("post_init")

    Pair(f32(3), f32(3, 2))
    with pytest.raises(ShapeContractError) as e:
        Pair(f32(3), f32(4, 2))
    assert e.value.slot == "field y" and "axis 0 (n)" in str(e.value) and "Pair" in str(e.value)
    assert seen == ["post_init"]  # not run for the refused one
    with pytest.raises(ShapeContractError):
        Pair(f32(3), f32(3, 2), scale="big")  # type: ignore[arg-type]
    assert contract(Pair) is Pair  # decorating twice changes nothing


def test_an_equinox_module_checks_its_fields_before_check_init() -> None:
    seen: list[str] = []

    @contract
    class Linear(eqx.Module):
        weight: F[Array, "out inp"]
        bias: F[Array, "out"]

        def __check_init__(self) -> None:
            seen.append("check_init")

    m = Linear(f32(2, 3), f32(2))
    assert m.bias.shape == (2,) and seen == ["check_init"]
    with pytest.raises(ShapeContractError) as e:
        Linear(f32(2, 3), f32(3))
    assert e.value.slot == "field bias"
    assert seen == ["check_init"]


def test_a_custom_init_is_checked_by_its_own_annotations() -> None:
    @contract
    class Layer(eqx.Module):
        weight: F[Array, "o i"]

        def __init__(self, w: F[Array, "o i"], scale: F[Array, "o"]) -> None:
            self.weight = w * scale[:, None]

    Layer(f32(2, 3), f32(2))
    with pytest.raises(ShapeContractError) as e:
        Layer(f32(2, 3), f32(3))
    assert e.value.slot.startswith("argument scale")


def test_contract_refuses_a_class_that_is_not_a_dataclass() -> None:
    class Plain:
        x: F[Array, "n"]

    with pytest.raises(TypeError, match="above @dataclass"):
        contract(Plain)


MODELS = '''
import dataclasses
import equinox as eqx
from jaxtyping import Array, Float, PyTree

@dataclasses.dataclass
class Pair:
    x: Float[Array, "n"]
    y: Float[Array, "n"]

class Lin(eqx.Module):
    w: Float[Array, "o i"]
    b: Float[Array, "o"]

def total(p: PyTree[Float[Array, "n"], "T"], q: PyTree[Float[Array, "n"], "T"]) -> None:
    pass
'''


def test_the_hook_checks_dataclasses_modules_and_pytrees(package: Any) -> None:  # noqa: F811
    from shapecontract import install_import_hook

    name = package({"models": MODELS})
    with install_import_hook(name) as hook:
        mod = __import__(f"{name}.models", fromlist=["x"])
    assert {f"{name}.models.{q}" for q in ("Pair.__init__", "Lin.__init__", "total")} <= set(
        hook.hooked)
    assert hook.skipped == []
    mod.Pair(f32(2), f32(2))
    mod.Lin(f32(2, 3), f32(2))
    mod.total({"a": f32(2)}, {"a": f32(2)})
    with pytest.raises(ShapeContractError, match="field y"):
        mod.Pair(f32(2), f32(3))
    with pytest.raises(ShapeContractError, match="field b"):
        mod.Lin(f32(2, 3), f32(3))
    with pytest.raises(ShapeContractError, match=r"argument q\['a'\]"):
        mod.total({"a": f32(2)}, {"a": f32(3)})
    with pytest.raises(ShapeContractError, match="differs from T"):
        mod.total({"a": f32(2)}, {"b": f32(2)})


def test_no_framework_is_imported_for_a_pytree_spec() -> None:
    """The spec kind itself names no framework: `import shapecontract` stays framework-free
    (tests/test_imports.py); here jax is already imported, and is used through the backend."""
    from shapecontract.backends import pytree_backend

    assert "jax" in sys.modules and pytree_backend() is not None


# ---------------------------------------------------------------- differential against jaxtyping
def _function(annots: dict[str, Any]) -> Any:
    names = [n for n in annots if n != "return"]
    ns: dict[str, Any] = {}
    exec(f"def f({', '.join(names)}):\n    return None\n", ns)
    f = ns["f"]
    f.__annotations__ = dict(annots)
    return f


def jaxtyping_accepts(annots: dict[str, Any], values: tuple[Any, ...]) -> bool:
    f = jt.jaxtyped(typechecker=beartype)(_function(annots))
    try:
        f(*values)
    except Exception:  # jaxtyping.TypeCheckError, its AnnotationError, beartype's violation
        return False
    return True


def we_accept(annots: dict[str, Any], values: tuple[Any, ...]) -> bool:
    f = contract(_function(annots))
    try:
        f(*values)
    except ShapeContractError:
        return False
    return True


A = F[Array, "n"]
TREE_CASES: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    ("leaves same n", {"x": PyTree[A]}, ({"a": f32(2), "b": (f32(2),)},)),
    ("leaves differ", {"x": PyTree[A]}, ({"a": f32(2), "b": (f32(3),)},)),
    ("leaf shares with arg", {"x": PyTree[A], "y": A}, ([f32(2)], f32(2))),
    ("leaf disagrees with arg", {"x": PyTree[A], "y": A}, ([f32(2)], f32(3))),
    ("arg binds first", {"y": A, "x": PyTree[A]}, (f32(3), [f32(2)])),
    ("wrong leaf dtype", {"x": PyTree[A]}, ([i32(2)],)),
    ("float leaf", {"x": PyTree[A]}, ([f32(2), 1.0],)),
    ("none leaves", {"x": PyTree[A]}, ([None, f32(1)],)),
    ("none tree", {"x": PyTree[A]}, (None,)),
    ("empty tree", {"x": PyTree[A], "y": A}, ((), f32(4))),
    ("array itself", {"x": PyTree[A]}, (f32(3),)),
    ("rank wrong", {"x": PyTree[A]}, ([f32(3, 1)],)),
    ("variadic leaves", {"x": PyTree[F[Array, "*b"]]}, ([f32(2, 3), f32(2, 3)],)),
    ("variadic leaves differ", {"x": PyTree[F[Array, "*b"]]}, ([f32(2, 3), f32(3)],)),
    ("int leaves", {"x": PyTree[int]}, ([1, (2, 3)],)),
    ("int leaves bad", {"x": PyTree[int]}, ([1, "2"],)),
    ("union leaves", {"x": PyTree[A | int], "y": A}, ([f32(2), 1], f32(2))),
    ("union leaves bad", {"x": PyTree[A | int], "y": A}, ([f32(3), 1], f32(2))),
    ("union leaves str", {"x": PyTree[A | int]}, ([f32(3), "s"],)),
    ("same structure", {"x": PyTree[A, "T"], "y": PyTree[int, "T"]},
     ({"a": f32(1), "b": f32(1)}, {"a": 0, "b": 1})),
    ("other structure", {"x": PyTree[A, "T"], "y": PyTree[int, "T"]},
     ({"a": f32(1), "b": f32(1)}, {"a": 0, "c": 1})),
    ("list vs tuple", {"x": PyTree[A, "T"], "y": PyTree[A, "T"]}, ([f32(1)], (f32(1),))),
    ("structure none", {"x": PyTree[A, "T"], "y": PyTree[A, "T"]}, (None, [f32(1)])),
    ("structure any leaf", {"x": PyTree[Any, "T"], "y": PyTree[Any, "T"]},
     ({"a": 1}, {"a": "s"})),
    ("structure any leaf bad", {"x": PyTree[Any, "T"], "y": PyTree[Any, "T"]},
     ({"a": 1}, {"b": "s"})),
    ("composite", {"x": PyTree[int, "T"], "y": PyTree[int, "S"], "z": PyTree[int, "S T"]},
     ((1, 2), {"k": 3}, {"k": (4, 5)})),
    ("composite bad", {"x": PyTree[int, "T"], "y": PyTree[int, "S"], "z": PyTree[int, "S T"]},
     ((1, 2), {"k": 3}, {"k": (4,)})),
    ("composite unbound", {"z": PyTree[int, "S T"]}, ({"k": (4, 5)},)),
    ("prefix", {"x": PyTree[int, "T"], "y": PyTree[int, "T ..."]},
     (((1, 2), 3), ((1, [2, 3]), {"a": 4}))),
    ("prefix bad", {"x": PyTree[int, "T"], "y": PyTree[int, "T ..."]},
     (((1, 2), 3), ((1, 2, 3), 4))),
    ("suffix", {"x": PyTree[int, "T"], "y": PyTree[int, "... T"]},
     ((1, 2), {"a": (1, 2), "b": (3, 4)})),
    ("suffix bad", {"x": PyTree[int, "T"], "y": PyTree[int, "... T"]},
     ((1, 2), {"a": (1, 2), "b": (3,)})),
    ("optional tree", {"x": PyTree[A, "T"] | None, "y": A}, (None, f32(2))),
    ("tuple leaf", {"x": PyTree[tuple[A, A]]}, ([(f32(2), f32(2)), (f32(2), f32(2))],)),
    ("tuple leaf bad", {"x": PyTree[tuple[A, A]]}, ([(f32(2), f32(2)), (f32(2), f32(3))],)),
]


@pytest.mark.parametrize(("name", "annots", "values"), TREE_CASES, ids=[c[0] for c in TREE_CASES])
def test_pytrees_agree_with_jaxtyping(name: str, annots: dict[str, Any],
                                      values: tuple[Any, ...]) -> None:
    assert we_accept(annots, values) == jaxtyping_accepts(annots, values), name


def test_the_tree_cases_tell_both_ways() -> None:
    verdicts = [jaxtyping_accepts(a, v) for _, a, v in TREE_CASES]
    assert any(verdicts) and not all(verdicts)


def _classes(checker: Any) -> list[Any]:
    """The same dataclasses and Modules, decorated by `checker`."""
    @dataclasses.dataclass
    class Pair:
        x: F[Array, "n"]
        y: F[Array, "n m"]

    @dataclasses.dataclass
    class WithDefault:
        x: F[Array, "n"]
        y: F[Array, "n"] = dataclasses.field(default_factory=lambda: f32(3))

    @dataclasses.dataclass
    class Tree:
        params: PyTree[F[Array, "n"], "T"]
        grads: PyTree[F[Array, "n"], "T"]

    class Lin(eqx.Module):
        w: F[Array, "o i"]
        b: F[Array, "o"]

    class Inherit(Lin):
        extra: F[Array, "i"]

    return [checker(c) for c in (Pair, WithDefault, Tree, Lin, Inherit)]


CLASS_CASES: list[tuple[str, int, tuple[Any, ...]]] = [
    ("pair ok", 0, (f32(2), f32(2, 5))),
    ("pair n differs", 0, (f32(2), f32(3, 5))),
    ("pair dtype", 0, (i32(2), f32(2, 5))),
    ("pair rank", 0, (f32(2), f32(2))),
    ("default ok", 1, (f32(3),)),
    ("default factory not checked, ok", 1, (f32(2),)),
    ("tree ok", 2, ({"a": f32(2)}, {"a": f32(2)})),
    ("tree structure", 2, ({"a": f32(2)}, {"b": f32(2)})),
    ("tree dims", 2, ({"a": f32(2)}, {"a": f32(3)})),
    ("module ok", 3, (f32(2, 3), f32(2))),
    ("module bad", 3, (f32(2, 3), f32(3))),
    ("subclass ok", 4, (f32(2, 3), f32(2), f32(3))),
    ("subclass bad", 4, (f32(2, 3), f32(2), f32(2))),
]


@pytest.mark.parametrize(("name", "which", "values"), CLASS_CASES,
                         ids=[c[0] for c in CLASS_CASES])
def test_dataclasses_agree_with_jaxtyping(name: str, which: int, values: tuple[Any, ...]) -> None:
    theirs = _classes(jt.jaxtyped(typechecker=beartype))[which]
    ours = _classes(contract)[which]
    try:
        theirs(*values)
        they_accept = True
    except Exception:
        they_accept = False
    try:
        ours(*values)
        we_do = True
    except ShapeContractError:
        we_do = False
    assert we_do == they_accept, name
    assert (name.endswith("ok")) == we_do, name


def test_a_pytree_inside_a_callable_is_opaque() -> None:
    """As lineax's `FunctionLinearOperator(fn: Callable[[PyTree[...]], PyTree[...]])`: accepted,
    not looked into (jaxtyping does not look into a Callable either)."""
    from collections.abc import Callable

    from shapecontract._hints import opaque_reason

    hint = Callable[[PyTree[F[Array, "..."]]], PyTree[F[Array, "..."]]]
    assert opaque_reason(hint) is not None

    @contract
    def f(fn: hint, x: F[Array, "n"]) -> None:  # type: ignore[valid-type]
        pass

    f(lambda t: t, f32(2))
