"""Keras on every backend (issue 9, part): TensorFlow, JAX and torch, each in its own process,
give the same contracts and catch the same seed scenarios, targets and tf-free data included."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r'''
import numpy as np, keras
from keras import layers
from shapecontract import ShapeContractError, contract_of, guard
assert keras.backend.backend() == BACKEND, keras.backend.backend()

def caught(f):
    try:
        f()
    except ShapeContractError as e:
        return (e.dim, e.expected, e.actual)
    return "passed"

m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)], name="seq")
m.compile(loss="mse")
print("contract", contract_of(m))
guard(m)
good = np.zeros((2, 24, 3), np.float32)
print("good", caught(lambda: m.predict_on_batch(good)))
print("features", caught(lambda: m.predict_on_batch(np.zeros((2, 24, 1), np.float32))))
print("timesteps", caught(lambda: m.predict_on_batch(np.zeros((2, 48, 3), np.float32))))
print("target", caught(lambda: m.fit(np.zeros((8, 24, 3), np.float32), np.zeros((8, 5), np.float32), epochs=1, verbose=0)))
print("fit", caught(lambda: m.fit(np.zeros((8, 24, 3), np.float32), np.zeros((8, 1), np.float32), epochs=1, verbose=0)))
fw = guard(keras.Sequential([keras.Input((24, 3)), layers.LSTM(4)]), level="framework")
print("framework 48", caught(lambda: fw.predict_on_batch(np.zeros((2, 48, 3), np.float32))))
print("framework features", caught(lambda: fw.predict_on_batch(np.zeros((2, 24, 2), np.float32))))

# porting (issue 10): on this backend Keras tensors may require grad (torch) or be jax arrays
import torch
from torch import nn
from shapecontract.port import PortMismatch, assert_equivalent, compare, transfer_weights

class Port(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 5, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 1)
        self.conv = nn.Conv1d(3, 2, 3)
    def forward(self, x):
        _, h_n = self.gru(x)
        return self.fc(torch.cat((h_n[-2], h_n[-1]), 1)), torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)

inp = keras.Input((6, 3))
km = keras.Model(inp, [layers.Dense(1)(layers.Bidirectional(layers.GRU(5))(inp)),
                       layers.Conv1D(2, 3, activation="relu")(inp)])
tm = Port()
print("port compare", compare(km, tm).ok)
for direction in ("keras_to_torch", "torch_to_keras"):
    transfer_weights(km, tm, direction=direction)
    eq = assert_equivalent(km, tm, atol=1e-5)
    print("port", direction, len(eq.max_abs_diff), max(eq.max_abs_diff) < 1e-5)
with torch.no_grad():
    for p in tm.gru.parameters():
        r, z, n = p.chunk(3, 0)
        p.copy_(torch.cat([z, r, n], 0))
try:
    assert_equivalent(km, tm)
except PortMismatch as e:
    print("port diagnosis", e.report.first_divergence.diagnosis.cause)
'''


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_seed_scenarios_on_every_keras_backend(backend: str) -> None:
    """Each backend in a fresh process: the contract reads the same, the wrong feature count, the
    48 timesteps Keras accepts, the broadcast regression target are caught; the framework level
    accepts 48 steps and still rejects a wrong feature count."""
    if backend == "jax":
        pytest.importorskip("jax")
    out = subprocess.run([sys.executable, "-c", f"BACKEND = {backend!r}\n" + SCRIPT],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["contract"] == "(batch, 24, 3) -> lstm -> (batch, 4) -> dense -> (batch, 1)"
    assert lines["good"] == "passed" and lines["fit"] == "passed"
    assert lines["features"] == "('features', 3, 1)"
    assert lines["timesteps"] == "('timesteps', 24, 48)"
    assert lines["target"] == "('units', 1, 5)"
    assert "48 passed" in out.stdout and "features ('features', 3, 2)" in out.stdout
    # porting: every output of a two-output model, both directions, a diagnosis (issue 10)
    assert "port compare True" in out.stdout
    assert "port keras_to_torch 2 True" in out.stdout and "port torch_to_keras 2 True" in out.stdout
    assert "port diagnosis gate order" in out.stdout
