"""Safety (issue 17): no code runs from a contract's text, modes do not leak out of generators
or tests, nothing the library keeps pins a model, data arguments never import code by accident.

Each regression test below failed before its change. The property tests draw hostile JSON
documents and annotation strings; bounded by SHAPECONTRACT_FUZZ_EXAMPLES (default 150),
`make fuzz` runs them large.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import gc
import io
import json
import keyword
import os
import pickle
import subprocess
import sys
import textwrap
import tokenize
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import shapecontract as sc
from shapecontract import Array, Contract, ContractSyntaxError, Float, ShapeContractError, contract

EXAMPLES = int(os.environ.get("SHAPECONTRACT_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))

MARK = "SC_PWNED"
PAYLOAD = f"__import__('builtins').__setattr__('{MARK}', 1)"
HOSTILE = (
    f"x={PAYLOAD}",
    f"x\n{PAYLOAD}\n#",
    f"b\n{PAYLOAD}\n#",
    f"b\r{PAYLOAD}",
    f"b\u2028{PAYLOAD}",
    f"b\x0c\n{PAYLOAD}",
    f"'); {PAYLOAD}; ('",
    f'"); {PAYLOAD}; ("',
    f"{{{PAYLOAD}}}",
    "class", "None", "1x", "", "__sc_fn", "__sc_report", "\uff58", "x y", "x-1", "*x",
)


def _array_spec(dims: str, **more: Any) -> dict[str, Any]:
    return {"type": "array", "dims": dims, "dtype": "Float", "dtypes": None,
            "array_types": ["array"], **more}


def _doc(*slots: dict[str, Any]) -> dict[str, Any]:
    return {"format": "shapecontract.contract/1", "name": "f", "slots": list(slots)}


@pytest.fixture(autouse=True)
def _no_marker() -> Any:
    yield
    assert not hasattr(builtins, MARK), "a contract's text ran as code"


# ------------------------------------------------------------------ generated code
ALLOWED_NAMES = {"type", "len", "tuple", "isinstance", "Exception", "BaseException", "check",
                 "shape", "dtype", "single", "dict",
                 "__tracebackhide__", "__out"}


def assert_source_holds_no_outside_text(source: str, c: Any, *names: str) -> None:
    """Every token of the generated source, comments aside, is code the generator wrote: a
    keyword, a builtin it uses, one of its `__sc_` names or a vetted slot name; no string."""
    params = {s.name for s in c.slots} | set(names)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            raise AssertionError(f"a string literal in generated source: {tok.string!r}")
        if tok.type == tokenize.NAME:
            ok = (keyword.iskeyword(tok.string) or tok.string in ALLOWED_NAMES
                  or tok.string.startswith("__sc_") or tok.string in params)
            assert ok, f"name {tok.string!r} in generated source:\n{source}"
        if tok.type == tokenize.COMMENT:
            assert "\n" not in tok.string and "\r" not in tok.string


@pytest.mark.parametrize("name", HOSTILE)
def test_json_slot_name_is_vetted(name: str) -> None:
    """A JSON slot name that is not a plain identifier is a ContractSyntaxError; no code runs."""
    with pytest.raises(ContractSyntaxError, match="slot name"):
        Contract.from_dict(_doc({"name": name, "kind": "array", "spec": _array_spec("b")}))


def test_json_duplicate_slot_name_is_a_syntax_error() -> None:
    """Two slots named x are a ContractSyntaxError, not a RuntimeError from generated code."""
    slot = {"name": "x", "kind": "array", "spec": _array_spec("b")}
    with pytest.raises(ContractSyntaxError, match="two slots are named 'x'"):
        Contract.from_dict(_doc(slot, slot))


@pytest.mark.parametrize("label", HOSTILE[1:9])
def test_json_label_reaches_source_as_an_inert_comment(label: str) -> None:
    """A hostile dim label stays display text: no code runs and the check still checks."""
    c = Contract.from_dict(_doc({"name": "x", "kind": "array",
                                 "spec": _array_spec("3", labels={"0": label})}))
    c.check(np.zeros(3))
    with pytest.raises(ShapeContractError):
        c.check(np.zeros(4))
    assert_source_holds_no_outside_text(c.checker_source(), c)


def test_json_dict_keys_are_constants() -> None:
    """A dict spec's keys reach the checker as constants, never as string literals in source."""
    spec = {"type": "dict", "keys": [f"k'] or {PAYLOAD} or x['"],
            "items": [_array_spec("b 3")]}
    c = Contract.from_dict(_doc({"name": "x", "kind": "array", "spec": spec}))
    c.check({f"k'] or {PAYLOAD} or x['": np.zeros((2, 3))})
    with pytest.raises(ShapeContractError):
        c.check({f"k'] or {PAYLOAD} or x['": np.zeros((2, 4))})
    assert_source_holds_no_outside_text(c.checker_source(), c)


