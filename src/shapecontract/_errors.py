"""Errors as data.

Design rules:
- A violation is a plain record (`Violation`); the error holds a list of them and renders them.
- `ShapeContractError` is both a `ValueError` and a `TypeError`, so code that already catches
  either keeps working.
- The error's top-level fields (`slot`, `axis`, ...) describe the first violation; `.errors()`
  gives every violation as a dict, for tools and the CLI.
- Classes report `__module__ = "shapecontract"`: users read the public name.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._render import render as _render

__all__ = [
    "ContractSyntaxError",
    "Fix",
    "Origin",
    "ShapeContractError",
    "ShapeContractWarning",
    "Violation",
]


KINDS = ("type", "dtype", "rank", "dim", "value", "message")
"""The closed set of violation kinds: wrong type, wrong dtype, wrong number of axes, a wrong
size on one axis, a value the framework itself rejects, and a message rebuilt from text alone."""

FIX_KINDS = ("insert_axis", "squeeze", "permute", "reshape", "cast", "convert", "no_reshape",
             "alternative", "advice", "repair")
ORIGIN_SOURCES = ("annotation", "argument", "binding", "pin", "element", "layer", "model",
                  "input_shape", "framework")


class Origin(str):
    """Where an expectation comes from, as text (what messages show) and as data.

    `source` is one of `ORIGIN_SOURCES`; `layer` names a layer (`LSTM 'lstm'`), `attribute` the
    layer attribute or config entry that fixes the size (`input_size`, `kernel`), `detail` any
    extra (`(3, 200)`). Being a `str`, it compares and prints as its text.
    """

    source: str
    layer: str | None
    attribute: str | None
    detail: str | None

    def __new__(cls, text: str, source: str = "annotation", layer: str | None = None,
                attribute: str | None = None, detail: str | None = None) -> Origin:
        if source not in ORIGIN_SOURCES:
            raise ValueError(f"origin source {source!r} is not one of {ORIGIN_SOURCES}")
        self = super().__new__(cls, text)
        self.source, self.layer, self.attribute, self.detail = source, layer, attribute, detail
        return self

    @classmethod
    def of_layer(cls, layer: str, attribute: str, detail: str | None = None) -> Origin:
        """`LSTM 'lstm' input_size`, or `LSTM 'lstm' kernel (3, 200)` with a detail."""
        text = f"{layer} {attribute}" + (f" {detail}" if detail else "")
        return cls(text, "layer", layer, attribute, detail)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Origin, (str(self), self.source, self.layer, self.attribute, self.detail))


class Fix(str):
    """A suggested fix, as the text shown and as data: `kind` (one of `FIX_KINDS`), `code`, the
    expression to paste (None for advice), and `op`, the change as an operation
    (`shapecontract.fixes`: `op.apply(value)` carries it out; None for advice). Being a `str`,
    it prints as its text."""

    kind: str
    code: str | None
    op: Any

    def __new__(cls, text: str, kind: str, code: str | None = None, op: Any = None) -> Fix:
        if kind not in FIX_KINDS:
            raise ValueError(f"fix kind {kind!r} is not one of {FIX_KINDS}")
        self = super().__new__(cls, text)
        self.kind, self.code, self.op = kind, code, op
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Fix, (str(self), self.kind, self.code, self.op))


class Reason(str):
    """A framework's reason for rejecting a value, as text and as data: the layer that rejects
    it (`Linear 'fc1'`) and fixes the adapter checked against the framework (`fixes`)."""

    layer: str | None
    fixes: tuple[Fix, ...]
    shape: tuple[Any, ...] | None
    """The shape the rejecting layer was given (it differs from the argument's when the
    model's code changed the value on the way: a concatenation, a reshape)."""

    def __new__(cls, text: str, layer: str | None = None, fixes: tuple[Fix, ...] = (),
                shape: tuple[Any, ...] | None = None) -> Reason:
        self = super().__new__(cls, text)
        self.layer, self.fixes, self.shape = layer, tuple(fixes), shape
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Reason, (str(self), self.layer, self.fixes, self.shape))


