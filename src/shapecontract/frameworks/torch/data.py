"""torch's data sources (layer L6): a `DataLoader` (its batches checked as they come, its
default collate explained when samples do not stack), a map-style `Dataset` (each item checked
in `__getitem__`, in DataLoader workers too) and the worker processes `validate(workers=N)`
reads with. Registered with `frameworks.sources` when this package is imported; torch is read
only from `sys.modules`, or imported once it is asked to read in workers.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..._errors import Fix, ShapeContractError, Violation
from ..._stream import GuardedIterable, StreamContract, StreamState
from ..sources import DataSource, WorkerPool, register_pool, register_source
from ..sources import Reading as SourceReading

__all__ = ["CheckedCollate", "Reading", "guarded_dataset_type", "read_in_workers"]


class CheckedCollate:
    """torch's default collate, explained when it fails: samples of different shapes (sequences
    of different lengths) are reported with their positions (and dataset indices, for a
    sequential sampler) and the padding fix, instead of torch's "stack expects each tensor to
    be equal size". The samples are walked only then, never on a batch that stacks.
    Module-level: it pickles into DataLoader worker processes. The samples themselves are
    passed on untouched."""

    def __init__(self, collate: Any, name: str, loader: Any = None) -> None:
        self.collate = collate
        self.name = name
        from torch.utils.data import SequentialSampler

        # dataset indices are known for a sequential sampler read in this process
        sequential = loader is not None and isinstance(loader.sampler, SequentialSampler) and (
            loader.num_workers == 0)
        self.batch_size = loader.batch_size if sequential else None
        self.numbered = loader is None or loader.num_workers == 0
        self.batches = 0

    def __call__(self, batch: list[Any]) -> Any:
        __tracebackhide__ = True
        n = self.batches
        self.batches += 1
        try:  # the fast path is torch's own collate: a batch that stacks costs nothing more
            return self.collate(batch)
        except Exception:
            err = _unstackable(batch, self.name, n if self.numbered else None, self.batch_size)
            if err is None:
                raise  # not a shape problem: torch's own error
        raise err


def _unstackable(batch: list[Any], name: str, n: int | None, batch_size: int | None
                 ) -> ShapeContractError | None:
    """The error for samples whose tensors differ in shape at the same place, or None."""

    def leaves(sample: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
        if hasattr(sample, "shape") and hasattr(sample, "dtype"):
            yield path, tuple(sample.shape)
        elif isinstance(sample, (tuple, list)):
            for i, item in enumerate(sample):
                yield from leaves(item, (*path, i))
        elif isinstance(sample, dict):
            for k, item in sample.items():
                yield from leaves(item, (*path, k))

    shapes: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
    for pos, sample in enumerate(batch):
        for path, shape in leaves(sample):
            shapes.setdefault(path, []).append((pos, shape))
    for path, seen in shapes.items():
        first_pos, first = seen[0]
        other = next(((p, s) for p, s in seen if s != first), None)
        if other is None:
            continue
        where = (f"samples {first_pos} and {other[0]} of " + ("a batch" if n is None else
                                                               f"batch {n}")
                 + (f" (dataset indices {n * batch_size + first_pos} and "
                    f"{n * batch_size + other[0]})" if batch_size and n is not None else ""))
        msg = (f"{where} have shapes {first} and {other[1]}: the default collate cannot stack "
               "them into one batch")
        return ShapeContractError([Violation(
            ("element", n, *path), "dim", msg, expected=first, actual=other[1],
            suggestions=_collate_fixes(path, [s for _, s in seen]))], f"{name}.collate")
    return None


def _collate_fixes(path: tuple[Any, ...], shapes: list[tuple[int, ...]]) -> list[Fix]:
    """The remedy by what differs between the samples' shapes at `path`:
    - sequences (only the first axis differs, on the sample's input): pad them;
    - per-sample records of their own count (only the first axis differs, on a later part of
      the sample: boxes, labels): keep them as a list;
    - channels (only an axis of size 1, 3 or 4 at either end differs: gray, RGB, RGBA):
      convert every image to one mode;
    - images of different sizes (the other axes differ): resize them to one size;
    - different numbers of axes: a channel axis on some samples only, or other kinds mixed."""
    from collections import Counter

    from ..._suggest import pad_fix
    from ...fixes import PadSequences
    from .arrays import TorchBackend

    ranks = {len(s) for s in shapes}
    keep = Fix("keep these as a list per batch: collate_fn=lambda batch: tuple(zip(*batch)) "
               "(each sample's own count of them, as detection targets are)", "alternative",
               "collate_fn=lambda batch: tuple(zip(*batch))")
    if len(ranks) > 1:
        return [Fix("the samples do not have the same number of axes (a channel axis on some "
                    "images only: gray among RGB?): convert every image to one mode when it is "
                    "read, e.g. Image.open(path).convert('RGB')", "advice",
                    "img.convert('RGB')"), keep]
    rank = ranks.pop()
    differ = {k for k in range(rank) if len({s[k] for s in shapes}) > 1}
    common = Counter(shapes).most_common(1)[0][0]
    channel = [k for k in differ if k in (0, rank - 1)
               and {s[k] for s in shapes} <= {1, 3, 4}]
    if rank >= 3 and channel and differ == set(channel):
        want = max(s[channel[0]] for s in shapes)
        mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(want, "RGB")
        found = sorted({s[channel[0]] for s in shapes})
        return [Fix(f"the images differ in their channels ({found}): convert every image to "
                    f"one mode when it is read, e.g. Image.open(path).convert({mode!r})",
                    "advice", f"img.convert({mode!r})")]
    if differ == {0} and (not path or path[-1] == 0):
        fix = pad_fix("samples", be=TorchBackend())
        op = PadSequences()
        code = op.code("samples", TorchBackend())
        return [Fix(f"{fix.split(';')[0]}; pad them in the DataLoader: collate_fn=lambda b: "
                    f"{op.code('b', TorchBackend())} (with the lengths, for "
                    "pack_padded_sequence)", "convert", code, op)]
    if differ == {0}:
        return [keep]
    spatial = [k for k in range(rank) if not (rank >= 3 and k in (0, rank - 1)
                                              and common[k] in (1, 3, 4))]
    size = tuple(common[k] for k in spatial)
    if len(size) == 2 and differ <= set(spatial) and (rank >= 3 or len(differ) == 2):
        return [Fix(f"the images differ in size: resize them to one size when they are read, "
                    f"e.g. transforms.Resize({size!r}) (the most common size here) in the "
                    "dataset's transform", "advice", f"transforms.Resize({size!r})"), keep]
    return [pad_fix("samples", be=TorchBackend()), keep]



def _torch_dataset_class() -> Any:
    import torch.utils.data

    class GuardedDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
        """A torch Dataset whose `__getitem__` checks each item (index in the error)."""

        def __init__(self, dataset: Any, sc: StreamContract) -> None:
            self.dataset = dataset
            self.sc = sc
            self._state: StreamState | None = None

        def __getitem__(self, index: Any) -> Any:
            __tracebackhide__ = True
            item = self.dataset[index]
            if self._state is None:  # per process: each DataLoader worker has its own
                self._state = self.sc.start()
            self._state.check(item, index)
            return item

        def __len__(self) -> int:
            return len(self.dataset)

        def __getstate__(self) -> dict[str, Any]:
            return {"dataset": self.dataset, "sc": self.sc, "_state": None}

        def __getattr__(self, name: str) -> Any:
            if name in ("dataset", "sc", "_state"):
                raise AttributeError(name)
            return getattr(self.dataset, name)

    return GuardedDataset


_GUARDED_DATASET: Any = None


def guarded_dataset_type() -> Any:
    global _GUARDED_DATASET
    if _GUARDED_DATASET is None:
        _GUARDED_DATASET = _torch_dataset_class()
        _GUARDED_DATASET.__module__ = __name__
        _GUARDED_DATASET.__qualname__ = "GuardedDataset"
    return _GUARDED_DATASET


def __getattr__(name: str) -> Any:  # lets pickle find GuardedDataset in worker processes
    if name == "GuardedDataset":
        return guarded_dataset_type()
    raise AttributeError(name)


def _data() -> Any:
    torch = sys.modules.get("torch")
    return None if torch is None else torch.utils.data


def is_loader(x: Any) -> bool:
    data = _data()
    return data is not None and isinstance(x, data.DataLoader)


def guard_loader(stream: Any, sc: StreamContract) -> Any:
    """A DataLoader's batches, each checked; its default collate explained when it fails."""
    data = _data()
    loader = stream
    if stream.collate_fn is data.default_collate or getattr(
            stream.collate_fn, "__name__", "") == "default_collate":
        # the guard reads a shallow copy whose collate explains (the same dataset and
        # sampler): the user's loader and its collate_fn are left as they were
        loader = copy.copy(stream)
        loader.collate_fn = CheckedCollate(stream.collate_fn, sc.name, stream)
    return GuardedIterable(loader, sc)


def is_map_dataset(x: Any) -> bool:
    data = _data()
    return data is not None and isinstance(x, data.Dataset) and hasattr(
        x, "__getitem__") and not isinstance(x, data.IterableDataset)


def guard_map_dataset(dataset: Any, sc: StreamContract) -> Any:
    return guarded_dataset_type()(dataset, sc)


# ------------------------------------------------------------------- worker processes
class Reading:
    """Which element each worker is reading (index, or -1), with its pid, in memory shared
    with the workers: it outlives a worker killed in the middle of an element, so a timeout or
    a dead worker is reported with the element it was reading."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self.pids: Any = multiprocessing.Array("q", [0] * workers, lock=False)
        self.index: Any = multiprocessing.Array("q", [-1] * workers, lock=False)

    def start(self, i: int) -> int | None:
        """In a worker: note that it reads element `i`; its slot (None outside a worker)."""
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is None or not 0 <= info.id < len(self.index):
            return None
        self.pids[info.id], self.index[info.id] = os.getpid(), i
        return int(info.id)

    def done(self, slot: int | None) -> None:
        if slot is not None:
            self.index[slot] = -1

    def elements(self, pids: set[int] | None = None) -> list[int]:
        """The elements being read now (by the workers with these pids, if given)."""
        return sorted(i for pid, i in zip(self.pids[:], self.index[:])
                      if i >= 0 and (pids is None or pid in pids))




def _first(batch: Any) -> Any:
    return batch



def read_in_workers(items: Any, workers: int, timeout: float | None, reading: SourceReading,
                    call: str, each: Callable[[int, Any], None]) -> None:
    """`items[0] ... items[n - 1]` (each an `(i, value)` pair, computed in a worker) read by a
    DataLoader with `workers` worker processes and `timeout`, handed to `each(i, value)` in
    order (see `sources.WorkerPool.run`)."""
    from torch.utils.data import DataLoader

    n = len(items)
    loader: Any = DataLoader(items, batch_size=None, num_workers=workers, collate_fn=_first,
                             timeout=timeout or 0)
    it = iter(loader)
    awaited, unanswered = 0, ""
    try:
        for i, value in it:
            awaited = i + 1
            each(i, value)
    except RuntimeError as e:  # torch's: a timeout or a dead worker; anything else is re-raised
        unanswered = _unanswered(str(e), call, n, timeout, reading, awaited)
        if not unanswered:
            raise
    finally:
        shutdown = getattr(it, "_shutdown_workers", None)  # now, a hung worker included,
        if shutdown is not None:  # not whenever the iterator (held by a traceback) is freed
            shutdown()
        del it
    if unanswered:  # raised here, not in the handler: torch's error would keep the workers
        raise RuntimeError(unanswered)


def _unanswered(torch_message: str, call: str, n: int, timeout: float | None,
                reading: SourceReading, awaited: int) -> str:
    """The error for a DataLoader that stopped waiting (a timeout, a dead worker), naming the
    elements being read then (else the element awaited next), or "" when `torch_message` is
    not the DataLoader's own (then the worker's error is raised as it is)."""
    if torch_message.startswith("DataLoader timed out"):
        hung = _elements(reading.elements(), n) or f"element {awaited} of {n} (awaited)"
        return (f"{call}: no worker answered for {timeout:g} s; {hung} did not answer: its "
                f"__getitem__ hangs or takes longer than timeout={timeout:g} s. The workers "
                "were stopped")
    if torch_message.startswith("DataLoader worker (pid"):
        found = re.search(r"\(pids?(?:\(s\))? ([\d, ]+)\)", torch_message)
        pids = {int(p) for p in re.findall(r"\d+", found.group(1))} if found else None
        killed = _elements(reading.elements(pids), n) or f"element {awaited} of {n} (awaited)"
        return (f"{call}: a worker process died reading {killed}: killed by a signal, a crash "
                f"in native code or the out-of-memory killer ({torch_message})")
    return ""


def _elements(indices: list[int], n: int) -> str:
    if not indices:
        return ""
    if len(indices) == 1:
        return f"element {indices[0]} of {n}"
    return f"elements {', '.join(map(str, indices))} of {n}"



register_source(DataSource("torch DataLoader", "torch", is_loader, guard_loader, loosen=True))
register_source(DataSource(
    "torch Dataset", "torch", is_map_dataset, guard_map_dataset,
    exports={"GuardedDataset": guarded_dataset_type, "CheckedCollate": lambda: CheckedCollate,
             "guarded_dataset_type": lambda: guarded_dataset_type}))
register_pool(WorkerPool("DataLoader workers", Reading, read_in_workers))
