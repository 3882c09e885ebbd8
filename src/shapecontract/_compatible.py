"""`compatible(producer, consumer)`: what a pipeline produces against what a model consumes,
compared without loading data (layer L7). The producer's spec comes from its contract, a
guarded stream, or a data source that states its elements before any is read
(`frameworks.sources`: tf.data's `element_spec`); the consumer's from its contract or the
model's (`frameworks.contract_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._compile import Contract
from ._dims import Named
from ._errors import Report
from ._spec import ArraySpec, as_array, kind_of, shape_text
from ._stream import StreamContract, as_spec
from .frameworks import adapter_of, contract_of
from .frameworks.sources import source_of

__all__ = ["Compatibility", "compatible"]


@dataclass
class Compatibility(Report):
    """The result of `compatible(producer, consumer)`: each disagreeing dim, or none."""

    producer: str
    consumer: str
    differences: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return f"{self.producer} -> {self.consumer}: compatible"
        return "\n".join([f"{self.producer} -> {self.consumer}: {len(self.differences)} "
                          "disagreement(s)"] + [f"  {d}" for d in self.differences])


def compatible(producer: Any, consumer: Any, dims: dict[str, int] | None = None) -> Compatibility:
    """Compare what a pipeline produces with what a model consumes, without loading data.

    `producer`: a `@contract` generator function, a guarded stream, a tf.data dataset, a
    `StreamContract`, a `Contract` or an annotation. `consumer`: a Keras/torch model, a
    `Contract` or an annotation. For a (x, y) element, x is compared with the model's input.
    `dims` pins producer dims (e.g. the `timesteps` argument the producer will be called with).
    """
    pname, pspec = _producer_spec(producer)
    cname, cspec = _consumer_spec(consumer)
    pins = dict(dims or {})
    pkind, ckind = kind_of(pspec), kind_of(cspec)
    if pkind is not None and pkind is not ckind and pkind.tag == "tuple":  # the x of (x, y)
        pspec = pspec.items[0]
    out = Compatibility(pname, cname)
    parr = as_array(pspec)
    options = ckind.options(cspec) if ckind is not None else ()
    if options:
        cspec = next((o for o in options if parr is not None and len(o.dims) == len(parr.dims)),
                     options[0])
    carr = as_array(cspec)
    if parr is None or carr is None:
        out.differences.append("only single arrays (or the x of (x, y)) are compared")
        return out
    _compare(parr, carr, pins, out)
    return out


def _compare(p: ArraySpec, c: ArraySpec, pins: dict[str, int], out: Compatibility) -> None:
    from ._contract import static_compare

    p_axes = {d.name: i for i, d in enumerate(p.dims) if isinstance(d, Named)}
    c_axes = {d.name: i for i, d in enumerate(c.dims) if isinstance(d, Named)}
    swapped = sorted((p_axes[n], c_axes[n], n) for n in p_axes.keys() & c_axes.keys()
                     if p_axes[n] != c_axes[n] and p.variadic_at is None and c.variadic_at is None)
    for k, (pa, ca, name) in enumerate(swapped):  # the same dim on different axes: a layout
        out.differences.append(f"layout: the producer has {name} on axis {pa}, the consumer "
                               f"reads it from axis {ca}"
                               + (f" ({c.advice[0]})" if c.advice and k == 0 else ""))
    if swapped:
        return  # sizes compared axis by axis would compare different dims
    for m in static_compare(p, c, dict(pins)):
        if m.axis is None:
            out.differences.append(f"rank: the producer yields {m.left} axes {shape_text(p)}, "
                                   f"the consumer takes {m.right} {shape_text(c)}")
        else:
            out.differences.append(f"axis {m.axis} ({m.name}): the producer yields {m.left}, the "
                                   f"consumer takes {m.right} ({m.right_origin or 'the consumer'})")
    if p.dtypes is not None and c.dtypes is not None and not (p.dtypes & c.dtypes):
        out.differences.append(f"dtype: the producer yields {p.dtype_label}, the consumer takes "
                               f"{c.dtype_label}")


def _producer_spec(producer: Any) -> tuple[str, Any]:
    if isinstance(producer, StreamContract):
        return producer.name, producer.spec
    sc = getattr(producer, "__shapecontract_stream__", None)
    if sc is not None:
        return sc.name, sc.spec
    for attr in ("_sc", "sc"):
        if isinstance(getattr(producer, attr, None), StreamContract):
            s = getattr(producer, attr)
            return s.name, s.spec
    c = getattr(producer, "__shapecontract__", None)
    if c is not None:
        ys = getattr(producer, "__shapecontract_yield__", None)
        if ys is not None:
            return c.name, ys
        outs = c.outputs()
        if outs:
            return c.name, outs[0].spec
    source = source_of(producer)
    if source is not None and source.element_spec is not None:
        return source.name, source.element_spec(producer)
    return repr(producer), as_spec(producer)




def _consumer_spec(consumer: Any) -> tuple[str, Any]:
    if isinstance(consumer, Contract):
        ins = consumer.inputs()
        return consumer.name, ins[0].spec if ins else None
    if adapter_of(consumer) is not None:
        c = contract_of(consumer)
        ins = c.inputs()
        return c.name, ins[0].spec if ins else None
    return repr(consumer), as_spec(consumer)

