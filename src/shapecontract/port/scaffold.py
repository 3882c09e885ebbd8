"""`scaffold`: the source of a PyTorch port of a Keras model, or of a Keras port of an nn.Sequential.

Design rules:
- The emitted code follows the conventions `transfer_weights` and `assert_equivalent` assume, so
  the scaffold, its weights and the check agree by construction: the torch model takes its input
  laid out for its first paired module (channels first for a first Conv, batch-first for RNNs);
  a Flatten of a channels-first map stays in torch's (c, h, w) order exactly when
  `transfer_weights` reorders the Dense it feeds (`weights.flatten_sources`); the output is laid
  out like the other model's output.
- How a layer is written is its kind's (`frameworks.keras.kind_of(layer, "scaffold")`, looked
  up along the MRO: its writer in `frameworks/keras/scaffold.py` or `frameworks/torch/scaffold.py`);
  anything else (a branch, a custom layer, an option torch or Keras cannot express) is refused
  with a ValueError naming the layer. No code is guessed. This module is the emitter: the lines
  and the layout state the writers work on.
- Data layout is tracked as one state: is the torch tensor the Keras tensor with its last axis
  moved to axis 1 ("channels first")? Each layer says which state it needs; the permutes are
  written where the state changes, each with a one-line comment.
- keras and torch are imported inside functions only (the kinds key classes by name).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from typing import Any

from ..frameworks.keras import distinct_calls, output_ids
from ..frameworks.keras import scaffold as keras_writers
from ..frameworks.scaffolding import to_first, to_last
from ..frameworks.torch import scaffold as torch_writers
from .compare import torch_modules
from .rules import keras_paired, keras_rule
from .weights import flatten_sources

__all__ = ["scaffold"]


def scaffold(model: Any, to: str = "torch", input_shape: Sequence[int | None] | None = None) -> str:
    """The source of a Python module porting `model` to the other framework.

    `to="torch"` (default): `model` is a `keras.Sequential` or a functional model that is a
    single chain; the source defines an `nn.Module` subclass named after the model, with one
    attribute per Keras layer that has a torch counterpart and a `forward(self, x)` that lays
    the data out as each module expects (the input as the first paired module expects it:
    channels first for a first Conv, batch-first for RNNs; the output as Keras returns it).

    `to="keras"`: `model` is an `nn.Sequential` (nested ones are flattened); the source defines
    `build_model()` returning a `keras.Sequential`. `input_shape` is the Keras model's input
    shape without the batch axis, in Keras layout (channels last: `(height, width, channels)`
    for a first Conv2d); it is required where the modules do not fix it (convs, pooling,
    normalisation first) and checked against them otherwise. RNNs are refused: in an
    nn.Sequential an RNN's `(output, h_n)` tuple is passed on (or returned) as it is, never
    one tensor, so such a Sequential has no single-output Keras equivalent.

    Then `transfer_weights(keras_model, torch_model)` (either direction) and
    `assert_equivalent(keras_model, torch_model)` apply to the pair as written.
    Raises ValueError naming the layer or module that cannot be ported, and why.
    """
    if to == "torch":
        if input_shape is not None:
            raise ValueError("input_shape is for to='keras' (a Keras model fixes its own input)")
        if hasattr(model, "named_modules") and not hasattr(model, "layers"):
            raise ValueError("scaffold(model, to='torch') ports a Keras model; for a torch "
                             "module pass to='keras'")
        return _KerasToTorch(model).source()
    if to == "keras":
        if not hasattr(model, "named_modules"):
            raise ValueError("scaffold(model, to='keras') ports a torch nn.Sequential; for a "
                             "Keras model use to='torch'")
        return _TorchToKeras(model, input_shape).source()
    raise ValueError(f"to is 'torch' or 'keras', not {to!r}")


# ------------------------------------------------------------------------------- helpers
def _identifier(name: str, fallback: str) -> str:
    """A snake_case Python identifier from a layer name."""
    ident = re.sub(r"\W+", "_", name).strip("_").lower() or fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"
    return ident + "_" if keyword.iskeyword(ident) else ident


def _class_name(name: str) -> str:
    """A CamelCase class name from a model name."""
    parts = [p for p in re.split(r"[\W_]+", name) if p]
    ident = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return "Model" + ident if ident[0].isdigit() else ident


def _shape(dims: Sequence[int | None]) -> str:
    return "(" + ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(dims)) + ")"


def _name(obj: Any, label: str) -> str:
    return f"{type(obj).__name__} '{label}'"


# ========================================================================= Keras -> torch


class _KerasToTorch:
    """Writes the nn.Module: `__init__` lines, `forward` lines, and the layout state."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.init: list[str] = []
        self.body: list[str] = []
        self.attrs: set[str] = set()
        self.first = False  # is the torch tensor channels first (the Keras last axis at 1)?
        self.rank = 0
        self.layers = _keras_chain(model)
        self.flattened = flatten_sources(model)
        try:
            from torch import nn

            self.reserved = set(dir(nn.Module))
        except ImportError:  # the source can be written without torch
            self.reserved = {"forward", "training", "train", "eval", "to", "cuda", "cpu",
                             "apply", "parameters", "modules", "children", "state_dict", "type",
                             "float", "double", "half", "zero_grad", "register_buffer"}

    # -------------------------------------------------------------------- building blocks
    def attr(self, hint: str, ctor: str) -> str:
        """Register `self.<name> = <ctor>` under a unique identifier made from `hint`."""
        name = base = _identifier(hint, "layer")
        if name in self.reserved:
            name = base = base + "_layer"
        i = 1
        while name in self.attrs:
            name = f"{base}_{i}"
            i += 1
        self.attrs.add(name)
        self.init.append(f"self.{name} = {ctor}")
        return name

    def line(self, code: str, comment: str = "") -> None:
        self.body.append(code + (f"  # {comment}" if comment else ""))

    def channels_first(self, why: str) -> None:
        if not self.first and self.rank > 2:
            self.line(f"x = x.permute{to_first(self.rank)}", f"channels first: {why}")
        self.first = self.first or self.rank > 2

    def channels_last(self, why: str) -> None:
        if self.first and self.rank > 2:
            self.line(f"x = x.permute{to_last(self.rank)}", f"channels last again: {why}")
        self.first = False

    def dim(self, keras_axis: int) -> int:
        """The torch dim holding the Keras axis `keras_axis` in the current layout."""
        axis = keras_axis % self.rank
        if not self.first or self.rank <= 2:
            return -1 if axis == self.rank - 1 else axis
        return 1 if axis == self.rank - 1 else axis + 1

    def activation(self, layer: Any, attr: str, fn: Any, keras_axis: int = -1) -> None:
        """The module for a Keras activation function, registered and applied after `attr`."""
        ctor = keras_writers.activation_module(layer, fn, self, keras_axis)
        if ctor is not None:
            act = self.attr(f"{attr}_{fn.__name__}", ctor)
            self.line(f"x = self.{act}(x)")

    # ------------------------------------------------------------------------- the source
    def source(self) -> str:
        m = self.model
        shape = tuple(m.inputs[0].shape)
        self.rank = len(shape)
        self.first = self._input_first()
        torch_shape = tuple(shape[i] for i in to_first(self.rank)) if self.first else shape
        how = ("the Keras input with channels first" if self.first else
               "as the Keras input (batch first)")
        self.body.append(f"# x: {_shape(torch_shape)}, {how}")
        for layer in self.layers:
            sc = keras_writers.scaffold_of(layer)
            assert sc is not None  # checked by _keras_chain
            sc.write(self, layer)
            self.rank = len(layer.output.shape)
        if self.first and self.rank > 2:
            self.line(f"x = x.permute{to_last(self.rank)}",
                      "channels last, as the Keras model returns (drop to keep channels first)")
        return self._render()

    def _input_first(self) -> bool:
        """Channels first iff the first paired layer is a Conv of the input's rank (the layout
        `assert_equivalent` gives the torch model, by its first paired module)."""
        for layer in self.layers:
            if keras_paired(layer):
                rule = keras_rule(layer)
                rank = len(getattr(layer, "kernel_size", ())) + 2
                return (rule is not None and rule.port in ("Conv1d", "Conv2d")
                        and rank == self.rank)
        return False

    def _render(self) -> str:
        name = _class_name(self.model.name)
        lines = [
            f'"""PyTorch port of the Keras model \'{self.model.name}\' (scaffolded by '
            "shapecontract.port.scaffold).",
            "",
            "Copy the Keras weights and check the port:",
            f"    model = {name}()",
            "    shapecontract.port.transfer_weights(keras_model, model)",
            "    shapecontract.port.assert_equivalent(keras_model, model)",
            '"""',
            "",
            "import torch",
            "from torch import nn",
            "",
            "",
            f"class {name}(nn.Module):",
            "    def __init__(self) -> None:",
            "        super().__init__()",
            *("        " + ln for ln in self.init),
            "",
            "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
            *("        " + ln for ln in self.body),
            "        return x",
            "",
        ]
        return "\n".join(lines)


