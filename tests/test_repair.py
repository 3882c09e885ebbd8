"""Repairs proven on the whole step (`shapecontract.repair.repairs`), on shape bugs re-created
from public threads: each case is the program the thread shows (on Keras 3), the repair its
accepted answer gives, and the corrected program as a control that must pass."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")
layers = keras.layers

from shapecontract import contract_of  # noqa: E402
from shapecontract.fixes import OneHot, SetSetting  # noqa: E402
from shapecontract.repair import Repair, call_repairs, repairs  # noqa: E402

Case = tuple[str, Callable[[], Any], Any, Any, Callable[[Repair], bool]]


def _stacked_lstm() -> Any:
    # https://newbe.dev/error-when-checking-target-expected-dense-1-to-have-3-dimensions-but-got-array-with-shape-118-1
    # the second LSTM also returns sequences: the output is (bs, 45, 1) for (118, 1) targets;
    # the answer sets return_sequences=False on the second LSTM
    m = keras.Sequential([layers.Input((45, 2)), layers.LSTM(16, return_sequences=True),
                          layers.LSTM(16, return_sequences=True), layers.Dense(1)])
    m.compile("adam", "mse")
    return m


def _two_classes_softmax() -> Any:
    # https://errorhandle.ai/keras-valueerror-valueerror-error-when-checking-target-expected-dense-4-to-have-shape-none-2-but-got-array-with-shape-2592-1-python3
    # Dense(2, softmax) + categorical_crossentropy, labels as 0/1 of shape (n, 1): the answer
    # one-hot encodes them (to_categorical(y, num_classes=2))
    m = keras.Sequential([layers.Input((8,)), layers.Dense(16, activation="relu"),
                          layers.Dense(2, activation="softmax")])
    m.compile("adam", "categorical_crossentropy")
    return m


def _sigmoid_for_two_targets() -> Any:
    # https://taourl.com/read-2442620.html: Dense(1, sigmoid) for targets of shape (100, 2);
    # the answer gives the last layer 2 units
    m = keras.Sequential([layers.Input((10,)), layers.Dense(10, activation="relu"),
                          layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    return m


def _classes_86_for_88() -> Any:
    # https://taourl.com/read-2014124.html: Dense(86, softmax) for one-hot labels of 88 classes;
    # the answer builds the last layer with 88 units
    m = keras.Sequential([layers.Input((100,)), layers.Dense(64, activation="relu"),
                          layers.Dense(86, activation="softmax")])
    m.compile("adam", "categorical_crossentropy")
    return m


def _setting(layer_kind: str, name: str, value: Any) -> Callable[[Repair], bool]:
    def ok(r: Repair) -> bool:
        return (isinstance(r.op, SetSetting) and r.op.kind == layer_kind
                and r.op.setting == name and r.op.value == value)
    return ok


CASES: list[Case] = [
    ("stacked LSTM returns sequences", _stacked_lstm, np.zeros((118, 45, 2), "float32"),
     np.zeros((118, 1), "float32"), _setting("LSTM", "return_sequences", False)),
    ("labels not one-hot", _two_classes_softmax, np.zeros((32, 8), "float32"),
     np.random.default_rng(0).integers(0, 2, (32, 1)), lambda r: r.op == OneHot(2, True)),
    ("one unit for two targets", _sigmoid_for_two_targets, np.zeros((100, 10), "float32"),
     np.zeros((100, 2), "float32"), _setting("Dense", "units", 2)),
    ("86 units for 88 classes", _classes_86_for_88, np.zeros((16, 100), "float32"),
     np.eye(88, dtype="float32")[np.arange(16)], _setting("Dense", "units", 88)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_answer_s_repair_is_proven_and_ranked_first(case: Case) -> None:
    """The thread's answer is the first proven repair; applied, the whole step passes; the
    user's model is left as it was."""
    _, build, x, y, is_answer = case
    model = build()
    weights = [w.copy() for w in model.get_weights()]
    found = repairs(model, x, y)
    assert found, "no proven repair"
    assert is_answer(found[0]), [str(r) for r in found]
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    # applied: the data repair to the data, the setting by rebuilding the model with it
    fix = found[0]
    if isinstance(fix.op, SetSetting):
        def clone(layer: Any) -> Any:
            cfg = layer.get_config()
            if f"'{layer.name}'" in fix.where:
                cfg[fix.op.setting] = fix.op.value
            return layer.__class__.from_config(cfg)
        fixed = keras.models.clone_model(model, clone_function=clone)
        fixed.compile("adam", model.loss)
        fixed.fit(x, y, epochs=1, verbose=0)  # the control: Keras trains it
    else:
        y2 = fix.op.apply(y) if fix.where == "y" else y
        x2 = fix.op.apply(x) if fix.where == "x" else x
        model.fit(x2, y2, epochs=1, verbose=0)


