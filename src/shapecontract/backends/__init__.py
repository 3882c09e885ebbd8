"""Array backends: what a value is, its dtype name and its shape, for any framework.

Design rules:
- A framework is never imported here: a backend is consulted only when its module is already
  in `sys.modules` (an object of that framework can exist only then).
- `backend_of(x)` caches by `type(x)`; the hot path never calls it (the compiled checker learns
  exact types), only the slow path and the explainer do.
- Dtype names agree with jaxtyping's (`float32`, `bfloat16`, `bool`, `int64` ...), so a
  `Float` slot means the same thing under shapecontract and jaxtyping.
- A size we cannot know (TensorFlow `None`, a torch `SymInt`) is reported as `None`; an
  unknown rank makes the whole shape `None`. Unknown never fails and never binds.
"""

from __future__ import annotations

import operator
import sys
from typing import Any

__all__ = ["Backend", "BrokenShape", "backend_of", "backends", "compiler_escape", "defer_check",
           "dtype_name", "dtype_of", "internal_modules", "is_array", "json_names", "pytree_backend",
           "register_backend", "shape_of", "trusted"]

# Sets the compiled fast path tests with `in`. Only the slow path adds to them, and only what
# it has verified, so the fast path learns exact types and dtypes it can pass on sight.
ARRAY_TYPES: set[type] = set()  # exact types of arrays of any supported framework
TYPE_SETS: dict[tuple[Any, ...], set[type]] = {}  # spec.array_types -> exact types seen valid
# (array types, dtype names, patterns) -> {exact array type -> dtype objects seen valid}. Keyed
# by type first so each set holds one framework's dtypes (torch.compile can trace a set of
# torch dtypes, not one that also holds a TensorFlow DType).
DTYPE_SETS: dict[Any, dict[type, set[Any]]] = {}
INT_TYPES: set[type] = {int}  # exact types that bind an `int` dim: int, and numpy integers seen


def as_int(v: Any) -> int | None:
    """`v` as a dim size: a Python int, or a numpy integer (learned into INT_TYPES); else None."""
    t = type(v)
    if t is int:
        return v  # type: ignore[no-any-return]
    if t is bool:
        return None
    np = sys.modules.get("numpy")
    if np is not None and isinstance(v, np.integer):
        INT_TYPES.add(t)
        return int(v)
    return None


