"""The `shapecontract` command line (layer L8): inspect, check, validate, port, scaffold, infer,
demo. This module is the parser and `main`; `sources` reads models, contracts, data and specs;
`commands` runs each command; `_base` holds usage errors and colour.

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
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._base import UsageError, one_line
from .commands import (
    cmd_check,
    cmd_demo,
    cmd_infer,
    cmd_inspect,
    cmd_port,
    cmd_run,
    cmd_scaffold,
    cmd_validate,
    package_version,
)

__all__ = ["UsageError", "build_parser", "main"]


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
    p.add_argument("--version", action="version", version=f"shapecontract {package_version()}")
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
                                   "report of shapecontract.validate(). With --engine ray, "
                                   "the dataset is files Ray Data reads and the check runs in "
                                   "the Ray cluster's tasks, one row per element.")
    s.add_argument("data", metavar="DATA",
                   help="a .npy/.npz file (one element), a directory of them (one element "
                        "per file) or package.module:attr naming a stream; with --engine ray: "
                        "a file or directory that ray.data.read_* reads, chosen by suffix "
                        "(.parquet, .npy, .json/.jsonl, .csv, images, .tfrecords)")
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--spec",
                      help="each element's annotation, e.g. \"Float[Array, 'batch 24 3']\" or "
                           "\"tuple[Float[Array, 'b 24 3'], Float[Array, 'b 1']]\" for (x, y)")
    what.add_argument("--contract", metavar="MODEL_OR_JSON",
                      help="the input contract of a model (" + model_help + ") or a contract "
                           "saved as JSON (no framework loaded); with --engine ray each row is "
                           "checked as one sample: the input without its batch axis")
    s.add_argument("--stable", action="append", metavar="DIM",
                   help="a dim that must keep the first element's size (repeatable)")
    s.add_argument("--workers", type=int, help="read a map-style dataset in N processes; with "
                   "--engine ray and no --address: the local cluster's CPUs")
    s.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (this machine, default) or ray (a Ray cluster: a local one, or "
                        "--address)")
    s.add_argument("--address", help="--engine ray: the Ray cluster to join (e.g. auto) instead "
                                     "of starting a local one")
    s.add_argument("--column", action="append", metavar="NAME", dest="columns",
                   help="--engine ray: the column(s) that make an element (repeatable; "
                        "default: the only data column)")
    s.add_argument("--timeout", type=float, help="--engine ray: the longest wait, in seconds, "
                                                 "for the cluster's next answer")
    s.add_argument("--unsafe", action="store_true", help=unsafe_help)
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

    s = sub.add_parser("run", help="run a script, explaining a framework's shape error",
                       description="Run SCRIPT as __main__ with ARGS (as python SCRIPT ARGS "
                                   "would). An uncaught Keras, TensorFlow or PyTorch shape error "
                                   "is shown with its traceback, then explained: the layer, the "
                                   "axis, expected vs got, and fixes proven on a copy of the "
                                   "model. Exit code: the script's, 1 on an uncaught error.")
    s.add_argument("script", metavar="SCRIPT", help="the Python file to run")
    s.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="the script's own arguments")
    s.set_defaults(run=cmd_run)

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
        from .._errors import ContractSyntaxError

        what = "error" if isinstance(err, ContractSyntaxError) else f"error: {type(err).__name__}"
        print(f"shapecontract {args.command}: {what}: {one_line(err)} "
              "(SHAPECONTRACT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
