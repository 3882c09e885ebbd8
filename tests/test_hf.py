"""Hugging Face `datasets` as a source for validate and guard: a `Dataset` (Arrow-backed, in
batches here or in its own `map(num_proc=2)` workers) and an `IterableDataset`. Skipped
without `datasets`. The report is the one a single process gives over the same rows; a row
that cannot be decoded is a fault with its index; the guard returns the very same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")

from shapecontract import Array, Float, ShapeContractError, guard, validate  # noqa: E402

SPEC = Float[Array, "t f"]


def _dataset(n: int = 300) -> Any:
    """Rows of (t, 3) float32 windows, t varies; rows 40 and 250 have 4 features."""
    xs = [np.zeros((4 + i % 3, 3), np.float32) for i in range(n)]
    for i, t in ((40, 5), (250, 6)):
        if i < n:
            xs[i] = np.zeros((t, 4), np.float32)
    return datasets.Dataset.from_dict({"x": xs}).with_format("numpy")


def _same(a: Any, b: Any) -> None:
    assert a.elements == b.elements
    assert [i for i, _ in a.failures] == [i for i, _ in b.failures]
    assert [str(e).replace(a.name, "S") for _, e in a.failures] == [
        str(e).replace(b.name, "S") for _, e in b.failures]
    a.name = b.name
    assert str(a) == str(b)


def test_a_dataset_validates_as_one_process_does_over_its_rows() -> None:
    ds = _dataset()
    rows = [ds[i]["x"] for i in range(len(ds))]
    want = validate(rows, SPEC, stable=("f",))
    assert [i for i, _ in want.failures] == [40, 250]
    got = validate(ds, SPEC, stable=("f",))
    _same(got, want)
    assert got.sizes["f"] == {3: 298}


def test_map_workers_give_the_same_report() -> None:
    """workers=2 runs the check in the dataset's own map(num_proc=2) processes."""
    ds = _dataset()
    one = validate(ds, SPEC, stable=("f",))
    two = validate(ds, SPEC, stable=("f",), workers=2)
    _same(two, one)
    assert two.sizes == one.sizes


def test_an_iterable_dataset_validates_and_refuses_workers() -> None:
    ds = _dataset().to_iterable_dataset(num_shards=3).with_format("numpy")
    rows = [r["x"] for r in ds]
    report = validate(ds, SPEC, stable=("f",))
    _same(report, validate(rows, SPEC, stable=("f",)))
    with pytest.raises(TypeError, match=r"IterableDataset.*without workers"):
        validate(ds, SPEC, workers=2)


def test_the_python_format_is_refused_with_what_to_do() -> None:
    ds = datasets.Dataset.from_dict({"x": [[[0.0] * 3] * 4] * 5})
    with pytest.raises(ShapeContractError, match=r"python format.*with_format\('numpy'\)"):
        validate(ds, SPEC)
    with pytest.raises(ShapeContractError, match=r"python format"):
        guard(ds, SPEC)


def test_columns_name_the_element() -> None:
    x = np.zeros((10, 4, 3), np.float32)
    y = np.zeros((10, 1), np.float32)
    ds = datasets.Dataset.from_dict({"x": x, "y": y}).with_format("numpy")
    xy = tuple[Float[Array, "t f"], Float[Array, "1"]]
    assert validate(ds, xy, columns=("x", "y")).ok
    assert [i for i, _ in validate(ds, xy, columns=("y", "x")).failures] == list(range(10))
    with pytest.raises(ShapeContractError, match=r"columns=.*the columns are: 'x', 'y'"):
        validate(ds, SPEC)


def test_guard_returns_the_same_rows_and_raises_on_a_bad_one() -> None:
    ds = _dataset(60)
    g = guard(ds, SPEC, stable=("f",))
    assert len(g) == 60
    row = g[3]
    assert isinstance(row["x"], np.ndarray) and row["x"].shape == (4, 3)
    batch = g[0:10]
    assert len(batch["x"]) == 10
    with pytest.raises(ShapeContractError, match=r"element 40, axis 1 \(f\)"):
        g[40]
    with pytest.raises(ShapeContractError, match=r"element 40"):
        g[30:50]
    seen = []
    with pytest.raises(ShapeContractError, match=r"element 40"):
        for r in g:
            seen.append(r)
    assert len(seen) == 40


def test_guard_does_not_copy_the_rows() -> None:
    """The guarded dataset hands out what the dataset hands out: the same object."""
    ds = _dataset(10)
    sentinel = {"x": np.zeros((4, 3), np.float32)}

    class Probe:
        def __getitem__(self, i: Any) -> Any:
            return sentinel

    g = guard(ds, SPEC)
    g.__dict__["_ds"] = Probe()  # what the dataset returns passes through untouched
    assert g[0] is sentinel


def test_guard_on_an_iterable_dataset() -> None:
    ds = _dataset(60).to_iterable_dataset().with_format("numpy")
    got = []
    with pytest.raises(ShapeContractError, match=r"element 40"):
        for row in guard(ds, SPEC, stable=("f",)):
            got.append(row)
    assert len(got) == 40


def _decode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Arrays stored as bytes, decoded when read (a transform): 12 float32 each, (4, 3)."""
    return {"x": [np.frombuffer(b, np.float32).reshape(4, 3) for b in batch["x"]]}


def test_a_row_that_cannot_be_decoded_is_a_fault_with_its_index() -> None:
    """Row 5 holds 10 bytes, which no (4, 3) float32 array is. Its batch is read again row by
    row; the other rows are checked, row 5 is a fault, nothing is skipped."""
    raw = [np.zeros((4, 3), np.float32).tobytes()] * 12
    raw[5] = b"0123456789"
    ds = datasets.Dataset.from_dict({"x": raw}).with_transform(_decode)
    report = validate(ds, SPEC)
    assert report.elements == 12 and report.failures == []
    assert [(f.index, f.rows) for f in report.faults] == [(5, "row 5")]
    assert "cannot be read: ValueError" in report.faults[0].message and not report.ok
    assert "1 fault: rows not read or not checked" in str(report)
    two = validate(ds, SPEC, workers=2)  # the map fails on row 5: read here instead
    assert [(f.index, f.rows) for f in two.faults] == [(5, "row 5")]
    assert two.elements == 12
