"""The pytest plugin (entry point `pytest11`): raise mode for the session, per-test modes, and
a contract coverage summary.

Design rules:
- Loaded in every pytest run where shapecontract is installed, it does nothing unless asked:
  `--shapecontract` (or the ini option `shapecontract = true`) sets the process-wide mode to
  `raise` before conftest files and test modules are imported, whatever SHAPECONTRACT_MODE
  says, and again before every test (a test's own `config(...)` does not leak into the next).
- `@pytest.mark.shapecontract(mode="off")` (or `"warn"`, `"raise"`, positional too) runs one
  test, its fixtures included, in a `scoped` mode: the thread and tasks of that test only.
- Coverage is collected only with `--shapecontract`, the ini option or
  `--shapecontract-report FILE`: `_coverage.start()` swaps the compiled checkers' code for
  counting twins, `stop()` swaps it back at the end. The summary (terminal, and JSON in FILE)
  names the decorated functions never called, those left unchecked because the mode was off
  when they were decorated, and every import hook with the number of functions it decorated,
  so a hook that did nothing shows as 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from . import _config, _coverage
from ._config import MODES
from ._hook import hooks

__all__ = ["coverage_report", "summary_lines"]

MARKER = "shapecontract"


class _State:
    def __init__(self, forced: bool, collect: bool) -> None:
        self.forced = forced
        self.previous_mode: str | None = None
        self.session: _coverage.Session | None = None
        self.collect = collect
        self.report: dict[str, Any] | None = None


_KEY = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shapecontract", "shape contracts (shapecontract)")
    group.addoption("--shapecontract", action="store_true", default=False,
                    help="check every shape contract in raise mode for this session, whatever "
                         "SHAPECONTRACT_MODE says, and print a contract coverage summary")
    group.addoption("--shapecontract-report", metavar="FILE", default=None,
                    help="write the contract coverage summary to FILE as JSON")
    group.addoption("--shapecontract-fail-under", metavar="PERCENT", type=float, default=None,
                    help="fail the session when fewer than PERCENT of the decorated functions "
                         "were called (as --cov-fail-under does for lines); turns coverage on")
    parser.addini("shapecontract", type="bool", default=False,
                  help="as --shapecontract: raise mode for the session, and coverage")
    parser.addini("shapecontract_explain", type="bool", default=True,
                  help="add shapecontract's explanation of a framework's shape error to the "
                       "report of the test it failed (default true)")


def _start(config: pytest.Config, options: Any) -> None:
    if _KEY in config.stash:
        return
    forced = bool(getattr(options, "shapecontract", False) or config.getini("shapecontract"))
    report = getattr(options, "shapecontract_report", None)
    fail_under = getattr(options, "shapecontract_fail_under", None)
    collect = forced or report is not None or fail_under is not None
    if report is not None and not Path(report).resolve().parent.is_dir():
        # said before any test runs, not as a traceback after all of them
        raise pytest.UsageError(f"--shapecontract-report {report}: the directory "
                                f"{Path(report).resolve().parent} does not exist")
    state = config.stash[_KEY] = _State(forced, collect)
    if forced:
        state.previous_mode = _config._global_mode
        _config.config(mode="raise")
    if collect:
        state.session = _coverage.start()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """Before conftest files import anything: raise mode and coverage are already on."""
    _start(early_config, early_config.known_args_namespace)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(mode): run this test with shapecontract's mode set to mode "
                   f"({', '.join(MODES)}), in this test's thread and tasks only")
    _start(config, config.option)  # when loaded too late for pytest_load_initial_conftests


def _marker_mode(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    if len(marker.args) + len(marker.kwargs) != 1 or set(marker.kwargs) - {"mode"}:
        raise ValueError(f"@pytest.mark.{MARKER} takes one mode: {MARKER}(mode=\"off\"); got "
                         f"args={marker.args!r} kwargs={marker.kwargs!r}")
    mode = marker.kwargs.get("mode", marker.args[0] if marker.args else None)
    return _config._validate(mode, f"@pytest.mark.{MARKER}(mode)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    state = item.config.stash.get(_KEY, None)
    if state is not None and state.forced:
        _config.config(mode="raise")
    try:
        mode = _marker_mode(item)
    except ValueError as e:
        item.stash[_BAD_MARKER] = str(e)
        mode = None
    before = _config.snapshot()  # a block a test leaves entered ends with the test
    if mode is not None:
        _config.push(mode)
    try:
        yield
    finally:
        _config.restore(before)


_BAD_MARKER = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    bad = item.stash.get(_BAD_MARKER, None)
    if bad is not None:
        pytest.fail(bad, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test failing with a framework's shape error that `shapecontract.explain` understands
    gets the explanation as a section of its report (`shapecontract explanation`)."""
    outcome = yield
    report = outcome.get_result()
    excinfo = call.excinfo
    if not report.failed or excinfo is None or not item.config.getini("shapecontract_explain"):
        return
    from .explain import explanation_text

    text = explanation_text(excinfo.value)
    if text is not None:
        report.sections.append(("shapecontract explanation", text))


