"""Dim strings and array specs: the one parser.

Design rules:
- A dim string (jaxtyping syntax) parses once, cached by the string, into frozen `Dim` nodes.
- Symbolic dims (`t-1`, `2*h`) are parsed by a small recursive-descent parser into a tree and
  evaluated by walking it: never `eval`ed.
- Every malformed string raises `ContractSyntaxError` pointing at the bad token, aimed at the
  common mistakes (commas, `#` at the end, two variadics).
- `ArraySpec` is what a slot expects of one array: array types, dtype names, dims. It is built
  from jaxtyping's own annotation classes (ours are jaxtyping's), so both spellings agree.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Union

from ._errors import ContractSyntaxError

__all__ = [
    "Anon",
    "ArraySpec",
    "Dim",
    "Expr",
    "Fixed",
    "Named",
    "DictSpec",
    "ModelSpec",
    "TupleSpec",
    "Variadic",
    "parse_dims",
]


# ----------------------------------------------------------------------------- dims
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
    name: str | None  # None: anonymous (`...` or `*_`)
    broadcast: bool = False

    def __str__(self) -> str:
        if self.name is None:
            return "..."
        return ("*#" if self.broadcast else "*") + self.name


Dim = Union[Named, Fixed, Expr, Anon, Variadic]


# ---------------------------------------------------------------------- expressions
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(//|[-+*()]))")


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
            node = (tok[1], node, atom())
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
    if b == 0:
        return None
    return a // b


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
@functools.lru_cache(maxsize=4096)
def parse_dims(dim_str: str) -> tuple[Dim, ...]:
    """Parse a jaxtyping dim string such as `"batch *rest 3 t-1"` into `Dim` nodes."""
    if not isinstance(dim_str, str):
        raise ContractSyntaxError(
            f"a shape must be a string of space-separated dims, not {type(dim_str).__name__}"
        )
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
        raise ContractSyntaxError(f"{token!r} has no dim name", where, col)
    if body.isidentifier():
        return Variadic(body, broadcast) if variadic else Named(body, broadcast, label)
    if body.isdigit():
        if variadic:
            raise ContractSyntaxError("a fixed size cannot be variadic (`*4`)", where, col)
        return Fixed(int(body), broadcast, label)
    if body.lstrip("-").isdigit():
        raise ContractSyntaxError("a fixed size cannot be negative", where, start)
    if variadic:
        raise ContractSyntaxError("a symbolic dim cannot be variadic (`*a+b`)", where, col)
    tree, names = _parse_expr(body, where, start)
    if tree[0] == "num":  # e.g. "(3)": a fixed size in disguise
        return Fixed(tree[1], broadcast, label)
    return Expr(body, tree, names, broadcast, label)


# ----------------------------------------------------------------------- array specs
class _AnyArray:
    """Marker: any array of a supported framework (`shapecontract.Array`)."""


@dataclass(frozen=True)
class ArraySpec:
    """What one slot expects of one array."""

    dims: tuple[Dim, ...]
    dtypes: frozenset[str] | None  # None: any dtype
    dtype_label: str  # "Float", "Int32", "Shaped" ...
    array_types: tuple[Any, ...]  # classes; () means any supported array (shapecontract.Array)
    optional: bool = False
    dtype_patterns: tuple[re.Pattern[str], ...] = ()
    origins: tuple[str | None, ...] = field(default=(), compare=False)
    """Per dim, where its expectation comes from (e.g. "LSTM 'lstm' input_size"); may be empty."""
    advice: tuple[str, ...] = field(default=(), compare=False)
    """Extra fix advice from whoever stated the spec (an adapter), shown when the slot fails."""
    variadic_at: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for i, d in enumerate(self.dims):
            if isinstance(d, Variadic):
                object.__setattr__(self, "variadic_at", i)

    @property
    def min_rank(self) -> int:
        return len(self.dims) - (1 if self.variadic_at is not None else 0)

    def dims_text(self) -> str:
        return " ".join(str(d) for d in self.dims)

    def expanded(self, rank: int) -> ArraySpec:
        """This spec read at `rank`: its variadic dim spelled out as anonymous axes."""
        if self.variadic_at is None or rank < self.min_rank:
            return self
        i, extra = self.variadic_at, rank - self.min_rank
        dims = self.dims[:i] + (Anon("_"),) * extra + self.dims[i + 1:]
        origins = self.origins
        if origins:
            origins = origins[:i] + (None,) * extra + origins[i + 1:]
        return ArraySpec(dims, self.dtypes, self.dtype_label, self.array_types, self.optional,
                         self.dtype_patterns, origins, self.advice)

    def __str__(self) -> str:
        types = "Array" if not self.array_types else " | ".join(
            getattr(t, "__name__", repr(t)) for t in self.array_types
        )
        text = f'{self.dtype_label}[{types}, "{self.dims_text()}"]'
        return text + " | None" if self.optional else text


@dataclass(frozen=True)
class OneOf:
    """Alternative array specs told apart by rank (torch: batched or unbatched input)."""

    options: tuple[ArraySpec, ...]
    optional: bool = False

    def pick(self, rank: int) -> ArraySpec | None:
        for o in self.options:
            if (o.variadic_at is None and rank == len(o.dims)) or (
                o.variadic_at is not None and rank >= o.min_rank
            ):
                return o
        return None

    def __str__(self) -> str:
        return " or ".join(str(o) for o in self.options)


@dataclass(frozen=True)
class TupleSpec:
    """A fixed-length tuple whose items are specs (or None for an unchecked item)."""

    items: tuple[Any, ...]
    optional: bool = False
    kinds: tuple[type, ...] = (tuple,)
    """Accepted exact types: `(tuple,)`, a NamedTuple class, or `(tuple, list)` for streams
    (torch's DataLoader collates a tuple of tensors into a list)."""


@dataclass(frozen=True)
class DictSpec:
    """A dict (a TypedDict annotation) whose listed keys hold specs."""

    keys: tuple[str, ...]
    items: tuple[Any, ...]
    optional: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """`Model[keras.Model, "batch timesteps features -> batch 1"]`: what a built model takes
    and returns, checked against the model's own derived contract."""

    model_type: Any
    inputs: tuple[tuple[Dim, ...], ...]
    outputs: tuple[tuple[Dim, ...], ...]
    text: str
    optional: bool = False

    def __str__(self) -> str:
        return f'Model[{getattr(self.model_type, "__name__", "Any")}, "{self.text}"]'


def parse_model(text: str) -> tuple[tuple[tuple[Dim, ...], ...], tuple[tuple[Dim, ...], ...]]:
    """`"batch t f -> batch 1"` (inputs and outputs separated by `,`) into dim tuples."""
    if not isinstance(text, str) or text.count("->") != 1:
        raise ContractSyntaxError("a model spec reads 'inputs -> outputs', e.g. "
                                  "'batch timesteps features -> batch 1'", str(text))
    left, right = text.split("->")
    ins = tuple(parse_dims(part.strip()) for part in left.split(","))
    outs = tuple(parse_dims(part.strip()) for part in right.split(","))
    return ins, outs


def _jaxtyping_array_base() -> Any:
    jt = sys.modules.get("jaxtyping")
    return None if jt is None else jt.AbstractArray


def is_array_hint(hint: Any) -> bool:
    base = _jaxtyping_array_base()
    return base is not None and isinstance(hint, type) and issubclass(hint, base) and hint is not base


def array_spec_from_jaxtyping(hint: Any, optional: bool = False) -> ArraySpec:
    """Our spec for one jaxtyping array class (`jaxtyping.Float[np.ndarray, "b t"]`)."""
    dims = parse_dims(hint.dim_str)
    raw = hint.dtypes
    if isinstance(raw, (tuple, list)):
        names = frozenset(d for d in raw if isinstance(d, str))
        patterns = tuple(d for d in raw if isinstance(d, re.Pattern))
    else:  # jaxtyping's "any dtype" sentinel
        names, patterns = None, ()  # type: ignore[assignment]
    at = hint.array_type
    if at is _AnyArray or getattr(at, "__shapecontract_any_array__", False):
        types: tuple[Any, ...] = ()
    elif at is Any:
        types = (Any,)
    else:
        types = (at,)
    return ArraySpec(dims, names, hint.dtype.__name__, types, optional, patterns)


def spec_from_hint(hint: Any) -> ArraySpec | TupleSpec | DictSpec | OneOf | ModelSpec | None:
    """The shape spec a type hint states, or None when it states none (checked by beartype).

    Raises `ContractSyntaxError` for hints that mix arrays into a structure this version
    cannot check, rather than check them silently wrong.
    """
    import typing

    if is_array_hint(hint):
        return array_spec_from_jaxtyping(hint)
    if isinstance(hint, ModelSpec):
        return hint
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or (sys.version_info >= (3, 10) and _is_uniontype(origin)):
        members = [a for a in args if a is not type(None)]
        optional = len(members) < len(args)
        specs = [spec_from_hint(m) for m in members]
        if all(s is None for s in specs):
            return None
        if all(isinstance(s, ArraySpec) for s in specs):
            first = specs[0]
            assert isinstance(first, ArraySpec)
            same = all(
                isinstance(s, ArraySpec) and s.dims == first.dims and s.dtypes == first.dtypes
                for s in specs
            )
            if same:
                types: tuple[Any, ...] = ()
                if all(s.array_types for s in specs if isinstance(s, ArraySpec)):
                    types = tuple(t for s in specs if isinstance(s, ArraySpec) for t in s.array_types)
                return ArraySpec(first.dims, first.dtypes, first.dtype_label, types, optional,
                                 first.dtype_patterns)
        if len(specs) == 1 and isinstance(specs[0], TupleSpec):
            return TupleSpec(specs[0].items, optional, specs[0].kinds)
        if len(specs) == 1 and isinstance(specs[0], DictSpec):
            return DictSpec(specs[0].keys, specs[0].items, optional)
        raise ContractSyntaxError(
            f"unsupported annotation {hint!r}: a union may hold one array spec (plus None), "
            "or arrays that differ only in their array type"
        )
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        fields = typing.get_type_hints(hint, include_extras=True)
        items = tuple(spec_from_hint(fields[f]) if f in fields else None for f in hint._fields)
        return None if all(i is None for i in items) else TupleSpec(items, kinds=(hint,))
    if typing.is_typeddict(hint):
        fields = typing.get_type_hints(hint, include_extras=True)
        keys = tuple(fields)
        items = tuple(spec_from_hint(fields[k]) for k in keys)
        if all(i is None for i in items):
            return None
        return DictSpec(tuple(k for k, i in zip(keys, items) if i is not None),
                        tuple(i for i in items if i is not None))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            if spec_from_hint(args[0]) is None:
                return None
            raise ContractSyntaxError(
                f"unsupported annotation {hint!r}: variable-length tuples of arrays are not "
                "checked yet; give each item its own spec"
            )
        items = tuple(spec_from_hint(a) for a in args)
        if all(i is None for i in items):
            return None
        return TupleSpec(items)
    if args and any(spec_from_hint(a) is not None for a in args if not isinstance(a, (str, int))):
        raise ContractSyntaxError(
            f"unsupported annotation {hint!r}: arrays inside {origin!r} are not checked yet"
        )
    return None


def _is_uniontype(origin: Any) -> bool:
    import types

    return origin is types.UnionType
