"""Shared machinery of the program corpus (tests/test_corpus_keras.py, tests/test_corpus_torch.py).

Each corpus program is a function `program(g)` that re-creates, in a few lines and on tiny
data, a widely copied public program (a keras.io example, pytorch/examples, a tutorial). Every
object a user would guard passes through `g(obj)` or `g(stream, spec)`: for the unguarded run
`g` returns the object untouched, for the guarded run it is `shapecontract.guard` at the
default level, exactly as a user would call it. The program returns what it computed (arrays,
tensors, losses, Keras histories as dicts); the two runs must agree in shape, dtype and value.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

Program = Callable[[Any], Any]


class Plain:
    """The unguarded run: `g(obj, ...)` gives `obj` back untouched."""

    guarded = False

    def __call__(self, obj: Any, spec: Any = None, **kwargs: Any) -> Any:
        return obj


class Guarded:
    """The guarded run: `g(obj, ...)` is `shapecontract.guard(obj, ...)`, default level. Each
    `guard(...)` call must return within `guard_limit` seconds (the programs are tiny: a guard
    that takes longer is a bug, not a cost); it is interrupted then, with `Hang`."""

    guarded = True

    def __init__(self, guard_limit: float = 5.0) -> None:
        self.guard_limit = guard_limit

    def __call__(self, obj: Any, spec: Any = None, **kwargs: Any) -> Any:
        import shapecontract as sc

        what = f"guard({type(obj).__name__})"
        with time_limit(self.guard_limit, what):
            if spec is None:
                return sc.guard(obj, **kwargs)
            return sc.guard(obj, spec, **kwargs)


class Corpus:
    """An ordered registry of programs: `@corpus.program` registers one under its name."""

    def __init__(self) -> None:
        self.programs: dict[str, Program] = {}

    def program(self, fn: Program) -> Program:
        doc = (fn.__doc__ or "").strip()
        assert doc and "\n" not in doc, f"{fn.__name__}: needs a one-line docstring"
        assert fn.__name__ not in self.programs, fn.__name__
        self.programs[fn.__name__] = fn
        return fn

    def params(self, xfail: dict[str, tuple[Any, str]], every: int = 1,
               always: tuple[str, ...] = ()) -> list[Any]:
        """pytest params, ids = program names; programs in `xfail` ({name: (the exception the
        bug raises, one line naming the bug)}) are strict xfails that expect that exception.
        `every=k` runs every k-th program (and each xfail, and each program named in `always`:
        those that once found a bug, now regression tests) in `make test`, the others skipped;
        `SHAPECONTRACT_CORPUS=all` (`make corpus`) runs them all."""
        import os

        import pytest

        unknown = (set(xfail) | set(always)) - set(self.programs)
        assert not unknown, f"xfail names no program: {sorted(unknown)}"
        run_all = os.environ.get("SHAPECONTRACT_CORPUS") == "all"
        params = []
        for k, (name, fn) in enumerate(self.programs.items()):
            marks = []
            if not (run_all or k % every == 0 or name in xfail or name in always):
                marks.append(pytest.mark.skip(reason="outside make test's slice of the corpus "
                                                     "(make corpus runs every program)"))
            if name in xfail:
                raises, reason = xfail[name]
                marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=reason))
            params.append(pytest.param(fn, id=name, marks=marks))
        return params


# ------------------------------------------------------------------------------- results
def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)


def summary(x: Any) -> Any:
    """The structure of a result: arrays as (shape, dtype), containers recursively."""
    if _is_array(x):
        return ("array", tuple(int(s) for s in x.shape), str(x.dtype).replace("torch.", ""))
    if isinstance(x, dict):
        return {str(k): summary(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [summary(v) for v in x])
    if isinstance(x, (bool, np.bool_)):
        return "bool"
    if isinstance(x, (int, np.integer)):
        return "int"
    if isinstance(x, (float, np.floating)):
        return "float"
    if x is None or isinstance(x, str):
        return x
    return type(x).__name__


def values(x: Any) -> Iterator[np.ndarray]:
    """Every number in a result, as numpy arrays, in a fixed order."""
    if _is_array(x):
        if hasattr(x, "detach"):
            x = x.detach().cpu()
        arr = np.asarray(x)
        if arr.dtype.kind in "biuf":
            yield arr.astype(np.float64)
    elif isinstance(x, dict):
        for k in x:
            yield from values(x[k])
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from values(v)
    elif isinstance(x, (int, float, np.number)) and not isinstance(x, bool):
        yield np.asarray(float(x))


def assert_same(plain: Any, guarded: Any, rtol: float, atol: float) -> None:
    """The guarded run returned what the unguarded one did: structure, shapes, dtypes, values."""
    assert summary(guarded) == summary(plain), "the guarded run changed the result's shapes"
    for k, (a, b) in enumerate(zip(values(plain), values(guarded), strict=True)):
        if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            raise AssertionError(f"the guarded run changed value #{k}: max abs difference "
                                 f"{np.nanmax(np.abs(a - b)) if a.shape == b.shape else 'shape'}")


# ------------------------------------------------------------------------------- hangs
class Hang(BaseException):
    """The program ran longer than its limit (a hang is a failure, not a wait). A
    BaseException, so that no `except Exception` on the way (the library's own fallbacks
    included) can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "the program") -> Iterator[None]:
    """Raise `Hang` in the main thread after `seconds` (POSIX; a no-op elsewhere). Nests: an
    enclosing limit keeps running, and fires no later than it would have."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    start = time.monotonic()
    mine = seconds if not outer_left or seconds < outer_left else None

    def _raise(signum: int, frame: Any) -> None:
        if mine is None and callable(old):  # the enclosing limit's turn: its message
            old(signum, frame)
        raise Hang(f"{what}: no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds if mine is not None else outer_left)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - start), 1e-3))


def run_twice(program: Program, seed: Callable[[int], None], limit: float = 60.0,
              guard_limit: float = 5.0, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Run `program` unguarded, then guarded with the same seed; both must agree. Each run
    must end within `limit` seconds, each `guard(...)` call within `guard_limit`."""
    seed(0)
    with time_limit(limit, "the unguarded run"):
        plain = program(Plain())
    seed(0)
    with time_limit(limit, "the guarded run"):
        guarded = program(Guarded(guard_limit))
    assert_same(plain, guarded, rtol, atol)


# ------------------------------------------------------------------------ shared by the corpora
def keras_seed(n: int) -> None:
    """The same random start for both runs of a Keras program (a fresh session between)."""
    import keras

    keras.utils.set_random_seed(n)
    keras.backend.clear_session()
    keras.utils.set_random_seed(n)


def hist(h: Any) -> dict[str, list[float]]:
    """A Keras History as plain data, for comparing the two runs."""
    return dict(h.history)


def rng() -> Any:
    """The corpora's data generator (the same numbers in both runs)."""
    import numpy as np

    return np.random.default_rng(0)
