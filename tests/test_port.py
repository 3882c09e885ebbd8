"""Porting checks: Keras 3 models and their PyTorch ports, compared, transferred, run side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
from keras import layers  # noqa: E402
from torch import nn  # noqa: E402

from shapecontract.port import PortMismatch, assert_equivalent, compare, transfer_weights  # noqa: E402


# ------------------------------------------------------------------------------ ports
class LSTMRegressor(nn.Module):
    def __init__(self, features: int = 3, units: int = 8, batch_first: bool = True,
                 last_step: bool = True) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, units, batch_first=batch_first)
        self.dense = nn.Linear(units, 1)
        self.batch_first, self.last_step = batch_first, last_step

    def forward(self, x: Any) -> Any:
        out, _ = self.lstm(x)
        if self.last_step:
            out = out[:, -1] if self.batch_first else out[-1]
        return self.dense(out)


class StackedBiLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.dense = nn.Linear(8, 2)

    def forward(self, x: Any) -> Any:
        _, (h_n, _) = self.lstm(x)
        return self.dense(torch.cat((h_n[-2], h_n[-1]), dim=1))


class GRUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 5, batch_first=True)
        self.dense = nn.Linear(5, 1)

    def forward(self, x: Any) -> Any:
        out, _ = self.gru(x)
        return self.dense(out[:, -1])


def keras_lstm() -> Any:
    return keras.Sequential([keras.Input((6, 3)), layers.LSTM(8), layers.Dense(1)])


def keras_bilstm() -> Any:
    return keras.Sequential([keras.Input((6, 3)),
                             layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                             layers.Bidirectional(layers.LSTM(4)), layers.Dense(2)])


def keras_gru() -> Any:
    return keras.Sequential([keras.Input((6, 3)), layers.GRU(5), layers.Dense(1)])


def keras_conv() -> Any:  # the seed's Conv2D classifier, small
    return keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, (3, 3), activation="relu"),
                             layers.MaxPool2D((2, 2)), layers.Flatten(),
                             layers.Dense(10, activation="softmax")])


def torch_conv() -> Any:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 10), nn.Softmax(dim=1))


PORTS = {
    "lstm": (keras_lstm, LSTMRegressor),
    "stacked_bilstm": (keras_bilstm, StackedBiLSTM),
    "gru": (keras_gru, GRUNet),
    "conv2d": (keras_conv, torch_conv),
}


@pytest.mark.parametrize("name", sorted(PORTS))
def test_faithful_ports_agree_within_1e_5(name: str) -> None:
    """Each port, after transfer_weights, matches Keras within 1e-5 (float32)."""
    make_k, make_t = PORTS[name]
    km, tm = make_k(), make_t()
    report = compare(km, tm)
    assert report.ok, str(report)
    transfer_weights(km, tm)
    eq = assert_equivalent(km, tm, atol=1e-5)
    assert eq.ok and max(eq.max_abs_diff) < 1e-5


@pytest.mark.parametrize("name", sorted(PORTS))
def test_torch_to_keras_direction(name: str) -> None:
    """Weights also travel from torch to Keras, and the models then agree."""
    make_k, make_t = PORTS[name]
    km, tm = make_k(), make_t()
    transfer_weights(km, tm, direction="torch_to_keras")
    assert_equivalent(km, tm, atol=1e-5)


def test_untransferred_port_diverges_and_names_the_first_layer() -> None:
    """Without the weights, assert_equivalent fails and names the first diverging pair."""
    km, tm = keras_lstm(), LSTMRegressor()
    with pytest.raises(PortMismatch) as info:
        assert_equivalent(km, tm)
    assert "first divergence: LSTM" in str(info.value)


def test_batch_first_false_is_a_difference_when_the_forward_does_not_adapt() -> None:
    """A time-major port (batch_first=False, reads out[-1]) whose forward also runs on the
    input as Keras takes it swaps batch and time silently for whoever feeds it (batch,
    timesteps, features): a difference with both remedies (issue 18; it was only a note)."""
    report = compare(keras_lstm(), LSTMRegressor(batch_first=False))
    (d,) = [d for d in report.differences if d.what == "layout"]
    assert "batch_first=True" in d.fix and "x.transpose(0, 1)" in d.fix
    assert "also runs on the input as Keras takes it" in str(d)


def test_missing_last_step_is_reported() -> None:
    """return_sequences=False in Keras, all steps in torch: compare says take out[:, -1]."""
    report = compare(keras_lstm(), LSTMRegressor(last_step=False))
    whats = [d.what for d in report.differences]
    assert "what is returned" in whats and "output shape for a probe batch of 2" in whats
    (d,) = [d for d in report.differences if d.what == "what is returned"]
    assert "out[:, -1]" in d.fix


def test_swapped_gate_order_is_caught_by_equivalence() -> None:
    """Weights copied with the Keras GRU gate order kept (z,r,h) make the outputs diverge."""
    km, tm = keras_gru(), GRUNet()
    transfer_weights(km, tm)
    assert_equivalent(km, tm)
    with torch.no_grad():  # undo the z,r <-> r,z reordering: the classic porting bug
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            p = getattr(tm.gru, name)
            r, z, n = p.chunk(3, 0)
            p.copy_(torch.cat([z, r, n], 0))
    with pytest.raises(PortMismatch) as info:
        assert_equivalent(km, tm)
    assert "first divergence: GRU" in str(info.value)


def test_size_and_kind_differences() -> None:
    """Wrong units, wrong input size and a missing module are each reported with a fix."""
    km = keras_lstm()
    tm = LSTMRegressor(features=4, units=6)
    whats = {d.what: d for d in compare(km, tm).differences}
    assert whats["units / hidden_size"].keras_value == 8
    assert "input_size=3" in whats["input features / input_size"].fix
    short = nn.Sequential(nn.Linear(3, 1))
    assert {d.what for d in compare(km, short).differences} >= {"layer kind", "missing torch module"}


def test_activation_merge_mode_and_batchnorm_differences() -> None:
    """Missing activation, a non-concat bidirectional merge, BatchNorm epsilon are reported."""
    km = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"),
                           layers.BatchNormalization(), layers.Dense(1)])
    tm = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    whats = {d.what for d in compare(km, tm).differences}
    assert {"activation", "epsilon"} <= whats
    kb = keras.Sequential([keras.Input((6, 3)),
                           layers.Bidirectional(layers.LSTM(4), merge_mode="sum"), layers.Dense(1)])
    tb = nn.Sequential(nn.LSTM(3, 4, bidirectional=True, batch_first=True))
    assert "bidirectional merge" in {d.what for d in compare(kb, tb).notes}  # the forward must sum


def test_batchnorm_and_embedding_and_conv1d_transfer() -> None:
    """BatchNormalization, Embedding and Conv1D weights transfer and the models agree."""
    km = keras.Sequential([keras.Input((10,), dtype="int32"), layers.Embedding(20, 4),
                           layers.Conv1D(3, 3), layers.Flatten(), layers.Dense(2)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(20, 4)
            self.conv = nn.Conv1d(4, 3, 3)
            self.dense = nn.Linear(24, 2)

        def forward(self, x: Any) -> Any:
            h = self.emb(x.long()).permute(0, 2, 1)  # (batch, channels, length) for Conv1d
            return self.dense(self.conv(h).flatten(1))  # flattened channels-first, as ports do

    tm = Net()
    transfer_weights(km, tm)
    x = np.random.default_rng(0).integers(0, 20, (2, 10)).astype("int32")
    ko = np.asarray(km(x))
    with torch.no_grad():
        to = tm(torch.as_tensor(x)).numpy()
    assert np.max(np.abs(ko - to)) < 1e-5
    kn = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(epsilon=1e-5), layers.Dense(1)])
    kn.layers[0].moving_mean.assign(np.arange(4, dtype="float32"))
    tn = nn.Sequential(nn.BatchNorm1d(4, momentum=0.01), nn.Linear(4, 1))
    assert compare(kn, tn).ok
    transfer_weights(kn, tn)
    assert np.allclose(tn[0].running_mean.numpy(), np.arange(4))
    assert_equivalent(kn, tn)


# -------------------------------------------------- layers recognised by class, not by name
class MyLSTM(nn.LSTM):
    """A user's subclass of nn.LSTM that adds nothing: it must port exactly like nn.LSTM."""


