"""Pictures of contracts and errors (shapecontract.picture), read back as XML: the right layers
in order with the shapes between them, the violating axis highlighted, the failed relation
written out, every outside string escaped, and the notebook hook returning the same picture."""

from __future__ import annotations

import importlib.util
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shapecontract
from shapecontract import (
    Array,
    Float,
    ShapeContractError,
    Violation,
    contract,
    contract_of,
    guard,
)
from shapecontract.picture import to_html, to_svg

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

warnings.filterwarnings("ignore", module="keras")


# -- reading a picture ----------------------------------------------------------------------
def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return root


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def having(root: ET.Element, *cls: str) -> list[ET.Element]:
    """Elements carrying every class in `cls`, in document order."""
    return [el for el in root.iter() if set(cls) <= classes(el)]


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext())


def cells(row: ET.Element) -> list[str]:
    """The main text of each cell of a shape row (the size or name, not the label under it)."""
    return [next(c.iter(SVG + "text")).text or "" for c in row if "cell" in classes(c)]


def raised(call: Any) -> ShapeContractError:
    with pytest.raises(ShapeContractError) as info:
        call()
    return info.value


# -- models of the seed scenarios -----------------------------------------------------------
def keras_lstm(timesteps: int = 24, features: int = 3, units: int = 50) -> Any:
    import keras
    from keras import layers

    m = keras.Sequential([keras.Input((timesteps, features)), layers.LSTM(units),
                          layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def torch_cnn() -> Any:
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


# -- model contracts --------------------------------------------------------------------------
def test_keras_lstm_draws_its_layers_in_order_with_the_shapes_between_them() -> None:
    """A Keras Sequential LSTM -> Dense: one box per layer, in order, each followed by the shape
    it hands on; the input row names timesteps and features, the shapes carry the units."""
    model = keras_lstm(24, 3, 50)
    root = parse(to_svg(contract_of(model)))
    boxes = having(root, "layer")
    assert [b.get("data-name") for b in boxes] == [layer.name for layer in model.layers]
    assert [b.get("data-kind") for b in boxes] == [type(layer).__name__ for layer in model.layers]
    rows = having(root, "shape")
    assert [r.get("data-step") for r in rows] == [str(k) for k in range(len(model.layers) + 1)]
    assert cells(rows[0]) == ["batch", "24", "3"]
    assert {c.get("data-dim") for c in rows[0]} >= {"batch", "timesteps", "features"}
    assert cells(rows[1]) == ["batch", str(model.layers[0].units)]
    assert cells(rows[2]) == ["batch", str(model.layers[1].units)]
    # document order: shape 0, box 0, shape 1, box 1, shape 2
    order = [el for el in root.iter() if classes(el) & {"layer", "shape"}]
    kinds = ["layer" if "layer" in classes(el) else "shape" for el in order]
    assert kinds == ["shape", "layer", "shape", "layer", "shape"]
    # batch is one dim through the whole chain: drawn shared, in one colour
    batch = [c for r in rows for c in r if c.get("data-dim") == "batch"]
    assert len(batch) == 3 and all("shared" in classes(c) for c in batch)
    assert len({c.find(SVG + "rect").get("fill") for c in batch}) == 1  # type: ignore[union-attr]


def test_torch_cnn_draws_every_module_with_the_shapes_torch_computes() -> None:
    """A torch CNN (with input_shape): the leaf modules in order, and between them the shapes a
    real forward pass gives (batch axis by name)."""
    import torch

    cnn = torch_cnn()
    real: list[tuple[int, ...]] = []
    hooks = [m.register_forward_hook(lambda _m, _a, out: real.append(tuple(out.shape)))
             for m in cnn]
    cnn(torch.zeros(2, 1, 28, 28))
    for h in hooks:
        h.remove()
    root = parse(to_svg(contract_of(cnn, input_shape=(None, 1, 28, 28))))
    boxes = having(root, "layer")
    assert [b.get("data-name") for b in boxes] == [n for n, _ in cnn.named_children()]
    assert [b.get("data-kind") for b in boxes] == [type(m).__name__ for m in cnn]
    rows = having(root, "shape")
    assert cells(rows[0]) == ["batch", "1", "28", "28"]
    assert len(rows) == len(real) + 1
    for row, shape in zip(rows[1:], real):
        assert cells(row) == ["batch", *map(str, shape[1:])]


def test_keras_graph_draws_each_layer_with_its_output() -> None:
    """A functional model with two inputs (not one chain): a box per layer (no input layers),
    each beside the output shape Keras gives it."""
    import keras
    from keras import layers

    a, b = keras.Input((10,), name="a"), keras.Input((5,), name="b")
    joined = layers.Concatenate(name="cat")([layers.Dense(4, name="da")(a),
                                             layers.Dense(3, name="db")(b)])
    model = keras.Model([a, b], layers.Dense(1, name="out")(joined), name="two_in")
    root = parse(to_svg(contract_of(model)))
    drawn = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert [b.get("data-name") for b in having(root, "layer")] == [x.name for x in drawn]
    outputs = {r.get("data-layer"): cells(r) for r in having(root, "shape")
               if r.get("data-role") == "output"}
    assert outputs == {x.name: ["batch", *map(str, x.output.shape[1:])] for x in drawn}


def test_a_model_is_drawn_as_its_contract() -> None:
    """to_svg(model) is the picture of contract_of(model); what is not a model is a TypeError."""
    model = keras_lstm()
    assert to_svg(model) == to_svg(contract_of(model))
    with pytest.raises(TypeError, match="Contract, a ShapeContractError or a model"):
        to_svg(42)


# -- function contracts -----------------------------------------------------------------------
def test_function_contract_shows_slots_and_shared_dims() -> None:
    """A function's slots in order; a dim in two slots (and the int that binds one) is drawn
    shared, in one colour (joined by a link between adjacent rows); a dim in one slot is not."""
    @contract
    def f(x: Float[Array, "batch steps feat"], w: Float[Array, "feat units"], steps: int
          ) -> Float[Array, "batch units"]:
        return x[:, 0] @ w

    root = parse(to_svg(contract_of(f)))
    rows = [r for r in having(root, "slot")]
    assert [r.get("data-slot") for r in rows] == ["x", "w", "steps", "return"]
    assert cells(rows[0]) == ["batch", "steps", "feat"]

    def dim_cells(name: str) -> list[ET.Element]:
        return [c for r in rows for c in r if c.get("data-dim") == name]

    for name, count in (("batch", 2), ("feat", 2), ("units", 2), ("steps", 2)):
        found = dim_cells(name)
        assert len(found) == count, name
        assert all("shared" in classes(c) for c in found), name
        assert len({c.find(SVG + "rect").get("fill") for c in found}) == 1  # type: ignore[union-attr]
    # rows next to each other are joined by a link too (x and w share feat)
    assert [p.get("data-dim") for p in having(root, "link")] == ["feat"]
    fills = {dim_cells(n)[0].find(SVG + "rect").get("fill")  # type: ignore[union-attr]
             for n in ("batch", "feat", "units", "steps")}
    assert len(fills) == 4

    @contract
    def g(x: Float[Array, "batch alone"], y: Float[Array, "batch"]) -> None:
        return None

    alone = [c for c in parse(to_svg(contract_of(g))).iter() if c.get("data-dim") == "alone"]
    assert len(alone) == 1 and "shared" not in classes(alone[0])


# -- errors -----------------------------------------------------------------------------------
def test_seed_error_highlights_the_features_axis() -> None:
    """Seed 000 (1 feature into Input((24, 3)), a guarded fit): the expected and the actual
    cell of axis 2 (`features`) are highlighted, and nothing else."""
    rng = np.random.default_rng(0)
    model = guard(keras_lstm(24, 3))
    err = raised(lambda: model.fit(rng.random((100, 24, 1)), rng.random((100, 1)), verbose=0))
    root = parse(to_svg(err))
    hot = having(root, "cell", "violation")
    assert len(hot) == 2
    assert {c.get("data-axis") for c in hot} == {str(err.axis)} == {"2"}
    assert {c.get("data-dim") for c in hot} - {None} == {err.dim} == {"features"}
    expected_row, actual_row = having(root, "shape", "expected"), having(root, "shape", "actual")
    assert hot[0] in list(expected_row[0]) and hot[1] in list(actual_row[0])
    assert cells(expected_row[0])[2] == str(err.expected) and cells(actual_row[0])[2] == str(err.actual)
    assert cells(actual_row[0]) == ["100", "24", "1"]
    assert "expected 3, got 1" in text_of(having(root, "message")[0])
    fixes = " ".join(text_of(f) for f in having(root, "fix"))
    assert str(err.suggestions[0]).split(";")[0] in fixes


def test_each_violation_gets_its_own_highlighted_axis() -> None:
    """Two violations (time and features swapped): two blocks, each highlighting its own axis."""
    @contract
    def make_windows(series: Float[Array, "samples features"], timesteps: int
                     ) -> Float[Array, "windows timesteps features"]:
        n = series.shape[0] - timesteps + 1
        return np.stack([series.T[:, i:i + timesteps] for i in range(n)])

    err = raised(lambda: make_windows(np.zeros((30, 3)), 5))
    blocks = having(parse(to_svg(err)), "violation-block")
    assert len(blocks) == len(err.violations) == 2
    for block, v in zip(blocks, err.errors()):
        hot = having(block, "cell", "violation")
        assert {c.get("data-axis") for c in hot} == {str(v["axis"])}
        assert {c.get("data-dim") for c in hot} - {None} == {v["dim"]}


def test_a_missing_axis_highlights_the_whole_shape() -> None:
    """A rank violation has no one axis: the expected and actual rows are marked instead."""
    @contract
    def f(x: Float[Array, "batch timesteps=24 features=1"]) -> None:
        return None

    err = raised(lambda: f(np.zeros((100, 24))))
    root = parse(to_svg(err))
    assert having(root, "cell", "violation") == []
    marked = having(root, "shape", "violation")
    assert [("expected" in classes(r), len(cells(r))) for r in marked] == [(True, 3), (False, 2)]


def test_a_variadic_dim_stands_for_the_axes_it_matched() -> None:
    """`*batch 3` fed (2, 5, 4): the actual axis 2 is highlighted, and in the contract the
    cell after `*batch` (the `3`), not the one at index 2."""
    @contract
    def f(x: Float[Array, "*batch 3"]) -> None:
        return None

    err = raised(lambda: f(np.zeros((2, 5, 4))))
    root = parse(to_svg(err))
    expected, actual = having(root, "shape", "expected")[0], having(root, "shape", "actual")[0]
    assert cells(expected) == ["*batch", "3"] and cells(actual) == ["2", "5", "4"]
    hot_expected = [c.get("data-axis") for c in expected if "violation" in classes(c)]
    hot_actual = [c.get("data-axis") for c in actual if "violation" in classes(c)]
    assert hot_expected == ["1"] and hot_actual == [str(err.axis)] == ["2"]
    assert "= (2, 5)" in text_of(expected)


def test_torch_cnn_other_image_size_writes_the_failed_relation() -> None:
    """A CNN built for 28 x 28 fed 32 x 32: the Flatten -> Linear relation that failed is
    written out, naming the Linear, its in_features and what the layers before it give."""
    import torch

    cnn = torch_cnn()
    guard(cnn)
    err = raised(lambda: cnn(torch.zeros(4, 1, 32, 32)))
    root = parse(to_svg(err))
    relation = having(root, "relation")
    assert len(relation) == 1
    text = text_of(relation[0])
    linear = cnn[-1]
    assert f"in_features={linear.in_features}" in text
    assert str(cnn[:-1](torch.zeros(1, 1, 32, 32)).shape[-1]) in text  # what Flatten gives
    assert relation[0].get("data-layer") == f"Linear '{len(cnn) - 1}'"
    assert "relation failed" in text


# -- escaping ---------------------------------------------------------------------------------
def test_names_and_messages_are_escaped() -> None:
    """<, &, quotes and control characters in names, dims and messages come back as the same
    text; no element is injected."""
    nasty = "a<b>&\"c\"'d'</text><script>x</script>"
    v = Violation(("argument", nasty), "dim", message=nasty + "\x1b[31m", axis=0, dim=nasty,
                  expected=3, actual=1, shape=(1,), contract=f"({nasty},)")
    err = ShapeContractError([v], function=nasty, bindings={nasty: 1}, notes=[nasty])
    for svg in (to_svg(err), to_svg(contract_of(keras_lstm()).replace(name=nasty))):
        root = parse(svg)
        assert not [el for el in root.iter() if el.tag.endswith("script")]
        assert {el.tag for el in root.iter()} <= {SVG + t for t in (
            "svg", "title", "style", "rect", "text", "tspan", "g", "line", "polygon", "path")}
        assert nasty in text_of(root.find(SVG + "title"))  # type: ignore[arg-type]
        assert any(nasty in text_of(t) for t in root.iter(SVG + "text"))
    hot = having(parse(to_svg(err)), "cell", "violation")
    assert {c.get("data-dim") for c in hot} - {None} == {nasty}
    html = to_html(err)
    assert "<script>" not in html and html.count("<pre") == 1
    ET.fromstring(html)  # the HTML fragment is well-formed too


def test_an_error_rebuilt_from_text_keeps_its_lines() -> None:
    """An error known only by its text (re-raised from a DataLoader worker) is drawn line by
    line, each line of the text one line of the picture, indented as in the text."""
    text = "load: 1 contract violation\n  argument x, axis 1 (features)\n    expected 3, got 1"
    root = parse(to_svg(ShapeContractError(text)))
    (message,) = having(root, "message")
    spans = list(message.iter(SVG + "tspan"))
    assert [t.text for t in spans] == [ln.strip() for ln in text.split("\n")]
    xs = [float(t.get("x", "0")) for t in spans]
    assert xs[0] < xs[1] < xs[2]  # the text's indentation survives as an offset


# -- notebooks --------------------------------------------------------------------------------
def test_repr_html_is_to_html() -> None:
    """Contracts (of models and functions) and errors answer _repr_html_ with to_html."""
    @contract
    def f(x: Float[Array, "batch features"]) -> Float[Array, "batch features"]:
        return x

    err = raised(lambda: f(np.zeros(3)))
    for obj in (contract_of(f), contract_of(keras_lstm()), err):
        html = obj._repr_html_()
        assert html == to_html(obj)
        assert html.startswith('<div class="shapecontract-picture"><svg')
    assert shapecontract.picture.to_svg is to_svg


# -- docs -------------------------------------------------------------------------------------
def test_docs_pictures_are_what_the_script_draws() -> None:
    """docs/img/*.svg are the current output of examples/pictures.py (run it to update them)."""
    spec = importlib.util.spec_from_file_location("pictures", ROOT / "examples" / "pictures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.pictures()
    assert len(drawn) >= 5
    for name, svg in drawn.items():
        path = ROOT / "docs" / "img" / name
        assert path.read_text(encoding="utf-8") == svg, f"run: python examples/pictures.py ({name})"
        parse(svg)
    page = (ROOT / "docs" / "pictures.md").read_text()
    assert all(f"img/{name}" in page for name in drawn)
