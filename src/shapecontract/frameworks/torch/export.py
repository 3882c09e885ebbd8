"""A contract as `torch.export` dynamic shapes (layer L6), lent to `Contract` as
`to_torch_export`. torch is imported only when asked."""

from __future__ import annotations

from typing import Any

from ... import _contract
from ..._contract import Contract
from ..._dims import Named, Variadic
from ..._export import array_specs

__all__ = ["to_torch_export"]


def to_torch_export(contract: Contract, dims: dict[str, int] | None = None,
                    max_size: int | None = None) -> dict[str, Any]:
    """`dynamic_shapes` for `torch.export.export(model, args, dynamic_shapes=...)`: per input
    slot name, `{axis: Dim}` for each named dim not pinned; one `torch.export.Dim` per name, so
    axes the contract says are equal are equal to the exporter too."""
    from torch.export import Dim

    pins = {**contract.pins(), **(dims or {})}
    symbols: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for name, spec in array_specs(contract):
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


_contract.lend("torch_export", to_torch_export)