@keras.saving.register_keras_serializable("shapecontract_tests")  # Bidirectional rebuilds it
class MyKerasLSTM(layers.LSTM):
    """A user's subclass of keras.layers.LSTM that adds nothing."""


def subclassed(name: str, **torch_kwargs: Any) -> tuple[Any, Any]:
    """PORTS[name] with every LSTM, on both sides, replaced by the user's subclass."""
    if name == "lstm":
        km = keras.Sequential([keras.Input((6, 3)), MyKerasLSTM(8), layers.Dense(1)])
        tm = LSTMRegressor(**torch_kwargs)
        tm.lstm = MyLSTM(3, tm.lstm.hidden_size, batch_first=tm.lstm.batch_first)
        return km, tm
    km = keras.Sequential([keras.Input((6, 3)),
                           layers.Bidirectional(MyKerasLSTM(4, return_sequences=True)),
                           layers.Bidirectional(MyKerasLSTM(4)), layers.Dense(2)])
    tm = StackedBiLSTM()
    tm.lstm = MyLSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    return km, tm


def _found(report: Any) -> list[tuple[Any, ...]]:
    return [(d.what, d.keras_value, d.torch_value, d.fix) for d in report.differences]


@pytest.mark.parametrize("torch_kwargs", [{}, {"units": 6, "batch_first": False, "last_step": False}])
def test_subclasses_compare_like_their_framework_classes(torch_kwargs: dict[str, Any]) -> None:
    """Subclasses of keras.layers.LSTM and nn.LSTM are paired and compared like LSTMs, fixes included."""
    base = compare(keras_lstm(), LSTMRegressor(**torch_kwargs))
    report = compare(*subclassed("lstm", **torch_kwargs))
    assert [t for _, t in report.pairs] == ["MyLSTM 'lstm'", "Linear 'dense'"]
    assert len(report.pairs) == len(base.pairs) and _found(report) == _found(base)
    assert bool(torch_kwargs) == bool(report.differences)


