"""PyTorch: everything the library knows of one framework, as one package (layer L6).

- `layers`: the module kinds (one object per kind: specs from attributes, arithmetic, torch's
  rejection explained, knobs, port pairing), `kind_of`, `register`; `losses`: the loss kinds.
- `contract`: a module's contract from its attributes (and fake-tensor propagation);
  `verdict`: torch's own verdict on fake tensors; `guard`: the forward pre-hook (the guard's
  check of `forward`'s arguments); `data`: DataLoader, Dataset and the worker processes of
  `validate(workers=N)`, registered with `frameworks.sources`.

torch is never imported when this package is: only once a torch module shows up.
"""

from __future__ import annotations

from . import arrays as arrays  # registers its arrays' backend
from . import data as data  # registers DataLoader, Dataset and the worker processes
from . import distribute as distribute  # names a torch.distributed rank in errors
from . import export as export  # lends Contract its to_torch_export
from .contract import contract_of_torch
from .guard import guard_of, install_guard, remove_guard
from .layers import (
    GENERIC,
    KINDS,
    MODULES,
    ConvKind,
    ElementwiseKind,
    LinearKind,
    RNNKind,
    SequentialKind,
    Specs,
    TorchKind,
    first_known,
    is_torch_module,
    kind_of,
    known,
    register,
    rule_of,
    torch_class,
    unregister,
)
from .losses import LOSS_KINDS
from .verdict import TorchVerdict, call_untraced, isolated, quiet

__all__ = ["GENERIC", "KINDS", "LOSS_KINDS", "MODULES", "ConvKind", "ElementwiseKind",
           "LinearKind", "RNNKind", "SequentialKind", "Specs", "TorchKind", "TorchVerdict",
           "call_untraced", "contract_of_torch", "first_known", "guard_of", "install_guard",
           "is_torch_module", "isolated", "kind_of", "known", "quiet", "register",
           "remove_guard", "rule_of", "torch_class", "unregister"]
