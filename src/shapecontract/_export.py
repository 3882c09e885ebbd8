"""A contract as the input declarations of graph compilers (layer L5): the one reading of its
input slots that TensorFlow `input_signature`s (`frameworks/tensorflow/export.py`) and
`torch.export` dynamic shapes (`frameworks/torch/export.py`) are written from; each framework
package lends `Contract` its method (`to_tf_signature`, `to_torch_export`).

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

from ._contract import Contract
from ._dims import Fixed, Named
from ._spec import ArraySpec, primary_array

__all__ = ["array_specs", "dtype_for", "size"]


def array_specs(contract: Contract) -> list[tuple[str, ArraySpec]]:
    """(slot name, array spec) of each input array slot, in order (a batched/unbatched choice
    read as its first option)."""
    out = []
    for slot in contract.inputs():
        spec = primary_array(slot.spec)
        if spec is not None:
            out.append((slot.name, spec))
    return out


def size(d: Any, dims: dict[str, int]) -> int | None:
    """A dim's static size: fixed, or pinned by `dims`; None when the framework must leave it
    dynamic."""
    if isinstance(d, Fixed):
        return d.size
    if isinstance(d, Named):
        return dims.get(d.name)
    return None


def dtype_for(spec: ArraySpec, default: str) -> str:
    """The one dtype to declare for a slot: `default` where it allows it, else a common one."""
    names = sorted(spec.dtypes or ())
    if not names or default in names:
        return default
    for pick in ("float32", "int32", "int64", "bool"):
        if pick in names:
            return pick
    return names[0]
