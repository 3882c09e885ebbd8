"""Spec kinds are handlers in one table (`_spec.SpecKind`), and data is not display text.

Held here: a spec kind registered from outside the package is checked by `@contract` (fast
path and slow path), written to JSON and read back, and printed, with no other change; no
module dispatches on spec classes with `isinstance` outside the table; layer rows hold their
shapes as data; origins are `Origin` values end to end; our error is found inside a
framework's error by identity, not by its text.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shapecontract import Contract, Float, ShapeContractError, contract
from shapecontract._errors import Origin, Violation, recent_error
from shapecontract._evaluate import evaluate
from shapecontract._hints import spec_from_hint
from shapecontract._slot import LayerRow, RowShape, Slot
from shapecontract._spec import (
    ArraySpec,
    SpecKind,
    iter_array_specs,
    kind_of,
    register_kind,
    spec_text,
    unregister_kind,
)

PKG = Path(__file__).resolve().parent.parent / "src" / "shapecontract"


# ------------------------------------------------------------------ a toy kind, from outside
@dataclass(frozen=True)
class ListOf:
    """A list of exactly `n` arrays, each satisfying `item` (their dims shared)."""

    item: ArraySpec
    n: int
    optional: bool = False

    def __str__(self) -> str:
        return f"list[{self.item}] * {self.n}"


class ListOfKind(SpecKind):
    cls, tag = ListOf, "toy_list_of"

    def items(self, spec: ListOf) -> tuple[tuple[Any, Any], ...]:
        return tuple((i, spec.item) for i in range(spec.n))

    def with_items(self, spec: ListOf, items: tuple[Any, ...]) -> ListOf:
        return ListOf(items[0], spec.n, spec.optional)

    def emit(self, spec: ListOf, v: str, gen: Any, pending: list[Any],
             definite: bool) -> list[str]:
        conds = [f"type({v}) is list", f"len({v}) == {int(spec.n)}"]
        for i in range(spec.n):
            iv = gen.var("t")
            conds.append(f"(({iv} := {v}[{i}]) is not None or True)")
            conds += gen.value_conds(spec.item, iv, pending, definite)
        return gen.optional(spec.optional, v, conds)  # type: ignore[no-any-return]

    def check(self, spec: ListOf, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        if type(v) is not list or len(v) != spec.n:
            st.violations.append(Violation(loc, "type", f"expected a list of {spec.n} arrays",
                                           expected=spec.n, actual=type(v)))
            return
        for i, x in enumerate(v):
            ctx.check_value(spec.item, x, (*loc, i), f"{var}[{i}]", st)

    def to_json(self, spec: ListOf, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        return {"type": self.tag, "item": codec.array_to_dict(spec.item), "n": spec.n}

    def from_json(self, r: Any, where: str, codec: Any) -> ListOf:
        item = codec.read_array(codec.reader(r.get("item", dict), f"{where} item"))
        return ListOf(item, r.get("n", int))


@pytest.fixture
def toy_kind() -> Iterator[SpecKind]:
    kind = register_kind(ListOfKind())
    try:
        yield kind
    finally:
        unregister_kind(kind)


def test_a_registered_kind_is_checked_written_and_printed(toy_kind: SpecKind) -> None:
    """One handler registered from a test file: `@contract` checks it on the fast path (the
    generated code has its conditions) and explains a violation on the slow path; the
    contract goes to JSON and back, still checkable; str() prints it."""
    item = spec_from_hint(Float[np.ndarray, "b t"])
    assert isinstance(item, ArraySpec)
    assert kind_of(ListOf(item, 2)) is toy_kind

    @contract
    def f(xs: ListOf(item, 2), y: Float[np.ndarray, "b"]) -> None:  # type: ignore[valid-type]
        return None

    a, b = np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32)
    f([a, b], np.zeros(4, np.float32))
    assert "type(xs) is list" in f.__shapecontract_source__  # the kind's own fast path
    with pytest.raises(ShapeContractError) as info:
        f([a, np.zeros((4, 5), np.float32)], np.zeros(4, np.float32))
    assert (info.value.violations[0].location, info.value.dim) == (("argument", "xs", 1), "t")
    with pytest.raises(ShapeContractError, match="expected a list of 2 arrays"):
        f([a], np.zeros(4, np.float32))
    with pytest.raises(ShapeContractError) as info:
        f([a, b], np.zeros(5, np.float32))  # b bound by the list's items
    assert info.value.slot == "argument y"

    c = f.__shapecontract__
    assert len(list(iter_array_specs(c.slots[0].spec))) == 2
    assert 'xs: list[Float[ndarray, "b t"]] * 2' in str(c)
    assert spec_text(c.slots[0].spec) == 'list[Float[ndarray, "b t"]] * 2'
    text = c.to_json()
    assert '"toy_list_of"' in text
    back = Contract.from_json(text)
    assert [s.spec for s in back.slots] == [s.spec for s in c.slots]
    assert back.to_json() == text
    back.check([a, b], np.zeros(4, np.float32))
    with pytest.raises(ShapeContractError):
        back.check([a, np.zeros((4, 5), np.float32)], np.zeros(4, np.float32))


def test_an_unregistered_kind_is_refused_by_name(toy_kind: SpecKind) -> None:
    """A contract naming a kind nobody registered is refused when read, with the known tags."""
    from shapecontract._errors import ContractSyntaxError

    item = spec_from_hint(Float[np.ndarray, "b"])
    text = Contract("g", (Slot("x", "array", ListOf(item, 1)),)).to_json()
    unregister_kind(toy_kind)
    with pytest.raises(ContractSyntaxError, match=r"unknown spec type 'toy_list_of' \(array, "):
        Contract.from_json(text)


# --------------------------------------------------------- no isinstance dispatch on kinds
SPEC_CLASSES = {"ArraySpec", "OneOf", "TupleSpec", "DictSpec", "ModelSpec"}

PENDING = {"_hints"}
"""Modules owned by other work that still dispatch on spec classes: each is to use `kind_of`
(and leave this set) when converted. `_spec` holds the table itself."""


def spec_isinstance_sites(source: str) -> list[int]:
    """Lines of `isinstance(x, <spec class>)` / `issubclass` (a tuple of classes too)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
            target = node.args[1]
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for n in names:
                name = n.id if isinstance(n, ast.Name) else getattr(n, "attr", None)
                if name in SPEC_CLASSES:
                    lines.append(node.lineno)
                    break
    return lines


