"""What the command line reads (layer L8): models and contracts from files or `module:attr`
references, data from ..npy/.npz files or Python objects, and spec strings."""

from __future__ import annotations

import ast
import importlib
import json
import keyword
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..frameworks import model_file_suffixes
from ._base import (
    DATA_SUFFIXES,
    UsageError,
    one_line,
    quiet_stderr,
)


def _dotted(text: str) -> bool:
    return bool(text) and all(p.isidentifier() and not keyword.iskeyword(p)
                              for p in text.split("."))


def import_attr(ref: str) -> Any:
    """`package.module:attr` (attr may be dotted), imported with the working directory first on
    the path, as `python -m` does."""
    mod_name, _, attr = ref.partition(":")
    if not _dotted(mod_name) or not _dotted(attr):
        # only text that is plainly a module and an attribute imports code: `data:2024.npy`
        # is a missing file, never an import of data.py from the working directory
        raise UsageError(f"{ref}: no such file (and not package.module:attr, which names a "
                         "module and an attribute with dotted Python identifiers)")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with quiet_stderr():
            obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise UsageError(f"{ref}: cannot import {mod_name} ({one_line(e)})") from None
    except Exception as e:
        raise UsageError(f"{ref}: importing {mod_name} failed: {type(e).__name__}: "
                         f"{one_line(e)}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{ref}: {mod_name} has no attribute {attr!r}") from None
    return obj


def _is_model(obj: Any) -> bool:
    from ..frameworks import adapter_of

    return adapter_of(obj) is not None and not isinstance(obj, type)


def framework_of(model: Any) -> str:
    from ..frameworks import adapter_of

    adapter = adapter_of(model)
    return adapter.package if adapter is not None else ""


def _call_for_model(ref: str, obj: Any) -> Any:
    """A builder function, a module class or a factory, called with no arguments."""
    try:
        return obj()
    except Exception as e:
        raise UsageError(f"{ref}: calling {getattr(obj, '__name__', ref)}() with no arguments "
                         f"failed: {type(e).__name__}: {one_line(e)}") from None


def load_contract(ref: str) -> Any:
    """A contract saved as JSON: `contract.to_json()`, or what `inspect MODEL --json` prints
    (its `contract` field). Checking against it needs no model and no framework."""
    from .._compile import Contract
    from .._errors import ContractSyntaxError

    path = Path(ref)
    try:
        text = path.read_text()
    except OSError as e:
        raise UsageError(f"{ref}: cannot be read ({e.strerror or type(e).__name__})") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{ref}: not JSON ({one_line(e)})") from None
    if isinstance(data, dict) and isinstance(data.get("contract"), dict):
        data = data["contract"]  # the output of `inspect --json`
    try:
        return Contract.from_dict(data)
    except ContractSyntaxError as e:
        raise UsageError(f"{ref}: not a shapecontract contract: {one_line(e)}") from None


def load_model(ref: str, unsafe: bool = False) -> Any:
    """A Keras model or torch module from a `.keras` file, a torch file or `module:attr`."""
    path = Path(ref)
    if not path.exists():
        if ":" in ref and not ref.lower().endswith(model_file_suffixes()):
            obj = import_attr(ref)
            if not _is_model(obj) and callable(obj):
                obj = _call_for_model(ref, obj)
            if not _is_model(obj):
                raise UsageError(f"{ref}: not a model: a {type(obj).__name__}, neither a Keras "
                                 "model nor a torch.nn.Module (nor a builder, class or factory "
                                 "returning one)")
            return obj
        raise UsageError(f"{ref}: no such file (and not a package.module:attr)")
    if path.is_dir():
        raise UsageError(f"{ref}: a directory, not a model file")
    from ..frameworks import loader_for
    from ..frameworks.files import LoadError

    try:
        return loader_for(path.name).files.load(path, unsafe)
    except LoadError as e:
        raise UsageError(str(e)) from None


def model_contract(model: Any) -> Any:
    from ..frameworks import contract_of

    try:
        return contract_of(model)
    except (TypeError, ValueError) as e:
        raise UsageError(f"the model's contract cannot be derived: {one_line(e)}") from None


# -------------------------------------------------------------------------------- data
def _np() -> Any:
    import numpy

    return numpy


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _load_npy(path: Path) -> Any:
    try:
        return _np().load(path, allow_pickle=False)
    except Exception as e:
        raise UsageError(f"{path}: not a readable .npy file: {one_line(e)}") from None


def _load_npz(path: Path) -> tuple[Any, Any]:
    """(x, y or None) of a `.npz`: x is `x` or `X` (else the first array that is not `y`/`Y`),
    y is `y` or `Y`."""
    try:
        with _np().load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise UsageError(f"{path}: not a readable .npz file: {one_line(e)}") from None
    xkey = next((k for k in ("x", "X") if k in arrays), None)
    if xkey is None:
        xkey = next((k for k in arrays if k not in ("y", "Y")), None)
    if xkey is None:
        raise UsageError(f"{path}: holds no input array (expected x or X)")
    ykey = next((k for k in ("y", "Y") if k in arrays), None)
    return arrays[xkey], arrays[ykey] if ykey is not None else None


def _data_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise UsageError(f"{path}: a directory with no .npy or .npz file")
    return files


def _file_element(path: Path, with_targets: bool) -> Any:
    if path.suffix.lower() == ".npy":
        return _load_npy(path)
    x, y = _load_npz(path)
    return (x, y) if with_targets and y is not None else x