def test_a_step_that_passes_needs_no_repair() -> None:
    model = _stacked_lstm()
    assert repairs(model, np.zeros((8, 45, 2), "float32"), np.zeros((8, 45, 1), "float32")) == []


def test_a_declared_input_shape_is_repaired_before_the_data_is_permuted() -> None:
    """Input((1, 20)) for windows (n, 20, 1): declaring the data's shape comes first (a
    transpose keeps the shape right but swaps what the axes mean); both are proven."""
    model = keras.Sequential([layers.Input((1, 20)), layers.LSTM(8), layers.Dense(1)])
    model.compile("adam", "mse")
    found = repairs(model, np.zeros((16, 20, 1), "float32"), np.zeros((16, 1), "float32"))
    assert [r.code for r in found] == ["keras.Input((20, 1))", "np.transpose(x, (0, 2, 1))"]
    assert str(contract_of(model)).startswith("(batch, 1, 20)")  # the model is untouched


def test_a_guarded_fit_shows_the_proven_repair() -> None:
    """guard(model).fit(x, y) refused before Keras runs: the error carries the proven repair,
    after the fixes it had, with its operation."""
    from shapecontract import ShapeContractError, guard

    model = guard(_stacked_lstm())
    x, y = np.zeros((118, 45, 2), "float32"), np.zeros((118, 1), "float32")
    with pytest.raises(ShapeContractError) as info:
        model.fit(x, y, epochs=1, verbose=0)
    proven = [s for v in info.value.violations for s in v.suggestions if s.kind == "repair"]
    assert proven, str(info.value)
    op = proven[0].op
    assert (op.kind, op.setting, op.value) == ("LSTM", "return_sequences", False)
    assert op.layer == f"LSTM '{model.layers[1].name}'"  # the second LSTM, not the first
    assert "proven on the whole step" in str(info.value)


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_a_convolution_into_dense_gets_a_flatten(functional: bool) -> None:
    """https://stackoom.com/en/question/32hTj shape: Conv2D straight into Dense keeps the
    image axes to the output, (n, 14, 14, 10) for (n, 10) targets; the answer puts Flatten()
    between them (proven on a copy built with it, for a Sequential and a functional model)."""
    from shapecontract.fixes import InsertLayer

    def build(flatten: bool) -> Any:
        inp = layers.Input((16, 16, 3))
        h = layers.Conv2D(4, 3, activation="relu")(inp)
        h = layers.Flatten()(h) if flatten else h
        out = layers.Dense(10, activation="softmax")(layers.Dense(8)(h))
        if functional:
            m = keras.Model(inp, out)
        else:
            m = keras.Sequential([layers.Input((16, 16, 3)), layers.Conv2D(4, 3),
                                  *([layers.Flatten()] if flatten else []), layers.Dense(8),
                                  layers.Dense(10, activation="softmax")])
        m.compile("sgd", "categorical_crossentropy")
        return m

    x = np.zeros((6, 16, 16, 3), "float32")
    y = np.eye(10, dtype="float32")[np.arange(6)]
    found = repairs(build(False), x, y)
    flatten = [r for r in found if isinstance(r.op, InsertLayer)]
    assert flatten and flatten[0].op.new == "Flatten()", [str(r) for r in found]
    assert flatten[0].op.layer.startswith("Dense '")
    fixed = build(True)  # applied
    assert repairs(fixed, x, y) == []
    fixed.fit(x, y, epochs=1, verbose=0)


