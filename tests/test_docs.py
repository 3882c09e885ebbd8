"""The generated code shown in docs/checker.md is the code that really runs; guarantees cite
real tests."""

from __future__ import annotations

import re
from pathlib import Path

from shapecontract import Array, Float, checker_source, contract

DOC = Path(__file__).resolve().parent.parent / "docs" / "checker.md"


def test_documented_checker_matches_generated_source() -> None:
    """The checker printed in the docs equals checker_source() of the same function."""
    @contract
    def scale(x: Float[Array, "batch time features"], w: Float[Array, "features"]
              ) -> Float[Array, "batch time features"]:
        return x * w

    text = DOC.read_text()
    m = re.search(r"<!-- checker-source:scale -->\n```python\n(.*?)```", text, re.S)
    assert m, "docs/checker.md lost its checker example"
    assert m.group(1) == checker_source(scale)


def test_every_guarantee_names_tests_that_exist() -> None:
    """docs/guarantees.md cites tests by file and name; each file and each test exists (a
    renamed or deleted test cannot leave a guarantee without its proof)."""
    root = DOC.parent.parent
    text = (root / "docs" / "guarantees.md").read_text()
    files = set(re.findall(r"tests/(\w+\.py)", text))
    names = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    assert files and names
    sources = ""
    for f in files:
        path = root / "tests" / f
        assert path.exists(), f
        sources += path.read_text()
    missing = [n for n in sorted(names) if f"def {n}(" not in sources]
    assert not missing, missing
