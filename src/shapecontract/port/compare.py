"""Pairing and `compare`: which Keras layer goes with which torch module, and how they differ.

Design rules:
- Layers whose rule pairs (see `rules`) are paired in order: `model.layers` on the Keras side,
  `named_modules()` on the torch side. A torch rule that stacks takes `num_layers`
  consecutive Keras layers.
- `compare` runs the Keras rule's checks on each pair of the same kind, then, for what only
  the forward shows (activations applied as functions, which step is read, output shapes),
  traces one run of the torch forward on a small random probe batch (see `trace`). The Keras
  model is never run. Every difference says which side to change and how; differences of
  convention that the port handles (NCHW, time-major input) are `notes`, not differences; what
  could not be seen is in `unseen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._errors import Report
from .rules import (
    SEQUENCE,
    Attr,
    Channels,
    Pair,
    activation_name,
    directions,
    keras_activation_of,
    keras_class,
    keras_neutral,
    keras_paired,
    keras_rule,
    torch_class,
    torch_rule,
    unwrap,
)
from .rules import (
    weight_shape_issues as weight_shapes,
)
from .trace import Trace, trace_forward

__all__ = ["Difference", "PortReport", "compare"]


@dataclass
class Difference:
    """One way the port differs: where, what, both values, and which side to change how."""

    keras: str
    torch: str
    what: str
    keras_value: Any
    torch_value: Any
    fix: str

    def __str__(self) -> str:
        return (f"{self.keras} <-> {self.torch}: {self.what}: Keras {self.keras_value}, torch "
                f"{self.torch_value}\n    fix: {self.fix}")


@dataclass
class PortReport(Report):
    """`compare`'s answer: the layer pairs, every difference found, the differences of
    convention the port handles (`notes`), and what could not be compared (`unseen`)."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[Difference] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = ["port: " + (", ".join(f"{k} <-> {t}" for k, t in self.pairs) or "no layer pairs")]
        if self.ok:
            lines.append("  no differences in contract")
        else:
            lines.append(f"  {len(self.differences)} difference(s):")
            lines += ["  " + str(d).replace("\n", "\n  ") for d in self.differences]
        if self.notes:
            lines.append("  conventions (handled by transfer_weights and assert_equivalent):")
            lines += ["  " + str(d).replace("\n", "\n  ") for d in self.notes]
        if self.unseen:
            lines.append("  not compared:")
            lines += [f"  - {u}" for u in self.unseen]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- pairing
def _label(x: Any, name: str | None = None) -> str:
    return f"{type(x).__name__} '{x.name if name is None else name}'"


def _is_model(layer: Any) -> bool:
    return any(c.__name__ in ("Functional", "Sequential") and (c.__module__ or "").startswith("keras")
               for c in type(layer).__mro__)


def all_keras_layers(model: Any) -> list[Any]:
    """Every layer of a Keras model in order, the layers of nested models (an encoder and a
    decoder) in their place."""
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        out.extend(all_keras_layers(layer) if _is_model(layer) else [layer])
    return out


def computing_unseen(model: Any) -> list[Any]:
    """Keras layers that compute what the port cannot compare: code (Lambda) and preprocessing
    (Rescaling...); the torch forward does it some other way, or forgets it."""
    return [layer for layer in all_keras_layers(model)
            if not getattr(layer, "weights", None) and (
                any(c.__name__ == "Lambda" for c in type(layer).__mro__)
                or ".preprocessing." in (type(layer).__module__ or ""))]


def unknown_weighted(model: Any) -> list[Any]:
    """Keras layers with weights that no port rule knows (Conv2DTranspose, a custom layer)."""
    return [layer for layer in all_keras_layers(model)
            if getattr(layer, "weights", None) and not keras_paired(layer)]


def keras_layers(model: Any) -> list[Any]:
    """The Keras layers that take part in pairing, in order (nested models expanded)."""
    return [layer for layer in all_keras_layers(model) if keras_paired(layer)]


