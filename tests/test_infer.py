"""Inferred annotations (shapecontract.infer): record a real run of the seed-000 pipeline,
write the annotations into a copy of its source, and check that they pass the same run and
reject the seed scenarios' bad data."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import textwrap
import types
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from shapecontract import Contract, ShapeContractError, guard, infer

# The user's pipeline (seed 000: hourly readings of 3 features, 24-step windows, an LSTM).
PIPELINE = '''\
"""Hourly readings -> scaled -> 24-step windows -> train/test split."""

import numpy as np


def load_series(n_steps, n_features=3, seed=0):
    # temperature, humidity, pressure: one row per hour
    rng = np.random.default_rng(seed)
    return rng.random((n_steps, n_features)).astype(np.float32)


def scale(series):
    mean = series.mean(axis=0, keepdims=True)
    return (series - mean) / (series.std(axis=0, keepdims=True) + 1e-6)


def make_windows(series, timesteps):
    n = series.shape[0] - timesteps
    X = np.stack([series[i:i + timesteps] for i in range(n)])
    y = series[timesteps:, :1]  # next hour's temperature
    return X, y


def split(X, y, train_fraction=0.8):
    cut = int(len(X) * train_fraction)
    return X[:cut], X[cut:], y[:cut], y[cut:]


def summary(X):   # never called in the good run
    return {"mean": X.mean(axis=0)}
'''

_counter = iter(range(10**6))
pytestmark = pytest.mark.filterwarnings("ignore:infer. summary was never called")


def _import(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[types.ModuleType]:
    """The user's pipeline module, written to tmp_path and imported under a fresh name."""
    name = f"seedpipe_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(PIPELINE)
    mod = _import(path, name)
    yield mod
    sys.modules.pop(name, None)


