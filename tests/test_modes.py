"""Modes raise / warn / off, from the environment or config(), scoped per context."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import shapecontract
from shapecontract import Array, Float, ShapeContractError, ShapeContractWarning, config, contract


def f(x: Float[Array, "n 2"]) -> Float[Array, "n 2"]:
    return x


def test_off_at_decoration_returns_the_function_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """mode=off when decorating: the very same function object, zero overhead."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "off")
    assert contract(f) is f


def test_invalid_mode_lists_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid SHAPECONTRACT_MODE is an error naming raise, warn and off."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "loud")
    with pytest.raises(ValueError, match="raise, warn, off"):
        contract(f)
    with pytest.raises(ValueError, match="raise, warn, off"):
        config(mode="silent")


def test_warn_passes_data_through() -> None:
    """mode=warn: a ShapeContractWarning, and the call returns the function's result."""
    g = contract(f)
    x = np.zeros((3, 3))
    with config(mode="warn"), pytest.warns(ShapeContractWarning, match="expected 2, got 3"):
        assert g(x) is x
    with pytest.raises(ShapeContractError):
        g(x)


def test_off_at_call_time_is_silent() -> None:
    """mode=off at call time: the decorated function stays silent."""
    g = contract(f)
    with config(mode="off"):
        assert g(np.zeros((3, 3))).shape == (3, 3)


def test_config_call_sets_process_mode_and_none_restores() -> None:
    """config(mode=...) as a call is process-wide; config(mode=None) clears it."""
    g = contract(f)
    config(mode="warn")
    try:
        assert shapecontract.get_mode() == "warn"
        with pytest.warns(ShapeContractWarning):
            g(np.zeros((1, 1)))
    finally:
        config(mode=None)
    assert shapecontract.get_mode() == "raise"


def test_scoped_mode_does_not_leak_to_other_threads() -> None:
    """A `with config(...)` in one thread leaves other threads in their own mode."""
    g = contract(f)
    seen: list[str] = []
    inside = threading.Event()
    done = threading.Event()

    def other() -> None:
        inside.wait()
        try:
            g(np.zeros((1, 1)))
            seen.append("passed")
        except ShapeContractError:
            seen.append("raised")
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with config(mode="off"):
        inside.set()
        done.wait(10)
    t.join()
    assert seen == ["raised"]


def test_env_var_warn_in_a_fresh_process() -> None:
    """SHAPECONTRACT_MODE=warn in the environment makes a fresh process warn."""
    code = (
        "import warnings, numpy as np\n"
        "from shapecontract import Array, Float, contract\n"
        "@contract\n"
        "def f(x: Float[Array, 'n 2']): return x\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    f(np.zeros((2, 3)))\n"
        "print(w[0].category.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"SHAPECONTRACT_MODE": "warn", "PATH": ""}, check=True)
    assert out.stdout.strip() == "ShapeContractWarning"