def test_one_target_per_sample_sizes_the_last_layer_to_one_unit() -> None:
    """https://stackoverflow.com/questions/64435490 (SFData) shape: Dense(2, sigmoid) with
    binary_crossentropy on labels of shape (n,): one target per sample is one unit. The last
    layer that sizes the output (an Activation after it changes nothing) gets units=1, proven
    on the whole step and applied here."""
    m = keras.Sequential([layers.Input((6,)), layers.Dense(8), layers.Dense(2),
                          layers.Activation("sigmoid")])
    m.compile("adam", "binary_crossentropy")
    x, y = np.zeros((10, 6), "float32"), np.zeros((10,), "float32")
    found = repairs(m, x, y)
    units = [r for r in found if isinstance(r.op, SetSetting) and r.op.setting == "units"]
    assert units and units[0].op.value == 1 and units[0].op.layer.startswith("Dense")
    fixed = keras.Sequential([layers.Input((6,)), layers.Dense(8), layers.Dense(1),
                              layers.Activation("sigmoid")])
    fixed.compile("adam", "binary_crossentropy")
    assert repairs(fixed, x, y) == []
    fixed.fit(x, y, epochs=1, verbose=0)


def test_a_list_of_token_sequences_of_different_lengths_gets_pad_sequences() -> None:
    """https://github.com/keras-team/keras/issues/40 shape: fit on a list of integer arrays of
    different lengths for an Embedding model; the answer pads them (pad_sequences), which is
    applied here: the guarded fit then trains."""
    from shapecontract import ShapeContractError, guard
    from shapecontract.fixes import PadSequences

    m = keras.Sequential([layers.Input((None,), dtype="int32"), layers.Embedding(20, 4),
                          layers.GlobalAveragePooling1D(), layers.Dense(1)])
    m.compile("adam", "mse")
    seqs = [np.arange(n) % 20 for n in (3, 5, 2, 4)]
    with pytest.raises(ShapeContractError) as info:
        guard(m).fit(seqs, np.zeros(4, "float32"), epochs=1, verbose=0)
    fix = next(f for v in info.value.violations for f in v.suggestions
               if isinstance(f.op, PadSequences))
    assert "pad_sequences" in (fix.code or "")
    m.fit(fix.op.apply(seqs), np.zeros(4, "float32"), epochs=1, verbose=0)