def _resolve_data_attr(ref: str) -> Any:
    """`module:attr` naming arrays, a tuple, a generator (or a function returning one), a
    tf.data dataset, a DataLoader or any iterable."""
    obj = import_attr(ref)
    if callable(obj) and not _is_array(obj) and not hasattr(obj, "__iter__") and not _is_model(obj):
        try:
            obj = obj()
        except Exception as e:
            raise UsageError(f"{ref}: calling it with no arguments failed: {type(e).__name__}: "
                             f"{one_line(e)}") from None
    if _is_model(obj):
        raise UsageError(f"{ref}: a model ({type(obj).__name__}), not data")
    return obj


def data_source(ref: str, with_targets: bool) -> tuple[str, Any]:
    """(name, what to read) for DATA: a single array or (x, y) as one element, or a stream."""
    path = Path(ref)
    if path.is_dir():
        files = _data_files(path)
        return str(path), Files(files, with_targets)
    if path.exists():
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise UsageError(f"{ref}: not a .npy or .npz file")
        return str(path), _file_element(path, with_targets)
    if ":" in ref:
        return ref, _resolve_data_attr(ref)
    raise UsageError(f"{ref}: no such file or directory (and not a package.module:attr)")


class Files:
    """The .npy/.npz files of a directory as a map-style dataset: one element per file, in name
    order, read when indexed (so `validate(workers=N)` reads them in the workers)."""

    def __init__(self, files: list[Path], with_targets: bool, name: str = "") -> None:
        self.files, self.with_targets = files, with_targets
        self.stream_name = name or (str(files[0].parent) if files else "files")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Any:
        return _file_element(self.files[i], self.with_targets)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))


def as_input(model: Any, data: Any) -> Any:
    """Arrays read from files as `model`'s framework takes them (torch: tensors sharing their
    memory, `torch.from_numpy`), since a file can only hold numpy arrays; as they are for a
    framework that takes numpy arrays."""
    from ..frameworks import adapter_of

    adapter = adapter_of(model)
    as_one = getattr(getattr(adapter, "files", None), "as_input", None)
    if as_one is None:
        return data

    def convert(x: Any) -> Any:
        if isinstance(x, tuple):
            return tuple(convert(a) for a in x)
        return as_one(x)

    if isinstance(data, Files):
        return _Converted(data, convert)
    return convert(data)


class _Converted(Files):
    """A directory's files, each element converted as it is read."""

    def __init__(self, files: Files, convert: Any) -> None:
        super().__init__(files.files, files.with_targets)
        self.convert = convert

    def __getitem__(self, i: int) -> Any:
        return self.convert(super().__getitem__(i))


def is_single(obj: Any) -> bool:
    """One element: an array, or an (x, y[, sample_weight]) tuple of arrays."""
    if _is_array(obj):
        return True
    return isinstance(obj, tuple) and 2 <= len(obj) <= 3 and all(
        _is_array(a) or a is None for a in obj)


def elements(obj: Any) -> Iterable[tuple[str, Any]]:
    """(label, element) of what `data_source` gave."""
    if isinstance(obj, Files):
        for i, f in enumerate(obj.files):
            yield f.name, obj[i]
        return
    if is_single(obj):
        yield "", obj
        return
    if isinstance(obj, (str, bytes, dict)) or not (hasattr(obj, "__iter__")
                                                   or hasattr(obj, "__next__")):
        raise UsageError(f"DATA is a {type(obj).__name__}: expected arrays, an (x, y) tuple, a "
                         "generator, a tf.data dataset, a DataLoader or another iterable")
    for i, element in enumerate(obj):
        yield f"element {i}", element


def split_element(element: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) of a batch: an array is x; a tuple or list is (x, y[, w])."""
    if isinstance(element, (tuple, list)) and 2 <= len(element) <= 3 and not _is_array(element):
        items = [*element, None]
        return items[0], items[1], items[2]
    return element, None, None


# --------------------------------------------------------------------------- the spec
def parse_spec(text: str) -> Any:
    """An annotation from `Float[Array, 'batch 24 3']` or `tuple[..., ...]`, read with `ast`
    (never evaluated): a dtype name of shapecontract (`Float`, `Int`, `Shaped` ...), `Array`,
    a dim string."""
    from .._types import DTYPE_NAMES, Array, DtypeAnnotation

    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise UsageError(f"--spec {text!r} is not an annotation; write it as "
                         "\"Float[Array, 'batch 24 3']\"") from None

    def build(node: ast.expr) -> Any:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            name = node.value.id
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if name == "tuple":
                return tuple.__class_getitem__(tuple(build(i) for i in items))
            if (name in DTYPE_NAMES and len(items) == 2 and isinstance(items[0], ast.Name)
                    and items[0].id == "Array" and isinstance(items[1], ast.Constant)
                    and isinstance(items[1].value, str)):
                return DtypeAnnotation(name)[Array, items[1].value]
        raise UsageError(f"--spec {text!r}: {ast.unparse(node)!r} is not of the form "
                         "Float[Array, 'dims'] (any dtype: Float, Int, Shaped ...) or "
                         "tuple[..., ...]")

    return build(tree)


def is_tuple_spec(spec: Any) -> bool:
    import typing

    return typing.get_origin(spec) is tuple