def _keras_chain(model: Any) -> list[Any]:
    """The model's layers (InputLayer excluded), checked to be one chain from input to output."""
    kinds = {c.__name__ for c in type(model).__mro__ if c.__module__.startswith("keras")}
    if not kinds & {"Sequential", "Functional"}:
        raise ValueError(f"{_name(model, getattr(model, 'name', '?'))}: only keras.Sequential "
                         "and functional models can be scaffolded (a subclassed Model's call "
                         "cannot be read)")
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except AttributeError as e:
        raise ValueError(f"model '{model.name}' has no input yet: build it with "
                         "keras.Input(shape) first") from e
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for layer in layers:  # what each layer is, before how they are connected
        if _submodel(layer):  # an encoder / decoder: checked as a chain of its own below
            continue
        if distinct_calls(layer) > 1:
            raise _refuse(layer, "called more than once (shared weights): the scaffold ports "
                                 "chains of distinct layers")
        if isinstance(layer.input, (list, tuple, dict)):
            raise _refuse(layer, f"{len(layer.input)} inputs (a merge of branches): the "
                                 "scaffold ports single chains")
        sc = keras_writers.scaffold_of(layer)
        if sc is None:
            raise _refuse(layer, "the scaffold has no torch counterpart for it (supported: "
                                 f"{keras_writers.supported()})")
        if sc.precheck is not None:
            sc.precheck(layer)
        if isinstance(layer.output, (list, tuple, dict)):
            raise _refuse(layer, f"{len(layer.output)} outputs: the scaffold ports single "
                                 "chains")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"model '{model.name}' has {len(inputs)} inputs and {len(outputs)} "
                         "outputs: the scaffold ports single-input, single-output chains")
    prev = {id(inputs[0])}  # ids: a loaded Sequential's first layer has two (equal) calls
    chain: list[Any] = []
    for layer in layers:
        if id(layer.input) not in prev:
            raise _refuse(layer, "its input is not the previous layer's output (a branch): "
                                 "the scaffold ports single chains")
        prev = output_ids(layer)
        chain += _keras_chain(layer) if _submodel(layer) else [layer]
    if id(outputs[0]) not in prev:
        raise ValueError(f"model '{model.name}': the output is not the last layer's: branches "
                         "are not supported")
    return chain