def test_one_hot_labels_for_a_sparse_loss_get_the_categorical_loss() -> None:
    """https://stackoverflow.com/questions/61116088 (SFData) shape: one-hot labels (n, 5) with
    sparse_categorical_crossentropy; the answer compiles with categorical_crossentropy. The
    loss's twin for these labels is proven on a clone compiled with it, and applied here."""
    from shapecontract.fixes import SwapLoss

    m = keras.Sequential([layers.Input((8,)), layers.Dense(5, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    x, y = np.zeros((6, 8), "float32"), np.eye(5, dtype="float32")[np.arange(6) % 5]
    found = repairs(m, x, y)
    swap = next(r for r in found if isinstance(r.op, SwapLoss))
    assert swap.code == "model.compile(..., loss='categorical_crossentropy')"
    m.compile("adam", "categorical_crossentropy")  # applied
    assert repairs(m, x, y) == []
    m.fit(x, y, epochs=1, verbose=0)


# ------------------------------------------------------------------------------ PyTorch
torch = pytest.importorskip("torch")
nn = torch.nn


class _BertHead(nn.Module):
    """A head for BERT-base token features (768), built for 1024 (BERT-large's size)."""

    def __init__(self, features: int = 1024) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, 64, batch_first=True)
        self.fc = nn.Linear(64, 2)

    def forward(self, x: Any) -> Any:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def test_torch_input_size_is_set_to_the_data_s_features() -> None:
    """nn.LSTM(1024) fed BERT-base features (768): the proven repair builds the LSTM with
    input_size=768; the rebuilt module runs on the data; the user's module is untouched."""
    model, x = _BertHead(), torch.zeros(4, 10, 768)
    (first, *_) = repairs(model, x)
    assert (first.op.kind, first.op.setting, first.op.value) == ("LSTM", "input_size", 768)
    assert model.lstm.input_size == 1024
    assert tuple(_BertHead(768)(x).shape) == (4, 2)  # the control


def test_gray_images_for_an_rgb_conv_repeat_the_channel_first() -> None:
    """https://errorcanon.top/errors/pytorch/conv2d-channels-mismatch/index.md: gray images
    (N, 1, H, W) into Conv2d(3, ...): repeat the channel (first), or build it with
    in_channels=1; both proven, each applied runs."""
    model, x = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten()), torch.zeros(2, 1, 28, 28)
    found = repairs(model, x)
    assert [type(r.op).__name__ for r in found] == ["Repeat", "SetSetting"]
    assert tuple(model(found[0].op.apply(x)).shape) == (2, 8 * 26 * 26)
    assert found[1].op.setting == "in_channels" and found[1].op.value == 1


def test_rgb_images_for_a_one_channel_conv_set_in_channels() -> None:
    """https://taourl.com/read-2182898.html: Conv2d(in_channels=1) fed (32, 3, 224, 224) RGB
    batches: the answer builds the layer with in_channels=3 (nothing repeats 3 channels to 1)."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    (first, *_) = repairs(model, torch.zeros(2, 3, 32, 32))
    assert (first.op.setting, first.op.value) == ("in_channels", 3)


def test_a_guarded_torch_module_shows_the_proven_repair() -> None:
    from shapecontract import ShapeContractError, guard

    model = guard(_BertHead())
    with pytest.raises(ShapeContractError) as info:
        model(torch.zeros(4, 10, 768))
    assert "proven on the whole step" in str(info.value)
    assert "input_size=768" in str(info.value)


def test_cross_entropy_on_sequence_logits_transposes_the_classes_to_axis_one() -> None:
    """https://whosebug.com/question/6539086/How-to-compute-Cross-Entropy-Loss-for-sequences:
    logits (batch, seq, classes) with targets (batch, seq); the answer: input.transpose(1, 2).
    Applied, torch computes the loss."""
    loss = nn.CrossEntropyLoss()
    logits, target = torch.zeros(8, 7, 5), torch.zeros(8, 7, dtype=torch.long)
    (first, *_) = call_repairs(loss, (logits, target))
    assert first.code == "input.transpose(1, 2)"
    loss(first.op.apply(logits), target)  # the control: torch takes it


def test_cross_entropy_with_a_label_column_squeezes_it() -> None:
    """Class indices as a column (N, 1) for logits (N, C): target.squeeze(1) comes first (the
    argument the violation is about), and torch takes it."""
    from shapecontract import ShapeContractError, guard

    loss = guard(nn.CrossEntropyLoss())
    logits, target = torch.zeros(8, 5), torch.zeros(8, 1, dtype=torch.long)
    with pytest.raises(ShapeContractError) as info:
        loss(logits, target)
    proven = [s for v in info.value.violations for s in v.suggestions if s.kind == "repair"]
    assert proven[0].code == "target.squeeze(1)"
    nn.CrossEntropyLoss()(logits, proven[0].op.apply(target))


# ------------------------------------------------------- torch: the forward and the whole step
def _guarded_error(f: Callable[[], Any]) -> Any:
    from shapecontract import ShapeContractError

    with pytest.raises(ShapeContractError) as info:
        f()
    return info.value


def test_a_view_with_a_written_size_is_blamed_on_its_line_and_repaired() -> None:
    """https://www.bytezonex.com/archives/QBoC8wIS.html shape: `x.view(x.size(0), 5 * 5 * 16)`
    after convolutions that give 24 channels. The guard's refusal names the line (not the
    convolution that ran before it), and the repair is two edits proven together on fake
    tensors: keep the batch axis, and fc1 built for the size the convolutions give."""
    from shapecontract import guard

    F = torch.nn.functional

    class ConvNet(nn.Module):
        def __init__(self, fc_in: int = 16 * 5 * 5, keep_batch: bool = False) -> None:
            super().__init__()
            self.keep_batch = keep_batch
            self.conv1, self.conv2 = nn.Conv2d(3, 16, 3), nn.Conv2d(16, 24, 4)
            self.fc1 = nn.Linear(fc_in, 10)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.conv2(F.max_pool2d(F.relu(self.conv1(x)), 2))), 2)
            x = x.view(x.size(0), -1) if self.keep_batch else x.view(x.size(0), 5 * 5 * 16)
            return self.fc1(x)

    x = torch.randn(4, 3, 28, 28)
    err = _guarded_error(lambda: guard(ConvNet())(x))
    v = err.violations[0]
    assert "test_repair.py" in v.message and "x.view(x.size(0), 5 * 5 * 16)" in v.message
    assert "Conv2d" not in v.message.split(":")[0]  # placed at the line, not on a layer
    codes = [f.code for f in v.suggestions]
    assert "x.view(x.size(0), -1)" in codes
    fc = next(f for f in v.suggestions if isinstance(f.op, SetSetting))
    assert (fc.op.setting, fc.op.value) == ("in_features", 600)
    fixed = guard(ConvNet(fc_in=fc.op.value, keep_batch=True))  # both edits applied
    assert fixed(x).shape == (4, 10)


def test_a_last_smaller_batch_gets_drop_last() -> None:
    """https://github.com/udacity/deep-learning-v2-pytorch/issues/79 shape: an LSTM's state
    made once for batches of 4; 10 samples leave a last batch of 2. The same forward passed
    with 4, so the error says the last batch is the cause and gives drop_last=True, which is
    applied here: the epoch runs."""
    from torch.utils.data import DataLoader, TensorDataset

    from shapecontract import guard

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True)

        def forward(self, x: Any, state: Any) -> Any:
            return self.lstm(x, state)[0]

    net = guard(Tagger())
    state = (torch.zeros(1, 4, 5), torch.zeros(1, 4, 5))
    data = TensorDataset(torch.randn(10, 6, 3))

    def epoch(drop_last: bool) -> None:
        for (x,) in DataLoader(data, batch_size=4, drop_last=drop_last):
            net(x, state)

    err = _guarded_error(lambda: epoch(False))
    fix = next(f for v in err.violations for f in v.suggestions if f.code == "drop_last=True")
    assert "batch size 4" in fix and "fails with 2" in fix
    assert (fix.op.setting, fix.op.value) == ("drop_last", True)
    epoch(fix.op.value)


def test_a_loss_refusing_the_output_is_repaired_in_the_model_that_made_it() -> None:
    """https://github.com/arnoweng/CheXNet/issues/6 shape: a classifier head of 14 outputs
    for 7-label targets, refused by BCEWithLogitsLoss. The last guarded call made the input
    (confirmed on fake tensors), so the repair is the head's out_features, proven with the
    loss's own check, and applied here."""
    from shapecontract import guard

    def build(out: int) -> Any:
        return guard(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, out)))

    loss = guard(nn.BCEWithLogitsLoss())
    x, y = torch.randn(5, 6), torch.randint(0, 2, (5, 7)).float()
    model = build(14)
    err = _guarded_error(lambda: loss(model(x), y))
    fix = err.violations[0].suggestions[0]
    assert fix.kind == "repair" and isinstance(fix.op, SetSetting)
    assert (fix.op.layer, fix.op.setting, fix.op.value) == ("Linear '2'", "out_features", 7)
    assert fix.code == "self[2] = nn.Linear(in_features=8, out_features=7)"
    loss(build(fix.op.value)(x), y).backward()  # applied: the step runs


