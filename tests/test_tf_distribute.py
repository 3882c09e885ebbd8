"""Scale-out (issue 11, part): contracts and guards under `tf.distribute.MirroredStrategy` over 2
logical CPUs and Keras 3 `fit` with `keras.distribution.DataParallel` (JAX, 2 CPU devices).
Each set-up runs once in its own process (TF's devices are fixed before it initialises; XLA's
device count by an environment variable); the tests below read what it reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shapecontract import Array

TF_SCRIPT = r'''
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]  # split the one CPU before TF initialises
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras import layers
from shapecontract import Array, Float, ShapeContractError, config, contract, guard
from shapecontract._errors import recent_error

out = {}
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out["replicas"] = strategy.num_replicas_in_sync
rng = np.random.default_rng(0)
TRUE_W = np.array([[1.0], [-2.0], [0.5]], np.float32)

@contract
def predict(x: Float[Array, "b 3"], w: Float[Array, "3 1"]) -> Float[Array, "b 1"]:
    return tf.matmul(x, w)

@contract
def batch_loss(pred: Float[Array, "b 1"], y: Float[Array, "b 1"]) -> Float[Array, ""]:
    return tf.reduce_mean(tf.square(pred - y))  # (1, 1) against (2, 1) broadcasts silently

with strategy.scope():
    w = tf.Variable(tf.zeros((3, 1)), aggregation=tf.VariableAggregation.MEAN)

def step(x, y):
    with tf.GradientTape() as tape:
        loss = batch_loss(predict(x, w), y)
    w.assign_sub(0.1 * tape.gradient(loss, w))  # MEAN aggregation: all-reduced over replicas
    return loss

def distributed(x, y, bx, by):
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(x).batch(bx),
                              tf.data.Dataset.from_tensor_slices(y).batch(by)))
    return strategy.experimental_distribute_dataset(ds)

xs = rng.normal(size=(32, 3)).astype(np.float32)
good = distributed(xs, xs @ TRUE_W, 8, 8)

@tf.function(input_signature=[good.element_spec])  # sizes unknown while tracing (None batch)
def train_step(batch):
    return strategy.reduce("MEAN", strategy.run(step, args=batch), axis=None)

@tf.function  # traced per shape: sizes known while tracing
def traced_step(batch):
    return strategy.run(step, args=batch)

def per_replica_shapes(batch):
    return [[tuple(t.shape) for t in strategy.experimental_local_results(v)] for v in batch]

def caught(f):
    try:
        f()
    except Exception as e:
        ours = recent_error(e)
        return {"type": type(e).__name__, "first": str(e).splitlines()[0],
                "text": str(e) if not isinstance(e, ShapeContractError) else "",
                "ours": None if ours is None else {
                    "first": str(ours).splitlines()[0], "worker": ours.worker,
                    "slot": ours.slot, "axis": ours.axis, "dim": ours.dim,
                    "expected": ours.expected, "actual": ours.actual}}
    return "passed"

# 1. good data trains; the replicas stay in step
losses = [float(train_step(b)) for _ in range(4) for b in good]
copies = [v.numpy() for v in strategy.experimental_local_results(w)]
out["train"] = {"first": losses[0], "last": losses[-1], "steps": len(losses),
                "in_step": bool(np.array_equal(copies[0], copies[1])),
                "closer": float(np.abs(copies[0] - TRUE_W).max()) < float(np.abs(TRUE_W).max())}

# 2. a wrong feature count, known while tracing: raised while strategy.run traces replica 0
feats = distributed(rng.normal(size=(8, 5)).astype(np.float32), np.zeros((8, 1), np.float32), 8, 8)
out["features"] = caught(lambda: [traced_step(b) for b in feats])

# 3. a batch mismatch between x and y, sizes known only at run time: replica 0 gets x (2, 3)
#    and y (2, 1), replica 1 gets x (1, 3) and y (2, 1), which TensorFlow broadcasts silently
bad = distributed(rng.normal(size=(3, 3)).astype(np.float32), np.zeros((4, 1), np.float32), 3, 4)
out["mismatch_shapes"] = [per_replica_shapes(b) for b in bad]
out["mismatch_graph"] = caught(lambda: [train_step(b) for b in bad])
out["mismatch_eager"] = caught(lambda: [strategy.run(step, args=b) for b in bad])
config(mode="off")  # the same bad batch without the contract's check: TensorFlow runs it
out["mismatch_off"] = caught(lambda: [float(train_step(b)) for b in bad])
config(mode=None)

# 4. a guarded Keras model built and compiled under strategy.scope(), fit on tf.data
with strategy.scope():
    m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)], name="seq")
    m.compile(optimizer="sgd", loss="mse")
guard(m)

def windows(t, f, n=32):
    return tf.data.Dataset.from_tensor_slices((rng.normal(size=(n, t, f)).astype(np.float32),
                                               rng.normal(size=(n, 1)).astype(np.float32))).batch(8)

hist = m.fit(windows(24, 3), epochs=2, verbose=0).history["loss"]
out["keras_good"] = {"epochs": len(hist), "finite": bool(np.all(np.isfinite(hist))),
                     "iterations": int(m.optimizer.iterations.numpy()),
                     "strategy": type(m.distribute_strategy).__name__}

def untouched(f):
    before = [v.numpy().copy() for v in m.weights]
    its = int(m.optimizer.iterations.numpy())
    result = caught(f)
    same = all(np.array_equal(a, v.numpy()) for a, v in zip(before, m.weights))
    return {"result": result, "untouched": same and its == int(m.optimizer.iterations.numpy())}

out["keras_timesteps"] = untouched(lambda: m.fit(windows(48, 3), epochs=1, verbose=0))
out["keras_features"] = untouched(lambda: m.fit(windows(24, 1), epochs=1, verbose=0))

def unknown_steps():  # timesteps unknown in element_spec: checked as elements flow
    for _ in range(3):
        yield (rng.normal(size=(8, 48, 3)).astype(np.float32),
               rng.normal(size=(8, 1)).astype(np.float32))

gen = tf.data.Dataset.from_generator(unknown_steps, output_signature=(
    tf.TensorSpec((None, None, 3), tf.float32), tf.TensorSpec((None, 1), tf.float32)))
out["keras_stream"] = untouched(lambda: m.fit(gen, epochs=1, verbose=0))

# 5. a decorated layer inside a guarded model that leaves timesteps open: the model's contract
#    lets 48 steps through, the layer's own contract fails when the graph runs in a replica;
#    the guarded fit re-raises ours (unguarded: TensorFlow's error with our text)
class Pool(layers.Layer):
    @contract
    def call(self, x: Float[Array, "b 24 3"]) -> Float[Array, "b 3"]:
        return keras.ops.mean(x, axis=1)

def open_model():
    with strategy.scope():
        model = keras.Sequential([keras.Input((None, 3)), Pool(), layers.Dense(1)], name="open")
        model.compile(optimizer="sgd", loss="mse")
    return model

def steps(t):
    def gen():
        for _ in range(2):
            yield (rng.normal(size=(8, t, 3)).astype(np.float32),
                   rng.normal(size=(8, 1)).astype(np.float32))
    return tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((None, None, 3), tf.float32), tf.TensorSpec((None, 1), tf.float32)))

m, bare = guard(open_model()), open_model()
out["layer_good"] = [len(model.fit(steps(24), epochs=1, verbose=0).history["loss"])
                     for model in (m, bare)]  # built and traced: timesteps stay unknown
out["layer_guarded"] = caught(lambda: m.fit(steps(48), epochs=1, verbose=0))
out["layer_unguarded"] = caught(lambda: bare.fit(steps(48), epochs=1, verbose=0))
print("RESULT " + json.dumps(out))
'''

JAX_SCRIPT = r'''
import json, sys
import numpy as np
from shapecontract import Array, Float, ShapeContractError, contract

out = {}

@contract
def rows(x: Float[Array, "b 3"]) -> Float[Array, "b 3"]:
    return x

try:  # no framework loaded: the error names no worker, and nothing gets imported for it
    rows(np.zeros((2, 4), np.float32))
except ShapeContractError as e:
    out["plain"] = {"worker": e.worker, "first": str(e).splitlines()[0],
                    "imported": sorted(m for m in ("tensorflow", "torch", "jax", "keras")
                                       if m in sys.modules)}

import jax
import keras
from keras import layers
from shapecontract import guard

out["backend"] = keras.backend.backend()
out["devices"] = len(jax.devices())
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)], name="seq")
m.compile(optimizer="sgd", loss="mse")
guard(m)
rng = np.random.default_rng(0)
y = rng.normal(size=(32, 1)).astype(np.float32)
hist = m.fit(rng.normal(size=(32, 24, 3)).astype(np.float32), y, batch_size=8, epochs=2,
             verbose=0).history["loss"]
kernel = m.layers[0].cell.kernel.value
out["good"] = {"epochs": len(hist), "finite": bool(np.all(np.isfinite(hist))),
               "iterations": int(m.optimizer.iterations.numpy()),
               "mesh": dict(kernel.sharding.mesh.shape),
               "kernel_devices": len(kernel.sharding.device_set)}

def refused(model, x):
    before = [np.asarray(v.value).copy() for v in model.weights]
    its = int(model.optimizer.iterations.numpy())
    try:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        result = "passed"
    except ShapeContractError as e:
        result = {"first": str(e).splitlines()[0], "dim": e.dim, "expected": e.expected,
                  "actual": e.actual, "worker": e.worker}
    try:
        same = all(np.array_equal(a, np.asarray(v.value)) for a, v in zip(before, model.weights))
    except TypeError as e:  # Keras's JAX trainer detached the weights for the epoch
        return {"result": result, "untouched": f"weights unreadable: {e}"}
    return {"result": result, "untouched": same and its == int(model.optimizer.iterations.numpy())}

out["timesteps"] = refused(m, rng.normal(size=(32, 48, 3)).astype(np.float32))
out["features"] = refused(m, rng.normal(size=(32, 24, 1)).astype(np.float32))

# a decorated layer in a guarded model that leaves timesteps open: Keras first traces it with
# JAX symbolic dims (unknown: they pass), then jit traces the step with the batch's sizes
class Pool(layers.Layer):
    @contract
    def call(self, x: Float[Array, "b 24 3"]) -> Float[Array, "b 3"]:
        return keras.ops.mean(x, axis=1)

pool = keras.Sequential([keras.Input((None, 3)), Pool(), layers.Dense(1)], name="open")
pool.compile(optimizer="sgd", loss="mse")
guard(pool)
out["layer_good"] = len(pool.fit(rng.normal(size=(32, 24, 3)).astype(np.float32), y,
                                 batch_size=8, epochs=1, verbose=0).history["loss"])
out["layer_bad"] = refused(pool, rng.normal(size=(32, 48, 3)).astype(np.float32))
print("RESULT " + json.dumps(out))
'''


def _run(tmp: Path, name: str, script: str, env: dict[str, str]) -> dict[str, Any]:
    path = tmp / f"{name}.py"
    path.write_text(script)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})
    assert run.returncode == 0, run.stderr[-4000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("tensorflow")
    return _run(tmp_path_factory.mktemp("mirrored"), "mirrored", TF_SCRIPT, {})


@pytest.fixture(scope="module")
def data_parallel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("jax")
    return _run(tmp_path_factory.mktemp("data_parallel"), "data_parallel", JAX_SCRIPT,
                {"KERAS_BACKEND": "jax",
                 "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})


def test_mirrored_strategy_trains_with_contracts_in_strategy_run(mirrored: dict[str, Any]) -> None:
    """Decorated functions inside `strategy.run` under `tf.function`, fed a distributed
    dataset over 2 replicas, train: the loss falls and both replicas' weights stay equal."""
    assert mirrored["replicas"] == 2
    train = mirrored["train"]
    assert train["steps"] == 16
    assert train["last"] < train["first"] / 2, train
    assert train["in_step"] and train["closer"], train


