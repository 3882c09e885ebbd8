"""The `shapecontract` command line (layer L7): inspect, check, validate, port, scaffold, demo.

Design rules:
- argparse (the standard library): no new runtime dependency, nothing imported at start-up but
  the package itself, so `shapecontract --help` never imports a framework. A framework is
  imported only when the given file or object needs it.
- No second checker: every verdict and every text is the library's own (`contract_of`, the
  contracts' `check`, the Keras target contract `guard(model).fit(x, y)` uses, `validate`,
  `port.compare`/`transfer_weights`/`assert_equivalent`/`scaffold`, `str(error)`).
- Exit codes: 0 the contract holds, 1 it does not, 2 bad arguments. A bad argument (missing
  file, not a model, a file Keras's safe mode or torch's weights-only loading refuses, a bad
  spec) is one line on stderr, never a traceback (`SHAPECONTRACT_DEBUG=1` shows it).
- Colour and progress bars only on a terminal, and no colour when `NO_COLOR` is set.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import keyword
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

__all__ = ["UsageError", "main"]

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
DATA_SUFFIXES = (".npy", ".npz")


class UsageError(Exception):
    """A bad argument: reported as one line on stderr, exit code 2."""


# ------------------------------------------------------------------------------ output
def _colour(text: str, code: str, stream: TextIO | None = None) -> str:
    """`text` in ANSI colour `code` when `stream` is a terminal and NO_COLOR is not set."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{code}m{text}\033[0m"


def _good(text: str) -> str:
    return _colour(text, "32")


def _bad(text: str) -> str:
    return _colour(text, "31")


def _one_line(e: BaseException) -> str:
    """The first line of an exception's message (frameworks write long ones)."""
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0].strip()