def _submodel(layer: Any) -> bool:
    """A Sequential or functional model used as a layer (nested models are ported in place)."""
    return any(c.__name__ in ("Sequential", "Functional") and c.__module__.startswith("keras")
               for c in type(layer).__mro__)


def _refuse(layer: Any, why: str) -> ValueError:
    return ValueError(f"{_name(layer, layer.name)}: {why}")


# ========================================================================= torch -> Keras


class _TorchToKeras:
    """Writes `build_model()`: the Keras layers, and the layout state (is the torch tensor the
    Keras one with its last axis moved to axis 1?)."""

    def __init__(self, model: Any, input_shape: Sequence[int | None] | None) -> None:
        from torch import nn

        if not isinstance(model, nn.Sequential):
            raise ValueError(f"{_name(model, type(model).__name__)}: only nn.Sequential chains "
                             "can be scaffolded to Keras (a custom forward cannot be read)")
        self.model = model
        self.mods = _torch_chain(model, "")
        if not self.mods:
            raise ValueError("the nn.Sequential is empty")
        self.given = None if input_shape is None else tuple(input_shape)
        self.items: list[str] = []
        self.first = False  # is the torch tensor channels first (the Keras last axis at 1)?
        self.rank = 0
        self.shapes: list[tuple[int, ...]] = []
        self.index = 0

    # -------------------------------------------------------------------- building blocks
    def add(self, cls: str, args: Sequence[str], label: str = "", comment: str = "") -> None:
        """One Keras layer `layers.<cls>(args..., name=label)`."""
        args = [a for a in args if a]
        if label.isidentifier():
            args.append(f'name="{label}"')
        self.items.append(f"layers.{cls}({', '.join(args)}),"
                          + (f"  # {comment}" if comment else ""))

    def torch_layout(self, why: str) -> None:
        """Lay the Keras tensor out as torch's (channels first) with a Permute."""
        if self.first and self.rank > 2:
            self.add("Permute", [str(to_first(self.rank)[1:])], comment=f"torch's layout: {why}")
        self.first = False

    def channels_last(self, why: str) -> None:
        """Make the Keras tensor channels last where torch's is channels first."""
        if not self.first and self.rank > 2:
            self.add("Permute", [str(to_last(self.rank)[1:])], comment=f"channels last: {why}")
        self.first = self.first or self.rank > 2

    def keras_axis(self, dim: int) -> int:
        """The Keras axis holding torch's `dim` in the current layout (-1 for the last)."""
        dim %= self.rank
        if self.first and self.rank > 2:
            axis = self.rank - 1 if dim == 1 else dim - 1 if dim > 1 else 0
        else:
            axis = dim
        return -1 if axis == self.rank - 1 else axis

    def fold(self) -> str:
        """`activation="..."` when the next module is an activation Keras can fold into the
        layer being written (it is then consumed), else ""."""
        if self.index + 1 >= len(self.mods):
            return ""
        nxt = self.mods[self.index + 1][1]
        act = torch_writers.keras_activation(nxt)
        if act is None or (act == "softmax" and (nxt.dim is None
                                                 or self.keras_axis(nxt.dim) != -1)):
            return ""
        self.index += 1
        return f'activation="{act}"'

    # ------------------------------------------------------------------------- the source
    def source(self) -> str:
        for label, m in self.mods:
            sc = torch_writers.scaffold_of(m)
            if sc is not None and sc.write is None:
                raise _refuse_module(m, label, sc.refuse)
            if sc is None:
                raise ValueError(f"{_name(m, label)}: the scaffold has no Keras counterpart "
                                 f"for it (supported: {torch_writers.supported()})")
        shape = self._input_shape()
        self.first = self._input_first(len(shape) + 1)
        first_sc = torch_writers.scaffold_of(self._first_fixing()[1])
        embedding = first_sc is not None and first_sc.integer_input
        self.shapes = _torch_shapes(self.mods, shape, self.first, embedding)
        dtype = ', dtype="int32"' if embedding else ""
        how = ("Keras layout (channels last); the torch model takes it channels first"
               if self.first else "the torch model takes the same layout")
        self.items.append(f"keras.Input({tuple(shape)}{dtype}),  # {how}")
        while self.index < len(self.mods):
            label, m = self.mods[self.index]
            self.rank = len(self.shapes[self.index])
            sc = torch_writers.scaffold_of(m)
            assert sc is not None and sc.write is not None  # checked above
            sc.write(self, label, m)
            self.index += 1
        self.rank = len(self.shapes[-1])
        if self.first and self.rank > 2:
            self.add("Permute", [str(to_first(self.rank)[1:])],
                     comment="channels first, as the torch model returns (drop to keep "
                             "channels last)")
        return self._render()

    def _first_fixing(self) -> tuple[str, Any]:
        """The first module that is not an activation or a dropout."""
        for label, m in self.mods:
            sc = torch_writers.scaffold_of(m)
            if sc is None or not sc.keeps_shape:
                return label, m
        return self.mods[0]

    def _input_shape(self) -> tuple[int | None, ...]:
        """The Keras input shape (no batch axis): given, or fixed by the first module."""
        label, m = self._first_fixing()
        sc = torch_writers.scaffold_of(m)
        fixes = None if sc is None else sc.input_fixed
        derived = None if fixes is None else fixes(m)
        if self.given is None:
            if derived is None:
                raise ValueError(f"input_shape is required: the first module {_name(m, label)} "
                                 "does not fix the input shape (give it in Keras layout, "
                                 "channels last, without the batch axis)")
            return derived
        if derived is not None and (len(self.given) < len(derived) or any(
                d is not None and g != d for g, d in zip(self.given[-len(derived):], derived))):
            raise ValueError(f"input_shape {self.given} does not fit the first module "
                             f"{_name(m, label)}, which takes {derived} last (Keras layout)")
        return self.given

    def _input_first(self, rank: int) -> bool:
        """Channels first iff the first paired module is a Conv of the input's rank (the layout
        `assert_equivalent` gives the torch model)."""
        paired = torch_modules(self.model)
        if not paired:
            return False
        first = paired[0][1]
        sc = torch_writers.scaffold_of(first)
        return sc is not None and sc.channels_first and rank == first.weight.dim()

    def _render(self) -> str:
        name = type(self.model).__name__
        lines = [
            f'"""Keras port of a torch {name} (scaffolded by shapecontract.port.scaffold).',
            "",
            "Copy the torch weights and check the port:",
            "    keras_model = build_model()",
            "    shapecontract.port.transfer_weights(keras_model, torch_model, "
            'direction="torch_to_keras")',
            "    shapecontract.port.assert_equivalent(keras_model, torch_model)",
            '"""',
            "",
            "import keras",
            "from keras import layers",
            "",
            "",
            "def build_model() -> keras.Model:",
            "    return keras.Sequential([",
            *("        " + item for item in self.items),
            "    ])",
            "",
        ]
        return "\n".join(lines)


