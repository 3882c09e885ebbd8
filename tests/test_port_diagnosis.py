"""Porting that explains: every classic port mistake, made in both directions, is diagnosed by
experiment with its cause and a fix; a correct port gets no false difference (issue 10)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
from keras import layers  # noqa: E402
from torch import nn  # noqa: E402

from shapecontract.port import PortMismatch, assert_equivalent, compare, transfer_weights  # noqa: E402

# ------------------------------------------------------------------------------ models


class BiLastStep(nn.Module):
    """The classic mistake: a bidirectional LSTM's `out[:, -1, :]` into the head."""

    def __init__(self, right: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(8, 1)
        self.right = right

    def forward(self, x: Any) -> Any:
        out, (h_n, _) = self.lstm(x)
        if self.right:  # the fix the diagnosis gives
            return self.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))
        return self.fc(out[:, -1, :])


def keras_bilstm() -> Any:
    return keras.Sequential([keras.Input((6, 3)), layers.Bidirectional(layers.LSTM(4)),
                             layers.Dense(1)])


class RNNHead(nn.Module):
    def __init__(self, kind: str, units: int = 5) -> None:
        super().__init__()
        self.rnn = getattr(nn, kind)(3, units, batch_first=True)
        self.fc = nn.Linear(units, 1)

    def forward(self, x: Any) -> Any:
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def keras_rnn(kind: str, units: int = 5) -> Any:
    return keras.Sequential([keras.Input((6, 3)), getattr(layers, kind)(units), layers.Dense(1)])


class ConvNet(nn.Module):
    """The seed's Conv2D classifier; `relu` as a function in forward, as ports often write it."""

    def __init__(self, relu: bool = True, permute_flatten: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 5 * 5, 10)
        self.relu, self.permute_flatten = relu, permute_flatten

    def forward(self, x: Any) -> Any:
        h = self.conv(x)
        if self.relu:
            h = torch.relu(h)
        h = self.pool(h)
        if self.permute_flatten:  # flattens in Keras's (h, w, c) order
            h = h.permute(0, 2, 3, 1)
        return self.fc(torch.flatten(h, 1))


def keras_conv(activation: str | None = "relu") -> Any:
    return keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation=activation),
                             layers.MaxPool2D(2), layers.Flatten(), layers.Dense(10)])


class EmbedLSTM(nn.Module):
    """An LSTM after an Embedding, left at batch_first=False and fed batch-major data."""

    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 4)
        self.lstm = nn.LSTM(4, 5, batch_first=batch_first)
        self.fc = nn.Linear(5, 1)

    def forward(self, x: Any) -> Any:
        _, (h_n, _) = self.lstm(self.emb(x.long()))
        return self.fc(h_n[-1])


def keras_embed_lstm() -> Any:
    return keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                             layers.LSTM(5), layers.Dense(1)])


# ------------------------------------------------------------------------------ mistakes
def randomized(km: Any) -> Any:
    """Keras starts biases at zero: random weights everywhere, so a swapped bias can show."""
    rng = np.random.default_rng(1)
    for v in km.weights:
        shape = tuple(v.shape)
        if "variance" in v.path:
            v.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            v.assign((0.4 * rng.standard_normal(shape)).astype("float32"))
    return km


def _blocks(a: np.ndarray, order: list[int], axis: int) -> np.ndarray:
    parts = np.split(a, len(order), axis=axis)
    return np.concatenate([parts[j] for j in order], axis=axis)


def _torch_blocks(m: Any, order: list[int]) -> None:
    with torch.no_grad():
        for p in m.parameters():
            c = p.chunk(len(order), 0)
            p.copy_(torch.cat([c[j] for j in order], 0))


def _keras_blocks(cell: Any, order: list[int]) -> None:
    cell.kernel.assign(_blocks(np.asarray(cell.kernel), order, 1))
    cell.recurrent_kernel.assign(_blocks(np.asarray(cell.recurrent_kernel), order, 1))
    cell.bias.assign(_blocks(np.asarray(cell.bias), order, -1))


