"""Per-call overhead of `guard(model)` on a model call, against a hand-written check, in one run.

torch (CPU, one thread, under `torch.no_grad()`), one fresh module per variant (same weights):
  bare         `m(x)`, nothing registered (baseline)
  guarded      `m(x)` after `shapecontract.guard(m)` (whatever hooks it installs; at commit
               6ddafd3 a forward pre-hook for the inputs and a forward hook for the outputs)
  handwritten  `m(x)` with a `register_forward_pre_hook` checking the conditions the guard's
               contract checks on the inputs (exact tensor type, floating dtype, rank, every
               fixed size, equal batch between input and hx), raising ValueError: the floor,
               and the target's baseline. It checks inputs only; the guard may check outputs too.
  handwritten in+out  the same pre-hook plus a `register_forward_hook` checking the outputs
               against the inputs (type, rank, sizes, batch/timesteps carried over): context
               for how much of the guard's overhead its output check explains.
Cases: Linear(3, 2) on (8, 3); LSTM(3, 8, batch_first=True) on (4, 5, 3), without hx and with
hx=(h0, c0) of (1, 4, 8) passed positionally; Conv2d(1, 4, 3) + ReLU + Conv2d(4, 8, 3) on
(2, 1, 16, 16).

Keras (TensorFlow backend): Sequential([Input((24, 3)), LSTM(8), Dense(1)]),
`model.predict_on_batch(x)` with x (4, 24, 3) float32: bare, guarded, and a hand-written check
function called first (type, numeric dtype, rank, sizes 24 and 3; the guard's contract says
`Num`, so its dtype condition is "numeric", not "floating").

Before timing, every guarded and hand-written variant must accept the good input and reject
each bad one with its own error (ShapeContractError / the hand-written ValueError), not with the
framework's: nothing timed is a no-op. A guard that fails on the good input, or lets a bad one
through, is reported as "guard failed: <error>" and not timed; the run goes on.

Variants are interleaved (ROUNDS rounds of REPEATS timeit repeats, each repeat ~30 ms; medians).
Overhead = median(variant) - median(bare); its noise (+-) is half the interquartile range over
the rounds of each round's (variant - bare). Headline: overhead(guarded) / overhead(handwritten)
(target <= 1.5x), with the range the two overheads allow, each +- the larger of their two
noises; the verdict is "met" or "missed" only if that whole range is on one side of 1.5x, else
"not resolved". When the hand-written overhead is within the noise (e.g. next to a Keras
predict_on_batch of ~0.8 ms) only a lower bound is given, or "n/a" when the guard's overhead
is within it too.

Run: .venv/bin/python benchmarks/bench_guard.py [--markdown] [--quick]
(`--quick` or SHAPECONTRACT_BENCH_QUICK=1: one short round, to see that it runs.)
"""

import copy
import os
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import shapecontract
from shapecontract import ShapeContractError, guard

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK")) or "--quick" in sys.argv
REPEATS = 3 if QUICK else 21
ROUNDS = 1 if QUICK else 5
REPEAT_S = 0.005 if QUICK else 0.03  # target duration of one timeit repeat
TARGET = 1.5


class HandwrittenCheckError(ValueError):
    """What the hand-written checks raise: a framework's own ValueError cannot pass for one."""


