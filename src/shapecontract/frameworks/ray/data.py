"""A Ray Data `Dataset` as a data source (layer L6).

- `validate(ds, spec)`: the compiled checker runs inside `map_batches` on every block, where
  the block is (no row crosses to the driver); each task sends back a `rows.Summary`: the rows
  that fail (by position), the rows it could not read, the sizes it saw for each dim. The
  driver reads the summaries in the dataset's order (`preserve_order`), so every row gets its
  index in `iter_rows()` order and every error the text one process writes for it; the dims
  that must hold for the whole dataset (`stable`) are learned here from the first good row, as
  one process learns them, and sent to every task, so they are compared across shards; the
  sizes of every dim are added up over all tasks.
- Faults are reported, never dropped: a row a task cannot read or check (with its file and row
  when the dataset has a `path` column), and a job that fails (a block that raises, a file that
  cannot be read, a worker that dies once Ray has no retry left) as "rows N on not checked"
  with the cause. No wait without an end: `timeout` is the longest wait for the next block's
  summary; then, as on Ctrl-C, the job's executor is shut down (its tasks cancelled).
- `guard(ds, spec)`: the same dataset, each batch checked in its task (`map_batches`) and
  passed on unchanged (a violation fails the job with our error).

Ray is read from `sys.modules` (a dataset exists only once it is imported).
"""

from __future__ import annotations

import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..._errors import ShapeContractError
from ..._stream import StreamContract
from ..rows import (
    BatchCheck,
    Columns,
    Combined,
    columns_for,
    element_of,
    received,
    sendable,
)
from ..sources import DataSource, EngineRun, Fault, register_source

__all__ = ["GuardBatch", "RayBatch", "is_ray_dataset", "validate_dataset"]

POLL = 0.2
"""Seconds between looks at the results queue (how soon Ctrl-C is seen)."""


def is_ray_dataset(x: Any) -> bool:
    data = sys.modules.get("ray.data")
    return data is not None and isinstance(x, data.Dataset)


class RayBatch:
    """`map_batches`'s function: one block in, one row out (its summary, pickled)."""

    def __init__(self, check: BatchCheck) -> None:
        self.check = check

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        out = np.empty(1, dtype=object)
        out[0] = sendable(self.check(batch))
        return {"summary": out}


class GuardBatch:
    """`map_batches`'s function for `guard`: the batch checked, and passed on as it is."""

    def __init__(self, check: BatchCheck, name: str) -> None:
        self.check, self.name = check, name

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        s = self.check(batch)
        if s.bad:
            import pickle

            pos, which = s.bad[0]
            err = pickle.loads(s.errors[which])
            raise ShapeContractError(
                f"{self.name}: {len(s.bad)} of {s.rows} rows of a block violate the contract; "
                f"the first, at row {pos} of the block:\n{err}")
        if s.faults:
            pos, msg = s.faults[0]
            raise ShapeContractError(f"{self.name}: row {pos} of a block {msg}")
        return batch


def _columns(ds: Any, sc: StreamContract, columns: Any) -> Columns:
    try:
        names = list(getattr(ds.schema(), "names", None) or [])
    except Exception:  # blocks whose schemas Ray cannot unify (float32 and int32 tensors):
        names = []  # each block is still checked on its own; the first row names the columns
    if not names:
        for row in ds.iter_rows():
            names = list(row)
            break
    return columns_for(sc.spec, names, columns if columns is not None else sc.columns,
                       f"{sc.name}")


def guard_dataset(ds: Any, sc: StreamContract) -> Any:
    cols = _columns(ds, sc, None)
    state = sc.start()
    if state.learn:  # stable dims from the first good row, as a stream learns them
        for i, row in enumerate(ds.iter_rows()):
            state.check(element_of(row, cols), i)
            if not state.learn:
                break
    check = BatchCheck(sc, state.pins, state.origins, cols)
    return ds.map_batches(GuardBatch(check, sc.name), batch_format="numpy", batch_size=None,
                          zero_copy_batch=True)


_WRAPPERS = ("RayTaskError", "UserCodeException", "RayError")
_ADVICE = ("To change retry", "Failed to ", "Traceback", "File ", "ray::")


def _cause(e: BaseException) -> str:
    """The innermost cause of a job's failure, on one line: `ValueError: bad block` (Ray wraps
    it in its task error and appends retry advice)."""
    chain: list[BaseException] = []
    while e is not None and all(e is not c for c in chain):
        chain.append(e)
        inner = getattr(e, "cause", None) or e.__cause__
        e = inner if isinstance(inner, BaseException) else None  # type: ignore[assignment]
    for exc in reversed(chain):
        if type(exc).__name__.startswith(_WRAPPERS):
            continue
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        first = next((ln for ln in lines if not ln.startswith(_ADVICE)), "")
        if first:
            return _short(f"{type(exc).__name__}: {first}")
    text = "\n".join(str(x) for x in chain)
    found = re.findall(r"^\s*(\w+(?:Error|Exception)): (.+)$", text, re.MULTILINE)
    found = [f for f in found if not f[0].startswith(_WRAPPERS)]
    if found:
        return _short(f"{found[-1][0]}: {found[-1][1]}")
    head = next((ln.strip() for ln in text.splitlines() if ln.strip()
                 and not ln.strip().startswith(_ADVICE)), "")
    return _short(f"{type(chain[-1]).__name__}: {head}")


def _short(text: str) -> str:
    return text if len(text) <= 600 else text[:597] + "..."


