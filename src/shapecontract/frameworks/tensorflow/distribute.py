"""tf.distribute (layer L6): which replica raised an error, named in it. Registered with
`_errors` when this package is imported; read only when TensorFlow is already imported."""

from __future__ import annotations

import sys
from typing import Any

from ..._errors import register_worker_namer

__all__ = ["replica"]


def replica() -> str | None:
    """`replica 1 of 2` inside a tf.distribute replica context (`strategy.run`, Keras `fit`
    under `strategy.scope()`), else None."""
    tf = sys.modules.get("tensorflow")
    return None if tf is None else _tf_replica(tf)


def _tf_replica(tf: Any) -> str | None:
    """`replica 1 of 2` in a tf.distribute replica context of a strategy, else None (the default
    strategy's context, a cross-replica context)."""
    if not tf.distribute.has_strategy():
        return None
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return None
    # The id is kept as a Python int (MirroredStrategy's replica threads); the public property
    # would add a constant op to the graph being traced, so it is read only as a fallback.
    rid = getattr(ctx, "_replica_id_in_sync_group", None)
    if not isinstance(rid, int):
        rid = tf.get_static_value(ctx.replica_id_in_sync_group)
        if rid is None:
            return None
    return f"replica {int(rid)} of {ctx.num_replicas_in_sync}"


register_worker_namer(replica)
