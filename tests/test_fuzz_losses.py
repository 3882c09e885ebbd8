"""Property tests: torch loss contracts against torch itself (issue 11, fuzzing of losses).

For generated (loss, input, target) triples -- shapes of rank 0..4 with sizes 0..5, targets made
from the input's shape by the usual mistakes (same, an axis dropped or added, a size changed, two
axes swapped) and float or integer dtypes:
- the `framework` level accepts exactly what torch's own call accepts (no disagreement at all);
- the `strict` level is never more lenient than torch: what it accepts, torch runs without a
  broadcast warning, and a guarded loss raises `ShapeContractError` (never another error)
  before torch runs for what it rejects.
Bounded by SHAPECONTRACT_FUZZ_EXAMPLES (default 200); `make fuzz` runs it large.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from shapecontract import ShapeContractError, contract_of, guard  # noqa: E402

EXAMPLES = int(os.environ.get("SHAPECONTRACT_FUZZ_EXAMPLES", "200"))
LOSSES = [nn.CrossEntropyLoss, nn.NLLLoss, nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss,
          nn.BCELoss, nn.BCEWithLogitsLoss, nn.KLDivLoss]
STATS = {"cases": 0, "torch_accepts": 0, "strict_stricter": 0}


@st.composite
def cases(draw: Any) -> tuple[Any, tuple[int, ...], tuple[int, ...], str]:
    loss = draw(st.sampled_from(LOSSES))
    x = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))
    how = draw(st.sampled_from(["same", "drop", "add", "change", "swap", "any"]))
    y = list(x)
    if how == "drop" and y:
        y.pop(draw(st.integers(0, len(y) - 1)))
    elif how == "add":
        y.insert(draw(st.integers(0, len(y))), draw(st.integers(0, 5)))
    elif how == "change" and y:
        y[draw(st.integers(0, len(y) - 1))] = draw(st.integers(0, 5))
    elif how == "swap" and len(y) > 1:
        i, j = draw(st.permutations(range(len(y))))[:2]
        y[i], y[j] = y[j], y[i]
    elif how == "any":
        y = draw(st.lists(st.integers(0, 5), min_size=0, max_size=4))
    return loss, x, tuple(y), draw(st.sampled_from(["float32", "int64"]))


def _values(x: tuple[int, ...], y: tuple[int, ...], ydtype: str) -> tuple[Any, Any]:
    # values torch accepts wherever the shapes do: probabilities in (0, 1), class index 0
    inp = torch.full(x, 0.5)
    tgt = torch.zeros(y, dtype=getattr(torch, ydtype)) if ydtype == "int64" else torch.full(y, 0.5)
    return inp, tgt


def _torch(loss: Any, inp: Any, tgt: Any) -> tuple[bool, bool]:
    """(torch accepts, torch warned about broadcasting)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            loss()(inp, tgt)
        except (RuntimeError, ValueError, IndexError):
            return False, False
    return True, any("broadcast" in str(w.message) for w in seen)


def check(loss: Any, x: tuple[int, ...], y: tuple[int, ...], ydtype: str,
          guarded_by: Any = guard) -> None:
    inp, tgt = _values(x, y, ydtype)
    torch_ok, broadcast = _torch(loss, inp, tgt)
    try:
        contract_of(loss(), level="framework").check(inp, tgt)
        framework_ok = True
    except ShapeContractError:
        framework_ok = False
    assert framework_ok == torch_ok, (loss.__name__, x, y, ydtype, torch_ok)
    guarded = guarded_by(loss())
    try:
        guarded(inp, tgt)
        strict_ok = True
    except ShapeContractError:
        strict_ok = False
    # any other exception is one torch raised after our check let the call through: only
    # allowed when torch itself refuses the call (then the strict level was not stricter)
    except (RuntimeError, ValueError, IndexError):
        assert not torch_ok, (loss.__name__, x, y, ydtype)
        strict_ok = True
    if strict_ok:
        assert torch_ok and not broadcast, (loss.__name__, x, y, ydtype, "strict more lenient")
    STATS["cases"] += 1
    STATS["torch_accepts"] += torch_ok
    STATS["strict_stricter"] += torch_ok and not strict_ok


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(c=cases())
@example(c=(nn.MSELoss, (16, 1), (16,), "float32"))       # the broadcast trap: strict refuses
@example(c=(nn.CrossEntropyLoss, (4, 3), (4,), "int64"))
@example(c=(nn.CrossEntropyLoss, (3,), (), "int64"))      # unbatched
@example(c=(nn.CrossEntropyLoss, (3,), (3,), "float32"))  # unbatched probabilities
@example(c=(nn.NLLLoss, (4, 3, 2), (4, 2), "int64"))      # K-dimensional
# found by this suite, each a disagreement before the fix:
@example(c=(nn.BCELoss, (4, 3), (4, 3), "int64"))         # fake tensors skip torch's dtype check
@example(c=(nn.NLLLoss, (0,), (0,), "float32"))           # ... and this one on empty inputs
@example(c=(nn.CrossEntropyLoss, (3,), (1,), "int64"))    # eager torch takes it, fake refused
@example(c=(nn.CrossEntropyLoss, (3,), (4,), "int64"))    # strict took any 1-D target for (C,)
@example(c=(nn.CrossEntropyLoss, (0,), (0,), "int64"))
def test_loss_contracts_agree_with_torch(c: tuple[Any, tuple[int, ...], tuple[int, ...], str]
                                         ) -> None:
    check(*c)


def test_report_counts() -> None:
    """Both sides were exercised (with the property's cases when it ran first in the file; two
    fixed cases, one torch accepts and one it refuses, make sure of it either way)."""
    check(nn.MSELoss, (4, 1), (4, 1), "float32")
    check(nn.CrossEntropyLoss, (4, 3), (5,), "int64")
    print(f"\nloss fuzz: {STATS}")
    assert STATS["torch_accepts"] > 0
    assert STATS["cases"] - STATS["torch_accepts"] > 0


def test_the_loss_oracle_can_fail() -> None:
    """Meta-test: a strict level more lenient than torch is caught by `check` -- here a "guard"
    that checks nothing, on MSELoss (16, 1) vs (16,), which torch runs with a broadcast
    warning -- and the real guard passes the same case."""
    with pytest.raises(AssertionError, match="strict more lenient"):
        check(nn.MSELoss, (16, 1), (16,), "float32", guarded_by=lambda m: m)
    check(nn.MSELoss, (16, 1), (16,), "float32")
