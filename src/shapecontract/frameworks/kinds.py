"""Layer kinds as objects, and one registry per framework (layer L6, no framework imported).

Design rules:
- A layer kind is one object (`LayerKind`, subclassed per framework in `keras/layers.py` and
  `torch/layers.py`) carrying all the library knows of one kind of layer: the framework classes
  it covers (by name), how it names its input and output axes, where its sizes come from, the
  framework's own check, its **knobs** (the constructor arguments that change its shapes, as
  data: `Knob`), its port pairing (`port`, see `pairing`) and its scaffold writer. Contracts,
  guards, verdicts, the port and the scaffold read the same object.
- A framework's `Registry` maps class names to kinds. A lookup walks `type(obj).__mro__`
  (`_table.lookup`): a user's subclass of `nn.LSTM` is an LSTM, unless it overrides the
  framework's compute method (`forward`, `call`); a class that merely shares a name is not.
- An *aspect* (`"contract"`, `"port"`, `"scaffold"`) is a view of the registry: the names whose
  kind has that aspect. Each aspect is looked up along the MRO on its own, so a class the port
  knows through a base (`BasePooling`) and the contract through its own name (`MaxPooling2D`)
  gets each from the nearest class that has it.
- Adding a kind is one object passed to `register` (plus one row in the tests' tables). Keys
  are names, not classes: no table imports its framework.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._table import forget, framework_class, lookup, lookup_type, qualified_name

__all__ = ["ASPECTS", "KERAS_KINDS", "TORCH_KINDS", "Knob", "LayerKind", "Registry"]

ASPECTS = ("contract", "port", "scaffold")
"""What a kind may know: its contract (axis names, sizes, checks), its port pairing, how the
scaffold writes it in the other framework."""


@dataclass(frozen=True)
class Knob:
    """A constructor argument of a layer that changes its shapes: what it governs, how to read
    it off a built layer and how to write it as code. Repairs ("set return_sequences=True",
    "input_size=768") are made of these.

    `governs` is what the knob changes: a canonical axis name (`features`, `units`,
    `timesteps`, `channels`, `height`, `width`, `length`, `directions*layers`, `vocab`), or
    `layout` (which axis is which: `batch_first`, `data_format`), `rank` (an axis added or
    dropped: `return_sequences`, `keepdims`) or `spatial` (the sizes of every spatial axis:
    kernel, strides, padding). `side` says whether it acts on the layer's input or output."""

    name: str
    """The constructor keyword (`units`, `return_sequences`, `in_features`)."""
    governs: str
    side: str = "output"
    """`input` (what the layer takes), `output` (what it gives) or `both`."""
    attribute: str | None = None
    """The instance attribute it is read from, when not `name` (torch `Conv2d(stride=)` is
    `.stride`; Keras `Bidirectional` `units` is `.forward_layer.units`: a dotted path)."""
    position: int | None = None
    """Its position among the constructor's positional arguments, if it has one."""
    read_fn: Callable[[Any], Any] | None = None
    """A reader for values no attribute path gives as written."""
    doc: str = ""

    def read(self, layer: Any) -> Any:
        """The knob's value on a constructed layer, as the constructor takes it (tuples for
        sequences)."""
        if self.read_fn is not None:
            return self.read_fn(layer)
        value: Any = layer
        for part in (self.attribute or self.name).split("."):
            value = getattr(value, part)
        return tuple(value) if isinstance(value, list) else value

    def code(self, value: Any) -> str:
        """The keyword argument that sets it: `return_sequences=True`, `input_size=768`."""
        return f"{self.name}={value!r}"


