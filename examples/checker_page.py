"""docs/checker.md shows compiled checkers; this script makes its generated blocks.

The page holds, for each example, a code block marked `<!-- checker-example:NAME -->` (run as
written) followed by a block marked `<!-- checker-source:NAME -->`: the source shapecontract
generates for NAME (`checker_source(NAME)` for a decorated function, `NAME.checker_source()`
for a contract). `python examples/checker_page.py --write` rewrites the generated blocks;
`tests/test_docs_site.py` checks the page equals what this renders today.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from shapecontract import checker_source

PAGE = Path(__file__).resolve().parent.parent / "docs" / "checker.md"
EXAMPLE = re.compile(r"<!-- checker-example:(\w+) -->\n```python\n(.*?)```\n", re.S)
SOURCE = re.compile(r"(<!-- checker-source:(\w+) -->\n```python\n)(.*?)(```\n)", re.S)


def generated(name: str, example: str) -> str:
    """The checker source of NAME, after running its example block as written."""
    namespace: dict[str, Any] = {"__name__": f"checker_page_{name}"}
    exec(compile(example, f"<docs/checker.md example {name}>", "exec"), namespace)
    return checker_source(namespace[name])


def render(text: str) -> str:
    """The page with every generated block replaced by what the code generates today."""
    examples = dict(EXAMPLE.findall(text))
    missing = [m.group(2) for m in SOURCE.finditer(text) if m.group(2) not in examples]
    if missing:
        raise ValueError(f"docs/checker.md: no example block for {missing}")
    return SOURCE.sub(lambda m: m.group(1) + generated(m.group(2), examples[m.group(2)]) + m.group(4), text)


if __name__ == "__main__":
    page = PAGE.read_text()
    new = render(page)
    if "--write" in sys.argv:
        PAGE.write_text(new)
    else:
        print(new, end="")