def test_an_lstm_fed_batch_major_data_with_batch_major_state_gets_batch_first() -> None:
    """https://programmerah.com/runtimeerror-expected-hidden0-size-x-x-x-gotx-x-x-39265/
    shape: (batch, seq, features) data and a (layers*2, batch, hidden) state into a BiLSTM
    built without batch_first: torch reads the sequence axis as the batch. The layout knob,
    turned, is proven on the whole forward."""
    from shapecontract import guard

    class Tagger(nn.Module):
        def __init__(self, batch_first: bool) -> None:
            super().__init__()
            self.bilstm = nn.LSTM(6, 4, num_layers=2, bidirectional=True,
                                  batch_first=batch_first)

        def forward(self, x: Any, h0: Any, c0: Any) -> Any:
            return self.bilstm(x, (h0, c0))[0]

    x, h = torch.randn(3, 9, 6), torch.zeros(4, 3, 4)
    err = _guarded_error(lambda: guard(Tagger(False))(x, h, h))
    op = next(f.op for v in err.violations for f in v.suggestions
              if isinstance(f.op, SetSetting))
    assert (op.setting, op.value) == ("batch_first", True)
    assert guard(Tagger(op.value))(x, h, h).shape == (3, 9, 8)


def test_volumes_in_tensorflow_s_layout_get_the_channels_moved_to_axis_one() -> None:
    """https://duoke360.com/post/34414 shape: NDHWC volumes into nn.Conv3d, whose refusal is
    torch's own (no axis named). The structural moves of the data are tried on the module's
    contract: the last axis moved to second place is the one that holds."""
    from shapecontract import guard
    from shapecontract.fixes import Permute

    conv = guard(nn.Conv3d(3, 4, 3))
    volume = torch.randn(2, 8, 8, 8, 3)
    err = _guarded_error(lambda: conv(volume))
    fix = next(f for v in err.violations for f in v.suggestions if isinstance(f.op, Permute))
    assert fix.op.perm == (0, 4, 1, 2, 3)
    assert conv(fix.op.apply(volume)).shape == (2, 4, 6, 6, 6)