# ----------------------------------------------------------------------------- loading
@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what TensorFlow's C++ runtime writes straight to fd 2 while it is imported."""
    if os.environ.get("SHAPECONTRACT_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_framework(name: str) -> Any:
    """Import keras or torch (only when a file needs it), quietly; a missing one is a usage error."""
    if name == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _quiet_stderr():
            return importlib.import_module(name)
    except ImportError as e:
        raise UsageError(f"this needs {name}, which cannot be imported ({_one_line(e)}); "
                         f"install shapecontract[{'tensorflow' if name == 'keras' else name}]"
                         ) from None


def _dotted(text: str) -> bool:
    return bool(text) and all(p.isidentifier() and not keyword.iskeyword(p)
                              for p in text.split("."))


def _import_attr(ref: str) -> Any:
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
        with _quiet_stderr():
            obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise UsageError(f"{ref}: cannot import {mod_name} ({_one_line(e)})") from None
    except Exception as e:
        raise UsageError(f"{ref}: importing {mod_name} failed: {type(e).__name__}: "
                         f"{_one_line(e)}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{ref}: {mod_name} has no attribute {attr!r}") from None
    return obj


def _is_model(obj: Any) -> bool:
    from .frameworks import adapter_of

    return adapter_of(obj) is not None and not isinstance(obj, type)


def _framework(model: Any) -> str:
    from .frameworks import adapter_of

    adapter = adapter_of(model)
    return adapter.package if adapter is not None else ""


def _call_for_model(ref: str, obj: Any) -> Any:
    """A builder function, a module class or a factory, called with no arguments."""
    try:
        return obj()
    except Exception as e:
        raise UsageError(f"{ref}: calling {getattr(obj, '__name__', ref)}() with no arguments "
                         f"failed: {type(e).__name__}: {_one_line(e)}") from None


def load_contract(ref: str) -> Any:
    """A contract saved as JSON: `contract.to_json()`, or what `inspect MODEL --json` prints
    (its `contract` field). Checking against it needs no model and no framework."""
    from ._compile import Contract
    from ._errors import ContractSyntaxError

    path = Path(ref)
    try:
        text = path.read_text()
    except OSError as e:
        raise UsageError(f"{ref}: cannot be read ({e.strerror or type(e).__name__})") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{ref}: not JSON ({_one_line(e)})") from None
    if isinstance(data, dict) and isinstance(data.get("contract"), dict):
        data = data["contract"]  # the output of `inspect --json`
    try:
        return Contract.from_dict(data)
    except ContractSyntaxError as e:
        raise UsageError(f"{ref}: not a shapecontract contract: {_one_line(e)}") from None


def load_model(ref: str, unsafe: bool = False) -> Any:
    """A Keras model or torch module from a `.keras` file, a torch file or `module:attr`."""
    path = Path(ref)
    if not path.exists():
        if ":" in ref and not ref.endswith(KERAS_SUFFIXES):
            obj = _import_attr(ref)
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
    if path.suffix.lower() in KERAS_SUFFIXES:
        return _load_keras(path, unsafe)
    return _load_torch(path, unsafe)


def _load_keras(path: Path, unsafe: bool) -> Any:
    keras = _import_framework("keras")
    try:
        with _quiet_stderr():
            return keras.saving.load_model(str(path), safe_mode=not unsafe)
    except Exception as e:
        text = str(e)
        if "safe_mode" in text or "Lambda" in text:
            raise UsageError(
                f"{path}: Keras's safe mode refuses to load it: it holds a Lambda layer (code "
                "that runs when loaded); pass --unsafe only if you trust the file") from None
        if "File not found" in text and path.is_file():  # Keras's words for a bad archive
            raise UsageError(f"{path}: not a .keras archive (a zip file Keras saved); it may be "
                             "corrupt, empty or another format") from None
        raise UsageError(f"{path}: not a Keras model file Keras can load: {type(e).__name__}: "
                         f"{_one_line(e)}") from None


def _load_torch(path: Path, unsafe: bool) -> Any:
    torch = _import_framework("torch")
    import pickle

    if unsafe and "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a whole module's class, in the user's project
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not unsafe)
    except ModuleNotFoundError as e:
        raise UsageError(f"{path}: the module it was saved from cannot be imported ({e}); run "
                         "from the project's directory or put it on PYTHONPATH") from None
    except pickle.UnpicklingError as e:
        if "unsupported global" not in str(e).lower():  # a pickled class: a whole module
            raise UsageError(f"{path}: not a torch file torch.load can read: "
                             f"{_one_line(e)}") from None
        raise UsageError(f"{path}: refused: loading it needs weights_only=False (it holds "
                         "pickled objects, e.g. a whole module), which can run arbitrary code; "
                         "pass --unsafe only if you trust the file") from None
    except Exception as e:
        raise UsageError(f"{path}: not a torch file torch.load can read: {type(e).__name__}: "
                         f"{_one_line(e)}") from None
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict):
        raise UsageError(f"{path}: a state dict (weights only: {len(obj)} entries), not a model; "
                         "name the model's module instead, as package.module:attr")
    raise UsageError(f"{path}: holds a {type(obj).__name__}, not a torch.nn.Module")


def _contract(model: Any) -> Any:
    from .frameworks import contract_of

    try:
        return contract_of(model)
    except (TypeError, ValueError) as e:
        raise UsageError(f"the model's contract cannot be derived: {_one_line(e)}") from None


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
        raise UsageError(f"{path}: not a readable .npy file: {_one_line(e)}") from None


def _load_npz(path: Path) -> tuple[Any, Any]:
    """(x, y or None) of a `.npz`: x is `x` or `X` (else the first array that is not `y`/`Y`),
    y is `y` or `Y`."""
    try:
        with _np().load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise UsageError(f"{path}: not a readable .npz file: {_one_line(e)}") from None
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
    obj = _import_attr(ref)
    if callable(obj) and not _is_array(obj) and not hasattr(obj, "__iter__") and not _is_model(obj):
        try:
            obj = obj()
        except Exception as e:
            raise UsageError(f"{ref}: calling it with no arguments failed: {type(e).__name__}: "
                             f"{_one_line(e)}") from None
    if _is_model(obj):
        raise UsageError(f"{ref}: a model ({type(obj).__name__}), not data")
    return obj


