"""A contract as the input declarations of graph compilers: TensorFlow `input_signature`s and
`torch.export` dynamic shapes.

Design rules:
- One reading of the slots: each input array slot's spec (a batched/unbatched choice reads as
  its first option), its dims under `dims` pins. A fixed or pinned size is static; a named dim
  is dynamic, and the *same* name gives the same symbol everywhere (a TF `None` cannot say that
  two axes are equal; a `torch.export.Dim` can, and does). A dim expression (`t-1`) and `_` are
  left to the framework (unknown / static); a variadic dim makes TF's rank unknown.
- The framework is imported only when asked.
"""

from __future__ import annotations

from typing import Any

from . import _contract
from ._contract import Contract
from ._dims import Fixed, Named, Variadic
from ._spec import ArraySpec, primary_array

__all__ = ["to_tf_signature", "to_torch_export"]


def _array_specs(contract: Contract) -> list[tuple[str, ArraySpec]]:
    out = []
    for slot in contract.inputs():
        spec = primary_array(slot.spec)
        if spec is not None:
            out.append((slot.name, spec))
    return out


def _size(d: Any, dims: dict[str, int]) -> int | None:
    if isinstance(d, Fixed):
        return d.size
    if isinstance(d, Named):
        return dims.get(d.name)
    return None


def _dtype(spec: ArraySpec, default: str) -> str:
    names = sorted(spec.dtypes or ())
    if not names or default in names:
        return default
    for pick in ("float32", "int32", "int64", "bool"):
        if pick in names:
            return pick
    return names[0]


def to_tf_signature(contract: Contract, dims: dict[str, int] | None = None) -> list[Any]:
    """One `tf.TensorSpec` per input array slot, in order: fixed and pinned sizes known, other
    dims `None` (rank unknown with a variadic dim), the dtype float32 where the slot allows it."""
    import tensorflow as tf

    pins = {**contract.pins(), **(dims or {})}
    out = []
    for name, spec in _array_specs(contract):
        if any(isinstance(d, Variadic) for d in spec.dims):
            shape = None
        else:
            shape = [_size(d, pins) for d in spec.dims]
        out.append(tf.TensorSpec(shape, getattr(tf, _dtype(spec, "float32")), name=name))
    return out


def to_torch_export(contract: Contract, dims: dict[str, int] | None = None,
                    max_size: int | None = None) -> dict[str, Any]:
    """`dynamic_shapes` for `torch.export.export(model, args, dynamic_shapes=...)`: per input
    slot name, `{axis: Dim}` for each named dim not pinned; one `torch.export.Dim` per name, so
    axes the contract says are equal are equal to the exporter too."""
    from torch.export import Dim

    pins = {**contract.pins(), **(dims or {})}
    symbols: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for name, spec in _array_specs(contract):
        axes = {}
        for axis, d in enumerate(spec.dims):
            if isinstance(d, Variadic):
                break  # axes after a variadic dim have no fixed position
            if isinstance(d, Named) and d.name not in pins:
                if d.name not in symbols:
                    symbols[d.name] = (Dim(d.name, min=2, max=max_size) if max_size is not None
                                       else Dim(d.name, min=2))
                axes[axis] = symbols[d.name]
        out[name] = axes or None
    return out


_contract.lend("tf_signature", to_tf_signature)
_contract.lend("torch_export", to_torch_export)
