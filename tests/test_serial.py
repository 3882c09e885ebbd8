"""Contracts serialise to JSON and back (issue 11): same text, same verdicts, explicit drops."""

from __future__ import annotations

import json
import sys
import types
from typing import Any, NamedTuple, TypedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shapecontract as sc
from shapecontract import (
    Array,
    Contract,
    ContractSyntaxError,
    Float,
    Int,
    ShapeContractError,
    Shaped,
    contract,
    contract_of,
)
from shapecontract._contract import Slot
from shapecontract._serial import FORMAT
from shapecontract._spec import ArraySpec

from .strategies import DTYPES, shape_for, signature

F32 = np.float32


def roundtrip(c: Contract) -> Contract:
    text = c.to_json()
    assert text == c.to_json(), "the same contract gives the same text"
    loaded = Contract.from_json(text)
    assert type(loaded) is Contract
    assert loaded.to_json() == text, "JSON -> contract -> JSON is the identity"
    assert json.loads(text)["format"] == FORMAT
    assert Contract.from_dict(c.to_dict()).to_dict() == c.to_dict()
    return loaded


def outcome(c: Any, *args: Any, **kw: Any) -> list[tuple[Any, ...]] | None:
    """None when the values pass; else what each violation says (slot, kind, axis, dim,
    expected, actual), compared as text where they are objects."""
    try:
        c.check(*args, **kw)
    except ShapeContractError as e:
        return [(v.slot, v.kind, v.axis, v.dim, _plain(v.expected), _plain(v.actual))
                for v in e.violations]
    return None


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, (int, str, tuple)) else str(v)


def same_behaviour(a: Contract, b: Contract, cases: list[tuple[Any, ...]]) -> None:
    for args in cases:
        assert outcome(a, *args) == outcome(b, *args), [getattr(x, "shape", x) for x in args]


# ----------------------------------------------------------------- @contract functions
class Pair(NamedTuple):
    mean: Float[Array, "batch features"]
    var: Float[Array, "batch features"]


class Batch(TypedDict):
    x: Float[Array, "batch timesteps features"]
    y: Int[Array, "batch"]


@contract
def named(x: Float[Array, "batch timesteps features"], w: Float[Array, "features units"]
          ) -> Float[Array, "batch timesteps units"]:
    return x @ w


@contract
def fixed(x: Float[np.ndarray, "batch 24 features=3"]) -> Float[np.ndarray, "batch 24"]:
    return x.sum(-1)


@contract
def variadic(x: Float[Array, "*rest features"], y: Shaped[Array, "... _ label=2"],
             z: Float[Array, "*rest"]) -> Float[Array, "*rest"]:
    return z


@contract
def broadcast(x: Float[Array, "#batch #3"], y: Float[Array, "batch 3"]) -> Float[Array, "batch 3"]:
    return x + y


