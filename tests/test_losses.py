"""torch loss modules state their contract (issue 9, part): targets against the loss."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from torch import nn

from shapecontract import ShapeContractError, contract_of, guard

f32, i64 = torch.float32, torch.int64


def _t(shape: tuple[int, ...], dtype: Any = f32) -> Any:
    return torch.zeros(shape, dtype=dtype)


CASES = [
    # (loss, input, target, strict accepts)
    (nn.CrossEntropyLoss, _t((16, 10)), _t((16,), i64), True),
    (nn.CrossEntropyLoss, _t((16, 10)), _t((16, 10)), True),          # probabilities
    (nn.CrossEntropyLoss, _t((16, 10, 4)), _t((16, 4), i64), True),   # K-dimensional
    (nn.CrossEntropyLoss, _t((10,)), _t((), i64), True),              # unbatched
    (nn.CrossEntropyLoss, _t((16, 10)), _t((16,)), False),            # float class indices
    (nn.CrossEntropyLoss, _t((16, 10)), _t((8,), i64), False),        # batch mismatch
    (nn.CrossEntropyLoss, _t((16, 10)), _t((16, 5)), False),          # classes mismatch
    (nn.NLLLoss, _t((16, 10)), _t((16,), i64), True),
    (nn.NLLLoss, _t((16, 10)), _t((16, 10)), False),                  # NLL takes indices only
    (nn.MSELoss, _t((16, 1)), _t((16, 1)), True),
    (nn.MSELoss, _t((16, 1)), _t((16,)), False),                      # the broadcast trap
    (nn.L1Loss, _t((4, 3)), _t((4, 3)), True),
    (nn.SmoothL1Loss, _t((4, 3)), _t((3, 4)), False),
    (nn.HuberLoss, _t((4, 3)), _t((4, 3)), True),
    (nn.BCELoss, _t((8, 1)), _t((8, 1)), True),
    (nn.BCEWithLogitsLoss, _t((8, 1)), _t((8, 1), i64), False),        # integer targets
    (nn.KLDivLoss, _t((8, 5)), _t((8, 5)), True),
]


@pytest.mark.parametrize("make, x, y, ok", CASES,
                         ids=[f"{c[0].__name__}-{tuple(c[1].shape)}-{tuple(c[2].shape)}-{c[2].dtype}"
                              for c in CASES])
def test_loss_contracts(make: Any, x: Any, y: Any, ok: bool) -> None:
    """A guarded loss accepts what its contract states and rejects the classic mistakes before
    torch runs (guard(nn.CrossEntropyLoss()) raised TypeError before); the framework level agrees
    with torch's own call."""
    loss = guard(make())
    if ok:
        loss(x, y)
    else:
        with pytest.raises(ShapeContractError):
            loss(x, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MSELoss warns about the broadcast, and runs
            make()(x, y)
        torch_ok = True
    except (RuntimeError, ValueError):
        torch_ok = False
    try:
        contract_of(make(), level="framework").check(x, y)
        ours = True
    except ShapeContractError:
        ours = False
    assert ours == torch_ok


def test_mse_broadcast_trap_says_how_to_match_the_shapes() -> None:
    """MSELoss((16, 1), (16,)) trains silently on a (16, 16) broadcast in torch; the error says
    why and how to match them, and the hinted change works."""
    loss = guard(nn.MSELoss())
    out, target = _t((16, 1)), _t((16,))
    with pytest.raises(ShapeContractError) as info:
        loss(out, target)
    assert "target.unsqueeze(-1)" in str(info.value)
    assert any("would have accepted this input silently" in n for n in info.value.notes)
    loss(out, target.unsqueeze(-1))


def test_float_class_indices_get_the_integer_fix() -> None:
    """Float labels into CrossEntropyLoss: the fix casts them to int64, and it works."""
    loss = guard(nn.CrossEntropyLoss())
    target = torch.zeros(16)
    with pytest.raises(ShapeContractError) as info:
        loss(_t((16, 10)), target)
    assert info.value.suggestions[0].code == "target.to(torch.int64)"
    loss(_t((16, 10)), target.to(torch.int64))


def test_ctc_loss() -> None:
    """CTCLoss: log_probs (T, N, C), padded targets (N, S), lengths (N,); a batch mismatch in the
    lengths is caught."""
    loss = guard(nn.CTCLoss())
    log_probs = torch.zeros(50, 4, 20).log_softmax(2)
    targets = torch.ones(4, 10, dtype=i64)
    lengths = torch.full((4,), 50, dtype=i64), torch.full((4,), 10, dtype=i64)
    loss(log_probs, targets, *lengths)
    with pytest.raises(ShapeContractError) as info:
        loss(log_probs, targets, torch.full((3,), 50, dtype=i64), lengths[1])
    assert info.value.slot == "argument input_lengths" and info.value.dim == "batch"


def test_every_loss_in_the_table_is_tested() -> None:
    """Each loss row of the torch module table appears in this file's cases."""
    from shapecontract.frameworks.torch import MODULES

    tested = {c[0].__name__ for c in CASES} | {"CTCLoss"}
    assert {n for n, r in MODULES.items() if r.kind == "loss"} == tested