def gru_gates(km: Any, tm: Any, to_torch: bool) -> None:
    if to_torch:  # Keras z,r,h kept in torch's r,z,n slots
        _torch_blocks(tm.rnn, [1, 0, 2])
    else:
        _keras_blocks(km.layers[0].cell, [1, 0, 2])


def lstm_gates(km: Any, tm: Any, to_torch: bool) -> None:
    if to_torch:  # read as i,c,f,o
        _torch_blocks(tm.rnn, [0, 2, 1, 3])
    else:
        _keras_blocks(km.layers[0].cell, [0, 2, 1, 3])


def lstm_bias_twice(km: Any, tm: Any, to_torch: bool) -> None:
    cell = km.layers[0].cell
    if to_torch:
        with torch.no_grad():
            tm.rnn.bias_hh_l0.copy_(torch.as_tensor(np.asarray(cell.bias)))
    else:  # only bias_ih copied to Keras; torch's bias_hh is not zero
        cell.bias.assign(tm.rnn.bias_ih_l0.detach().numpy())


def gru_bias_rows(km: Any, tm: Any, to_torch: bool) -> None:
    cell = km.layers[0].cell
    if to_torch:
        with torch.no_grad():
            a = tm.rnn.bias_ih_l0.clone()
            tm.rnn.bias_ih_l0.copy_(tm.rnn.bias_hh_l0)
            tm.rnn.bias_hh_l0.copy_(a)
    else:
        cell.bias.assign(np.asarray(cell.bias)[::-1].copy())


def dense_untransposed(km: Any, tm: Any, to_torch: bool) -> None:
    dense = km.layers[0]
    if to_torch:
        with torch.no_grad():
            tm[0].weight.copy_(torch.as_tensor(np.asarray(dense.kernel)))
    else:
        dense.kernel.assign(tm[0].weight.detach().numpy())


def flatten_rows(km: Any, tm: Any, to_torch: bool) -> None:
    dense = km.layers[-1]
    if to_torch:  # Keras rows (h, w, c) copied as they are
        with torch.no_grad():
            tm.fc.weight.copy_(torch.as_tensor(np.asarray(dense.kernel).T))
    else:
        dense.kernel.assign(tm.fc.weight.detach().numpy().T)


def conv_axes(km: Any, tm: Any, to_torch: bool) -> None:
    conv = km.layers[0]
    if to_torch:  # permute(3, 2, 1, 0): (out, in, kw, kh)
        with torch.no_grad():
            tm.conv.weight.copy_(torch.as_tensor(np.asarray(conv.kernel).transpose(3, 2, 1, 0).copy()))
    else:
        conv.kernel.assign(tm.conv.weight.detach().numpy().transpose(3, 2, 1, 0))


def conv_flipped(km: Any, tm: Any, to_torch: bool) -> None:
    conv = km.layers[0]
    if to_torch:
        with torch.no_grad():
            tm.conv.weight.copy_(tm.conv.weight.flip([2, 3]))
    else:
        conv.kernel.assign(np.asarray(conv.kernel)[::-1, ::-1].copy())


def conv_channels(km: Any, tm: Any, to_torch: bool) -> None:
    conv = km.layers[1]  # 4 -> 4 channels: in and out swapped still fit
    if to_torch:  # permute(3, 2, 0, 1) read as (in, out, kh, kw)
        with torch.no_grad():
            tm[2].weight.copy_(torch.as_tensor(np.asarray(conv.kernel).transpose(2, 3, 0, 1).copy()))
    else:
        conv.kernel.assign(tm[2].weight.detach().numpy().transpose(2, 3, 0, 1))


class _Mean(nn.Module):
    def forward(self, x: Any) -> Any:
        return x.mean((2, 3))


