"""Ports as people write them, found wanting by a new-user probe of `shapecontract.port`
(issue 10's review): each finding is a test that failed before its fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from keras import layers  # noqa: E402
from torch import nn  # noqa: E402

from shapecontract.port import (  # noqa: E402
    Equivalence,
    PortMismatch,
    assert_equivalent,
    compare,
    transfer_weights,
)


def _agree(km: Any, tm: Any, **kw: Any) -> None:
    for direction in ("keras_to_torch", "torch_to_keras"):
        transfer_weights(km, tm, direction=direction)
        assert_equivalent(km, tm, atol=1e-5, **kw)


def _mismatch(km: Any, tm: Any, **kw: Any) -> Equivalence:
    with pytest.raises(PortMismatch) as info:
        assert_equivalent(km, tm, **kw)
    assert isinstance(info.value.report, Equivalence)  # always, also when the forward fails
    return info.value.report


def keras_lstm() -> Any:
    return keras.Sequential([keras.Input((10, 4)), layers.LSTM(8), layers.Dense(3)])


class DefinedOutOfOrder(nn.Module):
    def __init__(self, unused: bool = False) -> None:
        super().__init__()
        if unused:
            self.proj = nn.Linear(4, 4)  # registered, never called
        self.fc = nn.Linear(8, 3)  # registered before the LSTM it follows
        self.lstm = nn.LSTM(4, 8, batch_first=True)

    def forward(self, x: Any) -> Any:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


@pytest.mark.parametrize("unused", [False, True])
def test_pairs_follow_the_forwards_call_order(unused: bool) -> None:
    """Observed: modules were paired in registration order ('layer kind: Keras LSTM, torch
    Linear', transfer_weights refused). Now in the order the forward calls them; a module it
    never calls is a note, not a pair."""
    km, tm = keras_lstm(), DefinedOutOfOrder(unused)
    report = compare(km, tm)
    assert report.ok and [t for _, t in report.pairs] == ["LSTM 'lstm'", "Linear 'fc'"], str(report)
    assert [n.what for n in report.notes] == (["not called by the forward"] if unused else [])
    _agree(km, tm)


def test_nested_keras_models_are_looked_into() -> None:
    """Observed: an encoder/decoder model paired nothing ('extra torch module: remove it')."""
    encoder = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu")], name="encoder")
    decoder = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="sigmoid")], name="decoder")
    inp = keras.Input((8,))
    km = keras.Model(inp, decoder(encoder(inp)))
    tm = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 8), nn.Sigmoid())
    report = compare(km, tm)
    assert report.ok and len(report.pairs) == 2, str(report)
    _agree(km, tm)


def test_subclassed_keras_model_transfers_and_says_what_it_cannot_see() -> None:
    """Observed: transfer_weights crashed (AttributeError: the layer has never been called)."""
    class MyModel(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = layers.Conv2D(4, 3, activation="relu")
            self.flatten = layers.Flatten()
            self.d1 = layers.Dense(3)

        def call(self, x: Any) -> Any:
            return self.d1(self.flatten(self.conv1(x)))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.d1 = nn.Conv2d(1, 4, 3), nn.Linear(64, 3)

        def forward(self, x: Any) -> Any:
            return self.d1(torch.flatten(F.relu(self.conv1(x)), 1))

    km = MyModel()
    km(np.zeros((1, 6, 6, 1), "float32"))
    tm = Net()
    report = compare(km, tm)
    assert "subclassed" in report.unseen[0] and "sample=" in report.unseen[0]
    transfer_weights(km, tm)
    x = np.random.default_rng(0).standard_normal((3, 6, 6, 1)).astype("float32")
    # the Flatten of a subclassed model has no symbolic input: its reorder is unknown, so the
    # port agrees only if the torch side flattens NHWC (say so instead of guessing)
    with pytest.raises(PortMismatch):
        assert_equivalent(km, tm, sample=x)


def test_time_distributed_dense_pairs_with_linear() -> None:
    """Observed: TimeDistributed(Dense) was not paired (its Linear an 'extra module'), its
    weights silently skipped, and a mistake in it blamed on the GRU before it."""
    km = keras.Sequential([keras.Input((7, 3)), layers.GRU(5, return_sequences=True),
                           layers.TimeDistributed(layers.Dense(4, activation="softmax"), name="td")])

    class T(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru, self.fc = nn.GRU(3, 5, batch_first=True), nn.Linear(5, 4)

        def forward(self, x: Any) -> Any:
            out, _ = self.gru(x)
            return F.softmax(self.fc(out), dim=-1)

    tm = T()
    report = compare(km, tm)
    assert report.ok and report.pairs[1] == ("TimeDistributed 'td'", "Linear 'fc'")
    _agree(km, tm)
    with torch.no_grad():
        tm.fc.bias[0] += 1.0
    eq = _mismatch(km, tm)
    assert eq.first_divergence is not None and "Linear 'fc'" in eq.first_divergence.pair


@pytest.mark.parametrize("keras_act", ["argument", "layer"])
def test_leaky_relu_slopes_are_compared(keras_act: str) -> None:
    """Observed: Keras leaky_relu (0.2; the LeakyReLU layer 0.3) against nn.LeakyReLU()
    (0.01) was 'no differences'. Now the slope is part of the activation; the fix runs."""
    if keras_act == "argument":
        km = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="leaky_relu"),
                               layers.Dense(1)])
        slope = 0.2
    else:
        km = keras.Sequential([keras.Input((4,)), layers.Dense(6), layers.LeakyReLU(),
                               layers.Dense(1)])
        slope = 0.3
    tm = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(), nn.Linear(6, 1))
    (d,) = compare(km, tm).differences
    assert (d.keras_value, d.torch_value) == (f"leaky_relu({slope:g})", "leaky_relu(0.01)")
    assert f"nn.LeakyReLU({slope:g})" in d.fix
    transfer_weights(km, tm)
    eq = _mismatch(km, tm)
    assert eq.first_divergence is not None and eq.first_divergence.diagnosis is not None
    fix = eq.first_divergence.diagnosis.fix
    assert f"leaky_relu(self[0](x), {slope:g})" in fix
    right = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(slope), nn.Linear(6, 1))
    assert compare(km, right).ok
    _agree(km, right)


@pytest.mark.parametrize("pool", ["values", "index", "amax"])
def test_max_over_an_axis_keeps_the_trace(pool: str) -> None:
    """Observed: `x.max(dim=2).values` (GlobalMaxPooling1D) lost the trace: a correct port got
    'activation: Keras relu, torch none'."""
    km = keras.Sequential([keras.Input((10, 3)), layers.Conv1D(4, 3, activation="relu"),
                           layers.GlobalMaxPooling1D(), layers.Dense(1)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv1d(3, 4, 3), nn.Linear(4, 1)

        def forward(self, x: Any) -> Any:
            h = self.conv(x).relu()
            h = (h.max(dim=2).values if pool == "values" else torch.max(h, 2)[0]
                 if pool == "index" else h.amax(2))
            return self.fc(h)

    km_report = compare(km, Net())
    assert km_report.ok, str(km_report)
    _agree(km, Net())


def test_a_failing_forward_still_gives_an_equivalence() -> None:
    """Observed: `PortMismatch.report` was a str when the forward raised."""
    km = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    eq = _mismatch(km, nn.Sequential(nn.Linear(5, 2)))
    assert not eq.ok and eq.problem is not None and "forward failed" in eq.problem
    assert eq.first_divergence is None


def _conv_bn(bn: bool) -> tuple[Any, Any]:
    ls: list[Any] = [keras.Input((6, 6, 3)), layers.Conv2D(4, 3, padding="same")]
    ls += [layers.BatchNormalization()] if bn else []
    km = keras.Sequential([*ls, layers.Conv2D(4, 3, padding="same"), layers.Flatten(), layers.Dense(5)])
    mods: list[Any] = [nn.Conv2d(3, 4, 3, padding="same")]
    mods += [nn.BatchNorm2d(4, eps=1e-3, momentum=0.01)] if bn else []
    return km, nn.Sequential(*mods, nn.Conv2d(4, 4, 3, padding="same"), nn.Flatten(), nn.Linear(144, 5))


def test_batchnorm_after_a_conv_is_read_channels_first() -> None:
    """Observed: a correct BatchNorm2d after a conv was named the first divergence (compared
    NCHW against NHWC, 'max |diff| inf'), hiding the real mistake after it."""
    km, tm = _conv_bn(True)
    for v in km.layers[1].weights[2:]:  # moving statistics that are not 0 and 1
        v.assign(np.random.default_rng(0).uniform(0.5, 1.5, tuple(v.shape)).astype("float32"))
    _agree(km, tm)
    with torch.no_grad():  # the mistake, after the BatchNorm: kernel permuted (3, 2, 1, 0)
        kernel = np.asarray(km.layers[2].kernel)
        tm[2].weight.copy_(torch.as_tensor(kernel.transpose(3, 2, 1, 0).copy()))
    div = _mismatch(km, tm).first_divergence
    assert div is not None and div.diagnosis is not None, str(div)
    assert "Conv2d '2'" in div.pair and div.diagnosis.cause == "conv kernel axes"


def test_use_bias_false_against_a_torch_bias() -> None:
    """Observed: Keras use_bias=False vs torch's default bias=True was 'no differences', the
    torch bias left random. Now a difference; transfer_weights zeroes it; the diagnosis names it."""
    km = keras.Sequential([keras.Input((5,)), layers.Dense(3, use_bias=False), layers.Dense(1)])
    tm = nn.Sequential(nn.Linear(5, 3), nn.Linear(3, 1))
    (d,) = compare(km, tm).differences
    assert (d.what, d.keras_value, d.torch_value) == ("bias", "use_bias=False", "bias=True")
    _agree(km, tm)
    with torch.no_grad():
        tm[0].bias.fill_(0.5)  # a bias where Keras has none
    div = _mismatch(km, tm).first_divergence
    assert div is not None and div.diagnosis is not None
    assert div.diagnosis.cause == "bias where Keras has none"
    with pytest.raises(ValueError, match="use_bias=False"):
        transfer_weights(km, tm, direction="torch_to_keras")


def test_mask_zero_is_a_difference() -> None:
    """Observed: Embedding(mask_zero=True) was never reported; a padded sample then diverged
    with no cause."""
    km = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4, mask_zero=True),
                           layers.LSTM(5), layers.Dense(1)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.lstm, self.fc = nn.Embedding(20, 4), nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 1)

        def forward(self, x: Any) -> Any:
            _, (h_n, _) = self.lstm(self.emb(x.long()))
            return self.fc(h_n[-1])

    found = {d.what: d for d in compare(km, Net()).differences}
    assert "pack_padded_sequence" in found["mask_zero"].fix


def test_weighted_layers_without_a_rule_are_said() -> None:
    """Observed: a Conv2DTranspose was skipped without a word by compare and transfer_weights."""
    km = keras.Sequential([keras.Input((4, 4, 1)), layers.Conv2DTranspose(2, 3), layers.Flatten(),
                           layers.Dense(1)])
    tm = nn.Sequential(nn.ConvTranspose2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 1))
    report = compare(km, tm)
    assert any("Conv2DTranspose" in u and "not paired" in u for u in report.unseen), str(report)
    with pytest.warns(UserWarning, match="Conv2DTranspose"):
        transfer_weights(km, tm)


def test_a_forward_that_fails_on_the_right_shape_names_weight_shape_or_dtype() -> None:
    """Observed: 'pass it x.permute(0, 1)' (the identity) for a weight assigned untransposed
    through .data, and for a float64 model."""
    km = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    tm = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    transfer_weights(km, tm)
    tm[0].weight.data = torch.as_tensor(np.asarray(km.layers[0].kernel))  # (in, out)
    (d,) = compare(km, tm).differences
    assert "x.permute(0, 1)" not in d.fix and "weight is (6, 4)" in d.fix and "kernel.T" in d.fix
    km2 = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dense(2)])
    tm2 = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 2)).double()
    (d,) = compare(km2, tm2).differences
    assert "torch.float64" in d.fix and "model.to(torch.float32)" in d.fix
    exec(d.fix.split("e.g. ")[1], {"model": tm2, "torch": torch})  # the fix, as given
    assert compare(km2, tm2).ok
    _agree(km2, tm2)


def test_bidirectional_sum_merged_by_the_forward_is_right() -> None:
    """Observed: merge_mode='sum' ported as h_n[-2] + h_n[-1] was a difference (and bool False)."""
    km = keras.Sequential([keras.Input((7, 3)), layers.Bidirectional(layers.LSTM(6), merge_mode="sum"),
                           layers.Dense(1)])

    class B(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(3, 6, batch_first=True, bidirectional=True), nn.Linear(6, 1)

        def forward(self, x: Any) -> Any:
            _, (h, _) = self.lstm(x)
            return self.fc(h[-2] + h[-1])

    report = compare(km, B())
    assert report.ok and "bidirectional merge" in {n.what for n in report.notes}
    _agree(km, B())


def test_stacked_rnn_final_state_of_the_first_layer() -> None:
    """Observed: h_n[0] of a 2-layer LSTM got only the generic 'input of the pair'."""
    km = keras.Sequential([keras.Input((7, 3)), layers.LSTM(5, return_sequences=True), layers.LSTM(5),
                           layers.Dense(1)])

    class P(nn.Module):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(3, 5, num_layers=2, batch_first=True), nn.Linear(5, 1)
            self.index = index

        def forward(self, x: Any) -> Any:
            _, (h, _) = self.lstm(x)
            return self.fc(h[self.index])

    tm = P(0)
    transfer_weights(km, tm)
    div = _mismatch(km, tm).first_divergence
    assert div is not None and div.diagnosis is not None
    assert div.diagnosis.cause == "final state of another layer" and div.diagnosis.fix == "x = h_n[-1]"
    fixed = P(-1)
    fixed.load_state_dict(tm.state_dict())
    assert_equivalent(km, fixed, atol=1e-5)


def test_same_padding_with_strides_pads_like_tf() -> None:
    """Observed: 'same' at stride 2 gave the fix padding='same', which torch refuses for strided
    convolutions. Now the TF padding (odd row/column at the end) is named, diagnosed, and the
    fix (F.pad before a padding=0 conv) applied makes the port compare clean and agree."""
    km = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, strides=2, padding="same"),
                           layers.Flatten(), layers.Dense(2)])
    tm = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(64, 2))
    (d,) = compare(km, tm).differences
    assert d.what == "padding" and "pad(x, (0, 1, 0, 1))" in d.fix
    transfer_weights(km, tm)
    div = _mismatch(km, tm).first_divergence
    assert div is not None and div.diagnosis is not None and div.diagnosis.cause == "padding"

    class Padded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 3, stride=2), nn.Linear(64, 2)

        def forward(self, x: Any) -> Any:
            x = torch.nn.functional.pad(x, (0, 1, 0, 1))  # the fix
            return self.fc(torch.flatten(self.conv(x), 1))

    assert compare(km, Padded()).ok, str(compare(km, Padded()))
    _agree(km, Padded())


def test_outputs_matched_by_key_or_shape_and_maps_returned_nchw() -> None:
    """Observed: two heads returned in the other order were mislabelled (the broken 'cls' head
    reported as 'reg') and paired across; a conv model's NCHW output was 'shapes differ'."""
    inp = keras.Input((6,))
    h = layers.Dense(8, activation="relu", name="shared")(inp)
    km = keras.Model(inp, {"reg": layers.Dense(1, name="reg")(h),
                           "cls": layers.Dense(3, activation="softmax", name="cls")(h)})

    class RegCls(nn.Module):
        def __init__(self, as_dict: bool) -> None:
            super().__init__()
            self.shared, self.cls, self.reg = nn.Linear(6, 8), nn.Linear(8, 3), nn.Linear(8, 1)
            self.as_dict = as_dict

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.shared(x))
            reg, cls = self.reg(h), F.softmax(self.cls(h), dim=-1)
            return {"cls": cls, "reg": reg} if self.as_dict else (reg, cls)

    for as_dict in (False, True):
        tm = RegCls(as_dict)
        report = compare(km, tm)
        assert report.ok, str(report)
        assert {("Dense 'reg'", "Linear 'reg'"), ("Dense 'cls'", "Linear 'cls'")} <= set(report.pairs)
        _agree(km, tm)
        with torch.no_grad():
            tm.cls.bias[0] += 1.0  # break the 'cls' head only
        eq = _mismatch(km, tm)
        by_name = dict(zip(eq.names, eq.max_abs_diff))
        assert by_name["cls"] > 1e-3 and by_name["reg"] < 1e-5, str(eq)

    conv = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                             layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    nchw = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())
    report = compare(conv, nchw)
    assert report.ok and any("channels first" in str(n.torch_value) for n in report.notes), str(report)
    _agree(conv, nchw)


