"""PyTorch adapter: contracts from module attributes, forward hooks, the seed scenarios."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from shapecontract import ShapeContractError, contract_of, guard, unguard  # noqa: E402


def _err(fn: Any, *args: Any) -> ShapeContractError:
    with pytest.raises(ShapeContractError) as info:
        fn(*args)
    return info.value


RNN_CONFIGS = [c for c in itertools.product(["LSTM", "GRU", "RNN"], [False, True], [1, 2],
                                            [False, True], [0, 3])
               if c[0] == "LSTM" or c[4] == 0]  # proj_size is LSTM-only


@pytest.mark.parametrize("kind, batch_first, layers, bidir, proj", RNN_CONFIGS)
def test_rnn_contract_matches_real_forward(kind: str, batch_first: bool, layers: int, bidir: bool,
                                           proj: int) -> None:
    """For every RNN config, real inputs, states and outputs satisfy the stated contract."""
    kw = {"proj_size": proj} if proj else {}
    m = getattr(nn, kind)(4, 6, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw)
    c = contract_of(m)
    guard(m)
    x = torch.zeros(2, 5, 4) if batch_first else torch.zeros(5, 2, 4)
    out = m(x)
    c.check_outputs((x,), out)  # the real outputs satisfy the stated output contract
    x1 = torch.zeros(5, 4)
    c.check_outputs((x1,), m(x1))  # unbatched
    D = 2 if bidir else 1
    h_out = proj or 6
    h0 = torch.zeros(D * layers, 2, h_out)
    hx = (h0, torch.zeros(D * layers, 2, 6)) if kind == "LSTM" else h0
    c.check_outputs((x, hx), m(x, hx))
    bad_out = (out[0][..., :-1], out[1])
    with pytest.raises(ShapeContractError):  # and the output check can fail
        c.check_outputs((x,), bad_out)
    bad_h0 = torch.zeros(D * layers + 1, 2, h_out)
    bad = (bad_h0, torch.zeros(D * layers, 2, 6)) if kind == "LSTM" else bad_h0
    e = _err(m, x, bad)
    assert e.dim == "directions*layers" and e.expected == D * layers
    assert out[0].shape[-1] == D * h_out
    with pytest.raises(ShapeContractError):
        m(torch.zeros(2, 5, 3))
    unguard(m)


def test_seed_batch_first_false_caught_with_pinned_timesteps() -> None:
    """nn.LSTM(3, 50) fed batch-major (100, 24, 3): caught with dims={'timesteps': 24}; both fixes named."""
    lstm = nn.LSTM(3, 50)
    lstm(torch.zeros(100, 24, 3))  # torch runs it silently, with 100 as time
    guard(lstm, dims={"timesteps": 24})
    e = _err(lstm, torch.zeros(100, 24, 3))
    assert (e.slot, e.axis, e.dim, e.expected, e.actual) == ("argument input", 0, "timesteps", 24, 100)
    fixes = " ".join(e.suggestions)
    assert "input.transpose(0, 1)" in fixes and "batch_first=True" in fixes
    assert any("PyTorch itself would have accepted" in n for n in e.notes)
    lstm(torch.zeros(24, 100, 3))


def test_seed_feature_counts() -> None:
    """The LSTM seeds in torch: 1 feature for 3, 3 for 5: named, with the module origin."""
    for want, got in ((3, 1), (5, 3)):
        m = guard(nn.LSTM(want, 8, batch_first=True))
        e = _err(m, torch.zeros(10, 24, got))
        assert (e.dim, e.expected, e.actual) == ("features", want, got)
        assert e.origin == "LSTM input_size"


def test_seed_conv2d_missing_channel_axis_in_torch() -> None:
    """(100, 64, 64) into Conv2d(1, ...): torch would read 100 as channels; we say add axis 1."""
    m = guard(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(4 * 31 * 31, 10)))
    e = _err(m, torch.zeros(100, 64, 64))
    assert e.dim == "channels"
    assert any("input.unsqueeze(1)" in s for s in e.suggestions)
    assert m(torch.zeros(2, 1, 64, 64)).shape == (2, 10)


def test_linear_conv1d_embedding_flatten() -> None:
    """Linear, Conv1d, Embedding and Flatten state their inputs and outputs."""
    lin = guard(nn.Linear(3, 2))
    lin(torch.zeros(4, 7, 3))
    assert _err(lin, torch.zeros(4, 5)).dim == "features"
    conv = guard(nn.Conv1d(3, 8, 2))
    conv(torch.zeros(2, 3, 10))
    conv(torch.zeros(3, 10))
    assert _err(conv, torch.zeros(2, 10, 3)).dim == "channels"
    emb = guard(nn.Embedding(10, 4))
    emb(torch.zeros(2, 5, dtype=torch.long))
    assert _err(emb, torch.zeros(2, 5)).violations[0].kind == "dtype"
    for start_dim in (1, 2):  # the contract's verdict equals torch's, rank by rank
        flat = guard(nn.Flatten(start_dim=start_dim))
        for rank in (1, 2, 3):
            x = torch.zeros((2,) * rank)
            try:
                nn.Flatten(start_dim=start_dim)(x)
                torch_ok = True
            except (RuntimeError, IndexError):
                torch_ok = False
            if torch_ok:
                flat(x)
            else:
                with pytest.raises(ShapeContractError, match="at least"):
                    flat(x)


class Regressor(nn.Module):
    def __init__(self, features: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x: Any) -> Any:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_custom_module_from_declared_input_shape() -> None:
    """A custom module is propagated on fake tensors from input_shape: rows and output."""
    c = contract_of(Regressor(), input_shape=(None, 24, 3))
    assert str(c) == "(batch, 24, 3) -> lstm -> (batch, 24, 16) -> head -> (batch, 1)"
    assert [d.label or d.name for d in c.outputs()[0].spec.dims] == ["batch", "units"]


def test_custom_module_without_input_shape_uses_first_submodule() -> None:
    """Without input_shape, the first known submodule states the input (said in a note)."""
    m = Regressor()
    c = contract_of(m)
    assert "first submodule 'lstm'" in " ".join(c.notes)
    guard(m)
    assert _err(m, torch.zeros(4, 24, 2)).dim == "features"
    unguard(m)
    assert not m._forward_pre_hooks and not m._forward_hooks


def test_framework_level_matches_torch() -> None:
    """level='framework': what torch runs passes; what torch rejects fails with torch's reason."""
    m = guard(nn.LSTM(3, 8), level="framework")
    m(torch.zeros(100, 24, 3))
    e = _err(m, torch.zeros(100, 24, 4))
    assert any("PyTorch rejects it" in n for n in e.notes)