@contract
def expressions(x: Float[Array, "n timesteps"], k: int
                ) -> Float[Array, "n timesteps-1 (timesteps+1)//2 2*n"]:
    return np.zeros((x.shape[0], x.shape[1] - 1, (x.shape[1] + 1) // 2, 2 * x.shape[0]), F32)


@contract
def tuples(x: Float[Array, "batch features"]) -> tuple[Float[Array, "batch"], Int[Array, "batch 2"]]:
    return x.sum(-1), np.zeros((x.shape[0], 2), np.int64)


@contract
def named_tuple(p: Pair) -> Float[Array, "batch features"]:
    return p.mean


@contract
def dicts(b: Batch, tag: str) -> Float[Array, "batch"]:
    return b["x"].sum((1, 2))


@contract
def optional(x: Float[Array, "batch features"], mask: Float[Array, "batch"] | None = None,
             timesteps: int = 4) -> Float[Array, "batch timesteps features"] | None:
    return None


def z(*shape: int, dtype: Any = F32) -> np.ndarray:
    return np.zeros(shape, dtype)


FUNCTION_CASES: list[tuple[Any, list[tuple[Any, ...]]]] = [
    (named, [(z(2, 5, 3), z(3, 4)), (z(2, 5, 3), z(4, 4)), (z(2, 5), z(3, 4)),
             (z(2, 5, 3, dtype=np.int32), z(3, 4)), ([1, 2], z(3, 4))]),
    (fixed, [(z(2, 24, 3),), (z(2, 24, 4),), (z(2, 23, 3),), (np.zeros((2, 24, 3), np.float64),)]),
    (variadic, [(z(2, 3, 4), z(2, 2), z(2, 3)), (z(4), z(7, 2), z()), (z(2, 3, 4), z(2, 3), z(2, 3)),
                (z(2, 3, 4), z(2, 2), z(2, 4))]),
    (broadcast, [(z(1, 3), z(5, 3)), (z(5, 1), z(5, 3)), (z(4, 3), z(5, 3)), (z(5, 2), z(5, 3))]),
    (expressions, [(z(2, 5), 1), (z(2, 0), 1), (z(2, 5), "k")]),
    (tuples, [(z(2, 3),), (z(2),)]),
    (named_tuple, [(Pair(z(2, 3), z(2, 3)),), (Pair(z(2, 3), z(2, 4)),), ((z(2, 3), z(2, 3)),)]),
    (dicts, [({"x": z(2, 4, 3), "y": z(2, dtype=np.int64)}, "a"),
             ({"x": z(2, 4, 3), "y": z(3, dtype=np.int64)}, "a"),
             ({"x": z(2, 4, 3)}, "a"), ({"x": z(2, 4, 3), "y": z(2, dtype=np.int64)}, 3)]),
    (optional, [(z(2, 3), None, 4), (z(2, 3), z(2), 4), (z(2, 3), z(3), 4), (z(2, 3), z(2), "5")]),
]


@pytest.mark.parametrize("fn, cases", FUNCTION_CASES, ids=[f.__name__ for f, _ in FUNCTION_CASES])
def test_function_contract_round_trip(fn: Any, cases: list[tuple[Any, ...]]) -> None:
    """A decorated function's contract reads back with the same text and the same verdicts
    (good values pass, bad ones fail on the same slot/axis/dim with the same expected/actual)."""
    c = fn.__shapecontract__
    loaded = roundtrip(c)
    assert str(loaded) == str(c)
    assert loaded.dropped == ()
    assert [(s.name, s.kind, s.location, s.optional, s.output, s.star, s.key, s.spec)
            for s in loaded.slots] == [(s.name, s.kind, s.location, s.optional, s.output, s.star,
                                        s.key, s.spec) for s in c.slots]
    verdicts = [outcome(c, *a) for a in cases]
    assert None in verdicts and any(v is not None for v in verdicts), "cases pass and fail"
    same_behaviour(c, loaded, cases)


def test_loaded_contract_checks_outputs_too() -> None:
    """Dims bound by the inputs hold for the output of a loaded contract."""
    loaded = roundtrip(named.__shapecontract__)
    loaded.check_outputs((z(2, 5, 3), z(3, 4)), z(2, 5, 4))
    with pytest.raises(ShapeContractError) as e:
        loaded.check_outputs((z(2, 5, 3), z(3, 4)), z(2, 5, 3))
    assert (e.value.slot, e.value.axis, e.value.dim, e.value.expected, e.value.actual) == \
        ("return", 2, "units", 4, 3)


def test_star_args_and_array_types() -> None:
    """`*args` keeps its star; a framework's array type is written by a neutral name."""
    import torch

    @contract
    def f(*xs: Float[torch.Tensor, "n"], w: Float[np.ndarray | torch.Tensor, "n"]) -> None:
        return None

    c = f.__shapecontract__
    d = c.to_dict()
    assert d["slots"][0]["star"] == "*"
    assert d["slots"][0]["spec"]["array_types"] == ["torch"]
    assert d["slots"][1]["spec"]["array_types"] == ["numpy", "torch"]
    loaded = roundtrip(c)
    assert [s.spec for s in loaded.slots] == [s.spec for s in c.slots]
    assert str(loaded) == str(c)


def test_pins_and_labels_round_trip() -> None:
    """Pins (dims=) and labels the dim string cannot carry (torch's `directions*layers`)."""
    c = named.__shapecontract__.pinned({"timesteps": 5})
    loaded = roundtrip(c)
    assert loaded.pins() == {"timesteps": 5}
    pin = loaded.slots[0]
    assert (pin.kind, pin.origin, pin.origin.source) == ("pin", "dims={'timesteps': 5}", "pin")
    same_behaviour(c, loaded, [(z(2, 5, 3), z(3, 4)), (z(2, 6, 3), z(3, 4))])


def test_unwritable_hint_is_dropped_explicitly() -> None:
    """A hint that is not a plain class cannot be written: the JSON says `dropped` and the
    loaded contract lists it (and no longer checks it); a plain class is kept."""
    @contract
    def g(x: Float[Array, "a"], opts: list[int], name: str) -> None:
        return None

    d = g.__shapecontract__.to_dict()
    assert d["slots"][1]["hint"] == {"text": "list", "check": "dropped"}
    assert d["slots"][2]["hint"] == {"text": "str", "ref": "builtins:str"}
    assert d["dropped"] == ["hint check of argument opts"]
    loaded = Contract.from_json(g.__shapecontract__.to_json())
    assert "hint check of argument opts" in loaded.dropped
    assert str(loaded).endswith("[read from JSON without: hint check of argument opts]")
    loaded.check(z(2), "not a list", "s")  # dropped: not checked
    with pytest.raises(ShapeContractError) as e:
        loaded.check(z(2), [1], 3)  # kept: str is checked
    assert e.value.slot == "argument name"


def test_union_and_class_hints_round_trip() -> None:
    """`int | None`, `Optional[str]`, `Union[...]`, `Any` and classes are written by reference
    and read back as the same hints (checked the same); the rest is dropped explicitly."""
    from typing import Optional, Union

    @contract
    def g(x: Float[Array, "a"], y: int | None, s: Optional[str], u: Union[int, str, None],  # noqa: UP007, UP045
          w: np.ndarray, q: Any, r: list[int] | None) -> None:
        return None

    c = g.__shapecontract__
    loaded = roundtrip(c)
    assert [s.hint for s in loaded.slots[1:6]] == [s.hint for s in c.slots[1:6]]
    assert loaded.dropped == ("hint check of argument r",)
    assert str(loaded) == str(c) + "  [read from JSON without: hint check of argument r]"
    good = (z(2), None, "s", 3, z(1), 1, [1])
    same_behaviour(c, loaded, [good, (z(2), "no", "s", 3, z(1), 1, [1]),
                               (z(2), 1, None, b"x", z(1), 1, [1]), (z(2), 1, "s", 3, [1], 1, [1])])
    assert outcome(loaded, *good) is None


# ---------------------------------------------------------------- framework contracts
def test_torch_lstm_round_trip() -> None:
    """contract_of(nn.LSTM) reads back equal (slots, layers, level, origins), says that it
    lacks the framework verdict and `prepare`, and gives the same verdicts."""
    import torch

    m = torch.nn.LSTM(3, 8, batch_first=True)
    c = contract_of(m)
    text = c.to_json()
    d = json.loads(text)
    assert d["framework_verdict"] == "dropped" and d["prepare"] == "dropped"
    loaded = roundtrip(c)
    assert loaded == c  # same slots (specs, origins as data), level, name
    assert loaded.framework is None and loaded.prepare is None
    assert loaded.dropped == ("framework_verdict", "prepare")
    assert str(loaded) == str(c) + "  [read from JSON without: framework verdict, prepare]"
    assert "dropped=('framework_verdict', 'prepare')" in repr(loaded)
    o = loaded.inputs()[0].spec.options[0].origins[2]
    assert (o.source, o.layer, o.attribute) == ("layer", "LSTM", "input_size")
    t = torch.zeros
    h = (t(1, 2, 8), t(1, 2, 8))
    cases = [(t(2, 5, 3),), (t(5, 3),), (t(2, 5, 4),), (t(2, 5, 3, dtype=torch.int64),),
             (t(2, 5, 3), h), (t(2, 5, 3), (t(1, 3, 8), t(1, 2, 8))), (z(2, 5, 3),)]
    same_behaviour(c, loaded, cases)
    ok = [outcome(loaded, *a) is None for a in cases]
    assert ok == [True, True, False, False, True, False, False]


def test_torch_framework_level_round_trip() -> None:
    import torch

    c = contract_of(torch.nn.Linear(4, 2), level="framework")
    loaded = roundtrip(c)
    assert loaded.level == "framework" and loaded == c
    assert "framework verdict" in str(loaded)


def test_keras_sequential_round_trip() -> None:
    """A Keras model's contract (layers table included) reads back, checks the same."""
    keras = pytest.importorskip("keras")
    from keras import layers

    m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)])
    c = contract_of(m)
    loaded = roundtrip(c)
    assert loaded == c
    assert loaded.layers == c.layers and loaded.notes == c.notes
    assert str(loaded).startswith(str(c))
    assert "read from JSON without: framework verdict" in loaded.table()
    cases = [(z(2, 24, 3),), (z(2, 24, 1),), (z(2, 23, 3),), (z(24, 3),), (z(2, 24, 3, dtype=np.int32),)]
    same_behaviour(c, loaded, cases)
    assert [outcome(loaded, *a) is None for a in cases][:3] == [True, False, False]