class LayerKind:
    """One kind of layer of one framework. Subclasses (per framework) add the behaviour; an
    instance names the classes it covers and carries its data.

    The base class knows nothing of shapes: the framework subclasses' defaults are what the
    library does with a layer of no kind (generic axis names, the framework's own verdict)."""

    framework: str = ""
    """The framework's package name (`keras`, `torch`)."""

    def __init__(self, kind: str | None, classes: tuple[str | type, ...] | str | type, *,
                 knobs: tuple[Knob, ...] = (), port: Any = None, scaffold: Any = None,
                 output_attr: str | None = None, doc: str = "") -> None:
        self.kind = kind
        """A short tag for the kind (`rnn`, `dense`, ...); None when the kind is known only
        for its port or scaffold (a base class such as Keras's `BasePooling`)."""
        listed = (classes,) if isinstance(classes, (str, type)) else tuple(classes)
        self.classes = tuple(c if isinstance(c, str) else qualified_name(c) for c in listed)
        """The framework class names it covers; a user's own class by `module.QualName`."""
        self.knobs = tuple(knobs)
        self.port = port
        """Its port pairing (`pairing.KerasPort` / `TorchPort`), or None."""
        self.scaffold = scaffold
        """Its scaffold writer (see `port.scaffold`), or None."""
        self.output_attr = output_attr
        """The attribute that fixes its last output axis (`units`, `out_features`)."""
        self.doc = doc
        names = [k.name for k in self.knobs]
        if len(set(names)) != len(names):
            raise ValueError(f"{self!r}: a knob is listed twice ({names})")

    def has(self, aspect: str) -> bool:
        if aspect == "contract":
            return self.kind is not None
        if aspect == "port":
            return self.port is not None
        if aspect == "scaffold":
            return self.scaffold is not None
        raise ValueError(f"{aspect!r} is not an aspect; aspects are {', '.join(ASPECTS)}")

    def knob(self, name: str) -> Knob:
        """The knob called `name` (KeyError if the kind has none)."""
        for k in self.knobs:
            if k.name == name:
                return k
        raise KeyError(f"{self.classes[0]} has no knob {name!r}; its knobs are "
                       f"{', '.join(k.name for k in self.knobs) or 'none'}")

    def knobs_for(self, governs: str) -> tuple[Knob, ...]:
        """The knobs that change `governs` (an axis name, `layout`, `rank`, `spatial`)."""
        return tuple(k for k in self.knobs if k.governs == governs)

    def knob_values(self, layer: Any) -> dict[str, Any]:
        """Every knob's value on `layer` (knobs the layer cannot answer are left out)."""
        out = {}
        for k in self.knobs:
            try:
                out[k.name] = k.read(layer)
            except (AttributeError, TypeError):
                continue
        return out

    def setting(self, layer: Any, **changes: Any) -> str:
        """The constructor call that builds `layer` with `changes` to its knobs, as code:
        `LSTM(..., return_sequences=True)` (the arguments that stay are the `...`)."""
        cls = type(layer).__name__
        args = ", ".join(self.knob(name).code(value) for name, value in changes.items())
        return f"{cls}(..., {args})" if args else f"{cls}(...)"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, {'/'.join(self.classes)})"


class Registry:
    """A framework's layer kinds by class name, with one view per aspect (stable dicts, so the
    MRO lookup's cache stays valid; it is cleared when a kind is registered)."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.kinds: dict[str, LayerKind] = {}
        self._views: dict[str, dict[str, LayerKind]] = {a: {} for a in ASPECTS}

    def register(self, kind: LayerKind, *, replace: bool = False) -> LayerKind:
        """Add `kind` under each of its class names. A name registered already is refused
        unless `replace=True`."""
        if kind.framework != self.package:
            raise ValueError(f"{kind!r} is a {kind.framework or '?'} kind, not a "
                             f"{self.package} one")
        taken = [n for n in kind.classes if n in self.kinds and self.kinds[n] is not kind]
        if taken and not replace:
            raise ValueError(f"{', '.join(taken)} already has a {self.package} kind "
                             f"({self.kinds[taken[0]]!r}); pass replace=True to replace it")
        for name in kind.classes:
            self.kinds[name] = kind
            for aspect, view in self._views.items():
                if kind.has(aspect):
                    view[name] = kind
                else:
                    view.pop(name, None)
        forget()
        return kind

    def unregister(self, kind: LayerKind) -> None:
        """Remove `kind` (a test's toy kind) from every name it holds."""
        for name in kind.classes:
            if self.kinds.get(name) is kind:
                del self.kinds[name]
                for view in self._views.values():
                    view.pop(name, None)
        forget()

    def view(self, aspect: str = "contract") -> Mapping[str, LayerKind]:
        """Class name -> kind, for the kinds that have `aspect`."""
        return self._views[aspect]

    def lookup(self, obj: Any, aspect: str = "contract") -> LayerKind | None:
        """`obj`'s kind for `aspect`, along its class's MRO, or None."""
        return lookup(obj, self._views[aspect], self.package)

    def lookup_type(self, t: type, aspect: str = "contract") -> LayerKind | None:
        """`lookup` for an instance of class `t`."""
        return lookup_type(t, self._views[aspect], self.package)

    def class_name(self, obj: Any, aspect: str = "contract") -> str | None:
        """The framework class along `obj`'s MRO whose kind was found for `aspect`."""
        return framework_class(obj, self._views[aspect], self.package)

    def __iter__(self) -> Iterator[LayerKind]:
        """Each kind once, in registration order."""
        seen: set[int] = set()
        for kind in self.kinds.values():
            if id(kind) not in seen:
                seen.add(id(kind))
                yield kind

    def __len__(self) -> int:
        return sum(1 for _ in self)


KERAS_KINDS = Registry("keras")
"""Keras layer kinds by Keras class name (filled by `keras/layers.py`)."""
TORCH_KINDS = Registry("torch")
"""torch module kinds by torch class name (filled by `torch/layers.py`, `torch/losses.py`)."""
