"""Keras 3: everything the library knows of one framework, as one package (layer L6).

- `layers`: the layer kinds (one object per kind: axis names, sizes' origins, Keras's own
  check, knobs, port pairing), `kind_of`, `register`.
- `porting`: the checks and weight transfers the kinds' port pairings name.
- `contract`: a model's contract from Keras's metadata; `verdict`: Keras's own verdict on
  shapes; `guard`: guarded entry points; `fit`: what reaches them (x, y, sample weights,
  validation data, generators, PyDatasets, tf.data); `losses`: the targets a compiled loss
  takes.

Keras is never imported when this package is: only once a Keras object shows up.
"""

from __future__ import annotations

from . import arrays as arrays  # registers its arrays' backend
from .contract import (
    contract_of_keras,
    distinct_calls,
    input_names,
    is_keras,
    output_ids,
    output_names,
)
from .fit import FitGuard
from .guard import ENTRY_POINTS, guard_of, install_guard, remove_guard, restore_guarded
from .layers import (
    GENERIC,
    KINDS,
    LAYERS,
    BidirectionalKind,
    ConvKind,
    DenseKind,
    EmbeddingKind,
    FlattenKind,
    KerasKind,
    RNNKind,
    SameKind,
    TimeDistributedKind,
    assert_layer_accepts,
    kernel_origin,
    kind_of,
    register,
    rule_of,
    unregister,
)
from .losses import LOSSES, LossRule, target_contract, unbuilt_targets
from .verdict import KerasVerdict, is_subclassed

__all__ = ["ENTRY_POINTS", "GENERIC", "KINDS", "LAYERS", "LOSSES", "BidirectionalKind",
           "ConvKind", "DenseKind", "EmbeddingKind", "FitGuard", "FlattenKind", "KerasKind", "KerasVerdict",
           "LossRule", "RNNKind", "SameKind", "TimeDistributedKind", "assert_layer_accepts",
           "contract_of_keras", "distinct_calls", "guard_of", "input_names", "install_guard",
           "is_keras", "is_subclassed", "kernel_origin", "kind_of", "output_ids", "output_names",
           "register", "remove_guard", "restore_guarded", "rule_of", "target_contract",
           "unbuilt_targets", "unregister"]