def torch_modules(model: Any) -> list[tuple[str, Any]]:
    """The torch modules that take part in pairing, in registration order."""
    out = []
    for name, m in model.named_modules():
        rule = torch_rule(m)
        if rule is not None and rule.paired:
            out.append((name or type(m).__name__, m))
    return out


@dataclass
class Pairing:
    """The pairs, with the probe batch and the traced run they were ordered by (if any)."""

    pairs: list[Pair]
    probe: Probe | None
    trace: Trace | None


def pairing(keras_model: Any, torch_model: Any, report: PortReport,
            probe: Probe | None = None) -> Pairing:
    """Pair the layers in the order the torch forward *calls* its modules (traced on a probe
    batch), not the order `__init__` registers them; a module the forward never calls is not
    paired (a note says so). Without a run, registration order."""
    mods = torch_modules(torch_model)
    if probe is None:
        probe = Probe.of(keras_model, report)
    tr = probe.trace(torch_model, mods) if probe is not None else None
    order = list(range(len(mods)))
    if tr is not None and tr.call_order:
        called = tr.call_order
        rest = [j for j in order if j not in called]
        if tr.ok:
            for j in rest:
                name, m = mods[j]
                report.notes.append(Difference(
                    "(none)", _label(m, name), "not called by the forward", "-",
                    "registered, never called", "not paired: it takes no part in the port"))
            order = list(called)
        else:
            order = list(called) + rest
    pairs = pair_layers(keras_model, [mods[j] for j in order], report)
    if tr is not None:
        tr = tr.remap({j: k for k, j in enumerate(order) if k < len(pairs)})
    return Pairing(pairs, probe, tr)


def pair_layers(keras_model: Any, modules: Any, report: PortReport) -> list[Pair]:
    """The layer pairs, in order; unpaired layers on either side go to `report`. `modules`
    is the torch model (registration order) or its `(name, module)` list in call order."""
    ks = keras_layers(keras_model)
    ts = modules if isinstance(modules, list) else torch_modules(modules)
    pairs: list[Pair] = []
    i = 0
    for name, m in ts:
        if i >= len(ks):
            report.differences.append(Difference(
                "(none)", _label(m, name), "extra torch module", "-", "present",
                "remove it from the torch model, or add the matching layer to the Keras model"))
            continue
        take = 1
        rule = torch_rule(m)
        if rule is not None and rule.stacks:
            take = max(1, min(m.num_layers, len(ks) - i))
        else:
            _best_of_run(ks, i, name, m)
        group = ks[i:i + take]
        i += take
        inner = [unwrap(k) for k in group]
        pairs.append(Pair(inner, name, m, graph=group))
        report.pairs.append((" + ".join(_label(k) for k in group), _label(m, name)))
    for k in ks[i:]:
        report.differences.append(Difference(
            _label(k), "(none)", "missing torch module", "present", "-",
            f"add the torch counterpart of {_label(k)}"))
    _keras_activations(keras_model, pairs)
    return pairs


def _best_of_run(ks: list[Any], i: int, name: str, m: Any) -> None:
    """Parallel branches (two heads) come in an order of their own on each side: among the
    next Keras layers of the module's kind, bring forward the first whose sizes match it."""
    trule = torch_rule(m)
    run = i
    while (run < len(ks) and trule is not None and keras_rule(unwrap(ks[run])) is not None
           and keras_rule(unwrap(ks[run])).kind == trule.kind):  # type: ignore[union-attr]
        run += 1
    for j in range(i, run):
        k = unwrap(ks[j])
        rule = keras_rule(k)
        checks = [c for c in (rule.checks if rule is not None else ()) if isinstance(c, Attr)]
        if all(not c(Pair([k], name, m)) for c in checks):
            ks.insert(i, ks.pop(j))
            return


