"""Fix operations: a suggested change as data (layer L4).

Design rules:
- An operation is a frozen value that says what to change, not how to spell it: insert or drop
  an axis, permute, reshape, cast, pad sequences, one-hot or argmax labels, stack, batch or
  unbatch a dataset; and, on a model, set a layer's setting, insert a layer, swap the loss.
- `op.apply(value)` carries it out on a real array (numpy, torch, TensorFlow, jax) with that
  array's own library, so a test applies the operation itself, not a re-typed string, and
  re-checks the contract. Applying never mutates the value: it returns a new one.
- `op.code(var, backend)` writes it as code in the value's framework (`backends.Backend` knows
  each idiom); a `Fix` carries both the text shown and its operation.
- Model edits are data for the adapters and the repair search: a layer's display name, its
  kind and the setting (a layer kind's knob) with its new value; `code()` writes the setting as
  a constructor argument. They do not apply to arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backends import Backend, backend_of

__all__ = ["Argmax", "Batch", "Cast", "ChangeCall", "DropAxis", "InsertAxis", "InsertLayer",
           "ModelEdit",
           "OneHot", "Op", "PadSequences", "Permute", "Repeat", "Reshape", "SetSetting", "Stack",
           "SwapLoss", "Then", "Unbatch"]


def _backend(x: Any) -> Backend:
    be = backend_of(x)
    if be is None:
        raise TypeError(f"cannot apply a fix to a {type(x).__name__}: not an array of a "
                        "supported framework")
    return be


@dataclass(frozen=True)
class Op:
    """One change, as data."""

    def apply(self, x: Any) -> Any:
        """The changed value (a new object; `x` is not modified)."""
        raise TypeError(f"{type(self).__name__} does not apply to a value")

    def code(self, var: str, be: Backend | None = None) -> str:
        """The change as code on `var`, in `be`'s framework (numpy's when None)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- on arrays
@dataclass(frozen=True)
class InsertAxis(Op):
    """A size-1 axis at `axis` (negative counts from the end)."""

    axis: int
    rank: int | None = None
    """The rank after insertion, to write the index form (`x[..., None]`, `x[:, None]`)."""

    def apply(self, x: Any) -> Any:
        return _backend(x).do_expand(x, self.axis)

    def index(self, var: str) -> str:
        """`x[..., None]`, `x[None]`, `x[:, None]`: framework-neutral indexing."""
        rank = self.rank
        k = self.axis if self.axis >= 0 or rank is None else rank + self.axis
        if self.axis == -1 or (rank is not None and k == rank - 1):
            return f"{var}[..., None]"
        if k == 0:
            return f"{var}[None]"
        if k < 0:
            return f"{var}[{', '.join(['...'] + [':'] * (-k - 1))}, None]"
        return f"{var}[{', '.join([':'] * k)}, None]"

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).expand(var, self.axis)


@dataclass(frozen=True)
class DropAxis(Op):
    """Drop the size-1 axis at `axis`."""

    axis: int

    def apply(self, x: Any) -> Any:
        return _backend(x).do_squeeze(x, self.axis)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).squeeze(var, self.axis)


@dataclass(frozen=True)
class Permute(Op):
    """Reorder the axes: axis i of the result is axis `perm[i]` of the value."""

    perm: tuple[int, ...]

    def apply(self, x: Any) -> Any:
        return _backend(x).do_permute(x, self.perm)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).permute(var, self.perm)


@dataclass(frozen=True)
class Reshape(Op):
    """Reshape to `shape` (one -1 allowed); keeps the element count and the flat order."""

    shape: tuple[int, ...]

    def apply(self, x: Any) -> Any:
        return _backend(x).do_reshape(x, self.shape)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).reshape(var, self.shape)


@dataclass(frozen=True)
class Repeat(Op):
    """Repeat a size-1 axis `times` times (a gray image's one channel as the three an RGB
    model takes)."""

    axis: int
    times: int

    def apply(self, x: Any) -> Any:
        return _backend(x).do_repeat(x, self.axis, self.times)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).repeat(var, self.axis, self.times)


@dataclass(frozen=True)
class Then(Op):
    """`first`, then `second` (a gray image given its channel axis, then that channel repeated
    to the three an RGB model takes)."""

    first: Op
    second: Op

    def apply(self, x: Any) -> Any:
        return self.second.apply(self.first.apply(x))

    def code(self, var: str, be: Backend | None = None) -> str:
        return self.second.code(self.first.code(var, be), be)  # each op writes a call