def test_two_inputs_an_image_taken_nchw() -> None:
    """Observed: with several inputs none was laid out for torch: an image+meta port taking
    NCHW failed in its conv."""
    img, meta = keras.Input((8, 8, 3)), keras.Input((4,))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(img))
    km = keras.Model([img, meta], layers.Dense(2)(layers.Concatenate()([x, meta])))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(8, 2)

        def forward(self, image: Any, meta: Any) -> Any:
            x = F.relu(self.conv(image)).mean(dim=(2, 3))
            return self.fc(torch.cat([x, meta], dim=1))

    assert compare(km, Net()).ok, str(compare(km, Net()))
    _agree(km, Net())


def test_activation_fixes_are_code_that_runs() -> None:
    """Observed: the printed fix `torch.softmax(self.fc2(x))` had no dim and failed; relu then
    softmax where Keras has softmax was told to 'apply nn.Softmax()', already there."""
    km = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"),
                           layers.Dense(3, activation="softmax")])
    tm = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))  # softmax forgotten
    transfer_weights(km, tm)
    div = _mismatch(km, tm).first_divergence
    assert div is not None and div.diagnosis is not None
    fix = div.diagnosis.fix.split("  #")[0]
    x = torch.relu(tm[0](torch.randn(2, 5)))
    namespace = {"self": tm, "x": x, "torch": torch}
    exec(fix, namespace)  # the line the user pastes into forward
    assert torch.allclose(namespace["x"].sum(-1), torch.ones(2))
    extra = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(), nn.Softmax(dim=-1))
    (d,) = compare(km, extra).differences
    assert "exactly softmax" in d.fix and "not relu, softmax" in d.fix