def _square_conv_pair() -> tuple[Any, Any]:
    km = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(), layers.Dense(1)])
    tm = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), _Mean(), nn.Linear(4, 1))
    return km, tm


def bn_epsilon(km: Any, tm: Any, to_torch: bool) -> None:
    pass  # the mistake is in the build: Keras epsilon 1e-3, torch eps 1e-5


def _dense_pair() -> tuple[Any, Any]:
    return (keras.Sequential([keras.Input((4,)), layers.Dense(4), layers.Dense(1)]),
            nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1)))


def _bn_pair() -> tuple[Any, Any]:
    km = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(), layers.Dense(1)])
    km.layers[0].moving_variance.assign(np.full(4, 0.01, "float32"))
    return km, nn.Sequential(nn.BatchNorm1d(4, momentum=0.01), nn.Linear(4, 1))


# cause name, (keras model, torch model), mistake, what the fix code says
CASES: dict[str, tuple[str, Callable[[], tuple[Any, Any]], Callable[[Any, Any, bool], None], str]] = {
    "gru gate order": ("gate order", lambda: (keras_rnn("GRU"), RNNHead("GRU")), gru_gates,
                       "torch.cat([c[1], c[0], c[2]], 0)"),
    "lstm gate order": ("gate order", lambda: (keras_rnn("LSTM"), RNNHead("LSTM")), lstm_gates,
                        "torch.cat([c[0], c[2], c[1], c[3]], 0)"),
    "lstm bias twice": ("bias counted twice", lambda: (keras_rnn("LSTM"), RNNHead("LSTM")),
                        lstm_bias_twice, "bias_hh_l0.zero_()"),
    "gru bias rows": ("GRU bias layout (reset_after)", lambda: (keras_rnn("GRU"), RNNHead("GRU")),
                      gru_bias_rows, "bias_hh_l0"),
    "dense transposed": ("kernel not transposed", _dense_pair, dense_untransposed, ".T"),
    "flatten order": ("flatten order", lambda: (keras_conv(), ConvNet()), flatten_rows,
                      ".permute(0, 3, 1, 2)"),
    "conv axes": ("conv kernel axes", lambda: (keras_conv(), ConvNet()), conv_axes,
                  "permute(3, 2, 0, 1)"),
    "conv channels": ("conv kernel axes", _square_conv_pair, conv_channels, "permute(3, 2, 0, 1)"),
    "conv flipped": ("conv kernel flipped", lambda: (keras_conv(), ConvNet()), conv_flipped,
                     ".flip([2, 3])"),
    "bn epsilon": ("epsilon", _bn_pair, bn_epsilon, "eps = 0.001"),
}


def _diagnosis(km: Any, tm: Any) -> Any:
    with pytest.raises(PortMismatch) as info:
        assert_equivalent(km, tm)
    eq = info.value.report
    assert eq.first_divergence is not None and eq.first_divergence.diagnosis is not None, str(eq)
    return eq.first_divergence.diagnosis, str(info.value)


