"""The public corpus scoreboard (issue 21, part 3): real shape bugs from public threads.

`make scoreboard` (or `.venv/bin/python benchmarks/scoreboard.py`) runs every case of
`tests/bugs` (Keras 3 on TensorFlow and PyTorch CPU, in-process): the buggy program unguarded
(does the bug reproduce today?) and guarded, then the control program (the accepted answer's
corrected code) unguarded and guarded. It prints, per framework and per kind: cases, bugs that
reproduce, caught (a ShapeContractError before the framework runs), explained (the framework's
error explained by `shapecontract.explain`), right fix (a suggestion matches the answer's fix)
and false alarms (a control the guard rejects); then every case that is missed or gets no right
fix. `--json FILE` writes the figures and every case's result; `--case NAME` (repeatable) runs
only those cases; `--framework keras|torch` one framework. Cases whose `known_miss` / `no_right_fix`
annotations disagree with the run are listed last (the bounded test marks them xfail, strict).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.bugs import KINDS, Result, all_cases, score  # noqa: E402

COLUMNS = ("cases", "reproduce", "caught", "explained", "right fix", "false alarms")


def tally(results: Iterable[Result]) -> dict[str, int]:
    rs = list(results)
    return {"cases": len(rs), "reproduce": sum(r.reproduces for r in rs),
            "caught": sum(r.outcome == "caught" for r in rs),
            "explained": sum(r.outcome == "explained" for r in rs),
            "right fix": sum(r.right_fix for r in rs),
            "false alarms": sum(r.false_alarm for r in rs)}


def table(title: str, rows: list[tuple[str, dict[str, int]]]) -> str:
    head = f"| {title} | " + " | ".join(COLUMNS) + " |"
    sep = "|" + "---|" * (len(COLUMNS) + 1)
    body = [f"| {name} | " + " | ".join(str(t[c]) for c in COLUMNS) + " |" for name, t in rows]
    return "\n".join([head, sep, *body])


def report(results: list[Result]) -> dict[str, Any]:
    frameworks = sorted({r.framework for r in results})
    by_fw = [(fw, tally(r for r in results if r.framework == fw)) for fw in frameworks]
    by_fw.append(("all", tally(results)))
    kinds = [k for k in KINDS if any(r.kind == k for r in results)]
    by_kind = [(f"{fw} / {k}", tally(r for r in results if r.framework == fw and r.kind == k))
               for fw in frameworks for k in kinds
               if any(r.framework == fw and r.kind == k for r in results)]
    by_kind += [(k, tally(r for r in results if r.kind == k)) for k in kinds]
    return {"by_framework": by_fw, "by_kind": by_kind}


def cases_table(results: list[Result], by: dict[str, Any]) -> str:
    """Every case as a markdown row: name, framework, kind, source, the answer's fix, today."""
    rows = ["| case | framework | kind | source | the answer's fix | today |",
            "|---|---|---|---|---|---|"]
    for r in results:
        c = by[r.case]
        today = ("stale" if c.stale else r.outcome) + (", right fix" if r.right_fix else "")
        if r.false_alarm:
            today += ", FALSE ALARM"
        fix = c.fix.replace("|", "\\|")
        rows.append(f"| `{r.case}` | {r.framework} | {r.kind} | [thread]({c.source}) | {fix} "
                    f"| {today} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures and every result here")
    ap.add_argument("--case", action="append", default=[], help="run only this case")
    ap.add_argument("--framework", choices=("keras", "torch"))
    ap.add_argument("--cases-markdown", type=Path,
                    help="write the table of every case (for docs/scoreboard.md) here")
    args = ap.parse_args(argv)

    cases = all_cases()
    if args.case:
        cases = [c for c in cases if c.name in set(args.case)]
    if args.framework:
        cases = [c for c in cases if c.framework == args.framework]
    results, t0 = [], time.perf_counter()
    for c in cases:
        r = score(c)
        results.append(r)
        print(f"  {r.case:45s} {r.outcome:9s} fix={'yes' if r.right_fix else 'no ':3s} "
              f"alarm={'YES' if r.false_alarm else 'no'}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0

    rep = report(results)
    print(table("framework", rep["by_framework"]))
    print()
    print(table("framework / kind", rep["by_kind"]))
    misses = [r for r in results if not r.found or not r.right_fix or r.false_alarm]
    if misses:
        print("\nNot caught, no right fix, or a false alarm:")
        for r in misses:
            why = ("false alarm: " + str(r.control_error)) if r.false_alarm else (
                f"{r.outcome}, suggestions: {r.suggestions or 'none'}")
            print(f"- {r.case} ({r.framework}, {r.kind}): {why}")
    by = {c.name: c for c in cases}
    stale = [by[r.case] for r in results if not r.reproduces]
    if stale:
        print("\nNo longer reproduce on today's frameworks:")
        for c in stale:
            print(f"- {c.name} ({c.framework}): {c.stale}")
    marks = [(c, r) for c, r in ((by[r.case], r) for r in results)
             if bool(c.known_miss) == r.found or bool(c.no_right_fix) == r.right_fix]
    if marks:
        print("\nAnnotations that disagree with this run (known_miss / no_right_fix):")
        for c, r in marks:
            print(f"- {c.name}: found={r.found} (known_miss={bool(c.known_miss)}), "
                  f"right fix={r.right_fix} (no_right_fix={bool(c.no_right_fix)})")
    print(f"\n{len(results)} cases in {seconds:.0f} s")
    if args.cases_markdown:
        args.cases_markdown.write_text(cases_table(results, by))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "by_framework": dict(rep["by_framework"]), "by_kind": dict(rep["by_kind"]),
            "seconds": round(seconds, 1),
            "cases": [{**asdict(r), "source": by[r.case].source, "fix": by[r.case].fix,
                       "expect": [str(e) for e in by[r.case].expect]} for r in results],
        }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
