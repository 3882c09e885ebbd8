"""`Recording.apply` rewrites a user's file: atomically (a failed write leaves it byte for byte
as it was), faithfully (encoding, BOM and line endings kept; only the annotated signatures,
`@contract` and the import change) and soundly (what it writes accepts every recorded call,
also when one file was recorded under two module names)."""

from __future__ import annotations

import ast
import difflib
import errno
import importlib.util
import io
import os
import re
import stat
import subprocess
import sys
import tempfile
import textwrap
import tokenize
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shapecontract import ShapeContractError, infer
from shapecontract.infer.observe import _Target

from .strategies import recorded_calls

EXAMPLES = int(os.environ.get("SHAPECONTRACT_FUZZ_EXAMPLES", "15"))
BOM = b"\xef\xbb\xbf"
SOURCE = b'''\
"""Scale a series."""

import numpy as np


def scale(series):
    # one row per hour
    return series * 2


def stack(series):
    return np.concatenate([series, series])
'''
_counter = iter(range(10**6))


@pytest.fixture
def load() -> Iterator[Any]:
    """Import a file under a fresh module name (removed from sys.modules afterwards)."""
    names: list[str] = []

    def load(path: Path, name: str | None = None) -> types.ModuleType:
        name = name or f"{path.stem}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        names.append(name)
        spec.loader.exec_module(mod)
        return mod

    yield load
    for name in names:
        sys.modules.pop(name, None)


def recorded(mod: types.ModuleType) -> infer.Recording:
    with infer.record(mod.scale) as rec:
        mod.scale(np.zeros((5, 3), np.float32))
        mod.scale(np.zeros((7, 3), np.float32))
    return rec


