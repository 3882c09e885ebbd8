"""Relations between layers (issue 9, part): a Flatten into a Linear sized for another image,
an unbatched image into a batch-only model. Caught before torch runs, with fixes that work."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from shapecontract import ShapeContractError, contract_of, guard


class MnistNet(nn.Module):
    """The classic MNIST CNN: two conv+pool blocks, Flatten, Linear(16*7*7, 32), Linear(32, 10)."""

    def __init__(self, fc1_in: int = 16 * 7 * 7) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.flat = nn.Flatten()
        self.fc1 = nn.Linear(fc1_in, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: Any) -> Any:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc2(torch.relu(self.fc1(self.flat(x))))


def _err(m: Any, x: Any) -> ShapeContractError:
    with pytest.raises(ShapeContractError) as info:
        m(x)
    return info.value


def test_flatten_into_linear_sized_for_another_image() -> None:
    """32x32 images into a CNN built for 28x28: the error names fc1, what it needs and what it
    gets, and both fixes work when applied (an input that fits; the layer built for this input)."""
    m = guard(MnistNet())
    m(torch.zeros(8, 1, 28, 28))
    e = _err(m, torch.zeros(8, 1, 32, 32))
    assert e.violations[0].kind == "value"
    assert "Linear 'fc1' takes in_features=784" in e.violations[0].message
    assert "give 1024" in e.violations[0].message
    fits = next(f for f in e.suggestions if "fits this model" in f)
    assert "(8, 1, 28, 28)" in fits
    m(torch.zeros(8, 1, 28, 28))  # the input that fits
    rebuilt = next(f for f in e.suggestions if "in_features=1024" in f)  # proven on fake tensors
    assert rebuilt.code == "self.fc1 = nn.Linear(in_features=1024, out_features=32)"
    assert (rebuilt.op.kind, rebuilt.op.setting, rebuilt.op.value) == ("Linear", "in_features",
                                                                       1024)
    m2 = guard(MnistNet(fc1_in=1024))  # the layer built for this input
    m2(torch.zeros(8, 1, 32, 32))


def test_unbatched_image_into_a_batch_only_model() -> None:
    """One image (1, 28, 28) into the same CNN: the fix adds the batch axis, and it works."""
    m = guard(MnistNet())
    x = torch.zeros(1, 28, 28)
    e = _err(m, x)
    fix = e.suggestions[0]
    assert fix.kind == "insert_axis" and fix.code == "x.unsqueeze(0)"
    m(x.unsqueeze(0))
    m(fix.op.apply(x))  # the fix's operation itself


def test_sequential_relation_and_what_torch_accepts_agree() -> None:
    """For a Sequential Conv->Flatten->Linear, strict and framework levels reject exactly the
    input sizes torch rejects, over a range of sizes."""
    seq = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 2))
    for level in ("strict", "framework"):
        c = contract_of(seq, level=level)
        for size in (20, 26, 28, 30):
            x = torch.zeros(2, 1, size, size)
            try:
                seq(x)
                torch_ok = True
            except RuntimeError:
                torch_ok = False
            try:
                c.check(x)
                ours = True
            except ShapeContractError:
                ours = False
            assert ours == torch_ok, (level, size)


def test_single_known_modules_do_not_pay_for_relations() -> None:
    """A module whose attributes state its whole contract (nn.Linear) is complete: its checker
    does not ask torch; a container's does."""
    from shapecontract import checker_source

    assert "PyTorch accepts" not in checker_source(contract_of(nn.Linear(3, 2)))
    assert "PyTorch accepts" in checker_source(contract_of(nn.Sequential(nn.Linear(3, 2))))


def test_the_contract_says_which_input_size_fits() -> None:
    """Issue 9: the MNIST CNN's contract states the input size its Flatten->Linear accepts."""
    c = contract_of(MnistNet())
    assert any("Linear 'fc1' takes in_features=784, which a 28 x 28 input gives" in n
               for n in c.notes)
    c32 = contract_of(MnistNet(fc1_in=16 * 8 * 8))
    assert any("which a 32 x 32 input gives" in n for n in c32.notes)


def test_square_nhwc_into_a_custom_cnn_gets_the_order_keeping_permutation() -> None:
    """With height == width, the layout fix is still permute(0, 3, 1, 2) (fewest axes moved),
    not transpose(1, 3), which would swap height and width and pass the check silently."""
    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.flat = nn.Flatten()
            self.fc = nn.Linear(2 * 26 * 26, 3)

        def forward(self, x: Any) -> Any:
            return self.fc(self.flat(self.conv(x)))

    m = guard(Tiny(), input_shape=(None, 1, 28, 28))
    x = torch.arange(6 * 28 * 28, dtype=torch.float32).reshape(6, 28, 28, 1)
    fix = _err(m, x).suggestions[0]
    assert fix.code == "x.permute(0, 3, 1, 2)"
    fixed = x.permute(0, 3, 1, 2)
    assert torch.equal(fixed[0, 0], x[0, :, :, 0])  # height stays height
    m(fixed)


def test_unbatched_image_of_another_size_says_both() -> None:
    """(1, 32, 32) into the 28x28 CNN: no batch axis, and wrong even with one; the hints say
    both, with the batched sizes (the Linear hint for the unbatched run was wrong)."""
    e = _err(guard(MnistNet()), torch.zeros(1, 32, 32))
    assert "no batch axis; with one: Linear 'fc1' takes in_features=784" in e.violations[0].message
    assert any("in_features=1024" in s for s in e.suggestions)


def test_a_two_axis_image_is_reported_not_crashed_on() -> None:
    """(28, 28) into the CNN is a ShapeContractError (it crashed with IndexError)."""
    e = _err(guard(MnistNet()), torch.zeros(28, 28))
    assert "rank" in {v.kind for v in e.violations}  # after torch's own reason (a guess)
