"""Keras 3 <-> PyTorch porting checks: compare contracts, transfer weights, check outputs.

Design rules:
- What the port knows about layers is on the frameworks' layer kinds (`frameworks.keras.
  kind_of`, `frameworks.torch.kind_of`), read through `rules`: a kind's port pairing gives its
  pairing tag (a Keras layer pairs with a torch module of the same tag), the checks, the weight
  transfer and the layout. Lookups follow the MRO, so a subclass of `nn.LSTM` /
  `keras.layers.LSTM` is an LSTM and a user's class that is merely named `LSTM` is not. Adding
  a layer kind is one kind object per side (`frameworks.keras.register`).
- `compare` pairs and checks from metadata (torch runs only on fake tensors);
  `transfer_weights` converts layouts and gate orders both ways; `assert_equivalent` runs
  both models on the same data and names the first diverging pair; `scaffold` writes the
  source of a port (Keras model -> nn.Module, nn.Sequential -> Keras) in the conventions the
  other three assume.
- No module here imports keras, torch or numpy when it is imported.
"""

from __future__ import annotations

from .compare import Difference, PortReport, compare
from .equivalence import Equivalence, PortMismatch, assert_equivalent
from .scaffold import scaffold
from .weights import transfer_weights

__all__ = ["Difference", "Equivalence", "PortMismatch", "PortReport", "assert_equivalent",
           "compare", "scaffold", "transfer_weights"]
