"""Real clients: equinox, lineax and optimistix's own tests, plain and under the import hook.

`make clients` (or `.venv/bin/python benchmarks/clients.py`) runs, for each client, a subset of
the test files of its public repository at the release tag matching the pinned version
(constraints.txt, the `clients` extra), twice in fresh processes:

  plain   their pytest configuration as they run it (jaxtyping's pytest plugin with beartype)
  hooked  the same, plus `shapecontract.install_import_hook("<client>")` in a conftest.py this
          script writes beside their tests/, and `--shapecontract-report` for the counts

and prints, per client: tests passed / failed / errors / skipped in each run, false alarms
(tests that pass plain and not hooked), functions hooked against the array-annotated functions
(hooked + skipped because their contract could not be built), the skips grouped by reason,
checks run, and the time ratio hooked / plain (wall clock of the whole pytest process: import,
tracing and compilation included).

Where the test files come from. The registry's sdists of these releases ship no tests/ (checked
for equinox 0.13.8, lineax 0.1.1, optimistix 0.1.0), so they come from a git repository of the
client (a clone or a mirror of patrick-kidger/<client>): `--source equinox=PATH` (or
`SHAPECONTRACT_CLIENTS_SRC=DIR` holding one repository per client, DIR/equinox, ...). Its
`tests/` and `pyproject.toml` at the release tag are extracted into `.clients/<client>-<version>/`
(gitignored; nothing fetched is committed) and reused from there. A client whose sdist does
ship tests/ is taken from the sdist (`pip download --no-binary :all:`) when no source is given.

`--imports-only` imports every module of each client under the hook (no test files needed) and
reports import failures, hooked and skipped functions: the bounded slice `make test` runs
(tests/test_clients.py). `--json FILE` writes the figures.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".clients"
HOOK_ENV = "SHAPECONTRACT_CLIENT_HOOK"
SOURCE_ENV = "SHAPECONTRACT_CLIENTS_SRC"


@dataclass(frozen=True)
class Client:
    name: str
    version: str  # pinned in constraints.txt (the `clients` extra)
    tag: str  # the release tag of its public repository
    tests: tuple[str, ...]  # the subset of its test files that is run
    slice: tuple[str, ...]  # a few tests of it, for the bounded slice of `make test`


CLIENTS = (
    Client("equinox", "0.13.8", "v0.13.8",
           ("tests/test_module.py", "tests/test_filters.py", "tests/test_tree.py",
            "tests/test_enum.py"),
           ("tests/test_filters.py",)),
    Client("lineax", "0.1.1", "v0.1.1",
           ("tests/test_misc.py", "tests/test_norm.py", "tests/test_solve.py",
            "tests/test_operator.py"),
           ("tests/test_norm.py",)),
    Client("optimistix", "0.1.0", "v0.1.0",
           ("tests/test_ad.py", "tests/test_compat.py", "tests/test_best_so_far.py",
            "tests/test_solve.py", "tests/test_misc.py", "tests/test_cauchy_point.py",
            "tests/test_lbfgs_linear_operator.py"),
           ("tests/test_best_so_far.py",)),
)

# Written beside the client's tests/: pytest loads it before their conftest and test modules.
# The package to hook comes from the environment at run time (the plain run leaves it unset).
CONFTEST = '''"""Written by shapecontract's benchmarks/clients.py: the import hook on the client."""
import os

if os.environ.get("SHAPECONTRACT_CLIENT_HOOK"):
    import shapecontract

    shapecontract.install_import_hook(os.environ["SHAPECONTRACT_CLIENT_HOOK"])
'''

# --imports-only: every module of the client imported under the hook, in a fresh process.
IMPORTS = '''
import importlib, json, pkgutil, sys, time, traceback
import shapecontract
name = sys.argv[1]
start = time.perf_counter()
hook = shapecontract.install_import_hook(name)
failures = {}
pkg = importlib.import_module(name)
names = [name] + sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, name + "."))
for mod in names:
    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] == name:
            failures[mod] = f"{type(e).__name__}: {e}"
        # else an optional dependency of that one module, not ours: left out
    except Exception as e:
        failures[mod] = "".join(traceback.format_exception_only(type(e), e)).strip()