Location = tuple[Any, ...]
"""Where a violation is: a root and a path, e.g. `("argument", "X")`, `("return", 1)`,
`("input", "seq")`, `("element", 137, 0)`, `("element_spec", 0)`, `("target", "y")`. Path items
are ints (tuple items), strs (dict keys), `Attr`s (attributes of a pytree node) or
`(what, index)` pairs (`("model output", 0)`)."""

class Attr(str):
    """A location part that is an attribute (a pytree leaf in a dataclass or `equinox.Module`
    field): rendered `.name`, not `['name']`."""

    __slots__ = ()


_NAMED_ROOTS = {"argument": "argument {}", "field": "field {}", "input": "input '{}'", "output": "output '{}'",
                "target": "target '{}'", "element": "element {}"}


def render_location(loc: Location) -> str:
    """`("argument", "x", 1)` -> `argument x[1]`; `("element", 137, 0)` -> `element 137[0]`."""
    if not loc:
        return ""
    root, rest = loc[0], list(loc[1:])
    if root in _NAMED_ROOTS and rest:
        head = rest.pop(0)
        text = root if head is None else _NAMED_ROOTS[root].format(head)
    else:
        text = str(root)
    for part in rest:
        if isinstance(part, tuple):
            text += " (" + " ".join(str(p) for p in part) + ")"
        elif isinstance(part, Attr):
            text += f".{part}"
        elif isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f"[{part!r}]"
    return text


