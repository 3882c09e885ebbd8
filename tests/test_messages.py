"""Errors as data: fields, .errors(), rendering, and fixes that are valid."""

from __future__ import annotations

import math
import pickle
import re
from typing import Any

import numpy as np
import pytest

from shapecontract import Array, Float, Int, ShapeContractError, Violation, contract


@contract
def lstm_in(X: Float[Array, "batch timesteps=24 features=3"]) -> None: ...


@contract
def grey(images: Float[Array, "batch 64 64 channels=1"]) -> None: ...


@contract
def seq(x: Float[Array, "batch time feat"], ref: Float[Array, "batch time feat"]) -> None: ...


def _err(fn: Any, *args: Any) -> ShapeContractError:
    with pytest.raises(ShapeContractError) as info:
        fn(*args)
    return info.value


def test_error_is_value_and_type_error() -> None:
    """Code catching ValueError or TypeError keeps working."""
    e = _err(lstm_in, np.zeros((2, 24, 1)))
    assert isinstance(e, ValueError) and isinstance(e, TypeError)


def test_fields_name_argument_axis_dim_expected_origin() -> None:
    """The first violation's fields say where, what, and where the expectation came from."""
    e = _err(lstm_in, np.zeros((100, 24, 1)))
    assert (e.function, e.slot, e.axis, e.dim, e.expected, e.actual) == (
        "lstm_in", "argument X", 2, "features", 3, 1)
    assert e.origin == "fixed in the annotation"
    assert e.bindings == {"batch": 100}
    text = str(e)
    assert text.splitlines()[0] == "lstm_in: 1 contract violation"
    assert "argument X, axis 2 (features)" in text
    assert "got shape (100, 24, 1)" in text and "contract (batch, 24, 3)" in text
    assert "A reshape cannot fix this (2400 elements vs 7200)" in text


def test_errors_list_is_structured_and_picklable() -> None:
    """.errors() gives one dict per violation; the error survives pickling (multiprocessing)."""
    e = _err(seq, np.zeros((2, 3, 4)), np.zeros((2, 4, 3)))
    errs = e.errors()
    assert [d["axis"] for d in errs] == [1, 2]
    assert all(d["function"] == "seq" and d["bindings"] == e.bindings for d in errs)
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e)


def test_missing_trailing_axis_suggests_expand_dims() -> None:
    """A missing size-1 trailing axis suggests x[..., None], never a count-changing reshape."""
    e = _err(grey, np.zeros((5, 64, 64)))
    assert (e.axis, e.dim) == (3, "channels")
    assert any("images[..., None]" in s and "np.expand_dims(images, -1)" in s for s in e.suggestions)


def test_missing_axis_idiom_follows_the_framework() -> None:
    """The fix is written in the array's own framework."""
    import tensorflow as tf
    import torch

    e = _err(grey, torch.zeros((5, 64, 64)))
    assert any("images.unsqueeze(-1)" in s for s in e.suggestions)
    e = _err(grey, tf.zeros((5, 64, 64)))
    assert any("tf.expand_dims(images, -1)" in s for s in e.suggestions)


def test_extra_size_one_axis_suggests_squeeze() -> None:
    """An extra axis of size 1 suggests dropping that axis."""
    e = _err(lstm_in, np.zeros((7, 24, 1, 3)))
    assert any("np.squeeze(X, axis=2)" in s for s in e.suggestions)


def test_swapped_axes_suggest_the_permutation() -> None:
    """Time-major data fed where batch-major is bound suggests the transpose that fixes it."""
    import torch

    e = _err(seq, torch.zeros(8, 24, 3), torch.zeros(24, 8, 3))
    fixes = " ".join(e.suggestions)
    assert "ref.transpose(0, 1)" in fixes
    e = _err(seq, np.zeros((8, 24, 3)), np.zeros((3, 8, 24)))
    assert "np.transpose(ref, (1, 2, 0))" in " ".join(e.suggestions)


def test_reshape_only_when_element_count_matches() -> None:
    """Every suggested reshape keeps the element count; otherwise the fix says it cannot."""
    @contract
    def f(x: Float[Array, "a=4 b=6"]) -> None: ...

    e = _err(f, np.zeros((3, 8)))  # 24 elements, not a permutation
    (fix,) = e.suggestions
    m = re.search(r"reshape\((\d+), (\d+)\)", fix)
    assert m and math.prod(map(int, m.groups())) == 24
    e = _err(f, np.zeros((5, 6)))
    assert "reshape" not in " ".join(e.suggestions).replace("A reshape cannot", "")


def test_every_suggested_reshape_keeps_the_count() -> None:
    """Over several bad shapes, every suggested reshape keeps the element count, and applied
    to the data it satisfies the contract (some of these shapes do get a reshape)."""
    reshapes = 0
    for shape in [(2, 24, 1), (2, 48, 3), (2, 24), (2, 3, 24), (24, 3), (1, 2, 24, 3),
                  (2, 12, 6), (1, 72, 1), (3, 8, 9)]:
        e = _err(lstm_in, np.zeros(shape))
        n = math.prod(shape)
        for fix in e.suggestions:
            if fix.kind != "reshape":
                continue
            reshapes += 1
            m = re.fullmatch(r"X\.reshape\(([\d, ]+)\)", fix.code or "")
            assert m, fix.code
            target = tuple(int(v) for v in m.group(1).split(",") if v.strip())
            assert math.prod(target) == n
            lstm_in(np.zeros(shape).reshape(target))  # the fix, applied, holds
    assert reshapes >= 3


