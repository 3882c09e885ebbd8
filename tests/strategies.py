"""Hypothesis strategies shared by the property tests: dim strings, contracts, shapes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = ("a", "b", "c")
DTYPES = ("float32", "int32", "bool")
CATEGORIES = ("Float", "Int", "Shaped", "Bool")


@st.composite
def dim_string(draw: Any, bound_before: frozenset[str]) -> str:
    """A jaxtyping dim string; symbolic dims only over names bound by earlier arrays."""
    n = draw(st.integers(0, 4))
    tokens: list[str] = []
    for _ in range(n):
        kind = draw(st.sampled_from(["name", "name", "fixed", "anon", "bname", "bfixed", "expr"]))
        if kind == "name":
            tokens.append(draw(st.sampled_from(NAMES)))
        elif kind == "fixed":
            tokens.append(str(draw(st.integers(1, 4))))
        elif kind == "anon":
            tokens.append("_")
        elif kind == "bname":
            tokens.append("#" + draw(st.sampled_from(NAMES)))
        elif kind == "bfixed":
            tokens.append("#" + str(draw(st.integers(2, 4))))
        elif kind == "expr" and bound_before:
            name = draw(st.sampled_from(sorted(bound_before)))
            op = draw(st.sampled_from(["{n}+1", "{n}-1", "2*{n}", "{n}*{n}", "({n}+1)//2"]))
            tokens.append(op.format(n=name))
    if draw(st.booleans()):
        var = draw(st.sampled_from(["...", "*v", "*w", "*#v"]))
        tokens.insert(draw(st.integers(0, len(tokens))), var)
    return " ".join(tokens)


def plain_names(dim_str: str) -> set[str]:
    return {t for t in dim_str.split() if t.isidentifier() and t != "_"}


@st.composite
def signature(draw: Any) -> list[tuple[str, str]]:
    """1-3 (dtype category, dim string) pairs; variadic names are never reused as single."""
    out: list[tuple[str, str]] = []
    bound: set[str] = set()
    for _ in range(draw(st.integers(1, 3))):
        ds = draw(dim_string(frozenset(bound)))
        out.append((draw(st.sampled_from(CATEGORIES)), ds))
        bound |= plain_names(ds)
    return out


@st.composite
def shape_for(draw: Any, dim_str: str, env: dict[str, int]) -> tuple[int, ...]:
    """Mostly a shape that fits `dim_str` under `env` (extending env), sometimes a perturbed one."""
    shape: list[int] = []
    for tok in dim_str.split():
        if tok in ("...",) or tok.startswith("*"):
            k = env.setdefault("__var_" + tok.lstrip("*#"), draw(st.integers(0, 2)))
            shape.extend(draw(st.integers(1, 3)) if tok == "..." else 2 for _ in range(k))
            continue
        body = tok.lstrip("#")
        if body == "_":
            shape.append(draw(st.integers(1, 4)))
        elif body.isdigit():
            shape.append(int(body) if not tok.startswith("#") or draw(st.booleans()) else 1)
        elif body.isidentifier():
            if tok.startswith("#") and draw(st.booleans()):
                shape.append(1)
            else:
                shape.append(env.setdefault(body, draw(st.integers(1, 4))))
        else:
            n = next(iter(plain_names(body.replace("+", " ").replace("-", " ").replace("*", " ")
                                      .replace("(", " ").replace(")", " ").replace("/", " "))))
            val = eval(body, {}, {n: env.get(n, 1)})  # test oracle only, on our own strings
            shape.append(max(val, 0))
    if draw(st.integers(0, 4)) == 0 and shape:  # perturb
        i = draw(st.integers(0, len(shape) - 1))
        shape[i] = draw(st.integers(0, 5))
    if draw(st.integers(0, 9)) == 0:  # wrong rank
        shape = shape[:-1] if shape and draw(st.booleans()) else [*shape, 1]
    return tuple(shape)


@st.composite
def recorded_calls(draw: Any, params: list[str]) -> list[dict[str, Any]]:
    """1-3 calls of a function taking `params`, as `infer` records them: per parameter an array
    (shape and dtype; its rank may vary between calls) or an int, and a returned array, tuple
    of arrays or None."""
    from shapecontract.infer.observe import Leaf, Other, Seq

    arrays = draw(st.sets(st.sampled_from(params))) if params else set()
    dtype = st.sampled_from(["float32", "int64", "bool"])

    def leaf() -> Leaf:
        return Leaf(tuple(draw(st.lists(st.integers(1, 5), max_size=3))), draw(dtype))

    calls = []
    for _ in range(draw(st.integers(1, 3))):
        call: dict[str, Any] = {p: leaf() if p in arrays else Other("int", draw(st.integers(1, 5)))
                                for p in params}
        kind = draw(st.sampled_from(["array", "tuple", "none"]))
        call["return"] = (leaf() if kind == "array" else Seq((leaf(), leaf())) if kind == "tuple"
                          else Other("NoneType"))
        calls.append(call)
    return calls
