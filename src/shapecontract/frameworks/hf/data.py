"""Hugging Face `datasets` as a data source (layer L6).

- `guard(ds, spec)`: a `datasets.Dataset` comes back as a `GuardedHFDataset` (`ds[i]`, `ds[a:b]`
  and iteration checked, the very same rows returned: nothing copied or converted), an
  `IterableDataset` as a checked iterable of its rows. The element of a row is its column (or
  the columns named by `columns=`, or a dict spec's keys: `frameworks.rows`).
- `validate(ds, spec)` reads the dataset in batches here (`ds[a:b]`, Arrow slices formatted by
  the dataset's own format), each batch checked by `rows.BatchCheck`; a batch that cannot be
  read (a row whose image or array cannot be decoded) is read again row by row, and each row
  that still cannot be read is a fault with its index, never skipped. `workers=N` runs the
  same check in the dataset's own `map(batched=True, with_indices=True, num_proc=N)` workers,
  which send back only summaries (kept in memory, nothing written to the cache); if that map
  fails (a row that cannot be decoded), the dataset is read here as above, so every row still
  gets its verdict.
- The python format (rows of lists) cannot satisfy an array contract: that is said at once
  (`ds.with_format("numpy")`), rather than as a violation on every row.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

from ..._errors import ShapeContractError
from ..._spec import iter_array_specs
from ..._stream import StreamContract
from ..rows import (
    BatchCheck,
    Columns,
    Combined,
    Summary,
    columns_for,
    element_of,
    received,
    sendable,
)
from ..sources import DataSource, EngineRun, Fault, register_source

__all__ = ["GuardedHFDataset", "guard_dataset", "is_hf_dataset", "validate_dataset"]

BATCH = 256
"""Rows read and checked at a time."""


def _module() -> Any:
    mod = sys.modules.get("datasets")
    return mod if mod is not None and hasattr(mod, "IterableDataset") else None


def is_hf_dataset(x: Any) -> bool:
    mod = _module()
    return mod is not None and isinstance(x, (mod.Dataset, mod.IterableDataset))


def _is_map_style(ds: Any) -> bool:
    mod = _module()
    return mod is not None and isinstance(ds, mod.Dataset)


def _format_check(ds: Any, sc: StreamContract, what: str) -> None:
    fmt = getattr(ds, "format", None)
    if _is_map_style(ds) and isinstance(fmt, dict) and fmt.get("type") is None and any(
            True for _ in iter_array_specs(sc.spec)):
        raise ShapeContractError(
            f"{what}: this Hugging Face dataset is in the python format, whose rows are lists, "
            "and the contract checks arrays; give the dataset an array format first, e.g. "
            "ds.with_format('numpy') (or 'torch', 'tf', 'jax'): shapecontract does not "
            "convert rows")


def _columns(ds: Any, sc: StreamContract, columns: Any) -> Columns:
    names = list(getattr(ds, "column_names", None) or [])
    if not names:
        features = getattr(ds, "features", None)
        names = list(features) if features else []
    if not names:  # an IterableDataset of unknown features: its first row says
        for row in ds:
            names = list(row)
            break
    return columns_for(sc.spec, names, columns if columns is not None else sc.columns, sc.name)


# ------------------------------------------------------------------------------ guard
class GuardedHFDataset:
    """A `datasets.Dataset` whose rows are checked when read: `ds[i]` (a row), `ds[a:b]` or
    `ds[[i, j]]` (a batch of rows) and iteration; the same objects the dataset returns. A
    column (`ds["x"]`) and every other attribute are the dataset's own."""

    def __init__(self, ds: Any, sc: StreamContract, cols: Columns, pins: dict[str, int],
                 origins: dict[str, Any]) -> None:
        self._ds, self._sc, self._cols = ds, sc, cols
        self._check = BatchCheck(sc, pins, origins, cols)

    def __len__(self) -> int:
        return len(self._ds)

    def __getitem__(self, key: Any) -> Any:
        __tracebackhide__ = True
        value = self._ds[key]
        if isinstance(key, int) and not isinstance(key, bool):
            self._raise(self._check({c: [value[c]] for c in self._cols.names if c in value}),
                        key if key >= 0 else len(self._ds) + key)
        elif isinstance(key, (slice, list, range)):
            first = key.start or 0 if isinstance(key, slice) else None
            self._raise(self._check(value), first)
        return value

    def __iter__(self) -> Iterator[Any]:
        __tracebackhide__ = True
        for i, row in enumerate(self._ds):
            self._raise(self._check({c: [row[c]] for c in self._cols.names if c in row}), i)
            yield row

    def _raise(self, s: Summary, first: int | None) -> None:
        __tracebackhide__ = True
        if s.faults:
            pos, msg = s.faults[0]
            raise ShapeContractError(f"{self._sc.name}: row {pos} {msg}")
        if s.bad:
            from ..rows import reindexed

            pos, which = s.bad[0]
            import pickle

            err = pickle.loads(s.errors[which])
            if first is not None:
                raise reindexed(err, first + pos)
            raise err

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_ds"], name)

    def __repr__(self) -> str:
        return f"guarded({self._ds!r})"


class _GuardedRows:
    """An IterableDataset's rows, each checked on the way (the same row objects)."""

    def __init__(self, ds: Any, sc: StreamContract, cols: Columns) -> None:
        self._ds, self._sc, self._cols = ds, sc, cols

    def __iter__(self) -> Iterator[Any]:
        __tracebackhide__ = True
        state = self._sc.start()
        for i, row in enumerate(self._ds):
            state.check(element_of(row, self._cols), i)
            yield row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_ds"], name)

    def __repr__(self) -> str:
        return f"guarded({self._ds!r})"


