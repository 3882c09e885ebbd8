"""The layered core of DESIGN.md: no module imports upward, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "shapecontract"

LAYERS: dict[str, float] = {
    "_errors": 0, "_config": 0, "_coverage": 0, "backends": 0, "_render": 0,
    "_dims": 1,
    "_spec": 2, "_hints": 2, "_types": 2,
    "_slot": 3, "_contract": 3, "_serial": 3,
    "_evaluate": 4, "_suggest": 4, "fixes": 4,
    "_compile": 5,
    "_export": 5,
    "_stream": 5.5,  # a stream's contract and checked iterators: the frameworks' data build on it
    "frameworks": 6,
    # L7 has floors: streams, port, picture < guard < decorator < what decorates for you
    "pipeline": 7.0, "_validate": 7.0, "_compatible": 7.0, "port": 7.0, "picture": 7.0,
    "repair": 7.0, "explain": 7.0, "_proven": 7.05,
    "_guard": 7.1,
    "_decorator": 7.2,
    "infer": 7.3, "demo": 7.3,
    # L8: entry points
    "_hook": 8, "pytest_plugin": 8, "cli": 8, "__main__": 8, "__init__": 8,
}
"""Top-level module or package of shapecontract -> its layer (DESIGN.md; docs/development.md)."""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return ".".join(rel.parts)


def _layer(name: str) -> float:
    top = name.split(".")[0]
    if top not in LAYERS:
        raise KeyError(f"shapecontract.{name} has no layer: add it to LAYERS in {__file__}")
    return LAYERS[top]


def imports_of(source: str, module: str) -> list[tuple[int, str]]:
    """(line, imported shapecontract module) for every import in `source`, function bodies
    included; relative imports resolved against `module` (dotted, inside the package)."""
    out = []
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None or not target:
                    out += [(node.lineno, ".".join([*base, a.name])) for a in node.names]
                else:
                    out.append((node.lineno, ".".join(target)))
            elif node.module and node.module.split(".")[0] == "shapecontract":
                out.append((node.lineno, node.module.partition(".")[2] or "__init__"))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "shapecontract":
                    out.append((node.lineno, a.name.partition(".")[2] or "__init__"))
    return out


def upward_edges(files: dict[str, str]) -> list[str]:
    bad = []
    for module, source in files.items():
        here = _layer(module)
        for line, target in imports_of(source, module):
            if target and _layer(target) > here:
                bad.append(f"{module}:{line} imports {target} (layer {here} -> {_layer(target)})")
    return bad


def _package_files() -> dict[str, str]:
    return {_module_name(p): p.read_text() for p in PKG.rglob("*.py")}


def test_no_module_imports_upward() -> None:
    """Every import in the package (function bodies included) points to the same or a lower layer."""
    files = _package_files()
    assert len(files) > 15
    assert upward_edges(files) == []


def test_every_module_has_a_layer() -> None:
    """A new module must be placed in a layer before it can land."""
    for module in _package_files():
        _layer(module)


def test_the_layering_check_can_fail() -> None:
    """Meta-test: an import of the compiler from inside a function of the contracts is caught."""
    files = _package_files()
    files["_contract"] += "\n\ndef sneaky():\n    from ._compile import compile_checker\n"
    files["_dims"] += "\n\ndef sneaky():\n    import shapecontract.frameworks.torch\n"
    files["pipeline"] += "\n\ndef sneaky():\n    from ._guard import guard\n"
    files["_guard"] += "\n\ndef sneaky():\n    from . import _decorator\n"
    bad = upward_edges(files)
    assert any(b.startswith("_contract:") and "_compile" in b for b in bad)
    assert any(b.startswith("_dims:") and "frameworks.torch" in b for b in bad)
    assert any(b.startswith("pipeline:") and "_guard" in b for b in bad)  # floors inside L7
    assert any(b.startswith("_guard:") and "_decorator" in b for b in bad)


@pytest.mark.parametrize("source, module, expected", [
    ("from .. import _errors", "frameworks.keras", "_errors"),
    ("from .._spec import ArraySpec", "frameworks.keras", "_spec"),
    ("from . import keras", "frameworks.__init__", "frameworks.keras"),
    ("from ._spec import X", "_contract", "_spec"),
])
def test_relative_imports_resolve(source: str, module: str, expected: str) -> None:
    """The walker resolves relative imports the way Python does."""
    assert [t for _, t in imports_of(source, module)] == [expected]


def test_table_lookup_cache_cannot_confuse_two_tables() -> None:
    """A table that is a temporary dict may get the id of a freed one: the lookup cache keeps
    each table alive and checks it on a hit (found by helper-7: a Conv2d chain was looked up
    in an earlier table)."""
    import torch

    from shapecontract.frameworks._table import lookup

    conv = torch.nn.Conv2d(1, 1, 1)
    hits = [lookup(conv, {"Conv2d": n}, "torch") for n in range(50)]
    assert hits == list(range(50))


def import_cycles(files: dict[str, str]) -> list[list[str]]:
    """Cycles among the package's modules (each module to the modules it imports, function
    bodies included): a module that reaches itself again."""
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, source in files.items():
        for _, target in imports_of(source, module):
            while target and target not in files:  # `from . import x` names a module or a name
                target = target.rpartition(".")[0]
            if target and target != module:
                graph[module].add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append([*path[path.index(n):], n])
            elif n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def test_no_import_cycle() -> None:
    """No module reaches itself through imports (function bodies included): the layers are a
    tree of dependencies, within a layer too."""
    assert import_cycles(_package_files()) == []


def test_the_cycle_check_can_fail() -> None:
    """A two-module cycle is found."""
    files = {"a": "from . import b\n", "b": "def f():\n    from . import a\n"}
    assert import_cycles(files) == [["a", "b", "a"]]


FRAMEWORK_PACKAGES = ("torch", "tensorflow", "keras", "jax", "jaxlib", "flax", "ray", "datasets")
"""What the core must not import or look up by name: the frameworks the adapters stand for."""


def framework_mentions(source: str) -> list[tuple[int, str]]:
    """(line, what) for every import of a framework package and every string constant that
    is one's name or a dotted path into one (`sys.modules["torch"]`, `package == "keras"`,
    `"torch.nn"`): the ways code can reach a framework. Prose (a fix's text, a docstring) may
    mention one; a string that is only a package name is code asking for it."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names
                    if a.name.split(".")[0] in FRAMEWORK_PACKAGES]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in FRAMEWORK_PACKAGES:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            v = node.value
            if v in FRAMEWORK_PACKAGES or (
                    "." in v and v.split(".")[0] in FRAMEWORK_PACKAGES and " " not in v
                    and "(" not in v and v.replace(".", "").replace("_", "").isalnum()):
                out.append((node.lineno, repr(v)))
    return out


