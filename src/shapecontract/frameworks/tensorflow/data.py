"""tf.data as a data source (layer L6): a dataset's `element_spec` checked statically, before
any element is read; the axes it leaves unknown checked inside the pipeline, with graph-mode
assertions (`guard(ds, spec)`) or the compiled checker called as each element flows (a
guarded Keras model's `fit(ds)`), so the dataset stays a dataset (model.fit, tf.distribute,
tf.data service). Registered as a data source (`frameworks.sources`) when this package is
imported; TensorFlow is read only from `sys.modules`, or imported once a dataset is in hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..._compile import Contract
from ..._contract import Slot
from ..._dims import Fixed, Named
from ..._errors import Fix, ShapeContractError
from ..._evaluate import verdict
from ..._spec import ArraySpec, DictSpec, TupleSpec, kind_of
from ..._stream import StreamContract, loosened
from ...fixes import Batch, Unbatch
from ..sources import DataSource, register_source

__all__ = ["batching_fix", "check_elements", "element_spec", "guard_dataset", "is_dataset",
           "spec_of_tensorspecs"]

WORKERS = (
    "does not spread a tf.data pipeline over workers: "
    "tf.data's service would open network ports on every interface for the call (see "
    "docs/guarantees.md, Scale-out). Validate it without workers: the pipeline's own "
    "map(..., num_parallel_calls=tf.data.AUTOTUNE) and prefetch() already produce "
    "elements on every core, and the check itself reads only shapes")
"""Why `validate(workers=N)` refuses a tf.data pipeline."""


def is_dataset(x: Any) -> bool:
    """Is `x` a `tf.data.Dataset` (TensorFlow already imported: else it cannot be one)?"""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.data.Dataset)


def guard_dataset(ds: Any, sc: StreamContract) -> Any:
    """Static check of element_spec now; graph-mode assertions for the axes it leaves open."""
    import tensorflow as tf

    spec = _static(sc.spec)
    static: Any = StreamContract(sc.name, spec, sc.pins).with_pins(sc.pins, sc.pin_origins)
    static = static.replace(slots=(*static.slots[:-1], Slot("element", "array", spec, loc=("element_spec",))))
    err = verdict(static, [*sc.pins.values(), ds.element_spec])
    if err is not None:
        raise ShapeContractError(err.violations, f"{sc.name}.element_spec", err.bindings,
                                 ["checked statically, before any element was read"])
    checks = _runtime_checks(ds.element_spec, sc)
    if not checks:
        return ds

    def assert_shapes(*elem: Any) -> Any:
        value = elem[0] if len(elem) == 1 else elem
        deps = []
        for path, axis, want, message in checks:
            t = _at(value, path)
            got = tf.shape(t)[axis]
            expected = want if isinstance(want, int) else tf.shape(_at(value, want[0]))[want[1]]
            deps.append(tf.debugging.assert_equal(got, tf.cast(expected, got.dtype), message=message))
        with tf.control_dependencies(deps):
            return tf.nest.map_structure(tf.identity, value)

    return ds.map(assert_shapes)


def _static(spec: Any) -> Any:
    """The spec for checking TensorSpecs: same dims, any object with shape and dtype."""
    return loosened(spec, static=True)


def _leaves(spec: Any, ts: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], ArraySpec, Any]]:
    kind = kind_of(spec)
    if kind is None:
        return
    if kind.is_array:
        yield path, spec, ts
        return
    for key, item in kind.items(spec) or ():
        yield from _leaves(item, ts[key], (*path, key))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        value = value[p]
    return value


def _runtime_checks(element_spec: Any, sc: StreamContract) -> list[tuple[Any, int, Any, str]]:
    """(path, axis, expected int or (path, axis) of the first occurrence, message) for each
    axis whose size element_spec leaves unknown; sizes it knows were checked statically."""
    checks: list[tuple[Any, int, Any, str]] = []
    first: dict[str, tuple[tuple[Any, ...], int, bool]] = {}
    for path, spec, ts in _leaves(sc.spec, element_spec):
        shape = list(ts.shape) if ts.shape.rank is not None else None
        if shape is None or spec.variadic_at is not None:
            continue
        label = "element" + "".join(f"[{p!r}]" for p in path)
        for axis, (d, size) in enumerate(zip(spec.dims, shape)):
            name = d.label if isinstance(d, Fixed) else getattr(d, "name", None)
            msg = f"shapecontract: {sc.name}: {label}, axis {axis} ({name})"
            if isinstance(d, Fixed) and size is None and not d.broadcast:
                checks.append((path, axis, d.size, f"{msg} must be {d.size}"))
            elif isinstance(d, Named) and not d.broadcast:
                if d.name in sc.pins and size is None:
                    checks.append((path, axis, sc.pins[d.name],
                                   f"{msg} must be {sc.pins[d.name]} ({sc.pin_origins[d.name]})"))
                elif d.name in first:
                    fpath, faxis, fknown = first[d.name]
                    if size is None or not fknown:
                        checks.append((path, axis, (fpath, faxis),
                                       f"{msg} must equal {d.name} bound by element"
                                       + "".join(f"[{p!r}]" for p in fpath) + f" axis {faxis}"))
                else:
                    first[d.name] = (path, axis, size is not None)
    return checks


def element_spec(ds: Any) -> Any:
    """The spec a dataset's `element_spec` states (unknown sizes as named axes)."""
    return spec_of_tensorspecs(ds.element_spec)