def test_wrong_features_in_strategy_run_is_shapecontracterror_naming_the_replica(
        mirrored: dict[str, Any]) -> None:
    """A wrong feature count known while `strategy.run` traces is a ShapeContractError, as
    strategy.run re-raises it from the replica's thread, and it names that replica."""
    got = mirrored["features"]
    assert got["type"] == "ShapeContractError", got
    assert got["first"] == "predict (replica 0 of 2): 1 contract violation", got
    ours = got["ours"]
    assert ours["worker"] == "replica 0 of 2"
    assert (ours["slot"], ours["axis"], ours["expected"], ours["actual"]) == (
        "argument x", 1, 3, 5), ours


def test_run_time_batch_mismatch_names_replica_1_inside_tensorflows_error(
        mirrored: dict[str, Any]) -> None:
    """Sizes unknown while tracing (a distributed dataset's None batch): the check runs with
    the graph, in TensorFlow's threads, and still names the replica that traced it, here
    replica 1 alone (x (1, 3) against y (2, 1)). A failure inside a running graph is
    TensorFlow's InvalidArgumentError carrying our whole text; the structured error behind it
    is ours. Eager `strategy.run` raises ShapeContractError itself. Without the check (mode
    off) TensorFlow broadcasts the mismatch and runs the step silently."""
    assert mirrored["mismatch_shapes"] == [[[[2, 3], [1, 3]], [[2, 1], [2, 1]]]]
    graph = mirrored["mismatch_graph"]
    assert graph["type"] == "InvalidArgumentError", graph
    assert "ShapeContractError: batch_loss (replica 1 of 2): 1 contract violation" in graph["text"]
    assert "replica 0 of 2" not in graph["text"]
    ours = graph["ours"]
    assert ours["worker"] == "replica 1 of 2"
    assert (ours["slot"], ours["axis"], ours["dim"], ours["expected"], ours["actual"]) == (
        "argument y", 0, "b", 1, 2), ours
    eager = mirrored["mismatch_eager"]
    assert eager["type"] == "ShapeContractError", eager
    assert eager["first"] == "batch_loss (replica 1 of 2): 1 contract violation", eager
    assert mirrored["mismatch_off"] == "passed"


