"""The public corpus of real shape bugs (issue 21, part 3): the bounded slice of `make scoreboard`.

A few cases of each framework from `tests/bugs` (threads from public Q&A sites, re-created on
Keras 3 and PyTorch): each bug reproduces unguarded as declared, the guard catches it (or
`shapecontract.explain` explains the framework's error), the engine proposes the accepted
answer's fix, and the corrected program passes guarded (no false alarm). Known engine misses are
xfail(strict=True): they flip to failures the day the engine learns them, to be unmarked.
`SHAPECONTRACT_SCOREBOARD=all` runs every case here (`make scoreboard` prints the figures).
"""

from __future__ import annotations

import os
from functools import cache

import pytest

from .bugs import Case, Result, all_cases, score, select

SLICE = [
    # Keras 3 (TensorFlow): a build error explained, target and input errors caught, two misses
    "keras_stacked_lstm", "keras_three_class_labels", "keras_predict_column_vector",
    "keras_second_lstm_returns_sequences", "keras_input_shape_with_samples",
    "keras_conv_dense_without_flatten",
    # PyTorch
    "torch_linear_in_features_after_conv", "torch_cross_entropy_one_hot_targets",
    "torch_conv1d_channels_last", "torch_dataloader_variable_length", "torch_mse_flat_target",
    "torch_bilstm_batch_first_h0", "torch_cnn_linear_without_flatten",
    "torch_sequence_cross_entropy",
    # one of each mechanism added with the larger corpus: a model built for the other axis
    # order, a view folding the batch, a last smaller batch, a loss repaired in the model that
    # made its input, a collate of images of different sizes, ids beyond an embedding, and a
    # known miss
    "keras_theano_input_shape_maxpool", "torch_lenet_3x3_view", "torch_lstm_hidden_last_batch",
    "torch_chexnet_n_classes", "torch_resize_shorter_side_collate", "torch_embedding_num_embeddings",
    "sfdata_47842931",
]

CASES = all_cases() if os.environ.get("SHAPECONTRACT_SCOREBOARD") == "all" else select(
    all_cases(), SLICE)


@cache
def _scored(name: str) -> Result:
    (case,) = select(all_cases(), [name])
    return score(case)  # strict: a broken control or a bug that does not reproduce raises


def _param(case: Case, reason: str | None) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case.name, id=case.name, marks=marks)


def test_the_corpus_is_well_formed() -> None:
    cases = all_cases()
    assert len(cases) >= 150
    for c in cases:
        assert c.source.startswith(("http://", "https://")), c.name
        assert c.expect, c.name
    assert {c.framework for c in cases} == {"keras", "torch"}


@pytest.mark.parametrize("name", [pytest.param(c.name, id=c.name) for c in CASES])
def test_control_passes_guarded(name: str) -> None:
    r = _scored(name)
    assert not r.false_alarm, r.control_error


@pytest.mark.parametrize("name", [_param(c, c.known_miss) for c in CASES])
def test_bug_is_caught_or_explained(name: str) -> None:
    r = _scored(name)
    assert r.found, (r.outcome, r.guarded_error)


@pytest.mark.parametrize("name", [_param(c, c.no_right_fix) for c in CASES])
def test_the_answers_fix_is_proposed(name: str) -> None:
    r = _scored(name)
    assert r.right_fix, r.suggestions
