"""validate and guard on a Ray Data dataset, on a real local Ray cluster (one for the module:
`ray.init(num_cpus=2)`), and `shapecontract validate --engine ray`. Skipped without Ray.

The report must be the one a single process gives over the same rows (same indices, same
text); faults (a block that raises, a worker killed, a corrupt file, a stalled job, Ctrl-C)
are reported with their source and rows, and nothing waits without an end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from shapecontract import Array, Float, ShapeContractError, guard, validate  # noqa: E402
from shapecontract.frameworks.ray.data import RayBatch  # noqa: E402
from shapecontract.frameworks.rows import BatchCheck, Columns, received  # noqa: E402
from shapecontract.pipeline import StreamContract  # noqa: E402

SPEC = Float[Array, "t f"]
LIMIT = 60.0


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _rows(n: int = 400) -> list[np.ndarray]:
    """Ragged rows: t varies (fine), f must stay 3; rows 7, 123 and 301 break it. (A Ray column
    holds one rank and one dtype: Ray casts a row of another dtype, so none is here.)"""
    out = [np.zeros((5 + i % 4, 3), np.float32) for i in range(n)]
    out[123] = np.zeros((6, 4), np.float32)
    out[301] = np.zeros((5, 4), np.float32)
    out[7] = np.zeros((5, 5), np.float32)
    return out


def _same(a: Any, b: Any) -> None:
    """Two reports say the same: elements, failing indices, every error's text."""
    assert a.elements == b.elements
    assert [i for i, _ in a.failures] == [i for i, _ in b.failures]
    assert [str(e).replace(a.name, "S") for _, e in a.failures] == [
        str(e).replace(b.name, "S") for _, e in b.failures]
    assert [e.index for _, e in a.failures] == [i for i, _ in a.failures]
    a.name = b.name
    assert str(a) == str(b)


def test_the_report_is_the_one_process_report_over_the_same_rows() -> None:
    """Ragged rows in 6 blocks, a stable dim learned from row 0 and compared in every block:
    the same failures, indices and texts as validate over the list of rows."""
    rows = _rows()
    ds = ray.data.from_items([{"x": r} for r in rows], override_num_blocks=6)
    got = validate(ds, SPEC, stable=("f",))
    want = validate([r["x"] for r in ds.iter_rows()], SPEC, stable=("f",))
    assert [i for i, _ in want.failures] == [7, 123, 301]
    _same(got, want)
    assert not got.ok and got.faults == []
    assert got.sizes["f"] == {3: 397} and sum(got.sizes["t"].values()) == 397


def test_dense_blocks_of_different_shapes_are_compared_across_shards() -> None:
    """Three dense blocks (from_numpy): the third has 4 features where row 0 had 3. Each block
    is judged by one row (every row of a dense array has its shape), every row still reported."""
    parts = [np.zeros((100, 24, 3), np.float32), np.zeros((50, 24, 3), np.float32),
             np.zeros((30, 24, 4), np.float32), np.zeros((20, 24, 3), np.int32)]
    ds = ray.data.from_numpy(parts)
    rows = [r["data"] for r in ds.iter_rows()]
    assert rows[-1].dtype == np.int32  # each block keeps its own dtype
    got = validate(ds, SPEC, stable=("f",))
    want = validate(rows, SPEC, stable=("f",))
    assert [i for i, _ in want.failures] == list(range(150, 200))
    _same(got, want)
    assert got.sizes == {"f": {3: 150}, "t": {24: 150}}
    alone = validate(ds, SPEC)  # without stable, each row stands alone: only int32 fails
    assert [i for i, _ in alone.failures] == list(range(180, 200))
    assert alone.sizes == {"f": {3: 150, 4: 30}, "t": {24: 180}}


def test_lazy_false_raises_the_first_violation_with_its_index() -> None:
    rows = _rows()
    ds = ray.data.from_items([{"x": r} for r in rows], override_num_blocks=4)
    with pytest.raises(ShapeContractError) as e:
        validate(ds, SPEC, stable=("f",), lazy=False)
    assert e.value.index == 7 and "element 7" in str(e.value)


def test_columns_make_the_element_and_a_wrong_choice_is_a_clear_error() -> None:
    x = np.zeros((20, 24, 3), np.float32)
    y = np.zeros((20, 1), np.float32)
    y[5] = 0
    ds = ray.data.from_items([{"x": a, "y": b, "note": "n"} for a, b in zip(x, y)])
    xy = tuple[Float[Array, "t f"], Float[Array, "1"]]
    assert validate(ds, xy, columns=("x", "y")).ok
    assert not validate(ds, xy, columns=("y", "x")).ok
    with pytest.raises(ShapeContractError, match=r"columns=.*the columns are: .*'x'.*'y'"):
        validate(ds, SPEC)  # three columns, no choice
    with pytest.raises(ShapeContractError, match=r"no column 'z'"):
        validate(ds, SPEC, columns="z")
    with pytest.raises(TypeError, match=r"workers=2.*Ray cluster's tasks"):
        validate(ds, SPEC, columns="x", workers=2)


