"""What the command line's `validate --engine ray` reads (layer L6): files that a
`ray.data.read_*` reads, chosen by extension, as a Ray Data dataset (with each row's file in
its `path` column), and the Ray cluster it runs on (a local one it starts, or one it joins).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..files import LoadError, import_quietly

__all__ = ["READERS", "Errors", "cause_of", "connect", "disconnect", "files_of", "read", "unread"]

READERS = {
    ".parquet": "parquet", ".npy": "numpy", ".json": "json", ".jsonl": "json", ".csv": "csv",
    ".png": "images", ".jpg": "images", ".jpeg": "images", ".bmp": "images", ".gif": "images",
    ".tif": "images", ".tiff": "images", ".webp": "images",
    ".tfrecord": "tfrecords", ".tfrecords": "tfrecords",
}
"""File suffix -> the `ray.data.read_<kind>` that reads it."""

EXTRA = "ray"


def files_of(source: str) -> tuple[str, list[str]]:
    """(reader kind, files) of SOURCE: a file, or a directory (every file under it whose
    suffix a reader takes; they must all be of one kind)."""
    path = Path(source)
    if not path.exists():
        raise LoadError(f"{source}: no such file or directory")
    found = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    kinds: dict[str, list[str]] = {}
    for p in found:
        kind = READERS.get(p.suffix.lower())
        if kind is not None:
            kinds.setdefault(kind, []).append(str(p))
    if not kinds:
        raise LoadError(f"{source}: no file Ray Data reads here (suffixes: "
                        f"{', '.join(sorted(READERS))})")
    if len(kinds) > 1:
        raise LoadError(f"{source}: files of {len(kinds)} kinds ({', '.join(sorted(kinds))}): "
                        "point at one kind (a file or a directory of them)")
    kind, files = next(iter(kinds.items()))
    return kind, files


def connect(address: str | None, num_cpus: int | None) -> bool:
    """Ray, initialised: the cluster at `address` (`auto`: the running one), else a local one
    with `num_cpus` CPUs (all of them if None). Returns whether this call started it (then
    `disconnect` stops it). Ray's own progress bars and per-run log lines are turned off: the
    command prints its report."""
    ray = import_quietly("ray", EXTRA)
    import_quietly("ray.data", EXTRA)
    if ray.is_initialized():
        started = False
    else:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.WARNING}
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        try:
            ray.init(**kwargs)
        except Exception as e:
            raise LoadError(f"ray.init({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
                            f"failed: {type(e).__name__}: {e}") from None
        started = True
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return started


def disconnect(started: bool) -> None:
    if started:
        import ray

        ray.shutdown()


MAX_READ_TASKS = 20_000
"""Up to this many files, each is read by a task of its own (so a file that cannot be read
fails its task alone, and is named)."""


def read(kind: str, files: Sequence[str]) -> Any:
    """The files as one Ray Data dataset, each row with its file in `path`. Each file is read
    by its own task, and a task that fails does not fail the job (`max_errored_blocks=-1`):
    Ray drops its rows, which `unread` then finds by their file (see `Errors` for why)."""
    import ray.data

    reader = getattr(ray.data, f"read_{kind}")
    kwargs: dict[str, Any] = {"include_paths": True}
    if 1 < len(files) <= MAX_READ_TASKS:
        kwargs["override_num_blocks"] = len(files)
    try:
        ds = reader(list(files), **kwargs)
    except Exception as e:
        raise LoadError(f"ray.data.read_{kind}: {type(e).__name__}: {e}") from None
    ds.context.max_errored_blocks = -1
    return ds


class Errors(logging.Handler):
    """The errors Ray Data logs while a job runs (a task that failed and whose rows it
    dropped), kept instead of printed: the report names them with their files."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.logger = logging.getLogger("ray.data")
        self.propagate = self.logger.propagate

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.messages.append(" ".join(text.split()))

    def __enter__(self) -> Errors:
        self.quieted = [(h, h.level) for h in self.logger.handlers
                        if isinstance(h, logging.StreamHandler)
                        and not isinstance(h, logging.FileHandler)]
        for h, _ in self.quieted:  # Ray's console handler: its log file keeps everything
            h.setLevel(logging.CRITICAL + 1)
        self.logger.addHandler(self)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self.propagate
        for h, level in self.quieted:
            h.setLevel(level)


def unread(files: Sequence[str], sources: dict[str, int]) -> list[str]:
    """The files no row came from (their read failed, or they hold no rows)."""
    seen = {_norm(p) for p, n in sources.items() if n}
    return [f for f in files if _norm(f) not in seen]


def _norm(path: str) -> str:
    return str(Path(re.sub(r"^[a-z0-9]+://", "", path)).resolve()) if "://" not in path[:1] else path


def cause_of(path: str, messages: Sequence[str], unread: int) -> str:
    """What Ray logged about `path`'s read, shortened: the message naming it, else (when it is
    the only file not read) the first error logged, else a pointer to Ray's log."""
    name = Path(path).name
    named = [m for m in messages if name in m]
    errors = [m for m in messages if re.search(r"\w+(?:Error|Exception): ", m)]
    pick = named[0] if named else errors[0] if unread == 1 and errors else ""
    if not pick:
        return ("its read failed, or it holds no rows (Ray Data dropped the block; "
                f"{len(messages)} errors in Ray's log)")
    found = re.search(r"(\w+(?:Error|Exception)): (.*)", pick)
    short = f"{found.group(1)}: {found.group(2)}" if found else pick
    short = re.split(r" (?:Failed to|To change retry)", short)[0]
    return f"its read failed: {short[:300]}"
