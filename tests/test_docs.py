"""The generated code shown in docs/usage.md is the code that really runs."""

from __future__ import annotations

import re
from pathlib import Path

from shapecontract import Array, Float, checker_source, contract

DOC = Path(__file__).resolve().parent.parent / "docs" / "usage.md"


def test_documented_checker_matches_generated_source() -> None:
    """The checker printed in the docs equals checker_source() of the same function."""
    @contract
    def scale(x: Float[Array, "batch time features"], w: Float[Array, "features"]
              ) -> Float[Array, "batch time features"]:
        return x * w

    text = DOC.read_text()
    m = re.search(r"<!-- checker:scale -->\n```python\n(.*?)```", text, re.S)
    assert m, "docs/usage.md lost its checker example"
    assert m.group(1) == checker_source(scale)