def _keras_activations(keras_model: Any, pairs: list[Pair]) -> None:
    """Each pair's Keras activations: its layer's `activation=`, then the activation layers
    before the next paired layer (the same window the torch trace reads), and the last
    activation layer right after it (its output is the pair's output)."""
    ends = {id(p.graph[-1]): p for p in pairs}
    starts = {id(p.graph[0]): p for p in pairs}
    current: Pair | None = None
    contiguous = False
    between: list[str] = []
    for layer in all_keras_layers(keras_model):
        start = starts.get(id(layer))
        if start is not None:
            start.keras_before, between = between, []
        elif not keras_paired(layer) and type(layer).__name__ != "InputLayer":
            between.append(_label(layer))
        p = ends.get(id(layer))
        if p is not None:
            inner = unwrap(layer)
            own = activation_name(getattr(directions(inner)[0], "activation", None))
            rule = keras_rule(inner)
            sequence = rule is not None and rule.layout is SEQUENCE
            p.keras_applied = [] if own == "linear" or sequence else [own]
            p.keras_calls = [] if own == "linear" or sequence else [directions(inner)[0].activation]
            current, contiguous = p, True
            continue
        if keras_paired(layer):
            current = None
            continue
        if current is None or current.keras_applied is None:
            continue
        act = keras_activation_of(layer)
        if act is not None:
            if act != "linear":
                current.keras_applied.append(act)
                current.keras_calls.append(layer)
            if contiguous:
                current.keras_end = layer
        elif not keras_neutral(layer):
            contiguous = False


def same_kind(p: Pair) -> bool:
    """Are the Keras layer and the torch module of one kind (so the Keras rule applies)?"""
    krule, trule = keras_rule(p.keras[0]), torch_rule(p.module)
    return krule is not None and trule is not None and krule.kind == trule.kind


# ---------------------------------------------------------------------------- compare
def compare(keras_model: Any, torch_model: Any) -> PortReport:
    """Every difference in contract between a Keras model and its PyTorch port, layer by layer.

    Layer metadata is compared pair by pair; what only the forward shows (activations applied
    as functions, which step of a sequence is read, the output shapes) is read from one traced
    run of the torch forward on a small random probe batch. What could not be seen is listed
    in `unseen`, never passed over in silence."""
    check_models("compare", keras_model, torch_model)
    report = PortReport()
    paired = pairing(keras_model, torch_model, report)
    pairs, probe, tr = paired.pairs, paired.probe, paired.trace
    failed = None
    if tr is not None and not tr.ok:
        failed, tr = tr, None
        report.unseen.append(
            f"the torch forward failed on a probe batch ({failed.layout}: {failed.error}): "
            "activations, what each layer returns and the output shapes are not compared")
    elif (tr is not None and probe is not None and tr.layout == "Keras layout" and pairs
          and len(probe.inputs) == 1 and _lays_out(pairs[0], tuple(probe.inputs[0].shape))):
        first = pairs[0]
        report.notes.append(Difference(
            " + ".join(_label(x) for x in first.keras), _label(first.module, first.name),
            "input layout", tuple(probe.inputs[0].shape),
            f"takes it as is (its forward lays it out for {_label(first.module, first.name)})",
            "none: assert_equivalent feeds it Keras-layout data"))
        first.layout_handled = True
    elif tr is None:
        report.unseen.append("activations, what each layer returns and the output shapes "
                             "(the torch forward was not run)")
    for i, p in enumerate(pairs):
        p.applied = None if tr is None else [
            str(op.activation) for op in tr.activations_after(i)]
        node = None if tr is None else tr.input_nodes.get(i)
        p.input_ops = None if tr is None else [] if node is None else [op.name for op in node.ops]
    for p in pairs:
        _compare_pair(p, report, probe)
    report.unseen += [f"{_label(layer)} has weights the port does not know: it is not paired, "
                      "compared or transferred" for layer in unknown_weighted(keras_model)]
    report.unseen += [f"{_label(layer)} computes what the port cannot pair (code or "
                      "preprocessing, no weights): the torch forward must do the same; only "
                      "assert_equivalent checks it" for layer in computing_unseen(keras_model)]
    if failed is not None:
        _forward_fails(pairs, failed, probe, report)
    if tr is not None and probe is not None:
        _compare_flow(keras_model, pairs, tr, probe, report)
    return report