def test_guarded_keras_fit_under_mirrored_strategy(mirrored: dict[str, Any]) -> None:
    """A guarded model built and compiled under `strategy.scope()` fits tf.data; the seed
    scenario's 48 timesteps into Input((24, 3)) and 1 feature instead of 3 are stopped with
    ShapeContractError before Keras runs a step (weights and step count untouched), also when
    the dataset leaves timesteps unknown and the check runs as elements flow."""
    good = mirrored["keras_good"]
    assert good == {"epochs": 2, "finite": True, "iterations": 8,
                    "strategy": "MirroredStrategy"}, good
    for key, dim, expected, actual in (("keras_timesteps", "timesteps", 24, 48),
                                       ("keras_features", "features", 3, 1),
                                       ("keras_stream", "timesteps", 24, 48)):
        got = mirrored[key]
        assert got["untouched"], (key, got)
        result = got["result"]
        assert result["type"] == "ShapeContractError", (key, result)
        assert result["first"].startswith("Sequential 'seq'.fit("), (key, result)
        ours = result["ours"]
        assert (ours["dim"], ours["expected"], ours["actual"]) == (dim, expected, actual), key
        # the whole global batch is checked before the strategy splits it: no replica to name
        assert ours["worker"] is None, (key, ours)


def test_layer_contract_failing_in_a_replica_reaches_guarded_fit_as_ours(
        mirrored: dict[str, Any]) -> None:
    """A `@contract` layer call inside a model that leaves timesteps open fails when the graph
    runs in a replica (48 steps for its "b 24 3"); the guarded model's fit raises our
    ShapeContractError naming the replica, where the unguarded fit raises TensorFlow's
    InvalidArgumentError carrying our text."""
    assert mirrored["layer_good"] == [1, 1]
    guarded = mirrored["layer_guarded"]
    assert guarded["type"] == "ShapeContractError", guarded
    assert guarded["first"] in ("Pool.call (replica 0 of 2): 1 contract violation",
                                "Pool.call (replica 1 of 2): 1 contract violation"), guarded
    ours = guarded["ours"]
    assert (ours["slot"], ours["axis"], ours["expected"], ours["actual"]) == (
        "argument x", 1, 24, 48), ours
    unguarded = mirrored["layer_unguarded"]
    assert unguarded["type"] == "InvalidArgumentError", unguarded
    assert "ShapeContractError: Pool.call (replica " in unguarded["text"]
    assert unguarded["ours"]["worker"] in ("replica 0 of 2", "replica 1 of 2")


