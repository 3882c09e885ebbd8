"""`transfer_weights`: each pair's weights across, by its Keras rule's transfer function.

Design rules:
- The layouts are the rules' business: Keras kernels are (in, out) and torch weights
  (out, in); Keras LSTM gates are i,f,c,o like torch's i,f,g,o; Keras GRU gates are z,r,h and
  torch's r,z,n (Keras must use `reset_after=True`); Keras conv kernels are (k..., in, out)
  and torch's (out, in, k...).
- This module adds the one thing a pair cannot see: the layer a Flatten of a channels_last map
  feeds gets that map's shape, so a Dense's rows are reordered (h, w, c) <-> (c, h, w); layers
  that keep the layout (Dropout, activations, BatchNormalization before the Flatten) are looked
  through.
- A pair of different kinds is refused with a ValueError naming it; run `compare` for why.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..frameworks import lookup
from .compare import (
    PortReport,
    all_keras_layers,
    check_models,
    pairing,
    same_kind,
    unknown_weighted,
)
from .rules import FLATTENED, Channels, keras_class, keras_paired, keras_rule, torch_class

__all__ = ["flatten_sources", "transfer_weights"]


def transfer_weights(keras_model: Any, torch_model: Any, direction: str = "keras_to_torch") -> None:
    """Copy every paired layer's weights across, converting layouts and gate orders.

    `direction` is `keras_to_torch` (default) or `torch_to_keras`. Raises ValueError naming the
    pair when shapes cannot match (run `compare` for the full list of differences).
    """
    check_models("transfer_weights", keras_model, torch_model)
    if direction not in ("keras_to_torch", "torch_to_keras"):
        raise ValueError("direction is 'keras_to_torch' or 'torch_to_keras'")
    unknown = unknown_weighted(keras_model)
    if unknown:
        warnings.warn("transfer_weights: no port rule for " + ", ".join(
            f"{type(k).__name__} '{k.name}'" for k in unknown) + ": their weights are not "
            "transferred", UserWarning, stacklevel=2)
    report = PortReport()
    pairs = pairing(keras_model, torch_model, report).pairs  # in the forward's call order
    unpaired = [f"{d.keras if d.torch == '(none)' else d.torch} ({d.what})" for d in report.differences
                if d.what in ("missing torch module", "extra torch module")]
    if unpaired:
        warnings.warn("transfer_weights: nothing to pair with " + ", ".join(unpaired) + ": their "
                      "weights are not transferred (run compare)", UserWarning, stacklevel=2)
    flat_from = flatten_sources(keras_model)
    for p in pairs:
        rule = keras_rule(p.keras[0])
        if rule is None or rule.transfer is None or not same_kind(p):
            raise ValueError(f"{p.where}: a Keras {keras_class(p.keras[0])} cannot exchange "
                             f"weights with a torch {torch_class(p.module)} (run compare)")
        rule.transfer(p, direction == "keras_to_torch", flat_from.get(id(p.graph[0])))


# Keras layers that keep a map's layout (they act per element or per channel): a Flatten after
# them flattens the map of the layer before them. Looked up along the MRO (SpatialDropout2D is a
# Dropout). Those that are not paired may also sit between the Flatten and the layer it feeds.
_KEEP_LAYOUT = {name: True for name in (
    "Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization",
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "BatchNormalization")}


def _keeps_layout(layer: Any) -> bool:
    return bool(lookup(layer, _KEEP_LAYOUT, "keras"))


def flatten_sources(keras_model: Any) -> dict[int, tuple[int, ...]]:
    """For each layer fed by a Flatten of a channels_last map (a conv or pool): that map's shape.

    torch's port flattens the channels-first map (nn.Flatten after nn.Conv), so a Dense's rows
    come in (c, h, w) order there and (h, w, c) in Keras. A Flatten of anything else (an
    embedding, a sequence) flattens the same order on both sides and is left alone. Layers that
    keep the map's layout (Dropout, activations, BatchNormalization) may sit between the map's
    source and the Flatten; unpaired ones (Dropout, activations) between the Flatten and the
    layer it feeds."""
    out: dict[int, tuple[int, ...]] = {}
    seq = all_keras_layers(keras_model)
    for i, flatten in enumerate(seq):
        rule = keras_rule(flatten)
        if rule is None or rule.layout is not FLATTENED:
            continue
        j = i - 1
        while j >= 0 and _keeps_layout(seq[j]):
            j -= 1
        src = keras_rule(seq[j]) if j >= 0 else None
        if (src is None or not isinstance(src.layout, Channels)
                or getattr(seq[j], "data_format", "channels_last") != "channels_last"):
            continue
        n = i + 1
        while n < len(seq) and _keeps_layout(seq[n]) and not keras_paired(seq[n]):
            n += 1
        if n < len(seq):
            try:
                out[id(seq[n])] = tuple(flatten.input.shape[1:])
            except (AttributeError, ValueError):  # a subclassed model's layer has no input
                continue
    return out