def test_a_json_contract_loads_no_framework_on_the_workers() -> None:
    """With a contract from JSON the tasks import shapecontract and numpy, no framework; the
    same probe with a spec that names torch tensors does see torch (it can fail)."""
    from shapecontract import Contract, contract, contract_of

    @contract
    def step(x: Float[Array, "t 3"]) -> None: ...

    c = Contract.from_dict(json.loads(contract_of(step).to_json()))
    x = np.zeros((64, 24, 3), np.float32)
    ds = ray.data.from_numpy(x)
    assert validate(ds, c).ok
    sc = StreamContract("probe", c.inputs()[0].spec)
    summaries = ds.map_batches(RayBatch(BatchCheck(sc, {}, {}, Columns("one", ("data",)))),
                               batch_format="numpy", batch_size=None).take_all()
    seen = {f for s in summaries for f in received(s["summary"]).frameworks}
    assert seen == set()
    torch = pytest.importorskip("torch")
    from shapecontract import Float as F
    from shapecontract.pipeline import as_spec

    sc = StreamContract("probe", as_spec(F[torch.Tensor, "t 3"]))
    summaries = ds.map_batches(RayBatch(BatchCheck(sc, {}, {}, Columns("one", ("data",)))),
                               batch_format="numpy", batch_size=None).take_all()
    assert "torch" in {f for s in summaries for f in received(s["summary"]).frameworks}


def test_a_models_contract_checks_each_row_without_the_batch_axis() -> None:
    torch = pytest.importorskip("torch")
    from shapecontract import contract_of

    model = torch.nn.Linear(3, 2)
    x = [np.zeros(3, np.float32)] * 10 + [np.zeros(4, np.float32)] * 2
    ds = ray.data.from_items([{"x": r} for r in x], override_num_blocks=3)
    report = validate(ds, contract_of(model))
    assert [i for i, _ in report.failures] == [10, 11]
    assert "expected 3, got 4" in str(report)


def test_a_block_that_raises_is_a_fault_and_the_rows_before_it_stand() -> None:
    def explode(batch: dict[str, Any]) -> dict[str, Any]:
        if 150 in batch["i"]:
            raise ValueError("bad block")
        return batch

    ds = ray.data.from_items([{"i": i, "x": np.zeros((4, 3), np.float32)} for i in range(300)],
                             override_num_blocks=6).map_batches(explode, batch_size=None)
    t = time.monotonic()
    report = validate(ds, SPEC, columns="x")
    assert time.monotonic() - t < LIMIT
    assert not report.ok and report.failures == []
    assert len(report.faults) == 1
    fault = report.faults[0]
    assert fault.source == "the cluster job" and "bad block" in fault.message
    assert report.elements == fault.index and 0 <= report.elements <= 150
    assert f"rows {report.elements} on (not checked)" in str(report)


def _gate(tmp: Path, name: str) -> Any:
    """A map that stops at the block holding row 200 until the file `go` exists, writing its
    pid first (`pid`); its second run (a retry) passes through."""
    def gate(batch: dict[str, Any]) -> dict[str, Any]:
        if 200 in batch["i"]:
            marker = tmp / f"{name}.pid"
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                end = time.monotonic() + 45
                while not (tmp / "go").exists() and time.monotonic() < end:
                    time.sleep(0.05)
        return batch
    return gate


def _wait_for(path: Path, limit: float = 30.0) -> int:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_a_killed_worker_is_retried_by_ray_and_nothing_is_lost(tmp_path: Path) -> None:
    """The worker reading the block of row 200 is killed (SIGKILL); Ray runs its task again and
    the report is still the one-process report: no row dropped, no hang."""
    rows = _rows()
    ds = ray.data.from_items([{"i": i, "x": r} for i, r in enumerate(rows)],
                             override_num_blocks=6)
    rows = [r["x"] for r in ds.iter_rows()]  # the rows as Ray holds them
    ds = ds.map_batches(_gate(tmp_path, "kill"), batch_size=None)
    killed: list[int] = []

    def killer() -> None:
        pid = _wait_for(tmp_path / "kill.pid")
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    th = threading.Thread(target=killer)
    th.start()
    report = validate(ds, SPEC, stable=("f",), columns="x", timeout=LIMIT)
    th.join(5)
    assert killed, "the worker was not killed"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    _same(report, validate(rows, SPEC, stable=("f",)))


def test_a_killed_worker_without_retries_is_a_fault_naming_the_rows(tmp_path: Path) -> None:
    ds = ray.data.from_items([{"i": i, "x": np.zeros((4, 3), np.float32)} for i in range(300)],
                             override_num_blocks=6).map_batches(
        _gate(tmp_path, "noretry"), batch_size=None, max_retries=0)
    th = threading.Thread(target=lambda: os.kill(_wait_for(tmp_path / "noretry.pid"),
                                                 signal.SIGKILL))
    th.start()
    t = time.monotonic()
    report = validate(ds, SPEC, columns="x", timeout=LIMIT)
    th.join(5)
    assert time.monotonic() - t < LIMIT
    assert not report.ok and len(report.faults) == 1
    fault = report.faults[0]
    assert fault.rows == f"rows {report.elements} on (not checked)" and report.elements <= 200
    assert "died" in fault.message.lower() or "worker" in fault.message.lower(), fault.message


