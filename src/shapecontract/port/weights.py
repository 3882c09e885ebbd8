"""`transfer_weights`: each pair's weights across, by its Keras rule's transfer function.

Design rules:
- The layouts are the rules' business: Keras kernels are (in, out) and torch weights
  (out, in); Keras LSTM gates are i,f,c,o like torch's i,f,g,o; Keras GRU gates are z,r,h and
  torch's r,z,n (Keras must use `reset_after=True`); Keras conv kernels are (k..., in, out)
  and torch's (out, in, k...).
- This module adds the one thing a pair cannot see: a layer right after a Flatten of a
  channels_last map gets that map's shape, so a Dense's rows are reordered (h, w, c) <-> (c, h, w).
- A pair of different kinds is refused with a ValueError naming it; run `compare` for why.
"""

from __future__ import annotations

from typing import Any

from .compare import PortReport, pair_layers, same_kind
from .rules import FLATTENED, Channels, keras_class, keras_rule, torch_class

__all__ = ["transfer_weights"]


def transfer_weights(keras_model: Any, torch_model: Any, direction: str = "keras_to_torch") -> None:
    """Copy every paired layer's weights across, converting layouts and gate orders.

    `direction` is `keras_to_torch` (default) or `torch_to_keras`. Raises ValueError naming the
    pair when shapes cannot match (run `compare` for the full list of differences).
    """
    if direction not in ("keras_to_torch", "torch_to_keras"):
        raise ValueError("direction is 'keras_to_torch' or 'torch_to_keras'")
    pairs = pair_layers(keras_model, torch_model, PortReport())
    flat_from = _flatten_sources(keras_model)
    for p in pairs:
        rule = keras_rule(p.keras[0])
        if rule is None or rule.transfer is None or not same_kind(p):
            raise ValueError(f"{p.where}: a Keras {keras_class(p.keras[0])} cannot exchange "
                             f"weights with a torch {torch_class(p.module)} (run compare)")
        rule.transfer(p, direction == "keras_to_torch", flat_from.get(id(p.keras[0])))


def _flatten_sources(keras_model: Any) -> dict[int, tuple[int, ...]]:
    """For each layer fed by a Flatten of a channels_last map (a conv or pool): that map's shape.

    torch's port flattens the channels-first map (nn.Flatten after nn.Conv), so a Dense's rows
    come in (c, h, w) order there and (h, w, c) in Keras. A Flatten of anything else (an
    embedding, a sequence) flattens the same order on both sides and is left alone."""
    out: dict[int, tuple[int, ...]] = {}
    seq = list(keras_model.layers)
    for i in range(2, len(seq)):
        flatten, src = keras_rule(seq[i - 1]), keras_rule(seq[i - 2])
        if flatten is None or flatten.layout is not FLATTENED or src is None:
            continue
        if (isinstance(src.layout, Channels)
                and getattr(seq[i - 2], "data_format", "channels_last") == "channels_last"):
            out[id(seq[i])] = tuple(seq[i - 1].input.shape[1:])
    return out