def test_cli_check_of_a_hostile_contract_is_a_usage_error(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`shapecontract check evil.json x.npy` refuses the contract (exit 2) and runs nothing."""
    from shapecontract.cli import main

    (tmp_path / "evil.json").write_text(json.dumps(_doc(
        {"name": f"x={PAYLOAD}", "kind": "array", "spec": _array_spec("b")})))
    np.save(tmp_path / "x.npy", np.zeros(3))
    code = main(["check", str(tmp_path / "evil.json"), str(tmp_path / "x.npy")])
    assert code == 2
    assert "slot name" in capsys.readouterr().err


def test_parameter_named_tracebackhide_receives_its_argument() -> None:
    """A parameter named `__tracebackhide__` gets the caller's value, not the wrapper's True."""
    @contract
    def f(x: Float[Array, "b"], __tracebackhide__: int) -> int:
        return __tracebackhide__

    assert f(np.zeros(2), 7) == 7
    with pytest.raises(ShapeContractError):
        f(np.zeros((2, 2)), 7)


def test_function_named_like_a_keyword_is_wrapped() -> None:
    """A function whose __name__ was set to a keyword is still decorated (no SyntaxError)."""
    def f(x: Float[Array, "b"]) -> None:
        return None

    f.__name__ = "class"
    g = contract(f)
    g(np.zeros(2))
    with pytest.raises(ShapeContractError):
        g(np.zeros((2, 2)))


def test_contract_with_compiled_checkers_pickles_and_copies() -> None:
    """A contract keeps its checkers on itself yet pickles (to a worker) and copies without them."""
    c = Contract.from_dict(_doc({"name": "x", "kind": "array", "spec": _array_spec("b 3")}))
    c.check(np.zeros((2, 3)))
    for d in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
        assert d == c
        d.check(np.zeros((2, 3)))
        with pytest.raises(ShapeContractError):
            d.check(np.zeros((2, 4)))


# hostile documents: a valid document with one string field replaced
_BASE = {
    "format": "shapecontract.contract/1", "name": "base", "level": "strict",
    "slots": [
        {"name": "n", "kind": "dim"},
        {"name": "x", "kind": "array", "spec": _array_spec("b n 3", labels={"2": "features"},
                                                             advice=["a hint"])},
        {"name": "d", "kind": "array", "optional": True, "spec": {
            "type": "dict", "keys": ["a", "b"],
            "items": [_array_spec("b *rest"), _array_spec("#b n-1")]}},
        {"name": "t", "kind": "array", "spec": {"type": "tuple", "items": [
            _array_spec("b"), {"type": "one_of", "options": [_array_spec("b"),
                                                            _array_spec("b c")]}]}},
        {"name": "h", "kind": "hint", "hint": {"text": "int", "ref": "builtins:int"}},
        {"name": "y0", "kind": "array", "output": True, "location": ["output", "dense"],
         "spec": _array_spec("b 1")},
    ],
    "layers": [{"name": "dense", "kind": "Dense", "input": "(b, 3)", "output": "(b, 1)"}],
    "notes": ["a note"],
}


def _string_paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        out = [(*path, k) for k, v in obj.items() if isinstance(v, str)]
        for k, v in obj.items():
            out += _string_paths(v, (*path, k)) if isinstance(v, (dict, list)) else []
        return out
    if isinstance(obj, list):
        out = [(*path, i) for i, v in enumerate(obj) if isinstance(v, str)]
        for i, v in enumerate(obj):
            out += _string_paths(v, (*path, i)) if isinstance(v, (dict, list)) else []
        return out
    return []


PATHS = [p for p in _string_paths(_BASE) if p[-1] != "format"]
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                         st.builds(lambda a, b: a + PAYLOAD + b,
                                   st.sampled_from(["", "\n", "'", '"', "b\n", "x=", "#\n"]),
                                   st.sampled_from(["", "\n", "#", "'", ")"])))


@SETTINGS
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), hostile_text), min_size=1, max_size=3),
       rename_keys=st.booleans())
def test_property_hostile_json_runs_no_code(edits: list[tuple[tuple[Any, ...], str]],
                                            rename_keys: bool) -> None:
    """Any hostile string in any field of a JSON contract: a ContractSyntaxError, or a contract
    whose generated checkers hold no outside text outside identifier positions; nothing runs."""
    doc = json.loads(json.dumps(_BASE))
    for path, text in edits:
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = text
    if rename_keys:
        doc["slots"][2]["spec"]["keys"] = [edits[0][1], "b"]
    try:
        c = Contract.from_dict(doc)
    except ContractSyntaxError:
        return
    for fn in (c.checker(), c.checker(with_output=True)):
        assert_source_holds_no_outside_text(fn.__shapecontract_source__, c)
    with contextlib.suppress(ShapeContractError, TypeError):
        c.check(np.zeros((2, 4, 3)), None, (np.zeros(2), np.zeros(2)), 1, n=4)
    str(c), repr(c), c.table()
    assert not hasattr(builtins, MARK)


dim_token = st.one_of(st.sampled_from(["b", "t", "3", "_", "...", "*rest", "#b", "t-1", "2*b",
                                       "f=3", "b//2"]), hostile_text)


@SETTINGS
@given(dims=st.lists(dim_token, min_size=1, max_size=4))
@example(dims=["\u00b2"])  # found by `make fuzz`: '²'.isdigit(), and int() raised ValueError
@example(dims=["\u0663"])  # an Arabic-Indic 3: a digit to str and to \\d, not a size
def test_property_hostile_annotation_strings_run_no_code(dims: list[str]) -> None:
    """A hostile annotation string: a ContractSyntaxError at decoration, or a checker whose
    source holds no text of it outside comments; nothing runs."""
    text = " ".join(dims)

    def f(x: Any) -> None:
        return None

    try:
        f.__annotations__ = {"x": Float[Array, text]}
        g = contract(f)
    except ContractSyntaxError:
        return
    assert_source_holds_no_outside_text(g.__shapecontract_source__, sc.contract_of(g), "f")
    with contextlib.suppress(ShapeContractError):
        g(np.zeros((2, 3, 4)))


# ------------------------------------------------------------------ modes and generators
@contract
def _needs_three(x: Float[Array, "b 3"]) -> None:
    return None


def test_scoped_in_a_generator_does_not_leak_into_its_consumer() -> None:
    """`with scoped("off"): yield batch` silences the generator's own calls, not its consumer's."""
    def batches() -> Any:
        for _ in range(3):
            with sc.scoped(mode="off"):
                _needs_three(np.zeros((2, 4)))  # the generator's own call: off
                yield np.zeros((2, 4))

    caught = 0
    for b in batches():
        with contextlib.suppress(ShapeContractError):
            _needs_three(b)
            continue
        caught += 1
    assert caught == 3


def test_scoped_in_an_async_generator_does_not_leak_into_its_consumer() -> None:
    """The same for an async generator consumed by `async for`."""
    async def batches() -> Any:
        for _ in range(3):
            with sc.scoped(mode="off"):
                _needs_three(np.zeros((2, 4)))
                yield np.zeros((2, 4))

    async def consume() -> int:
        caught = 0
        async for b in batches():
            try:
                _needs_three(b)
            except ShapeContractError:
                caught += 1
        return caught

    assert asyncio.run(consume()) == 3


def test_scoped_in_a_context_manager_generator_covers_the_block() -> None:
    """`@contextmanager` (sync and async) around scoped: the user's with-block is covered."""
    @contextlib.contextmanager
    def quiet() -> Any:
        with sc.scoped(mode="off"):
            yield

    @contextlib.asynccontextmanager
    async def aquiet() -> Any:
        with sc.scoped(mode="off"):
            yield

    with quiet():
        _needs_three(np.zeros((2, 4)))

    async def main() -> None:
        async with aquiet():
            _needs_three(np.zeros((2, 4)))

    asyncio.run(main())
    with pytest.raises(ShapeContractError):
        _needs_three(np.zeros((2, 4)))


@pytest.fixture
def quiet_fixture() -> Any:
    with sc.scoped(mode="off"):
        yield


def test_scoped_in_a_yield_fixture_covers_the_test(quiet_fixture: None) -> None:
    """A pytest yield fixture that enters scoped("off") covers the test that uses it."""
    _needs_three(np.zeros((2, 4)))


def test_generator_closed_inside_another_block_does_not_undo_it() -> None:
    """A generator's block that ends later (closed inside another block) removes only itself."""
    def gen() -> Any:
        with sc.scoped(mode="off"):
            yield 1
            yield 2

    g = gen()
    next(g)
    with sc.scoped(mode="warn"):
        g.close()
        with pytest.warns(UserWarning):
            _needs_three(np.zeros((2, 4)))
    with pytest.raises(ShapeContractError):
        _needs_three(np.zeros((2, 4)))


def test_a_scoped_mode_does_not_cross_into_a_new_thread() -> None:
    """A thread started inside a block runs in the default mode."""
    import threading

    seen: list[str] = []
    with sc.scoped(mode="off"):
        t = threading.Thread(target=lambda: seen.append(sc.get_mode()))
        t.start()
        t.join(10)
    assert seen == ["raise"]


def test_pytest_plugin_ends_a_block_a_test_leaves_entered(tmp_path: Path) -> None:
    """A test that enters scoped("off") and never exits does not silence the next test."""
    (tmp_path / "test_leak.py").write_text(textwrap.dedent("""
        import numpy as np, pytest
        import shapecontract as sc
        from shapecontract import Array, Float, contract

        @contract
        def f(x: Float[Array, "b 3"]) -> None: ...

        def test_a_leaves_it_entered():
            sc.scoped(mode="off").__enter__()

        def test_b_is_checked():
            with pytest.raises(sc.ShapeContractError):
                f(np.zeros((2, 4)))

        @pytest.mark.shapecontract(mode="off")
        def test_c_marker_still_works():
            f(np.zeros((2, 4)))
    """))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(tmp_path / "test_leak.py")], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert "3 passed" in r.stdout, r.stdout + r.stderr