class Forecaster(nn.Module):
    """The PyTorch port of seed 000's `LSTM(50, input_shape=(24, 3)) -> Dense(1)`."""

    def __init__(self, features: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def run(m: Any, model: nn.Module, n_steps: int = 120, features: int = 3,
        timesteps: int = 24) -> torch.Tensor:
    """The user's run: the pipeline into the model, in minibatches of 32."""
    series = m.scale(m.load_series(n_steps, features))
    X, y = m.make_windows(series, timesteps)
    X_train, _X_test, _y_train, _y_test = m.split(X, y)
    with torch.no_grad():
        outs = [model(torch.from_numpy(X_train[i:i + 32])) for i in range(0, len(X_train), 32)]
    return torch.cat(outs)


def record_good_run(m: Any, model: nn.Module | None = None, **kw: Any) -> infer.Recording:
    model = model if model is not None else Forecaster()
    fns = [m.load_series, m.scale, m.make_windows, m.split, m.summary]
    with infer.record(*fns, model, **kw) as rec:
        run(m, model, n_steps=120)
        run(m, model, n_steps=90)
    return rec


def test_round_trip_passes_the_good_run_and_rejects_the_seed_bad_data(
        pipeline: types.ModuleType, tmp_path: Path) -> None:
    """Annotations recorded on a good run, applied to a copy of the source, pass the same run
    and reject 1 feature instead of 3 and 48 timesteps instead of 24 (seed 000, ex. 1 and 2)."""
    rec = record_good_run(pipeline)
    copy_dir = tmp_path / "annotated"
    copy_dir.mkdir()
    copy = copy_dir / Path(pipeline.__file__ or "").name
    copy.write_text(PIPELINE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patch = rec.apply(copy, fixed=["timesteps", "features"])
    assert "summary" in str(caught[0].message) and "never called" in str(caught[0].message)
    assert patch.startswith("--- a/") and "+@contract" in patch
    assert Path(pipeline.__file__ or "").read_text() == PIPELINE  # the original is untouched

    annotated = _import(copy, f"annotated_{next(_counter)}")
    for fn in ("load_series", "scale", "make_windows", "split"):
        assert isinstance(getattr(annotated, fn).__shapecontract__, Contract), fn
    assert not hasattr(annotated.summary, "__shapecontract__")  # never called: not annotated

    model = Forecaster()
    torch.manual_seed(0)
    expected = run(pipeline, model, n_steps=150)
    torch.manual_seed(0)
    got = run(annotated, model, n_steps=150)  # the same good run (another length) passes
    assert torch.equal(expected, got)

    with pytest.raises(ShapeContractError) as one_feature:
        run(annotated, Forecaster(1), features=1)
    assert one_feature.value.function == "load_series"
    assert one_feature.value.dim == "features"
    assert (one_feature.value.expected, one_feature.value.actual) == (3, 1)

    with pytest.raises(ShapeContractError) as long_windows:
        run(annotated, model, n_steps=150, timesteps=48)
    assert long_windows.value.function == "make_windows"
    assert long_windows.value.dim == "timesteps"
    assert (long_windows.value.expected, long_windows.value.actual) == (24, 48)


def test_dims_take_the_names_the_model_gives_them(pipeline: types.ModuleType) -> None:
    """The axes that reach the LSTM are named `timesteps` and `features` (its contract's
    names) in every function they flow through; without the model, the int parameters whose
    values they always equal name them."""
    with_model = record_good_run(pipeline).annotations()
    assert with_model["split"]["X"] == 'Float[Array, "n_X timesteps features"]'
    assert with_model["scale"]["series"] == 'Float[Array, "n_steps features"]'
    assert with_model["load_series"]["return"] == 'Float[Array, "n_steps features"]'

    fns = [pipeline.load_series, pipeline.scale, pipeline.make_windows, pipeline.split]
    with infer.record(*fns) as rec:  # no model: features is named after the first slot
        X, y = pipeline.make_windows(pipeline.scale(pipeline.load_series(60)), 24)
        pipeline.split(X, y)
        X, y = pipeline.make_windows(pipeline.scale(pipeline.load_series(50)), 24)
        pipeline.split(X, y)
    alone = rec.annotations()
    # the int parameters the sizes always equal name them: n_features, timesteps
    assert alone["make_windows"]["return"] == (
        'tuple[Float[Array, "n_X timesteps n_features"], Float[Array, "n_X 1"]]')
    assert alone["load_series"]["return"] == 'Float[Array, "n_steps n_features"]'
    # fixed, a size keeps a meaningful name as its label; a slot-made name is dropped
    fixed = rec.annotations(fixed=True)
    assert fixed["load_series"]["return"] == 'Float[Array, "n_steps n_features=3"]'
    assert fixed["split"]["y"] == 'Float[Array, "n_X 1"]'


def test_unification_fixed_and_varying_sizes(pipeline: types.ModuleType) -> None:
    """Sizes equal in every call share a dim; a varying size stays named even with fixed=True;
    constant sizes are fixed only when asked; a size that is always 1 is written 1."""
    rec = record_good_run(pipeline)
    default = rec.annotations()["make_windows"]["return"]
    assert default == 'tuple[Float[Array, "n_X timesteps features"], Float[Array, "n_X 1"]]'
    fixed = rec.annotations(fixed=True)
    assert fixed["make_windows"]["return"] == (
        'tuple[Float[Array, "n_X timesteps=24 features=3"], Float[Array, "n_X 1"]]')
    only = rec.annotations(fixed="features")["make_windows"]["return"]  # one dim, by name
    assert only == 'tuple[Float[Array, "n_X timesteps features=3"], Float[Array, "n_X 1"]]'
    # train and test parts: sizes that differ from each other and from X
    assert fixed["split"]["return"] == (
        'tuple[Float[Array, "n_X_train timesteps=24 features=3"], '
        'Float[Array, "n_X_test timesteps=24 features=3"], '
        'Float[Array, "n_X_train 1"], Float[Array, "n_X_test 1"]]')


def test_non_array_arguments_are_left_alone(pipeline: types.ModuleType) -> None:
    """float parameters and ints that size no dim get no annotation, in the dict and in the
    patched source; an int parameter that names a dim is annotated `int`, so that it binds it
    (`make_windows(series, timesteps: int) -> (..., timesteps, ...)`)."""
    rec = record_good_run(pipeline)
    ann = rec.annotations()
    assert set(ann["load_series"]) == {"n_steps", "return"}
    assert ann["load_series"]["n_steps"] == "int"
    assert set(ann["make_windows"]) == {"series", "timesteps", "return"}
    assert ann["make_windows"]["timesteps"] == "int"
    assert set(ann["split"]) == {"X", "y", "return"}
    patch = rec.apply(Path(pipeline.__file__ or ""), diff=True)
    # too long for one line now: one parameter per line, the others exactly as written
    assert "\n+def make_windows(\n+    series: Float[Array, " in patch
    assert "\n+    timesteps: int,\n+) -> tuple[" in patch
    assert "\n+    train_fraction=0.8,\n+) -> tuple[\n+    Float[Array, " in patch
    assert '\n+    Float[Array, "n_X_test 1"],\n+]:\n' in patch  # one returned item per line
    assert "\n+def scale(series: Float[Array, " in patch  # short enough: stays on one line


def test_inference_is_deterministic(tmp_path: Path) -> None:
    """Two recordings of the same run, in modules imported separately, give the same text."""
    outs = []
    for _ in range(2):
        name = f"seedpipe_{next(_counter)}"
        d = tmp_path / name
        d.mkdir()
        (d / "seedpipe.py").write_text(PIPELINE)
        m = _import(d / "seedpipe.py", name)
        rec = record_good_run(m)
        outs.append((rec.annotations(), rec.annotations(fixed=True),
                     rec.source().replace(name, "M"), rec.apply(d / "seedpipe.py", diff=True)))
    assert outs[0] == outs[1]


def test_a_function_never_called_is_reported_not_annotated(pipeline: types.ModuleType) -> None:
    """`summary` was recorded but never called: it is listed, commented in the stubs, and
    apply() warns and leaves it as it was."""
    rec = record_good_run(pipeline)
    assert rec.uncalled == ["summary"]
    assert "summary" not in rec.annotations()
    assert "summary: never called during recording; not annotated" in rec.notes()
    assert "summary: never called during recording" in rec.source()
    assert "def summary" not in rec.source()
    with pytest.warns(UserWarning, match="summary was never called"):
        patch = rec.apply(Path(pipeline.__file__ or ""), diff=True)
    assert "summary" not in "".join(ln for ln in patch.splitlines() if ln.startswith("+"))


def test_the_users_formatting_and_comments_are_kept(tmp_path: Path) -> None:
    """Comments, blank lines, odd spacing and a multi-line signature survive apply(); only the
    signatures, decorators and one import line change."""
    source = textwrap.dedent('''\
        # -*- the user's header comment -*-
        import numpy as np   # aligned comment


        class Scaler:
            """Keeps its own style."""

            def  fit(self,
                     series,      # rows are hours
                     eps = 1e-6):
                self.mean = series.mean( axis = 0 )
                return series-self.mean


        def twice( x ):
            return x*2  # trailing comment
        ''')
    name = f"fmt_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    m = _import(path, name)
    with infer.record(m.Scaler.fit, m.twice) as rec:
        m.twice(m.Scaler().fit(np.ones((5, 2))))
        m.twice(m.Scaler().fit(np.ones((7, 2))))
    rec.apply(path)
    new = path.read_text()
    changed = [ln for ln in source.splitlines() if ln not in new.splitlines()]
    # every other original line is there, byte for byte
    assert changed == ["             series,      # rows are hours", "             eps = 1e-6):",
                       "def twice( x ):"]
    assert '         series: Float[Array, "n_series series_1"],      # rows are hours' in new
    assert '         eps = 1e-6) -> Float[Array, "n_series series_1"]:' in new
    assert "    def  fit(self," in new and "    @contract\n    def  fit(self," in new
    assert "def twice( x: Float[Array, \"n_series series_1\"] ) -> Float[" in new
    assert new.count("from shapecontract import Array, Float, contract") == 1
    reloaded = _import(path, f"{name}_again")
    assert np.array_equal(reloaded.twice(np.ones(3)[:, None].repeat(2, 1)), 2 * np.ones((3, 2)))


def test_functions_are_restored_and_data_is_not_copied(pipeline: types.ModuleType) -> None:
    """During recording, the module attribute and other modules' references (`from m import
    f`) call the recorder, which hands back the very objects; after it, even when the run
    raised, the originals are back."""
    original = pipeline.scale
    user = types.ModuleType(f"user_{next(_counter)}")
    user.scale = pipeline.scale  # `from pipeline import scale`, done before recording
    sys.modules[user.__name__] = user
    try:
        x = np.ones((4, 3), dtype=np.float32)
        with pytest.raises(RuntimeError), infer.record(pipeline.scale, pipeline.split) as rec:
            X = np.zeros((5, 24, 3), dtype=np.float32)
            y = np.zeros((5, 1), dtype=np.float32)
            parts = pipeline.split(X, y, 0.6)
            assert parts[0].base is X  # numpy views of the caller's array: nothing copied
            user.scale(x)
            raise RuntimeError("the user's run fails")
        assert pipeline.scale is original and user.scale is original
        assert pipeline.split.__code__.co_name == "split" and not hasattr(
            pipeline.split, "__shapecontract_recorded__")
        assert rec.calls("scale") == 1  # seen through the other module's reference
        assert rec.calls("split") == 1
    finally:
        sys.modules.pop(user.__name__, None)


def test_a_local_function_is_refused_clearly() -> None:
    """A function no module or class holds cannot be patched: a TypeError says so."""
    def local(x: Any) -> Any:
        return x

    with pytest.raises(TypeError, match="not reachable"), infer.record(local):
        pass


def test_dtypes_map_to_categories_and_dicts_are_reported(tmp_path: Path) -> None:
    """Float, Int, Bool, mixed float widths -> Float, int and float -> Real; a dict or a list
    of arrays and a value whose rank varies are reported in the notes, not annotated wrongly."""
    source = textwrap.dedent('''\
        def mixed(a, b, c, d, e=None):
            return {"a": a}

        def ranked(x):
            return x

        def listed(xs, n):
            return xs[:n]
        ''')
    name = f"dt_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    m = _import(path, name)
    with infer.record(m.mixed, m.ranked, m.listed) as rec:
        m.listed([np.ones(3), np.ones(3)], 1)
        m.mixed(np.ones(3, np.float32), np.ones(3, np.int64), np.ones(3, bool), np.ones(3))
        m.mixed(np.ones(4, np.float64), np.ones(4, np.int32), np.ones(4, bool), np.ones(4, int),
                np.ones((4, 2)))
        m.ranked(np.ones(3))
        m.ranked(np.ones((3, 2)))
    ann = rec.annotations()["mixed"]
    assert ann["a"] == 'Float[Array, "n_a"]' and ann["b"] == 'Int[Array, "n_a"]'
    assert ann["c"] == 'Bool[Array, "n_a"]' and ann["d"] == 'Real[Array, "n_a"]'
    assert ann["e"] == 'Float[Array, "n_a e_1"] | None'  # axis 0 met a's wherever e was seen
    assert "return" not in ann
    assert any("mixed: return: not annotated: a dict" in n for n in rec.notes())
    assert rec.annotations()["ranked"]["x"] == 'Float[Array, "..."]'
    assert any("its rank varied" in n for n in rec.notes())
    assert rec.annotations()["listed"] == {}
    assert "listed: xs: not annotated: a list of arrays" in " ".join(rec.notes())
    assert "listed: return: not annotated: a list of arrays" in " ".join(rec.notes())


def test_infer_call_records_one_call(pipeline: types.ModuleType) -> None:
    """infer_call(func, args) records one call (the CLI's entry) and keeps its result; with a
    single call, the notes warn that equal sizes may be a coincidence."""
    series = np.random.default_rng(0).random((40, 3)).astype(np.float32)
    rec = infer.infer_call(pipeline.make_windows, (series, 24), fixed=True)
    X, y = rec.result
    assert X.shape == (16, 24, 3) and y.shape == (16, 1)
    assert rec.annotations() == {"make_windows": {
        "series": 'Float[Array, "40 3"]',  # fixed sizes with slot-made names stay bare
        "timesteps": "int",  # it binds the dim it names
        "return": 'tuple[Float[Array, "16 timesteps=24 3"], Float[Array, "16 1"]]'}}
    assert pipeline.make_windows.__name__ == "make_windows"
    assert not hasattr(pipeline.make_windows, "__shapecontract_recorded__")
    assert any("one distinct call seen" in n for n in rec.notes())


def test_keras_model_names_batch_through_the_same_arrays(pipeline: types.ModuleType) -> None:
    """A Keras model recorded by its fit and its calls gets the very arrays split returned:
    their first axis takes the model's name `batch`, the others `timesteps` and `features`;
    afterwards the model (also a guarded one) has its own class and entry points back."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    fns = [pipeline.load_series, pipeline.scale, pipeline.make_windows, pipeline.split]
    with infer.record(*fns, model) as rec:
        for n in (80, 70):
            X, y = pipeline.make_windows(pipeline.scale(pipeline.load_series(n)), 24)
            X_train, _X_test, y_train, _y_test = pipeline.split(X, y)
            model.fit(X_train, y_train, epochs=1, batch_size=16, verbose=0)
        cls = type(model)
        assert cls is not keras.Sequential and model.__class__ is keras.Sequential
        y_pred = model(X_train[:3])  # a direct call is seen too (a view: axis 0 not named)
    assert "fit" not in model.__dict__  # the instance's entry point is restored
    assert type(model) is keras.Sequential  # and its class
    assert tuple(y_pred.shape) == (3, 1)
    assert len(rec._models[0].calls) == 3  # two fits, one call (shapes seen)

    guarded = guard(model)  # a guarded model: recorded, then still guarded
    guarded_type = type(guarded)
    with infer.record(guarded) as again:
        guarded(np.zeros((2, 24, 3), np.float32))
    assert type(guarded) is guarded_type and again._models[0].calls
    with pytest.raises(ShapeContractError):
        guarded(np.zeros((2, 48, 3), np.float32))
    ret = rec.annotations()["split"]["return"]
    assert ret == ('tuple[Float[Array, "batch timesteps features"], '
                   'Float[Array, "n_X_test timesteps features"], '
                   'Float[Array, "batch 1"], Float[Array, "n_X_test 1"]]')


def test_nested_recordings_both_see_calls_and_repeats_are_counted(
        pipeline: types.ModuleType) -> None:
    """A recording inside another sees the calls too, and each restores what it found; a call
    repeated with the same shapes (a training loop) is counted, stored once."""
    original = pipeline.scale
    with infer.record(pipeline.scale) as outer:
        with infer.record(pipeline.scale) as inner:
            for _ in range(50):
                pipeline.scale(np.ones((6, 3), np.float32))
            assert not inner._ids  # the batches died: no entry is left behind for them
        assert pipeline.scale is not original  # the outer recording is still in place
        pipeline.scale(np.ones((9, 3), np.float32))
    assert pipeline.scale is original
    assert inner.calls("scale") == 50 and outer.calls("scale") == 51
    with infer.record(pipeline.scale):  # no reference to the data outlives its use
        x = np.ones((6, 3), np.float32)
        alive = weakref.ref(x)
        pipeline.scale(x)
        del x
        assert alive() is None
    assert len(inner._target("scale").calls) == 1  # one distinct call kept
    assert outer.annotations()["scale"]["series"] == 'Float[Array, "n_series series_1"]'
    assert inner.annotations(fixed=True)["scale"]["series"] == 'Float[Array, "6 3"]'


def test_apply_keeps_existing_annotations_decorators_and_imports(tmp_path: Path) -> None:
    """An annotation the user wrote is kept, a function already under @contract gets no
    second one, and missing names join the existing `from shapecontract import` line."""
    source = textwrap.dedent('''\
        import numpy as np
        from shapecontract import contract


        @contract
        def center(x: np.ndarray, w):
            return x - w


        def plain(x):
            return x
        ''')
    name = f"kept_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    m = _import(path, name)
    with infer.record(m.center, m.plain) as rec:
        m.plain(m.center(np.ones((4, 2)), np.ones(2)))
        m.plain(m.center(np.ones((5, 2)), np.ones(2)))
    rec.apply(path)
    new = path.read_text()
    assert "from shapecontract import Array, Float, contract\n" in new
    assert new.count("from shapecontract import") == 1
    assert new.count("@contract") == 2
    assert 'def center(x: np.ndarray, w: Float[Array, "x_1"]) -> Float[Array, "n_x x_1"]:' in new
    assert 'def plain(x: Float[Array, "n_x x_1"]) -> Float[Array, "n_x x_1"]:' in new
    again = _import(path, f"{name}_again")
    assert again.center(np.ones((4, 3)), np.ones(3)).shape == (4, 3)
    with pytest.raises(ShapeContractError) as err:
        again.center(np.ones((4, 2)), np.ones((1, 2)))  # w was always 1-D
    assert err.value.slot == "argument w"


def test_the_stubs_shown_in_the_docs_are_real_output(pipeline: types.ModuleType) -> None:
    """docs/inference.md shows rec.source() of this pipeline: it is what the code prints."""
    doc = Path(__file__).resolve().parent.parent / "docs" / "inference.md"
    found = re.search(r"<!-- infer:stubs -->\n```python\n(.*?)```", doc.read_text(), re.S)
    assert found, "docs/inference.md lost its stubs example"
    model = Forecaster()
    fns = [pipeline.load_series, pipeline.scale, pipeline.make_windows, pipeline.split]
    with infer.record(*fns, model) as rec:
        run(pipeline, model, n_steps=200)
        run(pipeline, model, n_steps=150)
    assert found.group(1) == rec.source().replace(pipeline.__name__, "seedpipe")


def test_record_as_a_decorator(pipeline: types.ModuleType) -> None:
    """@infer.record(...) records while the decorated function runs, and only then."""
    rec = infer.record(pipeline.scale)

    @rec
    def job(n: int) -> Any:
        return pipeline.scale(np.ones((n, 3), np.float32))

    job(5)
    job(7)
    pipeline.scale(np.ones((9, 3), np.float32))  # outside the decorated run: not seen
    assert rec.calls("scale") == 2
    assert rec.annotations()["scale"]["return"] == 'Float[Array, "n_series series_1"]'


def test_optional_and_keyword_only_parameters(tmp_path: Path) -> None:
    """A parameter that is sometimes None shares dims where it was seen (`| None`, its default
    kept); keyword-only and `**kw` parameters are laid out with the rest when wrapped."""
    source = "def add(a, e=None, *, k=None, **kw):\n    return a if e is None else a + e\n"
    name = f"opt_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    m = _import(path, name)
    with infer.record(m.add) as rec:
        m.add(np.ones((3, 2)))
        m.add(np.ones((4, 2)), np.ones((4, 2)), k=np.ones(5))
    rec.apply(path)
    assert path.read_text().endswith(
        'def add(\n'
        '    a: Float[Array, "n_a a_1"],\n'
        '    e: Float[Array, "n_a a_1"] | None = None,\n'
        '    *,\n'
        '    k: Float[Array, "n_k"] | None = None,\n'
        '    **kw,\n'
        ') -> Float[Array, "n_a a_1"]:\n'
        '    return a if e is None else a + e\n')
    again = _import(path, f"{name}_again")
    assert again.add(np.ones((3, 2)), None, k=None).shape == (3, 2)
    with pytest.raises(ShapeContractError) as err:
        again.add(np.ones((3, 2)), np.ones((4, 2)))  # numpy would say "cannot broadcast"
    assert err.value.slot == "argument e" and err.value.axis == 0
