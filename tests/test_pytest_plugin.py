"""The pytest plugin, run by pytester in real pytest subprocesses: modes, markers, coverage."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shapecontract import Array, Float, _coverage, contract

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """`-p shapecontract.pytest_plugin` unless the installed entry point already loads it."""
    eps = importlib.metadata.entry_points(group="pytest11")
    if any(ep.value == "shapecontract.pytest_plugin" for ep in eps):
        return []
    return ["-p", "shapecontract.pytest_plugin"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", *args)


BAD_CALL = '''
import numpy as np
import pytest
import shapecontract
from shapecontract import Array, Float, ShapeContractError, contract

@contract
def f(x: Float[Array, "b t"]) -> None:
    return None

def test_bad_call_raises():
    with pytest.raises(ShapeContractError):
        f(np.zeros(3))
'''


def test_option_forces_raise_over_env_off(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SHAPECONTRACT_MODE=off: the bad call passes silently, unless pytest runs with --shapecontract."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "off")
    pytester.makepyfile(test_bad=BAD_CALL)
    run(pytester).assert_outcomes(failed=1)  # off: no error, pytest.raises fails
    run(pytester, "--shapecontract").assert_outcomes(passed=1)


def test_ini_option_forces_raise(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shapecontract = true` in the ini file does what --shapecontract does."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "off")
    pytester.makeini("[pytest]\nshapecontract = true\n")
    pytester.makepyfile(test_bad=BAD_CALL)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*contract coverage*"])


MARKERS = '''
import warnings
import numpy as np
import pytest
import shapecontract
from shapecontract import Array, Float, ShapeContractError, ShapeContractWarning, contract

@contract
def f(x: Float[Array, "b t"]) -> None:
    return None

@pytest.fixture
def bad_in_fixture():
    f(np.zeros(3))  # fixtures run in the test's mode too

@pytest.mark.shapecontract(mode="off")
def test_off(bad_in_fixture):
    assert shapecontract.get_mode() == "off"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(np.zeros(3))

def test_after_off_session_mode_is_back():
    assert shapecontract.get_mode() == SESSION
    with pytest.raises(ShapeContractError) if SESSION == "raise" else pytest.warns(
            ShapeContractWarning):
        f(np.zeros(3))

@pytest.mark.shapecontract("raise")
def test_raise():
    with pytest.raises(ShapeContractError):
        f(np.zeros(3))

@pytest.mark.shapecontract(mode="warn")
def test_warn():
    with pytest.warns(ShapeContractWarning):
        f(np.zeros(4))
'''


def test_marker_sets_the_mode_of_one_test(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The marker turns checking off (or on, or to warn) for its test only, fixtures included."""
    pytester.makepyfile(test_markers=MARKERS.replace("SESSION", '"raise"'))
    run(pytester, "--shapecontract", "--strict-markers").assert_outcomes(passed=4)  # registered
    # session in warn mode (environment): raise is turned on for one test only
    monkeypatch.setenv("SHAPECONTRACT_MODE", "warn")
    pytester.makepyfile(test_markers=MARKERS.replace("SESSION", '"warn"'))
    run(pytester).assert_outcomes(passed=4)


def test_bad_marker_is_a_clear_error(pytester: pytest.Pytester) -> None:
    """An unknown mode in the marker is an error at the test's setup naming the valid modes."""
    pytester.makepyfile(test_bad_marker='''
        import pytest
        @pytest.mark.shapecontract(mode="loud")
        def test_x():
            pass
    ''')
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*loud*not a shapecontract mode*raise, warn, off*"])


COVERAGE = '''
import numpy as np
import torch
from shapecontract import Array, Float, contract, guard

@contract
def f(x: Float[Array, "b t"]) -> Float[Array, "b"]:
    return x[:, 0]

@contract
def never_called(x: Float[Array, "b"]) -> None:
    return None

class Scaler:
    @contract
    def fit(self, x: Float[Array, "n f"]) -> None:
        return None

def test_calls():
    for _ in range(3):
        f(np.zeros((2, 5)))
    Scaler().fit(np.zeros((4, 2)))

def test_model():
    model = guard(torch.nn.Linear(3, 2))
    for _ in range(2):
        model(torch.zeros(5, 3))

def test_stream():
    assert len(list(guard(iter([np.zeros((2, 3))] * 4), Float[Array, "b 3"]))) == 4
'''