@pytest.mark.parametrize("direction", ["keras_to_torch", "torch_to_keras"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_weight_mistake_is_diagnosed_in_both_directions(case: str, direction: str) -> None:
    """A faithful port agrees; the same port with the mistake made while copying (either way)
    fails with that cause named and its fix; the fix, where it is weight code, applied to the
    torch model makes the pair agree again."""
    cause, build, mistake, fix_text = CASES[case]
    km, tm = build()
    randomized(km)
    transfer_weights(km, tm, direction=direction)
    if case != "bn epsilon":
        assert_equivalent(km, tm, atol=1e-5)
    mistake(km, tm, direction == "keras_to_torch")
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == cause, text
    assert fix_text in diagnosis.fix, text
    assert diagnosis.residual <= 1e-5
    uses_kernel = "kernel" in diagnosis.fix.split("=", 1)[-1]
    if uses_kernel and direction == "torch_to_keras":
        return  # a fix from the Keras kernel: that kernel is the wrong side in this direction
    namespace = {"torch": torch, "model": tm, "nn": nn}
    if uses_kernel:  # `kernel`: the Keras kernel of the diverging pair, as the fix says
        name = re.search(r"(?:Dense|Conv\dD) '([^']+)'", text)
        assert name is not None, text
        namespace["kernel"] = np.asarray(km.get_layer(name.group(1)).kernel)
    exec(diagnosis.fix, namespace)  # the code the user pastes, applied to the bad port
    assert_equivalent(km, tm, atol=1e-5)


# ------------------------------------------------------------------- the observations
def test_bidirectional_last_step_is_named_with_the_final_state_fix() -> None:
    """Observed: `out[:, -1, :]` after a bidirectional LSTM gave 'no differences in contract'
    and blamed the head. Now compare reports it and assert_equivalent names the flow from the
    LSTM to the head, the cause and the fix; the fixed port agrees."""
    for direction in ("keras_to_torch", "torch_to_keras"):
        km, tm = keras_bilstm(), BiLastStep()
        report = compare(km, tm)
        (d,) = [d for d in report.differences if d.what == "what is returned"]
        assert "out[:, -1, :]" in str(d.torch_value) and "torch.cat((h_n[-2], h_n[-1])" in d.fix
        transfer_weights(km, tm, direction=direction)
        diagnosis, text = _diagnosis(km, tm)
        assert diagnosis.cause == "bidirectional final state", text
        assert "what reaches Linear 'fc' from LSTM 'lstm' (Keras: Dense" in text
        assert "out[:, 0, 4:]" in diagnosis.explanation and "torch.cat((h_n[-2], h_n[-1])" in diagnosis.fix
        fixed = BiLastStep(right=True)
        fixed.load_state_dict(tm.state_dict())
        assert compare(km, fixed).ok
        assert_equivalent(km, fixed, atol=1e-5)


def test_gru_left_in_keras_gate_order_names_the_order_and_fix() -> None:
    """Observed: 'first divergence: GRU <-> GRU: max |diff| 0.187', no fix."""
    km, tm = keras_rnn("GRU"), RNNHead("GRU")
    transfer_weights(km, tm)
    gru_gates(km, tm, True)
    diagnosis, text = _diagnosis(km, tm)
    assert re.search(r"first divergence: GRU 'gru\w*' <-> GRU 'rnn'", text), text
    assert "in the order z,r,n; torch's GRU expects r,z,n" in diagnosis.explanation


def test_functional_relu_is_seen_by_tracing_no_false_difference() -> None:
    """Observed: `torch.relu(self.conv(x))` gave 'activation: Keras relu, torch Linear' and a
    False report while the port was right. Read from the traced forward, it is right."""
    km, tm = keras_conv(), ConvNet()
    report = compare(km, tm)
    assert report.ok and bool(report), str(report)
    assert [n.what for n in report.notes] == ["layout"]  # NCHW: a convention, not a mistake
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)


@pytest.mark.parametrize("direction", ["keras_to_torch", "torch_to_keras"])
def test_missing_and_extra_activation(direction: str) -> None:
    """Keras relu, torch none: 'missing activation'; Keras none, torch relu: 'extra activation'.
    compare reports both statically, and the diagnosis finds them by experiment."""
    km, tm = keras_conv("relu"), ConvNet(relu=False)
    (d,) = compare(km, tm).differences
    assert (d.what, d.keras_value, d.torch_value) == ("activation", "relu", "none")
    transfer_weights(km, tm, direction=direction)
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == "missing activation" and "torch.relu(self.conv(x))" in diagnosis.fix

    km, tm = keras_conv(None), ConvNet(relu=True)
    (d,) = compare(km, tm).differences
    assert (d.what, d.keras_value, d.torch_value) == ("activation", "none", "relu")
    transfer_weights(km, tm, direction=direction)
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == "extra activation", text


@pytest.mark.parametrize("direction", ["keras_to_torch", "torch_to_keras"])
def test_flatten_in_keras_order_before_reordered_weights(direction: str) -> None:
    """A forward that permutes to (h, w, c) before flattening, with weights reordered for
    torch's (c, h, w): the diagnosis points at what reaches the Linear."""
    km, tm = keras_conv(), ConvNet(permute_flatten=True)
    transfer_weights(km, tm, direction=direction)
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == "flatten order" and "torch.flatten(x, 1)" in diagnosis.fix, text
    fixed = ConvNet()  # the fix: flatten the NCHW map as is
    fixed.load_state_dict(tm.state_dict())
    assert_equivalent(km, fixed, atol=1e-5)


@pytest.mark.parametrize("direction", ["keras_to_torch", "torch_to_keras"])
def test_batch_first_false_fed_batch_major(direction: str) -> None:
    """An LSTM after an Embedding left at batch_first=False reads the batch as time: compare
    sees the batch on axis 0 in the trace, the diagnosis confirms it; batch_first=True agrees."""
    km, tm = keras_embed_lstm(), EmbedLSTM(batch_first=False)
    report = compare(km, tm)
    (d,) = [d for d in report.differences if d.what == "layout"]
    assert "batch_first=True" in d.fix
    transfer_weights(km, tm, direction=direction)
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == "batch_first" and "batch_first=True" in diagnosis.fix, text
    fixed = EmbedLSTM(batch_first=True)
    fixed.load_state_dict(tm.state_dict())
    assert compare(km, fixed).ok
    assert_equivalent(km, fixed, atol=1e-5)


class TimeMajor(nn.Module):
    """A port whose LSTM is time-major (batch_first=False); `adapt` transposes the input."""

    def __init__(self, adapt: bool = False) -> None:
        super().__init__()
        self.adapt = adapt
        self.lstm = nn.LSTM(3, 5)
        self.fc = nn.Linear(5, 1)

    def forward(self, x: Any) -> Any:
        out, _ = self.lstm(x.transpose(0, 1) if self.adapt else x)
        return self.fc(out[-1])


def test_a_time_major_port_is_a_difference_unless_its_forward_adapts() -> None:
    """A time-major port fed the input as Keras takes it reads the batch as time, silently: a
    layout difference (batch_first=True or x.transpose(0, 1)); with the transpose in forward,
    no difference. Both are numerically the Keras model once laid out (assert_equivalent)."""
    km = keras_rnn("LSTM")
    raw = compare(km, TimeMajor())
    assert [d.what for d in raw.differences] == ["layout"], str(raw)
    adapted = TimeMajor(adapt=True)
    report = compare(km, adapted)
    assert report.ok, str(report)
    for tm in (TimeMajor(), adapted):
        transfer_weights(km, tm)
        assert_equivalent(km, tm, atol=1e-5)


def test_every_output_of_a_multi_output_model_is_compared() -> None:
    """Observed: only the first output was compared (and a list of outputs crashed). Now each
    output is compared by name; a difference in the second is found and explained."""
    inp = keras.Input((4,))
    km = keras.Model(inp, [layers.Dense(2, name="a")(inp), layers.Dense(3, name="b")(inp)])

    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            return self.a(x), self.b(x)

    tm = Two()
    transfer_weights(km, tm)
    eq = assert_equivalent(km, tm, atol=1e-5)
    assert len(eq.max_abs_diff) == 2 and eq.names == ["a", "b"]
    with torch.no_grad():
        tm.b.bias += 1
    with pytest.raises(PortMismatch) as info:
        assert_equivalent(km, tm)
    eq = info.value.report
    assert eq.max_abs_diff[0] < 1e-5 and eq.max_abs_diff[1] == pytest.approx(1, abs=1e-4)
    assert "Dense 'b' <-> Linear 'b'" in str(eq) and "bias" in str(eq.first_divergence)

    class One(Two):
        def forward(self, x: Any) -> Any:
            return self.a(x)

    with pytest.raises(PortMismatch, match="returns 2 output"):
        assert_equivalent(km, One())
    assert "number of outputs" in {d.what for d in compare(km, One()).differences}


def test_a_forward_that_fails_is_reported_as_unseen_not_passed() -> None:
    """compare is truthful about what it could not see: a forward that needs two arguments."""
    class TwoArgs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x: Any, mask: Any) -> Any:
            return self.fc(x * mask)

    km = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="relu")])
    report = compare(km, TwoArgs())
    assert report.unseen and "TypeError" in report.unseen[0] and "not compared" in str(report)
    assert "activation" not in {d.what for d in report.differences}  # not guessed either way