print(json.dumps({"modules": hook.modules, "hooked": hook.hooked, "skipped": hook.skipped,
                  "opaque": hook.opaque, "opaque_only": hook.opaque_only,
                  "failures": failures, "seconds": time.perf_counter() - start}))
'''


def _env(hook: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(HOOK_ENV, None)
    if hook:
        env[HOOK_ENV] = hook
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def check_installed(c: Client) -> str | None:
    """None when the pinned version is installed, else what is wrong."""
    try:
        got = importlib.metadata.version(c.name)
    except importlib.metadata.PackageNotFoundError:
        return f"{c.name} is not installed: pip install -c constraints.txt -e '.[clients]'"
    if got != c.version:
        return (f"{c.name} {got} is installed, the harness pins {c.version} (its tests are "
                f"taken at tag {c.tag}): pip install -c constraints.txt -e '.[clients]'")
    return None


def prepare(c: Client, source: Path | None) -> Path:
    """The directory holding the client's tests/ and pyproject.toml at its release tag."""
    dest = CACHE / f"{c.name}-{c.version}"
    if (dest / "tests").is_dir() and (dest / "pyproject.toml").is_file():
        return dest
    tmp = Path(tempfile.mkdtemp(prefix=f"{c.name}-", dir=_mkcache()))
    try:
        if source is not None:
            if not (source / ".git").exists() and not (source / "HEAD").is_file():
                raise SystemExit(f"--source {c.name}={source}: not a git repository")
            archive = subprocess.run(
                ["git", "-C", str(source), "archive", "--format=tar", c.tag, "tests",
                 "pyproject.toml"], capture_output=True, check=False)
            if archive.returncode:
                raise SystemExit(f"git archive {c.tag} in {source}: "
                                 f"{archive.stderr.decode(errors='replace').strip()}")
            (tmp / "src.tar").write_bytes(archive.stdout)
            with tarfile.open(tmp / "src.tar") as tar:
                tar.extractall(tmp / "out", filter="data")
            out = tmp / "out"
        else:
            out = _from_sdist(c, tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(str(out), str(dest))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _mkcache() -> Path:
    CACHE.mkdir(exist_ok=True)
    return CACHE


def _from_sdist(c: Client, tmp: Path) -> Path:
    """tests/ from the registry's sdist, when the release ships them (these three do not)."""
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                          "--no-binary", ":all:", "-d", str(tmp), f"{c.name}=={c.version}"],
                         capture_output=True, text=True, check=False)
    sdists = sorted(tmp.glob("*.tar.gz"))
    if got.returncode or not sdists:
        raise SystemExit(f"pip download {c.name}=={c.version}: {got.stderr.strip()}")
    with tarfile.open(sdists[0]) as tar:
        tar.extractall(tmp / "sdist", filter="data")
    (top,) = (tmp / "sdist").iterdir()
    if not (top / "tests").is_dir():
        raise SystemExit(
            f"the sdist of {c.name} {c.version} ships no tests/: give a git repository of "
            f"{c.name} (a clone of patrick-kidger/{c.name}) with --source {c.name}=PATH or "
            f"{SOURCE_ENV}=DIR (DIR/{c.name}); its tests at tag {c.tag} are used")
    return top


def run_pytest(where: Path, files: tuple[str, ...], hook: str | None, tag: str,
               report: Path | None) -> dict[str, Any]:
    """One pytest process on `files`: outcomes per test (junit XML) and wall time."""
    (where / "conftest.py").write_text(CONFTEST)
    xml = where / f".{tag}.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
           "junit_family=xunit1", f"--junitxml={xml}", *files]
    if report is not None:
        cmd.append(f"--shapecontract-report={report}")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=where, env=_env(hook), capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    (where / f".{tag}.log").write_text(proc.stdout + proc.stderr)
    outcomes = _outcomes(xml) if xml.exists() else {}
    counts = {k: sum(1 for v in outcomes.values() if v == k)
              for k in ("passed", "failed", "error", "skipped")}
    return {"seconds": seconds, "exit": proc.returncode, "counts": counts, "outcomes": outcomes,
            "tail": (proc.stdout.strip().splitlines() or [""])[-1]}


def _outcomes(xml: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        if "error" in tags:
            # an error in setup or teardown of a test that passed is still an error
            out[key] = "error"
        elif "failure" in tags:
            out[key] = "failed"
        elif "skipped" in tags:
            out[key] = "skipped"
        else:
            out[key] = "passed"
    return out


def hook_figures(hooks: list[dict[str, Any]]) -> dict[str, Any]:
    """Hooked functions against array-annotated ones, and the skips by reason."""
    hooked = sorted({n for h in hooks for n in h["hooked"]})
    skipped = {n: why for h in hooks for n, why in h["skipped"]}
    unbuilt = {n: why for n, why in skipped.items() if why.startswith("contract not built")}
    unresolved = {n: why for n, why in skipped.items() if why.startswith("annotations not")}
    annotated = len(hooked) + len(unbuilt)
    opaque_only = sorted({n for h in hooks for n in h.get("opaque_only", ())})
    checked = len(hooked) - len(opaque_only)
    return {
        "hooked": len(hooked), "array_annotated": annotated,
        "percent": 100.0 * len(hooked) / annotated if annotated else 100.0,
        "checked": checked, "opaque_only": opaque_only,
        "percent_checked": 100.0 * checked / annotated if annotated else 100.0,
        "opaque_params": len({tuple(p) for h in hooks for p in h.get("opaque", ())}),
        "skipped": unbuilt, "unresolved": unresolved,
        "skips_by_reason": _by_reason(unbuilt),
    }


def _by_reason(skips: dict[str, str]) -> dict[str, int]:
    """Skips grouped by the kind of annotation that stopped them."""
    kinds: dict[str, int] = {}
    for why in skips.values():
        if "a union may hold one array spec" in why:
            if "Key[" in why:
                kind = "union of key arrays (PRNGKeyArray: Key[Array, ''] | UInt32[Array, '2'] ...)"
            elif any(t in why for t in ("numpy.number", "numpy.bool", " float", " int", " bool")):
                kind = "union of arrays and scalars (ArrayLike, ScalarLike, ...)"
            else:
                kind = "union of arrays of different shapes"
        elif "arrays inside <class 'collections.abc.Callable'>" in why:
            kind = "arrays inside Callable[...]"
        elif "variable-length tuples" in why:
            kind = "tuple[Array, ...]"
        elif "arrays inside" in why:
            kind = "arrays inside a generic (" + why.split("arrays inside ", 1)[1].split(
                " are not", 1)[0] + ")"
        else:
            kind = why.split(": ", 2)[-1][:80]
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def imports_only(c: Client) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", IMPORTS, c.name], env=_env(None),
                          capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    if proc.returncode:
        return {"client": c.name, "error": proc.stderr.strip().splitlines()[-1:]}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    figures = hook_figures([data])
    return {"client": c.name, "version": c.version, "modules": len(data["modules"]),
            "import_failures": data["failures"], "seconds": round(data["seconds"], 2), **figures}


def run_client(c: Client, source: Path | None, files: tuple[str, ...], repeat: int
               ) -> dict[str, Any]:
    where = prepare(c, source)
    report = where / ".report.json"
    plain: list[dict[str, Any]] = []
    hooked: list[dict[str, Any]] = []
    for _ in range(repeat):  # interleaved, so that a busy moment hits both
        plain.append(run_pytest(where, files, None, "plain", None))
        report.unlink(missing_ok=True)
        hooked.append(run_pytest(where, files, c.name, "hooked", report))
    p, h = plain[-1], hooked[-1]
    data = json.loads(report.read_text()) if report.exists() else None
    figures = hook_figures([x for x in (data or {}).get("import_hooks", [])
                            if c.name in x["packages"]])
    alarms = sorted(k for k, v in p["outcomes"].items()
                    if v == "passed" and h["outcomes"].get(k) != "passed")
    tp = sorted(r["seconds"] for r in plain)[len(plain) // 2]
    th = sorted(r["seconds"] for r in hooked)[len(hooked) // 2]
    return {
        "client": c.name, "version": c.version, "tag": c.tag, "files": list(files),
        "plain_tests": p["counts"], "hooked_tests": h["counts"],
        "plain_tail": p["tail"], "hooked_tail": h["tail"],
        "false_alarms": alarms, "seconds_plain": round(tp, 2), "seconds_hooked": round(th, 2),
        "time_ratio": round(th / tp, 3) if tp else None,
        "checks": (data or {}).get("checks", {}).get("total"),
        "functions_called": (data or {}).get("functions", {}).get("called"),
        **figures,
    }


def _print_run(r: dict[str, Any]) -> None:
    p, h = r["plain_tests"], r["hooked_tests"]
    print(f"\n{r['client']} {r['version']} (tests at {r['tag']}: {', '.join(r['files'])})")
    print(f"  plain : {p['passed']} passed, {p['failed']} failed, {p['error']} errors, "
          f"{p['skipped']} skipped in {r['seconds_plain']:.1f} s")
    print(f"  hooked: {h['passed']} passed, {h['failed']} failed, {h['error']} errors, "
          f"{h['skipped']} skipped in {r['seconds_hooked']:.1f} s  (ratio {r['time_ratio']})")
    print(f"  false alarms (pass plain, not hooked): {len(r['false_alarms'])}")
    for name in r["false_alarms"]:
        print(f"    {name}")
    _print_hook(r)
    print(f"  checks run: {r['checks']} ({r['functions_called']} hooked functions called)")


def _print_hook(r: dict[str, Any]) -> None:
    print(f"  functions hooked: {r['hooked']} of {r['array_annotated']} array-annotated "
          f"({r['percent']:.1f}%); annotations not resolved: {len(r['unresolved'])}")
    print(f"  with an array checked: {r['checked']} of {r['array_annotated']} "
          f"({r['percent_checked']:.1f}%); opaque only (arrays inside Callable[...] or a user "
          f"generic, other parameters checked): {len(r['opaque_only'])}; opaque parameters: "
          f"{r['opaque_params']}")
    for kind, n in r["skips_by_reason"].items():
        print(f"    skipped {n}: {kind}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("clients", nargs="*", help="equinox, lineax, optimistix (default: all)")
    ap.add_argument("--source", action="append", default=[], metavar="CLIENT=PATH",
                    help="a git repository of the client (its tests are taken at the tag)")
    ap.add_argument("--imports-only", action="store_true",
                    help="import every module under the hook; no test files needed")
    ap.add_argument("--slice", action="store_true",
                    help="run the few tests of each client's slice (make test)")
    ap.add_argument("--repeat", type=int, default=1, help="plain/hooked runs per client "
                    "(interleaved; the median time is reported)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--verbose", action="store_true", help="list every skipped function")
    args = ap.parse_args(argv)
    chosen = [c for c in CLIENTS if not args.clients or c.name in args.clients]
    unknown = set(args.clients) - {c.name for c in CLIENTS}
    if unknown:
        ap.error(f"unknown clients {sorted(unknown)}; known: {[c.name for c in CLIENTS]}")
    sources: dict[str, Path] = {}
    base = os.environ.get(SOURCE_ENV)
    if base:
        sources.update({c.name: Path(base) / c.name for c in CLIENTS
                        if (Path(base) / c.name).exists()})
    for item in args.source:
        name, _, path = item.partition("=")
        if not path:
            ap.error(f"--source {item!r}: expected CLIENT=PATH")
        sources[name] = Path(path).expanduser()
    results = []
    for c in chosen:
        problem = check_installed(c)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        if args.imports_only:
            r = imports_only(c)
            results.append(r)
            if "error" in r:
                print(f"\n{c.name}: the import script failed: {r['error']}")
                continue
            print(f"\n{c.name} {c.version}: {r['modules']} modules imported under the hook in "
                  f"{r['seconds']:.1f} s, import failures: {len(r['import_failures'])}")
            for mod, why in r["import_failures"].items():
                print(f"    {mod}: {why}")
            _print_hook(r)
        else:
            r = run_client(c, sources.get(c.name), c.slice if args.slice else c.tests,
                           args.repeat)
            results.append(r)
            _print_run(r)
        if args.verbose:
            for name, why in r.get("skipped", {}).items():
                print(f"      {name}: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