class Backend:
    """One framework's view of its arrays."""

    name = "array"
    module = ""
    owners: tuple[str, ...] = ()
    """Top-level modules whose classes define this framework's arrays' `.shape`/`.dtype`
    (default: `module`); only their arrays are passed on sight by the compiled fast path."""
    own_shape = False
    """`shape()` reads the framework's own shape object (it validates it): trusted as is."""
    graph_types: tuple[str, ...] = ()
    """Class names of the framework's graph tensors (values while a graph is traced), which
    `defer` may hand a check to; never passed on sight by the fast path."""
    json_names: tuple[tuple[str, str, str, str], ...] = ()
    """How a saved contract names this framework's array types: (JSON name, module,
    attribute, display name), e.g. `("torch", "torch", "Tensor", "Tensor")`."""
    internal: tuple[str, ...] = ()
    """Top-level modules whose frames are the framework's own: a warning points past them, at
    the user's line."""

    def escape(self, report: Any, warned: Any, slow_only: bool, holds: Any) -> Any:
        """For a framework that compiles Python (torch.compile): the slow path `report` wrapped
        to run outside its graphs, or None (see `compiler_escape`)."""
        return None

    def defer(self, values: list[Any], owner: Any, check: Any) -> bool:
        """For a framework that traces graphs: if `values` hold graph tensors with sizes unknown
        while tracing, add `check(owner, concrete values)` to the graph and return True."""
        return False

    def array_types(self) -> tuple[type, ...]:
        return ()

    # Pytrees (`jaxtyping.PyTree[...]`), for a framework that defines them (jax).
    def tree_flatten(self, tree: Any, is_leaf: Any) -> tuple[list[tuple[tuple[Any, ...], str,
                                                                       Any]], Any] | None:
        """`tree`'s leaves (`is_leaf` stops the walk at a subtree) as (location parts, the
        path as Python text such as `['a'][0]` or `.weight`, leaf), and its structure (compared
        with `==`); None: this framework has no pytrees."""
        return None

    def tree_fits(self, tree_structure: Any, pieces: list[Any], how: str) -> bool:
        """Whether a structure is the composition of `pieces` (each a structure bound to a
        name): `how` is "exact", "prefix" (`"T ..."`: the tree is a prefix of it) or "suffix"
        (`"... T"`: its lower levels are the composition)."""
        return False

    def shape(self, x: Any) -> tuple[int | None, ...] | None:
        return tuple(s if type(s) is int else None for s in x.shape)

    # Snippets for fix suggestions, written in this framework's own idiom.
    def expand(self, var: str, axis: int) -> str:
        return f"np.expand_dims({var}, {axis})"

    def squeeze(self, var: str, axis: int) -> str:
        return f"np.squeeze({var}, axis={axis})"

    def permute(self, var: str, perm: tuple[int, ...]) -> str:
        return f"np.transpose({var}, {perm})"

    def cast(self, var: str, dtype: str) -> str:
        return f"{var}.astype(np.{dtype})"

    def reshape(self, var: str, shape: tuple[int, ...]) -> str:
        return f"{var}.reshape{shape if len(shape) != 1 else f'({shape[0]},)'}"

    def one_hot(self, var: str, classes: int) -> str:
        return f"np.eye({classes}, dtype=np.float32)[{var}]"

    def repeat(self, var: str, axis: int, times: int) -> str:
        return f"np.repeat({var}, {times}, axis={axis})"

    def argmax(self, var: str, axis: int) -> str:
        return f"{var}.argmax(axis={axis})"

    def stack(self, var: str) -> str:
        return f"np.stack({var})"

    def pad_sequences(self, var: str, maxlen: int | None) -> str:
        """Sequences of different lengths padded at the end into one array (Keras's utility,
        which takes numpy; a framework writes its own)."""
        to = f", maxlen={maxlen}" if maxlen is not None else ""
        return f"keras.utils.pad_sequences({var}, padding='post'{to})"

    # Fix operations carried out on a value (`fixes.ops`), in this framework; numpy-like here
    # (numpy and jax arrays answer these methods). Each returns a new value.
    def do_expand(self, x: Any, axis: int) -> Any:
        return self._np(x).expand_dims(x, axis)

    def do_squeeze(self, x: Any, axis: int) -> Any:
        return self._np(x).squeeze(x, axis=axis)

    def do_permute(self, x: Any, perm: tuple[int, ...]) -> Any:
        return x.transpose(perm)

    def do_reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)

    def do_cast(self, x: Any, dtype: str) -> Any:
        return x.astype(dtype)

    def do_one_hot(self, x: Any, classes: int) -> Any:
        np = self._np(x)
        return np.eye(classes, dtype=np.float32)[x]

    def do_argmax(self, x: Any, axis: int) -> Any:
        return x.argmax(axis=axis)

    def do_repeat(self, x: Any, axis: int, times: int) -> Any:
        return self._np(x).repeat(x, times, axis=axis)

    def do_stack(self, items: list[Any]) -> Any:
        return self._np(items[0]).stack(items)

    def _np(self, x: Any) -> Any:
        """The numpy-like module of `x`'s framework (numpy; jax.numpy for jax)."""
        return sys.modules["numpy"]


class NumpyBackend(Backend):
    name = module = "numpy"
    json_names = (("numpy", "numpy", "ndarray", "ndarray"),)

    def array_types(self) -> tuple[type, ...]:
        return (sys.modules["numpy"].ndarray,)

    def shape(self, x: Any) -> tuple[int | None, ...] | None:
        return tuple(x.shape)


_BACKENDS: list[Backend] = [NumpyBackend()]
"""numpy's, then each framework package's (`frameworks/<name>/arrays.py`), in the order they
registered (a Keras symbolic tensor is asked after TensorFlow's tensors)."""
_GENERIC = Backend()
_by_type: dict[type, Backend | None] = {}
_OWNERS: set[str] = {"numpy"}
_GRAPH_TYPES: set[str] = set()  # class names of graph tensors, from the backends' graph_types


