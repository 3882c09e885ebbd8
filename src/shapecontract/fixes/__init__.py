"""Fixes (layer L4): a suggested change as an operation (data), applied by tests and written as
code by the value's framework. See `fixes.ops`."""

from __future__ import annotations

from .ops import (
    Argmax,
    Batch,
    Cast,
    ChangeCall,
    DropAxis,
    InsertAxis,
    InsertLayer,
    ModelEdit,
    OneHot,
    Op,
    PadSequences,
    Permute,
    Repeat,
    Reshape,
    SetSetting,
    Stack,
    SwapLoss,
    Then,
    Unbatch,
)

__all__ = ["Argmax", "Batch", "Cast", "ChangeCall", "DropAxis", "InsertAxis", "InsertLayer", "ModelEdit",
           "OneHot", "Op", "PadSequences", "Permute", "Repeat", "Reshape", "SetSetting", "Stack",
           "SwapLoss", "Then", "Unbatch"]