# --------------------------------------------------------------------- format, errors
def test_sample_format() -> None:
    """The format documented in docs/usage.md."""
    @contract
    def f(x: Float[Array, "batch features=3"]) -> Float[Array, "batch"]:
        return x.sum(-1)

    d = f.__shapecontract__.to_dict()
    assert d["format"] == "shapecontract.contract/1"
    assert d["slots"][0] == {"name": "x", "kind": "array", "spec": {
        "type": "array", "dims": "batch features=3", "dtype": "Float",
        "dtypes": sorted(d["slots"][0]["spec"]["dtypes"]), "array_types": ["array"]}}
    assert "float32" in d["slots"][0]["spec"]["dtypes"]
    assert d["framework_verdict"] == "none"


def test_array_type_of_a_framework_not_loaded() -> None:
    """An array type whose module is not imported reads as a stand-in (named like the class)
    that asks the real class once the module is there; nothing is imported to read it."""
    name = "sc_test_not_loaded_mod"
    assert name not in sys.modules
    d = fixed.__shapecontract__.to_dict()
    d["slots"][0]["spec"]["array_types"] = [f"{name}:Thing"]
    loaded = Contract.from_dict(d)
    assert name not in sys.modules
    spec = loaded.slots[0].spec
    assert isinstance(spec, ArraySpec) and spec.array_types[0].__name__ == "Thing"
    assert "Float[Thing," in str(loaded)
    assert not isinstance(z(2), spec.array_types)
    assert outcome(loaded, z(2, 24, 3))[0][1] == "type"  # type: ignore[index]
    mod = types.ModuleType(name)

    class Thing(np.ndarray):
        pass

    Thing.__module__, Thing.__qualname__ = name, "Thing"

    mod.Thing = Thing  # type: ignore[attr-defined]
    sys.modules[name] = mod
    try:
        assert isinstance(z(2).view(Thing), spec.array_types)
        assert Contract.from_dict(d).to_dict() == d
    finally:
        del sys.modules[name]