def test_input_sizes_are_checked_by_the_torch_modules_own_contract() -> None:
    """compare has no second checker for sizes: what each Keras layer receives, laid out for
    torch, goes through the torch module's contract (the adapters' verdict); the difference
    cites the attribute the contract names, and setting it makes the pair agree."""
    km = keras.Sequential([keras.Input((12, 12, 3)), layers.Conv2D(4, 3), layers.Flatten(),
                           layers.Dense(2)])
    tm = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 10 * 10, 2))
    found = {d.what: d for d in compare(km, tm).differences}
    d = found["input channels / in_channels"]
    assert (d.keras_value, d.torch_value, d.fix) == (3, 1, "on the torch side: in_channels=3")
    tm[0] = nn.Conv2d(3, 4, 3)
    assert compare(km, tm).ok
    small = keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                              layers.Dense(1)])
    wide = nn.Sequential(nn.Conv2d(1, 2, 7), nn.Flatten(), nn.Linear(2, 1))
    whats = {d.what for d in compare(small, wide).differences}
    assert "kernel_size" in whats and any(w.startswith("input") for w in whats), whats


def test_unidirectional_wrong_step() -> None:
    """A head reading out[:, 0] of an LSTM whose Keras layer returns the last step."""
    class FirstStep(RNNHead):
        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.fc(out[:, 0])

    km, tm = keras_rnn("LSTM"), FirstStep("LSTM")
    transfer_weights(km, tm)
    diagnosis, text = _diagnosis(km, tm)
    assert diagnosis.cause == "last step" and "out[:, -1]" in diagnosis.fix, text
    assert "reads `out[:, 0]`" in diagnosis.explanation
    fixed = RNNHead("LSTM")  # reads out[:, -1], the fix
    fixed.load_state_dict(tm.state_dict())
    assert_equivalent(km, fixed, atol=1e-5)