@dataclass
class Violation:
    """One broken expectation: where (location, axis, dim), what (expected vs actual), and why."""

    location: Location
    """See `Location`: `("argument", "x")`, `("return",)`, `("element", 137, 0)` ..."""
    kind: str
    """One of `KINDS`."""
    message: str
    axis: int | None = None
    dim: str | None = None
    expected: Any = None
    actual: Any = None
    origin: Origin | None = None
    """Where the expected value came from: the annotation, an earlier argument, a layer."""
    contract: str | None = None
    """The slot's whole expected shape, rendered with names, e.g. `(batch, 24, 3)`."""
    shape: tuple[Any, ...] | None = None
    """The actual shape of the value, when it has one."""
    suggestions: list[Fix] = field(default_factory=list)
    spec: Any = field(default=None, repr=False, compare=False)
    """The spec the value was checked against (the explainer's context for fixes)."""
    var: str = field(default="", repr=False, compare=False)
    """The expression fixes are written with (`x`, `batch[0]`)."""
    explained: bool = field(default=False, repr=False, compare=False)
    """True once a specific cause is given: no generic fix is added after it."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"violation kind {self.kind!r} is not one of {KINDS}")
        if isinstance(self.location, str):
            self.location = (self.location,)
        if self.origin is not None and not isinstance(self.origin, Origin):
            self.origin = Origin(str(self.origin))

    @property
    def slot(self) -> str:
        """The location as text: `argument x`, `return[1]`, `element 137[0]`."""
        return render_location(self.location)

    def to_dict(self) -> dict[str, Any]:
        """The violation as plain data (JSON-friendly apart from the values themselves)."""
        out: dict[str, Any] = {
            "location": self.location, "slot": self.slot, "kind": self.kind,
            "message": self.message, "axis": self.axis, "dim": self.dim,
            "expected": self.expected, "actual": self.actual,
            "origin": None if self.origin is None else str(self.origin),
            "contract": self.contract, "shape": self.shape,
            "suggestions": [str(s) for s in self.suggestions],
        }
        if self.origin is not None:
            out["origin_info"] = {"source": self.origin.source, "layer": self.origin.layer,
                                  "attribute": self.origin.attribute,
                                  "detail": self.origin.detail}
        return out

    def location_text(self) -> str:
        loc = self.slot
        if self.axis is not None:
            loc += f", axis {self.axis}"
            if self.dim is not None:
                loc += f" ({self.dim})"
        return loc


def _short(text: str, limit: int = 200) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return text[:half] + " ... " + text[-half:]


class ShapeContractError(ValueError, TypeError):
    """A value broke a shape contract. Structured: see `.errors()` and the fields below."""

    index: int | None = None
    """For a stream's element: its index."""

    # TensorFlow's autograph re-raises errors from converted code as new exceptions built from
    # their message; this attribute (autograph's own opt-out) lets ours through unchanged.
    ag_pass_through = True

    def __init__(
        self,
        violations: list[Violation] | str,
        function: str = "",
        bindings: dict[str, Any] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        if isinstance(violations, str):
            # Rebuilt from its message alone (e.g. re-raised by torch's DataLoader from a worker
            # process): keep the text, which already says everything.
            self._text = violations
            violations = [Violation(location=(), kind="message", message=violations)]
        else:
            self._text = ""
        if not violations:
            raise ValueError("ShapeContractError needs at least one violation")
        self.violations = list(violations)
        self.function = function
        self.bindings = dict(bindings or {})
        self.notes = list(notes or [])
        first = self.violations[0]
        self.slot = first.slot
        self.axis = first.axis
        self.dim = first.dim
        self.expected = first.expected
        self.actual = first.actual
        self.origin = first.origin
        self.suggestions = list(first.suggestions)
        self.worker = _worker()
        self.token = next(_TOKENS)
        """Unique in this process: how `recent_error` finds this error again inside a
        framework's error that kept only its text (see `carry`)."""
        self._carried = False
        super().__init__(self.render())
        _RECENT.append(self._twin())

    def carry(self) -> ShapeContractError:
        """Mark this error as handed to a framework that keeps only its text (a check run in
        TensorFlow's threads): its text then ends with its token, from which `recent_error`
        finds it (the twin, unmarked) in the framework's error. Returns self."""
        self._carried = True
        return self

    def _twin(self) -> ShapeContractError:
        """The same error, never raised: no traceback, so it keeps none of the call's frames
        (and the arrays in them) alive."""
        twin = ShapeContractError.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.args = self.args
        return twin

    def errors(self) -> list[dict[str, Any]]:
        """Every violation as a plain dict (JSON-friendly apart from the values themselves)."""
        out = []
        for v in self.violations:
            d = v.to_dict()
            d["bindings"] = dict(self.bindings)
            d["function"] = self.function
            out.append(d)
        return out

    def render(self) -> str:
        if self._text:
            return self._text
        n = len(self.violations)
        where = f" ({self.worker})" if getattr(self, "worker", None) else ""
        head = f"{self.function}{where}: " if self.function else (f"{self.worker}: " if where else "")
        lines = [f"{head}{n} contract violation{'s' if n != 1 else ''}"]
        for v in self.violations:
            lines.append(f"  {v.location_text()}")
            tail = []
            if v.contract is not None:
                c = f"contract {v.contract}"
                if v.origin:
                    c += f" ({v.origin})"
                tail.append(c)
            elif v.origin:
                tail.append(v.origin)
            if v.shape is not None:
                tail.append(f"got shape {_fmt_shape(v.shape)}")
            msg = "    " + v.message
            if tail:
                msg += "  [" + "; ".join(tail) + "]"
            lines.append(_short(msg, 400))
            for s in v.suggestions:
                label = "hint" if getattr(s, "kind", "") == "advice" else "fix"
                lines.append(f"    {label}: " + s)
        if self.bindings:
            lines.append("  bindings: " + _fmt_bindings(self.bindings))
        for note in self.notes:
            lines.append("  note: " + note)
        if getattr(self, "_carried", False):
            lines.append(f"  [{_TOKEN_MARK} {self.token}]")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str | None:
        """The error as a picture in a notebook: `shapecontract.picture.to_html(self)`."""
        return _render(self, "html")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.violations, self.function, self.bindings, self.notes))


_WORKER_NAMERS: list[Callable[[], str | None]] = []
"""Per distributed framework, a function naming the worker this process or thread is (`rank 1
of 2`, `replica 0 of 2`), or None; registered by the framework packages
(`register_worker_namer`); each reads only what is already imported."""


def register_worker_namer(namer: Callable[[], str | None]) -> None:
    """Let `namer()` name the worker of a distributed run that raised an error."""
    if namer not in _WORKER_NAMERS:
        _WORKER_NAMERS.append(namer)