@contract
def fuzzed(x: Float[Array, "batch features"], mask: Float[Array, "batch"] | None, tag: str
           ) -> Float[Array, "batch"]:
    return x.sum(-1)


def _valid() -> dict[str, Any]:
    return fuzzed.__shapecontract__.to_dict()  # type: ignore[no-any-return]


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    d = _valid()
    node: Any = d
    for p in path[:-1]:
        node = node[p]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


_DELETE = object()


@pytest.mark.parametrize("text, says", [
    ("{", "malformed contract JSON"),
    ("", "malformed contract JSON"),
    ("[1, 2]", "expected a JSON object"),
    ("null", "expected a JSON object"),
    ('{"name": "f", "slots": []}', "no \"format\" key"),
    ('{"format": "shapecontract.contract/2", "name": "f", "slots": []}', "unknown contract format"),
    ('{"format": 1, "name": "f", "slots": []}', "'format' must be str"),
    (b"\xff\xfe", "not UTF-8"),
    (None, "takes JSON text"),
])
def test_malformed_json(text: Any, says: str) -> None:
    with pytest.raises(ContractSyntaxError, match=says):
        Contract.from_json(text)


@pytest.mark.parametrize("path, value, says", [
    (["slots", 0, "spec", "dims"], "batch,features", "commas"),
    (["slots", 0, "spec", "dims"], "a *b *c", "only one variadic"),
    (["slots", 0, "spec", "dims"], 3, "'dims' must be str"),
    (["slots", 0, "spec", "dims"], "batch features-wat", "no argument or return binds"),
    (["slots", 0, "spec", "type"], "matrix", "unknown spec type"),
    (["slots", 0, "spec", "dtypes"], [1], "list of strings"),
    (["slots", 0, "spec", "dtype_patterns"], [{"pattern": "("}], "dtype pattern"),
    (["slots", 0, "spec", "array_types"], ["pytorch"], "unknown array type"),
    (["slots", 0, "spec", "labels"], {"7": "x"}, "bad label"),
    (["slots", 0, "spec", "origins"], [None], "1 origins for 2 dims"),
    (["slots", 0, "spec", "origins"], [{"text": "t", "source": "magic"}, None], "source 'magic'"),
    (["slots", 0, "kind"], "tensor", "kind 'tensor'"),
    (["slots", 0, "star"], "***", "star"),
    (["slots", 0, "location"], [{"a": 1}], "location"),
    (["slots", 0, "spec"], _DELETE, "needs a spec"),
    (["slots", 0, "name"], _DELETE, "missing field 'name'"),
    (["slots", 0], "x", "expected a JSON object"),
    (["slots"], {}, "'slots' must be list"),
    (["level"], "lenient", "level 'lenient'"),
    (["framework_verdict"], "kept", "framework_verdict"),
    (["slots", 2, "hint", "ref"], "int", "module:qualname"),
    (["slots", 2, "hint"], _DELETE, "missing field 'hint'"),
    (["slots", 0, "optional"], "yes", "'optional' must be bool"),
])
def test_malformed_contract_data(path: list[Any], value: Any, says: str) -> None:
    """Every malformed field is a ContractSyntaxError naming it, never a KeyError/TypeError."""
    d = _with(path, value)
    with pytest.raises(ContractSyntaxError, match=says):
        Contract.from_dict(d)
    with pytest.raises(ContractSyntaxError, match=says):
        Contract.from_json(json.dumps(d))