def register_backend(backend: Backend) -> Backend:
    """Make `backend` answer for its framework's arrays (a framework package does this when
    it is imported; the framework itself is not). Replaces one of the same name."""
    for i, b in enumerate(_BACKENDS):
        if b.name == backend.name:
            _BACKENDS[i] = backend
            break
    else:
        _BACKENDS.append(backend)
    _OWNERS.update(backend.owners or (backend.module,))
    _GRAPH_TYPES.update(backend.graph_types)
    _by_type.clear()
    return backend


def backends() -> tuple[Backend, ...]:
    """The registered backends, numpy's first."""
    return tuple(_BACKENDS)


def backend_of(x: Any) -> Backend | None:
    """The backend of an array of a supported framework, else None."""
    t = type(x)
    try:
        return _by_type[t]
    except KeyError:
        pass
    found = None
    for b in _BACKENDS:
        if b.module in sys.modules and isinstance(x, b.array_types()):
            found = b
            break
    _by_type[t] = found
    if found is not None and trusted(t):
        ARRAY_TYPES.add(t)
    return found


def trusted(t: type) -> bool:
    """Does `t` read `.shape` and `.dtype` with a framework's own code? Only such types may be
    passed on sight by the compiled fast path; a subclass or a duck type that defines its own
    `shape` (a property returning None, a string) always goes through the checks of the slow
    path, which refuses a broken shape."""
    if t.__name__ in _GRAPH_TYPES:  # a graph tensor (tf.function): checked when traced (rare)
        return False  # by the slow path, which also adds a run-time check for unknown sizes
    for attr in ("shape", "dtype"):
        owner = next((c for c in t.__mro__ if attr in vars(c)), None)
        if owner is None or (owner.__module__ or "").split(".")[0] not in _OWNERS:
            return False
    return True


def json_names() -> dict[str, tuple[str, str, str]]:
    """Every registered JSON name of an array type (numpy's first)."""
    return {name: (module, attr, display) for b in _BACKENDS
            for name, module, attr, display in b.json_names}


def internal_modules() -> frozenset[str]:
    """Top-level modules of the registered frameworks' own code."""
    return frozenset(m for b in _BACKENDS for m in b.internal)


def compiler_escape(report: Any, warned: Any, slow_only: bool, holds: Any) -> Any:
    """The slow path as a compiled checker calls it: `report`, wrapped by the first loaded
    framework that compiles Python so that it runs outside that framework's graphs (torch's
    Dynamo); `holds(contract, values)` decides a contract without a fast path inside a trace."""
    for b in _BACKENDS:
        if b.module in sys.modules:
            wrapped = b.escape(report, warned, slow_only, holds)
            if wrapped is not None:
                return wrapped
    return report


def defer_check(values: list[Any], owner: Any, check: Any) -> bool:
    """If `values` hold graph tensors whose sizes are unknown while a graph is traced, let the
    backend that owns them add `check(owner, concrete values)` to the graph, to run each time it
    runs, and return True (see `Backend.defer`); False when no backend deferred anything."""
    # first, and touching nothing else: torch.compile traces this path too
    if not any(type(v).__name__ in _GRAPH_TYPES for v in values):
        return False
    return any(b.module in sys.modules and b.defer(values, owner, check)
               for b in _BACKENDS if b.graph_types)


class BrokenShape(Exception):
    """An object that has a `.shape`/`.dtype` that cannot be read as one (it raises, is None,
    holds a string, a negative size...): the slow path turns it into a violation."""


def pytree_backend() -> Backend | None:
    """The backend that flattens pytrees, if its framework is imported (none is imported here:
    a `PyTree[...]` annotation exists only once its framework is)."""
    for b in _BACKENDS:
        if b.module in sys.modules and type(b).tree_flatten is not Backend.tree_flatten:
            return b
    return None


def is_array(x: Any) -> bool:
    """True for a numpy, torch, TensorFlow (incl. tf.Variable, graph tensors) or jax array."""
    return backend_of(x) is not None


