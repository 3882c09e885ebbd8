"""A public corpus of real shape bugs (issue 21, part 3): Keras 3 and PyTorch programs re-created
from public Q&A threads, each citing its source, with the fix its accepted answer gives and the
corrected program as a control.

A case is two functions of `g`, the guard: `buggy(g)` re-creates the asker's program and `control(g)`
the program the answer leads to. Every object a user would guard (a Keras model, a torch module,
a torch loss module, a DataLoader with its spec) passes through `g(obj)` or `g(obj, spec)`: for
the plain run `g` gives `obj` back, for the guarded run it is `shapecontract.guard`. The programs
are written from the threads in our own words, on tiny random data; the engine is never tuned to
them (`benchmarks/scoreboard.py` prints what it catches and misses).

Scoring one case (`score`), in-process:
- reproduces: the buggy program, unguarded, raises today (or, for `silent` cases, runs with the
  wrong result the thread describes: the framework only warns or broadcasts);
- caught: guarded, a `ShapeContractError` is raised before the framework runs its step;
- explained: not caught, but the framework's own exception given to `shapecontract.explain`
  returns an error;
- right fix: a suggestion of that error matches the answer's fix (`Expect`: an operation of
  `shapecontract.fixes` with its fields, or, failing that, a code substring);
- false alarm: the control raises under the guard (the control must pass unguarded: a control
  that fails unguarded is a broken case, raised as such).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KINDS = {
    "output-vs-target": "the model's output and the targets disagree",
    "data-blamed": "the data is blamed where the model is wrong",
    "transpose-vs-reshape": "axes in the wrong order: a transpose, not a reshape",
    "known-remedy": "sizes with a known remedy (a missing batch or channel axis)",
    "model-build": "errors while the model is built",
    "custom-forward": "errors inside a custom forward",
    "loss-hint": "the loss's own demands on its targets",
    "pipeline-layout": "layouts only the pipeline knows",
    "collate": "batching samples of different shapes (collate)",
}
"""The issue's kinds of bugs, each with what it means."""

Guard = Callable[..., Any]
Program = Callable[[Guard], Any]


def plain(obj: Any, spec: Any = None, **kwargs: Any) -> Any:
    """The unguarded run: `g(obj, ...)` gives `obj` back untouched."""
    return obj


def guarded(obj: Any, spec: Any = None, **kwargs: Any) -> Any:
    """The guarded run: `shapecontract.guard(obj, spec, ...)`, as a user would call it."""
    import shapecontract

    return shapecontract.guard(obj, spec, **kwargs)


@dataclass(frozen=True)
class Expect:
    """The answer's fix, as a matcher of a `Fix`: `op`, an operation class of
    `shapecontract.fixes`, with `fields` its attributes must equal; or `code`, a substring
    (case-insensitive) of the fix's code or text, the fallback when the answer's fix has no
    operation the library knows."""

    op: type | None = None
    fields: tuple[tuple[str, Any], ...] = ()
    code: str | None = None

    def matches(self, fix: Any) -> bool:
        if self.op is not None:
            got = getattr(fix, "op", None)
            return isinstance(got, self.op) and all(
                _same(getattr(got, k, _MISSING), v) for k, v in self.fields)
        if self.code is not None:
            text = f"{getattr(fix, 'code', None) or ''}\n{fix}".lower()
            return self.code.lower() in text
        return False

    def __str__(self) -> str:
        if self.op is not None:
            args = ", ".join(f"{k}={v!r}" for k, v in self.fields)
            return f"{self.op.__name__}({args})"
        return f"code ~ {self.code!r}"


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    return bool(a == b)


def op(kind: type, **fields: Any) -> Expect:
    """The answer's fix as an operation of `shapecontract.fixes` (fields must match)."""
    return Expect(op=kind, fields=tuple(fields.items()))


def setting(name: str, value: Any) -> Expect:
    """The answer's fix as a layer setting: `SetSetting(setting=name, value=value)`."""
    from shapecontract.fixes import SetSetting

    return op(SetSetting, setting=name, value=value)


def code(text: str) -> Expect:
    """The answer's fix as a code substring."""
    return Expect(code=text)