def test_pytest_report_in_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    """`--shapecontract-report missing/r.json` is said before the tests run, not a traceback."""
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--shapecontract-report", "missing/r.json", "test_x.py"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr + r.stdout


# ------------------------------------------------------------------ nothing pinned
N_MODELS = 3000 if EXAMPLES > 1000 else 300  # `make fuzz`: thousands


def test_guarded_torch_modules_are_freed() -> None:
    """Guarded torch modules (checked, violated, loss-guarded) are collected once dropped."""
    torch = pytest.importorskip("torch")
    refs = []
    loss = sc.guard(torch.nn.MSELoss())
    for _ in range(N_MODELS):
        m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        g = sc.guard(m)
        out = g(torch.zeros(3, 4))
        loss(out, torch.zeros(3, 2))
        with contextlib.suppress(ShapeContractError):
            g(torch.zeros(3, 5))
        sc.contract_of(m).check(torch.zeros(3, 4))
        refs.append(weakref.ref(m))
        del m, g, out
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_guarded_keras_models_are_freed() -> None:
    """Guarded Keras models (predict, fit, a violation) are collected once dropped."""
    keras = pytest.importorskip("keras")
    refs = []
    x, y = np.zeros((4, 6, 3), "float32"), np.zeros((4, 1), "float32")
    for i in range(12):
        m = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(2), keras.layers.Dense(1)])
        m.compile(loss="mse")
        g = sc.guard(m)
        g.predict(x, verbose=0)
        if i < 3:
            g.fit(x, y, epochs=1, verbose=0)
        with contextlib.suppress(ShapeContractError):
            g.predict(np.zeros((4, 6, 1)), verbose=0)
        refs.append(weakref.ref(m))
        del m, g
    gc.collect()
    keras.backend.clear_session()
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


