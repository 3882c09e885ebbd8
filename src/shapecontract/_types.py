"""The annotation language: `Array`, `Float`, `Int`, ... as users write them.

Design rules:
- `Float[Array, "b t f"]` returns jaxtyping's own annotation class, so it works under
  `jaxtyping.jaxtyped(typechecker=beartype)` and in static type checkers; our parser validates
  the dim string first and raises `ContractSyntaxError` at the bad token.
- jaxtyping imports numpy, so it is imported on the first subscript, never by
  `import shapecontract`.
- `Array` matches an array of any supported framework (numpy, torch, TensorFlow incl.
  tf.Variable and graph tensors, jax) without importing any of them.
"""

from __future__ import annotations

from typing import Any

from ._dims import parse_dims
from ._errors import ContractSyntaxError
from ._spec import ModelSpec, parse_model
from .backends import is_array

DTYPE_NAMES = (
    "BFloat16",
    "Bool",
    "Complex",
    "Complex64",
    "Complex128",
    "Float",
    "Float16",
    "Float32",
    "Float64",
    "Inexact",
    "Int",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Integer",
    "Num",
    "Real",
    "Shaped",
    "UInt",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
)


class _ArrayMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return is_array(obj)

    def __repr__(cls) -> str:
        return "shapecontract.Array"


class Array(metaclass=_ArrayMeta):
    """Any numpy, torch, TensorFlow or jax array: `isinstance(x, Array)` imports nothing.

    Use it as the array type of an annotation, `Float[Array, "batch features"]`; use a
    concrete type (`np.ndarray`, `torch.Tensor`, `tf.Tensor`) to restrict a slot to one
    framework.
    """

    __shapecontract_any_array__ = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("shapecontract.Array is a type for annotations; it has no instances")


class DtypeAnnotation:
    """`Float`, `Int`, ...: subscript with `[array_type, "dims"]` to get an annotation."""

    __slots__ = ("__name__",)

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __getitem__(self, item: Any) -> Any:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ContractSyntaxError(
                f'{self.__name__}[...] takes an array type and a dim string, e.g. '
                f'{self.__name__}[Array, "batch features"]'
            )
        array_type, dim_str = item
        dims = parse_dims(dim_str)  # raises ContractSyntaxError at the bad token
        del dims
        import jaxtyping

        try:
            return getattr(jaxtyping, self.__name__)[array_type, dim_str]
        except ContractSyntaxError:
            raise
        except (ValueError, TypeError) as e:
            raise ContractSyntaxError(f"{self.__name__}[{array_type!r}, {dim_str!r}]: {e}") from None

    def __repr__(self) -> str:
        return f"shapecontract.{self.__name__}"

    def __reduce__(self) -> str:
        return self.__name__


Array.__module__ = "shapecontract"


class _ModelMeta(type):
    def __getitem__(cls, item: Any) -> ModelSpec:
        if isinstance(item, tuple) and len(item) == 2:
            model_type, text = item
        else:
            model_type, text = Any, item
        ins, outs = parse_model(text)
        return ModelSpec(model_type, ins, outs, text.strip())

    def __repr__(cls) -> str:
        return "shapecontract.Model"


class Model(metaclass=_ModelMeta):
    """`Model[keras.Model, "batch timesteps features -> batch 1"]`: the return annotation of a
    model builder. The built model's own contract (read from its layers) must match it, with
    dims bound by the builder's `int` parameters. Static type checkers read it as
    `Annotated[keras.Model, ...]`, i.e. as the model type."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("shapecontract.Model is a type for annotations; it has no instances")


Model.__module__ = "shapecontract"
