"""Property tests: our verdict equals jaxtyping+beartype's on the same annotations, and the
compiled fast path never passes what the slow path (the reference semantics) fails."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shapecontract as sc
from shapecontract import ShapeContractError
from shapecontract._evaluate import evaluate

from .strategies import DTYPES, shape_for, signature

EXAMPLES = int(os.environ.get("SHAPECONTRACT_FUZZ_EXAMPLES", "300"))


def _build(sig: list[tuple[str, str]]) -> tuple[Any, Any]:
    import jaxtyping
    from beartype import beartype

    params = [f"x{i}" for i in range(len(sig))]
    ours_ns: dict[str, Any] = {}
    theirs_ns: dict[str, Any] = {}
    ann_ours = {p: getattr(sc, cat)[sc.Array, ds] for p, (cat, ds) in zip(params, sig)}
    ann_theirs = {p: getattr(jaxtyping, cat)[sc.Array, ds] for p, (cat, ds) in zip(params, sig)}
    src = f"def f({', '.join(params)}):\n    return None\n"
    exec(src, ours_ns)
    exec(src, theirs_ns)
    ours_ns["f"].__annotations__ = ann_ours
    theirs_ns["f"].__annotations__ = ann_theirs
    return sc.contract(ours_ns["f"]), jaxtyping.jaxtyped(typechecker=beartype)(theirs_ns["f"])


def _verdict(fn: Any, arrays: list[Any]) -> bool:
    try:
        fn(*arrays)
    except ShapeContractError:
        return False
    except Exception as e:  # jaxtyping / beartype raise their own types
        if type(e).__module__.startswith(("jaxtyping", "beartype")):
            return False
        raise
    return True


@st.composite
def case(draw: Any) -> tuple[list[tuple[str, str]], list[np.ndarray]]:
    sig = draw(signature())
    env: dict[str, int] = {}
    arrays = []
    for _cat, ds in sig:
        shape = draw(shape_for(ds, env))
        dtype = draw(st.sampled_from(DTYPES))
        arrays.append(np.zeros(shape, dtype=dtype))
    return sig, arrays


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case())
def test_verdict_agrees_with_jaxtyping(c: tuple[list[tuple[str, str]], list[np.ndarray]]) -> None:
    """For generated annotations and arrays, we pass exactly when jaxtyping+beartype pass."""
    sig, arrays = c
    ours, theirs = _build(sig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _verdict(theirs, arrays)
    assert _verdict(ours, arrays) == expected, (sig, [a.shape for a in arrays], [a.dtype for a in arrays])
    # second call: the fast path has learned the types; the verdict must not change
    assert _verdict(ours, arrays) == expected


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case())
def test_fast_path_never_more_lenient_than_slow(c: tuple[list[tuple[str, str]], list[np.ndarray]]) -> None:
    """The compiled checker's pass implies the reference evaluator's pass."""
    sig, arrays = c
    ours, _ = _build(sig)
    ref_ok = not evaluate(ours.__shapecontract__, [*arrays]).violations
    for _ in range(2):
        assert _verdict(ours, arrays) == ref_ok


def test_the_agreement_check_can_fail() -> None:
    """Meta-test: a deliberately different verdict is detected by the comparison."""
    ours, theirs = _build([("Float", "a b")])
    good = np.zeros((2, 3), np.float32)
    bad = np.zeros((2, 3, 4), np.float32)
    assert _verdict(ours, [good]) and _verdict(theirs, [good])
    assert not _verdict(ours, [bad]) and not _verdict(theirs, [bad])
    assert _verdict(ours, [good]) != _verdict(theirs, [bad])


@pytest.mark.parametrize("dims, shapes, ok", [
    ("*#v", [(2, 1), (1, 3)], True),     # broadcast variadics widen the binding like jaxtyping
    ("*#v", [(2, 3), (4, 3)], False),
])
def test_broadcast_variadic_examples(dims: str, shapes: list[tuple[int, ...]], ok: bool) -> None:
    """Spot checks of broadcast variadic semantics against jaxtyping."""
    ours, theirs = _build([("Float", dims)] * len(shapes))
    arrays = [np.zeros(s, np.float32) for s in shapes]
    assert _verdict(theirs, arrays) == ok
    assert _verdict(ours, arrays) == ok