def shape_of(x: Any) -> tuple[int | None, ...] | None:
    """The shape as a tuple (None for an unknown size), or None for an unknown rank (a
    TensorFlow tensor of unknown rank). Raises `BrokenShape` when `x.shape` raises or is not a
    shape: not a sequence, an entry that is not a size (a string, 2.5, -3)."""
    b = backend_of(x) or _GENERIC
    try:
        raw = x.shape
    except Exception as exc:  # torch.nested tensors raise; so may a user's property
        raise BrokenShape(f"reading .shape raised {type(exc).__name__}: {_first_line(exc)}") from None
    if b.own_shape:  # the framework checks its own shape object (TF's TensorShape)
        try:
            return b.shape(x)
        except (TypeError, ValueError, AttributeError) as exc:
            raise BrokenShape(f".shape {_brief(raw)} cannot be read: {exc}") from None
    try:
        sizes = _sizes(raw)
    except Exception as exc:  # a hostile sequence or entry: its len/iter/__index__ raise
        raise BrokenShape(f".shape {_brief(raw)} cannot be read: {type(exc).__name__}: "
                          f"{_first_line(exc)}") from None
    if sizes is None:
        raise BrokenShape(f".shape is {_brief(raw)}, not a shape (a sequence of sizes)")
    return sizes


def _first_line(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        return ""
    return text.splitlines()[0][:120] if text else ""


def _sizes(raw: Any) -> tuple[int | None, ...] | None:
    """`raw` as a shape: a tuple of sizes, None for an unknown one (TF None, a torch SymInt, a
    JAX symbolic dim as Keras traces with on the JAX backend, nan for dask); None if `raw` is not a shape (not a sequence; an entry that is a string, a bool,
    a float, a negative number, a tuple)."""
    if isinstance(raw, (str, bytes)) or not hasattr(raw, "__len__") or not hasattr(raw, "__iter__"):
        return None
    out: list[int | None] = []
    for s in raw:
        if s is None or type(s).__name__ in ("SymInt", "Dimension", "_DimExpr"):
            out.append(None)  # unknown (TF None, torch symbolic sizes, JAX symbolic dims)
            continue
        if isinstance(s, float) and s != s:
            out.append(None)  # nan: unknown (dask)
            continue
        if isinstance(s, bool) or type(s).__name__ == "bool_":
            return None  # True is no size, though operator.index takes it
        try:
            size = operator.index(s)
        except TypeError:
            return None
        if size < 0:
            return None
        out.append(int(size))
    return tuple(out)


def _brief(v: Any) -> str:
    try:
        r = repr(v)
    except Exception:  # a hostile object's repr may raise too
        r = f"a {type(v).__name__}"
    return r if len(r) <= 40 else r[:37] + "..."


def dtype_of(x: Any) -> Any:
    """`x.dtype`, or `BrokenShape` if reading it raises."""
    try:
        return x.dtype
    except AttributeError:
        raise
    except Exception as exc:
        raise BrokenShape(f"reading .dtype raised {type(exc).__name__}: {exc}") from None


def snippets(x: Any) -> Backend:
    """The backend used to write fix suggestions for `x` (numpy idiom when unknown)."""
    return backend_of(x) or _BACKENDS[0]


# Two levels, by type of dtype first: a dict mixing TensorFlow DTypes with torch dtypes cannot
# be traced by torch.compile (DType's C hash), one holding only torch dtypes can.
_dtype_names: dict[type, dict[Any, str]] = {}


def dtype_name(dtype: Any) -> str:
    """jaxtyping's name for a dtype object: `float32`, `bool`, `bfloat16`, ..."""
    cache = _dtype_names.setdefault(type(dtype), {})
    try:
        return cache[dtype]
    except Exception:  # KeyError; TypeError (unhashable); a hostile dtype's __hash__/__eq__
        pass
    try:
        name = _dtype_name(dtype)
    except Exception:  # a hostile dtype (its attributes or repr raise): it names no dtype
        return f"<unreadable {type(dtype).__name__}>"
    try:
        cache[dtype] = name
    except Exception:
        pass
    return name


def _dtype_name(dtype: Any) -> str:
    if hasattr(dtype, "type") and hasattr(dtype.type, "__name__"):  # numpy, jax
        name = dtype.type.__name__
        if name == "void" and getattr(dtype, "names", None):
            name = str(dtype)
    elif hasattr(dtype, "as_numpy_dtype"):  # TensorFlow
        try:
            name = dtype.as_numpy_dtype.__name__
        except (TypeError, AttributeError):
            name = getattr(dtype, "name", str(dtype))
    elif isinstance(dtype, str):
        name = dtype
    else:  # torch and everyone else
        name = repr(dtype).rsplit(".", 1)[-1]
    return str(name)