def test_run_time_check_sees_tensors_so_tensor_slots_and_scalars_hold() -> None:
    """The check a graph runs for sizes unknown while tracing gets the concrete values as
    tensors: a slot restricted to tf.Tensor and a 0-d return (a loss) hold for good data (they
    failed when the check got numpy arrays and numpy scalars), and a mismatch still fails.
    With TensorFlow loaded but no strategy, errors name no worker."""
    tf = pytest.importorskip("tensorflow")
    from shapecontract import Float, ShapeContractError, contract
    from shapecontract._errors import recent_error

    @contract
    def loss(pred: Float[tf.Tensor, "b 1"], y: Float[tf.Tensor, "b 1"]) -> Float[tf.Tensor, ""]:
        return tf.reduce_mean(tf.square(pred - y))

    @tf.function(input_signature=[tf.TensorSpec([None, 1]), tf.TensorSpec([None, 1])])
    def step(pred, y):  # type: ignore[no-untyped-def]
        return loss(pred, y)

    assert float(step(tf.ones((4, 1)), tf.zeros((4, 1)))) == 1.0
    assert float(step(tf.ones((2, 1)), tf.ones((2, 1)))) == 0.0
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"loss: 1 contract violation") as info:
        step(tf.ones((1, 1)), tf.zeros((3, 1)))  # TensorFlow itself broadcasts this silently
    ours = recent_error(info.value)
    assert ours is not None and (ours.slot, ours.expected, ours.actual) == ("argument y", 1, 3)
    assert ours.worker is None  # TensorFlow loaded, no strategy: no replica to name
    with pytest.raises(ShapeContractError) as eager:
        loss(tf.ones((1, 1)), tf.zeros((3, 1)))
    assert eager.value.worker is None and str(eager.value).startswith("loss: 1 contract")


