"""The docs site builds with `mkdocs build --strict`, and what its pages show is what the code
does today: the generated checkers, the seed tutorial, the README's and getting started's
examples with their printed output."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import shapecontract
import shapecontract.port

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE = re.compile(r"<!-- example: output -->\n```python\n(.*?)```\n.*?```\n(.*?)```", re.S)


def _example_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A strict build of a temporary copy of docs/."""
    tmp = tmp_path_factory.mktemp("docsite")
    shutil.copytree(DOCS, tmp / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp / "mkdocs.yml")
    (tmp / "src").symlink_to(ROOT / "src")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp / "site")], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp


def test_site_builds_strict_with_every_page(site: Path) -> None:
    """`mkdocs build --strict` passes (no broken link, anchor, nav entry or API reference),
    and every page of docs/ became a page of the site."""
    for page in (site / "docs").glob("*.md"):
        html = site / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert html.exists(), page.name


def test_strict_build_fails_on_a_broken_link(site: Path) -> None:
    """The strict build is not a rubber stamp: a link to a missing page fails it."""
    broken = site / "broken"
    shutil.copytree(site / "docs", broken / "docs")
    shutil.copy(site / "mkdocs.yml", broken / "mkdocs.yml")
    (broken / "src").symlink_to(ROOT / "src")
    with (broken / "docs" / "index.md").open("a") as f:
        f.write("\nSee [nowhere](no-such-page.md).\n")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(broken / "site")], cwd=broken, capture_output=True, text=True,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert proc.returncode != 0
    assert "no-such-page.md" in proc.stdout + proc.stderr


def test_api_page_documents_every_public_name(site: Path) -> None:
    """Every name in shapecontract.__all__ and shapecontract.port.__all__ has an entry on the
    API page (the dtype annotations, which are jaxtyping's, are listed in its table)."""
    html = (site / "site" / "api" / "index.html").read_text()
    anchors = set(re.findall(r'id="(shapecontract\.[\w.]+)"', html))
    text = (DOCS / "api.md").read_text()
    missing = []
    for module in (shapecontract, shapecontract.port):
        for name in module.__all__:
            # port.compare and port.scaffold share their names with their submodules: the page
            # documents them at their definitions (port.compare.compare)
            qualified = f"{module.__name__}.{name}"
            if not {qualified, f"{qualified}.{name}"} & anchors and f"`{name}`" not in text:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, missing


def test_checker_page_shows_todays_generated_code() -> None:
    """docs/checker.md's generated blocks are what checker_source() gives for its examples
    today (a function, a dim bound by an int with a symbolic dim, an nn.LSTM's contract)."""
    page = (DOCS / "checker.md").read_text()
    assert page.count("<!-- checker-source:") == 3
    assert _example_script("checker_page").render(page) == page, "run: make docs-checker"


def test_tutorial_page_is_the_scripts_output() -> None:
    """docs/tutorial.md is a real run of every seed scenario in Keras and in PyTorch: what the
    framework says alone and what the guarded model says."""
    page = (DOCS / "tutorial.md").read_text()
    assert _example_script("seed_tutorial").markdown() == page, "run: make docs-tutorial"
    assert page.count("contract violation") == 12 and page.count('<div class="grid"') == 7


@pytest.mark.parametrize("doc", ["README.md", "docs/getting-started.md"])
def test_example_prints_what_the_page_shows(doc: str) -> None:
    """Each example marked in the README and in getting started, run as a script, ends its
    output (stdout, then the traceback) with exactly the output block shown under it."""
    examples = EXAMPLE.findall((ROOT / doc).read_text())
    assert examples, f"{doc} lost its example"
    for code, shown in examples:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                              timeout=120)
        out = (proc.stdout + proc.stderr).rstrip("\n")
        assert len(shown.strip().splitlines()) >= 5
        assert out.endswith(shown.rstrip("\n")), out


def test_readme_links_point_at_pages() -> None:
    """The README's links into docs/ name pages that exist."""
    links = re.findall(r"\]\(docs/([\w-]+\.md)(?:#[\w-]+)?\)", (ROOT / "README.md").read_text())
    assert len(links) >= 10
    missing = [f for f in links if not (DOCS / f).exists()]
    assert not missing, missing