class EmbedConv(nn.Module):
    def __init__(self, permute: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 4)
        self.conv = nn.Conv1d(4, 3, 3)
        self.fc = nn.Linear(3, 1)
        self.permute = permute

    def forward(self, x: Any) -> Any:
        h = self.emb(x.long())
        if self.permute:
            h = h.permute(0, 2, 1)  # the fix compare gives
        h = self.conv(h)
        return self.fc(h.mean(2))


def test_a_forward_that_fails_names_the_module_and_the_permute() -> None:
    """The forward crashes inside Conv1d (Embedding output not laid out channels-first):
    compare names the module, what it got, what Keras's layer gets laid out for torch, and
    the permute; with that permute the port compares clean and agrees."""
    km = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                           layers.Conv1D(3, 3), layers.GlobalAveragePooling1D(), layers.Dense(1)])
    report = compare(km, EmbedConv(permute=False))
    (d,) = [d for d in report.differences if d.what == "forward fails on the input it passes"]
    assert d.torch == "Conv1d 'conv'" and d.keras_value == (2, 4, 6) and "x.permute(0, 2, 1)" in d.fix
    assert report.unseen  # and what it could not see after the crash is said
    tm = EmbedConv(permute=True)
    assert compare(km, tm).ok, str(compare(km, tm))
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)


