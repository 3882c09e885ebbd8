"""torch.compile and torch.jit.trace (layer L6): a compiled checker's slow path runs outside
the graph. Dynamo traces the fast path like any code (a passing check adds nothing to the graph
and no graph break); the slow path is a `torch.compiler.disable`d function that runs when the
call runs, on the real values, and raises there. Asked through `backends.compiler_escape`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["outside_graph"]


_DISABLE_REASON = (
    "shapecontract: this call violates a shape contract. The ShapeContractError is raised "
    "outside the graph, when the call runs; torch.compile(fullgraph=True) cannot run code "
    "outside the graph, so it reports this instead. Call the function once without "
    "torch.compile (or compile without fullgraph=True) to see the violation")


def outside_graph(report: Callable[..., Any], warned: Callable[[Any], bool],
                  slow_only: bool, holds: Callable[[Any, list[Any]], bool]
                  ) -> Callable[..., Any] | None:
    """The slow path as the generated code calls it. Eager: `report` itself. While Dynamo
    traces the checker: a `torch.compiler.disable`d function that runs at run time on the real
    values, computes the verdict, reads the mode and raises or warns itself, then returns None
    (so the traced code goes on to call the function). Built once per checker, and only if
    torch is loaded (a checker compiled before torch was imported keeps the plain slow path:
    Dynamo then breaks the graph inside it and runs it eagerly, which also raises)."""
    torch = sys.modules.get("torch")
    compiler = getattr(torch, "compiler", None)
    if compiler is None or not hasattr(compiler, "disable"):
        return None

    def deliver(contract: Any, values: list[Any]) -> None:
        __tracebackhide__ = True
        err = report(contract, values)
        if err is not None and not warned(err):
            raise err

    outside = compiler.disable(deliver, reason=_DISABLE_REASON)
    is_compiling = compiler.is_compiling
    tracing_state = getattr(getattr(torch, "_C", None), "_get_tracing_state", None)
    set_tracing_state = getattr(getattr(torch, "_C", None), "_set_tracing_state", None)

    def slow_path(contract: Any, values: list[Any]) -> Any:
        __tracebackhide__ = True
        if is_compiling():
            # the fast path learns new types itself: a miss is a violation, which leaves the
            # graph. A contract without a fast path is decided in the trace first (pure
            # Python over the sizes, no graph break).
            if not (slow_only and holds(contract, values)):
                outside(contract, values)
            return None
        state = tracing_state() if tracing_state is not None else None
        if state is None or set_tracing_state is None:
            return report(contract, values)
        # torch.jit.trace: sizes are traced tensors; the verdict reads the concrete ones
        set_tracing_state(None)
        try:
            return report(contract, values)
        finally:
            set_tracing_state(state)

    slow_path.__wrapped__ = report  # type: ignore[attr-defined]
    return slow_path