def guard_dataset(ds: Any, sc: StreamContract) -> Any:
    _format_check(ds, sc, sc.name)
    cols = _columns(ds, sc, None)
    if not _is_map_style(ds):
        return _GuardedRows(ds, sc, cols)
    state = sc.start()
    i = 0
    while state.learn and i < len(ds):  # stable dims from the first good row
        state.check(element_of(ds[i], cols), i)
        i += 1
    return GuardedHFDataset(ds, sc, cols, state.pins, state.origins)


# --------------------------------------------------------------------------- validate
def _fault_message(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"cannot be read: {type(e).__name__}: {text}"


class _MapCheck:
    """`Dataset.map`'s function (batched, with indices): a batch in, its summary out."""

    def __init__(self, check: BatchCheck) -> None:
        self.check = check

    def __call__(self, batch: Any, indices: list[int]) -> dict[str, list[Any]]:
        return {"summary": [sendable(self.check(batch))], "start": [indices[0] if indices else 0]}


def validate_dataset(ds: Any, sc: StreamContract, *, columns: Any = None, lazy: bool = True,
                     progress: bool | None = None, timeout: float | None = None,
                     workers: int | None = None) -> EngineRun:
    """Validate a Hugging Face dataset (see the module's docstring)."""
    _format_check(ds, sc, sc.name)
    if timeout is not None:
        raise TypeError(
            f"validate(timeout={timeout:g}) on a Hugging Face dataset: its map workers have no "
            "timeout of ours (datasets stops the map when one dies); validate it without "
            "timeout")
    if workers is not None and workers > 1 and not _is_map_style(ds):
        raise TypeError(f"validate(workers={workers}) on a Hugging Face IterableDataset: it "
                        "streams and has no map workers of its own; validate it without workers")
    cols = _columns(ds, sc, columns)
    combined = Combined(lazy)
    state = sc.start()
    skip = 0
    if state.learn:  # stable dims from the first good row, judged here as one process does
        for row in _rows(ds, combined):
            err = state.errors_of(element_of(row, cols), skip)
            if err is not None:
                if not lazy:
                    raise err
                combined.run.failures.append((skip, err))
            skip += 1
            if not state.learn:
                break
        if state.learn:
            combined.run.elements = skip
            return combined.run
    check = BatchCheck(sc, state.pins, state.origins, cols)
    if workers is not None and workers > 1:
        head = list(combined.run.failures)
        try:
            return _in_map_workers(ds, check, combined, workers, skip)
        except ShapeContractError:
            raise
        except Exception:  # a row the map could not read: read here, row by row where needed
            combined = Combined(lazy)
            combined.run.failures = head
    if _is_map_style(ds):
        _in_batches(ds, check, combined, skip)
    else:
        _streamed(ds, check, combined, skip)
    combined.run.failures.sort(key=lambda f: f[0])
    return combined.run


def _rows(ds: Any, combined: Combined) -> Iterator[Any]:
    if _is_map_style(ds):
        for i in range(len(ds)):
            yield ds[i]
    else:
        yield from ds


def _in_batches(ds: Any, check: BatchCheck, combined: Combined, skip: int) -> None:
    n = len(ds)
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        try:
            s = check(ds[start:stop])
        except ShapeContractError:
            raise
        except Exception:  # one row that cannot be decoded spoils the batch: row by row
            s = _row_by_row(ds, check, start, stop)
        combined.add(s, skip)


def _row_by_row(ds: Any, check: BatchCheck, start: int, stop: int) -> Summary:
    out = Summary()
    for i in range(start, stop):
        try:
            row = ds[i]
        except Exception as e:
            out.faults.append((i - start, _fault_message(e)))
            out.rows += 1
            continue
        names = check.cols.names if check.cols is not None else tuple(row)
        one = check({c: [row[c]] for c in names if c in row})
        out.bad += [(i - start, which + len(out.errors)) for _, which in one.bad]
        out.errors += one.errors
        out.faults += [(i - start, m) for _, m in one.faults]
        for d, per in one.sizes.items():
            mine = out.sizes.setdefault(d, {})
            for size, count in per.items():
                mine[size] = mine.get(size, 0) + count
        out.rows += 1
        out.pid, out.frameworks = one.pid, one.frameworks
    return out


def _streamed(ds: Any, check: BatchCheck, combined: Combined, skip: int) -> None:
    it = iter(ds.iter(batch_size=BATCH))
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except ShapeContractError:
            raise
        except Exception as e:  # a stream cannot be resumed after its error: the rest is a fault
            i = combined.offset
            combined.run.faults.append(Fault("the dataset", f"rows {i} on (not read)",
                                             _fault_message(e), i))
            return
        combined.add(check(batch), skip)


def _in_map_workers(ds: Any, check: BatchCheck, combined: Combined, workers: int,
                    skip: int) -> EngineRun:
    out = ds.map(_MapCheck(check), batched=True, batch_size=BATCH, with_indices=True,
                 num_proc=workers, remove_columns=ds.column_names, keep_in_memory=True,
                 new_fingerprint=uuid.uuid4().hex, desc=None)
    out = out.with_format(None)
    for start, data in zip(out["start"], out["summary"]):
        if start != combined.offset:
            raise ShapeContractError(f"map workers answered for row {start} where row "
                                     f"{combined.offset} was due")
        combined.add(received(data), skip)
    combined.run.failures.sort(key=lambda f: f[0])
    return combined.run


register_source(DataSource(
    "Hugging Face dataset", "datasets", is_hf_dataset, guard_dataset,
    validate=validate_dataset))
