"""Dims: the dim-string parser and dim expressions (layer L1).

Design rules:
- A dim string (jaxtyping syntax) parses once, cached by the string, into frozen `Dim` nodes.
- Symbolic dims (`t-1`, `2*h`) are parsed by a small recursive-descent parser into a tree and
  evaluated by walking it: never `eval`ed.
- Every malformed string raises `ContractSyntaxError` pointing at the bad token, aimed at the
  common mistakes (commas, `#` at the end, two variadics).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from ._errors import ContractSyntaxError

__all__ = ["Anon", "Dim", "Expr", "Fixed", "Named", "Variadic", "dim_size", "dim_text",
           "expr_source", "parse_dims"]


@dataclass(frozen=True)
class Named:
    name: str
    broadcast: bool = False
    label: str | None = None  # jaxtyping's `label=dim` documentation label

    def __str__(self) -> str:
        return (f"{self.label}=" if self.label else "") + ("#" if self.broadcast else "") + self.name


@dataclass(frozen=True)
class Fixed:
    size: int
    broadcast: bool = False
    label: str | None = None  # `features=3`: the dim's meaning, for messages

    def __str__(self) -> str:
        return (f"{self.label}=" if self.label else "") + ("#" if self.broadcast else "") + str(self.size)


@dataclass(frozen=True)
class Expr:
    """A symbolic dim such as `t-1`: `tree` is a nested tuple, `names` the dims it reads."""

    text: str
    tree: Any
    names: tuple[str, ...]
    broadcast: bool = False
    label: str | None = None

    def __str__(self) -> str:
        return (f"{self.label}=" if self.label else "") + ("#" if self.broadcast else "") + self.text

    def evaluate(self, env: dict[str, Any]) -> int | None:
        """The value under `env`, or None when a name in it is unbound or unknown."""
        return _eval(self.tree, env)


@dataclass(frozen=True)
class Anon:
    label: str = "_"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Variadic:
    name: str | None  # None: anonymous (`...` or `*_`); "": a bare `*` (named, shared)
    broadcast: bool = False

    def __str__(self) -> str:
        if self.name is None:
            return "..."
        if not self.name:  # a bare `*`: `*#` would end with `#`, which is refused
            return "#*" if self.broadcast else "*"
        return ("*#" if self.broadcast else "*") + self.name


Dim = Named | Fixed | Expr | Anon | Variadic


# ---------------------------------------------------------------------- expressions
_TOKEN = re.compile(r"\s*(?:([0-9]+)|([A-Za-z_][A-Za-z_0-9]*)|(//|[-+*()]))")


def _parse_expr(text: str, where: str, offset: int) -> tuple[Any, tuple[str, ...]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].lstrip()
            col = offset + len(text) - len(bad)
            raise ContractSyntaxError(
                f"unexpected {bad[0]!r} in symbolic dim {text!r}: only integers, dim names, "
                "+ - * // and parentheses are allowed",
                where,
                col,
            )
        if m.group(1):
            if len(m.group(1)) > _MAX_DIGITS:
                raise ContractSyntaxError(f"a number of {len(m.group(1))} digits is not a size",
                                          where, offset + m.start(1))
            tokens.append(("num", int(m.group(1)), offset + m.start(1)))
        elif m.group(2):
            tokens.append(("name", m.group(2), offset + m.start(2)))
        else:
            tokens.append(("op", m.group(3), offset + m.start(3)))
        pos = m.end()
    names: list[str] = []
    i = 0

    def peek() -> tuple[str, Any, int] | None:
        return tokens[i] if i < len(tokens) else None

    def fail(msg: str, tok: tuple[str, Any, int] | None) -> ContractSyntaxError:
        col = tok[2] if tok else offset + len(text)
        return ContractSyntaxError(f"{msg} in symbolic dim {text!r}", where, col)

    def atom() -> Any:
        nonlocal i
        tok = peek()
        if tok is None:
            raise fail("expression ends too early", tok)
        i += 1
        if tok[0] == "num":
            return ("num", tok[1])
        if tok[0] == "name":
            if tok[1] not in names:
                names.append(tok[1])
            return ("name", tok[1])
        if tok[1] == "(":
            node = add()
            close = peek()
            if close is None or close[1] != ")":
                raise fail("missing ')'", close)
            i += 1
            return node
        if tok[1] == "-":
            return ("neg", atom())
        raise fail(f"unexpected {tok[1]!r}", tok)

    def mul() -> Any:
        nonlocal i
        node = atom()
        while (tok := peek()) is not None and tok[1] in ("*", "//"):
            i += 1
            right = atom()
            if tok[1] == "//" and right == ("num", 0):
                raise fail("division by zero", tok)
            node = (tok[1], node, right)
        return node

    def add() -> Any:
        nonlocal i
        node = mul()
        while (tok := peek()) is not None and tok[1] in ("+", "-"):
            i += 1
            node = (tok[1], node, mul())
        return node

    tree = add()
    if i != len(tokens):
        raise fail(f"unexpected {tokens[i][1]!r}", tokens[i])
    return tree, tuple(names)


def _eval(node: Any, env: dict[str, Any]) -> int | None:
    op = node[0]
    if op == "num":
        return node[1]  # type: ignore[no-any-return]
    if op == "name":
        v = env.get(node[1])
        return v if type(v) is int else None
    if op == "neg":
        v = _eval(node[1], env)
        return None if v is None else -v
    a = _eval(node[1], env)
    b = _eval(node[2], env)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a // b  # ZeroDivisionError when a bound divisor is 0: the caller says so


def expr_source(node: Any, name_source: Any) -> str:
    """Python source for `node`, with each dim name replaced by `name_source(name)`."""
    op = node[0]
    if op == "num":
        return str(node[1])
    if op == "name":
        return str(name_source(node[1]))
    if op == "neg":
        return f"(-{expr_source(node[1], name_source)})"
    return f"({expr_source(node[1], name_source)} {op} {expr_source(node[2], name_source)})"


# ---------------------------------------------------------------------- dim strings
_MAX_DIGITS = 18  # sizes fit in 64 bits; longer numbers are a typo (or an attack on int())


def parse_dims(dim_str: str) -> tuple[Dim, ...]:
    """Parse a jaxtyping dim string such as `"batch *rest 3 t-1"` into `Dim` nodes."""
    if not isinstance(dim_str, str):  # before the cache: a list is not even hashable
        raise ContractSyntaxError(
            f"a shape must be a string of space-separated dims, not {type(dim_str).__name__}"
            + (f" ({' '.join(map(str, dim_str))!r} as one string?)"
               if isinstance(dim_str, (list, tuple)) else "")
        )
    return _parse_dims(dim_str)


@functools.lru_cache(maxsize=4096)
def _parse_dims(dim_str: str) -> tuple[Dim, ...]:
    dims: list[Dim] = []
    variadic_at: int | None = None
    for m in re.finditer(r"\S+", dim_str):
        token, col = m.group(), m.start()
        dim = _parse_token(token, dim_str, col)
        if isinstance(dim, Variadic):
            if variadic_at is not None:
                raise ContractSyntaxError(
                    "only one variadic dim (`*name` or `...`) is allowed per array", dim_str, col
                )
            variadic_at = len(dims)
        dims.append(dim)
    return tuple(dims)


def _parse_token(token: str, where: str, col: int) -> Dim:
    if "," in token and "(" not in token:
        raise ContractSyntaxError(
            "separate axes with spaces, not commas", where, col + token.index(",")
        )
    if token.endswith("#") and len(token) > 1:
        raise ContractSyntaxError(
            "a broadcastable dim takes its # at the start (`#n`), not at the end",
            where,
            col + len(token) - 1,
        )
    if token == "...":
        return Variadic(None)
    if "..." in token:
        raise ContractSyntaxError("'...' must stand on its own", where, col)
    broadcast = variadic = anonymous = False
    body, start = token, col
    label = None
    while body:
        c = body[0]
        if c == "#":
            if broadcast:
                raise ContractSyntaxError("'#' is given twice", where, start)
            broadcast = True
        elif c == "*":
            if variadic:
                raise ContractSyntaxError("'*' is given twice", where, start)
            variadic = True
        elif c == "_":
            if anonymous:
                raise ContractSyntaxError("'_' is given twice (`__name`)", where, start)
            anonymous = True
        elif c == "?":
            raise ContractSyntaxError(
                "'?' (pytree-path dims) is a jaxtyping feature shapecontract does not support",
                where,
                start,
            )
        elif body.count("=") == 1:
            # jaxtyping's documentation label: `label=dim` checks `dim`.
            eq = body.index("=")
            label = body[:eq]
            if not label.isidentifier():
                raise ContractSyntaxError(f"the label {label!r} is not a name", where, start)
            start += eq + 1
            body = body[eq + 1 :]
            continue
        else:
            break
        body = body[1:]
        start += 1
    if "=" in body:
        raise ContractSyntaxError("a dim takes at most one `label=` prefix", where, col)
    if anonymous:
        if broadcast:
            raise ContractSyntaxError("a dim cannot be both anonymous and broadcastable (`#_`)", where, col)
        if body and not body.isidentifier():
            raise ContractSyntaxError(
                f"an anonymous dim is `_` or `_name`; {token!r} is neither", where, col
            )
        return Variadic(None) if variadic else Anon(token)
    if not body:
        if variadic:  # jaxtyping: `*` is a variadic whose name is empty, shared by the call
            return Variadic("", broadcast)
        raise ContractSyntaxError(f"{token!r} has no dim name", where, col)
    if body.isidentifier():
        return Variadic(body, broadcast) if variadic else Named(body, broadcast, label)
    if body.isascii() and body.isdigit():  # '²' and '٣' are digits to str, not sizes
        if variadic:
            raise ContractSyntaxError("a fixed size cannot be variadic (`*4`)", where, col)
        if len(body) > _MAX_DIGITS:
            raise ContractSyntaxError(f"a fixed size of {len(body)} digits is not a size", where, col)
        return Fixed(int(body), broadcast, label)
    if body.lstrip("-").isascii() and body.lstrip("-").isdigit():
        raise ContractSyntaxError("a fixed size cannot be negative", where, start)
    if variadic:
        raise ContractSyntaxError("a symbolic dim cannot be variadic (`*a+b`)", where, col)
    tree, names = _parse_expr(body, where, start)
    if tree[0] == "num":  # e.g. "(3)": a fixed size in disguise
        return Fixed(tree[1], broadcast, label)
    return Expr(body, tree, names, broadcast, label)


def dim_size(d: Any, bindings: dict[str, Any]) -> int | None:
    """The size a dim stands for under `bindings`, or None when it is open."""
    if isinstance(d, Fixed):
        return d.size
    if isinstance(d, Named):
        v = bindings.get(d.name)
        return v if type(v) is int else None
    if isinstance(d, Expr):
        try:
            return d.evaluate(bindings)
        except ZeroDivisionError:
            return None  # the checks of values say so; a static comparison cannot
    return None


def dim_text(d: Any) -> str:
    """A dim as a shape shows it: `batch`, `24`, `t-1`, `*rest` (labels dropped)."""
    b = "#" if getattr(d, "broadcast", False) else ""
    if isinstance(d, Named):
        return b + d.name
    if isinstance(d, Expr):
        return b + d.text
    if isinstance(d, Fixed):
        return b + str(d.size)
    return str(d)


def dim_label(d: Any) -> str | None:
    """The name a message gives a dim: its name, its label (`features=3`), or its expression."""
    if isinstance(d, Named):
        return d.name
    if isinstance(d, Fixed):
        return d.label
    if isinstance(d, Expr):
        return d.label or d.text
    return None
