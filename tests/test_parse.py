"""The dim-string parser: every jaxtyping form, and errors that point at the bad token."""

from __future__ import annotations

import pytest

from shapecontract import Array, ContractSyntaxError, Float
from shapecontract._dims import Anon, Expr, Fixed, Named, Variadic, parse_dims


def test_plain_forms() -> None:
    """Named, fixed, anonymous, variadic and broadcast dims parse to their nodes."""
    assert parse_dims("b 24 _ *rest") == (Named("b"), Fixed(24), Anon("_"), Variadic("rest"))
    assert parse_dims("... #n #3") == (Variadic(None), Named("n", True), Fixed(3, True))
    assert parse_dims("*_ _foo") == (Variadic(None), Anon("_foo"))
    assert parse_dims("*#batch c") == (Variadic("batch", True), Named("c"))
    assert parse_dims("") == ()


def test_labels_name_fixed_dims() -> None:
    """`features=3` checks 3 and keeps `features` as the dim's name for messages."""
    (d,) = parse_dims("features=3")
    assert d == Fixed(3, False, "features")


def test_symbolic_dims_are_parsed_not_evaluated() -> None:
    """`t-1`, `2*h`, `a+b`, `(n+1)//2` become trees evaluated against bindings."""
    (e,) = parse_dims("(n+1)//2")
    assert isinstance(e, Expr) and e.names == ("n",)
    assert e.evaluate({"n": 7}) == 4
    assert e.evaluate({}) is None
    (f,) = parse_dims("2*h-a")
    assert f.evaluate({"h": 5, "a": 3}) == 7
    (g,) = parse_dims("-t+10")
    assert g.evaluate({"t": 4}) == 6


@pytest.mark.parametrize("bad, fragment, col", [
    ("b,t", "spaces, not commas", 1),
    ("b n#", "at the start", 3),
    ("*a *b", "only one variadic", 3),
    ("... *b", "only one variadic", 4),
    ("__import__('os')", "'_' is given twice", 1),
    ("t**2", "unexpected '*'", 2),
    ("a.b", "unexpected '.'", 1),
    ("t-", "ends too early", 2),
    ("##n", "'#' is given twice", 1),
    ("*4", "cannot be variadic", 0),
    ("#_", "anonymous and broadcastable", 0),
    ("?x", "pytree", 0),
    ("x...", "on its own", 0),
])
def test_errors_point_at_the_bad_token(bad: str, fragment: str, col: int) -> None:
    """Malformed strings raise ContractSyntaxError naming the mistake and its column."""
    with pytest.raises(ContractSyntaxError) as info:
        parse_dims(bad)
    assert fragment in str(info.value)
    assert info.value.position == col


def test_no_code_runs_from_a_dim_string() -> None:
    """A dim string that would run code under eval is rejected by the parser."""
    with pytest.raises(ContractSyntaxError):
        parse_dims("(lambda:1)()")
    with pytest.raises(ContractSyntaxError):
        parse_dims("{x}")


def test_annotation_errors_at_writing_time() -> None:
    """Float[Array, 'b,t'] fails when written, as a ContractSyntaxError (a ValueError)."""
    with pytest.raises(ContractSyntaxError, match="commas"):
        Float[Array, "b,t"]
    with pytest.raises(ValueError):
        Float[Array, "b,t"]
    with pytest.raises(ContractSyntaxError, match="array type and a dim string"):
        Float["b t"]  # type: ignore[index]


def test_annotations_are_jaxtypings_own() -> None:
    """shapecontract.Float[...] returns a jaxtyping annotation class."""
    import jaxtyping

    hint = Float[Array, "b t"]
    assert issubclass(hint, jaxtyping.AbstractArray)
    assert hint.dim_str == "b t"


def test_bare_star_is_a_shared_variadic_with_an_empty_name() -> None:
    """Issue 20 (jaxtyping's own test suite): a bare `*` was refused ("'*' has no dim name").
    In jaxtyping 0.3.11 it is a named variadic whose name is empty (`_NamedVariadicDim("")`):
    every `*` of one call stands for the same axes. `#*` broadcasts; `*_` stays anonymous."""
    import jaxtyping

    assert parse_dims("*") == (Variadic(""),)
    assert parse_dims("* n") == (Variadic(""), Named("n"))
    assert parse_dims("b #*") == (Named("b"), Variadic("", True))
    assert parse_dims("*_") == (Variadic(None),)
    assert str(Variadic("")) == "*" and str(Variadic("", True)) == "#*"
    assert parse_dims(str(Variadic("", True))) == (Variadic("", True),)  # text round trip
    with pytest.raises(ContractSyntaxError, match="only one variadic"):
        parse_dims("* ...")
    with pytest.raises(ContractSyntaxError, match="has no dim name"):
        parse_dims("#")  # jaxtyping refuses it too (a `#` at the end)
    # what jaxtyping makes of it, so that a change there shows here
    (dim,) = jaxtyping.Float[jaxtyping.Array, "*"].dims
    assert type(dim).__name__ == "_NamedVariadicDim" and dim.name == ""


def test_bare_star_binds_across_the_call() -> None:
    """Every `*` of a call is the same axes, as in jaxtyping; optional arguments too."""
    import numpy as np

    from shapecontract import ShapeContractError, contract

    @contract
    def f(x: Float[Array, "* n"], y: Float[Array, "*"]) -> Float[Array, "*"]:
        return y

    assert f(np.zeros((2, 3, 4)), np.zeros((2, 3))).shape == (2, 3)
    assert f(np.zeros(4), np.zeros(())).shape == ()
    with pytest.raises(ShapeContractError, match=r"\(\*\) are \(2, 4\), which does not equal "
                                                 r"\*=\(2, 3\)"):
        f(np.zeros((2, 3, 4)), np.zeros((2, 4)))

    @contract
    def g(x: Float[Array, "*"] | None, y: Float[Array, "*"] | None) -> None:
        return None

    g(None, np.zeros(3))
    g(np.zeros(3), None)
    g(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ShapeContractError):
        g(np.zeros(2), np.zeros(3))