def test_guard_keeps_data_untouched() -> None:
    """A guarded module sees the very tensor it was given and returns its own output."""
    seen = []

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            seen.append(x)
            return self.lin(x)

    m = guard(Probe())  # deriving the contract ran forward once, on a fake tensor
    x = torch.zeros(4, 3)
    y = m(x)
    assert seen[-1] is x
    assert y.shape == (4, 2)


def test_user_subclass_of_an_rnn_is_recognised() -> None:
    """Issue 8.4: a user's subclass of nn.LSTM states the LSTM contract (looked up on the MRO);
    an unrelated class that is merely named LSTM does not."""
    class MyLSTM(nn.LSTM):
        pass

    c = contract_of(MyLSTM(3, 8, batch_first=True))
    assert [s.name for s in c.slots] == ["input", "hx", "output"]
    with pytest.raises(ShapeContractError) as info:
        c.check(torch.zeros(2, 5, 4))
    assert info.value.dim == "features" and info.value.origin.attribute == "input_size"

    class LSTM(nn.Module):  # a user's own module with a familiar name
        def forward(self, x: Any) -> Any:
            return x

    own = contract_of(LSTM())  # not taken for torch's LSTM: torch itself is asked
    assert [s.kind for s in own.slots] == ["hint"] and not own.complete
    assert "PyTorch itself is asked" in own.notes[0]


def test_module_table_rows_are_all_tested() -> None:
    """Every kind in the torch module table has a test module in this file's list."""
    from shapecontract.frameworks.torch import MODULES, rule_of

    tested = [nn.LSTM(1, 1), nn.GRU(1, 1), nn.RNN(1, 1), nn.Linear(1, 1), nn.Conv1d(1, 1, 1),
              nn.Conv2d(1, 1, 1), nn.Embedding(2, 1), nn.Flatten(), nn.Sequential(), nn.ReLU(),
              nn.MSELoss()]  # every loss row is in tests/test_losses.py
    assert {rule_of(m).kind for m in tested} == {r.kind for r in MODULES.values()}  # type: ignore[union-attr]


def test_propagated_output_names_sizes_derived_from_open_dims() -> None:
    """A conv stack's output height/width follow the input's: they are named, not the fake
    propagation's stand-in arithmetic (the old contract said `(batch, 8, 3997, 4999)`)."""
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3))
    c = contract_of(m)
    out = c.outputs()[0].spec
    assert [getattr(d, "label", None) or d.name for d in out.dims] == [
        "batch", "channels", "out_height", "out_width"]
    x = torch.zeros(2, 1, 16, 16)
    c.check_outputs((x,), m(x))
    with pytest.raises(ShapeContractError):
        c.check_outputs((x,), torch.zeros(2, 7, 12, 12))


def test_sequential_starting_with_flatten_is_not_given_the_linears_input() -> None:
    """nn.Sequential(Flatten, Linear(12, 2)) takes (5, 3, 4): its input contract is Flatten's,
    not the Linear's `(*batch, 12)` (which rejected what torch runs)."""
    s = guard(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)))
    assert s(torch.zeros(5, 3, 4)).shape == (5, 2)