def data_source(ref: str, with_targets: bool) -> tuple[str, Any]:
    """(name, what to read) for DATA: a single array or (x, y) as one element, or a stream."""
    path = Path(ref)
    if path.is_dir():
        files = _data_files(path)
        return str(path), _Files(files, with_targets)
    if path.exists():
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise UsageError(f"{ref}: not a .npy or .npz file")
        return str(path), _file_element(path, with_targets)
    if ":" in ref:
        return ref, _resolve_data_attr(ref)
    raise UsageError(f"{ref}: no such file or directory (and not a package.module:attr)")


class _Files:
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


def _as_torch(data: Any) -> Any:
    """Arrays read from files, as torch tensors sharing their memory (`torch.from_numpy`): a
    torch model's contract takes tensors, and a file can only hold numpy arrays."""
    import torch

    def convert(x: Any) -> Any:
        if isinstance(x, tuple):
            return tuple(convert(a) for a in x)
        return torch.from_numpy(x) if isinstance(x, _np().ndarray) else x

    if isinstance(data, _Files):
        return _Converted(data, convert)
    return convert(data)


class _Converted(_Files):
    """A directory's files, each element converted as it is read."""

    def __init__(self, files: _Files, convert: Any) -> None:
        super().__init__(files.files, files.with_targets)
        self.convert = convert

    def __getitem__(self, i: int) -> Any:
        return self.convert(super().__getitem__(i))


def _is_single(obj: Any) -> bool:
    """One element: an array, or an (x, y[, sample_weight]) tuple of arrays."""
    if _is_array(obj):
        return True
    return isinstance(obj, tuple) and 2 <= len(obj) <= 3 and all(
        _is_array(a) or a is None for a in obj)


def _elements(obj: Any) -> Iterable[tuple[str, Any]]:
    """(label, element) of what `data_source` gave."""
    if isinstance(obj, _Files):
        for i, f in enumerate(obj.files):
            yield f.name, obj[i]
        return
    if _is_single(obj):
        yield "", obj
        return
    if isinstance(obj, (str, bytes, dict)) or not (hasattr(obj, "__iter__")
                                                   or hasattr(obj, "__next__")):
        raise UsageError(f"DATA is a {type(obj).__name__}: expected arrays, an (x, y) tuple, a "
                         "generator, a tf.data dataset, a DataLoader or another iterable")
    for i, element in enumerate(obj):
        yield f"element {i}", element


def _split(element: Any) -> tuple[Any, Any, Any]:
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
    from ._types import DTYPE_NAMES, Array, DtypeAnnotation

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


def _is_tuple_spec(spec: Any) -> bool:
    import typing

    return typing.get_origin(spec) is tuple


# ---------------------------------------------------------------------------- commands
def cmd_inspect(args: argparse.Namespace) -> int:
    picture = _picture_module() if (args.svg or args.html) else None
    model = load_model(args.model, args.unsafe)
    c = _contract(model)
    rows = [{"name": r.name, "type": r.kind, "input": r.input, "output": r.output}
            for r in c.layers]
    single, variadic = c.dim_names()
    if args.json:
        print(json.dumps({"contract": json.loads(c.to_json()), "layers": rows,
                          "relations": list(c.notes), "dims": single + [f"*{v}" for v in variadic]},
                         indent=2))
    else:
        from ._contract import spec_text

        kind = f"{c.framework_name} " if c.framework_name else ""
        print(f"{kind}model {c.name} (level {c.level or 'strict'})")
        print(f"contract: {c}")
        print("inputs:")
        for s in c.inputs():
            print(f"  {s.label}: {spec_text(s.spec)}")
        outs = [s for s in c.outputs() if s.kind == "array"]
        if outs:
            print("outputs:")
            for s in outs:
                print(f"  {s.label}: {spec_text(s.spec)}")
        if rows:
            print()
            table = [("layer", "type", "input", "output")]
            table += [(r["name"], r["type"], r["input"], r["output"]) for r in rows]
            widths = [max(len(t[i]) for t in table) for i in range(4)]
            lines = ["  ".join(cell.ljust(w) for cell, w in zip(t, widths)).rstrip()
                     for t in table]
            lines.insert(1, "  ".join("-" * w for w in widths))
            print("\n".join(lines))
        print()
        print("dims: " + (", ".join(single + [f"*{v}" for v in variadic]) or "none"))
        print("relations:" + ("" if c.notes else " none stated beyond the shapes above"))
        for n in c.notes:
            print(f"  {n}")
    if picture is not None:
        for target, draw in ((args.svg, picture.to_svg), (args.html, picture.to_html)):
            if target:
                Path(target).write_text(draw(c))
                print(f"wrote {target}", file=sys.stderr)
    return 0


