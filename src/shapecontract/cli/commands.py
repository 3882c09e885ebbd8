"""The commands (layer L8): inspect, check, validate, port, scaffold, infer, demo. Each returns its
exit code: 0 the contract holds, 1 it does not (2, bad arguments, is raised as `UsageError`)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ._base import UsageError, bad, good, import_framework, one_line, quiet_stderr
from .sources import (
    Files,
    as_input,
    data_source,
    elements,
    framework_of,
    import_attr,
    is_single,
    is_tuple_spec,
    load_contract,
    load_model,
    model_contract,
    parse_spec,
    split_element,
)


# ---------------------------------------------------------------------------- commands
def cmd_inspect(args: argparse.Namespace) -> int:
    picture = _picture_module() if (args.svg or args.html) else None
    model = load_model(args.model, args.unsafe)
    c = model_contract(model)
    rows = [{"name": r.name, "type": r.kind, "input": r.input, "output": r.output}
            for r in c.layers]
    single, variadic = c.dim_names()
    if args.json:
        print(json.dumps({"contract": json.loads(c.to_json()), "layers": rows,
                          "relations": list(c.notes), "dims": single + [f"*{v}" for v in variadic]},
                         indent=2))
    else:
        from .._contract import spec_text

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
        return importlib.import_module("shapecontract.picture")
    except ImportError as e:
        raise UsageError("--svg/--html need shapecontract.picture, which cannot be imported "
                         f"here ({one_line(e)})") from None


def cmd_check(args: argparse.Namespace) -> int:
    from .._config import scoped
    from .._errors import ShapeContractError
    from ..frameworks import adapter_of

    name, data = data_source(args.data, with_targets=True)  # a missing DATA: before the model
    if args.model.lower().endswith(".json"):  # a saved contract: no model, no framework
        model, c, targets = None, load_contract(args.model), None
    else:
        model = load_model(args.model, args.unsafe)
        c = model_contract(model)
        adapter = adapter_of(model)
        targets = adapter.targets(model, c) if adapter is not None else None
    if model is not None and (isinstance(data, Files) or Path(args.data).exists()):
        data = as_input(model, data)  # a file's arrays, as the model takes them (no copy)
    failures: list[tuple[str, Any]] = []
    n = 0
    unchecked_y = False
    with scoped(mode="raise"):
        for label, element in elements(data):
            n += 1
            x, y, w = split_element(element)
            try:
                if y is not None and targets is not None:
                    targets.check(x, y, w)  # the check guard(model).fit(x, y) makes first
                elif y is not None:
                    unchecked_y = True
                c.check(x)
            except ShapeContractError as e:
                failures.append((label, e))
                if label:  # printed as found: a long stream's first problems show at once
                    print(bad(f"== {label}"))
                print(e, end="\n\n", flush=True)
            except (TypeError, ValueError) as e:
                raise UsageError(f"{name}{f' ({label})' if label else ''}: cannot be checked "
                                 f"against the model: {one_line(e)}") from None
    if n == 0:
        raise UsageError(f"{name}: no elements to check")
    if unchecked_y:
        why = ("a saved contract states no loss" if model is None else
               "its compiled loss is not one shapecontract knows" if framework_of(model) == "keras"
               else "a torch module states no loss")
        print(f"note: targets (y) not checked: {why}; inputs checked")
    what = f"{n} element{'s' if n != 1 else ''}" if n > 1 or failures else "the data"
    if failures:
        print(bad(f"{name}: {len(failures)} of {n} elements violate the contract of {c.name}"))
        return 1
    print(good(f"{name}: {what} satisfy the contract of {c.name}"))
    return 0


def _validate_spec(args: argparse.Namespace) -> Any:
    """--spec parsed, or --contract's contract (a saved JSON contract: no framework; a model:
    its framework, here only)."""
    from .._errors import ContractSyntaxError

    if args.spec is not None:
        try:
            return parse_spec(args.spec)
        except ContractSyntaxError as e:
            raise UsageError(f"--spec {args.spec!r}: {one_line(e)}") from None
    if args.contract.lower().endswith(".json"):
        return load_contract(args.contract)
    return model_contract(load_model(args.contract, args.unsafe))


def cmd_validate(args: argparse.Namespace) -> int:
    from .._errors import ContractSyntaxError
    from ..pipeline import validate

    spec = _validate_spec(args)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout}: a positive number of seconds")
    if args.engine == "ray":
        return _validate_on_ray(args, spec)
    for flag, given in (("--address", args.address), ("--column", args.columns),
                        ("--timeout", args.timeout)):
        if given is not None:
            raise UsageError(f"{flag} is for --engine ray")
    name, data = data_source(args.data, with_targets=is_tuple_spec(spec))
    stream = [data] if is_single(data) else data
    if args.workers and args.workers > 1 and not isinstance(stream, (list, Files)) and not (
            hasattr(stream, "__len__") and hasattr(stream, "__getitem__")):
        raise UsageError(f"--workers {args.workers} reads a map-style dataset (len() and "
                         f"indexing); {name} is a {type(stream).__name__}")
    if args.workers and args.workers > 1:
        import_framework("torch", "torch")  # validate runs workers in a DataLoader
    try:
        report = validate(stream, spec, stable=tuple(args.stable or ()), workers=args.workers,
                          progress=sys.stderr.isatty())
    except ContractSyntaxError as e:
        raise UsageError(one_line(e)) from None
    report.name = name  # the report names the stream by its type; the user named DATA
    return _print_report(report)


def _print_report(report: Any) -> int:
    text = str(report)
    print(good(text) if report.ok else bad(text.splitlines()[0]) + text[len(
        text.splitlines()[0]):])
    return 0 if report.ok else 1


def _validate_on_ray(args: argparse.Namespace, spec: Any) -> int:
    """DATA read by Ray Data, checked in the cluster's tasks, one row per element. A file that
    cannot be read fails its own read task only; the report names it as a fault."""
    from .._errors import ContractSyntaxError, ShapeContractError
    from ..frameworks.files import LoadError
    from ..frameworks.ray import files as ray_files
    from ..frameworks.sources import Fault
    from ..pipeline import validate

    if args.workers is not None and args.address:
        raise UsageError("--workers sizes a local cluster; with --address the cluster is given")
    try:
        kind, files = ray_files.files_of(args.data)
    except LoadError as e:
        raise UsageError(str(e)) from None
    columns = None if not args.columns else (
        args.columns[0] if len(args.columns) == 1 else tuple(args.columns))
    try:
        started = ray_files.connect(args.address, args.workers)
    except LoadError as e:
        raise UsageError(str(e)) from None
    try:
        with ray_files.Errors() as errors:
            try:
                ds = ray_files.read(kind, files)
                report = validate(ds, spec, stable=tuple(args.stable or ()), columns=columns,
                                  timeout=args.timeout, progress=sys.stderr.isatty())
            except LoadError as e:
                raise UsageError(str(e)) from None
            except ContractSyntaxError as e:
                raise UsageError(one_line(e)) from None
            except ShapeContractError as e:  # the columns do not fit the spec
                if e.violations and e.violations[0].kind == "message":
                    raise UsageError(one_line(e)) from None
                raise
    finally:
        ray_files.disconnect(started)
    if report.sources or report.elements == 0:  # rows name their file: a file with none
        unread = ray_files.unread(files, report.sources)
        report.faults = [Fault(f"file {f}", "its rows (none read)",
                               ray_files.cause_of(f, errors.messages, len(unread)))
                         for f in unread] + report.faults
    report.name = args.data
    code = _print_report(report)
    if report.failing:
        print("failing rows by file: " + "; ".join(
            f"{f} {n} of {report.sources.get(f, n)}" for f, n in report.failing.items()))
    if report.sizes:
        sizes = "; ".join(f"{d} " + ", ".join(f"{size} ({count} rows)" for size, count in
                                               per.items()) for d, per in report.sizes.items())
        print(f"dims over the good rows: {sizes}")
    return code


def _port_pair(args: argparse.Namespace) -> tuple[Any, Any]:
    keras_model = load_model(args.keras, args.unsafe)
    torch_model = load_model(args.torch, args.unsafe)
    if framework_of(keras_model) != "keras":
        raise UsageError(f"{args.keras}: not a Keras model (KERAS comes first)")
    if framework_of(torch_model) != "torch":
        raise UsageError(f"{args.torch}: not a torch.nn.Module (TORCH comes second)")
    return keras_model, torch_model


def cmd_port(args: argparse.Namespace) -> int:
    from ..port import PortMismatch, assert_equivalent, compare, transfer_weights

    keras_model, torch_model = _port_pair(args)
    report = compare(keras_model, torch_model)
    print(report)
    if not args.transfer:
        return 0 if report.ok else 1
    print()
    try:
        transfer_weights(keras_model, torch_model)
    except ValueError as e:
        print(bad(f"transfer_weights: {e}"))
        return 1
    print("weights transferred (keras -> torch)")
    try:
        eq = assert_equivalent(keras_model, torch_model, atol=args.atol)
    except PortMismatch as e:
        print(bad("not equivalent: ") + str(e))
        return 1
    print(good(str(eq)))
    return 0 if report.ok else 1


def cmd_scaffold(args: argparse.Namespace) -> int:
    from ..port import scaffold

    model = load_model(args.model, args.unsafe)
    to = "torch" if framework_of(model) == "keras" else "keras"
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
        raise UsageError(f"{args.model}: cannot be scaffolded: {one_line(e)}") from None
    return 0


def cmd_infer(args: argparse.Namespace) -> int:
    """Record one real call of FUNCTION (and of the --also functions and models it reaches),
    print the inferred annotations; --diff / --apply patch the source of FUNCTION's module and
    of each --also function's module."""
    from .. import infer

    func = import_attr(args.function)
    if not callable(func):
        raise UsageError(f"{args.function}: not a function ({type(func).__name__})")
    call_args: tuple[Any, ...] = ()
    call_kwargs: dict[str, Any] = {}
    if args.args:
        given = import_attr(args.args)
        if isinstance(given, tuple):
            call_args = given
        elif isinstance(given, dict):
            call_kwargs = given
        else:
            call_args = (given,)
    also = [import_attr(ref) for ref in args.also or ()]
    fixed: bool | list[str] = args.fixed_dim if args.fixed_dim else bool(args.fixed)
    try:
        with quiet_stderr():
            rec = infer.infer_call(func, call_args, call_kwargs, also=also, fixed=fixed)
    except TypeError as e:
        raise UsageError(f"{args.function}: {one_line(e)}") from None
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
                    raise UsageError(f"{args.function}: {one_line(e)}") from None
                print(f"note: {m.__name__} not patched: {one_line(e)}", file=sys.stderr)
                continue
            if args.apply:
                print(f"patched {m.__file__}", file=sys.stderr)
        for note in rec.notes():  # (the printed stubs carry them as comments)
            print(f"note: {note}", file=sys.stderr)
    else:
        print(rec.source(), end="")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a script as `__main__`; its uncaught error is shown, then explained (exit code 1)."""
    if not os.path.isfile(args.script):
        raise UsageError(f"{args.script}: no such file")
    from ..explain import run_script

    return run_script(args.script, list(args.args))


def cmd_demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr():
        from .. import demo
    return demo.main()


def package_version() -> str:
    """The installed distribution's version (`shapecontract.__version__` lives in __init__, a
    layer above this module)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shapecontract")
    except PackageNotFoundError:
        return "unknown (not installed)"
