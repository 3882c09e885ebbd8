"""torch.compile (fullgraph, default, dynamic) and torch.jit against real torch (issue 11,
items 6-7): good input compiles without a graph break, bad input is a ShapeContractError
where torch lets an error through. docs/guarantees.md cites these tests."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from shapecontract import Float, ShapeContractError, contract, guard  # noqa: E402


@contract
def mm(a: Float[torch.Tensor, "n k"], b: Float[torch.Tensor, "k m"]) -> Float[torch.Tensor, "n m"]:
    return a @ b


def step(a, b):  # type: ignore[no-untyped-def]
    return mm(a, b).relu()


def _model() -> torch.nn.Module:
    return guard(torch.nn.Sequential(torch.nn.Linear(3, 4)))


def test_fullgraph_function_cold_good_compiles_bad_is_refused() -> None:
    """fullgraph=True: a first-ever (cold) good call compiles in one graph; a violation cannot
    leave the graph and Dynamo refuses it at trace time with shapecontract's reason (before:
    'method get of ContextVar'); eagerly it is our error."""
    torch._dynamo.reset()
    c = torch.compile(step, backend="eager", fullgraph=True)
    assert tuple(c(torch.zeros(2, 3), torch.zeros(3, 4)).shape) == (2, 4)
    assert tuple(c(torch.zeros(5, 3), torch.zeros(3, 4)).shape) == (5, 4)
    with pytest.raises(torch._dynamo.exc.Unsupported, match="violates a shape contract"):
        c(torch.zeros(2, 3), torch.zeros(4, 4))
    with pytest.raises(ShapeContractError):
        step(torch.zeros(2, 3), torch.zeros(4, 4))


def test_fullgraph_guarded_module_good_compiles_bad_says_shapecontract() -> None:
    """fullgraph=True on a guarded module: good input compiles (before: the hook compiled its
    checker with exec inside the trace); bad input is refused by Dynamo with the reason
    shapecontract gives (a contract violation, and how to see it)."""
    torch._dynamo.reset()
    c = torch.compile(_model(), backend="eager", fullgraph=True)
    assert tuple(c(torch.zeros(2, 3)).shape) == (2, 4)
    with pytest.raises(torch._dynamo.exc.Unsupported, match="violates a shape contract"):
        c(torch.zeros(2, 5))


def test_explain_guarded_module_has_no_graph_break() -> None:
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(_model())(torch.zeros(2, 3))
    assert explanation.graph_break_count == 0, explanation.break_reasons


def _breaks() -> list[str]:
    from torch._dynamo.utils import counters

    return list(counters["graph_break"])


def test_default_compile_violation_is_shapecontracterror() -> None:
    """Graph breaks allowed: good calls break nothing (before: a guarded module compiled its
    checker inside the trace, a break); a violation leaves the graph at shapecontract's own
    break (before: a break on ContextVar.get inside the verdict) and arrives as
    ShapeContractError, for a decorated function and a guarded module."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    c = torch.compile(step, backend="eager")
    m = torch.compile(_model(), backend="eager")
    assert tuple(c(torch.zeros(2, 3), torch.zeros(3, 4)).shape) == (2, 4)
    assert tuple(m(torch.zeros(2, 3)).shape) == (2, 4)
    assert _breaks() == []
    with pytest.raises(ShapeContractError) as info:
        c(torch.zeros(2, 3), torch.zeros(4, 4))
    assert info.value.slot == "argument b"
    with pytest.raises(ShapeContractError):
        m(torch.zeros(2, 5))
    assert _breaks() and all("torch.compiler.disable" in b for b in _breaks()), _breaks()
    assert tuple(m(torch.zeros(7, 3)).shape) == (7, 4)


