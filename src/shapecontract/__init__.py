"""shapecontract: array-shape contracts that fail early and explain themselves.

```python
from shapecontract import Array, Float, contract

@contract
def make_windows(series: Float[Array, "samples features"], timesteps: int
                 ) -> Float[Array, "windows timesteps features"]: ...
```

`import shapecontract` imports no array framework (and not jaxtyping, which imports numpy):
frameworks are touched only when an object of theirs shows up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _proven as _proven  # proven repairs join a guard's errors
from . import _render
from ._compile import Contract
from ._config import config, get_mode, reset_mode, scoped
from ._contract import Slot
from ._decorator import checker_source, contract
from ._errors import (
    ContractSyntaxError,
    Fix,
    Origin,
    ShapeContractError,
    ShapeContractWarning,
    Violation,
)
from ._guard import guard, unguard
from ._hook import ImportHookWarning, hooked, install_import_hook
from ._types import Array
from .explain import explain, install, load_ipython_extension, unload_ipython_extension
from .frameworks import contract_of
from .pipeline import Compatibility, ValidationReport, compatible, validate

_LAZY = ("infer", "picture", "port")
"""Subpackages loaded on first use (`shapecontract.port.compare(...)`), not by `import
shapecontract`: most programs only check shapes."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")  # binds it: asked once
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _draw_html(obj: Any) -> str:
    """The notebook rendering of a contract or an error, by `picture` (loaded when first drawn)."""
    picture = importlib.import_module(f"{__name__}.picture")
    html: str = picture.to_html(obj)
    return html


_render.register_renderer("html", _draw_html)

if TYPE_CHECKING:  # static type checkers see jaxtyping's own annotations
    from typing import Annotated as Model

    from jaxtyping import (
        BFloat16,
        Bool,
        Complex,
        Complex64,
        Complex128,
        Float,
        Float16,
        Float32,
        Float64,
        Inexact,
        Int,
        Int8,
        Int16,
        Int32,
        Int64,
        Integer,
        Num,
        Real,
        Shaped,
        UInt,
        UInt8,
        UInt16,
        UInt32,
        UInt64,
    )

    from . import infer as infer
    from . import picture as picture
    from . import port as port
else:
    from ._types import DTYPE_NAMES as _DTYPE_NAMES
    from ._types import DtypeAnnotation as _DtypeAnnotation
    from ._types import Model

    globals().update({_n: _DtypeAnnotation(_n) for _n in _DTYPE_NAMES})

__version__ = "0.1.0"

__all__ = [
    "Array",
    "BFloat16",
    "Bool",
    "Compatibility",
    "Complex",
    "Complex128",
    "Complex64",
    "Contract",
    "ContractSyntaxError",
    "Fix",
    "Float",
    "Float16",
    "Float32",
    "Float64",
    "ImportHookWarning",
    "Inexact",
    "Int",
    "Int16",
    "Int32",
    "Int64",
    "Int8",
    "Integer",
    "Model",
    "Num",
    "Origin",
    "Real",
    "ShapeContractError",
    "ShapeContractWarning",
    "Shaped",
    "Slot",
    "UInt",
    "UInt16",
    "UInt32",
    "UInt64",
    "UInt8",
    "ValidationReport",
    "Violation",
    "checker_source",
    "compatible",
    "config",
    "contract",
    "contract_of",
    "explain",
    "get_mode",
    "guard",
    "hooked",
    "infer",
    "install",
    "install_import_hook",
    "load_ipython_extension",
    "picture",
    "port",
    "reset_mode",
    "scoped",
    "unguard",
    "unload_ipython_extension",
    "validate",
]