def test_summary_counts_and_json_report(pytester: pytest.Pytester) -> None:
    """The summary and the JSON report count decorated functions, calls, guards and checks run."""
    pytester.makepyfile(test_cov=COVERAGE)
    report = pytester.path / "cov.json"
    result = run(pytester, "--shapecontract", f"--shapecontract-report={report}")
    result.assert_outcomes(passed=3)
    data = json.loads(report.read_text())
    fn = data["functions"]
    assert fn["decorated"] == 3 and fn["called"] == 2
    assert fn["calls"] == {"test_cov.f": 3, "test_cov.never_called": 0, "test_cov.Scaler.fit": 1}
    assert fn["never_called"] == ["test_cov.never_called"]
    assert data["models"] == {"guarded": 1, "names": ["Linear"]}
    assert data["streams"]["guarded"] == 1
    assert data["checks"]["functions"] == 4
    assert data["checks"]["models"] == 2
    assert data["checks"]["streams"] == 4
    assert data["checks"]["total"] == 10 + data["checks"]["other"]
    result.stdout.fnmatch_lines([
        "*= contract coverage =*",
        "decorated functions: 3 (2 called, 1 never called)",
        "  never called: test_cov.never_called",
        "guarded models: 1 (Linear)",
        "guarded streams: 1*",
        "checks run: * (functions 4, models 2, streams 4, other *)",
    ])


