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

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "ContractSyntaxError",
    "ShapeContractError",
    "ShapeContractWarning",
    "Violation",
]


@dataclass
class Violation:
    """One broken expectation: where (slot, axis, dim), what (expected vs actual), and why."""

    slot: str
    """`argument x`, `return`, `return[0]`, `yield`, `input 0` ..."""
    kind: str
    """One of `type`, `dtype`, `rank`, `dim`, `value`."""
    message: str
    axis: int | None = None
    dim: str | None = None
    expected: Any = None
    actual: Any = None
    origin: str | None = None
    """Where the expected value came from: the annotation, an earlier argument, a layer."""
    contract: str | None = None
    """The slot's whole expected shape, rendered with names, e.g. `(batch, 24, 3)`."""
    shape: tuple[Any, ...] | None = None
    """The actual shape of the value, when it has one."""
    suggestions: list[str] = field(default_factory=list)

    def location(self) -> str:
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
            violations = [Violation(slot="", kind="message", message=violations)]
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
        super().__init__(self.render())

    def errors(self) -> list[dict[str, Any]]:
        """Every violation as a plain dict (JSON-friendly apart from the values themselves)."""
        out = []
        for v in self.violations:
            d = asdict(v)
            d["bindings"] = dict(self.bindings)
            d["function"] = self.function
            out.append(d)
        return out

    def render(self) -> str:
        if self._text:
            return self._text
        n = len(self.violations)
        head = f"{self.function}: " if self.function else ""
        lines = [f"{head}{n} contract violation{'s' if n != 1 else ''}"]
        for v in self.violations:
            lines.append(f"  {v.location()}")
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
                lines.append("    fix: " + s)
        if self.bindings:
            lines.append("  bindings: " + _fmt_bindings(self.bindings))
        for note in self.notes:
            lines.append("  note: " + note)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.violations, self.function, self.bindings, self.notes))


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


for _cls in (ShapeContractError, ContractSyntaxError, ShapeContractWarning, Violation):
    _cls.__module__ = "shapecontract"