def _worker() -> str | None:
    """Which worker of a distributed run raised the error: the name a deferred check carries
    (`as_worker`), else the first registered namer's answer (torch.distributed's rank, a
    tf.distribute replica). A namer that fails names nothing rather than losing the error."""
    named = _AS_WORKER.get()
    if named is not None:
        return named
    for namer in _WORKER_NAMERS:
        try:
            name = namer()
        except Exception:  # a half torn-down process group or runtime
            continue
        if name is not None:
            return name
    return None


_AS_WORKER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shapecontract_worker", default=None)


def current_worker() -> str | None:
    """The worker an error raised here would name (see `_worker`)."""
    return _worker()


@contextlib.contextmanager
def as_worker(name: str | None) -> Iterator[None]:
    """Errors raised in this block name `name` as their worker: a check that runs later, in a
    framework's own thread (a tf.function graph's run-time check), names the replica that
    traced it."""
    if name is None:
        yield
        return
    token = _AS_WORKER.set(name)
    try:
        yield
    finally:
        _AS_WORKER.reset(token)


_TOKENS = itertools.count(1)
_TOKEN_MARK = "shapecontract error"
_TOKEN_RE = re.compile(r"\[shapecontract error (\d+)\]")
_RECENT: collections.deque[ShapeContractError] = collections.deque(maxlen=16)
"""Twins of the last errors raised, in any thread: a framework that runs our check in a thread
of its own (tf.data) re-raises it as its own error type, with our text (and the token `carry`
added) inside. Twins carry the violations but no traceback: the library keeps no value of a
failed call alive."""


def recent_error(exc: BaseException) -> ShapeContractError | None:
    """The ShapeContractError that `exc` (a framework's error) carries, found by identity,
    never by comparing texts: `exc` itself; else ours on its `__cause__`/`__context__` chain
    (Keras re-raises a layer's error as `type(e)(its message + context)` while handling it);
    else the recent error whose token `exc`'s text names (an error `carry`-marked before it
    was handed to a framework that keeps only text: TensorFlow's threads). A
    ShapeContractError rebuilt from text alone with none of these gives itself."""
    if isinstance(exc, ShapeContractError) and not exc._text:
        return _untagged(exc)
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc.__cause__, exc.__context__]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ShapeContractError) and not e._text:
            return _untagged(e)
        todo += [e.__cause__, e.__context__]
    try:
        found = _TOKEN_RE.findall(str(exc))
    except Exception:  # a framework's error whose str() fails: nothing to read
        found = []
    for token in reversed(found):
        for err in reversed(_RECENT):
            if getattr(err, "token", None) == int(token):
                return err
    return exc if isinstance(exc, ShapeContractError) else None


def _untagged(err: ShapeContractError) -> ShapeContractError:
    """`err`, or, when it was marked for a framework, its unmarked twin."""
    if not getattr(err, "_carried", False):
        return err
    return next((t for t in reversed(_RECENT) if t.token == err.token), err)


class ContractSyntaxError(ValueError):
    """A malformed annotation or contract, raised when it is written or decorated."""

    def __init__(self, message: str, source: str | None = None, position: int | None = None):
        self.source = source
        self.position = position
        self.reason = message
        text = message
        if source is not None:
            text += f"\n    {source!r}"
            if position is not None:
                text += "\n     " + " " * position + "^"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.source, self.position))


class Report:
    """Base of the reports (validate, compatible, port.compare): truthy when nothing is wrong."""

    def problems(self) -> list[Any]:
        return list(getattr(self, "differences", []))

    @property
    def ok(self) -> bool:
        return not self.problems()

    def __bool__(self) -> bool:
        return self.ok


class ShapeContractWarning(UserWarning):
    """Issued instead of raising when the mode is `warn`."""


def _fmt_shape(shape: Any) -> str:
    items = ["?" if s is None else str(s) for s in shape]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def _fmt_bindings(bindings: dict[str, Any]) -> str:
    parts = []
    for k, v in bindings.items():
        if isinstance(v, tuple):
            parts.append(f"*{k}={_fmt_shape(v)}")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


for _cls in (ShapeContractError, ContractSyntaxError, ShapeContractWarning, Violation, Origin,
             Fix):
    _cls.__module__ = "shapecontract"