def coverage_report(session: _coverage.Session) -> dict[str, Any]:
    """The contract coverage of `session` as plain data (what `--shapecontract-report` writes)."""
    data = _coverage.summary(session)
    data["import_hooks"] = [
        {"packages": list(h.packages), "modules": list(h.modules), "hooked": list(h.hooked),
         "skipped": [list(s) for s in h.skipped], "already_imported": list(h.already_imported),
         "opaque": [list(s) for s in h.opaque], "opaque_only": list(h.opaque_only),
         "strict": h.strict}
        for h in hooks()]
    return data


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_KEY, None)
    if state is None or state.session is None:
        return
    state.report = coverage_report(state.session)
    fail_under = session.config.getoption("shapecontract_fail_under")
    if fail_under is not None:
        called = called_percent(state.report)
        state.report["fail_under"] = {"percent": fail_under, "called": called,
                                      "failed": called < fail_under}
        if called < fail_under and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    path = session.config.getoption("shapecontract_report")
    if path:
        try:
            Path(path).write_text(json.dumps(state.report, indent=2) + "\n")
        except OSError as e:
            raise pytest.UsageError(f"--shapecontract-report {path}: cannot be written "
                                    f"({e.strerror or type(e).__name__})") from None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is None or state.report is None:
        return
    tr = terminalreporter
    tr.write_sep("=", "contract coverage")
    for line in summary_lines(state.report):
        tr.write_line(line)


def called_percent(data: dict[str, Any]) -> float:
    """The share of decorated functions called at least once, in percent (100 when none)."""
    f = data["functions"]
    return 100.0 if not f["decorated"] else 100.0 * f["called"] / f["decorated"]


def summary_lines(data: dict[str, Any]) -> list[str]:
    """The terminal summary of a coverage report."""
    f, c = data["functions"], data["checks"]
    lines = [f"decorated functions: {f['decorated']} ({f['called']} called, "
             f"{len(f['never_called'])} never called)"]
    lines += [f"  never called: {name}" for name in f["never_called"]]
    lines += [f"  not checked (mode off when decorated): {name}" for name in f["unchecked"]]
    for kind in ("models", "streams"):
        names = data[kind]["names"]
        lines.append(f"guarded {kind}: {data[kind]['guarded']}"
                     + (f" ({', '.join(names)})" if names else ""))
    lines.append(f"checks run: {c['total']} (functions {c['functions']}, models {c['models']}, "
                 f"streams {c['streams']}, other {c['other']})")
    silenced = data.get("silenced", {})
    if silenced:
        lines.append(f"violations let through by mode off: {sum(silenced.values())} ("
                     + ", ".join(f"{k} {n}" for k, n in silenced.items()) + ")")
    for h in data["import_hooks"]:
        nf, nm = len(h["hooked"]), len(h["modules"])
        ns = len(h["skipped"])
        line = (f"import hook on {', '.join(h['packages'])}: {nf} function{'s' * (nf != 1)} "
                f"hooked in {nm} module{'s' * (nm != 1)}" + (f", {ns} skipped" if ns else ""))
        if not h["hooked"]:
            why = (f"{', '.join(h['already_imported'])} was imported before the hook"
                   if h["already_imported"] else
                   f"{ns} function{'s' * (ns != 1)} skipped"
                   if h["skipped"] else
                   "no module imported through it had array-annotated functions"
                   if h["modules"] else "no module of the package was imported after it")
            line += f"  <- the hook did nothing: {why}"
        lines.append(line)
        lines += [f"  skipped {name}: {why}" for name, why in h["skipped"]]
    fu = data.get("fail_under")
    if fu is not None:
        verdict = "FAIL" if fu["failed"] else "ok"
        lines.append(f"decorated functions called: {fu['called']:.1f}% (required "
                     f"{fu['percent']:g}%): {verdict}")
    return lines


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is None:
        return
    if state.session is not None:
        _coverage.stop()
        state.session = None
    if state.forced:
        _config.config(mode=state.previous_mode)
    del config.stash[_KEY]