def _core_mentions(files: dict[str, str]) -> list[str]:
    return [f"{m}:{line} {what}" for m, source in sorted(files.items())
            if _layer(m) < LAYERS["frameworks"]
            for line, what in framework_mentions(source)]


def test_no_module_below_the_adapters_reaches_a_framework() -> None:
    """Below L6 nothing imports torch, tensorflow, keras or jax, or looks one up by name: the
    core asks the framework packages (frameworks/<name>/) through their registries."""
    assert _core_mentions(_package_files()) == []


def test_the_framework_check_can_fail() -> None:
    """Meta-test: an import inside a function, and a lookup by name, are both caught."""
    files = {"_dims": "def f():\n    import torch.nn\n",
             "_spec": "import sys\nT = sys.modules.get('tensorflow')\nok = 'see keras.utils.x()'\n"}
    assert _core_mentions(files) == ["_dims:2 torch.nn", "_spec:2 'tensorflow'"]


CORE_ABOVE_THE_ADAPTERS = ("pipeline", "_stream", "_validate", "_compatible", "_guard",
                           "_decorator")
"""The core modules of L7 (streams, validate, compatible, guard, decorator; `_stream` is below
L6 and held by the test above as well): they reach a framework's data sources and entry points
through `frameworks.sources` and the adapter rows, never by its name."""

def _core_l7_mentions(files: dict[str, str]) -> list[str]:
    return [f"{m}:{line} {what}" for m, source in sorted(files.items())
            if m.split(".")[0] in CORE_ABOVE_THE_ADAPTERS
            for line, what in framework_mentions(source)]


def test_the_core_above_the_adapters_names_no_framework() -> None:
    """pipeline (streams, validate, compatible), _guard and _decorator import no framework and
    look none up by name (`sys.modules.get("tensorflow")`, `import torch.utils.data`): a
    framework's data sources and entry points live in its package (frameworks/<name>/data.py,
    guard.py, keras/fit.py) and are asked by capability."""
    files = _package_files()
    assert all(any(m.split(".")[0] == c for m in files) for c in CORE_ABOVE_THE_ADAPTERS)
    assert _core_l7_mentions(files) == []


def test_the_core_l7_check_can_fail() -> None:
    """Meta-test: a lookup by name, an import inside a function and a framework's type read
    through sys.modules are caught in the L7 core."""
    files = {"pipeline": "import sys\ntf = sys.modules.get('tensorflow')\n",
             "_validate": "def f():\n    from torch.utils.data import DataLoader\n",
             "_guard": "def f(x):\n    import keras\n    return isinstance(x, keras.Model)\n",
             "_decorator": "where = 'torch'\nwhat = 'jax'\n",
             "port.rules": "import torch\n"}  # port is L7 too, but not the core: not checked
    assert _core_l7_mentions(files) == [
        "_decorator:1 'torch'", "_decorator:2 'jax'", "_guard:2 keras", "_validate:2 torch.utils.data",
        "pipeline:2 'tensorflow'"]