def test_violation_records_render_location() -> None:
    """A violation's location is a tuple; `slot` and `location_text()` render it."""
    v = Violation(("argument", "x"), "dim", "m", axis=1, dim="t")
    assert v.slot == "argument x"
    assert v.location_text() == "argument x, axis 1 (t)"
    assert Violation(("element", 137, 0), "dim", "m").slot == "element 137[0]"
    assert Violation(("return", ("model output", 0)), "dim", "m").slot == "return (model output 0)"


def test_multiple_violations_are_all_reported() -> None:
    """Every broken slot is reported, not just the first."""
    @contract
    def f(a: Float[Array, "n"], b: Float[Array, "n"], c: Float[Array, "n 2"]) -> None: ...

    e = _err(f, np.zeros(2), np.zeros(3), np.zeros((4, 3)))
    assert [v.slot for v in e.violations] == ["argument b", "argument c", "argument c"]
    assert e.render().splitlines()[0] == "f: 3 contract violations"


def test_errors_are_structured_data() -> None:
    """Issue 8.5: locations are tuples, kinds a closed set, origins and fixes carry data that
    no one has to parse out of the message."""
    from shapecontract import Fix, Origin
    from shapecontract._errors import FIX_KINDS, KINDS

    @contract
    def univariate(X: Float[Array, "batch timesteps 1"]) -> None: ...

    e = _err(univariate, np.zeros((2, 24)))
    v = e.violations[0]
    assert v.location == ("argument", "X") and v.kind in KINDS
    assert isinstance(v.suggestions[0], Fix) and v.suggestions[0].kind == "insert_axis"
    assert v.suggestions[0].code == "X[..., None]" and v.suggestions[0].kind in FIX_KINDS
    univariate(np.zeros((2, 24))[..., None])  # the fix, applied, holds
    e = _err(lstm_in, np.zeros((2, 24, 4)))
    assert isinstance(e.origin, Origin) and e.origin.source == "annotation"
    d = e.errors()[0]
    assert d["location"] == ("argument", "X") and d["origin_info"]["source"] == "annotation"
    with pytest.raises(ValueError, match="not one of"):
        Violation(("argument", "x"), "oops", "m")


def test_nhwc_into_a_channels_first_conv_gets_the_full_permutation() -> None:
    """Issue 9: the layout fix keeps height before width: permute(0, 3, 1, 2), not transpose(1, 3);
    applied, it satisfies the contract with every axis keeping its meaning."""
    import torch
    from torch import nn

    from shapecontract import guard

    conv = guard(nn.Conv2d(3, 8, 3))
    x = torch.zeros(2, 28, 32, 3)  # NHWC, height 28, width 32
    e = _err(conv, x)
    fix = e.suggestions[0]
    assert fix.kind == "permute" and fix.code == "input.permute(0, 3, 1, 2)"
    assert "width" not in e.bindings and "height" not in e.bindings  # read from wrong axes
    fixed = x.permute(0, 3, 1, 2)
    assert tuple(fixed.shape) == (2, 3, 28, 32)
    conv(fixed)


def test_a_flat_batch_gets_the_reshape_that_keeps_its_count() -> None:
    """Issue 9: (3,) for (batch, 3, 1) and (4, 784) for (batch, 28, 28, 1) get a reshape with -1
    on the batch axis; applied, each holds."""
    @contract
    def seq(X: Float[Array, "batch 3 1"]) -> None: ...

    @contract
    def img(X: Float[Array, "batch 28 28 1"]) -> None: ...

    for fn, x, want in ((seq, np.array([70.0, 80.0, 90.0]), (1, 3, 1)),
                        (img, np.zeros((4, 784)), (4, 28, 28, 1))):
        fix = _err(fn, x).suggestions[0]
        assert fix.kind == "reshape"
        target = tuple(int(v) for v in re.findall(r"-?\d+", fix.code or ""))
        assert x.reshape(target).shape == want
        fn(x.reshape(target))


def test_ragged_sequences_get_the_padding_fix() -> None:
    """Issue 9: un-padded token lists (a list, or an object array) get pad_sequences, not a cast
    or np.asarray that would raise; the padded value holds."""
    @contract
    def embed(tokens: Int[Array, "batch length"]) -> None: ...

    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9]]
    for x in (seqs, np.array(seqs, dtype=object)):
        fix = _err(embed, x).suggestions[0]
        assert fix.kind == "convert" and "pad_sequences" in fix
    padded = np.zeros((3, 4), np.int64)
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = s
    embed(padded)


def test_flattened_input_with_every_size_known_gets_the_reshape_that_fixes_it() -> None:
    """x (56, 72) for (batch, 24, 3) with y giving batch=56: the fix said 'A reshape cannot fix
    this (4032 elements vs 4032)'. Now the reshape, applied, makes the call hold."""
    @contract
    def f(x: Float[Array, "batch 24 3"], y: Float[Array, "batch 1"]) -> None:
        return None

    x, y = np.zeros((56, 72)), np.zeros((56, 1))
    with pytest.raises(ShapeContractError) as e:
        f(x, y)
    (fix,) = e.value.violations[0].suggestions
    assert fix.kind == "reshape" and fix.code == "x.reshape(56, 24, 3)"
    f(eval(fix.code, {"x": x}), y)
