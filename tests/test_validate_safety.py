"""validate() never hangs and checks its arguments: a map-style dataset is read over its len, a
worker's verdict always crosses processes, a hung or killed worker is an error naming the
element, and `workers` / `timeout` say what they accept.

The tests that start DataLoader workers run in a subprocess guarded by a time limit: a
regression that hangs fails the test (and its process group is killed) instead of the suite."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch.utils.data

from shapecontract import Array, Float, validate

SPEC = tuple[Float[Array, "t 3"], Float[Array, "1"]]
LIMIT = 30.0  # seconds a worker scenario may take before it counts as hung (it takes 2-10)


class _Endless(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """len 4, but `__getitem__` answers any index (it never raises IndexError); reading past
    the len stops the test instead of looping forever."""

    def __init__(self) -> None:
        self.read: list[int] = []

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> Any:
        self.read.append(i)
        if i >= 4:
            raise AssertionError(f"validate read index {i} of a dataset of len 4")
        return np.zeros((24, 3), np.float32), np.zeros(1, np.float32)


def test_a_map_style_dataset_is_read_over_range_of_its_len() -> None:
    """A map-style dataset (len, indexing, no __iter__) is read at range(len(ds)), progress bar or not."""
    ds = _Endless()
    report = validate(ds, SPEC, progress=False)
    assert (report.ok, report.elements, ds.read) == (True, 4, [0, 1, 2, 3])
    ds.read.clear()
    assert validate(ds, SPEC, progress=True).elements == 4 and ds.read == [0, 1, 2, 3]


@pytest.mark.parametrize(("kwargs", "error", "says"), [
    ({"workers": 1.5}, TypeError, r"workers=1\.5.*an int >= 1.*not a float"),
    ({"workers": True}, TypeError, r"workers=True.*not a bool"),
    ({"workers": "2"}, TypeError, r"workers='2'.*an int >= 1.*not a str"),
    ({"workers": 0}, ValueError, r"workers=0.*int >= 1"),
    ({"workers": 2, "timeout": 0}, ValueError, r"timeout=0.*positive"),
    ({"workers": 2, "timeout": -1.0}, ValueError, r"timeout=-1\.0.*positive"),
    ({"workers": 2, "timeout": math.inf}, ValueError, r"timeout=inf.*finite"),
    ({"workers": 2, "timeout": math.nan}, ValueError, r"timeout=nan.*positive"),
    ({"workers": 2, "timeout": True}, TypeError, r"timeout=True.*number of seconds"),
    ({"workers": 2, "timeout": "5"}, TypeError, r"timeout='5'.*number of seconds"),
    ({"timeout": 5}, ValueError, r"timeout=5\) needs workers=N.*cannot be interrupted"),
])
def test_workers_and_timeout_are_refused_unless_valid(kwargs: dict[str, Any],
                                                      error: type[Exception], says: str) -> None:
    """A bad workers/timeout is a TypeError/ValueError saying what is accepted, before any read."""
    ds = _Endless()
    with pytest.raises(error, match=says):
        validate(ds, SPEC, progress=False, **kwargs)
    assert ds.read == []


# ------------------------------------------------------------------- in worker processes
_DATASETS = '''
import json, os, signal, sys, threading, time

import numpy as np
import torch.utils.data

from shapecontract import Array, Float, validate

SPEC = tuple[Float[Array, "t 3"], Float[Array, "1"]]


def in_worker():
    return torch.utils.data.get_worker_info() is not None


def good():
    return np.zeros((24, 3), np.float32), np.zeros(1, np.float32)


class Unpicklable(torch.utils.data.Dataset):
    """Element 1 holds a lambda, element 3 a lock (so their verdicts hold types that cannot
    be pickled), element 4 has 30 steps instead of the 24 of element 0."""

    only_in_workers = False

    def __len__(self):
        return 6

    def __getitem__(self, i):
        assert i < 6, f"read index {i} of a dataset of len 6"
        assert in_worker() or not self.only_in_workers, f"element {i} read in the parent"
        if i == 1:
            return np.zeros((24, 3), np.float32), lambda: 0
        if i == 3:
            return np.zeros((24, 3), np.float32), threading.Lock()
        if i == 4:
            return np.zeros((30, 3), np.float32), np.zeros(1, np.float32)
        return good()


class Hangs(torch.utils.data.Dataset):
    """Element 3 never answers (in a worker; read in the parent it fails instead)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            assert in_worker(), "element 3 read in the parent"
            time.sleep(3600)
        return good()


class Dies(torch.utils.data.Dataset):
    """Reading element 2 kills its worker process (in the parent it fails instead)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 2:
            assert in_worker(), "element 2 read in the parent"
            os.kill(os.getpid(), signal.SIGKILL)
        return good()


def failures(report):
    return [(i, e.index, str(e)) for i, e in report.failures]


def error_of(call):
    try:
        call()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return "no error"
'''


def _run(tmp_path: Path, main: str) -> str:
    """Run `main` after _DATASETS in a fresh interpreter (its own process group, so a hung
    run is killed with its DataLoader workers); its stdout."""
    script = tmp_path / "scenario.py"
    script.write_text(_DATASETS + "\n\nif __name__ == '__main__':\n" + "".join(
        f"    {line}\n" for line in main.strip().splitlines()))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"validate hung: no result in {LIMIT:.0f} s")
    assert p.returncode == 0, err
    return out


def test_unpicklable_verdicts_come_back_from_workers_as_in_one_process(tmp_path: Path) -> None:
    """validate(workers=2) reports unpicklable verdicts as one process does; no element is read in the parent."""
    out = _run(tmp_path, """
ds = Unpicklable()
one = failures(validate(ds, SPEC, stable=("t",)))
ds.only_in_workers = True
two = failures(validate(ds, SPEC, stable=("t",), workers=2))
single = failures(validate(ds, SPEC, stable=("t",), workers=1, timeout=30))
print(json.dumps([one, two, single]))
""")
    one, two, single = json.loads(out)
    assert [i for i, _, _ in one] == [1, 3, 4]
    assert two == single == one  # index, err.index and the whole text
    assert "element 1[1]" in one[0][2] and "got function" in one[0][2]
    assert "element 3[1]" in one[1][2] and "got lock" in one[1][2]
    assert "stable='t'" in one[2][2]


def test_a_hung_element_in_a_worker_is_a_timeout_error_naming_it(tmp_path: Path) -> None:
    """validate(workers=2, timeout=1) raises a RuntimeError naming the hung element 3, not a hang."""
    out = _run(tmp_path, """
print(error_of(lambda: validate(Hangs(), SPEC, stable=("t",), workers=2, timeout=1)))
""")
    assert out.startswith("RuntimeError: ") and "element 3 of 8" in out
    assert "timeout=1" in out


def test_a_killed_worker_is_an_error_naming_the_element_it_was_reading(tmp_path: Path) -> None:
    """validate(workers=2) raises a RuntimeError naming element 2 when reading it kills its worker."""
    out = _run(tmp_path, "print(error_of(lambda: validate(Dies(), SPEC, workers=2)))")
    assert out.startswith("RuntimeError: ") and "element 2 of 8" in out
    assert "died" in out