def _picture_module() -> Any:
    try:  # the pictures are another module's (drawn from a Contract or a ShapeContractError)
        return importlib.import_module(f"{__package__}.picture")
    except ImportError as e:
        raise UsageError("--svg/--html need shapecontract.picture, which cannot be imported "
                         f"here ({_one_line(e)})") from None


def cmd_check(args: argparse.Namespace) -> int:
    from ._config import scoped
    from ._errors import ShapeContractError
    from .frameworks import adapter_of

    name, data = data_source(args.data, with_targets=True)  # a missing DATA: before the model
    if args.model.lower().endswith(".json"):  # a saved contract: no model, no framework
        model, c, targets = None, load_contract(args.model), None
    else:
        model = load_model(args.model, args.unsafe)
        c = _contract(model)
        adapter = adapter_of(model)
        targets = adapter.targets(model, c) if adapter is not None else None
    if model is not None and _framework(model) == "torch" and (
            isinstance(data, _Files) or Path(args.data).exists()):
        data = _as_torch(data)  # a file's arrays, as a torch model takes them (no copy)
    failures: list[tuple[str, Any]] = []
    n = 0
    unchecked_y = False
    with scoped(mode="raise"):
        for label, element in _elements(data):
            n += 1
            x, y, w = _split(element)
            try:
                if y is not None and targets is not None:
                    targets.check(x, y, w)  # the check guard(model).fit(x, y) makes first
                elif y is not None:
                    unchecked_y = True
                c.check(x)
            except ShapeContractError as e:
                failures.append((label, e))
                if label:  # printed as found: a long stream's first problems show at once
                    print(_bad(f"== {label}"))
                print(e, end="\n\n", flush=True)
            except (TypeError, ValueError) as e:
                raise UsageError(f"{name}{f' ({label})' if label else ''}: cannot be checked "
                                 f"against the model: {_one_line(e)}") from None
    if n == 0:
        raise UsageError(f"{name}: no elements to check")
    if unchecked_y:
        why = ("a saved contract states no loss" if model is None else
               "its compiled loss is not one shapecontract knows" if _framework(model) == "keras"
               else "a torch module states no loss")
        print(f"note: targets (y) not checked: {why}; inputs checked")
    what = f"{n} element{'s' if n != 1 else ''}" if n > 1 or failures else "the data"
    if failures:
        print(_bad(f"{name}: {len(failures)} of {n} elements violate the contract of {c.name}"))
        return 1
    print(_good(f"{name}: {what} satisfy the contract of {c.name}"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from ._errors import ContractSyntaxError
    from .pipeline import validate

    try:
        spec = parse_spec(args.spec)
    except ContractSyntaxError as e:
        raise UsageError(f"--spec {args.spec!r}: {_one_line(e)}") from None
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: at least 1")
    name, data = data_source(args.data, with_targets=_is_tuple_spec(spec))
    stream = [data] if _is_single(data) else data
    if args.workers and args.workers > 1 and not isinstance(stream, (list, _Files)) and not (
            hasattr(stream, "__len__") and hasattr(stream, "__getitem__")):
        raise UsageError(f"--workers {args.workers} reads a map-style dataset (len() and "
                         f"indexing); {name} is a {type(stream).__name__}")
    if args.workers and args.workers > 1:
        _import_framework("torch")
    try:
        report = validate(stream, spec, stable=tuple(args.stable or ()), workers=args.workers,
                          progress=sys.stderr.isatty())
    except ContractSyntaxError as e:
        raise UsageError(_one_line(e)) from None
    report.name = name  # the report names the stream by its type; the user named DATA
    text = str(report)
    print(_good(text) if report.ok else _bad(text.splitlines()[0]) + text[len(
        text.splitlines()[0]):])
    return 0 if report.ok else 1


def _port_pair(args: argparse.Namespace) -> tuple[Any, Any]:
    keras_model = load_model(args.keras, args.unsafe)
    torch_model = load_model(args.torch, args.unsafe)
    if _framework(keras_model) != "keras":
        raise UsageError(f"{args.keras}: not a Keras model (KERAS comes first)")
    if _framework(torch_model) != "torch":
        raise UsageError(f"{args.torch}: not a torch.nn.Module (TORCH comes second)")
    return keras_model, torch_model


def cmd_port(args: argparse.Namespace) -> int:
    from .port import PortMismatch, assert_equivalent, compare, transfer_weights

    keras_model, torch_model = _port_pair(args)
    report = compare(keras_model, torch_model)
    print(report)
    if not args.transfer:
        return 0 if report.ok else 1
    print()
    try:
        transfer_weights(keras_model, torch_model)
    except ValueError as e:
        print(_bad(f"transfer_weights: {e}"))
        return 1
    print("weights transferred (keras -> torch)")
    try:
        eq = assert_equivalent(keras_model, torch_model, atol=args.atol)
    except PortMismatch as e:
        print(_bad("not equivalent: ") + str(e))
        return 1
    print(_good(str(eq)))
    return 0 if report.ok else 1


def cmd_scaffold(args: argparse.Namespace) -> int:
    from .port import scaffold

    model = load_model(args.model, args.unsafe)
    to = "torch" if _framework(model) == "keras" else "keras"
    shape = None
    if args.input_shape:
        try:
            shape = tuple(int(s) for s in args.input_shape.split(","))
        except ValueError:
            raise UsageError(f"--input-shape {args.input_shape!r}: comma-separated ints, e.g. "
                             "28,28,1") from None
    try:
        print(scaffold(model, to=to, input_shape=shape), end="")
    except ValueError as e:
        raise UsageError(f"{args.model}: cannot be scaffolded: {_one_line(e)}") from None
    return 0


def cmd_infer(args: argparse.Namespace) -> int:
    """Record one real call of FUNCTION (and of the --also functions and models it reaches),
    print the inferred annotations; --diff / --apply patch the source of FUNCTION's module and
    of each --also function's module."""
    from . import infer

    func = _import_attr(args.function)
    if not callable(func):
        raise UsageError(f"{args.function}: not a function ({type(func).__name__})")
    call_args: tuple[Any, ...] = ()
    call_kwargs: dict[str, Any] = {}
    if args.args:
        given = _import_attr(args.args)
        if isinstance(given, tuple):
            call_args = given
        elif isinstance(given, dict):
            call_kwargs = given
        else:
            call_args = (given,)
    also = [_import_attr(ref) for ref in args.also or ()]
    fixed: bool | list[str] = args.fixed_dim if args.fixed_dim else bool(args.fixed)
    try:
        with _quiet_stderr():
            rec = infer.infer_call(func, call_args, call_kwargs, also=also, fixed=fixed)
    except TypeError as e:
        raise UsageError(f"{args.function}: {_one_line(e)}") from None
    if args.apply or args.diff:
        module = sys.modules.get(getattr(func, "__module__", ""), None)
        if module is None:
            raise UsageError(f"{args.function}: its module cannot be found to patch")
        # FUNCTION's module, then each --also function's (each once, in the order given)
        modules = [module]
        for obj in also:
            other = sys.modules.get(getattr(obj, "__module__", "") or "", None)
            if other is not None and other not in modules and getattr(other, "__file__", None):
                modules.append(other)
        for m in modules:
            try:
                print(rec.apply(m, diff=bool(args.diff)), end="")
            except ValueError as e:
                if m is module:
                    raise UsageError(f"{args.function}: {_one_line(e)}") from None
                print(f"note: {m.__name__} not patched: {_one_line(e)}", file=sys.stderr)
                continue
            if args.apply:
                print(f"patched {m.__file__}", file=sys.stderr)
        for note in rec.notes():  # (the printed stubs carry them as comments)
            print(f"note: {note}", file=sys.stderr)
    else:
        print(rec.source(), end="")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_stderr():
        from . import demo
    return demo.main()


# ------------------------------------------------------------------------------ parser
def _version() -> str:
    """The installed distribution's version (`shapecontract.__version__` lives in __init__, a
    layer above this module)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shapecontract")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line (argparse prints its usage too): `shapecontract check: error: ...`."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shapecontract",
                description="Array-shape contracts: inspect a model's contract, check data "
                            "against it, validate a dataset, compare a Keras model with its "
                            "PyTorch port and scaffold one, infer annotations from a real call. "
                            "Exit codes: 0 holds, 1 violated, 2 bad arguments.")
    p.add_argument("--version", action="version", version=f"shapecontract {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    model_help = ("a .keras file (Keras safe mode), a torch file (weights-only loading; a whole "
                  "module needs --unsafe) or package.module:attr (a model, a builder, a module "
                  "class or factory, called with no arguments)")
    unsafe_help = ("load files whose loading runs code: a .keras file with a Lambda layer, a "
                   "torch file holding a whole module (only for files you trust)")

    s = sub.add_parser("inspect", help="print a model's contract, its layers and relations",
                       description="Print the contract a model states, a table of its layers "
                                   "with named dims, and the relations between them.")
    s.add_argument("model", metavar="MODEL", help=model_help)
    s.add_argument("--json", action="store_true",
                   help="print the contract as JSON (Contract.from_json reads it back)")
    s.add_argument("--svg", metavar="FILE", help="draw the contract as SVG into FILE")
    s.add_argument("--html", metavar="FILE", help="draw the contract as HTML into FILE")
    s.add_argument("--unsafe", action="store_true", help=unsafe_help)
    s.set_defaults(run=cmd_inspect)

    s = sub.add_parser("check", help="check data (inputs and targets) against a model",
                       description="Check inputs and targets against the model's contract (for "
                                   "a compiled Keras model, y against its loss, as "
                                   "guard(model).fit(x, y) does); print every violation with "
                                   "its fix. Exit 0 when it holds, 1 when it does not.")
    s.add_argument("model", metavar="MODEL",
                   help=model_help + "; or a contract saved as JSON (contract.to_json(), or "
                        "the output of inspect --json): inputs checked, no model loaded")
    s.add_argument("data", metavar="DATA",
                   help="a .npy file (x), a .npz file (x or X, else the first array; y or Y), "
                        "a directory of them (one batch per file), or package.module:attr "
                        "naming arrays, an (x, y) tuple, a generator, a tf.data dataset or a "
                        "DataLoader")
    s.add_argument("--unsafe", action="store_true", help=unsafe_help)
    s.set_defaults(run=cmd_check)

    s = sub.add_parser("validate", help="validate every element of a dataset against a spec",
                       description="Read a whole dataset and report every bad element: the "
                                   "report of shapecontract.validate().")
    s.add_argument("data", metavar="DATA",
                   help="a .npy/.npz file (one element), a directory of them (one element "
                        "per file) or package.module:attr naming a stream")
    s.add_argument("--spec", required=True,
                   help="each element's annotation, e.g. \"Float[Array, 'batch 24 3']\" or "
                        "\"tuple[Float[Array, 'b 24 3'], Float[Array, 'b 1']]\" for (x, y)")
    s.add_argument("--stable", action="append", metavar="DIM",
                   help="a dim that must keep the first element's size (repeatable)")
    s.add_argument("--workers", type=int, help="read a map-style dataset in N processes")
    s.set_defaults(run=cmd_validate)

    s = sub.add_parser("port", help="compare a Keras model with its PyTorch port",
                       description="port.compare the two models; with --transfer, move the "
                                   "Keras weights into the port and check the outputs agree.")
    s.add_argument("keras", metavar="KERAS", help="the Keras model: " + model_help)
    s.add_argument("torch", metavar="TORCH", help="the PyTorch port: " + model_help)
    s.add_argument("--transfer", action="store_true",
                   help="transfer_weights(keras, torch), then assert_equivalent")
    s.add_argument("--atol", type=float, default=1e-5, help="assert_equivalent's tolerance")
    s.add_argument("--unsafe", action="store_true", help=unsafe_help)
    s.set_defaults(run=cmd_port)

    s = sub.add_parser("scaffold", help="print the source of a model's port",
                       description="Print the source of a module porting MODEL to the other "
                                   "framework (Keras -> torch nn.Module, nn.Sequential -> Keras).")
    s.add_argument("model", metavar="MODEL", help=model_help)
    s.add_argument("--input-shape", metavar="D,D,...",
                   help="nn.Sequential -> Keras: the Keras input shape without the batch axis")
    s.add_argument("--unsafe", action="store_true", help=unsafe_help)
    s.set_defaults(run=cmd_scaffold)

    s = sub.add_parser("infer", help="infer annotations from a real call",
                       description="Call FUNCTION once, recording the shapes and dtypes that "
                                   "flow through it (and through the --also functions and "
                                   "models), and print the annotations they imply; --diff "
                                   "shows them as a patch of FUNCTION's module and of the --also "
                                   "functions' modules, --apply writes it (formatting and "
                                   "comments kept).")
    s.add_argument("function", metavar="FUNCTION", help="package.module:function to call")
    s.add_argument("--args", metavar="MODULE:ATTR",
                   help="its arguments: a tuple (positional), a dict (keywords) or one value")
    s.add_argument("--also", action="append", metavar="MODULE:ATTR",
                   help="another function or a model the call reaches, to record too "
                        "(repeatable); a model names the dims it receives")
    s.add_argument("--fixed", action="store_true",
                   help="sizes that never varied become fixed sizes")
    s.add_argument("--fixed-dim", action="append", metavar="DIM",
                   help="only this dim becomes fixed (repeatable)")
    what = s.add_mutually_exclusive_group()
    what.add_argument("--diff", action="store_true", help="print the patch, change nothing")
    what.add_argument("--apply", action="store_true", help="write the patch into the source")
    s.set_defaults(run=cmd_infer)

    s = sub.add_parser("demo", help="run the seed scenarios",
                       description="The seed scenarios, each caught before a model runs.")
    s.set_defaults(run=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 holds, 1 violated, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
        return code
    except UsageError as e:
        print(f"shapecontract {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `shapecontract ... | head`: the reader left; no verdict to give
        devnull = os.open(os.devnull, os.O_WRONLY)  # (nor an error at exit, flushing stdout)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command a closed pipe ended
    except Exception as err:
        if os.environ.get("SHAPECONTRACT_DEBUG"):
            raise
        from ._errors import ContractSyntaxError

        what = "error" if isinstance(err, ContractSyntaxError) else f"error: {type(err).__name__}"
        print(f"shapecontract {args.command}: {what}: {_one_line(err)} "
              "(SHAPECONTRACT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