def test_packed_sequence_into_a_guarded_lstm() -> None:
    """A PackedSequence (a valid RNN input) passes; its features are still checked."""
    from torch.nn.utils.rnn import pack_padded_sequence

    lstm = guard(nn.LSTM(3, 5, batch_first=True))
    lstm(pack_padded_sequence(torch.zeros(2, 4, 3), [4, 2], batch_first=True))
    with pytest.raises(ShapeContractError) as info:
        lstm(pack_padded_sequence(torch.zeros(2, 4, 2), [4, 2], batch_first=True))
    assert info.value.dim == "features"


def test_guarded_module_called_without_arguments_gets_torchs_own_error() -> None:
    """`lin()` reaches torch, which names the missing argument (not our generated checker)."""
    lin = guard(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="forward"):
        lin()


def test_advice_is_a_hint_not_a_fix() -> None:
    """The batch_first advice is shown as a hint: it is not a fix that makes this call pass."""
    e = _err(guard(nn.LSTM(1, 50)), torch.zeros(4, 8, 3))
    text = e.render()
    assert "hint: nn.LSTM has batch_first=False" in text
    assert all(f.kind != "advice" for f in e.suggestions if "fix: " + f in text)


def test_note_never_claims_torch_would_accept_a_list() -> None:
    """A list into a guarded Linear is rejected without a false 'would have accepted' note."""
    e = _err(guard(nn.Linear(3, 2)), [[0.0, 0.0, 0.0]])
    assert not any("would have accepted" in n for n in e.notes)


def test_guard_takes_input_shape_for_a_custom_module() -> None:
    """Issue 9: `guard(m, input_shape=...)` declares a custom module's input as contract_of does."""
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(x) * 2

    m = guard(Net(), input_shape=(None, 5, 3))
    m(torch.zeros(4, 5, 3))
    with pytest.raises(ShapeContractError) as info:
        m(torch.zeros(4, 6, 3))
    assert info.value.expected == 5


def test_check_and_guard_agree_on_a_packed_sequence() -> None:
    """One verdict: `contract_of(lstm).check(packed)` accepts what the guard accepts, and both
    catch 2 features for 3."""
    from torch.nn.utils.rnn import pack_padded_sequence

    good = pack_padded_sequence(torch.zeros(2, 4, 3), [4, 2], batch_first=True)
    bad = pack_padded_sequence(torch.zeros(2, 4, 2), [4, 2], batch_first=True)
    c = contract_of(nn.LSTM(3, 8, batch_first=True))
    g = guard(nn.LSTM(3, 8, batch_first=True))
    c.check(good)
    g(good)
    assert _err(c.check, bad).dim == _err(g, bad).dim == "features"


def test_contract_of_a_freshly_guarded_module_lists_each_layer_once() -> None:
    """The first contract_of after guard() listed the chain twice: propagating shapes called
    the module with its guard, whose first check derived the contract again inside that run."""
    from torch import nn

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 50, batch_first=True)
            self.fc = nn.Linear(50, 1)

        def forward(self, x: Any) -> Any:
            o, _ = self.lstm(x)
            return self.fc(o[:, -1])

    plain = str(contract_of(M()))
    m = guard(M())
    assert str(contract_of(m)) == plain
    assert [r.name for r in contract_of(m).layers] == ["lstm", "fc"]


def test_input_shape_with_batch_first_on_a_time_major_lstm_is_refused_with_a_valid_fix() -> None:
    """The seed bug stated outright: input_shape=(None, 24, 3) (batch open on axis 0) on a
    model whose LSTM has batch_first=False gave the contract (timesteps, 24, 3) -- batch fixed
    at 24 -- and guarded training on (64, 24, 3) ran silently. Now refused before any data, and
    the fix (batch_first=True), applied, holds for that data with every axis where it was."""
    import torch
    from torch import nn

    class M(nn.Module):
        def __init__(self, lstm: nn.LSTM) -> None:
            super().__init__()
            self.lstm = lstm
            self.fc = nn.Linear(50, 1)

        def forward(self, x: Any) -> Any:
            o, _ = self.lstm(x)
            return self.fc(o[:, -1])

    with pytest.raises(ShapeContractError) as e:
        guard(M(nn.LSTM(3, 50)), input_shape=(None, 24, 3))
    v = e.value.violations[0]
    assert v.location == ("input_shape",) and "batch_first=False" in str(e.value)
    fix = v.suggestions[0].code
    assert fix == "nn.LSTM(3, 50, batch_first=True)"
    op = v.suggestions[0].op  # as data: the layer's setting to change
    assert (op.kind, op.setting, op.value) == ("LSTM", "batch_first", True)
    fixed = guard(M(eval(fix, {"nn": nn})), input_shape=(None, 24, 3))
    assert tuple(fixed(torch.zeros(64, 24, 3)).shape) == (64, 1)
    with pytest.raises(ShapeContractError):  # and the declared 24 steps are enforced
        fixed(torch.zeros(64, 48, 3))
    # a time-major model declared time-major is not refused
    assert str(contract_of(M(nn.LSTM(3, 50)), input_shape=(24, None, 3))).startswith("(24, batch")