def _torch_chain(model: Any, prefix: str) -> list[tuple[str, Any]]:
    """The modules of an nn.Sequential in call order, nested nn.Sequentials flattened and
    nn.Identity dropped."""
    from torch import nn

    out: list[tuple[str, Any]] = []
    for name, m in model.named_children():
        label = f"{prefix}{name}"
        if type(m) is nn.Sequential:
            out += _torch_chain(m, label + ".")
        elif type(m) is not nn.Identity:
            out.append((label, m))
    return out


def _torch_shapes(mods: list[tuple[str, Any]], shape: tuple[int | None, ...], first: bool,
                  embedding: bool) -> list[tuple[int, ...]]:
    """Each module's torch input shape and, last, the output's, on fake tensors (a batch of 2,
    sizes the Keras input leaves open: 8)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from ..frameworks.torch import quiet

    full = (2, *(8 if d is None else int(d) for d in shape))
    if first:
        full = tuple(full[i] for i in to_first(len(full)))
    shapes: list[tuple[int, ...]] = []
    label = "the input"
    # eval mode: in training a BatchNorm would count the fake batch (num_batches_tracked)
    modes = [(m, m.training) for _, top in mods for m in top.modules()]
    try:
        for _, top in mods:
            top.eval()
        with quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            x = torch.zeros(full, dtype=torch.long if embedding else torch.float32)
            for name, m in mods:
                label = name  # for the message, if it fails
                shapes.append(tuple(x.shape))
                x = m(x)
            shapes.append(tuple(x.shape))
    except Exception as e:
        raise ValueError(f"the nn.Sequential does not run on a Keras input of shape {shape} "
                         f"(at {label}: {e}); give input_shape in Keras layout") from e
    finally:
        for m, training in modes:
            m.training = training
    return shapes


def _refuse_module(m: Any, label: str, why: str) -> ValueError:
    return ValueError(f"{_name(m, label)}: {why}")


