"""A contract as a `tf.function` `input_signature` (layer L6), lent to `Contract` as
`to_tf_signature`. TensorFlow is imported only when asked."""

from __future__ import annotations

from typing import Any

from ... import _contract
from ..._contract import Contract
from ..._dims import Variadic
from ..._export import array_specs, dtype_for, size

__all__ = ["to_tf_signature"]


def to_tf_signature(contract: Contract, dims: dict[str, int] | None = None) -> list[Any]:
    """One `tf.TensorSpec` per input array slot, in order: fixed and pinned sizes known, other
    dims `None` (rank unknown with a variadic dim), the dtype float32 where the slot allows it."""
    import tensorflow as tf

    pins = {**contract.pins(), **(dims or {})}
    out = []
    for name, spec in array_specs(contract):
        if any(isinstance(d, Variadic) for d in spec.dims):
            shape = None
        else:
            shape = [size(d, pins) for d in spec.dims]
        out.append(tf.TensorSpec(shape, getattr(tf, dtype_for(spec, "float32")), name=name))
    return out


_contract.lend("tf_signature", to_tf_signature)
