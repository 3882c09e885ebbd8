"""Streams: generators, iterables, torch Dataset/DataLoader and tf.data, checked element by element."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple, TypedDict

import numpy as np
import pytest
import torch
import torch.utils.data

from shapecontract import (
    Array,
    Float,
    ShapeContractError,
    ShapeContractWarning,
    compatible,
    contract,
    guard,
    scoped,
    validate,
)

XY = tuple[Float[Array, "batch timesteps features"], Float[Array, "batch 1"]]


def _batches(n: int, bad: int | None = None, last: int = 7) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in range(n):
        t = 23 if i == bad else 24
        b = 32 if i < n - 1 else last
        yield np.zeros((b, t, 3), np.float32), np.zeros((b, 1), np.float32)


# ------------------------------------------------------------------ @contract generators
@contract(stable=("timesteps", "features"))
def batches(n: int, bad: int | None = None) -> Iterator[XY]:
    yield from _batches(n, bad)


def test_137th_batch_with_wrong_timesteps_is_named() -> None:
    """The 137th batch changes a stable dim: the error names element 137 and the earlier value."""
    seen = 0
    with pytest.raises(ShapeContractError) as info:
        for _ in batches(200, bad=137):
            seen += 1
    e = info.value
    assert seen == 137 and e.index == 137
    assert (e.slot, e.axis, e.dim, e.expected, e.actual) == ("element 137[0]", 1, "timesteps", 24, 23)
    assert e.origin == "timesteps=24 from element 0 (stable='timesteps')"


def test_smaller_last_batch_rebinds() -> None:
    """Dims not declared stable re-bind per element: a smaller last batch passes."""
    assert sum(1 for _ in batches(5)) == 5


def test_argument_dims_hold_for_the_whole_stream() -> None:
    """A dim bound by an argument binds every element."""
    @contract
    def windows(series: Float[Array, "samples features"], timesteps: int
                ) -> Iterator[Float[Array, "batch timesteps features"]]:
        yield np.zeros((4, timesteps, series.shape[1]))
        yield np.zeros((4, timesteps, series.shape[1] + 1))

    it = windows(np.zeros((50, 3)), 8)
    assert next(it).shape == (4, 8, 3)
    with pytest.raises(ShapeContractError) as info:
        next(it)
    assert info.value.origin == "features=3 from argument series axis 1"


def test_arguments_checked_before_the_first_element() -> None:
    """A generator's arguments are checked when it is called."""
    @contract
    def gen(x: Float[Array, "n 3"]) -> Iterator[Float[Array, "n"]]:
        yield x[:, 0]

    with pytest.raises(ShapeContractError):
        gen(np.zeros((2, 4)))


def test_async_generator() -> None:
    """Async generators are checked element by element too."""
    @contract
    async def agen(n: int) -> AsyncIterator[Float[Array, "b 2"]]:
        for i in range(n):
            yield np.zeros((3, 2 if i < 2 else 5))

    async def main() -> int:
        count = 0
        async for _ in agen(4):
            count += 1
        return count

    with pytest.raises(ShapeContractError, match="element 2"):
        asyncio.run(main())


class Pair(NamedTuple):
    x: Float[Array, "b f"]
    y: Float[Array, "b 1"]


class Features(TypedDict):
    x: Float[Array, "b f"]
    mask: Float[Array, "b"]


def test_named_tuples_and_dicts() -> None:
    """NamedTuple and TypedDict elements: each field checked, dims shared within the element."""
    good = Pair(np.zeros((2, 3)), np.zeros((2, 1)))
    it = guard(iter([good, Pair(np.zeros((2, 3)), np.zeros((4, 1)))]), Pair)
    assert next(it) is good
    with pytest.raises(ShapeContractError, match=r"element 1\[1\]"):
        next(it)
    d = guard([{"x": np.zeros((2, 3)), "mask": np.zeros(2)},
               {"x": np.zeros((2, 3)), "mask": np.zeros(3)}], Features)
    with pytest.raises(ShapeContractError, match=r"element 1\['mask'\]"):
        list(d)