def _stop(ds: Any) -> None:
    """Shut the dataset's running job down (its tasks are cancelled). Ray keeps the executor
    of an iteration on the dataset; a Ray without it has nothing we can stop but the
    iteration itself."""
    executor = getattr(ds, "_current_executor", None)
    shutdown = getattr(executor, "shutdown", None)
    if shutdown is not None:
        try:
            shutdown(force=True)
        except Exception:  # stopping is best effort; the caller reports what it knows
            pass


class _Ended:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _bounded(items: Callable[[], Iterator[Any]], timeout: float | None, on_stop: Callable[[], None],
             ) -> Iterator[Any]:
    """`items()`'s values, read in a thread, each waited for at most `timeout` seconds (None:
    as long as it takes); Ctrl-C is seen within `POLL` s. On a timeout it raises TimeoutError
    and on any exit before the end (Ctrl-C, the consumer's error) calls `on_stop()`."""
    q: queue.Queue[Any] = queue.Queue(maxsize=4)
    halt = threading.Event()

    def pump() -> None:
        try:
            for item in items():
                while not halt.is_set():
                    try:
                        q.put(item, timeout=POLL)
                        break
                    except queue.Full:
                        continue
                if halt.is_set():
                    return
            q.put(_Ended())
        except BaseException as e:  # the job's failure, handed to the reader
            q.put(_Ended(e))

    thread = threading.Thread(target=pump, name="shapecontract-ray-results", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            waited = 0.0
            while True:
                try:
                    item = q.get(timeout=POLL)
                    break
                except queue.Empty:
                    waited += POLL
                    if timeout is not None and waited >= timeout:
                        raise TimeoutError(
                            f"no block answered for {timeout:g} s") from None
            if isinstance(item, _Ended):
                finished = True
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        if not finished:
            halt.set()
            on_stop()
            thread.join(timeout=10)


def _progress(name: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm

        return tqdm(desc=f"validating {name}", unit=" rows", file=sys.stderr)
    except ImportError:
        return None


def validate_dataset(ds: Any, sc: StreamContract, *, columns: Any = None, lazy: bool = True,
                     progress: bool | None = None, timeout: float | None = None,
                     workers: int | None = None) -> EngineRun:
    """Validate a Ray Data dataset in its cluster (see the module's docstring)."""
    if workers is not None:
        raise TypeError(f"validate(workers={workers}) on a Ray Data dataset: {WORKERS}")
    columns = columns if columns is not None else sc.columns
    combined = Combined(lazy)
    bar = _progress(sc.name, bool(progress) if progress is not None else sys.stderr.isatty())
    try:
        head = _learn_head(ds, sc, columns, combined, timeout)
        if head is None:
            return combined.run
        pins, origins, skip_below, cols = head
        check = BatchCheck(sc, pins, origins, cols, columns)  # cols None: the tasks choose
        out = ds.map_batches(RayBatch(check), batch_format="numpy", batch_size=None,
                             zero_copy_batch=True)
        out.context.execution_options.preserve_order = True

        def batches() -> Iterator[Any]:
            return iter(out.iter_batches(batch_size=None, batch_format="numpy",
                                         prefetch_batches=1))

        try:
            for batch in _bounded(batches, timeout, lambda: _stop(out)):
                for data in batch["summary"]:
                    s = received(data)
                    combined.add(s, skip_below)
                    if bar is not None:
                        bar.update(s.rows)
        except TimeoutError as e:
            combined.run.faults.append(Fault(
                "the cluster job", f"rows {combined.offset} on (not checked)",
                f"{e}; the job was stopped", combined.offset))
        except ShapeContractError:
            raise  # lazy=False: the first violation, as one process raises it; bad columns
        except Exception as e:  # the job failed: what was read stands, the rest is a fault
            combined.run.faults.append(Fault(
                "the cluster job", f"rows {combined.offset} on (not checked)", _cause(e),
                combined.offset))
        combined.run.failures.sort(key=lambda f: f[0])
        return combined.run
    finally:
        if bar is not None:
            bar.close()


def _learn_head(ds: Any, sc: StreamContract, columns: Any, combined: Combined,
                timeout: float | None,
                ) -> tuple[dict[str, int], dict[str, Any], int, Columns | None] | None:
    """The stable dims, learned here from the dataset's first good row as one process learns
    them (the rows before it judged here too): (pins, origins, rows judged, the columns the
    first row chose). None when the job failed or stalled before (the fault is in
    `combined`). Without stable dims nothing is read here (the tasks choose the columns)."""
    state = sc.start()
    i = 0
    if not state.learn:
        return state.pins, state.origins, 0, None
    cols: Columns | None = None

    def read() -> Iterator[Any]:
        return iter(ds.iter_rows())

    try:
        for row in _bounded(read, timeout, lambda: _stop(ds)):
            if cols is None:
                cols = columns_for(sc.spec, list(row), columns, sc.name)
            err = state.errors_of(element_of(row, cols), i)
            if err is not None:
                if not combined.lazy:
                    raise err
                combined.run.failures.append((i, err))
            i += 1
            if not state.learn:
                break
    except ShapeContractError:
        raise
    except TimeoutError as e:
        combined.run.faults.append(Fault("the cluster job", f"rows {i} on (not checked)",
                                         f"{e}; the job was stopped", i))
        return None
    except Exception as e:
        combined.run.faults.append(Fault("the cluster job", f"rows {i} on (not checked)",
                                         _cause(e), i))
        return None
    if state.learn:  # no good row at all: every row was judged here
        combined.run.elements = i
        return None
    return dict(state.pins), dict(state.origins), i, cols


WORKERS = ("it runs in the Ray cluster's tasks, whose CPUs are the workers (ray.init(num_cpus=N) "
           "for a local cluster): call validate without workers")

register_source(DataSource("Ray Data Dataset", "ray", is_ray_dataset, guard_dataset,
                           workers=WORKERS, validate=validate_dataset))
