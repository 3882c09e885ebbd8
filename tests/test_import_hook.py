"""The import hook: `@contract` on a real package's array-annotated functions, and nothing else."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shapecontract
from shapecontract import ContractSyntaxError, ShapeContractError, install_import_hook

WINDOWS = '''
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from shapecontract import Array, Float


def make_windows(series: Float[Array, "samples features"], timesteps: int
                 ) -> Float[Array, "windows timesteps features"]:
    n = series.shape[0] - timesteps + 1
    return np.stack([series[i:i + timesteps] for i in range(n)])


def plain(n: int) -> int:
    return n + 1


def batches(x: Float[Array, "n f"], size: int) -> Iterator[Float[Array, "b f"]]:
    for i in range(0, len(x), size):
        yield x[i:i + size]


class Scaler:
    def fit(self, x: Float[Array, "n f"]) -> Scaler:
        self.mean = x.mean(axis=0)
        return self

    def name(self) -> str:
        return "scaler"

    @staticmethod
    def center(x: Float[Array, "n f"]) -> Float[Array, "n f"]:
        return x - x.mean(axis=0)

    @classmethod
    def build(cls, x: Float[Array, "n f"]) -> Scaler:
        return cls().fit(x)

    class Inner:
        def step(self, x: Float[Array, "n"]) -> Float[Array, "n"]:
            return x


CAPTURED = (plain, make_windows, Scaler.name)  # references taken while the module runs
'''

JAX_STYLE = '''
import numpy as np
from jaxtyping import Float


def total(x: Float[np.ndarray, "b t"]) -> Float[np.ndarray, "b"]:
    return x.sum(axis=1)


def count(n: int) -> int:
    return n
'''


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Any]:
    """A real temporary package `scpkg_N` on sys.path; sys.modules and meta_path cleaned after.
    (beartype.claw's path hook stays: beartype keeps its own record of having installed it.)"""
    counter = getattr(package, "n", 0) + 1
    package.n = counter  # type: ignore[attr-defined]
    name = f"scpkg_{counter}"

    def make(files: dict[str, str]) -> str:
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        for fname, src in files.items():
            (root / f"{fname}.py").write_text(textwrap.dedent(src))
        return name

    meta_path = list(sys.meta_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield make
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = meta_path
        sys.path_importer_cache.clear()
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


def test_decorates_array_functions_and_methods_only(package: Any) -> None:
    """Functions and methods with array annotations get @contract; the others stay the same object."""
    name = package({"windows": WINDOWS})
    with install_import_hook(name) as hook:
        mod = __import__(f"{name}.windows", fromlist=["x"])
    expected = {f"{name}.windows.{q}" for q in (
        "make_windows", "batches", "Scaler.fit", "Scaler.center", "Scaler.build",
        "Scaler.Inner.step")}
    assert set(hook.hooked) == expected
    assert expected <= set(shapecontract.hooked())
    plain, make_windows, name_method = mod.CAPTURED
    assert mod.plain is plain and vars(mod.Scaler)["name"] is name_method  # the same objects
    assert mod.make_windows is not make_windows and mod.make_windows.__wrapped__ is make_windows
    for fn in (mod.make_windows, mod.Scaler.fit, mod.Scaler.center, mod.Scaler.build,
               mod.Scaler.Inner.step):
        assert hasattr(fn, "__shapecontract__"), fn
    assert hook.modules == [name, f"{name}.windows"]


def test_hooked_functions_check_their_contracts(package: Any) -> None:
    """A hooked function raises ShapeContractError on a bad call, passes a good one, checks yields."""
    name = package({"windows": WINDOWS})
    with install_import_hook(name):
        mod = __import__(f"{name}.windows", fromlist=["x"])
    assert mod.make_windows(np.zeros((30, 3)), 5).shape == (26, 5, 3)
    with pytest.raises(ShapeContractError) as e:
        mod.make_windows(np.zeros(30), 5)
    assert e.value.slot == "argument series"
    with pytest.raises(ShapeContractError):
        mod.Scaler.center(np.zeros(4))
    with pytest.raises(ShapeContractError):
        mod.Scaler().fit(np.zeros((2, 2, 2)))
    assert isinstance(mod.Scaler.build(np.ones((4, 2))), mod.Scaler)
    assert [b.shape for b in mod.batches(np.zeros((5, 2)), 2)] == [(2, 2), (2, 2), (1, 2)]


def test_modules_imported_before_install_are_not_hooked(package: Any) -> None:
    """A hook installed after the import decorates nothing, warns, and says so on its handle."""
    name = package({"windows": WINDOWS})
    mod = __import__(f"{name}.windows", fromlist=["x"])
    with pytest.warns(UserWarning, match="already imported"):
        hook = install_import_hook(name)
    try:
        assert hook.hooked == [] and f"{name}.windows" in hook.already_imported
        assert not hasattr(mod.make_windows, "__shapecontract__")
    finally:
        hook.uninstall()


def test_uninstall_removes_the_finder(package: Any) -> None:
    """After the block, modules imported later are not decorated."""
    name = package({"windows": WINDOWS, "other": WINDOWS})
    with install_import_hook(name):
        __import__(f"{name}.windows")
    other = __import__(f"{name}.other", fromlist=["x"])
    assert not hasattr(other.make_windows, "__shapecontract__")


def test_unresolvable_annotations_are_recorded_not_dropped(package: Any) -> None:
    """An annotation naming something undefined is listed in .skipped with the reason."""
    name = package({"broken": '''
        from __future__ import annotations
        def f(x: Undefined) -> None:
            return None
    '''})
    with install_import_hook(name) as hook:
        __import__(f"{name}.broken")
    assert hook.hooked == []
    assert hook.skipped and hook.skipped[0][0] == f"{name}.broken.f"
    assert "Undefined" in hook.skipped[0][1]


def test_bad_package_name_is_a_clear_error() -> None:
    """install_import_hook('') or a path is a ValueError naming what it expected."""
    with pytest.raises(ValueError, match="package names"):
        install_import_hook("my/pkg")
    with pytest.raises(ValueError, match="package names"):
        install_import_hook([])


@pytest.mark.parametrize("order", ["jaxtyping_first", "shapecontract_first"])
def test_composes_with_jaxtyping_hook(package: Any, order: str) -> None:
    """With jaxtyping's hook installed before or after ours, both act on the module."""
    import jaxtyping

    name = package({"jx": JAX_STYLE})
    if order == "jaxtyping_first":
        jx = jaxtyping.install_import_hook(name, "beartype.beartype")
        ours = install_import_hook(name)
    else:
        ours = install_import_hook(name)
        jx = jaxtyping.install_import_hook(name, "beartype.beartype")
    try:
        import importlib

        mod = importlib.import_module(f"{name}.jx") if order == "jaxtyping_first" else \
            __import__(f"{name}.jx", fromlist=["x"])
    finally:
        jx.uninstall()
        ours.uninstall()
    assert ours.hooked == [f"{name}.jx.total"]
    # ours: the shape contract, raised as ShapeContractError before jaxtyping sees the call
    with pytest.raises(ShapeContractError):
        mod.total(np.zeros(3))
    assert mod.total(np.ones((2, 3))).tolist() == [3.0, 3.0]
    # jaxtyping's: `count` is not ours (no array), yet its `int` is checked by jaxtyping+beartype
    assert not hasattr(mod.count, "__shapecontract__")
    with pytest.raises(jaxtyping.TypeCheckError):
        mod.count("a")


@pytest.mark.parametrize("order", ["beartype_first", "shapecontract_first"])
def test_composes_with_beartype_claw(package: Any, order: str) -> None:
    """With beartype.claw on the package before or after ours, both act on the module."""
    from beartype.claw import beartype_package
    from beartype.roar import BeartypeCallHintParamViolation

    name = package({"bt": JAX_STYLE})
    if order == "beartype_first":
        beartype_package(name)
        ours = install_import_hook(name)
    else:
        ours = install_import_hook(name)
        beartype_package(name)
    try:
        mod = __import__(f"{name}.bt", fromlist=["x"])
    finally:
        ours.uninstall()
    assert ours.hooked == [f"{name}.bt.total"]
    with pytest.raises(ShapeContractError):
        mod.total(np.zeros(3))
    assert not hasattr(mod.count, "__shapecontract__")
    with pytest.raises(BeartypeCallHintParamViolation):
        mod.count("a")


def test_malformed_annotation_raises_at_import(package: Any) -> None:
    """A malformed shapecontract annotation is a ContractSyntaxError when the module runs (the
    subscript `Float[Array, "b, t"]` raises), with or without the hook: not a skip."""
    name = package({"bad": '''
        from shapecontract import Array, Float
        def f(x: Float[Array, "b, t"]) -> None:
            return None
    '''})
    with install_import_hook(name), pytest.raises(ContractSyntaxError, match="not commas"):
        __import__(f"{name}.bad")


def test_mode_off_at_import_is_recorded_as_skipped(package: Any) -> None:
    """With mode off at import, nothing is decorated and each function says why in .skipped."""
    name = package({"windows": WINDOWS})
    with shapecontract.scoped(mode="off"), install_import_hook(name) as hook:
        mod = __import__(f"{name}.windows", fromlist=["x"])
    assert hook.hooked == [] and not hasattr(mod.make_windows, "__shapecontract__")
    assert (f"{name}.windows.make_windows",
            "mode off when imported: @contract returned it unchanged") in hook.skipped


JAX_GEN = '''
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from jaxtyping import Float


def batches(X: Float[np.ndarray, "n f"], size: int) -> Iterator[Float[np.ndarray, "b f"]]:
    for i in range(0, len(X), size):
        yield X[i:i + size]


def split(X: Float[np.ndarray, "n f"], k: int) -> Iterator[Float[np.ndarray, "b f"]]:
    return iter(np.array_split(X, k))
'''


@pytest.mark.parametrize("order", ["jaxtyping_first", "shapecontract_first"])
def test_iterator_returning_functions_under_both_hooks_import_and_check(
        package: Any, order: str) -> None:
    """A generator that jaxtyping's hook wrapped (no longer a generator function) and a plain
    function returning an Iterator of arrays: importing the package raised
    ContractSyntaxError ('arrays inside Iterator are not checked yet'), so the whole test
    collection failed. Now both are hooked and every element is checked."""
    import jaxtyping

    name = package({"gen": JAX_GEN})
    hooks = [lambda: jaxtyping.install_import_hook(name, "beartype.beartype"),
             lambda: install_import_hook(name)]
    installed = [h() for h in (hooks if order == "jaxtyping_first" else hooks[::-1])]
    try:
        mod = __import__(f"{name}.gen", fromlist=["x"])
    finally:
        for h in installed:
            h.uninstall()
    ours = next(h for h in installed if hasattr(h, "hooked"))
    assert sorted(ours.hooked) == [f"{name}.gen.batches", f"{name}.gen.split"]
    X = np.zeros((4, 3), np.float32)
    assert [b.shape for b in mod.batches(X, 2)] == [(2, 3), (2, 3)]
    assert [b.shape for b in mod.split(X, 2)] == [(2, 3), (2, 3)]
    ragged = np.zeros((5, 3), np.float32)
    assert [b.shape for b in mod.split(ragged, 2)] == [(3, 3), (2, 3)]  # b varies: fine
    with pytest.raises(ShapeContractError):
        list(mod.split(np.zeros(4, np.float32), 2))  # rank: caught on the argument


PROPS = '''
import numpy as np
from shapecontract import Array, Float


class Window:
    def __init__(self) -> None:
        self._x = np.zeros(4)

    @property
    def x(self) -> Float[Array, "n 3"]:
        return self._x

    @x.setter
    def x(self, value: Float[Array, "n 3"]) -> None:
        self._x = value

    @property
    def name(self) -> str:
        return "w"
'''


def test_properties_are_hooked_getter_and_setter(package: Any) -> None:
    """A property whose getter or setter carries array annotations was neither hooked nor
    listed as skipped, and went unchecked; now each is decorated and listed."""
    name = package({"props": PROPS})
    with install_import_hook(name) as hook:
        mod = __import__(f"{name}.props", fromlist=["x"])
    assert sorted(hook.hooked) == [f"{name}.props.Window.x", f"{name}.props.Window.x.setter"]
    w = mod.Window()
    with pytest.raises(ShapeContractError):
        w.x  # noqa: B018 -- the getter returns (4,) for (n, 3)
    with pytest.raises(ShapeContractError):
        w.x = np.zeros(5)
    w.x = np.zeros((2, 3))
    assert w.x.shape == (2, 3) and w.name == "w"


# Issue 20: annotations jaxtyping accepts, as equinox, lineax and optimistix write them. Importing
# such a package under the hook raised ContractSyntaxError (part 1 made each a skip); now each
# is checked (unions of arrays and scalars) or accepted as opaque (arrays inside Callable[...],
# a user generic's type arguments), and the function is decorated.
UNCHECKABLE = '''
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray, Scalar, ScalarLike

Y = TypeVar("Y")
Aux = TypeVar("Aux")


class AbstractMinimiser(Generic[Y, Aux]):
    pass


def to_float(x: Float[ArrayLike, ""]) -> Float[ArrayLike, ""]:      # ArrayLike union
    return x


def flag(x: Bool[ArrayLike, ""], y: ScalarLike) -> bool:                # ArrayLike, ScalarLike
    return bool(x)


def minimise(fn: Callable[..., Float[Array, ""]], y0: Float[Array, "n"]) -> Float[Array, "n"]:
    return y0                                                            # arrays inside Callable


def solver(s: AbstractMinimiser[Y, tuple[Scalar, Aux]]) -> None:       # a user generic
    return None


def mask(m: Bool[Array, "q kv"] | Bool[Array, "h q kv"] | None, q: Float[Array, "q"]) -> None:
    return None                                                          # ranks differ


def split(key: PRNGKeyArray) -> None:                                   # key arrays
    return None


def total(x: Float[np.ndarray, "b t"]) -> Float[np.ndarray, "b"]:       # checkable
    return x.sum(axis=1)


class Solver:
    def step(self, y: Float[np.ndarray, "n"]) -> Float[np.ndarray, "n"]:  # checkable
        return y

    def norm(self, fn: Callable[[Float[Array, "n"]], Scalar]) -> None:  # Callable again
        return None
'''

NOW_HOOKED = ["Solver.norm", "Solver.step", "flag", "mask", "minimise", "solver", "split",
              "to_float", "total"]

# Still not checked (a skip, the import goes on): arrays inside a list or a variable-length tuple
STILL_SKIPPED = '''
import numpy as np
from jaxtyping import Float


def stack(xs: list[Float[np.ndarray, "n"]]) -> None:
    return None


def many(xs: tuple[Float[np.ndarray, "n"], ...]) -> None:
    return None


def total(x: Float[np.ndarray, "b t"]) -> Float[np.ndarray, "b"]:
    return x.sum(axis=1)
'''

SKIPPED = ["stack", "many"]


def test_jaxtyping_annotations_are_checked_not_skipped(package: Any) -> None:
    """Issue 20: `Float[ArrayLike, ""]`, `ScalarLike`, `PRNGKeyArray`, a union of arrays of
    different ranks are checked; arrays inside `Callable[...]` and a user generic's type
    arguments are accepted and listed as opaque; every function is decorated, none skipped,
    and a wrong call raises."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    name = package({"solvers": UNCHECKABLE})
    with install_import_hook(name) as hook:
        mod = __import__(f"{name}.solvers", fromlist=["x"])
    assert sorted(hook.hooked) == [f"{name}.solvers.{q}" for q in NOW_HOOKED]
    assert hook.skipped == []
    opaque = dict(hook.opaque)
    assert sorted(opaque) == [f"{name}.solvers.{q}" for q in
                              ("Solver.norm.fn", "minimise.fn", "solver.s")]
    assert "Callable" in opaque[f"{name}.solvers.minimise.fn"]
    assert "AbstractMinimiser" in opaque[f"{name}.solvers.solver.s"]
    assert set(hook.opaque) <= set(shapecontract.hooked(opaque=True))
    # ArrayLike: arrays checked as arrays, Python and numpy scalars as jaxtyping admits them
    assert mod.to_float(1.0) == 1.0 and mod.to_float(np.float32(2)) == 2
    mod.to_float(jnp.float32(1.0))
    for bad in (1, True, np.zeros(2, np.float32), jnp.zeros((), jnp.int32)):
        with pytest.raises(ShapeContractError, match="argument x"):
            mod.to_float(bad)
    assert mod.flag(True, 3) is True and mod.flag(np.bool_(False), 2.5) is False
    with pytest.raises(ShapeContractError, match="argument y"):
        mod.flag(True, np.zeros(2))
    with pytest.raises(ShapeContractError, match="argument x"):
        mod.flag(1.0, 1)
    # a union of arrays of different ranks, sharing dims with the other arguments
    mod.mask(None, jnp.zeros(3))
    mod.mask(jnp.zeros((3, 4), bool), jnp.zeros(3))
    mod.mask(jnp.zeros((2, 3, 4), bool), jnp.zeros(3))
    with pytest.raises(ShapeContractError, match="argument q"):
        mod.mask(jnp.zeros((2, 5, 4), bool), jnp.zeros(3))
    # PRNGKeyArray: new-style keys, old-style uint32 keys of 2 or 4
    mod.split(jax.random.key(0))
    mod.split(jax.random.PRNGKey(0))
    with pytest.raises(ShapeContractError, match="argument key"):
        mod.split(jnp.zeros(3, jnp.uint32))
    # opaque parameters: not looked into; the function's other parameters are checked
    mod.minimise(lambda y: y, jnp.zeros(3))
    with pytest.raises(ShapeContractError, match="argument y0"):
        mod.minimise(lambda y: y, jnp.zeros((3, 1)))
    mod.solver(mod.AbstractMinimiser())
    mod.Solver().norm(lambda y: 0.0)
    with pytest.raises(ShapeContractError):
        mod.total(np.zeros(3))
    with pytest.raises(ShapeContractError):
        mod.Solver().step(np.zeros((2, 2)))
    assert mod.total(np.ones((2, 3))).tolist() == [3.0, 3.0]


def test_uncheckable_annotations_skip_the_function_not_the_import(package: Any) -> None:
    """Annotations shapecontract does not check yet (arrays inside a list, a variable-length
    tuple) skip the function, not the import: the other functions are checked, and each
    skipped function is listed with its reason (the handle, `hooked(skipped=True)`) and warns
    once."""
    name = package({"stacks": STILL_SKIPPED})
    with pytest.warns(shapecontract.ImportHookWarning) as caught, \
            install_import_hook(name) as hook:
        mod = __import__(f"{name}.stacks", fromlist=["x"])
    qual = [f"{name}.stacks.{q}" for q in SKIPPED]
    assert hook.hooked == [f"{name}.stacks.total"]
    reasons = dict(hook.skipped)
    assert sorted(reasons) == sorted(qual)
    assert "arrays inside" in reasons[qual[0]] and "variable-length" in reasons[qual[1]]
    assert all(r.startswith("contract not built: ") for r in reasons.values())
    assert set(hook.skipped) <= set(shapecontract.hooked(skipped=True))
    messages = [str(w.message) for w in caught if w.category is shapecontract.ImportHookWarning]
    assert sorted(m.split(" left unchecked")[0].rsplit(" ", 1)[-1] for m in messages) == sorted(qual)
    assert {Path(w.filename).name for w in caught} == {"stacks.py"}
    assert not hasattr(mod.stack, "__shapecontract__") and mod.stack([np.zeros(2)]) is None
    with pytest.raises(ShapeContractError):
        mod.total(np.zeros(3))


def test_strict_hook_fails_the_import(package: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`strict=True` (or SHAPECONTRACT_HOOK_STRICT=1) turns a skip into the ContractSyntaxError,
    naming the function, and the import fails; `strict=False` wins over the variable."""
    name = package({"stacks": STILL_SKIPPED, "again": STILL_SKIPPED, "third": STILL_SKIPPED})
    with install_import_hook(name, strict=True), \
            pytest.raises(ContractSyntaxError, match="stack: argument xs"):
        __import__(f"{name}.stacks")
    assert f"{name}.stacks" not in sys.modules
    monkeypatch.setenv("SHAPECONTRACT_HOOK_STRICT", "1")
    with install_import_hook(f"{name}.again") as hook, pytest.raises(ContractSyntaxError):
        __import__(f"{name}.again")
    assert hook.strict
    with pytest.warns(shapecontract.ImportHookWarning), \
            install_import_hook(f"{name}.third", strict=False) as hook:
        __import__(f"{name}.third")
    assert not hook.strict and len(hook.skipped) == len(SKIPPED)
    with pytest.raises(TypeError, match="strict="):
        install_import_hook(name, strict="yes")  # type: ignore[arg-type]


def test_warnings_as_errors_do_not_fail_the_import(package: Any) -> None:
    """Test suites run with `filterwarnings = error` (equinox's, optimistix's): the skip
    warning turned into an error would fail every import; it stays a recorded skip."""
    import warnings

    name = package({"stacks": STILL_SKIPPED})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with install_import_hook(name) as hook:
            mod = __import__(f"{name}.stacks", fromlist=["x"])
    assert len(hook.skipped) == len(SKIPPED)
    with pytest.raises(ShapeContractError):
        mod.total(np.zeros(3))


def test_hand_decoration_checks_arraylike() -> None:
    """`@contract` by hand on `Float[ArrayLike, ""]` builds (it raised before issue 20 part 2);
    an annotation it still cannot check raises ContractSyntaxError, as before."""
    pytest.importorskip("jax")
    from jaxtyping import ArrayLike, Float

    from shapecontract import contract

    @contract
    def to_float(x: Float[ArrayLike, ""]) -> None:
        return None

    to_float(1.0)
    with pytest.raises(ShapeContractError):
        to_float("1.0")
    with pytest.raises(ContractSyntaxError, match="arrays inside"):
        @contract
        def stack(xs: list[Float[np.ndarray, "n"]]) -> None:
            return None


def test_any_error_while_building_is_a_skip(package: Any) -> None:
    """Not only ContractSyntaxError: any error while building the contract (here a dim used
    both as a single dim and as a variadic, refused by the Contract) is a skip, with its
    message."""
    name = package({"odd": '''
        import numpy as np
        from shapecontract import Array, Float
        def f(x: Float[Array, "n"], y: Float[Array, "*n"]) -> None:
            return None
        def g(x: Float[np.ndarray, "n"]) -> None:
            return None
    '''})
    with pytest.warns(shapecontract.ImportHookWarning, match="odd.f left unchecked"), \
            install_import_hook(name) as hook:
        __import__(f"{name}.odd")
    assert hook.hooked == [f"{name}.odd.g"]
    assert hook.skipped[0][0] == f"{name}.odd.f" and "single dim and as variadic" in hook.skipped[0][1]
