"""The `shapecontract` command line, run by subprocess on real model and data files.

Every command runs as `python -m shapecontract ...` with this checkout's `src` first on the
path, in a directory holding real files: a saved `.keras` model (and one with a Lambda layer),
a torch state dict and a whole-module checkpoint, good and bad `.npy`/`.npz` data and a module
whose attributes are models and data. TensorFlow starts in few subprocesses (each costs ~5 s).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
FRAMEWORKS = ("torch", "tensorflow", "keras")

MODS = '''
import numpy as np
from torch import nn


def build_dense():  # a builder: called with no arguments
    return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1))


def build_keras():
    import keras

    return keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)])


class Port(nn.Module):  # the PyTorch port of lstm.keras: a module class
    def __init__(self, batch_first=True):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=batch_first)
        self.dense = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.dense(out[:, -1])


def batches():  # a generator function: batch 3 has 2 features
    import torch

    for i in range(5):
        yield torch.rand(4, 24, 2 if i == 3 else 3), torch.rand(4, 1)


def good_dataset():  # a tf.data dataset of (x, y) batches that fit lstm.keras
    import tensorflow as tf

    rng = np.random.default_rng(2)
    return tf.data.Dataset.from_tensor_slices(
        (rng.random((40, 24, 3)).astype("float32"), rng.random((40, 1)).astype("float32"))
    ).batch(16)


def loader():  # a DataLoader of (x, y) batches that fit Port
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(torch.rand(10, 24, 3), torch.rand(10, 1)), batch_size=4)


XY = (np.zeros((5, 24, 3), "float32"), np.zeros((5, 1), "float32"))
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real files: models saved by Keras and torch, data saved by numpy, a module of attrs."""
    import keras
    import torch

    d = tmp_path_factory.mktemp("cli")
    m = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(8, name="lstm"),
                          keras.layers.Dense(1, name="dense")], name="sequential")
    m.compile(optimizer="adam", loss="mse")
    m.save(d / "lstm.keras")
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2),
                            keras.layers.Dense(1)])
    lam.save(d / "lambda.keras")
    dense = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    torch.save(dense.state_dict(), d / "state.pt")
    torch.save(dense, d / "whole.pt")
    (d / "junk.pt").write_bytes(b"not a checkpoint")
    (d / "mods.py").write_text(textwrap.dedent(MODS))
    rng = np.random.default_rng(0)
    data = d / "data"
    data.mkdir()
    np.save(data / "a_good.npy", rng.random((10, 24, 3)).astype("float32"))
    np.savez(data / "b_good.npz", x=rng.random((10, 24, 3)), y=rng.random((10, 1)))
    np.save(data / "c_bad_features.npy", rng.random((10, 24, 1)).astype("float32"))
    np.savez(data / "d_bad_target.npz", X=rng.random((10, 24, 3)), Y=rng.random((10, 5)))
    return d


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`shapecontract *args` in `cwd`, run in this process (the CLI's own `main`, as the console
    script calls it): TensorFlow, Keras and torch are imported once for the whole file instead
    of once per command. The working directory, the environment, sys.path and the modules a
    command imports from `cwd` are restored afterwards, so commands do not see each other's
    `mod:attr` modules. Tests of what only a new process shows (imports, a closed pipe, the
    console script) start one themselves."""
    import contextlib
    import io

    from shapecontract.cli import main

    out, err = io.StringIO(), io.StringIO()
    before_modules, before_path, before_cwd = set(sys.modules), list(sys.path), os.getcwd()
    saved_env = dict(os.environ)
    os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: usage errors and --help
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        os.chdir(before_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = before_path
        for name in set(sys.modules) - before_modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(str(cwd)):
                del sys.modules[name]
    return subprocess.CompletedProcess(["shapecontract", *args], code, out.getvalue(),
                                       err.getvalue())


def assert_usage_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, one line on stderr naming `words`, no traceback, nothing on stdout."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    for w in words:
        assert w in lines[0], lines[0]


# ----------------------------------------------------------------------- start-up
def test_help_imports_no_framework() -> None:
    """`shapecontract --help` (and each command's --help) imports no TF, torch or Keras."""
    probe = ("import sys\nfrom shapecontract.cli import main\n"
             "for argv in (['--help'], ['check', '--help'], ['port', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             f"print('LOADED', [m for m in {FRAMEWORKS!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(SRC)}, check=True)
    assert "LOADED []" in r.stdout
    for command in ("inspect", "check", "validate", "port", "scaffold", "infer", "demo"):
        assert command in r.stdout


def test_the_start_up_probe_can_fail() -> None:
    """Meta-test: the probe's check does see a framework that the command imports."""
    probe = "import sys, torch\nprint('LOADED', [m for m in ('torch',) if m in sys.modules])"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED ['torch']" in r.stdout


def test_console_script_points_at_main() -> None:
    """pyproject's [project.scripts] entry `shapecontract` names the CLI's main."""
    import tomllib

    from shapecontract import cli

    meta = tomllib.loads((SRC.parent / "pyproject.toml").read_text())
    target = meta["project"]["scripts"]["shapecontract"]
    assert target == "shapecontract.cli:main" and callable(cli.main)


# ------------------------------------------------------------------------ inspect
def test_inspect_keras_json_round_trips(files: Path) -> None:
    """`inspect model.keras --json` prints the contract (Contract.from_json reads it back, and
    the result checks data as the model does) and the layer table with named dims."""
    from shapecontract import Contract, ShapeContractError, scoped

    r = run(files, "inspect", "lstm.keras", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    c = Contract.from_json(json.dumps(out["contract"]))
    assert json.loads(c.to_json()) == out["contract"]
    assert [row["name"] for row in out["layers"]] == ["lstm", "dense"]
    assert out["layers"][0]["input"] == "(batch, 24, 3)"
    assert out["layers"][-1]["output"] == "(batch, 1)"
    with scoped(mode="raise"):
        c.check(np.zeros((2, 24, 3), "float32"))
        with pytest.raises(ShapeContractError) as e:
            c.check(np.zeros((2, 24, 1), "float32"))
    assert e.value.axis == 2


def test_inspect_torch_module_class_prints_contract_table_and_relations(files: Path) -> None:
    """`inspect mods:Port` (a module class, instantiated) prints the derived contract, the
    layer table and the relations, as contract_of gives them."""
    r = run(files, "inspect", "mods:Port")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(re.match(r"contract: \(batch, timesteps, 3\) -> lstm -> .* -> dense -> "
                        r"\(batch, 1\)", ln) for ln in lines), r.stdout
    header = next(i for i, ln in enumerate(lines) if ln.startswith("layer"))
    assert lines[header].split() == ["layer", "type", "input", "output"]
    assert lines[header + 2].split()[:2] == ["lstm", "LSTM"]
    assert lines[header + 3].split()[:2] == ["dense", "Linear"]
    assert "dims: batch, timesteps" in lines
    rel = lines.index("relations:")
    assert "first submodule 'lstm'" in lines[rel + 1]


def test_inspect_refuses_a_lambda_keras_file(files: Path) -> None:
    """A .keras file with a Lambda layer is refused by Keras's safe mode: one line, exit 2."""
    assert_usage_error(run(files, "inspect", "lambda.keras"), "lambda.keras", "Lambda",
                       "--unsafe")


def test_torch_files_load_weights_only_unless_unsafe(files: Path) -> None:
    """A state dict is not a model; a whole-module checkpoint is refused without --unsafe
    (weights-only loading) and inspected with it; an unreadable file is one line too."""
    assert_usage_error(run(files, "inspect", "state.pt"), "state dict", "module:attr")
    assert_usage_error(run(files, "inspect", "whole.pt"), "weights_only=False", "--unsafe")
    assert_usage_error(run(files, "inspect", "junk.pt"), "junk.pt", "torch.load")
    r = run(files, "inspect", "whole.pt", "--unsafe")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^0\s+Linear\s+\(batch, 10\)\s+\(batch, 16\)$", r.stdout, re.M), r.stdout


def test_bad_arguments_are_one_line_and_exit_2(files: Path) -> None:
    """A missing file, something that is not a model, an unknown module, a missing argument."""
    assert_usage_error(run(files, "inspect", "nothere.keras"), "nothere.keras", "no such file")
    assert_usage_error(run(files, "inspect", "mods:XY"), "mods:XY", "not a model")
    assert_usage_error(run(files, "inspect", "nomod:thing"), "cannot import nomod")
    assert_usage_error(run(files, "check", "mods:build_dense"), "required", "DATA")
    assert_usage_error(run(files, "check", "mods:Port", "mods:build_dense"), "not data")
    assert_usage_error(run(files, "check", "mods:Port", "nodata.npy"), "nodata.npy",
                       "no such file")


def test_svg_option_draws_or_says_the_picture_module_is_missing(files: Path) -> None:
    """`--svg FILE` / `--html FILE` write picture.to_svg / to_html of the contract when
    shapecontract.picture exists; without it, one line and exit 2 (before any model loads)."""
    have_picture = (SRC / "shapecontract" / "picture.py").exists() or (
        SRC / "shapecontract" / "picture").is_dir()
    r = run(files, "inspect", "mods:build_dense", "--svg", "dense.svg", "--html", "dense.html")
    if have_picture:
        assert r.returncode == 0, r.stderr
        svg = (files / "dense.svg").read_text()
        assert svg.startswith("<svg") and "Linear" in svg
        assert "<svg" in (files / "dense.html").read_text()
    else:
        assert_usage_error(r, "--svg", "shapecontract.picture")
        assert not (files / "dense.svg").exists()


# -------------------------------------------------------------------------- check
def test_check_directory_reports_every_bad_file_with_its_fix(files: Path) -> None:
    """`check model.keras DIR`: each .npy/.npz is a batch; the bad inputs and the targets
    that the compiled loss (mse) cannot take are each explained with a fix; exit 1."""
    r = run(files, "check", "lstm.keras", "data")
    assert r.returncode == 1, r.stderr
    blocks = dict(re.findall(r"^== (\S+)\n(.*?)(?=^== |\Z)", r.stdout, re.S | re.M))
    assert sorted(blocks) == ["c_bad_features.npy", "d_bad_target.npz"]
    assert re.search(r"input '\w+', axis 2 \(features\)\n\s+expected 3, got 1",
                     blocks["c_bad_features.npy"])
    assert re.search(r"target 'dense', axis 1 \(units\)\n\s+expected 1, got 5",
                     blocks["d_bad_target.npz"])
    assert all("fix:" in b for b in blocks.values())
    assert "2 of 4 elements violate the contract" in r.stdout
    assert "\033[" not in r.stdout  # piped: no colour


def test_check_good_tf_dataset_holds(files: Path) -> None:
    """A tf.data dataset of (x, y) batches that fit the model and its loss: exit 0."""
    r = run(files, "check", "lstm.keras", "mods:good_dataset")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mods:good_dataset: 3 elements satisfy the contract" in r.stdout


def test_check_generator_attr_against_torch_port(files: Path) -> None:
    """`check mods:Port mods:batches`: the generator's element 3 (2 features) is the one
    violation; a torch module states no loss, so y is said to be unchecked."""
    r = run(files, "check", "mods:Port", "mods:batches")
    assert r.returncode == 1, r.stderr
    assert re.findall(r"^== (.*)$", r.stdout, re.M) == ["element 3"]
    assert re.search(r"axis 2 \(features\)\n\s+expected 3, got 2", r.stdout), r.stdout
    assert "note: targets (y) not checked" in r.stdout
    r = run(files, "check", "mods:build_dense", "data/a_good.npy")  # a file: as tensors
    assert r.returncode == 1 and "expected 10, got 3" in r.stdout, r.stdout + r.stderr
    assert "got ndarray" not in r.stdout
    r = run(files, "check", "mods:Port", "mods:loader")  # a DataLoader
    assert r.returncode == 0 and "3 elements satisfy" in r.stdout, r.stdout + r.stderr


# ----------------------------------------------------------------------- validate
def test_validate_prints_the_report_of_validate(files: Path) -> None:
    """`validate DIR --spec ...` prints what validate() reports for the same elements."""
    from shapecontract import Array, Float, validate

    r = run(files, "validate", "data", "--spec", "Float[Array, 'batch 24 3']")
    assert r.returncode == 1, r.stderr
    arrays = []
    for f in sorted((files / "data").iterdir()):
        if f.suffix == ".npy":
            arrays.append(np.load(f))
        else:
            with np.load(f) as z:
                arrays.append(z["x"] if "x" in z.files else z["X"])
    report = validate(arrays, Float[Array, "batch 24 3"], progress=False)
    report.name = "data"
    assert r.stdout.strip() == str(report)
    assert "1 of 4 elements" in r.stdout
    workers = run(files, "validate", "data", "--workers", "2", "--spec",
                  "Float[Array, 'batch 24 3']")  # the files read in 2 worker processes
    assert workers.returncode == 1 and workers.stdout == r.stdout, workers.stdout + workers.stderr
    r = run(files, "validate", "mods:batches", "--spec",
            "tuple[Float[Array, 'b 24 3'], Float[Array, 'b 1']]")
    assert r.returncode == 1 and "element 3[0], axis 2" in r.stdout, r.stdout + r.stderr
    r = run(files, "validate", "data/a_good.npy", "--spec", "Float[Array, 'b 24 3']")
    assert r.returncode == 0 and "no contract violations" in r.stdout, r.stdout + r.stderr


def test_validate_bad_spec_is_one_line(files: Path) -> None:
    """A malformed spec is the parser's own message (ContractSyntaxError), or says the form."""
    assert_usage_error(run(files, "validate", "data", "--spec", "Float[Array, 'b, 24, 3']"),
                       "separate axes with spaces")
    assert_usage_error(run(files, "validate", "data", "--spec", "print('hi')"),
                       "Float[Array, 'dims']")
    assert_usage_error(run(files, "validate", "data", "--spec", "Float[Array, 'b"),
                       "not an annotation")


def test_colour_and_progress_only_on_a_terminal(files: Path) -> None:
    """On a terminal the verdict is coloured; NO_COLOR turns it off; piped it is plain."""
    import pty

    def on_tty(env: dict[str, str]) -> str:
        main, child = pty.openpty()
        p = subprocess.Popen([sys.executable, "-m", "shapecontract", "validate", "data",
                              "--spec", "Float[Array, 'batch 24 3']"], cwd=files,
                             stdout=child, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(SRC), **env})
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        p.wait(timeout=60)
        os.close(main)
        return b"".join(chunks).decode()

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\033[31m" in on_tty({**env, "NO_COLOR": ""})
    assert "\033[" not in on_tty({"NO_COLOR": "1"})
    piped = run(files, "validate", "data", "--spec", "Float[Array, 'batch 24 3']")
    assert "\033[" not in piped.stdout + piped.stderr


# ------------------------------------------------------------------ port, scaffold
def test_port_compares_and_transfers(files: Path) -> None:
    """`port lstm.keras mods:Port --transfer`: no difference, the weights moved, the outputs
    agree (exit 0)."""
    r = run(files, "port", "lstm.keras", "mods:Port", "--transfer")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no differences in contract" in r.stdout
    assert "weights transferred" in r.stdout
    diff = float(re.search(r"max \|keras - torch\| per output: (\S+)", r.stdout).group(1))
    assert diff <= 1e-5


def test_scaffold_prints_the_ports_source(files: Path) -> None:
    """`scaffold mods:build_dense` prints Keras source for the torch Sequential (valid Python);
    a non-model is refused in one line."""
    r = run(files, "scaffold", "mods:build_dense")
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "scaffold", "exec")
    assert "def build_model()" in r.stdout and "Dense(16" in r.stdout
    assert_usage_error(run(files, "scaffold", "mods:XY"), "not a model")


def test_scaffold_of_a_saved_keras_file(files: Path) -> None:
    """`scaffold lstm.keras` prints the nn.Module source of the saved Keras model (before: Keras
    builds a loaded Sequential twice, its first layer has two inbound nodes on one input, and
    the scaffold refused it as 'called more than once')."""
    r = run(files, "scaffold", "lstm.keras")
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "scaffold", "exec")
    assert "nn.LSTM(" in r.stdout


PIPELINE = '''
import numpy as np


def scale(series):
    # min-max scaling, per feature
    lo, hi = series.min(0), series.max(0)
    return (series - lo) / (hi - lo + 1e-9)


def make_windows(series, timesteps):
    n = len(series) - timesteps
    return np.stack([series[i:i + timesteps] for i in range(n)])


def pipeline(series, timesteps):
    return make_windows(scale(series), timesteps)


ARGS = (np.random.default_rng(0).random((60, 3)).astype("float32"), 24)
'''


def test_infer_prints_applies_and_the_result_checks(tmp_path: Path) -> None:
    """`shapecontract infer mod:pipeline --args mod:ARGS --also ...` prints the inferred
    annotations; --diff changes nothing; --apply patches the source, keeping its comment, and
    the patched module holds on the good call and on another length, and rejects 1 feature
    instead of 3 (the dim fixed with --fixed-dim)."""
    (tmp_path / "pipe.py").write_text(PIPELINE)
    base = ("infer", "pipe:pipeline", "--args", "pipe:ARGS", "--also", "pipe:make_windows",
            "--also", "pipe:scale")
    r = run(tmp_path, *base)
    assert r.returncode == 0, r.stderr
    assert "@contract" in r.stdout and "def make_windows(" in r.stdout
    # the int parameter names the dim it sizes, and is annotated `int` so that it binds it
    assert re.search(r'def make_windows\(.*timesteps: int\) -> .*"n_out timesteps ', r.stdout), r.stdout
    r = run(tmp_path, *base, "--diff")
    assert r.returncode == 0 and r.stdout.startswith("--- a/pipe.py"), r.stderr
    assert (tmp_path / "pipe.py").read_text() == PIPELINE  # --diff writes nothing
    r = run(tmp_path, *base, "--apply", "--fixed-dim", "series_1")  # 3 features, always
    assert r.returncode == 0, r.stderr
    patched = (tmp_path / "pipe.py").read_text()
    assert "# min-max scaling, per feature" in patched and "@contract" in patched
    probe = ("import numpy as np, pipe\n"
             "pipe.pipeline(*pipe.ARGS)\n"
             "pipe.pipeline(np.zeros((90, 3), 'float32'), 24)\n"
             "assert pipe.make_windows.__shapecontract__ is not None\n"
             "from shapecontract import ShapeContractError\n"
             "try:\n    pipe.pipeline(np.zeros((60, 1), 'float32'), 24)\n"
             "except ShapeContractError as e:\n    print('REFUSED', e.violations[0].location)\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{tmp_path}"})
    assert out.returncode == 0, out.stderr
    assert "REFUSED" in out.stdout, out.stdout


def test_infer_bad_arguments_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "pipe.py").write_text(PIPELINE)
    assert_usage_error(run(tmp_path, "infer", "pipe:nothing"), "nothing")
    assert_usage_error(run(tmp_path, "infer", "pipe:ARGS"), "not a function")