def _modules() -> dict[str, str]:
    return {".".join(p.relative_to(PKG).with_suffix("").parts): p.read_text()
            for p in PKG.rglob("*.py")}


def test_no_module_dispatches_on_spec_classes() -> None:
    """Only the table (`_spec`) says `isinstance(spec, OneOf)`: everything else asks
    `kind_of(spec)`. Modules still to convert are listed in PENDING, and only while they do."""
    found = {m: spec_isinstance_sites(src) for m, src in _modules().items()}
    bad = {m: lines for m, lines in found.items() if lines and m not in PENDING | {"_spec"}}
    assert bad == {}
    converted = sorted(m for m in PENDING if not found.get(m))
    assert converted == [], f"converted: remove {converted} from PENDING"


def test_the_dispatch_scan_can_fail() -> None:
    """Meta-test: a chain of isinstance checks on spec classes is found."""
    src = ("def f(spec):\n    if isinstance(spec, (TupleSpec, DictSpec)):\n        pass\n"
           "    return isinstance(spec, _spec.OneOf)\n")
    assert spec_isinstance_sites(src) == [2, 4]


# ------------------------------------------------------------------- data, not display text
def test_layer_rows_hold_shapes_as_data() -> None:
    """A row's shapes are data; its text is derived, and read back to the same data."""
    row = LayerRow("lstm", "LSTM", ("batch", 24, 3), ("batch", 50))
    assert row.in_shape == RowShape(("batch", 24, 3)) and row.out_shape.axes == ("batch", 50)
    assert (row.input, row.output) == ("(batch, 24, 3)", "(batch, 50)")
    for shape in [("batch",), (), None, ("batch", None, 7)]:
        r = RowShape.of(shape)
        assert RowShape.parse(str(r)) == r
    assert str(RowShape(None)) == "?" and str(RowShape(("b",))) == "(b,)"
    assert LayerRow("d", "Dense", "(batch, 3)", "?") == LayerRow("d", "Dense", ("batch", 3), None)