# ---------------------------------------------------------------------- nothing lost
def test_same_objects_same_order_nothing_dropped_lazy() -> None:
    """The guard yields the very same objects, in order, pulling one source item at a time."""
    pulled = []

    def source() -> Iterator[Any]:
        for el in _batches(6):
            pulled.append(el)
            yield el

    g = guard(source(), XY)
    first = next(g)
    assert len(pulled) == 1 and first is pulled[0]
    rest = list(g)
    assert [a is b for a, b in zip([first, *rest], pulled)] == [True] * 6


def test_source_exceptions_and_close_propagate() -> None:
    """An exception in the source reaches the consumer; close() reaches the source."""
    closed = []

    def source() -> Iterator[Any]:
        try:
            yield from _batches(3)
            raise KeyError("source broke")
        finally:
            closed.append(True)

    g = guard(source(), XY)
    with pytest.raises(KeyError, match="source broke"):
        list(g)
    g2 = guard(source(), XY)
    next(g2)
    g2.close()
    assert closed == [True, True]


def test_warn_mode_passes_bad_elements_on() -> None:
    """In warn mode a bad element is reported and still yielded."""
    items = list(_batches(4, bad=2))
    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = list(guard(iter(items), XY, stable=("timesteps",)))
    assert [a is b for a, b in zip(out, items)] == [True] * 4
    assert [x.category for x in w] == [ShapeContractWarning]
    assert "element 2[0]" in str(w[0].message)


def test_reiterable_source_is_checked_on_every_pass() -> None:
    """A guarded list can be iterated twice; len() is forwarded."""
    items = list(_batches(3))
    g = guard(items, XY)
    assert len(g) == 3 and list(g) == items and list(g) == items


# ------------------------------------------------------------------------- validate
def test_validate_collects_every_violation() -> None:
    """validate(lazy=True) reads everything and reports each bad element with its index."""
    def source() -> Iterator[Any]:
        for i, (x, y) in enumerate(_batches(300)):
            yield (x[:, :, :2] if i in (10, 250) else x), y

    report = validate(source(), XY, stable=("features",), progress=False)
    assert not report.ok and report.elements == 300
    assert [i for i, _ in report.failures] == [10, 250]
    assert [(i, v.dim) for i, v in report.violations()] == [(10, "features"), (250, "features")]
    assert "2 of 300 elements violate the contract" in str(report)
    with pytest.raises(ShapeContractError, match="element 10"):
        validate(source(), XY, stable=("features",), lazy=False, progress=False)
    assert validate(_batches(5), XY, progress=False).ok


