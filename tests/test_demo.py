"""`make demo` catches every seed scenario, naming argument, axis and dim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_demo_catches_every_seed_scenario() -> None:
    """Each scenario prints a violation with argument/return, axis and dim name. Run as
    `shapecontract demo` (the scenarios are in the package; examples/demo.py calls the same
    `shapecontract.demo.main`)."""
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "shapecontract", "demo"], capture_output=True,
                         text=True, check=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                              "PYTHONPATH": path}).stdout
    scenarios, porting = out.split("scenarios caught", 1)
    blocks = scenarios.split("\n== ")[1:]
    assert blocks, out
    for block in blocks:
        where = r"(argument \w+|return|input '\w+'|element(_spec)?[\w \[\]']*)"
        assert re.search(where + r", axis \d+ \([\w*]+\)", block), block
        assert "fix:" in block, block
    assert re.search(r"(\d+)/\1 scenarios caught", out)
    assert "has units=10; the annotation says 1" in porting
    assert "batch_first=True" in porting and "out[:, -1]" in porting
    assert "no differences in contract" in porting and "max |keras - torch|" in porting


def test_benchmark_script_runs_and_its_variants_really_check() -> None:
    """The benchmark runs (quick mode) and refuses to time a variant that does not check."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_call_overhead.py")],
                         capture_output=True, text=True, check=True, timeout=300,
                         env={**os.environ, "SHAPECONTRACT_BENCH_QUICK": "1"}).stdout
    assert "overhead ours/handwritten" in out


def test_port_benchmark_runs_and_its_diagnosed_variant_really_diagnoses() -> None:
    """bench_port (quick mode) times compare/assert_equivalent; the 'diagnosed' variant asserts
    the gate-order diagnosis on every round, so it cannot time a check that found nothing."""
    pytest.importorskip("keras")
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_port.py")],
                         capture_output=True, text=True, check=True, timeout=600,
                         env={**os.environ, "SHAPECONTRACT_BENCH_QUICK": "1",
                              "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    assert "assert_equivalent, diagnosed" in out and "x torch forward" in out


def test_validate_benchmark_runs_and_both_variants_find_the_bad_elements() -> None:
    """bench_validate (quick mode): each timed run asserts the two planted failures."""
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_validate.py")],
                         capture_output=True, text=True, check=True, timeout=300,
                         env={**os.environ, "SHAPECONTRACT_BENCH_QUICK": "1"}).stdout
    assert "speed-up of workers=2 over one process" in out
