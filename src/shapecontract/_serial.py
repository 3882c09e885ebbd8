"""Contracts to JSON and back (layer L3, next to `_contract`).

Design rules:
- The format is plain JSON with a version key, `"format": "shapecontract.contract/1"`; an
  unknown version is refused. Dims are written as the dim-string text and read back by the one
  parser (`parse_dims`); a dim that text cannot carry (a label that is not a name, such as
  torch's `directions*layers`) keeps its label in a side table, and every spec is re-parsed at
  writing time to prove the text says exactly what the spec holds.
- No framework is imported, to write or to read. An array type is written as a neutral name
  (`numpy`, `torch`, `tensorflow`, `jax`, `keras`, `array` = any supported array, `any` =
  anything with `.shape` and `.dtype`, or `module:qualname`); read back, it is the framework's
  class when the framework is loaded, else a stand-in whose `isinstance` asks the framework
  once it is.
- What cannot be written (a model's framework verdict, `prepare`, a Model annotation's live
  checker, a type hint that is not a plain class) is dropped explicitly: the JSON says
  `"dropped"`, and the loaded contract lists it in `Contract.dropped` (shown by str/repr).
- Reading malformed input raises `ContractSyntaxError` naming the bad field, never a
  KeyError/TypeError from inside.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import re
import sys
import types
import typing
from typing import Any

from ._dims import Dim, parse_dims
from ._errors import ORIGIN_SOURCES, ContractSyntaxError, Origin
from ._slot import LayerRow, RowShape, Slot
from ._spec import ArraySpec, kind_by_tag, kind_of, kinds
from .backends import json_names

__all__ = ["FORMAT", "contract_from_dict", "contract_from_json", "contract_to_dict",
           "contract_to_json"]

FORMAT = "shapecontract.contract/1"
"""The version key of the JSON format; bumped when a reader of this version could misread."""

DROPPED = "dropped"
LEVELS = ("", "strict", "framework")
SLOT_KINDS = ("array", "dim", "pin", "hint")

def _aliases() -> dict[str, tuple[str, str, str]]:
    """JSON name of an array type -> (module, attribute, display name), as each framework
    package registered it with its backend (`"torch"` -> torch.Tensor)."""
    return json_names()


# ------------------------------------------------------------------------- writing
def contract_to_dict(c: Any) -> dict[str, Any]:
    """`c` as plain JSON-ready data (see the module docstring)."""
    dropped = list(c.dropped)
    out: dict[str, Any] = {
        "format": FORMAT,
        "name": c.name,
        "level": c.level,
        "slots": [_slot_to_dict(s, dropped) for s in c.slots],
    }
    if c.layers:
        out["layers"] = [{"name": r.name, "kind": r.kind, "input": r.input, "output": r.output}
                         for r in c.layers]
    if c.notes:
        out["notes"] = list(c.notes)
    if not c.chain:
        out["chain"] = False
    if not c.complete:
        out["complete"] = False
    if c.framework_name:
        out["framework_name"] = c.framework_name
    had_verdict = c.framework is not None or "framework_verdict" in c.dropped
    out["framework_verdict"] = DROPPED if had_verdict else "none"
    had_prepare = c.prepare is not None or "prepare" in c.dropped
    out["prepare"] = DROPPED if had_prepare else "none"
    for what, had in (("framework_verdict", had_verdict), ("prepare", had_prepare)):
        if had and what not in dropped:
            dropped.append(what)
    if dropped:
        out["dropped"] = dropped
    return out


def contract_to_json(c: Any, indent: int | None = 2) -> str:
    """`c` as JSON text: the same contract gives the same text."""
    return json.dumps(contract_to_dict(c), indent=indent, ensure_ascii=False)


def _slot_to_dict(s: Slot, dropped: list[str]) -> dict[str, Any]:
    d: dict[str, Any] = {"name": s.name, "kind": s.kind}
    if s.star:
        d["star"] = s.star
    if s.loc:
        d["location"] = _loc_to_json(s.loc)
    if s.output:
        d["output"] = True
    if s.optional:
        d["optional"] = True
    if s.key is not None:
        d["key"] = s.key
    if s.value is not None:
        d["value"] = s.value
    if s.origin is not None:
        d["origin"] = _origin_to_dict(s.origin)
    if s.spec is not None:
        d["spec"] = _spec_to_dict(s.spec, dropped, s.label)
    if s.kind == "hint":
        text = _hint_text(s.hint)
        ref = _hint_ref(s.hint)
        d["hint"] = {"text": text, "ref": ref} if ref else {"text": text, "check": DROPPED}
        if ref is None and f"hint check of {s.label}" not in dropped:
            dropped.append(f"hint check of {s.label}")
    return d


def _loc_to_json(loc: Any) -> Any:
    if isinstance(loc, tuple):
        return [_loc_to_json(p) for p in loc]
    if loc is None or isinstance(loc, (str, int)):
        return loc
    raise ValueError(f"cannot write location part {loc!r} as JSON")


def _origin_to_dict(o: Origin) -> dict[str, Any]:
    d: dict[str, Any] = {"text": str(o), "source": o.source}
    for f in ("layer", "attribute", "detail"):
        if getattr(o, f) is not None:
            d[f] = getattr(o, f)
    return d


def _spec_to_dict(spec: Any, dropped: list[str], where: str) -> dict[str, Any]:
    kind = kind_of(spec)
    if kind is None:
        raise ValueError(f"cannot write spec {spec!r} ({type(spec).__name__}) as JSON")
    return kind.to_json(spec, _CODEC, dropped, where)


def _array_to_dict(spec: ArraySpec) -> dict[str, Any]:
    text, labels = _dims_text(spec.dims)
    d: dict[str, Any] = {"type": "array", "dims": text}
    if labels:
        d["labels"] = labels
    d["dtype"] = spec.dtype_label
    d["dtypes"] = None if spec.dtypes is None else sorted(spec.dtypes)
    if spec.dtype_patterns:
        d["dtype_patterns"] = [{"pattern": p.pattern, "flags": int(p.flags)}
                               for p in spec.dtype_patterns]
    d["array_types"] = _types_to_json(spec.array_types)
    if spec.optional:
        d["optional"] = True
    if spec.origins:
        d["origins"] = [None if o is None else _origin_to_dict(o) for o in spec.origins]
    if spec.advice:
        d["advice"] = [str(a) for a in spec.advice]
    return d


def _dims_text(dims: tuple[Dim, ...]) -> tuple[str, dict[str, str]]:
    """The dim string of `dims` and the labels it cannot carry (by axis); proven by re-parsing."""
    tokens, labels = [], {}
    for axis, d in enumerate(dims):
        label = getattr(d, "label", None)
        if isinstance(label, str) and not label.isidentifier():
            labels[str(axis)] = label
            d = dataclasses.replace(d, label=None)  # type: ignore[arg-type]
        tokens.append(str(d))
    text = " ".join(tokens)
    if _apply_labels(parse_dims(text), labels) != dims:
        raise ValueError(f"the dims {dims!r} do not survive their text {text!r}")
    return text, labels


def _types_to_json(types: tuple[Any, ...]) -> list[str]:
    if not types:
        return ["array"]
    return ["any" if t is Any else _type_name(t) for t in types]


def _type_name(t: Any) -> str:
    stand_in = getattr(t, "__shapecontract_type_name__", None)
    if isinstance(stand_in, str):
        return stand_in
    for name, (module, attr, _) in _aliases().items():
        mod = sys.modules.get(module)
        if mod is not None and getattr(mod, attr, None) is t:
            return name
    return _class_ref(t)


def _class_ref(t: Any) -> str:
    stand_in = getattr(t, "__shapecontract_type_name__", None)
    if isinstance(stand_in, str):
        return stand_in
    module, qualname = getattr(t, "__module__", None), getattr(t, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise ValueError(f"cannot name {t!r} in JSON")
    return f"{module}:{qualname}"


def _hint_text(hint: Any) -> str:
    return str(getattr(hint, "__name__", repr(hint)))


def _hint_ref(hint: Any) -> str | None:
    """`module:qualname` of a hint that is a plain class (or typing.Any, or None); a union of
    those as `a | b` (`typing.Union[a, b]` as `Union[a | b]`); None for any other hint."""
    if hint is Any:
        return "typing:Any"
    if hint is None or hint is type(None):
        return "None"
    if getattr(hint, "__shapecontract_unchecked__", False):
        return None
    origin = typing.get_origin(hint)
    if origin is typing.Union or isinstance(hint, types.UnionType):
        refs = [_hint_ref(a) for a in typing.get_args(hint)]
        if any(r is None or "|" in r for r in refs):
            return None
        text = " | ".join(typing.cast("list[str]", refs))
        return text if isinstance(hint, types.UnionType) else f"Union[{text}]"
    if isinstance(hint, type) and origin is None and "<" not in hint.__qualname__:
        return _class_ref(hint)
    return None


# ------------------------------------------------------------------------- reading
def contract_from_json(cls: Any, text: Any) -> Any:
    """Read `text` (JSON from `contract_to_json`) as a `cls`."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode()
        except UnicodeDecodeError as e:
            raise ContractSyntaxError(f"contract JSON is not UTF-8: {e}") from None
    if not isinstance(text, str):
        raise ContractSyntaxError(f"from_json takes JSON text, not {type(text).__name__}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ContractSyntaxError(f"malformed contract JSON: {e}") from None
    return contract_from_dict(cls, data)


def contract_from_dict(cls: Any, data: Any) -> Any:
    """Read `data` (from `contract_to_dict`) as a `cls`; ContractSyntaxError if malformed."""
    try:
        return _read_contract(cls, data)
    except ContractSyntaxError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
        raise ContractSyntaxError(f"malformed contract data: {type(e).__name__}: {e}") from None


class _Reader:
    """Typed field access that names the bad field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ContractSyntaxError(f"{where}: expected a JSON object, got "
                                      f"{_json_kind(data)}")
        self.data, self.where = data, where

    def get(self, key: str, kind: Any, default: Any = ..., allow_none: bool = False) -> Any:
        if key not in self.data:
            if default is ...:
                raise ContractSyntaxError(f"{self.where}: missing field {key!r}")
            return default
        v = self.data[key]
        if v is None and allow_none:
            return None
        ok = isinstance(v, kind) and not (isinstance(v, bool) and kind in (int, (int,)))
        if not ok:
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ContractSyntaxError(f"{self.where}: field {key!r} must be {want}, got "
                                      f"{_json_kind(v)}")
        return v

    def strs(self, key: str, default: Any = ...) -> list[str]:
        v = self.get(key, list, default, allow_none=default is None)
        if v is not None and not all(isinstance(i, str) for i in v):
            raise ContractSyntaxError(f"{self.where}: field {key!r} must be a list of strings")
        return v  # type: ignore[no-any-return]


def _json_kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _read_contract(cls: Any, data: Any) -> Any:
    r = _Reader(data, "contract")
    fmt = r.get("format", str, None)
    if fmt is None:
        raise ContractSyntaxError(f"not a shapecontract contract: no \"format\" key (expected "
                                  f"{FORMAT!r})")
    if fmt != FORMAT:
        raise ContractSyntaxError(f"unknown contract format {fmt!r}: this version of "
                                  f"shapecontract reads {FORMAT!r}")
    name = r.get("name", str)
    level = r.get("level", str, "")
    if level not in LEVELS:
        raise ContractSyntaxError(f"contract: level {level!r} is not one of {LEVELS}")
    dropped = list(r.strs("dropped", []))
    for key in ("framework_verdict", "prepare"):
        v = r.get(key, str, "none")
        if v not in (DROPPED, "none"):
            raise ContractSyntaxError(f"contract: {key} is 'dropped' or 'none', not {v!r}")
        if v == DROPPED and key not in dropped:
            dropped.append(key)
    slots_data = r.get("slots", list)
    slots = tuple(_read_slot(s, f"slot {i}", dropped) for i, s in enumerate(slots_data))
    layers = []
    for i, row in enumerate(r.get("layers", list, [])):
        lr = _Reader(row, f"layer {i}")
        # the format keeps a row's shapes as their text; read back into data by the one reader
        layers.append(LayerRow(lr.get("name", str), lr.get("kind", str),
                               RowShape.parse(lr.get("input", str)),
                               RowShape.parse(lr.get("output", str))))
    return cls(name=name, slots=slots, layers=tuple(layers), level=level,
               notes=tuple(r.strs("notes", [])), chain=r.get("chain", bool, True),
               framework_name=r.get("framework_name", str, ""),
               complete=r.get("complete", bool, True), dropped=tuple(dropped))


def _read_slot(data: Any, where: str, dropped: list[str]) -> Slot:
    r = _Reader(data, where)
    name, kind = r.get("name", str), r.get("kind", str)
    where = f"slot {name!r}"
    r.where = where
    if kind not in SLOT_KINDS:
        raise ContractSyntaxError(f"{where}: kind {kind!r} is not one of {SLOT_KINDS}")
    star = r.get("star", str, "")
    if star not in ("", "*", "**"):
        raise ContractSyntaxError(f"{where}: star is '', '*' or '**', not {star!r}")
    loc = _loc_from_json(r.get("location", list, []), where)
    origin = r.get("origin", dict, None, allow_none=True)
    value = r.get("value", int, None, allow_none=True)
    spec_data = r.get("spec", dict, None, allow_none=True)
    spec = None if spec_data is None else _read_spec(spec_data, f"{where} spec")
    if kind == "array" and spec is None:
        raise ContractSyntaxError(f"{where}: an array slot needs a spec")
    if kind == "pin" and value is None:
        raise ContractSyntaxError(f"{where}: a pin slot needs a value")
    hint: Any = None
    if kind in ("dim", "pin"):
        hint = int
    elif kind == "hint":
        h = _Reader(r.get("hint", dict), f"{where} hint")
        text, ref = h.get("text", str), h.get("ref", str, None, allow_none=True)
        hint = _resolve_hint(ref, where) if ref else None
        if hint is None:
            hint = _unchecked(text)
    return Slot(name, kind, spec, hint, star, loc,
                None if origin is None else _read_origin(origin, f"{where} origin"),
                r.get("output", bool, False), r.get("optional", bool, False),
                r.get("key", str, None, allow_none=True), value)


def _loc_from_json(v: Any, where: str) -> Any:
    if isinstance(v, list):
        return tuple(_loc_from_json(p, where) for p in v)
    if v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    raise ContractSyntaxError(f"{where}: a location holds strings, integers and lists, "
                              f"not {_json_kind(v)}")


def _read_origin(data: Any, where: str) -> Origin:
    r = _Reader(data, where)
    source = r.get("source", str, "annotation")
    if source not in ORIGIN_SOURCES:
        raise ContractSyntaxError(f"{where}: source {source!r} is not one of {ORIGIN_SOURCES}")
    return Origin(r.get("text", str), source, r.get("layer", str, None, allow_none=True),
                  r.get("attribute", str, None, allow_none=True),
                  r.get("detail", str, None, allow_none=True))


def _read_spec(data: Any, where: str) -> Any:
    r = _Reader(data, where)
    tag = r.get("type", str)
    r.get("optional", bool, False)  # a malformed `optional` is named before the kind's fields
    kind = kind_by_tag(tag)
    if kind is None:
        raise ContractSyntaxError(f"{where}: unknown spec type {tag!r} "
                                  f"({', '.join(k.tag for k in kinds())})")
    return kind.from_json(r, where, _CODEC)


def _read_array(r: _Reader) -> ArraySpec:
    if r.get("type", str, "array") != "array":
        raise ContractSyntaxError(f"{r.where}: expected an array spec")
    dims = parse_dims(r.get("dims", str))
    labels = r.get("labels", dict, {})
    for axis, label in labels.items():
        if not (axis.isdigit() and int(axis) < len(dims) and isinstance(label, str)
                and hasattr(dims[int(axis)], "label")):
            raise ContractSyntaxError(f"{r.where}: bad label {axis!r}: {label!r}")
    dims = _apply_labels(dims, labels)
    dtypes = r.strs("dtypes", None)
    patterns = []
    for i, p in enumerate(r.get("dtype_patterns", list, [])):
        pr = _Reader(p, f"{r.where} dtype pattern {i}")
        try:
            patterns.append(re.compile(pr.get("pattern", str), pr.get("flags", int, 0)))
        except (re.error, ValueError) as e:
            raise ContractSyntaxError(f"{pr.where}: {e}") from None
    names = r.strs("array_types", ["array"])
    types: tuple[Any, ...] = () if names == ["array"] else tuple(
        _read_type(n, r.where) for n in names)
    origins = tuple(None if o is None else _read_origin(o, f"{r.where} origin {i}")
                    for i, o in enumerate(r.get("origins", list, [])))
    if origins and len(origins) != len(dims):
        raise ContractSyntaxError(f"{r.where}: {len(origins)} origins for {len(dims)} dims")
    return ArraySpec(dims, None if dtypes is None else frozenset(dtypes), r.get("dtype", str),
                     types, r.get("optional", bool, False), tuple(patterns), origins,
                     tuple(r.strs("advice", [])))


def _apply_labels(dims: tuple[Dim, ...], labels: dict[str, str]) -> tuple[Dim, ...]:
    if not labels:
        return dims
    return tuple(dataclasses.replace(d, label=labels[str(i)])  # type: ignore[arg-type]
                 if str(i) in labels else d for i, d in enumerate(dims))


def _read_type(name: str, where: str) -> Any:
    if name == "any":
        return Any
    if name == "array":
        raise ContractSyntaxError(f"{where}: 'array' (any supported array) stands alone")
    aliases = _aliases()
    if name in aliases:
        module, attr, _ = aliases[name]
        mod = sys.modules.get(module)
        found = getattr(mod, attr, None) if mod is not None else None
        return found if isinstance(found, type) else _stand_in(name)
    if ":" not in name:
        raise ContractSyntaxError(f"{where}: unknown array type {name!r}: one of "
                                  f"{sorted(aliases)}, 'array', 'any' or 'module:qualname'")
    return _resolve(name) or _stand_in(name)


def _read_kind(name: str, where: str) -> type:
    if name in ("tuple", "list"):
        return tuple if name == "tuple" else list
    found = _resolve(name) if ":" in name else None
    if not (isinstance(found, type) and issubclass(found, tuple)):
        raise ContractSyntaxError(f"{where}: tuple kind {name!r} cannot be found: import the "
                                  "module that defines it before loading the contract")
    return found


def _resolve(ref: str) -> Any:
    """The object `module:qualname` names, from modules already imported (never imports)."""
    module, _, qualname = ref.partition(":")
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        if obj is None or not part:
            return None
        obj = getattr(obj, part, None)
    return obj


def _resolve_hint(ref: str, where: str) -> Any:
    """The hint `_hint_ref` wrote, from modules already imported; None if one is missing."""
    typing_union = ref.startswith("Union[") and ref.endswith("]")
    parts = [p.strip() for p in (ref[6:-1] if typing_union else ref).split("|")]
    hints = []
    for part in parts:
        if part == "None":
            hints.append(type(None))
            continue
        if ":" not in part:
            raise ContractSyntaxError(f"{where}: hint ref {part!r} is not 'module:qualname'")
        found = _resolve(part)
        if found is None:
            return None
        hints.append(found)
    if len(hints) == 1 and not typing_union:
        return None if hints[0] is type(None) else hints[0]
    if typing_union:
        return typing.Union[tuple(hints)]  # noqa: UP007  (the typing form it was written in)
    try:
        return functools.reduce(operator.or_, hints)
    except TypeError:
        raise ContractSyntaxError(f"{where}: hint ref {ref!r} is not a union of classes") from None


# ----------------------------------------------------------------- stand-ins
class _StandInMeta(type):
    """A class named after a framework's array type that is not loaded yet: `isinstance` asks
    the real class once its module is imported (until then no value of it can exist)."""

    __shapecontract_type_name__: str

    def __instancecheck__(cls, obj: Any) -> bool:
        name = cls.__shapecontract_type_name__
        aliases = _aliases()
        if name in aliases:
            module, attr, _ = aliases[name]
            mod = sys.modules.get(module)
            real = getattr(mod, attr, None) if mod is not None else None
        else:
            real = _resolve(name)
        return isinstance(real, type) and isinstance(obj, real)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return False


_STAND_INS: dict[str, type] = {}


def _stand_in(name: str) -> type:
    if name not in _STAND_INS:
        aliases = _aliases()
        display = aliases[name][2] if name in aliases else name.rpartition(":")[2].split(".")[-1]
        _STAND_INS[name] = _StandInMeta(display, (), {"__shapecontract_type_name__": name})
    return _STAND_INS[name]


class _UncheckedMeta(type):
    """A hint that could not be written: shown by its text, accepts every value."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return True


_UNCHECKED: dict[str, type] = {}


def _unchecked(text: str) -> type:
    if text not in _UNCHECKED:
        _UNCHECKED[text] = _UncheckedMeta(text, (), {"__shapecontract_unchecked__": True})
    return _UNCHECKED[text]



class _Codec:
    """What JSON lends the spec kinds' `to_json`/`from_json` (see `_spec.SpecKind`)."""

    DROPPED = DROPPED
    spec_to_dict = staticmethod(_spec_to_dict)
    array_to_dict = staticmethod(_array_to_dict)
    read_spec = staticmethod(_read_spec)
    read_array = staticmethod(_read_array)
    reader = _Reader
    class_ref = staticmethod(_class_ref)
    resolve = staticmethod(_resolve)
    stand_in = staticmethod(_stand_in)
    read_kind = staticmethod(_read_kind)
    hint_text = staticmethod(_hint_text)
    hint_ref = staticmethod(_hint_ref)
    resolve_hint = staticmethod(_resolve_hint)
    unchecked = staticmethod(_unchecked)


_CODEC = _Codec()