# ---------------------------------------------------------------------------- torch
class TorchWindowDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A map-style torch dataset (module level, so spawn workers can unpickle it)."""

    def __init__(self, n: int, bad: int | None = None) -> None:
        self.n, self.bad = n, bad  # items from index `bad` on have 23 timesteps

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        t = 23 if self.bad is not None and i >= self.bad else 24
        return torch.zeros(t, 3), torch.zeros(1)


def _torch_dataset(n: int, bad: int | None = None) -> Any:
    return TorchWindowDataset(n, bad)


ITEM = tuple[Float[Array, "timesteps features"], Float[Array, "1"]]


def test_torch_dataset_getitem_checked() -> None:
    """A guarded torch Dataset checks __getitem__ and names the index."""
    ds = guard(_torch_dataset(10, bad=7), ITEM, dims={"timesteps": 24})
    assert len(ds) == 10
    ds[0]
    with pytest.raises(ShapeContractError) as info:
        ds[7]
    assert info.value.slot == "element 7[0]" and info.value.expected == 24


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_torch_dataloader_workers_check_inside(context: str) -> None:
    """With num_workers=2 the guard is pickled into the workers and checks there."""

    ds = guard(_torch_dataset(64, bad=50), ITEM, dims={"timesteps": 24})
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2,
                                         multiprocessing_context=context)
    with pytest.raises(ShapeContractError, match="element 50"):
        for _ in loader:
            pass
    ok = guard(_torch_dataset(32), ITEM, dims={"timesteps": 24})
    n = sum(len(x) for x, _ in torch.utils.data.DataLoader(ok, batch_size=8, num_workers=2,
                                                           multiprocessing_context=context))
    assert n == 32


def test_torch_dataloader_batches_checked() -> None:
    """Guarding a DataLoader checks each collated batch (a list [x, y])."""

    loader = guard(torch.utils.data.DataLoader(_torch_dataset(40, bad=32), batch_size=8),
                   tuple[Float[Array, "batch timesteps features"], Float[Array, "batch 1"]],
                   stable=("timesteps",))
    assert len(loader) == 5 and loader.batch_size == 8
    with pytest.raises(ShapeContractError, match="element 4"):
        list(loader)


# --------------------------------------------------------------------------- tf.data
def _tf_dataset(bad: int | None = None, fixed: bool = False) -> Any:
    """Three batches of 2; batch `bad` has 23 timesteps. element_spec leaves batch (and,
    unless `fixed`, timesteps) unknown."""
    import tensorflow as tf

    def gen() -> Iterator[Any]:
        for i in range(3):
            yield np.zeros((2, 23 if i == bad else 24, 3), np.float32), np.zeros((2, 1), np.float32)

    t = 24 if fixed else None
    return tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((None, t, 3), tf.float32), tf.TensorSpec((None, 1), tf.float32)))


def test_tf_data_static_check_before_reading() -> None:
    """A wrong fixed dim in element_spec fails at guard time, before any element is read."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 24, 1), np.float32), np.zeros((4, 1), np.float32))).batch(2)
    with pytest.raises(ShapeContractError, match="checked statically") as info:
        guard(ds, tuple[Float[Array, "batch timesteps features=3"], Float[Array, "batch 1"]])
    assert info.value.slot == "element_spec[0]" and info.value.dim == "features"


def test_tf_data_unknown_dims_asserted_in_graph() -> None:
    """Axes element_spec leaves unknown are asserted inside the pipeline."""
    import tensorflow as tf

    spec = tuple[Float[Array, "batch timesteps 3"], Float[Array, "batch 1"]]
    ok = guard(_tf_dataset(), spec, dims={"timesteps": 24})
    assert isinstance(ok, tf.data.Dataset)
    assert sum(int(x.shape[0]) for x, _ in ok) == 6
    bad = guard(_tf_dataset(bad=2), spec, dims={"timesteps": 24})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shapecontract: .*axis 1 \(timesteps\) must be 24"):
        for _ in bad:
            pass


def test_tf_data_fully_known_spec_is_returned_unchanged() -> None:
    """When element_spec fixes every checked axis, the very same dataset comes back."""
    ds = _tf_dataset(fixed=True)
    assert guard(ds, tuple[Float[Array, "_ 24 3"], Float[Array, "_ 1"]]) is ds
    assert guard(ds, tuple[Float[Array, "batch 24 3"], Float[Array, "batch 1"]]) is not ds  # batch: in graph


def test_tf_data_guard_under_distribute_strategy() -> None:
    """A guarded dataset still works (and still checks) under a tf.distribute strategy."""
    import tensorflow as tf

    spec = tuple[Float[Array, "batch timesteps 3"], Float[Array, "batch 1"]]
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    dist = strategy.experimental_distribute_dataset(guard(_tf_dataset(), spec, dims={"timesteps": 24}))
    assert sum(1 for _ in dist) == 3
    bad = strategy.experimental_distribute_dataset(guard(_tf_dataset(bad=1), spec, dims={"timesteps": 24}))
    with pytest.raises(tf.errors.InvalidArgumentError, match="shapecontract"):
        for _ in bad:
            pass