def check_models(what: str, keras_model: Any, torch_model: Any) -> None:
    """A clear TypeError for arguments that are not (Keras model, torch module), e.g. swapped."""
    def kerasy(x: Any) -> bool:  # on the torch backend a Keras model is an nn.Module too
        return any((c.__module__ or "").startswith("keras") for c in type(x).__mro__)

    def torchy(x: Any) -> bool:
        return hasattr(x, "named_modules") and hasattr(x, "forward") and not kerasy(x)

    if torchy(keras_model) and not torchy(torch_model):
        raise TypeError(f"{what}(keras_model, torch_model): the first argument is a torch "
                        f"{type(keras_model).__name__}: are the arguments swapped?")
    if not kerasy(keras_model):
        raise TypeError(f"{what}(keras_model, torch_model): the first argument is a "
                        f"{type(keras_model).__name__}, not a Keras model")
    if not torchy(torch_model):
        raise TypeError(f"{what}(keras_model, torch_model): the second argument is a "
                        f"{type(torch_model).__name__}, not a torch.nn.Module")


def _diff(report: PortReport, p: Pair, what: str, kv: Any, tv: Any, fix: str,
          note: bool = False) -> None:
    k = " + ".join(_label(x) for x in p.keras)
    (report.notes if note else report.differences).append(
        Difference(k, _label(p.module, p.name), what, kv, tv, fix))


def _compare_pair(p: Pair, report: PortReport, probe: Probe | None) -> None:
    k, m = p.keras[0], p.module
    rule = keras_rule(k)
    if rule is None or not same_kind(p):
        kind = keras_class(k)
        port = rule.port if rule is not None and rule.port is not None else "?"
        _diff(report, p, "layer kind", kind, torch_class(m), f"port {kind} as nn.{port}")
        return
    _input_contract(p, probe, report)
    for check in rule.checks:
        for issue in check(p):
            _diff(report, p, *issue)


def expected_input(p: Pair, probe: Probe | None) -> Any:
    """What the Keras layer receives, as a meta tensor laid out for the torch module (no
    data; sizes Keras leaves open are the probe's); None if the layer has no single input."""
    shape = expected_shape(p, probe)
    if shape is None:
        return None
    fill = probe.fill if probe is not None else 37
    return _meta(p, tuple(fill if d is None else d for d in shape))


def _keras_input(p: Pair) -> Any:
    x_in = p.graph[0].input
    if isinstance(x_in, (list, tuple)):  # [x, mask] after an Embedding(mask_zero=True)
        x_in = x_in[0]
    return x_in


def _meta(p: Pair, shape: tuple[int, ...]) -> Any:
    import torch

    dtype = str(_keras_input(p).dtype)
    tokens = "int" in dtype or hasattr(p.keras[0], "embeddings")  # an Embedding casts to int
    return torch.empty(shape, device="meta",
                       dtype=torch.long if tokens else getattr(torch, dtype, torch.float32))


def expected_shape(p: Pair, probe: Probe | None) -> tuple[int | None, ...] | None:
    """The Keras layer's input shape laid out for the torch module: the probe's batch, None
    where Keras leaves a size open."""
    import torch

    try:
        shape = tuple(_keras_input(p).shape)
    except Exception:
        return None
    batch = probe.batch if probe is not None else 2
    marks = {10_000 + i: None for i, d in enumerate(shape) if d is None and i}
    full = (batch, *(10_000 + i if d is None else int(d) for i, d in enumerate(shape) if i))
    x = torch.empty(full, device="meta")
    trule = torch_rule(p.module)
    if trule is not None and getattr(p.keras[0], "data_format", "") != "channels_first":
        x = trule.layout.to_torch(x, p.module)
    return tuple(None if int(n) in marks else int(n) for n in x.shape)