def python(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


# -- atomic --------------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and SIGXFSZ are POSIX")
def test_a_write_that_fails_part_way_leaves_the_file_byte_identical(tmp_path: Path) -> None:
    """A write cut short (file size limit, as a full disk) raises and leaves the original file
    byte for byte, with no temporary file left beside it."""
    path = tmp_path / "pipe.py"
    path.write_bytes(SOURCE)
    script = textwrap.dedent('''
        import resource, signal
        import libcst, numpy as np
        from shapecontract import infer
        import pipe
        with infer.record(pipe.scale) as rec:
            pipe.scale(np.zeros((5, 3), np.float32))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = len(open("pipe.py", "rb").read()) + 10
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            rec.apply("pipe.py")
        except OSError as e:
            print("refused:", e.errno)
    ''')
    done = python("-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == SOURCE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.py"]
    assert done.stdout.strip() == f"refused: {errno.EFBIG}"  # the failure reached the caller


def test_backup_preview_permissions_and_symlinks(tmp_path: Path, load: Any) -> None:
    """`diff=True` writes nothing; `backup=True` keeps the old bytes in `<file>.orig`; the
    patched file keeps its permission bits, and a symlink stays a link to the patched file."""
    path = tmp_path / "pipe.py"
    path.write_bytes(SOURCE)
    path.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(path)
    rec = recorded(load(path))

    preview = rec.apply(link, diff=True)
    assert "+@contract" in preview
    assert path.read_bytes() == SOURCE and not (tmp_path / "pipe.py.orig").exists()

    assert rec.apply(link, backup=True) == preview
    assert (tmp_path / "link.py.orig").read_bytes() == SOURCE
    assert link.is_symlink() and b"@contract" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

    path.write_bytes(SOURCE)
    rec.apply(path, backup=tmp_path / "saved.py")
    assert (tmp_path / "saved.py").read_bytes() == SOURCE


# -- faithful ------------------------------------------------------------------------------
def test_crlf_line_endings_are_kept_and_the_diff_shows_only_edits(tmp_path: Path,
                                                                    load: Any) -> None:
    """A CRLF file stays CRLF on every line (added ones too); the diff lists only the edited
    signature, `@contract` and the import."""
    crlf = SOURCE.replace(b"\n", b"\r\n")
    path = tmp_path / "pipe.py"
    path.write_bytes(crlf)
    patch = recorded(load(path)).apply(path)
    new = path.read_bytes()
    assert new.count(b"\n") == new.count(b"\r\n") > crlf.count(b"\r\n")
    assert b"\r" not in new.replace(b"\r\n", b"")
    changed = [line for line in patch.splitlines(keepends=True)
               if line[0] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == [
        "+from shapecontract import Array, Float, contract\r\n",
        "-def scale(series):\r\n",
        "+@contract\r\n",
        '+def scale(series: Float[Array, "n_series series_1"]) -> Float[Array, "n_series '
        'series_1"]:\r\n']


def test_a_utf8_bom_is_kept(tmp_path: Path, load: Any) -> None:
    """A file starting with a UTF-8 BOM still starts with exactly one after apply."""
    path = tmp_path / "pipe.py"
    path.write_bytes(BOM + SOURCE)
    recorded(load(path)).apply(path)
    new = path.read_bytes()
    assert new.startswith(BOM) and not new[3:].startswith(BOM)
    assert b"@contract\ndef scale(series: Float" in new


LATIN1 = "# -*- coding: latin-1 -*-\n# d\u00e9bit horaire\n" + SOURCE.decode()


def test_a_pep263_latin1_file_is_read_and_written_in_latin1(tmp_path: Path, load: Any) -> None:
    """A latin-1 file (PEP 263 line) is patched and written back in latin-1, and imports."""
    path = tmp_path / "pipe.py"
    path.write_bytes(LATIN1.encode("latin-1"))
    recorded(load(path)).apply(path)
    new = path.read_bytes()
    assert b"# d\xe9bit horaire\n" in new and b"@contract" in new
    patched = load(path)
    patched.scale(np.zeros((4, 3), np.float32))
    with pytest.raises(ShapeContractError):
        patched.scale(np.zeros((4,), np.float32))


def test_an_edit_the_encoding_cannot_hold_is_refused_and_the_file_kept(
        tmp_path: Path, load: Any) -> None:
    """An annotation with a character latin-1 cannot encode (a dim named after the caller's
    variable) raises a clear error, preview or not, and leaves the file as it was."""
    path = tmp_path / "pipe.py"
    path.write_bytes(LATIN1.encode("latin-1"))
    mod = load(path)
    caller = tmp_path / "caller.py"
    caller.write_text("def go(stack, x):\n    \u03c9 = stack(x)\n    return \u03c9\n",
                      encoding="utf-8")
    with infer.record(mod.stack) as rec:
        load(caller).go(mod.stack, np.zeros((2, 3), np.float32))
    assert "\u03c9" in rec.annotations()["stack"]["return"]
    for preview in (True, False):
        with pytest.raises(ValueError, match="encoding \\(iso-8859-1\\) cannot hold"):
            rec.apply(path, diff=preview)
    assert path.read_bytes() == LATIN1.encode("latin-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caller.py", "pipe.py"]


# -- sound ---------------------------------------------------------------------------------
TWICE = '''\
import numpy as np

{defs}

if __name__ == "__main__":
    import twice  # this very file, imported under its module name
    from shapecontract import infer

    with infer.record(f, twice.f) as rec:
        f(np.zeros((2, 3), np.float32))
        twice.f(np.zeros((2, 3, 4), np.float32))
    print(rec.apply(__file__))
'''


def test_one_file_recorded_as_main_and_as_module_is_merged(tmp_path: Path, load: Any) -> None:
    """A file run as `__main__` that imports itself under its name: the rank-2 call (one copy)
    and the rank-3 call (the other) are merged; the written annotation accepts both."""
    path = tmp_path / "twice.py"
    path.write_text(TWICE.format(defs="def f(x):\n    return x * 2"))
    done = python("twice.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "+@contract" in done.stdout
    patched = load(path)
    for shape in ((2, 3), (2, 3, 4)):
        patched.f(np.zeros(shape, np.float32))
    assert hasattr(patched.f, "__shapecontract__")


def test_copies_with_different_signatures_are_skipped_with_a_note(tmp_path: Path) -> None:
    """The two copies of one function have different signatures: not annotated, and the
    warning says why; the file is left as it was."""
    defs = ("if __name__ == '__main__':\n    def f(x):\n        return x * 2\n"
            "else:\n    def f(x, k=2):\n        return x * k")
    path = tmp_path / "twice.py"
    path.write_text(TWICE.format(defs=defs))
    done = python("-W", "always", "twice.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "f is not annotated" in done.stderr and "different signatures" in done.stderr
    assert path.read_text() == TWICE.format(defs=defs)


def test_annotations_that_would_reject_a_recorded_call_are_not_written(
        tmp_path: Path, load: Any) -> None:
    """A function whose own (unchecked) annotation contradicts a recorded call gets no
    `@contract` (which would make the recorded call fail), and a warning that says so."""
    path = tmp_path / "pipe.py"
    path.write_text("from shapecontract import Array, Float\n\n\n"
                    'def scale(series: Float[Array, "n 3"]):\n    return series * 2\n')
    before = path.read_bytes()
    mod = load(path)
    with infer.record(mod.scale) as rec:
        mod.scale(np.zeros((5, 4), np.float32))  # not checked: no @contract yet
    with pytest.warns(UserWarning, match="scale is not annotated: its annotations would "
                                         "reject recorded call 1 of 1"):
        patch = rec.apply(path)
    assert patch == "" and path.read_bytes() == before


# -- property: real files ------------------------------------------------------------------
def _keras_files() -> list[Path]:
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        return []
    top = re.compile(rb"(?m)^def [A-Za-z_]\w*\(\s*[A-Za-z_]")  # a top-level function with params
    root = Path(next(iter(spec.submodule_search_locations))) / "src"
    return [p for p in sorted(root.rglob("*.py"))
            if p.stat().st_size < 60_000 and top.search(p.read_bytes())]


KERAS_FILES = _keras_files()


def _headers(text: str, names: set[str]) -> dict[str, range]:
    """Top-level function name -> the 0-based line numbers of its `def ...:` header."""
    tree = ast.parse(text)
    toks = list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    out: dict[str, range] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names and node.name not in out:
            depth = 0
            for tok in toks:
                if tok.start[0] < node.lineno:
                    continue
                if tok.type == tokenize.OP and tok.string in "([{":
                    depth += 1
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    depth -= 1
                elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
                    out[node.name] = range(node.lineno - 1, tok.start[0])
                    break
    return out


@pytest.mark.skipif(not KERAS_FILES, reason="keras is not installed")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
@given(data=st.data())
def test_apply_to_real_files_changes_only_signatures(data: st.DataObject) -> None:
    """Synthetic records applied to copies of keras source files (LF or CRLF, with or without
    a BOM): every line but the annotated signatures, `@contract` and the import is byte for
    byte the same, line endings and BOM are kept, and the module still compiles."""
    source = data.draw(st.sampled_from(KERAS_FILES), label="file")
    newline = data.draw(st.sampled_from([b"\n", b"\r\n"]), label="newline")
    original = (BOM if data.draw(st.booleans(), label="bom") else b"") + (
        source.read_bytes().replace(b"\n", newline))
    text = original.decode("utf-8-sig")
    candidates = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)
                  and n.args.posonlyargs + n.args.args]
    chosen = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3,
                                unique_by=lambda n: n.name), label="functions")
    rec = infer.Recording([])
    for node in chosen:
        a = node.args
        params = [p.arg for p in [*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]
                  if p is not None]
        positional = [p.arg for p in [*a.posonlyargs, *a.args]]
        t = _Target(None, node.name, node.name, source.stem, params, [],
                    skipped_params=[p.arg for p in (a.vararg, a.kwarg) if p is not None])
        for call in data.draw(recorded_calls(positional), label=node.name):
            t.add(call)
        rec._functions.append(t)

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / source.name
        path.write_bytes(original)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec.apply(path)
        new = path.read_bytes()
    compile(new, str(path), "exec")
    assert new.startswith(BOM) == original.startswith(BOM)
    assert not new[3:].startswith(BOM)
    # the BOM stays the file's first bytes (checked above); lines are compared without it, so an
    # import inserted before a first line that is code does not count that line as changed
    old_lines = original.removeprefix(BOM).splitlines(keepends=True)
    new_lines = new.removeprefix(BOM).splitlines(keepends=True)
    assert all(line.endswith(newline) for line in new_lines[:-1])
    names = {n.name for n in chosen}
    old_headers = {i for r in _headers(text, names).values() for i in r}
    new_headers = {i for r in _headers(new.decode("utf-8-sig"), names).values() for i in r}
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        assert set(range(i1, i2)) <= old_headers, old_lines[i1:i2]
        added = new_lines[j1:j2]
        has_import = any(line.startswith(b"from shapecontract import") for line in added)
        for j, line in zip(range(j1, j2), added):
            assert (j in new_headers or line.strip() == b"@contract"
                    or line.startswith(b"from shapecontract import")
                    or (has_import and not line.strip())), line
    if any(isinstance(v, infer.Leaf) for t in rec._functions for c in t.calls
           for v in c.values()):
        assert new != original  # something was annotated: the check above was not vacuous