# ------------------------------------------------------------------ CLI data arguments
def test_cli_data_argument_that_is_no_file_imports_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`data:2024.npy` that is not a file is a usage error; data.py in the cwd is not imported."""
    from shapecontract.cli import main

    (tmp_path / "data.py").write_text(f"{PAYLOAD}\n")
    (tmp_path / "c.json").write_text(json.dumps(_doc(
        {"name": "x", "kind": "array", "spec": _array_spec("b")})))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["check", "c.json", "data:2024.npy"])
    assert code == 2
    assert "no such file" in capsys.readouterr().err
    assert "data" not in sys.modules


# ------------------------------------------------------------------ ragged and sparse
def test_ragged_and_sparse_tensors_are_checked_by_their_known_sizes() -> None:
    """tf.RaggedTensor / tf.SparseTensor are arrays: ragged sizes never fail, others are checked,
    and the value passes through untouched."""
    tf = pytest.importorskip("tensorflow")

    @contract
    def f(x: Float[Array, "b t 3"]) -> Float[Array, "b t 3"]:
        return x

    r = tf.RaggedTensor.from_row_lengths(tf.zeros((5, 3)), [2, 3])
    assert f(r) is r
    with pytest.raises(ShapeContractError, match=r"got shape \(2, \?, 4\)"):
        f(tf.RaggedTensor.from_row_lengths(tf.zeros((5, 4)), [2, 3]))
    s = tf.sparse.from_dense(tf.zeros((2, 4, 3)))
    assert f(s) is s
    with pytest.raises(ShapeContractError, match="expected 3, got 2"):
        f(tf.sparse.from_dense(tf.zeros((2, 4, 2))))



def test_a_json_contract_named_with_a_nul_compiles() -> None:
    """Found by the hostile-JSON property test: a contract named "\\x00" made compile() raise
    "embedded null character" (the name reached the checker's file name raw); it is escaped."""
    import numpy as np

    from shapecontract import Contract, ShapeContractError

    doc = {**_doc({"name": "x", "kind": "array", "spec": _array_spec("b 3")}), "name": "a\x00b\nc"}
    c = Contract.from_dict(doc)
    c.check(np.zeros((2, 3), np.float32))
    with pytest.raises(ShapeContractError):
        c.check(np.zeros((2, 4), np.float32))
