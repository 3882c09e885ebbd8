"""docs/common-bugs.md is the real output of examples/common_bugs.py (issue 9's bug table)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_common_bugs_page_is_the_scripts_output() -> None:
    """Every scenario still ends as documented: regenerate the page and compare."""
    spec = importlib.util.spec_from_file_location("common_bugs", ROOT / "examples" / "common_bugs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "common-bugs.md").read_text()
    assert module.markdown() == page, "run: python examples/common_bugs.py --markdown > docs/common-bugs.md"
    assert page.count("## ") >= 19 and page.count("accepted:") == 2