def test_tf_data_guard_through_tf_data_service() -> None:
    """The assertions travel with the dataset to a tf.data service worker (local servers)."""
    import tensorflow as tf

    service = tf.data.experimental.service
    dispatcher = service.DispatchServer()
    address = dispatcher.target.split("://")[1]
    worker = service.WorkerServer(service.WorkerConfig(dispatcher_address=address))
    spec = tuple[Float[Array, "batch timesteps 3"], Float[Array, "batch 1"]]
    try:
        ok = guard(_tf_dataset(), spec, dims={"timesteps": 24}).apply(
            service.distribute(processing_mode="parallel_epochs", service=dispatcher.target))
        assert sum(int(x.shape[0]) for x, _ in ok) == 6
        bad = guard(_tf_dataset(bad=2), spec, dims={"timesteps": 24}).apply(
            service.distribute(processing_mode="parallel_epochs", service=dispatcher.target))
        with pytest.raises(tf.errors.InvalidArgumentError, match="shapecontract"):
            for _ in bad:
                pass
    finally:
        worker._stop()
        dispatcher._stop()


# ------------------------------------------------------------------------ compatible
def test_compatible_reports_each_disagreeing_dim() -> None:
    """A producer's yield contract against a model's input contract, without data."""
    import keras

    model = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    assert compatible(batches, model).ok

    @contract
    def other(n: int) -> Iterator[tuple[Float[Array, "batch 48 features=1"], Float[Array, "batch 1"]]]:
        yield from ()

    report = compatible(other, model)
    assert not report
    assert [d.split(" (")[0] for d in report.differences] == ["axis 1", "axis 2"]
    assert "LSTM" in report.differences[1]
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 24, 5), np.float32), np.zeros((4, 1)))).batch(2)
    assert [d.split(" (")[0] for d in compatible(ds, model).differences] == ["axis 2"]


def test_compatible_catches_a_layout_swap_with_pinned_dims() -> None:
    """Issue 9: a batch-major generator into nn.LSTM(1, 50) (batch_first=False) is a layout
    difference, named with the fix; with batch_first=True it is compatible."""

    from torch import nn

    @contract
    def batches(n: int, timesteps: int) -> Iterator[Float[Array, "batch timesteps 1"]]:
        yield np.zeros((n, timesteps, 1))

    report = compatible(batches, nn.LSTM(1, 50), dims={"timesteps": 4})
    assert not report
    assert "layout: the producer has batch on axis 0" in str(report)
    assert "batch_first=True" in str(report)
    assert compatible(batches, nn.LSTM(1, 50, batch_first=True), dims={"timesteps": 4})