def test_dynamic_symbolic_dims_checked_with_concrete_sizes() -> None:
    """dynamic=True: several batch sizes compile once and pass; two symbolic dims that differ
    at run time (k of a vs k of b, both dynamic) are caught when the call runs."""
    torch._dynamo.reset()
    c = torch.compile(step, backend="eager", dynamic=True)
    for n, k in ((2, 3), (5, 3), (7, 6), (4, 9)):
        assert tuple(c(torch.zeros(n, k), torch.zeros(k, 4)).shape) == (n, 4)
    with pytest.raises(ShapeContractError) as info:
        c(torch.zeros(3, 5), torch.zeros(6, 4))
    assert info.value.slot == "argument b"
    assert tuple(c(torch.zeros(8, 5), torch.zeros(5, 4)).shape) == (8, 4)
    from torch._dynamo.utils import counters

    counters.clear()
    m = torch.compile(_model(), backend="eager", dynamic=True)
    for b in (2, 3, 9):
        assert tuple(m(torch.zeros(b, 3)).shape) == (b, 4)
    assert _breaks() == []  # before: the guard's first check broke the graph
    with pytest.raises(ShapeContractError):
        m(torch.zeros(4, 5))


def test_jit_trace_guarded_module_checks_example_inputs() -> None:
    """torch.jit.trace runs the guard at trace time on concrete sizes: good example inputs
    trace (before: traced sizes reached the fake-tensor verdict and failed), bad ones raise."""
    m = _model()
    traced = torch.jit.trace(m, (torch.zeros(2, 3),), check_trace=False)
    assert tuple(traced(torch.zeros(2, 3)).shape) == (2, 4)
    with pytest.raises(ShapeContractError):
        torch.jit.trace(m, (torch.zeros(2, 5),), check_trace=False)


def test_jit_trace_function_checks_example_inputs() -> None:
    """A decorated function traced with bad example inputs: our error, not torch's matmul
    error (before: the verdict saw traced sizes and let them pass)."""
    with pytest.raises(ShapeContractError):
        torch.jit.trace(step, (torch.zeros(2, 3), torch.zeros(4, 4)), check_trace=False)
    traced = torch.jit.trace(step, (torch.zeros(2, 3), torch.zeros(3, 4)), check_trace=False)
    assert tuple(traced(torch.zeros(2, 3), torch.zeros(3, 4)).shape) == (2, 4)


def test_jit_script_of_contract_function_is_a_clear_refusal() -> None:
    """torch.jit.script cannot compile the checker: a TypeError that says what to do
    (before: 'Unknown type constructor Float')."""
    with pytest.raises(TypeError, match=r"torch\.compile .*torch\.jit\.trace"):
        torch.jit.script(mm)


def test_jit_script_of_guarded_module_is_a_clear_refusal() -> None:
    """torch.jit.script of a guarded module (or of a model holding one): a TypeError that
    says what to do, instead of torch failing on the hook; unguarded, it scripts again
    (before: torch's own error about the Python hook)."""
    from shapecontract import unguard

    m = guard(torch.nn.Linear(3, 4))
    with pytest.raises(TypeError, match=r"guarded Linear.*unguard"):
        torch.jit.script(m)
    outer = torch.nn.Sequential(m, torch.nn.ReLU())
    with pytest.raises(TypeError, match=r"guarded Linear"):
        torch.jit.script(outer)
    unguard(m)
    scripted = torch.jit.script(m)
    assert tuple(scripted(torch.zeros(2, 3)).shape) == (2, 4)
    m2 = copy.deepcopy(guard(torch.nn.Linear(3, 4)))
    with pytest.raises(TypeError, match=r"guarded Linear"):
        torch.jit.script(m2)


def test_fullgraph_turns_any_exception_into_unsupported() -> None:
    """Why a violation under fullgraph=True is not a ShapeContractError: torch 2.13's Dynamo
    refuses ANY exception that leaves a fullgraph trace, even a plain ValueError from the
    user's own code (`Observed exception`). Pinned so that the day torch lets exceptions out,
    this fails and the limit in docs/guarantees.md is revisited."""

    class Refused(ValueError):
        pass

    @torch.compile(fullgraph=True, backend="eager")
    def f(x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != 3:
            raise Refused("bad shape")
        return x + 1

    assert tuple(f(torch.zeros(3)).shape) == (3,)
    with pytest.raises(torch._dynamo.exc.Unsupported, match="Observed exception"):
        f(torch.zeros(4))