def test_a_forward_that_lays_out_keras_input_itself() -> None:
    """A port whose forward takes Keras-layout data and permutes for its Conv2d is fed Keras
    layout (found by trying both), noted as such, and agrees; no NCHW 'convention' note."""
    class TakesNHWC(ConvNet):
        def forward(self, x: Any) -> Any:
            return super().forward(x.permute(0, 3, 1, 2))

    km, tm = keras_conv(), TakesNHWC()
    report = compare(km, tm)
    assert report.ok and [n.what for n in report.notes] == ["input layout"], str(report)
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)


def test_keras_activation_layers_count_like_activation_arguments() -> None:
    """Dense -> Activation('relu') / Softmax layers ported as Linear -> ReLU (module or
    function) are right (found by helper-7: 'Keras none, torch relu -- remove it'); without
    the torch ReLU the difference and the diagnosis name relu, read after the Activation layer."""
    km = keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.Activation("relu"),
                           layers.Dropout(0.5), layers.Dense(3), layers.Softmax()])
    right = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 3),
                          nn.Softmax(dim=-1))
    assert compare(km, right).ok, str(compare(km, right))
    transfer_weights(km, right)
    assert_equivalent(km, right, atol=1e-5)
    wrong = nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.5), nn.Linear(4, 3), nn.Softmax(dim=-1))
    (d,) = compare(km, wrong).differences
    assert (d.what, d.keras_value, d.torch_value) == ("activation", "relu", "none")
    transfer_weights(km, wrong)
    diagnosis, text = _diagnosis(km, wrong)
    assert diagnosis.cause == "missing activation" and "torch.relu(self[0](x))" in diagnosis.fix, text


def test_same_padding_stated_as_numbers_is_the_same() -> None:
    """Keras padding='same' (stride 1, odd kernel) ported as torch padding=1 is right (found by
    helper-7); padding=2 is a difference."""
    km = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3, padding="same"),
                           layers.Flatten(), layers.Dense(1)])
    tm = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(128, 1))
    assert compare(km, tm).ok, str(compare(km, tm))
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)
    tm2 = nn.Sequential(nn.Conv2d(1, 2, 3, padding=2), nn.Flatten(), nn.Linear(200, 1))
    assert "padding" in {d.what for d in compare(km, tm2).differences}


def test_simple_rnn_activation_is_compared() -> None:
    """Keras SimpleRNN(activation='relu') against nn.RNN's default tanh is a difference."""
    km = keras.Sequential([keras.Input((6, 3)), layers.SimpleRNN(4, activation="relu"),
                           layers.Dense(1)])
    tanh = RNNHead("RNN", units=4)
    (d,) = [d for d in compare(km, tanh).differences if d.what == "activation"]
    assert (d.keras_value, d.torch_value, d.fix) == ("relu", "tanh", "nn.RNN(..., nonlinearity='relu')")
    relu = RNNHead("RNN", units=4)
    relu.rnn = nn.RNN(3, 4, batch_first=True, nonlinearity="relu")
    assert compare(km, relu).ok
    transfer_weights(km, relu)
    assert_equivalent(km, relu, atol=1e-5)


def test_the_probe_meets_negative_pre_activations() -> None:
    """A ReLU whose unit is positive on the first probe samples (bias 0.5, unit kernel) is
    still told from none: the probe batch is large enough to reach its negative side (a batch
    of 2 called the port without the ReLU equivalent)."""
    km = keras.Sequential([keras.Input((5,)), layers.Dense(1), layers.Activation("relu")])
    km.layers[0].set_weights([np.ones((5, 1), "float32"), np.full((1,), 0.5, "float32")])
    wrong = nn.Sequential(nn.Linear(5, 1))
    transfer_weights(km, wrong)
    with pytest.raises(PortMismatch):
        assert_equivalent(km, wrong, atol=1e-5)