def test_spatial_logits_of_size_one_are_flattened_for_cross_entropy() -> None:
    """https://github.com/Cadene/pretrained-models.pytorch/issues/151 shape: SqueezeNet's
    (N, C, 1, 1) output into CrossEntropyLoss with (N,) targets; the answer reshapes it to
    (N, C): every size-1 axis after the batch dropped at once."""
    from shapecontract import guard
    from shapecontract.fixes import Reshape

    loss = guard(nn.CrossEntropyLoss())
    out, y = torch.randn(4, 10, 1, 1), torch.randint(0, 10, (4,))
    err = _guarded_error(lambda: loss(out, y))
    fix = next(f for v in err.violations for f in v.suggestions if isinstance(f.op, Reshape))
    assert fix.op.shape == (-1, 10) and "reshape(-1, 10)" in (fix.code or "")
    loss(fix.op.apply(out), y)


def test_a_view_that_folds_the_batch_is_repaired_from_the_loss() -> None:
    """https://discuss.pytorch.org/t/valueerror-expected-input-batch-size-324-to-match-target-
    batch-size-4/24498 shape: LeNet's `x.view(-1, 16 * 3 * 3)` on 32x32 images runs, folding
    the batch (4 images become 16 rows); only the loss notices. The model that made the input
    is searched: the reshape kept per sample and fc1 built for what it then gets, proven by
    the loss's own check on the new output; both applied here."""
    from shapecontract import guard

    class LeNet(nn.Module):
        def __init__(self, flat: int = 16 * 3 * 3, keep_batch: bool = False) -> None:
            super().__init__()
            self.keep_batch, self.flat = keep_batch, flat
            self.conv1, self.conv2 = nn.Conv2d(3, 6, 3), nn.Conv2d(6, 16, 3)
            self.pool, self.fc1 = nn.MaxPool2d(2), nn.Linear(flat, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))
            x = x.view(x.size(0), -1) if self.keep_batch else x.view(-1, self.flat)
            return self.fc1(x)

    images, labels = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    loss = guard(nn.CrossEntropyLoss())
    model = guard(LeNet())
    err = _guarded_error(lambda: loss(model(images), labels))
    fixes = [f for f in err.violations[0].suggestions if f.kind == "repair"]
    assert [f.code for f in fixes] == ["x.view(x.size(0), -1)",
                                       "self.fc1 = nn.Linear(in_features=576, out_features=10)"]
    fixed = guard(LeNet(flat=fixes[1].op.value, keep_batch=True))
    loss(fixed(images), labels).backward()


