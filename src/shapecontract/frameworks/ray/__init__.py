"""Ray Data as a data engine (layer L6): `validate` on a `ray.data.Dataset` runs the compiled
checker inside the cluster's tasks (`map_batches`, `data`), `guard` checks each batch as it
flows, and the command line reads files with `ray.data.read_*` (`files`). Registered with
`frameworks.sources` when this package is imported; Ray is never imported for it: only once
a dataset of its shows up (or the command line's `--engine ray` asks for it).
"""

from __future__ import annotations

from . import data as data  # registers Ray Data as a data source

__all__ = ["data"]