def test_replica_named_only_inside_a_replica_context() -> None:
    """`worker` comes from the active replica context of a strategy: `replica 0 of 1` inside
    `OneDeviceStrategy.run`, none in its cross-replica scope or under the default strategy."""
    tf = pytest.importorskip("tensorflow")
    from shapecontract import Float, ShapeContractError, contract

    @contract
    def rows(x: Float[Array, "b 3"]) -> Float[Array, "b 3"]:
        return x

    def worker_of(call: Any) -> Any:
        with pytest.raises(ShapeContractError) as info:
            call()
        return info.value.worker

    bad = tf.zeros((2, 4))
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert worker_of(lambda: strategy.run(rows, args=(bad,))) == "replica 0 of 1"
    with strategy.scope():
        assert worker_of(lambda: rows(bad)) is None
    assert worker_of(lambda: rows(bad)) is None


def test_keras_data_parallel_on_jax_fits_good_data_and_refuses_bad(
        data_parallel: dict[str, Any]) -> None:
    """Keras 3 `DataParallel` on the JAX backend over 2 CPU devices: a guarded model fits good
    data (weights replicated over the 2-device mesh) and refuses 48 timesteps and 1 feature with
    ShapeContractError before Keras runs."""
    assert data_parallel["backend"] == "jax" and data_parallel["devices"] == 2
    good = data_parallel["good"]
    assert good == {"epochs": 2, "finite": True, "iterations": 8, "mesh": {"batch": 2},
                    "kernel_devices": 2}, good
    for key, dim, expected, actual in (("timesteps", "timesteps", 24, 48),
                                       ("features", "features", 3, 1)):
        got = data_parallel[key]
        assert got["untouched"], (key, got)
        assert got["result"] == {"first": "Sequential 'seq'.fit: 1 contract violation",
                                 "dim": dim, "expected": expected, "actual": actual,
                                 "worker": None}, got


def test_contract_layer_under_data_parallel_fits_and_refuses_with_its_structure(
        data_parallel: dict[str, Any]) -> None:
    """A `@contract` layer in a guarded model with open timesteps, under DataParallel on JAX:
    Keras's shape inference with JAX symbolic dims passes (unknown sizes never fail; they were
    refused as "not a shape"), good data fits, and 48 steps are refused while the step is
    traced as our structured error (not Keras's text-only re-raise). Limit, Keras's own: its
    JAX trainer detached the weights for the epoch and does not put them back on an error, so
    the model's weights cannot be read afterwards (the guard's checks before fit avoid this)."""
    assert data_parallel["layer_good"] == 1
    got = data_parallel["layer_bad"]
    assert str(got["untouched"]).startswith("weights unreadable:"), got
    assert got["result"] == {"first": "Pool.call: 1 contract violation", "dim": None,
                             "expected": 24, "actual": 48, "worker": None}, got


def test_error_without_frameworks_names_no_worker_and_imports_none(
        data_parallel: dict[str, Any]) -> None:
    """Naming the worker reads only frameworks already loaded: a numpy-only error names none
    and imports no TensorFlow, torch, JAX or Keras."""
    assert data_parallel["plain"] == {"worker": None, "imported": [],
                                      "first": "rows: 1 contract violation"}