def test_picture_draws_rows_from_data() -> None:
    """The picture of a chain shares a dim named by row data (no text is parsed for it)."""
    from shapecontract.picture import to_svg

    x = spec_from_hint(Float[np.ndarray, "batch 24 3"])
    c = Contract("m", (Slot("x", "array", x),),
                 layers=(LayerRow("lstm", "LSTM", ("batch", 24, 3), ("batch", 50)),
                         LayerRow("dense", "Dense", ("batch", 50), ("batch", 1))))
    svg = to_svg(c)
    assert 'data-shape="(batch, 50)"' in svg
    assert svg.count('shared" data-axis="0" data-dim="batch"') == 3  # one dim through the chain
    assert "_text_cells(r" not in (PKG / "picture.py").read_text()
    assert "_text_cells(row" not in (PKG / "picture.py").read_text()


def test_origins_are_origin_values() -> None:
    """Every binding's origin is an Origin whose source says where it came from."""
    x = spec_from_hint(Float[np.ndarray, "b t"])
    c = Contract("g", (Slot("t", "dim", None, int), Slot("x", "array", x))).pinned({"b": 2})
    st = evaluate(c, [None, 3, np.zeros((2, 3), np.float32)])
    assert all(isinstance(o, Origin) for o in st.origins.values())
    assert {k: o.source for k, o in st.origins.items()} == {"b": "pin", "t": "argument"}
    st = evaluate(Contract("h", (Slot("x", "array", x),)), [np.zeros((2, 3), np.float32)])
    assert (st.origins["b"].source, str(st.origins["b"])) == ("argument", "argument x axis 0")
    assert 'startswith("dims=")' not in (PKG / "pipeline.py").read_text()


def test_stream_origins_keep_their_source() -> None:
    """A generator's dims bound by its arguments reach the element check as Origins."""
    from collections.abc import Iterator as It

    @contract
    def windows(t: int) -> It[Float[np.ndarray, "b t"]]:
        yield np.zeros((2, t), np.float32)
        yield np.zeros((2, t + 1), np.float32)

    it = windows(3)
    next(it)
    with pytest.raises(ShapeContractError) as info:
        next(it)
    origin = info.value.violations[0].origin
    assert isinstance(origin, Origin) and origin.source == "binding"
    assert origin.detail == "argument t=3"


def _error() -> ShapeContractError:
    @contract
    def f(x: Float[np.ndarray, "b 3"]) -> None:
        return None

    try:
        f(np.zeros((2, 4), np.float32))
    except ShapeContractError as e:
        return e
    raise AssertionError("no error")


def test_our_error_is_found_by_identity_not_by_text() -> None:
    """On the exception chain (a framework re-raising while handling ours), by the token a
    carried error writes; an error rebuilt from the same text with neither is itself."""
    err = _error()
    assert recent_error(err) is err
    try:
        try:
            raise err
        except ShapeContractError as e:
            raise RuntimeError("a framework's error") from e
    except RuntimeError as wrapped:
        assert recent_error(wrapped) is err
    rebuilt = ShapeContractError(str(err))  # the same text, nothing else
    assert recent_error(rebuilt) is rebuilt
    assert recent_error(RuntimeError(f"framework: {err}")) is None  # text alone finds nothing
    second = _error()
    carried = second.carry()
    found = recent_error(RuntimeError(f"framework, another thread:\n{carried}"))
    assert found is not None and found.token == second.token and found is not second
    assert found.violations == second.violations
    assert "[shapecontract error" not in str(found)  # the twin's text is the plain one
