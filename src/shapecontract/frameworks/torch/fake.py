"""Fake-tensor runs of a torch module for its shapes alone (layer L6): the tensors of a call's
signature (`_signature`, `_fake`), torch's own words for a failure (`_first_line`), what fake
tensors cannot tell (`_cannot_tell`), and a run that leaves nothing behind (`isolated`,
`quiet`). Shared by the verdict (`verdict`) and the repair search (`search`)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["isolated", "quiet"]


class quiet:
    """Silence torch's fake-tensor logger: a failing shape is an answer here, not an error."""

    def __enter__(self) -> None:
        import logging

        self.log = logging.getLogger("torch._subclasses.fake_tensor")
        self.level = self.log.level
        self.log.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: Any) -> None:
        self.log.setLevel(self.level)


class isolated:
    """Run a module's forward for its shapes only and leave nothing behind: every submodule's
    attributes (a mask the forward caches on `self` would otherwise stay a fake tensor; a call
    counter would count), its buffers' values (BatchNorm statistics) and the random number
    generators (Python's, numpy's, torch's: a forward that draws for teacher forcing draws the
    same numbers in the real call) are as they were before."""

    def __init__(self, m: Any) -> None:
        self.m = m

    def __enter__(self) -> None:
        import random

        import torch

        self.attrs = [(sub, dict(vars(sub)), dict(sub._parameters), dict(sub._buffers),
                       dict(sub._modules)) for sub in self.m.modules()]
        self.values = [(b, b.detach().clone()) for b in self.m.buffers()]
        self.py = random.getstate()
        np = sys.modules.get("numpy")
        self.np = np.random.get_state() if np is not None else None
        self.torch = torch.random.get_rng_state()

    def __exit__(self, *exc: Any) -> None:
        import random

        import torch

        for sub, attrs, params, buffers, modules in self.attrs:
            vars(sub).clear()
            vars(sub).update(attrs)
            for held, saved in ((sub._parameters, params), (sub._buffers, buffers),
                                (sub._modules, modules)):
                held.clear()
                held.update(saved)
        with torch.no_grad():
            for b, value in self.values:
                if b.shape == value.shape:
                    b.copy_(value)
        random.setstate(self.py)
        np = sys.modules.get("numpy")
        if np is not None and self.np is not None:
            np.random.set_state(self.np)
        torch.random.set_rng_state(self.torch)


# ------------------------------------------------------------------ framework verdicts


def _signature(values: Any) -> Any:
    """Nested (shape, dtype) of tensors (tuples for tuples), or None if any is unknown."""
    out = []
    for v in values:
        if isinstance(v, (tuple, list)):
            inner = _signature(v)
            if inner is None:
                return None
            out.append(inner)
        elif v is None:
            out.append(None)
        elif hasattr(v, "shape") and hasattr(v, "dtype"):
            try:
                shape = tuple(int(s) for s in v.shape)
            except (TypeError, ValueError):
                return None
            out.append((shape, v.dtype))
        else:
            return None
    return tuple(out)


def _fake(sig: Any, zeros: bool = False) -> Any:
    """Tensors of a `_signature`: empty (fake, under FakeTensorMode), or real zeros."""
    import torch

    if sig is None:
        return None
    if len(sig) == 2 and isinstance(sig[0], tuple) and not isinstance(sig[1], tuple):
        return (torch.zeros if zeros else torch.empty)(sig[0], dtype=sig[1])
    return tuple(_fake(s, zeros) for s in sig)


def _first_line(e: BaseException) -> str:
    """torch's verdict in torch's own words: the first line of its error."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def _cannot_tell() -> tuple[type[BaseException], ...]:
    """What fake tensors raise for an op they cannot run on shapes alone."""
    from torch._subclasses import fake_tensor

    names = ("DataDependentOutputException", "DynamicOutputShapeException",
             "UnsupportedOperatorException", "UnsupportedFakeTensorException")
    found = tuple(getattr(fake_tensor, n) for n in names if hasattr(fake_tensor, n))
    try:
        from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode
    except ImportError:
        return found
    return (*found, GuardOnDataDependentSymNode)
