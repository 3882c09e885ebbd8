"""Contract coverage (layer L0): which contracts exist and how many checks ran, on request.

Design rules:
- Nothing is counted unless a session is active (`start()`, e.g. by the pytest plugin): a
  passing check then costs exactly what it costs without this module. Every compiled checker
  is registered (a weak reference, at compile time only); `start()` swaps each live checker's
  code for a counting twin (the same generated source with `__sc_cov[0] += 1` on its first
  line, so line numbers and tracebacks do not move), and `stop()` swaps the plain code back.
  A checker compiled during a session gets its counting code at once.
- Nothing is kept alive: checkers are held weakly; a session keeps only small records (a
  name, a kind, a one-int list counter), so a function that dies still shows in the summary.
- Callers say what a checker is for (`tag`: a decorated function, a model's guard, a stream's
  elements) and what was set up (`guarded`, `unchecked`); the summary is plain data (JSON).
"""

from __future__ import annotations

import types
import weakref
from typing import Any

__all__ = ["COUNTER", "HOOK_LINE", "HOOK_LINE_KEEP", "Session", "active", "declare", "guarded",
           "register", "start", "stop", "summary", "tag", "unchecked"]

COUNTER = "__sc_cov"
HOOK_LINE = "    __tracebackhide__ = True"
"""The first body line of every generated checker; its counting twin adds the counter. (A
function with a parameter named `__tracebackhide__` gets `HOOK_LINE_KEEP`: its argument is
left as it was.)"""
HOOK_LINE_KEEP = "    __tracebackhide__ = __tracebackhide__"


class _Record:
    """What a session keeps of one checker: what it checks and how often it ran."""

    __slots__ = ("counter", "kind", "name")

    def __init__(self) -> None:
        self.counter = [0]  # the very list the counting code increments
        self.kind = "other"
        self.name = ""


class _Entry:
    """One live checker (held only while it lives): its record and its two codes."""

    __slots__ = ("_counting", "filename", "plain", "record", "source")

    def __init__(self, plain: types.CodeType, source: str, filename: str) -> None:
        self.record = _Record()
        self.plain = plain
        self.source = source
        self.filename = filename
        self._counting: types.CodeType | None = None

    def counting(self) -> types.CodeType:
        if self._counting is None:
            head, hook, rest = self.source.split("\n", 2)
            src = "\n".join((head, f"{hook}; {COUNTER}[0] += 1", rest))
            if hook not in (HOOK_LINE, HOOK_LINE_KEEP):  # never count silently nothing
                raise RuntimeError(f"shapecontract: checker {self.filename} has no line "
                                   f"{HOOK_LINE.strip()!r} to count on")
            module = compile(src, self.filename, "exec")
            self._counting = next(c for c in module.co_consts if isinstance(c, types.CodeType)
                                  and c.co_name == self.plain.co_name)
        return self._counting


class Session:
    """What one coverage session saw (small records only; no checker, code or source)."""

    def __init__(self) -> None:
        self.entries: list[_Record] = []
        self.guards: list[tuple[str, str]] = []  # (kind, name): guard() calls
        self.unchecked: list[str] = []  # functions @contract returned as they were (mode off)
        self.silenced: dict[str, int] = {}  # contract name -> violations mode `off` let pass
        self._seen: set[int] = set()

    def add(self, r: _Record) -> None:
        if id(r) not in self._seen:
            self._seen.add(id(r))
            self.entries.append(r)


_live: weakref.WeakKeyDictionary[Any, _Entry] = weakref.WeakKeyDictionary()
_session: Session | None = None
_depth = 0


def register(fn: Any, source: str, filename: str) -> None:
    """A checker was just compiled from `source` (its first body line is `HOOK_LINE`)."""
    e = _Entry(fn.__code__, source, filename)
    fn.__globals__[COUNTER] = e.record.counter
    _live[fn] = e
    s = _session
    if s is not None:
        s.add(e.record)
        fn.__code__ = e.counting()


def tag(fn: Any, kind: str, name: str) -> None:
    """Say what a registered checker checks: kind `function`, `model` or `stream`."""
    e = _live.get(fn)
    if e is not None:
        e.record.kind, e.record.name = kind, name


def declare(kind: str, name: str) -> None:
    """A checker for `name` will be compiled later (a function whose annotations resolve on
    its first call): it counts as existing, with 0 calls, until then."""
    if _session is not None:
        r = _Record()
        r.kind, r.name = kind, name
        _session.add(r)


def guarded(kind: str, name: str) -> None:
    """A model (`kind="model"`) or a stream (`"stream"`) got guarded."""
    if _session is not None:
        _session.guards.append((kind, name))


def unchecked(name: str) -> None:
    """`@contract` returned `name` undecorated (mode off when it was decorated)."""
    if _session is not None:
        _session.unchecked.append(name)


def silenced(name: str) -> None:
    """A check found a violation and mode `off` let the call through (the error path only)."""
    if _session is not None:
        _session.silenced[name] = _session.silenced.get(name, 0) + 1


def active() -> bool:
    return _session is not None


def start() -> Session:
    """Start counting: every live checker counts from now on (counters from 0). Nested
    starts (pytest run in-process by pytest) share the session; the outermost stop ends it."""
    global _session, _depth
    _depth += 1
    if _session is not None:
        return _session
    s = Session()
    for fn, e in list(_live.items()):
        e.record.counter[0] = 0
        s.add(e.record)
        fn.__code__ = e.counting()
    _session = s
    return s


def stop() -> Session | None:
    """Stop counting (the outermost stop): every live checker runs its plain code again."""
    global _session, _depth
    _depth = max(0, _depth - 1)
    if _depth:
        return _session
    s, _session = _session, None
    for fn, e in list(_live.items()):
        fn.__code__ = e.plain
    return s


def summary(s: Session) -> dict[str, Any]:
    """The session as plain data: counts, names, and the decorated functions never called."""
    checks = {"functions": 0, "models": 0, "streams": 0, "other": 0}
    functions: dict[str, int] = {}
    plural = {"function": "functions", "model": "models", "stream": "streams"}
    for e in s.entries:
        checks[plural.get(e.kind, "other")] += e.counter[0]
        if e.kind == "function":
            functions[e.name] = functions.get(e.name, 0) + e.counter[0]
    models = [n for k, n in s.guards if k == "model"]
    streams = [n for k, n in s.guards if k == "stream"]
    return {
        "functions": {
            "decorated": len(functions),
            "called": sum(1 for n in functions.values() if n),
            "never_called": sorted(k for k, n in functions.items() if not n),
            "calls": dict(sorted(functions.items())),
            "unchecked": sorted(set(s.unchecked)),
        },
        "models": {"guarded": len(models), "names": models},
        "streams": {"guarded": len(streams), "names": streams},
        "checks": {"total": sum(checks.values()), **checks},
        "silenced": dict(sorted(s.silenced.items())),
    }