@pytest.mark.parametrize("name", ["lstm", "stacked_bilstm"])
@pytest.mark.parametrize("direction", ["keras_to_torch", "torch_to_keras"])
def test_subclasses_transfer_like_their_framework_classes(name: str, direction: str) -> None:
    """Subclassed LSTMs (also wrapped in Bidirectional, and num_layers=2) transfer and agree within 1e-5."""
    km, tm = subclassed(name)
    assert compare(km, tm).ok
    transfer_weights(km, tm, direction=direction)
    assert_equivalent(km, tm, atol=1e-5)


def test_torch_module_merely_named_lstm_is_not_an_lstm() -> None:
    """A torch nn.Module named LSTM (not an nn.LSTM subclass) is not paired; the nn.LSTM inside it is."""
    class LSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(3, 8, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    km, tm = keras_lstm(), LSTM()
    report = compare(km, tm)
    assert [t for _, t in report.pairs] == ["LSTM 'rnn'", "Linear 'head'"] and report.ok, str(report)
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)


def test_keras_layer_merely_named_lstm_is_not_an_lstm() -> None:
    """A Keras layer class named LSTM (not a keras.layers.LSTM subclass) is not paired."""
    class LSTM(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x[:, -1]

    class LastStep(nn.Module):
        def forward(self, x: Any) -> Any:
            return x[:, -1]

    km = keras.Sequential([keras.Input((6, 3)), LSTM(), layers.Dense(1)])
    tm = nn.Sequential(LastStep(), nn.Linear(3, 1))
    report = compare(km, tm)
    assert len(report.pairs) == 1 and report.ok, str(report)
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)


def test_importing_port_loads_no_framework() -> None:
    """`import shapecontract.port` imports none of numpy, torch, keras, tensorflow."""
    import subprocess
    import sys

    code = ("import sys, shapecontract.port\n"
            "print(' '.join(m for m in ('numpy', 'torch', 'keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_batchnorm_without_scale_compares_its_features() -> None:
    """BatchNormalization(scale=False) has no gamma: its features are still read (no false 'None')."""
    km = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(scale=False, epsilon=1e-5,
                                                                        momentum=0.9), layers.Dense(1)])
    assert compare(km, nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 1))).ok
    (d,) = compare(km, nn.Sequential(nn.BatchNorm1d(5), nn.Linear(5, 1))).differences[:1]
    assert (d.what, d.keras_value, d.torch_value) == ("features", 4, 5)


def test_transfer_refuses_a_pair_of_different_kinds() -> None:
    """transfer_weights on a Keras LSTM paired with a torch Linear raises ValueError naming the pair."""
    with pytest.raises(ValueError, match=r"LSTM 'lstm.*' -> Linear '0'"):
        transfer_weights(keras_lstm(), nn.Sequential(nn.Linear(3, 1)))
