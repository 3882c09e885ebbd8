"""A contract as graph compilers' input declarations (issue 11, part): `to_torch_export()` gives
`torch.export` dynamic shapes with one Dim per dim name; `to_tf_signature()` a tf.function
input_signature."""

from __future__ import annotations

from typing import Any

import pytest

from shapecontract import Array, Float, ShapeContractError, contract, contract_of


@contract
def pair(x: Float[Array, "batch t 3"], y: Float[Array, "batch"]) -> None:
    pass


def test_torch_export_dims_are_shared_by_name() -> None:
    """Exported with the contract's dims, the program takes any batch and length, and its own
    guards refuse a batch that differs between x and y (the same Dim for both)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    class M(nn.Module):
        def forward(self, x: Any, y: Any) -> Any:
            return x.sum((1, 2)) + y

    shapes = contract_of(pair).to_torch_export()
    assert set(shapes) == {"x", "y"} and shapes["x"][0] is shapes["y"][0]
    assert 2 not in shapes["x"]  # the fixed 3 stays static
    ep = torch.export.export(M(), (torch.zeros(4, 5, 3), torch.zeros(4)), dynamic_shapes=shapes)
    assert tuple(ep.module()(torch.zeros(7, 6, 3), torch.zeros(7)).shape) == (7,)
    with pytest.raises(AssertionError, match="Guard failed"):
        ep.module()(torch.zeros(7, 6, 3), torch.zeros(8))
    pinned = contract_of(pair).to_torch_export(dims={"t": 5})
    assert list(pinned["x"]) == [0]


def test_model_contracts_export_too() -> None:
    """contract_of(nn.LSTM(batch_first=True)): batch and timesteps dynamic, features static."""
    torch = pytest.importorskip("torch")
    from shapecontract import contract_of

    lstm = torch.nn.LSTM(3, 8, batch_first=True)
    shapes = contract_of(lstm).to_torch_export()
    assert {axis: str(d) for axis, d in shapes["input"].items()} == {0: "Dim('batch')", 1: "Dim('timesteps')"}


def test_tf_signature_from_a_contract() -> None:
    """to_tf_signature(): fixed sizes known, named ones None; the traced function's known dims
    are checked at trace time and its unknown ones when the graph runs."""
    tf = pytest.importorskip("tensorflow")
    sig = contract_of(pair).to_tf_signature()
    assert [tuple(s.shape.as_list()) for s in sig] == [(None, None, 3), (None,)]
    assert [s.name for s in sig] == ["x", "y"] and sig[0].dtype == tf.float32
    step = tf.function(lambda x, y: pair(x, y) or tf.constant(0), input_signature=sig)
    step(tf.zeros((2, 4, 3)), tf.zeros(2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected 2, got 5"):
        step(tf.zeros((2, 4, 3)), tf.zeros(5))
    with pytest.raises(ShapeContractError):
        pair(tf.zeros((2, 4, 2)), tf.zeros(2))  # eager: ours, directly