def test_report_without_option_keeps_the_mode_and_lists_unchecked(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """--shapecontract-report alone collects coverage in the environment's mode; under
    SHAPECONTRACT_MODE=off a decorated function is reported as not checked."""
    monkeypatch.setenv("SHAPECONTRACT_MODE", "off")
    pytester.makepyfile(test_bad=BAD_CALL)
    report = pytester.path / "cov.json"
    result = run(pytester, f"--shapecontract-report={report}")
    result.assert_outcomes(failed=1)  # still off: the report does not change the mode
    data = json.loads(report.read_text())
    assert data["functions"]["unchecked"] == ["test_bad.f"]
    assert data["functions"]["decorated"] == 0
    result.stdout.fnmatch_lines(["  not checked (mode off when decorated): test_bad.f"])


def test_no_option_no_summary(pytester: pytest.Pytester) -> None:
    """Without the option or the report, the plugin prints nothing and counts nothing."""
    pytester.makepyfile(test_bad=BAD_CALL)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "contract coverage" not in result.stdout.str()


NO_ARRAYS = {"__init__.py": "", "util.py": "def add(a: int, b: int) -> int:\n    return a + b\n"}
ARRAYS = {"__init__.py": "", "core.py": (
    "from shapecontract import Array, Float\n"
    "def first(x: Float[Array, 'b t']) -> Float[Array, 'b']:\n    return x[:, 0]\n")}


@pytest.mark.parametrize("case", ["no_array_functions", "imported_before", "works"])
def test_hook_that_did_nothing_shows_zero(pytester: pytest.Pytester, case: str) -> None:
    """An import hook on a package with no array functions, or installed after the package was
    imported, shows 0 hooked functions and why; a working one shows its count."""
    files = NO_ARRAYS if case == "no_array_functions" else ARRAYS
    pkg = pytester.mkpydir("hookpkg")
    for name, src in files.items():
        (pkg / name).write_text(src)
    module = "util" if case == "no_array_functions" else "core"
    before = f"import hookpkg.{module}\n" if case == "imported_before" else ""
    pytester.makeconftest(
        f"{before}import shapecontract\nshapecontract.install_import_hook('hookpkg')\n")
    pytester.makepyfile(test_use=f"import hookpkg.{module}\ndef test_it():\n    pass\n")
    report = pytester.path / "cov.json"
    result = run(pytester, "--shapecontract", f"--shapecontract-report={report}",
                 "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=1)
    (hook,) = json.loads(report.read_text())["import_hooks"]
    if case == "works":
        assert hook["hooked"] == ["hookpkg.core.first"]
        result.stdout.fnmatch_lines(["import hook on hookpkg: 1 function hooked in 2 modules"])
        return
    assert hook["hooked"] == []
    why = ("no module imported through it had array-annotated functions"
           if case == "no_array_functions" else "hookpkg, hookpkg.core was imported before")
    result.stdout.fnmatch_lines([f"import hook on hookpkg: 0 functions hooked*the hook did "
                                 f"nothing: {why}*"])


def test_counting_only_inside_a_session() -> None:
    """Outside a coverage session a checker runs its plain code (no counter); inside, it counts,
    and stop() restores the plain code object itself."""
    @contract
    def g(x: Float[Array, "b"]) -> None:
        return None

    plain = g.__code__
    assert _coverage.COUNTER not in plain.co_names
    session = _coverage.start()
    try:
        assert _coverage.COUNTER in g.__code__.co_names
        for _ in range(5):
            g(np.zeros(2))
        calls = _coverage.summary(session)["functions"]["calls"]
    finally:
        _coverage.stop()
    assert calls[f"{__name__}.test_counting_only_inside_a_session.<locals>.g"] == 5
    assert g.__code__ is plain
    g(np.zeros(2))  # still checks after the session
    with pytest.raises(ValueError):
        g(np.zeros((2, 2)))


def test_counting_code_keeps_line_numbers() -> None:
    """The counting twin reports errors at the same generated lines as the plain code."""
    @contract
    def h(x: Float[Array, "b"]) -> None:
        return None

    def line_of_failure() -> Any:
        try:
            h(np.zeros((2, 2)))
        except ValueError as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_name != "h":
                tb = tb.tb_next
            assert tb is not None
            return tb.tb_lineno
        raise AssertionError("no error")

    plain = line_of_failure()
    _coverage.start()
    try:
        counting = line_of_failure()
    finally:
        _coverage.stop()
    assert counting == plain


def test_session_keeps_no_checker_alive() -> None:
    """A decorated function that dies during a session is freed, and still counted."""
    import gc
    import weakref

    session = _coverage.start()
    try:
        @contract
        def short_lived(x: Float[Array, "b"]) -> None:
            return None

        short_lived(np.zeros(3))
        ref = weakref.ref(short_lived)
        del short_lived
        gc.collect()
        assert ref() is None
        calls = _coverage.summary(session)["functions"]["calls"]
    finally:
        _coverage.stop()
    assert calls[f"{__name__}.test_session_keeps_no_checker_alive.<locals>.short_lived"] == 1


def test_nested_sessions_share_and_the_outer_stop_ends() -> None:
    """A session started inside another (pytest in-process) shares it; the inner stop does not
    stop the outer counting."""
    @contract
    def k(x: Float[Array, "b"]) -> None:
        return None

    outer = _coverage.start()
    try:
        inner = _coverage.start()
        assert inner is outer
        _coverage.stop()
        assert _coverage.active() and _coverage.COUNTER in k.__code__.co_names
        k(np.zeros(1))
    finally:
        _coverage.stop()
    assert not _coverage.active() and _coverage.COUNTER not in k.__code__.co_names
    assert _coverage.summary(outer)["functions"]["calls"][
        f"{__name__}.test_nested_sessions_share_and_the_outer_stop_ends.<locals>.k"] == 1


SILENCED = '''
import numpy as np
import pytest
from shapecontract import Array, Float, contract

@contract
def scale(x: Float[Array, "n 3"]) -> None:
    return None

@pytest.mark.shapecontract(mode="off")
def test_off():
    scale(np.zeros((50, 3, 1)))  # breaks the contract: let through

def test_good():
    scale(np.zeros((5, 3)))
'''


def test_violations_let_through_by_mode_off_are_reported(pytester: pytest.Pytester) -> None:
    """A call that breaks its contract in a test marked mode="off" ran a check, and its
    violation was let through: the summary says so (before: counted as a check and nothing
    more, so a suite marked off everywhere looked fully covered)."""
    pytester.makepyfile(test_s=SILENCED)
    report = pytester.path / "r.json"
    result = run(pytester, "--shapecontract", f"--shapecontract-report={report}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["violations let through by mode off: 1 (scale 1)"])
    data = json.loads(report.read_text())
    assert data["silenced"] == {"scale": 1}
    assert data["functions"]["calls"]["test_s.scale"] == 2


def test_pytest_fail_under_fails_a_session_whose_contracts_were_not_called(
        tmp_path: Path) -> None:
    """--shapecontract-fail-under=100 fails a passing session in which a decorated function was
    never called, and passes once every one is."""
    (tmp_path / "test_cov.py").write_text(textwrap.dedent("""
        import numpy as np
        from shapecontract import Array, Float, contract

        @contract
        def used(x: Float[Array, "b 3"]) -> None: ...

        @contract
        def unused(x: Float[Array, "b 3"]) -> None: ...

        def test_it():
            used(np.zeros((2, 3)))
    """))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--shapecontract-fail-under=100", "test_cov.py"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "decorated functions called: 50.0% (required 100%): FAIL" in r.stdout
    r = subprocess.run([*cmd[:-2], "--shapecontract-fail-under=50", "test_cov.py"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
