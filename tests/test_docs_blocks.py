"""Every ```python block of the docs (docs/*.md and README.md) runs as pasted: in order, page by
page, the blocks of one page in one fresh namespace, as a user pasting them into one session.

Conventions the pages follow (and this file checks):

- A block may end in a call that fails on purpose. It passes only if its *last* statement raises
  exactly `ShapeContractError` or `ContractSyntaxError` and an output block (a ``` or ```text
  fence) after it, in the same section, is that error's text (optionally preceded by its type,
  as a traceback ends). Any other exception, or one raised before the last statement, fails.
- A block that cannot run here (it needs the reader's own package, a GPU, a file) is marked on
  the line right before its fence with `<!-- not run: the reason -->`; such blocks are listed
  and must be the ones in `NOT_RUN`.

All pages run in one subprocess (this file run as a script), so TensorFlow and torch are
imported once; each page starts a fresh session (a new namespace, Keras's session cleared, the
default mode).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import linecache
import os
import re
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shapecontract import Array, ContractSyntaxError, Float, ShapeContractError, contract

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\S*)")
HEADING = re.compile(r"^#{1,6} ")
MARKER = re.compile(r"^<!--\s*(.*?)\s*-->\s*$")
NOT_RUN_MARK = "not run:"
OUTPUT_INFOS = ("", "text")
# Keras numbers the names it makes up (sequential, sequential_1, ...) per session; tutorial.md's
# generator clears the session per scenario, so its errors name every model `sequential`: in a
# shown error, a numbered name matches the unnumbered one.
KERAS_NUMBER = re.compile(r"'([A-Za-z][A-Za-z0-9_]*?)_\d+'")

# Blocks marked `<!-- not run: ... -->` (page, block number): keep this list short.
NOT_RUN = {
    ("docs/explain.md", 1),
    ("docs/inference.md", 1),
    ("docs/pipelines.md", 4),
    ("docs/pytest.md", 1),
    ("docs/real-code.md", 1),
}

# Blocks that do not run as pasted on the pages scripts write (make docs-checker, docs-port),
# which are left to their generators (porting.md's head, above its tutorial markers, is kept by
# the generator but belongs to that page too). Each entry is the error the block must still
# fail with, so a new failure, or a fixed one, shows up here; the page's test is an xfail.
KNOWN_FAILURES: dict[tuple[str, int], str] = {
    # generated checker source: its default value lives in the checker's own namespace
    ("docs/checker.md", 6): "NameError: name '__sc_default_0' is not defined",
}


@dataclass
class Block:
    """One fenced block of a page."""

    info: str
    code: str
    line: int  # 1-based line of the opening fence
    section: int  # how many headings come before it
    marker: str  # the HTML comment on the line before the fence ("" if none)


def fenced_blocks(text: str) -> list[Block]:
    """The page's fenced blocks in order, each with its info string, section and marker."""
    lines = text.splitlines()
    blocks: list[Block] = []
    section = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.match(line)
        if opening is None:
            section += bool(HEADING.match(line))
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"unclosed fence at line {i + 1}")
        marker = MARKER.match(lines[i - 1]) if i else None
        blocks.append(Block(opening.group(1), "".join(f"{s}\n" for s in lines[i + 1:end]),
                            i + 1, section, marker.group(1) if marker else ""))
        i = end + 1
    return blocks


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a page, in order."""
    return [b for b in fenced_blocks(text) if b.info in ("python", "py")]


def _shown(error: BaseException, later: list[Block]) -> bool:
    """Is `error` the text of one of these output blocks (after an optional `Type: ` prefix)?"""
    def norm(s: str) -> str:
        return KERAS_NUMBER.sub(r"'\1'", s).strip("\n")

    message = norm(str(error))
    kind = type(error)
    prefixes = ("", f"{kind.__name__}: ", f"{kind.__module__.split('.')[0]}.{kind.__name__}: ")
    return any(norm(b.code) == prefix + message for b in later for prefix in prefixes)


def _source(filename: str, code: str) -> None:
    """Let tracebacks show the block's lines."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def run_page(name: str, text: str) -> list[dict[str, Any]]:
    """Run the page's python blocks in order in one fresh namespace; one result per block:
    status `ok`, `raised` (an intended, shown error), `not run` or `failed`, with a detail
    and the block's output (its end)."""
    blocks = fenced_blocks(text)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    results: list[dict[str, Any]] = []
    number = 0
    for position, block in enumerate(blocks):
        if block.info not in ("python", "py"):
            continue
        number += 1
        row: dict[str, Any] = {"block": number, "line": block.line, "status": "ok", "detail": ""}
        results.append(row)
        filename = f"{name}:block{number}"
        if block.marker.startswith(NOT_RUN_MARK):
            row["status"], row["detail"] = "not run", block.marker[len(NOT_RUN_MARK):].strip()
            try:  # not run, but still Python
                compile(block.code, filename, "exec", dont_inherit=True)
            except SyntaxError as error:
                row["status"], row["detail"] = "failed", f"not run, and not Python: {error}"
            continue
        _source(filename, block.code)
        out = io.StringIO()
        stage = "body"
        try:
            tree = ast.parse(block.code, filename)
            *body, last = tree.body or ast.parse("pass").body
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(ast.Module(body, []), filename, "exec", dont_inherit=True), namespace)
                stage = "last"
                exec(compile(ast.Module([last], []), filename, "exec", dont_inherit=True),
                     namespace)
        except BaseException as error:  # the block's own failure is the result
            later = [b for b in blocks[position + 1:]
                     if b.section == block.section and b.info in OUTPUT_INFOS]
            intended = (stage == "last" and type(error) in (ShapeContractError, ContractSyntaxError))
            if intended and _shown(error, later):
                row["status"] = "raised"
                row["detail"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            else:
                row["status"] = "failed"
                why = ("the page does not show this error after the block" if intended else
                       "raised before the last statement" if stage == "body" and isinstance(
                           error, (ShapeContractError, ContractSyntaxError)) else "")
                row["detail"] = (why + "\n" if why else "") + "".join(
                    traceback.format_exception(error))
        row["output"] = out.getvalue()[-2000:]
    return results


def fresh_session() -> None:
    """What a new Python session would start with: Keras's names and the default mode."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
    import shapecontract

    shapecontract.reset_mode()


def doc_pages() -> list[str]:
    """The pages (relative to the repository) that hold python blocks."""
    pages = [*sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
             "README.md"]
    return [p for p in pages if python_blocks((ROOT / p).read_text())]


def main(out: str) -> None:
    """Run every page, write {page: {"seconds": ..., "blocks": [result, ...]}} as JSON."""
    sys.path[0] = os.getcwd()  # as in an interactive session, not this file's directory
    report: dict[str, Any] = {}
    for page in doc_pages():
        fresh_session()
        start = time.perf_counter()
        rows = run_page(page, (ROOT / page).read_text())
        report[page] = {"seconds": round(time.perf_counter() - start, 2), "blocks": rows}
    Path(out).write_text(json.dumps(report, indent=1))


PAGES = doc_pages()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every page's results, from one run of this file as a script in a scratch directory."""
    tmp = tmp_path_factory.mktemp("docs_blocks")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0",
           "PYTHONPATH": str(ROOT / "src")}
    env.pop("SHAPECONTRACT_MODE", None)
    proc = subprocess.run([sys.executable, __file__, str(tmp / "results.json")], cwd=tmp,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    report: dict[str, Any] = json.loads((tmp / "results.json").read_text())
    return report


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_pasted(page: str, results: dict[str, Any]) -> None:
    """Each python block of the page runs, in order, in the page's one namespace."""
    rows = results[page]["blocks"]
    assert len(rows) == len(python_blocks((ROOT / page).read_text()))
    failed = {row["block"]: row for row in rows if row["status"] == "failed"}
    known = {block: error for (p, block), error in KNOWN_FAILURES.items() if p == page}
    unexpected = [f"{page} block {k} (line {row['line']}):\n{row['detail']}"
                  for k, row in failed.items()
                  if k not in known or known[k] not in row["detail"]]
    assert not unexpected, "\n\n".join(unexpected)
    fixed = sorted(set(known) - set(failed))
    assert not fixed, f"{page}: blocks {fixed} run now: remove them from KNOWN_FAILURES"
    if failed:
        pytest.xfail(f"{page}: blocks {sorted(failed)} do not run as pasted (KNOWN_FAILURES)")


def test_blocks_not_run_are_marked_listed_and_few(results: dict[str, Any]) -> None:
    """The blocks skipped are exactly NOT_RUN, each with its reason, and printed."""
    skipped = {(page, row["block"]): row["detail"] for page in results
               for row in results[page]["blocks"] if row["status"] == "not run"}
    listing = "\n".join(f"{p} block {k}: {why}" for (p, k), why in sorted(skipped.items()))
    print(f"{len(skipped)} blocks not run:\n{listing}")
    assert set(skipped) == NOT_RUN, listing
    assert all(skipped.values()), listing
    ran = sum(len(results[p]["blocks"]) for p in results) - len(skipped)
    assert ran >= 10 * len(skipped), listing


def test_every_python_fence_is_seen() -> None:
    """No python block escapes the extractor (an indented fence, a `py` info string)."""
    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        text = page.read_text()
        fences = len(re.findall(r"^[ \t]*```[ \t]*py", text, re.M))
        assert fences == len(python_blocks(text)), page.name


def test_the_runner_is_not_a_rubber_stamp() -> None:
    """A NameError fails; an intended error passes only as described in this module's docstring."""
    head = ("```python\nimport numpy as np\nfrom shapecontract import Array, Float, contract\n\n"
            "@contract\ndef f(x: Float[Array, \"n 3\"]) -> Float[Array, \"n 3\"]:\n"
            "    return x\n```\n\n")
    call = "```python\nf(np.zeros((2, 4)))\n```\n\n"

    @contract
    def f(x: Float[Array, "n 3"]) -> Float[Array, "n 3"]:
        return x

    with pytest.raises(ShapeContractError) as caught:
        f(np.zeros((2, 4)))
    shown = f"```\nshapecontract.ShapeContractError: {caught.value}\n```\n"

    def statuses(text: str) -> list[str]:
        return [row["status"] for row in run_page("t.md", text)]

    assert statuses(head + call + shown) == ["ok", "raised"]
    assert statuses(head + call + shown.replace("got 4", "got 5")) == ["ok", "failed"]
    assert statuses(head + call + "## Another section\n\n" + shown) == ["ok", "failed"]
    assert statuses(head + call.replace("f(", "y = f(").replace(")\n```", ")\nprint(y)\n```")
                    + shown) == ["ok", "failed"]  # raised before the last statement
    assert statuses(head + "```python\nraise ValueError('no')\n```\n```\nValueError: no\n```\n"
                    ) == ["ok", "failed"]
    assert statuses("```python\nnp.zeros(3)\n```\n") == ["failed"]
    assert statuses(head.replace("```python", "<!-- not run: needs x -->\n```python")
                    + "```python\nf\n```\n") == ["not run", "failed"]
    assert statuses("<!-- not run: needs x -->\n```python\nf(\n```\n") == ["failed"]


if __name__ == "__main__":
    main(sys.argv[1])