def test_check_against_a_contract_saved_as_json_needs_no_framework(files: Path) -> None:
    """The contract travels as JSON: `inspect model.keras --json > c.json`, then `check c.json
    DATA` checks the inputs in a process that imports no framework (numpy data), with the same
    verdict as against the model. A file that is not a contract is one line, exit 2."""
    r = run(files, "inspect", "lstm.keras", "--json")
    assert r.returncode == 0, r.stderr
    (files / "c.json").write_text(r.stdout)
    good = np.zeros((4, 24, 3), np.float32)
    bad = np.zeros((4, 24, 1), np.float32)
    np.save(files / "c_good.npy", good)
    np.save(files / "c_bad.npy", bad)
    probe = ("import sys\nfrom shapecontract.cli import main\n"
             "code = main(['check', 'c.json', sys.argv[1]])\n"
             f"print('LOADED', [m for m in {FRAMEWORKS!r} if m in sys.modules])\n"
             "sys.exit(code)")
    for data, code in (("c_good.npy", 0), ("c_bad.npy", 1)):
        out = subprocess.run([sys.executable, "-c", probe, data], cwd=files, capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
        assert out.returncode == code, (out.stdout, out.stderr)
        assert "LOADED []" in out.stdout
    assert "axis 2 (features)" in out.stdout and "expected 3, got 1" in out.stdout
    (files / "not_a_contract.json").write_text('{"hello": 1}')
    assert_usage_error(run(files, "check", "not_a_contract.json", "c_good.npy"),
                       "not_a_contract.json")


USERMOD = '''
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
'''


def test_console_script_loads_a_whole_module_of_the_users_class_and_names_bad_files(
        tmp_path: Path) -> None:
    """From the `shapecontract` console script (whose sys.path holds its own directory, not the
    working one), `inspect whole.pt --unsafe` of a module whose class lives in the user's
    project said 'not a torch file torch.load can read: No module named ...'; a corrupt
    .keras file got Keras's 'File not found'; a closed pipe exited 1 (= violated)."""
    script = Path(sys.executable).parent / "shapecontract"
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    (tmp_path / "usermod.py").write_text(USERMOD)
    saver = "import torch, usermod\ntorch.save(usermod.Net(), 'net.pt')\n"
    subprocess.run([sys.executable, "-c", saver], cwd=tmp_path, check=True,
                   env={**os.environ, "PYTHONPATH": str(SRC)})
    env = {**os.environ, "PYTHONPATH": str(SRC), "TF_CPP_MIN_LOG_LEVEL": "3"}
    r = subprocess.run([str(script), "inspect", "net.pt", "--unsafe"], cwd=tmp_path,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^fc\s+Linear", r.stdout, re.M), r.stdout
    (tmp_path / "corrupt.keras").write_bytes(b"not a zip archive")
    r = subprocess.run([str(script), "inspect", "corrupt.keras"], cwd=tmp_path,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "not a .keras archive" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # a reader that left before anything was written: 141, quietly (was exit 1 = violated)
    p = subprocess.Popen([str(script), "inspect", "net.pt", "--unsafe", "--json"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_infer_apply_patches_the_also_modules_too(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`infer --apply` with `--also helpers:scale` from another module patches that module as
    well as FUNCTION's (it patched FUNCTION's module only)."""
    from shapecontract.cli import main

    (tmp_path / "sc_also_helpers.py").write_text(
        "def scale(series):\n    return (series - series.min(0)) / (series.max(0) - series.min(0) + 1e-9)\n")
    (tmp_path / "sc_also_pipe.py").write_text(
        "import numpy as np\nfrom sc_also_helpers import scale\n\n\n"
        "def pipeline(series):\n    return scale(series)[None]\n\n\n"
        "ARGS = (np.zeros((30, 3), 'float32'),)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["infer", "sc_also_pipe:pipeline", "--args", "sc_also_pipe:ARGS", "--also",
                 "sc_also_helpers:scale", "--apply"])
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "patched" in err and "sc_also_helpers.py" in err
    assert "@contract" in (tmp_path / "sc_also_helpers.py").read_text()
    assert "@contract" in (tmp_path / "sc_also_pipe.py").read_text()