def test_flattened_images_into_a_convolution_are_unflattened() -> None:
    """https://e-com-net.com/article/1743708265516122112.htm shape: MNIST batches viewed as
    (n, 784) fed to a Conv2d(1, ...): the proven repair gives each row back its image,
    (n, 1, 28, 28) (each sample stays a sample), applied here."""
    from shapecontract import guard
    from shapecontract.fixes import Reshape

    net = guard(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(),
                              nn.Linear(4 * 28 * 28, 10)))
    flat = torch.rand(6, 784)
    err = _guarded_error(lambda: net(flat))
    fix = next(f for v in err.violations for f in v.suggestions if isinstance(f.op, Reshape))
    assert fix.op.shape == (-1, 1, 28, 28) and fix.kind == "repair"
    assert net(fix.op.apply(flat)).shape == (6, 10)


def test_a_unet_whose_skip_connections_do_not_meet_gets_both_remedies() -> None:
    """https://github.com/milesial/Pytorch-UNet/issues/30 shape: 36x36 images into a U-Net of
    two poolings: the upsampled map is one pixel short of its skip connection, and torch.cat
    fails in the forward's own line. Two repairs are proven on fake tensors: pad the smaller
    map at that line, or give the model sides that are a multiple of 4; the second is applied
    here."""
    import torch.nn.functional as F

    from shapecontract import guard

    class UNet(nn.Module):
        def __init__(self, pasted: str | None = None) -> None:
            super().__init__()
            self.pasted = pasted
            self.down1, self.down2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
            self.pool, self.up = nn.MaxPool2d(2), nn.Upsample(scale_factor=2)
            self.out = nn.Conv2d(8, 1, 1)

        def forward(self, x: Any) -> Any:
            e1 = self.down1(x)
            e2 = self.down2(self.pool(self.pool(e1)))
            e2 = self.up(self.up(e2))
            if self.pasted is not None:  # the suggested lines, pasted before the join
                names = {"e1": e1, "e2": e2, "F": F}
                exec(self.pasted, names)
                e1, e2 = names["e1"], names["e2"]
            return self.out(torch.cat([e1, e2], dim=1))

    net = guard(UNet())
    err = _guarded_error(lambda: net(torch.randn(2, 1, 38, 38)))
    fixes = err.violations[0].suggestions
    assert "torch.cat" in err.violations[0].message and "test_repair.py" in err.violations[0].message
    pad = next(f for f in fixes if "F.pad" in (f.code or ""))
    assert pad.code is not None and pad.code.endswith("e2 = F.pad(e2, [dx // 2, dx - dx // 2, "
                                                       "dy // 2, dy - dy // 2])")
    assert guard(UNet(pad.code))(torch.randn(2, 1, 38, 38)).shape == (2, 1, 38, 38)
    resize = next(f for f in fixes if (f.code or "").startswith("transforms.Resize"))
    assert resize.code == "transforms.Resize((40, 40))" and "multiple of 4" in resize
    images = F.interpolate(torch.randn(2, 1, 38, 38), size=(40, 40))
    assert net(images).shape == (2, 1, 40, 40)
