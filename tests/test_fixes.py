"""Fix operations (`shapecontract.fixes`): a fix is data, applied to real arrays of every
framework, and its code, written in the value's framework, does the same thing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shapecontract import Array, Float, ShapeContractError, contract
from shapecontract.backends import backend_of
from shapecontract.fixes import (
    Argmax,
    Cast,
    DropAxis,
    InsertAxis,
    OneHot,
    Op,
    PadSequences,
    Permute,
    Repeat,
    Reshape,
    SetSetting,
    Stack,
    Then,
)

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

CASES: list[tuple[Op, Any, tuple[int, ...]]] = [
    (InsertAxis(-1), X, (2, 3, 4, 1)),
    (InsertAxis(0), X, (1, 2, 3, 4)),
    (InsertAxis(1), X, (2, 1, 3, 4)),
    (DropAxis(1), X[:, :1], (2, 4)),
    (Permute((0, 2, 1)), X, (2, 4, 3)),
    (Permute((2, 0, 1)), X, (4, 2, 3)),
    (Reshape((-1, 12)), X, (2, 12)),
    (Cast("int64"), X, (2, 3, 4)),
    (Argmax(-1), X, (2, 3)),
    (Repeat(1, 3), X[:, :1], (2, 3, 4)),
    (Then(InsertAxis(-1, 4), Repeat(-1, 3)), X, (2, 3, 4, 3)),
    (Then(InsertAxis(1, 4), Repeat(1, 3)), X, (2, 3, 3, 4)),
]


def _frameworks() -> list[tuple[str, Any, Any]]:
    """(name, to-array, the namespace its code runs in)."""
    import tensorflow as tf
    import torch

    return [
        ("numpy", lambda a: a, {"np": np}),
        ("torch", torch.from_numpy, {"torch": torch}),
        ("tensorflow", tf.constant, {"tf": tf}),
    ]


def _a(v: Any) -> np.ndarray:
    return v.numpy() if hasattr(v, "numpy") else np.asarray(v)


@pytest.mark.parametrize("op, value, shape", CASES, ids=[repr(c[0]) for c in CASES])
def test_an_operation_applies_and_its_code_does_the_same(op: Op, value: Any,
                                                         shape: tuple[int, ...]) -> None:
    """In numpy, torch and TensorFlow: apply() gives the expected shape, keeps the input
    untouched, and the code written for that framework computes the same values."""
    for name, to, namespace in _frameworks():
        x = to(value.copy())
        before = _a(x).copy()
        out = op.apply(x)
        assert tuple(out.shape) == shape, (name, op)
        assert backend_of(out) is backend_of(x), name  # stays in the user's framework
        assert np.array_equal(_a(x), before), name  # never modifies the value
        pasted = eval(op.code("x", backend_of(x)), namespace, {"x": x})
        assert np.array_equal(_a(pasted), _a(out)), (name, op.code("x", backend_of(x)))


def test_permute_keeps_the_meaning_of_every_axis() -> None:
    """NHWC -> NCHW moves whole axes: each element lands where its channel, row and column say."""
    nhwc = np.random.default_rng(0).normal(size=(2, 5, 6, 3)).astype(np.float32)
    nchw = Permute((0, 3, 1, 2)).apply(nhwc)
    assert nchw[1, 2, 4, 5] == nhwc[1, 4, 5, 2]


def test_one_hot_pad_and_stack() -> None:
    import torch

    labels = np.array([0, 2, 1])
    assert OneHot(3).apply(labels).tolist() == np.eye(3)[[0, 2, 1]].tolist()
    assert OneHot(3).apply(torch.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    padded = PadSequences(4).apply([[1, 2], [3, 4, 5, 6, 7]])
    assert padded.tolist() == [[1, 2, 0, 0], [3, 4, 5, 6]]
    assert PadSequences().apply([[1], [2, 3]]).shape == (2, 2)
    assert Stack().apply([X[0], X[1]]).shape == (2, 3, 4)
    assert tuple(Stack().apply([torch.zeros(3), torch.ones(3)]).shape) == (2, 3)


def test_a_value_of_no_framework_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="not an array of a supported framework"):
        Permute((1, 0)).apply([[1, 2]])


def test_a_model_edit_is_data_written_as_a_constructor_argument() -> None:
    edit = SetSetting("LSTM 'lstm'", "LSTM", "return_sequences", True)
    assert edit.code() == "LSTM(..., return_sequences=True)"
    with pytest.raises(TypeError, match="does not apply to a value"):
        edit.apply(X)


@contract
def _windows(x: Float[Array, "batch 24 3"]) -> None:
    return None


@pytest.mark.parametrize("bad", [
    np.zeros((8, 3, 24), np.float32),  # axes swapped: a permutation
    np.zeros((8, 24), np.float32).reshape(8, 24)[..., None].repeat(3, -1)[..., :3][:, :, :1]
    .squeeze(-1),  # a missing last axis would not fit (3 features): no insert
    np.zeros((8, 72), np.float32),  # flat: a reshape keeps the count
    np.zeros((8, 24, 3), np.int64),  # the dtype: a cast
])
def test_every_fix_of_a_violation_applies_and_the_contract_then_holds(bad: np.ndarray) -> None:
    """A fix with an operation, applied to the failing value, makes the contract hold."""
    with pytest.raises(ShapeContractError) as info:
        _windows(bad)
    applied = [f for v in info.value.violations for f in v.suggestions if f.op is not None]
    if bad.shape == (8, 24):
        assert applied == []  # nothing valid to offer
        return
    assert applied, info.value
    for fix in applied:
        _windows(fix.op.apply(bad))


def test_a_reshape_fix_for_a_tensorflow_tensor_is_tensorflow_code() -> None:
    """A tf.Tensor has no .reshape method: the fix is written tf.reshape(...), and pasted, it
    makes the contract hold (before: `x.reshape(-1, 24, 3)`, an AttributeError when pasted)."""
    import tensorflow as tf

    x = tf.zeros((8, 72))
    with pytest.raises(ShapeContractError) as info:
        _windows(x)
    (fix,) = [f for v in info.value.violations for f in v.suggestions if f.kind == "reshape"]
    assert fix.code == "tf.reshape(x, [-1, 24, 3])"
    _windows(eval(fix.code, {"tf": tf}, {"x": x}))
    _windows(fix.op.apply(x))


def test_a_fix_rule_registered_from_outside_the_package_is_asked_first() -> None:
    """The rule table is open: a rule added from a test file (one-hot rows where class
    indices are wanted: argmax) is asked before the built-in rules, its operation applied makes
    the contract hold, and after `remove_rule` the built-in table answers again (without it)."""
    from shapecontract import Int
    from shapecontract._errors import Fix
    from shapecontract.fixes.rules import Problem, register_rule, remove_rule

    def class_indices(p: Problem) -> Fix | None:
        if (p.violation.kind == "rank" and len(p.shape) == len(p.sizes) + 1
                and p.dtype is not None and p.dtype.startswith("float")):
            op = Argmax(-1)
            return Fix(f"take the class of each row: {op.code(p.var, p.backend)}", "convert",
                       op.code(p.var, p.backend), op)
        return None

    @contract
    def train(y: Int[Array, "batch"]) -> None:
        return None

    one_hot = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]

    def ops_offered() -> list[Any]:
        with pytest.raises(ShapeContractError) as info:
            train(one_hot)
        return [f.op for v in info.value.violations for f in v.suggestions
                if f.op is not None and not isinstance(f.op, Cast)]  # the dtype's own fix

    assert Argmax(-1) not in ops_offered()
    register_rule(class_indices)
    try:
        first = ops_offered()[0]
        assert first == Argmax(-1)
        train(first.apply(one_hot))
    finally:
        remove_rule(class_indices)
    assert Argmax(-1) not in ops_offered()


def test_integer_labels_for_a_one_hot_slot_are_one_hot_encoded() -> None:
    """The built-in rule: labels (n,) or (n, 1) where (n, classes) floats are wanted; the op,
    applied, makes the contract hold, and its numpy code computes the same."""
    @contract
    def train(y: Float[Array, "batch 3"]) -> None:
        return None

    for labels in (np.array([0, 2, 1, 1]), np.array([[0], [2], [1], [1]])):
        with pytest.raises(ShapeContractError) as info:
            train(labels)
        fix = next(f for v in info.value.violations for f in v.suggestions
                   if isinstance(f.op, OneHot))
        train(fix.op.apply(labels))
        pasted = eval(fix.code, {"np": np}, {"y": labels})
        assert np.array_equal(pasted, fix.op.apply(labels))


def test_gray_images_for_an_rgb_contract_get_the_axis_added_and_repeated() -> None:
    """https://stackoverflow.com/q/51995977 shape: gray images (n, 32, 32) into a model that
    takes RGB (n, 32, 32, 3). The fix adds the channel axis and repeats it; never a reshape to
    (-1, 32, 32, 3), which keeps the element count by mixing three images into one."""
    from shapecontract import ShapeContractError, contract

    @contract
    def model(x: Float[Array, "batch 32 32 channels=3"]) -> None: ...

    gray = np.random.default_rng(0).random((6, 32, 32)).astype(np.float32)
    with pytest.raises(ShapeContractError) as info:
        model(gray)
    fixes = [f for v in info.value.violations for f in v.suggestions]
    assert fixes and isinstance(fixes[0].op, Then), str(info.value)
    assert not any(isinstance(f.op, Reshape) for f in fixes)
    rgb = eval(fixes[0].code, {"np": np, "x": gray})  # the code, pasted
    assert rgb.shape == (6, 32, 32, 3) and np.array_equal(rgb[..., 2], gray)
    model(rgb)