@dataclass(frozen=True)
class Case:
    """One real shape bug: where it comes from, what the answer changes, both programs."""

    name: str
    framework: str
    """`keras` or `torch`."""
    kind: str
    """One of `KINDS`."""
    source: str
    """The public thread (question and accepted answer) the case is written from."""
    summary: str
    fix: str
    """The accepted answer's fix, in words."""
    expect: tuple[Expect, ...]
    """The answer's fix (any alternative it gives) as matchers."""
    buggy: Program
    control: Program
    silent: bool = False
    """The framework does not raise on the bug (it warns or broadcasts): the thread's symptom
    is a wrong result, not a crash."""
    stale: str | None = None
    """Set when the bug no longer reproduces on today's framework (Keras 3, torch 2): why."""
    known_miss: str | None = None
    """Why the engine neither catches nor explains it today (the bounded test: xfail, strict)."""
    no_right_fix: str | None = None
    """Why the engine's error carries no fix matching the answer's today (xfail, strict)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {sorted(KINDS)}")
        if self.framework not in ("keras", "torch"):
            raise ValueError(f"{self.name}: framework {self.framework!r}")


@dataclass
class Result:
    """What one case scored."""

    case: str
    framework: str
    kind: str
    reproduces: bool
    plain_error: str | None
    outcome: str
    """`caught`, `explained` or `missed`."""
    right_fix: bool
    false_alarm: bool
    suggestions: list[str] = field(default_factory=list)
    """The error's suggestions, as `kind: code-or-text [op]`."""
    guarded_error: str | None = None
    control_error: str | None = None

    @property
    def found(self) -> bool:
        return self.outcome in ("caught", "explained")


class BrokenCase(AssertionError):
    """A case whose control fails unguarded (or whose bug does not reproduce as declared)."""


def _quiet(f: Callable[[], Any]) -> BaseException | None:
    """Run `f`; its exception (None if it returned)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            f()
        except Exception as e:
            return e
    return None


def _describe(e: BaseException | None) -> str | None:
    if e is None:
        return None
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {first[:200]}"


def _suggestions(err: Any) -> list[Any]:
    return [s for v in getattr(err, "violations", ()) for s in v.suggestions]


def score(case: Case, *, strict: bool = True) -> Result:
    """Run `case` plain and guarded, its control plain and guarded. With `strict`, a control
    failing unguarded or a bug that does not reproduce as declared raises `BrokenCase`."""
    from shapecontract import ShapeContractError, explain

    plain_exc = _quiet(lambda: case.buggy(plain))
    reproduces = plain_exc is not None or case.silent
    if strict and plain_exc is not None and case.silent:
        raise BrokenCase(f"{case.name}: declared silent, but raises {_describe(plain_exc)}")
    if strict and reproduces == (case.stale is not None):
        raise BrokenCase(f"{case.name}: declared {'stale' if case.stale else 'reproducing'}, "
                         f"but the unguarded run gives {_describe(plain_exc)}")

    err: Any = None
    exc = _quiet(lambda: case.buggy(guarded))
    if isinstance(exc, ShapeContractError):
        outcome, err = "caught", exc
    elif exc is not None:
        err = explain(exc)
        outcome = "explained" if err is not None else "missed"
    else:
        outcome = "missed"
    fixes = _suggestions(err)
    right = any(e.matches(f) for f in fixes for e in case.expect)

    control_plain = _quiet(lambda: case.control(plain))
    if control_plain is not None and strict:
        raise BrokenCase(f"{case.name}: the control fails unguarded: {_describe(control_plain)}")
    control_guarded = _quiet(lambda: case.control(guarded))
    return Result(
        case=case.name, framework=case.framework, kind=case.kind, reproduces=reproduces,
        plain_error=_describe(plain_exc), outcome=outcome, right_fix=right,
        false_alarm=control_guarded is not None,
        suggestions=[f"{f.kind}: {f.code or str(f)[:120]}"
                     + (f" [{type(f.op).__name__}]" if f.op is not None else "") for f in fixes],
        guarded_error=_describe(exc), control_error=_describe(control_guarded))


def all_cases() -> list[Case]:
    """Every case: each module `tests/bugs/<framework>_*.py` (or `sfdata*.py`) that defines
    `CASES`, Keras first, then in module-name order."""
    import importlib
    import pkgutil

    names = sorted((m.name for m in pkgutil.iter_modules(__path__)),
                   key=lambda n: (not n.startswith("keras"), n != "keras_cases",
                                  n != "torch_cases", n))
    cases: list[Case] = []
    for mod in names:
        cases += getattr(importlib.import_module(f"{__name__}.{mod}"), "CASES", [])
    seen = [c.name for c in cases]
    dup = {n for n in seen if seen.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate case names: {sorted(dup)}")
    return cases


def select(cases: Iterable[Case], names: Iterable[str]) -> list[Case]:
    """The cases named, in that order."""
    by = {c.name: c for c in cases}
    return [by[n] for n in names]
