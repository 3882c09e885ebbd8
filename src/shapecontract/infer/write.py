"""Writing inferred annotations into a user's source with libcst (layer L7, used by `infer`).

Design rules:
- A concrete syntax tree keeps everything it is not asked to change: comments, blank lines,
  quotes, line breaks inside signatures. Only the annotated parameters, the return
  annotation, the `@contract` decorator and the `from shapecontract import ...` line change.
- An existing annotation is never replaced; a function already decorated with `contract`
  (`@contract`, `@sc.contract`, `@contract(...)`) gets no second decorator.
- libcst is imported here only, when `Recording.apply` runs (`pip install shapecontract[infer]`).
- The file is read and written as bytes: its encoding (PEP 263 line, BOM) and its line endings
  come back as they were. It is replaced in one step (a synced temporary file in the same
  directory, then `os.replace`): a failed write leaves it byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
import tokenize
from pathlib import Path
from typing import Any

__all__ = ["patch_source", "read_source", "replace_file", "source_lines"]

_CATEGORY = re.compile(r"\b([A-Z][A-Za-z0-9]*)\[Array\b")
LINE_LENGTH = 100
"""A signature longer than this after patching gets one parameter (then one returned tuple
item) per line."""


def patch_source(text: str, plan: dict[str, dict[str, str]]) -> tuple[str, list[str]]:
    """`text` with the annotations of `plan` (qualified function name -> parameter or
    `return` -> annotation text) written in; also the qualified names not found in `text`."""
    try:
        import libcst as cst
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor
    except ImportError:
        raise ImportError("infer: writing annotations into source needs libcst: "
                          "pip install 'shapecontract[infer]'") from None

    def is_contract(d: Any) -> bool:
        node = d.decorator
        if isinstance(node, cst.Call):
            node = node.func
        if isinstance(node, cst.Name):
            return bool(node.value == "contract")
        return isinstance(node, cst.Attribute) and node.attr.value == "contract"

    def spaced_equal() -> Any:
        return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(" "),
                               whitespace_after=cst.SimpleWhitespace(" "))

    class Annotate(cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.done: set[str] = set()
            self.needed: set[str] = set()

        def visit_ClassDef(self, node: Any) -> bool:
            self.stack.append(node.name.value)
            return True

        def leave_ClassDef(self, original: Any, updated: Any) -> Any:
            self.stack.pop()
            return updated

        def visit_FunctionDef(self, node: Any) -> bool:
            self.stack.append(node.name.value)
            return True

        def leave_FunctionDef(self, original: Any, updated: Any) -> Any:
            qualname = ".".join(self.stack)
            self.stack.pop()
            ann = plan.get(qualname)
            if ann is None or qualname in self.done:
                return updated
            self.done.add(qualname)

            def annotate(p: Any) -> Any:
                name = p.name.value
                if name not in ann or p.annotation is not None:
                    return p
                self.needed.update(_CATEGORY.findall(ann[name]))
                changes: dict[str, Any] = {
                    "annotation": cst.Annotation(cst.parse_expression(ann[name]))}
                if p.default is not None:
                    changes["equal"] = spaced_equal()
                return p.with_changes(**changes)

            ps = updated.params
            ps = ps.with_changes(params=[annotate(p) for p in ps.params],
                                 posonly_params=[annotate(p) for p in ps.posonly_params],
                                 kwonly_params=[annotate(p) for p in ps.kwonly_params])
            changes: dict[str, Any] = {"params": ps}
            if "return" in ann and updated.returns is None:
                self.needed.update(_CATEGORY.findall(ann["return"]))
                changes["returns"] = cst.Annotation(cst.parse_expression(ann["return"]))
            if not any(is_contract(d) for d in updated.decorators):
                changes["decorators"] = [*updated.decorators, cst.Decorator(cst.Name("contract"))]
                self.needed.add("contract")
            if self.needed - {"contract"}:
                self.needed.add("Array")
            return wrapped(updated.with_changes(**changes), original, 4 * len(self.stack))

    def wrapped(node: Any, original: Any, indent: int) -> Any:
        """`node` laid out to fit in LINE_LENGTH when its new signature no longer does: one
        parameter per line if the user had written them on one line (a signature the user
        laid out over lines is kept as it is), then one item per line of a returned tuple we
        added."""
        empty = cst.Module([])

        def too_long(n: Any) -> bool:
            header = empty.code_for_node(n.with_changes(
                body=cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())]), decorators=[],
                leading_lines=[]))
            return any(indent + len(line) > LINE_LENGTH for line in header.splitlines())

        def newline(spaces: str) -> Any:
            return cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(), empty_lines=[], indent=True,
                last_line=cst.SimpleWhitespace(spaces))

        if not too_long(node):
            return node
        ps = node.params
        groups: list[tuple[str, list[Any]]] = [  # every parameter, in source order
            ("posonly_params", list(ps.posonly_params)),
            ("posonly_ind", [] if isinstance(ps.posonly_ind, cst.MaybeSentinel)
             else [ps.posonly_ind]),
            ("params", list(ps.params)),
            ("star_arg", [] if isinstance(ps.star_arg, cst.MaybeSentinel) else [ps.star_arg]),
            ("kwonly_params", list(ps.kwonly_params)),
            ("star_kwarg", [] if ps.star_kwarg is None else [ps.star_kwarg])]
        total = sum(len(g) for _, g in groups)
        if total and "\n" not in empty.code_for_node(original.params):
            seen, changes = 0, {}
            for attr, items in groups:
                out = []
                for item in items:
                    seen += 1
                    out.append(item.with_changes(comma=cst.Comma(
                        whitespace_after=newline("    " if seen < total else ""))))
                if attr in ("posonly_ind", "star_arg", "star_kwarg"):
                    if out:
                        changes[attr] = out[0]
                else:
                    changes[attr] = out
            node = node.with_changes(params=ps.with_changes(**changes),
                                     whitespace_before_params=newline("    "))
        ret = node.returns.annotation if node.returns is not None else None
        if (too_long(node) and original.returns is None and isinstance(ret, cst.Subscript)
                and isinstance(ret.value, cst.Name) and ret.value.value == "tuple"
                and len(ret.slice) > 1):
            items = [e.with_changes(comma=cst.Comma(
                whitespace_after=newline("    " if i < len(ret.slice) - 1 else "")))
                for i, e in enumerate(ret.slice)]
            ret = ret.with_changes(slice=items, lbracket=cst.LeftSquareBracket(
                whitespace_after=newline("    ")))
            node = node.with_changes(returns=node.returns.with_changes(annotation=ret))
        return node

    module = cst.parse_module(text)
    annotate = Annotate()
    module = module.visit(annotate)
    if annotate.needed:
        ctx = CodemodContext()
        for name in sorted(annotate.needed):
            AddImportsVisitor.add_needed_import(ctx, "shapecontract", name)
        module = AddImportsVisitor(ctx).transform_module(module)
    return module.code, [q for q in plan if q not in annotate.done]


def read_source(path: Path) -> tuple[str, str]:
    """The text of `path` and the encoding to write it back in: the encoding Python reads it
    with (PEP 263 line; `utf-8-sig` keeps a BOM), checked to give back the same bytes."""
    data = path.read_bytes()
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError) as e:
        raise ValueError(f"infer: {path} cannot be read as Python source ({e}); "
                         "it is left as it is") from None
    if text.encode(encoding) != data:  # a codec that does not round-trip: cannot be faithful
        raise ValueError(f"infer: {path} does not read back to the same bytes in its encoding "
                         f"({encoding}); it is left as it is")
    return text, encoding


def source_lines(text: str) -> list[str]:
    """`text` split after each line ending Python knows (`\\n`, `\\r\\n`, `\\r`), endings kept:
    a CRLF file diffs line for line, and a form feed does not split a line."""
    return io.StringIO(text, newline="").readlines()


def replace_file(path: Path, data: bytes, backup: Path | None = None) -> None:
    """Put `data` in place of the file `path` (through a symlink: its target) in one step: a
    temporary file in the same directory, flushed and synced, given the file's permission
    bits, then `os.replace`d over it. On any failure the temporary file is removed and `path`
    is as it was. `backup`: first write the current bytes there, the same way."""
    real = Path(os.path.realpath(path))
    mode = stat.S_IMODE(real.stat().st_mode)
    if backup is not None:
        _write_replacing(Path(os.path.realpath(backup)), real.read_bytes(), mode)
    _write_replacing(real, data, mode)


def _write_replacing(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