def short(e: BaseException) -> str:
    """An error on one line: its type and the start of its message."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:220]}{'...' if len(text) > 220 else ''}"


def vet(call: Callable[..., Any], good: tuple[Any, ...],
        bad: list[tuple[str, tuple[Any, ...]]], own_error: type[BaseException]) -> str | None:
    """None if `call` accepts `good` and rejects every `bad` with `own_error`; else why not."""
    try:
        call(*good)
    except Exception as e:  # reported, not hidden
        return f"rejected the good input: {short(e)}"
    for what, args in bad:
        try:
            call(*args)
        except own_error:
            continue
        except Exception as e:
            return f"{what}: not rejected by the check but by the framework ({short(e)})"
        return f"{what}: accepted"
    return None


# ------------------------------------------------------------------------------ torch
def torch_cases() -> list[dict[str, Any]]:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    T = torch.Tensor

    def bad_input(msg: str) -> ValueError:
        return HandwrittenCheckError(f"hand-written check: {msg}")

    def linear_pre(mod: Any, args: tuple[Any, ...]) -> None:
        x = args[0]
        if not (type(x) is T and x.dtype.is_floating_point):
            raise bad_input("input must be a floating torch.Tensor")
        s = x.shape
        if not (len(s) >= 1 and s[-1] == 3):
            raise bad_input(f"input must be (*batch, 3), got {tuple(s)}")

    def lstm_pre(mod: Any, args: tuple[Any, ...]) -> None:
        # the contract: input (batch, timesteps, 3) or unbatched (timesteps, 3); hx optional,
        # a tuple of two (1, batch, 8) or unbatched (1, 8); batch shared
        x = args[0]
        if not (type(x) is T and x.dtype.is_floating_point):
            raise bad_input("input must be a floating torch.Tensor")
        s = x.shape
        if len(s) == 3:
            batch = s[0]
        elif len(s) == 2:
            batch = None
        else:
            raise bad_input(f"input must have 2 or 3 axes, got {tuple(s)}")
        if s[-1] != 3:
            raise bad_input(f"input must have 3 features, got {tuple(s)}")
        if len(args) < 2 or args[1] is None:
            return
        hx = args[1]
        if not (type(hx) is tuple and len(hx) == 2):
            raise bad_input("hx must be a tuple (h0, c0)")
        for h in hx:
            if not (type(h) is T and h.dtype.is_floating_point):
                raise bad_input("hx must hold floating torch.Tensors")
            sh = h.shape
            if len(sh) == 3 and sh[0] == 1 and sh[2] == 8:
                if batch is None:
                    batch = sh[1]
                elif sh[1] != batch:
                    raise bad_input(f"hx batch {sh[1]} != input batch {batch}")
            elif not (len(sh) == 2 and sh[0] == 1 and sh[1] == 8):
                raise bad_input(f"hx items must be (1, batch, 8) or (1, 8), got {tuple(sh)}")

    def conv_pre(mod: Any, args: tuple[Any, ...]) -> None:
        x = args[0]
        if not (type(x) is T and x.dtype.is_floating_point):
            raise bad_input("input must be a floating torch.Tensor")
        s = x.shape
        if not ((len(s) == 4 and s[1] == 1) or (len(s) == 3 and s[0] == 1)):
            raise bad_input(f"input must be (batch, 1, h, w) or (1, h, w), got {tuple(s)}")

    def bad_output(msg: str) -> ValueError:
        return HandwrittenCheckError(f"hand-written output check: {msg}")

    def linear_post(mod: Any, args: tuple[Any, ...], out: Any) -> None:  # (*batch, 2)
        s = args[0].shape
        if not (type(out) is T and len(so := out.shape) == len(s) and so[-1] == 2
                and so[:-1] == s[:-1]):
            raise bad_output("output must be (*batch, 2) with the input's batch")

    def lstm_post(mod: Any, args: tuple[Any, ...], out: Any) -> None:
        # output (batch, timesteps, 8), (h, c) each (1, batch, 8); unbatched without batch
        s = args[0].shape
        if not (type(out) is tuple and len(out) == 2 and type(out[1]) is tuple
                and len(out[1]) == 2):
            raise bad_output("output must be (y, (h, c))")
        y, (h, c) = out
        if not (type(y) is T and type(h) is T and type(c) is T):
            raise bad_output("outputs must be torch.Tensors")
        if len(s) == 3:
            ok = (y.shape == (s[0], s[1], 8) and h.shape == (1, s[0], 8)
                  and c.shape == (1, s[0], 8))
        else:
            ok = y.shape == (s[0], 8) and h.shape == (1, 8) and c.shape == (1, 8)
        if not ok:
            raise bad_output("output shapes do not follow from the input")

    def conv_post(mod: Any, args: tuple[Any, ...], out: Any) -> None:
        # (batch, 8, height-4, width-4): what the stack computes (two 3x3 kernels, no padding)
        s = args[0].shape
        want = (s[0], 8, s[2] - 4, s[3] - 4) if len(s) == 4 else (8, s[1] - 4, s[2] - 4)
        if not (type(out) is T and out.shape == want):
            raise bad_output(f"output must be {want}")

    lstm = nn.LSTM(3, 8, batch_first=True)
    h = torch.zeros(1, 4, 8), torch.zeros(1, 4, 8)
    h_bad = torch.zeros(1, 3, 8), torch.zeros(1, 3, 8)
    return [
        dict(name="torch Linear(3, 2), x (8, 3)", model=nn.Linear(3, 2), hook=linear_pre,
             post=linear_post,
             good=(torch.zeros(8, 3),), bad=[("4 features", (torch.zeros(8, 4),))]),
        dict(name="torch LSTM(3, 8), x (4, 5, 3)", model=lstm, hook=lstm_pre, post=lstm_post,
             good=(torch.zeros(4, 5, 3),), bad=[("4 features", (torch.zeros(4, 5, 4),))]),
        dict(name="torch LSTM(3, 8), x (4, 5, 3), hx positional", model=lstm, hook=lstm_pre, post=lstm_post,
             good=(torch.zeros(4, 5, 3), h),
             bad=[("4 features", (torch.zeros(4, 5, 4), h)),
                  ("hx batch 3", (torch.zeros(4, 5, 3), h_bad))]),
        dict(name="torch Conv2d stack, x (2, 1, 16, 16)",
             model=nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3)),
             hook=conv_pre, post=conv_post, good=(torch.zeros(2, 1, 16, 16),),
             bad=[("2 channels", (torch.zeros(2, 2, 16, 16),))]),
    ]


def torch_variants(case: dict[str, Any]) -> dict[str, Any]:
    """name -> the callable to time, or the reason it cannot be timed."""
    import torch

    out: dict[str, Any] = {"bare": copy.deepcopy(case["model"])}
    try:
        g = guard(copy.deepcopy(case["model"]))
    except Exception as e:
        out["guarded"] = f"guard failed: guard(model) raised {short(e)}"
    else:
        why = vet(g, case["good"], case["bad"], ShapeContractError)
        out["guarded"] = g if why is None else f"guard failed: {why}"
    hw = copy.deepcopy(case["model"])
    hw.register_forward_pre_hook(case["hook"])
    hwo = copy.deepcopy(case["model"])
    hwo.register_forward_pre_hook(case["hook"])
    hwo.register_forward_hook(case["post"])
    for name, m in (("handwritten", hw), ("handwritten in+out", hwo)):
        why = vet(m, case["good"], case["bad"], HandwrittenCheckError)
        if why is None:  # the output hook really checks too
            try:
                case["post"](m, case["good"], torch.zeros(1))
                why = "output check: accepted a wrong output"
            except HandwrittenCheckError:
                pass
        if why is not None:
            raise AssertionError(f"{case['name']}: {name}: {why}: the benchmark is void")
        out[name] = m
    return out


# ------------------------------------------------------------------------------ Keras
def keras_check(x: Any) -> None:
    """The hand-written check of the Keras contract: (batch, 24, 3), numeric dtype."""
    if not (type(x) is np.ndarray and x.dtype.kind in "iufc"):
        raise HandwrittenCheckError("hand-written check: input must be a numeric numpy array")
    s = x.shape
    if not (len(s) == 3 and s[1] == 24 and s[2] == 3):
        raise HandwrittenCheckError(f"hand-written check: input must be (batch, 24, 3), got {s}")


KERAS_GOOD = (np.zeros((4, 24, 3), np.float32),)
KERAS_BAD = [("3 features -> 2", (np.zeros((4, 24, 2), np.float32),))]


def keras_variants(name: str, fresh: Callable[[], Any]) -> dict[str, Any]:
    """bare / guarded / hand-written `predict_on_batch` of fresh copies of one Keras model, each
    vetted (accepts the good input, rejects the bad one with its own error) before timing."""
    variants: dict[str, Any] = {"bare": fresh().predict_on_batch}
    try:
        g = guard(fresh())
    except Exception as e:
        variants["guarded"] = f"guard failed: guard(model) raised {short(e)}"
    else:
        why = vet(g.predict_on_batch, KERAS_GOOD, KERAS_BAD, ShapeContractError)
        variants["guarded"] = g.predict_on_batch if why is None else f"guard failed: {why}"
    hw = fresh()

    def handwritten(x: Any) -> Any:
        keras_check(x)
        return hw.predict_on_batch(x)

    why = vet(handwritten, KERAS_GOOD, KERAS_BAD, HandwrittenCheckError)
    if why is not None:
        raise AssertionError(f"{name}: the hand-written check {why}: the benchmark is void")
    variants["handwritten"] = handwritten
    return variants


def keras_case() -> dict[str, Any]:
    import keras

    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)])
    weights = base.get_weights()

    def fresh() -> Any:
        m = keras.models.clone_model(base)
        m.set_weights(weights)
        return m

    name = "Keras LSTM(8)+Dense(1), predict_on_batch (4, 24, 3)"
    return dict(name=name, good=KERAS_GOOD, variants=keras_variants(name, fresh))


def keras_entry_case() -> dict[str, Any]:
    """The same model and contract, with `predict_on_batch` made trivial (it returns its input),
    so the guard's entry-point check is measured without ~1 ms of Keras noise around it."""
    import keras

    class Probe(keras.Sequential):  # type: ignore[misc]
        def predict_on_batch(self, x: Any) -> Any:
            return x

    class Checked(Probe):  # the same check, hand-written as an entry-point override (what a
        def predict_on_batch(self, x: Any) -> Any:  # guard of one's own would look like)
            keras_check(x)
            return super().predict_on_batch(x)

    def layers() -> list[Any]:
        return [keras.Input((24, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)]

    name = "Keras, the same contract, predict_on_batch made trivial (entry check only)"
    variants = keras_variants(name, lambda: Probe(layers()))
    ov = Checked(layers())
    why = vet(ov.predict_on_batch, KERAS_GOOD, KERAS_BAD, HandwrittenCheckError)
    if why is not None:
        raise AssertionError(f"{name}: the override {why}: the benchmark is void")
    variants["handwritten override"] = ov.predict_on_batch
    return dict(name=name, good=KERAS_GOOD, variants=variants)


# ------------------------------------------------------------------------------ timing
def measure(variants: dict[str, Any], args: tuple[Any, ...]) -> dict[str, list[float]]:
    """Per-round medians (seconds per call) of each timeable variant, interleaved."""
    live = {k: v for k, v in variants.items() if not isinstance(v, str)}
    for fn in live.values():  # warm up
        for _ in range(3):
            fn(*args)
    bare = live["bare"]
    one = min(timeit.repeat(lambda: bare(*args), number=1, repeat=5))
    number = max(1, int(REPEAT_S / max(one, 1e-9)))
    samples: dict[str, list[float]] = {k: [] for k in live}
    for _ in range(ROUNDS):
        for name, fn in live.items():
            t = timeit.repeat(lambda f=fn: f(*args), number=number, repeat=REPEATS)
            samples[name].append(statistics.median(t) / number)
    return samples


def summarize(samples: dict[str, list[float]]) -> dict[str, tuple[float, float, float]]:
    """variant -> (median us, overhead us, noise us).

    overhead = median(variant) - median(bare); noise = half the interquartile range, over the
    rounds, of that round's (variant - bare) (one stray round does not decide it).
    """
    us = {k: [t * 1e6 for t in v] for k, v in samples.items()}
    b = us["bare"]
    out = {}
    for k, v in us.items():
        diffs = [a - c for a, c in zip(v, b)]
        noise = 0.0
        if len(diffs) >= 2:
            q1, _, q3 = statistics.quantiles(diffs, n=4, method="inclusive")
            noise = (q3 - q1) / 2
        out[k] = (statistics.median(v), statistics.median(v) - statistics.median(b), noise)
    return out


def ratio(stats: dict[str, tuple[float, float, float]], num: str, den: str) -> tuple[str, str]:
    """(overhead(num) / overhead(den) with its range, verdict on the target).

    Both overheads are taken as overhead +- noise, with the larger of their two noises (both
    were measured under the same conditions); the range is what those intervals allow. The
    verdict is "met" / "missed" only if the whole range is on one side of the target.
    """
    if num not in stats or den not in stats:
        return "-", "-"
    (_, o_num, n_num), (_, o_den, n_den) = stats[num], stats[den]
    n = max(n_num, n_den)
    lo_num, hi_num, lo_den, hi_den = o_num - n, o_num + n, o_den - n, o_den + n
    if lo_den > 0:
        lo, hi = max(lo_num, 0.0) / hi_den, max(hi_num, 0.0) / lo_den
        text = f"{o_num / o_den:.2f}x ({lo:.2f}-{hi:.2f})"
    elif lo_num > 0 and hi_den > 0:
        lo, hi = lo_num / hi_den, float("inf")
        text = f">= {lo:.1f}x ({den} overhead within the noise)"
    else:
        return "n/a: overheads within the noise", "not resolved"
    verdict = "met" if hi <= TARGET else "missed" if lo > TARGET else "not resolved"
    if QUICK:
        verdict = "not judged (--quick)"
    return text, verdict


def main() -> None:
    markdown = "--markdown" in sys.argv
    print(f"shapecontract from {os.path.dirname(shapecontract.__file__)}; "
          f"{ROUNDS} rounds x {REPEATS} repeats{' (quick: no noise estimate)' if QUICK else ''}",
          file=sys.stderr)
    rows: list[tuple[str, dict[str, Any], dict[str, tuple[float, float, float]]]] = []
    import torch

    with torch.no_grad():
        for case in torch_cases():
            variants = torch_variants(case)
            rows.append((case["name"], variants, summarize(measure(variants, case["good"]))))
    for kc in (keras_case(), keras_entry_case()):
        rows.append((kc["name"], kc["variants"], summarize(measure(kc["variants"], kc["good"]))))

    labels = {"handwritten": "hand-written", "handwritten in+out": "hand-written in+out",
              "handwritten override": "hand-written override"}
    target_of = {"Keras, the same contract, predict_on_batch made trivial (entry check only)":
                 "handwritten override"}
    if markdown:
        print("| case | bare (us) | guard overhead (us) | baseline | baseline overhead (us) "
              "| guard / baseline | target (<= 1.5x) | other baselines: guard / baseline |")
        print("|---|---|---|---|---|---|---|---|")
    failed = []
    for name, variants, st in rows:
        g = variants["guarded"]
        base = target_of.get(name, "handwritten")
        others = [c for c in labels if c in st and c != base]
        if isinstance(g, str):
            failed.append(name)
            r1, verdict, rest = g, "-", []
        else:
            r1, verdict = ratio(st, "guarded", base)
            rest = [(c, ratio(st, "guarded", c)[0]) for c in others]
        if markdown:
            over = "guard failed" if isinstance(g, str) else f"{st['guarded'][1]:.2f} +- {st['guarded'][2]:.2f}"
            r1 = f"**{r1}**" if r1[0].isdigit() else r1.replace("|", "\\|")
            other = "; ".join(f"{labels[c]}: {r} (overhead {st[c][1]:.2f} us)" for c, r in rest) or "-"
            print(f"| {name} | {st['bare'][0]:.1f} | {over} | {labels[base]} | "
                  f"{st[base][1]:.2f} +- {st[base][2]:.2f} | {r1} | {verdict} | {other} |")
        else:
            print(f"{name}:")
            print(f"  guard / {labels[base]} overhead = {r1}"
                  + (f" (target <= {TARGET}x: {verdict})" if verdict != "-" else ""))
            for c, r in rest:
                print(f"  guard / {labels[c]} overhead = {r}")
            for c in ("bare", "guarded", *labels):
                if c in st:
                    print(f"  {c:<20} median {st[c][0]:9.2f} us  overhead {st[c][1]:8.2f} us "
                          f"(+-{st[c][2]:.2f} over rounds)")
    if failed:
        print(f"guard failed (not timed): {'; '.join(failed)}", file=sys.stderr)


if __name__ == "__main__":
    main()
