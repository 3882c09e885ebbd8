"""Hugging Face `datasets` as a data source (layer L6): a `datasets.Dataset` or
`IterableDataset` guarded row by row (`guard`) and validated in batches, in this process or in
its own `map(num_proc=N)` workers (`validate(workers=N)`), with the rows' named columns as
the element (`frameworks.rows`). Registered with `frameworks.sources` when this package is
imported; `datasets` is never imported for it: only read from `sys.modules`.
"""

from __future__ import annotations

from . import data as data  # registers Hugging Face datasets as a data source

__all__ = ["data"]
