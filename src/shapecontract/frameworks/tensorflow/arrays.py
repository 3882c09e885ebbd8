"""TensorFlow tensors as arrays (layer L6): their shapes (TF's own TensorShape, unknown sizes as
None), fixes in TF's idiom, and checks deferred into a traced `tf.function` graph. Registered
with `backends` when this package is imported."""

from __future__ import annotations

import sys
import weakref
from typing import Any

from ..._errors import as_worker, current_worker
from ...backends import Backend, register_backend

__all__ = ["TensorFlowBackend"]


class TensorFlowBackend(Backend):
    name = module = "tensorflow"
    own_shape = True
    graph_types = ("SymbolicTensor",)
    json_names = (("tensorflow", "tensorflow", "Tensor", "Tensor"),
                  ("tensorflow.Variable", "tensorflow", "Variable", "Variable"))
    internal = ("tensorflow",)

    def array_types(self) -> tuple[type, ...]:
        tf = sys.modules["tensorflow"]
        # a ragged or sparse tensor is an array whose ragged sizes are unknown (None): they
        # never fail; its other sizes, rank and dtype are checked like a dense tensor's
        return (tf.Tensor, tf.Variable, tf.RaggedTensor, tf.SparseTensor)

    def shape(self, x: Any) -> tuple[int | None, ...] | None:
        shape = x.shape
        if shape.rank is None:
            return None
        return tuple(s if type(s) is int else None for s in shape)

    def expand(self, var: str, axis: int) -> str:
        return f"tf.expand_dims({var}, {axis})"

    def squeeze(self, var: str, axis: int) -> str:
        return f"tf.squeeze({var}, axis={axis})"

    def permute(self, var: str, perm: tuple[int, ...]) -> str:
        return f"tf.transpose({var}, {list(perm)})"

    def cast(self, var: str, dtype: str) -> str:
        return f"tf.cast({var}, tf.{dtype})"

    def reshape(self, var: str, shape: tuple[int, ...]) -> str:
        return f"tf.reshape({var}, {list(shape)})"

    def do_expand(self, x: Any, axis: int) -> Any:
        return sys.modules["tensorflow"].expand_dims(x, axis)

    def do_squeeze(self, x: Any, axis: int) -> Any:
        return sys.modules["tensorflow"].squeeze(x, axis=axis)

    def do_permute(self, x: Any, perm: tuple[int, ...]) -> Any:
        return sys.modules["tensorflow"].transpose(x, list(perm))

    def do_reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return sys.modules["tensorflow"].reshape(x, shape)

    def do_cast(self, x: Any, dtype: str) -> Any:
        return sys.modules["tensorflow"].cast(x, dtype)

    def do_one_hot(self, x: Any, classes: int) -> Any:
        return sys.modules["tensorflow"].one_hot(x, classes)

    def do_argmax(self, x: Any, axis: int) -> Any:
        return sys.modules["tensorflow"].argmax(x, axis=axis)

    def do_stack(self, items: list[Any]) -> Any:
        return sys.modules["tensorflow"].stack(items)

    def one_hot(self, var: str, classes: int) -> str:
        return f"tf.one_hot({var}, {classes})"

    def argmax(self, var: str, axis: int) -> str:
        return f"tf.argmax({var}, axis={axis})"

    def stack(self, var: str) -> str:
        return f"tf.stack({var})"

    def repeat(self, var: str, axis: int, times: int) -> str:
        return f"tf.repeat({var}, {times}, axis={axis})"

    def do_repeat(self, x: Any, axis: int, times: int) -> Any:
        return sys.modules["tensorflow"].repeat(x, times, axis=axis)

    def defer(self, values: list[Any], owner: Any, check: Any) -> bool:
        """If `values` hold tf.function graph tensors with sizes unknown while tracing, add an op to
        the graph that calls `check(owner, concrete values)` each time the graph runs (a
        `tf.py_function`, stateful: tf.function runs it in program order) and return True. `check` raises
        to fail the run; TensorFlow delivers it as its own error carrying our text. Under
        tf.distribute the error names the replica whose trace added the check.

        TensorFlow keeps every py_function's callable for the life of the process (its outermost
        graph holds it), so the op holds `owner` (the contract, whose checker holds the model) only
        weakly and keeps no graph tensor: a dropped model is freed; once `owner` is gone nothing
        that could run this check is left, and the op passes."""
        idx = [i for i, v in enumerate(values) if type(v).__name__ == "SymbolicTensor"]
        if not idx:  # first, and touching nothing else: torch.compile traces this path too
            return False
        tf = sys.modules["tensorflow"]
        if tf.executing_eagerly() or all(values[i].shape.rank is not None
                                         and None not in values[i].shape.as_list() for i in idx):
            return False
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util

        if control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()):
            return False  # XLA (jit_compile=True) has no Python ops and no run-time errors

        # The graph runs the check in TensorFlow's threads, outside any tf.distribute replica
        # context: the replica tracing it now (strategy.run) is the one an error must name.
        worker = current_worker()

        kept = [None if i in idx else v for i, v in enumerate(values)]
        owner_ref = weakref.ref(owner)

        def run(*tensors: Any) -> Any:
            live = owner_ref()
            if live is not None:
                concrete = list(kept)
                for i, t in zip(idx, tensors):
                    concrete[i] = t
                with as_worker(worker):
                    check(live, concrete)
            return tf.constant(0)

        # tf.py_function, not tf.numpy_function: the check sees tensors (EagerTensor), so a slot
        # restricted to tf.Tensor holds and a 0-d value stays an array (numpy_function hands over
        # ndarrays and numpy scalars, which such slots refuse).
        tf.py_function(run, [values[i] for i in idx], tf.int32, name="shapecontract_check")
        return True


register_backend(TensorFlowBackend())