def spec_of_tensorspecs(es: Any) -> Any:
    """The spec of TensorSpecs (a structure of them: tuples, dicts)."""
    if isinstance(es, tuple):
        return TupleSpec(tuple(spec_of_tensorspecs(e) for e in es))
    if isinstance(es, dict):
        return DictSpec(tuple(es), tuple(spec_of_tensorspecs(e) for e in es.values()))
    from ...backends import dtype_name

    dims = tuple(Named(f"axis{i}") if s is None else Fixed(int(s)) for i, s in enumerate(es.shape))
    return ArraySpec(dims, frozenset({dtype_name(es.dtype)}), dtype_name(es.dtype), (Any,))


def batching_fix(err: ShapeContractError, xs: Any, c: Contract) -> ShapeContractError:
    """A dataset whose elements have one axis too few (not batched) or too many (batched twice)
    gets the `.batch` fix first: the elements themselves are right."""
    ins = c.inputs()
    v = err.violations[0]
    rank = getattr(getattr(xs, "shape", None), "rank", None)
    spec: Any = ins[0].spec if len(ins) == 1 else None
    want = len(spec.dims) if isinstance(getattr(spec, "dims", None), tuple) and (
        spec.variadic_at is None) else None
    if v.kind != "rank" or rank is None or want is None:
        return err
    if rank == want - 1:
        fix = Fix("the dataset is not batched: its elements are single samples; batch it: "
                  "ds.batch(32)", "insert_axis", "ds.batch(32)", Batch(32))
    elif rank == want + 1:
        fix = Fix("the dataset is batched twice (each element is a batch of batches); remove "
                  "the second .batch(...), or ds.unbatch() once", "squeeze", "ds.unbatch()",
                  Unbatch())
    else:
        return err
    v.suggestions[:] = [fix]  # the elements are right: an axis fix on them would not apply
    return ShapeContractError(err.violations, err.function, err.bindings, err.notes)


def check_elements(ds: Any, check: Callable[[Any, int], None], whole: bool) -> Any:
    """`ds` whose elements are handed to `check(element, i)` as they flow (a
    `tf.numpy_function` in the pipeline, so the elements stay in the graph, unchanged), so a
    720-step window into Input((120, 7)) stops `fit` with our error; `whole`: the whole
    element (x, y, ...), else its first part (x). `ds` itself when every size but the batch is
    known (checked statically, from the element_spec) or the elements are ragged or sparse."""
    import tensorflow as tf

    spec = ds.element_spec
    xs_spec = spec[0] if isinstance(spec, tuple) else spec
    leaves = tf.nest.flatten(spec if isinstance(spec, tuple) and whole else xs_spec)
    if all(s.shape.rank is not None and None not in s.shape[1:] for s in leaves):
        return ds  # every size but the batch is known and was checked statically
    if not all(isinstance(s, tf.TensorSpec) for s in leaves):
        return ds  # ragged or sparse elements: their known sizes were checked statically
    counter = [0]

    def numpy_check(*arrays: Any) -> Any:
        import numpy as np

        i = counter[0]
        counter[0] += 1
        check(tf.nest.pack_sequence_as(checked_spec, list(arrays)), i)
        return np.bool_(True)

    checked_spec = spec if isinstance(spec, tuple) and whole else xs_spec

    def checked(*element: Any) -> Any:
        xs = element if checked_spec is spec else element[0]
        flat = tf.nest.flatten(xs)
        ok = tf.numpy_function(numpy_check, flat, tf.bool, stateful=True)
        with tf.control_dependencies([ok]):
            same = tf.nest.map_structure(tf.identity, element)
        return same if len(element) > 1 else same[0]

    return ds.map(checked)


register_source(DataSource("tf.data.Dataset", "tensorflow", is_dataset, guard_dataset,
                           element_spec=element_spec, workers=WORKERS))
