"""Shared fixtures: one numpy expectation, round-tripped through every backend."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

# `make test` is reproducible: the property tests' bounded slice draws the same examples on
# every run (a failure seen once is seen again). `make fuzz` (SHAPECONTRACT_FUZZ_EXAMPLES set)
# explores new examples on every run, and so does SHAPECONTRACT_HYPOTHESIS=explore.
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("SHAPECONTRACT_FUZZ_EXAMPLES")
                      or os.environ.get("SHAPECONTRACT_HYPOTHESIS") == "explore"
                      else "reproducible")


def _numpy(a: np.ndarray) -> Any:
    return a


def _torch(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _tf(a: np.ndarray) -> Any:
    import tensorflow as tf

    return tf.constant(a)


BACKENDS: dict[str, Callable[[np.ndarray], Any]] = {
    "numpy": _numpy,
    "torch": _torch,
    "tensorflow": _tf,
}


@pytest.fixture(params=list(BACKENDS))
def xp(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Make an array of this backend: xp(shape, dtype="float32")."""
    conv = BACKENDS[request.param]

    def make(shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return conv(np.zeros(shape, dtype=dtype))

    make.name = request.param  # type: ignore[attr-defined]
    return make


@pytest.fixture(autouse=True)
def _raise_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in the default mode, whatever the environment says."""
    monkeypatch.delenv("SHAPECONTRACT_MODE", raising=False)
    from shapecontract import _config

    monkeypatch.setattr(_config, "_global_mode", None)
