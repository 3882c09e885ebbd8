"""Modes raise / warn / off, from the environment or config(), scoped per context."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import shapecontract
from shapecontract import (
    Array,
    Float,
    ShapeContractError,
    ShapeContractWarning,
    config,
    contract,
    scoped,
)


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
    with scoped(mode="warn"), pytest.warns(ShapeContractWarning, match="expected 2, got 3"):
        assert g(x) is x
    with pytest.raises(ShapeContractError):
        g(x)


def test_off_at_call_time_is_silent() -> None:
    """mode=off at call time: the decorated function stays silent."""
    g = contract(f)
    with scoped(mode="off"):
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
    """A `with scoped(...)` in one thread leaves other threads in their own mode."""
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
    with scoped(mode="off"):
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


def test_scoped_block_in_one_thread_silences_nothing_in_another() -> None:
    """Issue 8.6: a thread looping `with scoped(mode="off")` never silences another thread."""
    g = contract(f)
    stop = threading.Event()

    def toggler() -> None:
        while not stop.is_set():
            with scoped(mode="off"):
                pass

    t = threading.Thread(target=toggler)
    t.start()
    silenced = 0
    try:
        for _ in range(20000):
            try:
                g(np.zeros((1, 1)))
                silenced += 1
            except ShapeContractError:
                pass
    finally:
        stop.set()
        t.join()
    assert silenced == 0
    assert shapecontract.get_mode() == "raise"  # the process-wide mode was never touched


def test_with_config_is_refused_and_changes_nothing() -> None:
    """`with config(...)` cannot be scoped (the call runs first), so it raises and undoes itself."""
    with pytest.raises(TypeError, match="scoped"):
        with config(mode="off"):
            pass  # pragma: no cover
    assert shapecontract.get_mode() == "raise"


def test_modes_are_case_insensitive_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11.5 in passing: `config(mode="RAISE")` is accepted like `SHAPECONTRACT_MODE=OFF`."""
    config(mode="WARN")
    try:
        assert shapecontract.get_mode() == "warn"
    finally:
        shapecontract.reset_mode()
    with scoped(mode=" Off "):
        assert shapecontract.get_mode() == "off"


def test_reset_mode_restores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`reset_mode()` forgets the process-wide setting: the environment rules again."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "warn")
    config(mode="off")
    assert shapecontract.get_mode() == "off"
    shapecontract.reset_mode()
    assert shapecontract.get_mode() == "warn"


def test_warn_mode_warns_once_per_bad_call_at_the_callers_line() -> None:
    """Issue 8.7: one bad call of a function with a return annotation warns once, at the
    caller's own line (not `sys:1`, not inside shapecontract)."""
    @contract
    def h(x: Float[Array, "n 2"]) -> Float[Array, "n 2"]:
        return x

    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        h(np.zeros((2, 3)))
    assert len(w) == 1
    assert w[0].filename == __file__ and w[0].lineno == line


def test_warn_mode_one_warning_holds_arguments_and_return() -> None:
    """Bad arguments and a bad return in one call: one warning that names both."""
    @contract
    def h(x: Float[Array, "n 2"]) -> Float[Array, "n 3"]:
        return x

    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        h(np.zeros((2, 4)))
    assert len(w) == 1
    assert "argument x" in str(w[0].message) and "  return" in str(w[0].message)
