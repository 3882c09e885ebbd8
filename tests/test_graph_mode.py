"""Graph mode: tf.function and torch.compile check known dims at trace time, skip unknown ones."""

from __future__ import annotations

import pytest

from shapecontract import Array, Float, ShapeContractError, contract


@contract
def scale(x: Float[Array, "batch timesteps features"], w: Float[Array, "features"]) -> Float[Array, "batch timesteps features"]:
    return x * w


def test_tf_function_unknown_batch_is_skipped_known_dims_checked() -> None:
    """With input_signature (None, 24, 3), batch is unknown and skipped; features is checked."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 24, 3], tf.float32),
                                  tf.TensorSpec([3], tf.float32)])
    def step(x, w):  # type: ignore[no-untyped-def]
        return scale(x, w)

    out = step(tf.zeros((5, 24, 3)), tf.ones(3))
    assert tuple(out.shape) == (5, 24, 3)

    @tf.function(input_signature=[tf.TensorSpec([None, 24, 3], tf.float32),
                                  tf.TensorSpec([4], tf.float32)])
    def bad(x, w):  # type: ignore[no-untyped-def]
        return scale(x, w)

    with pytest.raises(ShapeContractError) as info:
        bad.get_concrete_function()  # fails at trace time, before any data
    assert info.value.slot == "argument w" and info.value.expected == 3


def test_tf_function_unknown_rank_never_fails() -> None:
    """A tensor of unknown rank cannot be checked at trace time and is let through."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32), tf.TensorSpec(None, tf.float32)])
    def step(x, w):  # type: ignore[no-untyped-def]
        return scale(x, w)

    step.get_concrete_function()


def test_tf_function_trace_time_check_on_concrete_shapes() -> None:
    """Without a signature, tf.function traces with concrete shapes and the check fires."""
    import tensorflow as tf

    @tf.function
    def step(x, w):  # type: ignore[no-untyped-def]
        return scale(x, w)

    step(tf.zeros((2, 4, 3)), tf.ones(3))
    with pytest.raises(ShapeContractError):
        step(tf.zeros((2, 4, 3)), tf.ones(2))


def test_torch_compile_checks_and_has_no_graph_break() -> None:
    """Under torch.compile the check runs, and _dynamo.explain reports no graph break."""
    import torch
    import torch._dynamo

    def model(x, w):  # type: ignore[no-untyped-def]
        return scale(x, w).sum()

    x, w = torch.zeros(2, 4, 3), torch.ones(3)
    scale(x, w)  # eager call first, as in a typical script
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(x, w)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1

    torch._dynamo.reset()
    compiled = torch.compile(model, backend="eager")
    assert float(compiled(x, w)) == 0.0
    with pytest.raises(ShapeContractError):
        compiled(x, torch.ones(2))


def test_torch_compile_cold_has_no_graph_break() -> None:
    """Even when the first ever call happens under compile, no graph break is introduced."""
    import torch
    import torch._dynamo

    @contract
    def f(a: Float[torch.Tensor, "n k"], b: Float[torch.Tensor, "k m"]) -> Float[torch.Tensor, "n m"]:
        return a @ b

    def model(a, b):  # type: ignore[no-untyped-def]
        return f(a, b).relu()

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(torch.zeros(2, 3), torch.zeros(3, 4))
    assert explanation.graph_break_count == 0, explanation.break_reasons


def test_torch_compile_dynamic_shapes() -> None:
    """With dynamic=True, symbolic sizes are not failed; a fixed mismatch still is."""
    import torch
    import torch._dynamo

    torch._dynamo.reset()
    compiled = torch.compile(lambda x, w: scale(x, w), backend="eager", dynamic=True)
    for b in (2, 3, 5):
        assert tuple(compiled(torch.zeros(b, 4, 3), torch.ones(3)).shape) == (b, 4, 3)
    with pytest.raises(ShapeContractError):
        compiled(torch.zeros(2, 4, 3), torch.ones(5))


def test_tf_function_unknown_dims_are_checked_when_the_graph_runs() -> None:
    """Issue 11 item 8: with an input_signature of unknown dims (and reduce_retracing), a batch
    mismatch between two arguments passed silently. The trace now adds a run-time check: good
    calls of any batch size pass, a mismatch fails the run with our error inside TF's."""
    import tensorflow as tf

    from shapecontract import config

    @contract
    def pooled(x: Float[Array, "b t"], y: Float[Array, "b"]) -> Float[Array, "b"]:
        return tf.reduce_sum(x, axis=1) * 2.0  # never combines x with y: TF would not complain

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None])],
                 reduce_retracing=True)
    def step(x, y):  # type: ignore[no-untyped-def]
        return pooled(x, y)

    assert tuple(step(tf.zeros((2, 3)), tf.zeros(2)).shape) == (2,)
    assert tuple(step(tf.zeros((7, 3)), tf.zeros(7)).shape) == (7,)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        step(tf.zeros((2, 3)), tf.zeros(5))
    text = str(info.value)
    assert "ShapeContractError: pooled: 1 contract violation" in text and "expected 2, got 5" in text
    config(mode="off")  # read when the graph runs, in TF's threads: the process-wide mode
    try:
        assert tuple(step(tf.zeros((2, 3)), tf.zeros(5)).shape) == (2,)
    finally:
        config(mode=None)


def test_tf_function_with_xla_compiles_and_checks_what_it_can() -> None:
    """jit_compile=True (XLA): known sizes are checked at trace time; sizes unknown then are
    not checked when the graph runs (XLA has no Python ops and no run-time errors): the
    function still compiles and runs, it does not fail on our account."""
    import tensorflow as tf

    @contract
    def pooled(x: Float[Array, "b t"], y: Float[Array, "b"]) -> Float[Array, "b"]:
        return tf.reduce_sum(x, axis=1) * 2.0

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None])],
                 jit_compile=True)
    def step(x, y):  # type: ignore[no-untyped-def]
        return pooled(x, y)

    assert tuple(step(tf.zeros((2, 3)), tf.zeros(2)).shape) == (2,)
    assert tuple(step(tf.zeros((2, 3)), tf.zeros(5)).shape) == (2,)  # the documented limit

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None, 2])],
                 jit_compile=True)
    def bad(x, y):  # type: ignore[no-untyped-def]
        return pooled(x, y)

    with pytest.raises(ShapeContractError):
        bad.get_concrete_function()  # y has 2 axes: known at trace time, refused