@dataclass(frozen=True)
class Cast(Op):
    """Cast to the dtype named `dtype` (jaxtyping's names: `float32`, `int64`...)."""

    dtype: str

    def apply(self, x: Any) -> Any:
        return _backend(x).do_cast(x, self.dtype)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).cast(var, self.dtype)


@dataclass(frozen=True)
class PadSequences(Op):
    """Pad sequences of different lengths (a list or an object array) into one array, at the
    end, to `maxlen` (truncating longer ones at the end) or to the longest."""

    maxlen: int | None = None
    value: float = 0

    def apply(self, x: Any) -> Any:
        import numpy as np  # applied to data that exists, never on import
        seqs = [np.asarray(s) for s in x]
        n = self.maxlen if self.maxlen is not None else max((len(s) for s in seqs), default=0)
        tail = seqs[0].shape[1:] if seqs else ()
        dtype = np.result_type(*seqs) if seqs else np.float32
        out = np.full((len(seqs), n, *tail), self.value, dtype=dtype)
        for i, s in enumerate(seqs):
            s = s[:n]
            out[i, :len(s)] = s
        return out

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).pad_sequences(var, self.maxlen)


@dataclass(frozen=True)
class OneHot(Op):
    """Integer class labels to one-hot rows of `classes` (a new last axis); with `drop_last`,
    labels held in a trailing axis of size 1 (`(n, 1)`) lose that axis first."""

    classes: int
    drop_last: bool = False

    def apply(self, x: Any) -> Any:
        be = _backend(x)
        return be.do_one_hot(be.do_squeeze(x, -1) if self.drop_last else x, self.classes)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).one_hot(f"{var}[..., 0]" if self.drop_last else var,
                                         self.classes)


@dataclass(frozen=True)
class Argmax(Op):
    """One-hot (or probability) rows to class indices along `axis`."""

    axis: int = -1

    def apply(self, x: Any) -> Any:
        return _backend(x).do_argmax(x, self.axis)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).argmax(var, self.axis)


@dataclass(frozen=True)
class Stack(Op):
    """A list of same-shaped arrays into one array with a new leading axis."""

    def apply(self, x: Any) -> Any:
        items = list(x)
        if not items:
            raise ValueError("nothing to stack")
        return _backend(items[0]).do_stack(items)

    def code(self, var: str, be: Backend | None = None) -> str:
        return (be or Backend()).stack(var)


# ----------------------------------------------------------------------------- on datasets
@dataclass(frozen=True)
class Batch(Op):
    """Batch a dataset of single elements (`tf.data.Dataset.batch`)."""

    size: int

    def apply(self, x: Any) -> Any:
        return x.batch(self.size)

    def code(self, var: str, be: Backend | None = None) -> str:
        return f"{var}.batch({self.size})"


@dataclass(frozen=True)
class Unbatch(Op):
    """Split a dataset's batches into single elements (`tf.data.Dataset.unbatch`)."""

    def apply(self, x: Any) -> Any:
        return x.unbatch()

    def code(self, var: str, be: Backend | None = None) -> str:
        return f"{var}.unbatch()"


# ----------------------------------------------------------------------------- on models
@dataclass(frozen=True)
class ModelEdit(Op):
    """A change to a model's definition (not to a value)."""

    layer: str
    """The layer as the user named it (`LSTM 'lstm'`, `model.fc1`)."""


@dataclass(frozen=True)
class SetSetting(ModelEdit):
    """Build `layer` with `setting=value` (a layer kind's knob: `return_sequences`, `units`,
    `input_size`, `batch_first`, `input_shape` ...)."""

    kind: str
    setting: str
    value: Any

    def code(self, var: str = "", be: Backend | None = None) -> str:
        return f"{self.kind}(..., {self.setting}={self.value!r})"


@dataclass(frozen=True)
class InsertLayer(ModelEdit):
    """Insert a new layer (written as code, e.g. `Flatten()`) right after `layer`."""

    new: str

    def code(self, var: str = "", be: Backend | None = None) -> str:
        return self.new


@dataclass(frozen=True)
class ChangeCall(ModelEdit):
    """Write the call at `where` (`file:line` of the model's code) as `new` (code): a reshape
    with a hard-coded size made to keep the batch axis, `x.view(x.size(0), -1)`."""

    where: str
    new: str

    def code(self, var: str = "", be: Backend | None = None) -> str:
        return self.new


@dataclass(frozen=True)
class SwapLoss(ModelEdit):
    """Use the loss `loss` (written as code) instead of the model's."""

    loss: str

    def code(self, var: str = "", be: Backend | None = None) -> str:
        return self.loss