# ------------------------------------------------- a second probe (scaffold, odd inputs)
def test_a_guarded_torch_model_ports_like_an_unguarded_one() -> None:
    """Observed: guard(model) crashed compare/transfer/assert_equivalent (the guard's run on
    fake tensors went into the trace: DataDependentOutputException)."""
    from shapecontract import guard

    km = keras.Sequential([keras.Input((6, 3)), layers.LSTM(4), layers.Dense(1)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    tm = guard(Net(), level="framework")
    assert compare(km, tm).ok
    _agree(km, tm)


def test_variable_length_inputs_get_a_probe_long_enough() -> None:
    """Observed: Input((None, None, 3)) was probed at 3x3 and a correct conv port 'failed'."""
    km = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(8, 3, activation="relu"),
                           layers.MaxPooling2D(2), layers.Conv2D(8, 3), layers.GlobalAveragePooling2D(),
                           layers.Dense(2)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2, self.fc = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3), nn.Linear(8, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(self.c2(F.max_pool2d(F.relu(self.c1(x)), 2)).mean((2, 3)))

    assert compare(km, Net()).ok, str(compare(km, Net()))
    _agree(km, Net())


def test_a_forward_that_changes_its_input_in_place() -> None:
    """Observed: `x /= 255` in the forward changed the probe Keras then ran on."""
    km = keras.Sequential([keras.Input((4,)), layers.Rescaling(1 / 255), layers.Dense(2, name="a")])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            x /= 255.0
            return self.a(x)

    report = compare(km, Net())
    assert any("Rescaling" in u for u in report.unseen)  # preprocessing: said, not guessed
    _agree(km, Net())


def test_steps_equal_to_features_takes_the_layout_that_agrees() -> None:
    """Observed: 28 rows of 28 pixels into a Conv1D: the NCHW guess was kept although the port
    takes Keras layout (it rescales first), and a correct port failed."""
    km = keras.Sequential([keras.Input((28, 28)), layers.Rescaling(1 / 255.0), layers.Conv1D(4, 3),
                           layers.GlobalMaxPooling1D(), layers.Dense(2)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv1d(28, 4, 3), nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            h = self.conv((x / 255.0).transpose(1, 2))
            return self.fc(h.amax(2))

    tm = Net()
    transfer_weights(km, tm)
    eq = assert_equivalent(km, tm, atol=1e-5)
    assert "Keras layout" in eq.note


def test_a_float_input_read_by_an_embedding_is_probed_with_token_ids() -> None:
    """Observed: Input((6,)) (float) into an Embedding was probed with normal floats: 'index out
    of range' and a false 'input shape' difference for a correct port."""
    km = keras.Sequential([keras.Input((6,)), layers.Embedding(20, 4), layers.LSTM(5), layers.Dense(1)])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.lstm, self.fc = nn.Embedding(20, 4), nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(self.emb(x.long()))
            return self.fc(out[:, -1])

    assert compare(km, Net()).ok, str(compare(km, Net()))
    _agree(km, Net())


def test_bad_samples_and_swapped_arguments_are_clear_errors() -> None:
    """Observed: a sample that does not fit Keras was blamed on torch, an empty batch passed,
    swapped arguments gave AttributeError; float64 ports were cast to float32."""
    km = keras.Sequential([keras.Input((6,)), layers.Dense(2)])
    tm = nn.Sequential(nn.Linear(6, 2))
    for bad, msg in ((np.zeros((4, 7), "float32"), r"takes \(None, 6\)"),
                     (np.zeros((0, 6), "float32"), "empty batch"),
                     (np.zeros(6, "float32"), r"takes \(None, 6\)")):
        with pytest.raises(ValueError, match=msg):
            assert_equivalent(km, tm, sample=bad)
    for call in (compare, transfer_weights, assert_equivalent):
        with pytest.raises(TypeError, match="swapped"):
            call(tm, km)  # type: ignore[operator]
    k64 = keras.Sequential([keras.Input((6,), dtype="float64"), layers.Dense(2, dtype="float64")])
    t64 = nn.Sequential(nn.Linear(6, 2)).double()
    transfer_weights(k64, t64)
    eq = assert_equivalent(k64, t64, sample=np.random.default_rng(0).random((4, 6)), atol=1e-12)
    assert max(eq.max_abs_diff) < 1e-12


def test_transfer_warns_about_what_it_could_not_pair_and_lambda_is_unseen() -> None:
    """Observed: transfer_weights copied nothing (an empty torch model) or part, silently; a
    Lambda the port left out was 'no differences, nothing unseen'."""
    km = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dense(2)])
    with pytest.warns(UserWarning, match="nothing to pair with"):
        transfer_weights(km, nn.Sequential(nn.Linear(6, 4)))
    lam = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Lambda(lambda t: t * 2),
                            layers.Dense(2)])
    tm = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 2))
    report = compare(lam, tm)
    assert any("Lambda" in u for u in report.unseen), str(report)
    transfer_weights(lam, tm)
    div = _mismatch(lam, tm).first_divergence
    assert div is not None and div.diagnosis is not None and "Lambda" in div.diagnosis.explanation


def test_scaffold_nested_models_and_avgpool1d() -> None:
    """Observed: scaffold refused an encoder/decoder model; to='keras' crashed on AvgPool1d."""
    from shapecontract.port import scaffold

    enc = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu")], name="encoder")
    dec = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="sigmoid")], name="decoder")
    inp = keras.Input((8,))
    km = keras.Model(inp, dec(enc(inp)), name="autoencoder")
    namespace: dict[str, Any] = {}
    exec(scaffold(km), namespace)
    _agree(km, namespace["Autoencoder"]())
    chain = nn.Sequential(nn.Conv1d(3, 4, 3), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(16, 2))
    source = scaffold(chain, to="keras", input_shape=(10, 3))
    assert "AveragePooling1D(2" in source