def test_a_stalled_job_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    ds = ray.data.from_items([{"i": i, "x": np.zeros((4, 3), np.float32)} for i in range(300)],
                             override_num_blocks=6).map_batches(
        _gate(tmp_path, "stall"), batch_size=None)
    t = time.monotonic()
    try:
        report = validate(ds, SPEC, columns="x", timeout=3)
    finally:
        (tmp_path / "go").write_text("")  # let the stalled task end, whatever happened
    assert time.monotonic() - t < 30
    assert not report.ok
    assert [f.source for f in report.faults] == ["the cluster job"]
    assert "no block answered for 3 s; the job was stopped" in report.faults[0].message


def test_guard_checks_each_block_and_passes_the_rows_on() -> None:
    x = np.arange(120, dtype=np.float32).reshape(10, 4, 3)
    ds = guard(ray.data.from_numpy(x), SPEC)
    out = np.stack([r["data"] for r in ds.take_all()])
    assert np.array_equal(out, x)
    bad = guard(ray.data.from_numpy([x, np.zeros((5, 4, 2), np.int32)]), SPEC)
    with pytest.raises(Exception, match=r"2 contract violations|violate the contract"):
        bad.take_all()


# ----------------------------------------------------------------------- command line
def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from shapecontract.cli import main

    code = main(args)
    return code, capsys.readouterr().out


def test_cli_engine_ray_reads_npy_files_and_names_a_corrupt_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for k, f in enumerate((3, 3, 4)):
        np.save(tmp_path / f"part{k}.npy", np.zeros((40, 24, f), np.float32))
    (tmp_path / "part9.npy").write_bytes(b"\x93NUMPY garbage")
    code, out = _cli(["validate", "--engine", "ray", str(tmp_path), "--spec",
                      "Float[Array, 't f']", "--stable", "f"], capsys)
    assert code == 1
    assert "40 of 120 elements violate the contract" in out
    assert "element 80, axis 1 (f): expected 3, got 4" in out
    assert f"file {tmp_path / 'part9.npy'}, its rows (none read): its read failed" in out
    assert "dims over the good rows: f 3 (80 rows); t 24 (80 rows)" in out
    assert f"failing rows by file: {tmp_path / 'part2.npy'} 40 of 40" in out


def test_cli_engine_ray_with_a_json_contract_and_parquet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shapecontract import Contract, contract, contract_of

    @contract
    def step(x: Float[Array, "t 3"]) -> None: ...

    (tmp_path / "c.json").write_text(contract_of(step).to_json())
    ray.data.from_numpy(np.zeros((60, 24, 3), np.float32)).write_parquet(str(tmp_path / "pq"))
    code, out = _cli(["validate", "--engine", "ray", str(tmp_path / "pq"), "--contract",
                      str(tmp_path / "c.json")], capsys)
    assert code == 0, out
    assert "60 elements, no contract violations" in out
    assert Contract.from_dict(json.loads((tmp_path / "c.json").read_text())).name
    code, out = _cli(["validate", "--engine", "ray", str(tmp_path / "pq"), "--spec",
                      "Float[Array, 't 4']"], capsys)
    assert code == 1 and "60 of 60 elements violate" in out


def test_ctrl_c_stops_the_cluster_job(tmp_path: Path, cluster: str) -> None:
    """A driver validating a job that stalls gets SIGINT: it stops the job and exits with
    KeyboardInterrupt, well before the stalled task would have ended."""
    script = textwrap.dedent(f"""
        import sys, time, numpy as np, ray
        ray.init(address={cluster!r}, log_to_driver=False, logging_level="ERROR")
        import ray.data
        from shapecontract import Array, Float, validate
        def slow(batch):
            time.sleep(120)
            return batch
        ds = ray.data.from_items([{{"x": np.zeros((4, 3), np.float32)}}] * 10).map_batches(slow)
        print("started", flush=True)
        try:
            validate(ds, Float[Array, "t f"])
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "started"
        time.sleep(3)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        code = p.wait(timeout=30)
        assert time.monotonic() - t < 30
        assert code == 130 and "interrupted" in p.stdout.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def test_a_progress_bar_only_when_asked_or_on_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    """progress=None draws on a terminal only (pytest's stderr is none); progress=True draws."""
    pytest.importorskip("tqdm")
    ds = ray.data.from_numpy(np.zeros((50, 4, 3), np.float32))
    validate(ds, SPEC)
    assert "validating" not in capsys.readouterr().err
    validate(ds, SPEC, progress=True)
    assert "validating MaterializedDataset" in capsys.readouterr().err