def test_tuple_kind_that_cannot_be_found() -> None:
    d = named_tuple.__shapecontract__.to_dict()
    assert d["slots"][0]["spec"]["kinds"] == [f"{__name__}:Pair"]
    d["slots"][0]["spec"]["kinds"] = ["nowhere_mod:Pair"]
    with pytest.raises(ContractSyntaxError, match="cannot be found"):
        Contract.from_dict(d)


def _json_value() -> Any:
    return st.recursive(st.none() | st.booleans() | st.integers(-3, 30) | st.text(max_size=6)
                        | st.sampled_from(["array", "one_of", "tuple", "dims", "batch", "pin"]),
                        lambda kids: st.lists(kids, max_size=3)
                        | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutated_data_reads_or_raises_contract_syntax_error(data: st.DataObject) -> None:
    """Any one field of a valid contract replaced by any JSON value: it reads, or it raises
    ContractSyntaxError; nothing else escapes."""
    d = _valid()
    paths = _paths(d)
    path = data.draw(st.sampled_from(paths))
    value = data.draw(_json_value())
    node: Any = d
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    try:
        c = Contract.from_dict(d)
    except ContractSyntaxError:
        return
    assert Contract.from_json(c.to_json()).to_json() == c.to_json()


# ----------------------------------------------------------------------- properties
@st.composite
def _case(draw: Any) -> tuple[list[tuple[str, str]], list[list[np.ndarray]]]:
    sig = draw(signature())
    calls = []
    for _ in range(3):
        env: dict[str, int] = {}
        calls.append([np.zeros(draw(shape_for(ds, env)), dtype=draw(st.sampled_from(DTYPES)))
                      for _cat, ds in sig])
    return sig, calls


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(_case())
def test_generated_contracts_round_trip(case: tuple[list[tuple[str, str]], list[list[np.ndarray]]]
                                        ) -> None:
    """For generated dim strings: the JSON holds them as text, re-parses to the same specs,
    and the loaded contract gives the same verdict on generated values."""
    from shapecontract._hints import spec_from_hint

    sig, calls = case
    slots = tuple(Slot(f"x{i}", "array", spec_from_hint(getattr(sc, cat)[Array, ds]))
                  for i, (cat, ds) in enumerate(sig))
    c = Contract("gen", slots)
    loaded = roundtrip(c)
    assert loaded == c
    assert [s["spec"]["dims"] for s in c.to_dict()["slots"]] == \
        [" ".join(ds.split()) for _, ds in sig]
    same_behaviour(c, loaded, [tuple(a) for a in calls])


def test_json_is_what_the_docs_say() -> None:
    """from_json/to_json are reachable from the public Contract, and nothing new leaks into
    the public namespace."""
    assert sc.Contract.from_json is not None and hasattr(sc.Contract, "to_json")
    assert "to_json" not in sc.__all__


def test_documented_sample_matches_the_real_one() -> None:
    """The JSON sample in docs/usage.md is JSON, and says what the LSTM's contract writes
    (up to the elisions marked "...")."""
    import re
    from pathlib import Path

    import torch

    doc = (Path(__file__).resolve().parent.parent / "docs" / "usage.md").read_text()
    m = re.search(r"## Contracts as JSON.*?```json\n(.*?)```", doc, re.S)
    assert m, "docs/usage.md lost its JSON sample"
    sample = json.loads(m.group(1))
    real = contract_of(torch.nn.LSTM(3, 8, batch_first=True)).to_dict()
    assert list(sample) == list(real)
    assert {k: v for k, v in sample.items() if k != "slots"} == \
        {k: v for k, v in real.items() if k != "slots"}
    assert [s["name"] for s in sample["slots"]] == [s["name"] for s in real["slots"]]
    opt, real_opt = sample["slots"][0]["spec"]["options"][0], real["slots"][0]["spec"]["options"][0]
    assert {k: v for k, v in opt.items() if k != "dtypes"} == \
        {k: v for k, v in real_opt.items() if k != "dtypes"}
    assert set(opt["dtypes"]) - {"..."} <= set(real_opt["dtypes"])
    out = {k: v for k, v in sample["slots"][2].items() if k != "..."}
    assert out == {k: v for k, v in real["slots"][2].items() if k != "spec"}