def _permutation(got: tuple[int, ...], want: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axis order of `got` that gives `want`: the one permutation finder of the fixes
    (fewest axes moved past each other), on `want` as fixed sizes; None if none or in order."""
    from .._dims import Fixed
    from .._spec import ArraySpec
    from .._suggest import permutation

    spec = ArraySpec(tuple(Fixed(n) for n in want), None, "Shaped", ())
    return permutation(got, list(want), spec) if len(got) == len(want) else None


def _forward_fails(pairs: list[Pair], tr: Trace, probe: Probe | None, report: PortReport) -> None:
    """The forward raised: where, on what, and (if it is a layout) the permute that fixes it."""
    if tr.failed is None:
        report.differences.append(Difference(
            "(the Keras model runs)", "torch forward", "forward fails", "runs", tr.error,
            "make the torch forward run on the Keras model's input (see the error)"))
        return
    p = pairs[tr.failed]
    label = _label(p.module, p.name)
    if any(d.torch == label for d in report.differences):
        return  # its differences above are why it fails
    got = tuple(int(n) for n in getattr(tr.inputs[tr.failed], "shape", ()))
    want = expected_shape(p, probe)
    perm = None if want is None or None in want else _permutation(got, want)  # type: ignore[arg-type]
    x = tr.inputs[tr.failed]
    params = [q for q in p.module.parameters()]
    shapes = weight_shapes(p.module)
    if shapes:
        fix = ("; ".join(shapes) + ": a Keras kernel (in, out) becomes torch's weight as "
               "kernel.T (conv: kernel.permute(3, 2, 0, 1)); transfer_weights does this")
    elif params and hasattr(x, "dtype") and params[0].dtype != x.dtype:
        fix = (f"its weights are {params[0].dtype}, its input {x.dtype} (the Keras input's "
               f"dtype): convert the model, e.g. model.to({x.dtype})")
    elif perm is not None:
        fix = (f"pass it x.permute{perm} of what it receives now: that is what Keras's layer "
               f"receives, laid out for torch ({tr.layout.split(' (')[0]} input)")
    else:
        fix = f"make the forward pass it {want} (what Keras's layer receives, laid out for torch)"
    _diff(report, p, "forward fails on the input it passes", want, f"{got}: {tr.error}", fix)


def _input_contract(p: Pair, probe: Probe | None, report: PortReport) -> None:
    """What the Keras layer receives, laid out for torch, checked by the torch module's own
    contract (the adapters' verdict, on a meta tensor: no data): a size the module fixes
    (`input_size`, `in_features`, `in_channels`) that the Keras
    layer's input does not have is a difference, fixed by the attribute the contract cites."""
    from .._config import scoped
    from .._errors import ShapeContractError
    from ..frameworks import contract_of

    try:
        contract = contract_of(p.module)
    except (TypeError, ValueError):
        return
    if not contract.inputs():
        return  # no stated input (BatchNorm: torch's word only): the rule's checks compare it
    x = expected_input(p, probe)
    if x is None:
        report.unseen.append(f"the input shape of {_label(p.graph[0])} (none is defined for a "
                             "layer of a subclassed model or one used twice): not checked "
                             "against the torch module's contract")
        return
    try:
        with scoped(mode="raise"):
            contract.check(x)
    except ShapeContractError as err:
        for v in err.violations:
            attribute = getattr(v.origin, "attribute", None)
            what = f"input {v.dim or 'shape'}" + (f" / {attribute}" if attribute else "")
            fix = (f"on the torch side: {attribute}={v.actual}" if attribute and v.dim
                   else v.message)
            _diff(report, p, what, v.actual, v.expected, fix)


@dataclass
class Probe:
    """A small random batch in Keras layout, with a batch size no other axis has (so a swapped
    batch and time axis shows), and the Keras output shapes for it."""

    inputs: list[Any]
    batch: int
    output_shapes: list[tuple[int | None, ...]]
    # per input (several inputs): the permutation torch's convention applies to it (a map into
    # a channels_last conv is taken NCHW), or None
    permutations: list[tuple[int, ...] | None] = field(default_factory=list)
    fill: int = 37  # the size of axes Keras leaves open (long enough for a few convs)

    @classmethod
    def of(cls, keras_model: Any, report: PortReport | None = None, seed: int = 0,
           batches: tuple[int, ...] = (2, 3, 5, 7, 11, 13, 17)) -> Probe | None:
        """A probe batch; its size is the first of `batches` that no axis has."""
        import numpy as np

        try:
            specs = [(tuple(t.shape), str(t.dtype)) for t in keras_model.inputs]
            outs = [tuple(t.shape) for t in keras_model.outputs]
        except Exception as exc:  # a subclassed model never called has no symbolic inputs
            if report is not None:
                report.unseen.append(
                    f"the Keras model has no symbolic inputs ({type(exc).__name__}: a subclassed "
                    "model has none even once called): the torch forward is not run; "
                    "assert_equivalent needs `sample=`")
            return None
        known = {s for shape, _ in specs for s in shape[1:] if s is not None}
        batch = next(n for n in batches if n not in known)
        fill = next(n for n in (37, 41, 43, 47, 53) if n not in known)
        rng = np.random.default_rng(seed)
        layers = all_keras_layers(keras_model)
        vocab = min((int(layer.input_dim) for layer in layers
                     if hasattr(layer, "input_dim") and hasattr(layer, "embeddings")), default=2)
        tokens = _token_inputs(keras_model, layers)
        xs = []
        for n, (shape, dtype) in enumerate(specs):
            full = (batch, *(fill if s is None else s for s in shape[1:]))
            if "int" in dtype or n in tokens:  # token ids, also in a float Input
                xs.append(rng.integers(0, vocab, full).astype(dtype))
            else:
                float_type = dtype if dtype in ("float32", "float64") else "float32"
                xs.append(rng.standard_normal(full).astype(float_type))
        return cls(xs, batch, [(batch, *o[1:]) for o in outs], _input_permutations(keras_model),
                   fill)

    def trace(self, torch_model: Any, modules: list[tuple[str, Any]]) -> Trace:
        """One traced run, with the input laid out the way the port takes it. The forward is
        run on the Keras-layout batch, then (one input) on it laid out for the first module the
        forward called (NCHW, time-major); the run in which the forward works and that module
        receives what its Keras layer does is kept (else the first that works, laid out first;
        else the one that got furthest: its error says where it stopped)."""
        import torch

        mods = [m for _, m in modules]
        as_is = [torch.tensor(x) for x in self.inputs]  # copies: a forward may change its input
        first_run = trace_forward(torch_model, [x.clone() for x in as_is], mods)
        runs = [first_run]
        first = first_run.call_order[0] if first_run.call_order else 0
        laid = None
        if len(as_is) == 1 and mods:
            rule = torch_rule(mods[first])
            if rule is not None:
                laid = rule.layout.to_torch(as_is[0], mods[first])
            if laid is not None and not (laid.shape == as_is[0].shape and torch.equal(laid, as_is[0])):
                run = trace_forward(torch_model, [laid.clone()], mods)
                run.layout = f"laid out for {_label(mods[first], modules[first][0])} {tuple(laid.shape)}"
                runs.insert(0, run)
            else:
                laid = None
        if len(as_is) > 1 and any(self.permutations):
            laid_all = [x if perm is None else x.permute(*perm).contiguous()
                        for x, perm in zip(as_is, self.permutations)]
            run = trace_forward(torch_model, [x.clone() for x in laid_all], mods)
            run.layout = "maps laid out channels first (NCHW)"
            if run.ok:
                return run  # torch's convention first, as for one input
            if not first_run.ok and len(run.call_order) > len(first_run.call_order):
                return run  # neither works: the one that got further says where it stops
        chosen = None
        for run in runs:
            got = run.inputs.get(first)
            want = laid if laid is not None else (as_is[0] if len(as_is) == 1 else None)
            if run.ok and (want is None or (isinstance(got, torch.Tensor) and got.shape == want.shape
                                            and torch.equal(got.to(want.dtype), want))):
                chosen = run
                break
        ok = [run for run in runs if run.ok]
        if chosen is None:
            chosen = ok[0] if ok else max(runs, key=lambda run: len(run.call_order))
        chosen.alternatives = [run for run in ok if run is not chosen]
        return chosen


def _token_inputs(keras_model: Any, layers: list[Any]) -> set[int]:
    """The inputs an Embedding reads directly (token ids, whatever the Input's dtype)."""
    out = set()
    for n, t in enumerate(getattr(keras_model, "inputs", None) or []):
        for layer in layers:
            try:
                x_in = layer.input
            except Exception:
                continue
            if x_in is t and hasattr(layer, "embeddings"):
                out.add(n)
    return out


def _input_permutations(keras_model: Any) -> list[tuple[int, ...] | None]:
    """Per input of a multi-input model: the NCHW permute if a channels_last map layer (a conv,
    pooling) reads it directly, else None."""
    inputs = list(getattr(keras_model, "inputs", None) or [])
    if len(inputs) < 2:
        return []
    out: list[tuple[int, ...] | None] = []
    for t in inputs:
        perm = None
        for layer in all_keras_layers(keras_model):
            try:
                x_in = layer.input
            except Exception:
                continue
            rule = keras_rule(unwrap(layer))
            if (x_in is t and rule is not None and isinstance(rule.layout, Channels)
                    and getattr(layer, "data_format", "channels_last") == "channels_last"
                    and len(t.shape) >= 3):
                rank = len(t.shape)
                perm = (0, rank - 1, *range(1, rank - 1))
                break
        out.append(perm)
    return out


def _lays_out(p: Pair, shape: tuple[int, ...]) -> bool:
    """Would the torch module take an input of this (Keras-layout) shape in another layout?"""
    import torch

    rule = torch_rule(p.module)
    if rule is None:
        return False
    x = torch.empty(shape, device="meta")
    return tuple(rule.layout.to_torch(x, p.module).shape) != tuple(shape)


def _is_sequence(layer: Any) -> bool:
    rule = keras_rule(layer)
    return rule is not None and rule.layout is SEQUENCE


def _compare_flow(keras_model: Any, pairs: list[Pair], tr: Trace, probe: Probe,
                  report: PortReport) -> None:
    """What only the forward shows: which step of a sequence reaches the next layer, the
    layout a sequence module receives, and the output shapes."""
    def consumer(c: int | None) -> str:
        return "the model output" if c is None else _label(pairs[c].module, pairs[c].name)

    for i, p in enumerate(pairs):
        last = p.keras[-1]
        if not _is_sequence(last):
            continue
        bidir = len(directions(last)) == 2
        seen: set[str] = set()
        for node, c in tr.downstream(i):
            if getattr(directions(last)[0], "return_sequences", True) or node.part != "out":
                break
            if len(node.shape) == 3 and "all" not in seen:
                seen.add("all")
                fix = ("use torch.cat((h_n[-2], h_n[-1]), dim=1): for a bidirectional layer the "
                       "last step of `output` is not what Keras returns" if bidir else
                       "take the last step: out[:, -1] (batch_first) / out[-1], or h_n[-1]")
                _diff(report, p, "what is returned", "last step only (return_sequences=False)",
                      f"all steps reach {consumer(c)} {node.shape}", fix)
            elif len(node.shape) == 2 and bidir and "step" not in seen:
                seen.add("step")
                h = p.module.hidden_size
                _diff(report, p, "what is returned", "both directions' final states",
                      f"{consumer(c)} reads `{node.expression}`",
                      f"the backward direction's final state is at step 0 (out[:, 0, {h}:]), "
                      "not at the last step: use torch.cat((h_n[-2], h_n[-1]), dim=1)")
        m = p.module
        # every run that worked, the Keras-layout one too: a port that also runs on the input
        # as Keras takes it, and hands a time-major RNN the batch on axis 0, swaps batch and
        # time silently for a user who feeds it (batch, timesteps, features)
        keras_layout = [a for a in tr.alternatives if a.layout == "Keras layout"]
        for run in (tr, *keras_layout):
            x = run.inputs.get(i)
            if (x is not None and getattr(m, "batch_first", True) is False and x.dim() == 3
                    and int(x.shape[0]) == probe.batch and int(x.shape[1]) != probe.batch):
                report.notes[:] = [n for n in report.notes
                                   if not (n.what == "layout" and n.torch == _label(m, p.name))]
                also = "" if run is tr else (" (the forward also runs on the input as Keras "
                                            "takes it, and reads the batch as time there)")
                _diff(report, p, "layout", "batch-major (batch, timesteps, features)",
                      f"batch_first=False, given {tuple(x.shape)} with the batch "
                      f"({probe.batch}) on axis 0{also}", f"build nn.{torch_class(m)}(..., "
                      "batch_first=True), or pass x.transpose(0, 1)")
                break
    got = [node.shape for node in tr.result_nodes] if tr.result_nodes else []
    if len(got) != len(probe.output_shapes):
        report.differences.append(Difference(
            f"model '{keras_model.name}' outputs", "torch forward outputs", "number of outputs",
            len(probe.output_shapes), len(got),
            "return one tensor per Keras output, in the same order"))
        return
    names = [str(n) for n in getattr(keras_model, "output_names", None) or []]
    align = align_outputs(probe.output_shapes, got, names, tr.result_keys)
    if align.note:
        report.notes.append(Difference(f"model '{keras_model.name}' outputs",
                                       "torch forward outputs", "outputs", "-", align.note,
                                       "none: assert_equivalent compares them so"))
    for n, (want, j) in enumerate(zip(probe.output_shapes, align.order)):
        have = got[j]
        if _fits(want, have) or (align.channels_first[n] and _fits(want, _cf(want, have))):
            continue
        which = "output" if len(got) == 1 else f"output {n}"
        report.differences.append(Difference(
            f"model '{keras_model.name}' {which}", f"torch forward {which}",
            f"{which} shape for a probe batch of {probe.batch}", want, have,
            "make the torch forward return what the Keras model returns (see the differences above)"))


def _fits(want: tuple[int | None, ...], have: tuple[int, ...]) -> bool:
    return len(want) == len(have) and all(w is None or w == h for w, h in zip(want, have))


def _cf(want: tuple[Any, ...], have: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-first shape read as channels-last (axis 1 moved to the end)."""
    return (have[0], *have[2:], have[1]) if len(have) >= 3 else have


@dataclass
class OutputAlignment:
    """Which torch output each Keras output is compared with, and whether it is a map the torch
    forward returns channels first (compared with axis 1 moved last)."""

    order: list[int]
    channels_first: list[bool]
    note: str = ""


def align_outputs(want: list[tuple[Any, ...]], got: list[tuple[int, ...]], names: list[str],
                  keys: list[Any] | None) -> OutputAlignment:
    """Keras outputs against torch's: by key when the forward returns a dict with the Keras
    output names; else in order, unless the shapes say another order (unambiguously: two
    heads returned the other way round). A map may come back channels first (NCHW)."""
    n = len(want)
    order = list(range(n))
    note = ""
    if keys is not None and names and set(names) <= {str(k) for k in keys}:
        index = {str(k): i for i, k in enumerate(keys)}
        order = [index[name] for name in names]
    elif not all(_fits(w, got[i]) or _fits(w, _cf(w, got[i])) for i, w in enumerate(want)):
        matches = [[j for j, g in enumerate(got) if _fits(w, g) or _fits(w, _cf(w, g))]
                   for w in want]
        if all(len(m) == 1 for m in matches) and len({m[0] for m in matches}) == n:
            order = [m[0] for m in matches]
            note = ("returned in another order than Keras's outputs "
                    f"({', '.join(names) if names else 'by position'}): compared by shape, "
                    f"torch outputs {order}")
    cf = [not _fits(w, got[j]) and _fits(w, _cf(w, got[j])) for w, j in zip(want, order)]
    if any(cf):
        which = [names[i] if i < len(names) else str(i) for i, c in enumerate(cf) if c]
        note = "; ".join(filter(None, [note, "channels first (NCHW) for " + ", ".join(which)
                                       + ": compared with axis 1 moved last"]))
    return OutputAlignment(order, cf, note)
