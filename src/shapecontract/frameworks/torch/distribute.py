"""torch.distributed (layer L6): which rank raised an error, named in it. Registered with
`_errors` when this package is imported; read only when torch.distributed is already imported."""

from __future__ import annotations

import sys

from ..._errors import register_worker_namer

__all__ = ["rank"]


def rank() -> str | None:
    """`rank 1 of 2` under an initialised torch.distributed process group, else None."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return f"rank {dist.get_rank()} of {dist.get_world_size()}"
    return None


register_worker_namer(rank)
