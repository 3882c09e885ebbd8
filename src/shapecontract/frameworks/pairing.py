"""How a Keras layer kind and a torch module kind pair up in a port (layer L6, no framework).

Design rules:
- A kind's `port` is plain data: `KerasPort` (the torch class it ports to, the checks
  `port.compare` runs, its weight transfer, its output layout, a wrapper's layers) and
  `TorchPort` (its pairing kind, whether it is paired, whether `num_layers` stacks Keras
  layers, its input layout). A Keras kind and a torch kind pair when their `kind` tags agree.
- `Pair` and `Issue` are what checks and transfers take and give; `Layout`s say how data is laid
  out on each side. The checks and transfers of the built-in kinds are in `keras/porting.py`.
- keras, torch and numpy are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CHANNELS", "FLATTENED", "SAME", "SEQUENCE", "Channels", "Check", "Issue",
           "KerasPort", "Layout", "Pair", "TorchPort", "Transfer", "to_numpy"]


class Issue(NamedTuple):
    """One difference a check found, before `compare` labels it with the pair."""

    what: str
    keras_value: Any
    torch_value: Any
    fix: str
    note: bool = False  # a difference of convention the port handles, not a mistake


@dataclass
class Pair:
    """A Keras layer (or L stacked RNN layers for a torch `num_layers=L`) and its torch module."""

    keras: list[Any]
    name: str
    module: Any
    # the activations (Keras names) the traced forward applies to the module's output before
    # anything paired reads it; None when the forward could not be traced
    applied: list[str] | None = None
    # the traced forward takes Keras-layout input and lays it out for this module itself
    layout_handled: bool = False
    # the operations the traced forward applies to the module's input on its way (None: unseen)
    input_ops: list[str] | None = None
    # the activations Keras applies to the pair's output: the layer's `activation=` and the
    # activation layers after it (ReLU, Activation, Softmax...) before the next paired layer
    keras_applied: list[str] | None = None
    keras_calls: list[Any] = field(default_factory=list)  # each as a callable (layer or function)
    keras_end: Any = None  # the last of those activation layers right after it, if any
    keras_before: list[str] = field(default_factory=list)  # unpaired Keras layers since the last pair
    # the Keras layers as the model's graph has them (a TimeDistributed wrapper around
    # `keras`'s Dense); by default `keras` itself
    graph: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.graph:
            self.graph = list(self.keras)

    @property
    def where(self) -> str:
        k = self.keras[0]
        return f"{type(k).__name__} '{k.name}' -> {type(self.module).__name__} '{self.name}'"


Check = Callable[[Pair], list[Issue]]
# (pair, to Keras -> torch?, the (h, w, c) map a Flatten right before the Keras layer flattened)
Transfer = Callable[[Pair, bool, tuple[int, ...] | None], None]


# ----------------------------------------------------------------------------- layouts
class Layout:
    """How data is laid out on each side: the same, unless a subclass says otherwise."""

    def to_torch(self, x: Any, module: Any) -> Any:
        """A torch tensor in Keras layout, laid out for `module`'s input."""
        return x

    def to_keras(self, out: np.ndarray, keras_out: np.ndarray, p: Pair) -> np.ndarray | None:
        """The torch module's output laid out like the Keras layer's (None: incomparable)."""
        return out


class Channels(Layout):
    """A map: channels last in Keras (batch, ..., channels), first in torch (batch, channels, ...)."""

    def __init__(self, rank: int | None = None) -> None:
        self.rank = rank  # the input rank torch expects (3 for Conv1d, 4 for Conv2d)

    def to_torch(self, x: Any, module: Any) -> Any:
        if self.rank is None or x.dim() != self.rank:
            return x
        return x.permute(0, self.rank - 1, *range(1, self.rank - 1)).contiguous()

    def to_keras(self, out: np.ndarray, keras_out: np.ndarray, p: Pair) -> np.ndarray | None:
        import numpy as np

        return np.moveaxis(out, 1, -1) if out.ndim == keras_out.ndim else out


class _Sequence(Layout):
    """(batch, timesteps, features) in Keras; in torch too with batch_first, else time-major.
    Keras may return the last step only (return_sequences=False) where torch returns all."""

    def to_torch(self, x: Any, module: Any) -> Any:
        if not module.batch_first and x.dim() == 3:
            return x.transpose(0, 1).contiguous()
        return x

    def to_keras(self, out: np.ndarray, keras_out: np.ndarray, p: Pair) -> np.ndarray | None:
        if not getattr(p.module, "batch_first", True) and out.ndim == 3:
            out = out.transpose(1, 0, 2)
        if keras_out.ndim == 2 and out.ndim == 3:
            layer = p.keras[-1]
            if getattr(layer, "backward_layer", None) is not None:  # Bidirectional
                if getattr(layer, "merge_mode", "concat") != "concat":
                    return None
                # Keras returns both final states: the forward one is the last step's first
                # half, the backward one (it ran from the end) step 0's second half
                import numpy as np

                h = out.shape[-1] // 2
                return np.concatenate([out[:, -1, :h], out[:, 0, h:]], axis=-1)
            out = out[:, -1]
        return out


SAME = Layout()
CHANNELS = Channels()
SEQUENCE: Layout = _Sequence()
FLATTENED = Layout()  # a flattened map: (h, w, c) order in Keras, (c, h, w) after torch's Flatten


# ------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class KerasPort:
    """What a Keras layer is, what it ports to, how it is checked and transferred. A wrapper
    (Bidirectional) has only `wraps`: the rule of the layer it wraps applies to it."""

    kind: str
    port: str | None = None  # the torch class it ports to; None: not paired
    checks: tuple[Check, ...] = ()  # run by `compare` on a pair of the same kind, in order
    transfer: Transfer | None = None
    layout: Layout = SAME  # of its output
    wraps: Callable[[Any], list[Any]] | None = None  # a wrapper's layers, one per direction
    inner: Callable[[Any], Any] | None = None  # a wrapper paired as its one inner layer

    @property
    def paired(self) -> bool:
        return self.port is not None or self.wraps is not None


@dataclass(frozen=True)
class TorchPort:
    """What a torch module is, and how it lays out its input."""

    kind: str
    paired: bool = True  # False: known (e.g. an activation after a layer), not paired
    stacks: bool = False  # `num_layers=L` stands for L consecutive Keras layers
    layout: Layout = SAME


def to_numpy(x: Any) -> np.ndarray:
    import numpy as np

    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