def test_dataloader_of_unequal_sequences_names_the_samples_and_the_padding_fix() -> None:
    """Issue 9: torch says "stack expects each tensor to be equal size" with no index; the guarded
    DataLoader names the samples, their dataset indices and the padding fix; the good batches
    before it pass untouched."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Seqs(Dataset):  # type: ignore[type-arg]
        lens = (8, 8, 5, 8)

        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> Any:
            return torch.zeros(self.lens[i], 3)

    loader = guard(DataLoader(Seqs(), batch_size=2), Float[Array, "batch t 3"])
    it = iter(loader)
    assert next(it).shape == (2, 8, 3)
    with pytest.raises(ShapeContractError) as info:
        next(it)
    e = info.value
    assert "dataset indices 2 and 3" in e.violations[0].message
    assert any("pad_sequence" in s for s in e.suggestions)
    # the hint applied: a padding collate_fn; every batch then holds the spec
    hint = next(s for s in e.suggestions if "collate_fn=" in s)
    written = hint.split("collate_fn=", 1)[1].split(" (with the lengths")[0]
    assert written.startswith("lambda b: torch.nn.utils.rnn.pad_sequence(")
    collate = eval(written, {"torch": torch})  # the code, pasted
    padded = guard(DataLoader(Seqs(), batch_size=2, collate_fn=collate),
                   Float[Array, "batch t 3"])
    assert [tuple(b.shape) for b in padded] == [(2, 8, 3), (2, 8, 3)]


@pytest.mark.parametrize("shapes, remedy", [
    ([(3, 15, 17), (3, 15, 17), (3, 12, 20)], "transforms.Resize((15, 17))"),
    ([(3, 8, 8), (1, 8, 8)], "img.convert('RGB')"),
    ([(8, 8, 3), (8, 8, 3), (8, 8)], "img.convert('RGB')"),
])
def test_a_batch_of_images_that_do_not_stack_gets_the_remedy_for_what_differs(
        shapes: list[tuple[int, ...]], remedy: str) -> None:
    """Images of different sizes are resized (to the most common size), not padded as
    sequences; gray among RGB is converted (a channel axis of another size, or missing)."""
    import torch
    from torch.utils.data import DataLoader

    images = [torch.zeros(s) for s in shapes]
    loader = guard(DataLoader(images, batch_size=len(images)), Float[Array, "batch ..."])
    with pytest.raises(ShapeContractError) as info:
        next(iter(loader))
    codes = [f.code for v in info.value.violations for f in v.suggestions]
    assert codes[0] == remedy, codes
    assert not any("pad_sequence" in (c or "") for c in codes)


def test_per_sample_boxes_that_do_not_stack_are_kept_as_lists() -> None:
    """Detection targets: each image has its own number of boxes; the remedy keeps them as a
    list per batch (the collate_fn is pasted and the loader then yields)."""
    import torch
    from torch.utils.data import DataLoader

    data = [(torch.zeros(3, 8, 8), torch.zeros(n, 4)) for n in (2, 5, 1)]
    loader = guard(DataLoader(data, batch_size=3), tuple[Float[Array, "batch 3 8 8"], Any])
    with pytest.raises(ShapeContractError) as info:
        next(iter(loader))
    fix = next(f for v in info.value.violations for f in v.suggestions if f.code
               and f.code.startswith("collate_fn="))
    collate = eval(fix.code.split("=", 1)[1], {})
    images, boxes = next(iter(DataLoader(data, batch_size=3, collate_fn=collate)))
    assert len(images) == 3
    assert [tuple(b.shape) for b in boxes] == [(2, 4), (5, 4), (1, 4)]


class _SlowFiles:
    """A map-style dataset that 'reads a file' per element; elements in `bad` have 2 features,
    elements in `long` 30 steps instead of 24."""

    def __init__(self, n: int, bad: tuple[int, ...] = (), long: tuple[int, ...] = ()) -> None:
        self.n, self.bad, self.long = n, set(bad), set(long)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if i >= self.n:
            raise IndexError(i)
        steps = 30 if i in self.long else 24
        return np.zeros((steps, 2 if i in self.bad else 3), np.float32), np.zeros(1, np.float32)


def test_validate_in_workers_reports_what_one_worker_reports() -> None:
    """validate(workers=2) over DataLoader worker processes: the same failures (index, text),
    in order; a stable dim that differs between elements checked in different workers is
    caught; a stream that is not map-style is refused with a clear TypeError."""
    pytest.importorskip("torch")
    from shapecontract import validate

    spec = tuple[Float[Array, "t 3"], Float[Array, "1"]]
    data = _SlowFiles(60, bad=(7, 41))
    one, two = validate(data, spec), validate(data, spec, workers=2)
    assert two.elements == one.elements == 60
    assert [(i, str(e)) for i, e in two.failures] == [(i, str(e)) for i, e in one.failures]
    assert [i for i, _ in two.failures] == [7, 41]
    shifted = validate(_SlowFiles(40, long=(33,)), spec, stable=("t",), workers=2)
    one_shifted = validate(_SlowFiles(40, long=(33,)), spec, stable=("t",))
    assert [(i, str(e)) for i, e in shifted.failures] == [(i, str(e)) for i, e in one_shifted.failures]
    assert [i for i, _ in shifted.failures] == [33] and "stable='t'" in str(shifted.failures[0][1])
    with pytest.raises(TypeError, match="map-style"):
        validate(iter([]), spec, workers=2)


def test_validate_workers_on_a_tf_dataset_is_a_clear_refusal() -> None:
    """validate(tf.data dataset, workers=2) said only 'not a map-style dataset'. A tf.data
    service would spread it, but opens network ports on every interface for the call (a
    helper built it; see docs/guarantees.md, Scale-out): refused, saying what to do; without
    workers the same dataset validates."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(np.zeros((6, 24, 3), np.float32)).batch(2)
    with pytest.raises(TypeError, match=r"network ports.*num_parallel_calls"):
        validate(ds, Float[Array, "batch 24 3"], workers=2)
    assert validate(ds, Float[Array, "batch 24 3"]).ok
