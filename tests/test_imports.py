"""`import shapecontract` imports no framework (numpy, torch, TensorFlow, Keras, jax)."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("numpy", "torch", "tensorflow", "keras", "jax", "jaxtyping", "ray", "datasets",
              "pyarrow", "pandas")


def _loaded_after(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(' '.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_loads_no_framework() -> None:
    """A fresh `import shapecontract` leaves every framework unimported."""
    assert _loaded_after("import shapecontract") == []


def test_the_probe_can_fail() -> None:
    """Meta-test: the same probe does see a framework that was imported."""
    assert "numpy" in _loaded_after("import shapecontract, numpy")


def test_decorating_with_array_annotations_does_not_import_torch_or_tf() -> None:
    """Writing and decorating annotations loads jaxtyping (and its numpy), not torch or TF."""
    loaded = _loaded_after(
        "from shapecontract import Array, Float, contract\n"
        "@contract\n"
        "def f(x: Float[Array, 'b t']): return x\n"
    )
    assert "torch" not in loaded and "tensorflow" not in loaded and "keras" not in loaded


def test_public_api_is_honest() -> None:
    """Every name in __all__ exists, and __all__ is sorted."""
    import shapecontract

    for name in shapecontract.__all__:
        assert hasattr(shapecontract, name), name
    assert shapecontract.__all__ == sorted(shapecontract.__all__)


def _modules_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = code + f"\nimport sys\nprint(' '.join(m for m in {names!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


LAZY = ("shapecontract.port", "shapecontract.infer", "shapecontract.picture")


def test_port_infer_picture_load_on_first_use() -> None:
    """`import shapecontract` does not load port, infer or picture; naming one loads it."""
    assert _modules_after("import shapecontract", LAZY) == []
    assert _modules_after("import shapecontract\nshapecontract.port.compare", LAZY) == [
        "shapecontract.port"]
    assert _modules_after("from shapecontract import infer", LAZY) == ["shapecontract.infer"]


def test_a_contract_draws_in_a_notebook_without_importing_picture() -> None:
    """The notebook renderer loads picture when a contract is first drawn."""
    out = _modules_after(
        "import shapecontract as sc\n"
        "@sc.contract\n"
        "def f(x: sc.Float[sc.Array, 'b 3']): return x\n"
        "c = sc.contract_of(f)\n"
        "html = c._repr_html_()\n"
        "assert html and '<svg' in html, html\n", LAZY)
    assert out == ["shapecontract.picture"]
