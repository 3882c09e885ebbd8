"""The seed scenarios as a tutorial: Keras and PyTorch side by side, with real output.

The seeds (../shared/seeds/) are two widely read answers about "Input 0 is incompatible with
layer sequential_1": an LSTM built for (24, 3) fed 1 feature, 48 steps or a 2-D array; a Dense
fed the wrong width; grayscale images without their channel axis; an LSTM fed 3 features for 5.
Each scenario is written once for Keras 3 and once for its PyTorch port. Every code block on the
page is run exactly as shown, twice: with `guard` from shapecontract, and with `guard` replaced
by a function that returns the model untouched (what the framework says alone).

`python examples/seed_tutorial.py --markdown > docs/tutorial.md` (`make docs-tutorial`) writes
the page; `tests/test_docs_site.py` keeps the two in sync.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dataclasses import dataclass
from typing import Any

from shapecontract import ShapeContractError

SETUP = '''\
import keras
import numpy as np
import torch
from keras import layers
from torch import nn

from shapecontract import guard

rng = np.random.default_rng(0)


def keras_lstm(timesteps, features):  # LSTM(50, input_shape=(timesteps, features)) -> Dense(1)
    model = keras.Sequential([keras.Input((timesteps, features)),
                              layers.LSTM(50), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


class TorchLSTM(nn.Module):  # its PyTorch port: the last step of the LSTM into a Linear
    def __init__(self, features):
        super().__init__()
        self.lstm = nn.LSTM(features, 50, batch_first=True)
        self.head = nn.Linear(50, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])
'''


@dataclass(frozen=True)
class Scenario:
    """One seed example: what went wrong, and the Keras and PyTorch code that does it."""

    title: str
    story: str
    keras: str
    torch: str
    after: str = ""


SCENARIOS = [
    Scenario(
        "Seed 000, example 1: 1 feature where the LSTM expects 3",
        "An LSTM built with `input_shape=(24, 3)` is trained on hourly temperature alone: "
        "`(100, 24, 1)`. The answer warns that `X_train.reshape(100, 24, 3)` would be wrong; "
        "shapecontract never offers a reshape that changes the element count, and says why.",
        '''\
model = guard(keras_lstm(24, 3))
X = rng.random((100, 24, 1))
y = rng.random((100, 1))
model.fit(X, y, epochs=1, verbose=0)
''',
        '''\
model = guard(TorchLSTM(3))
X = torch.rand(100, 24, 1)
model(X)
''',
    ),
    Scenario(
        "Seed 000, example 2: 48 timesteps where the LSTM expects 24",
        "The data has 48 steps per window, the model was built for 24. The seed says this raises; "
        "Keras 3 and PyTorch both run it without a word (an LSTM takes any length), so the model "
        "quietly learns from windows it was not designed for. A guarded Keras model enforces its "
        "`Input((24, 3))`; a torch LSTM does not state a length, so the guard is told it with "
        "`dims=`.",
        '''\
model = guard(keras_lstm(24, 3))
X = rng.random((100, 48, 3))
y = rng.random((100, 1))
model.fit(X, y, epochs=1, verbose=0)
''',
        '''\
model = guard(TorchLSTM(3), dims={"timesteps": 24})
X = torch.rand(100, 48, 3)
model(X)
''',
    ),
    Scenario(
        "Seed 000, example 3: a 2-D array where the LSTM expects (batch, 24, 1)",
        "A univariate series `(100, 24)` without its feature axis. Keras 3 adds a missing "
        "trailing axis of size 1 on its own and trains; PyTorch reads a 2-D input as one "
        "unbatched sequence of 100 steps with 24 features, so its own error talks about "
        "`input_size`, not the missing axis. The seed's fix, `X.reshape(100, 24, 1)`, is right "
        "here; shapecontract offers the form that cannot scramble data, `X[..., None]`.",
        '''\
model = guard(keras_lstm(24, 1))
X = rng.random((100, 24))
y = rng.random((100, 1))
model.fit(X, y, epochs=1, verbose=0)
''',
        '''\
model = guard(TorchLSTM(1))
X = torch.rand(100, 24)
model(X)
''',
    ),
    Scenario(
        "Seed 004, example 1: Dense(16, input_shape=(10,)) fed 12 features",
        "The seed's first example is correct as written (`(200, 10)` into `input_shape=(10,)`; "
        "see the last section). Here the data has grown two columns.",
        '''\
model = guard(keras.Sequential([keras.Input((10,)),
                                layers.Dense(16, activation="relu"),
                                layers.Dense(1, activation="sigmoid")]))
X = rng.random((200, 12))
model.predict(X, verbose=0)
''',
        '''\
model = guard(nn.Sequential(nn.Linear(10, 16), nn.ReLU(),
                            nn.Linear(16, 1), nn.Sigmoid()))
X = torch.rand(200, 12)
model(X)
''',
    ),
    Scenario(
        "Seed 004, example 2: grayscale images without their channel axis",
        "`(100, 64, 64)` images into a `Conv2D` built for `(64, 64, 1)`. Keras adds the "
        "trailing axis on its own; PyTorch reads the 3-D batch as one unbatched image "
        "with 100 channels. A guarded model holds the contract the layers state and names the "
        "missing axis, with the fix in each framework's layout (channels last for Keras, "
        "channels first for torch).",
        '''\
model = guard(keras.Sequential([
    keras.Input((64, 64, 1)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPool2D((2, 2)), layers.Flatten(),
    layers.Dense(10, activation="softmax")]))
images = rng.random((100, 64, 64))
model.predict(images, verbose=0)
''',
        '''\
model = guard(nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(),
    nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(32 * 31 * 31, 10)))
images = torch.rand(100, 64, 64)
model(images)
''',
    ),
    Scenario(
        "Seed 004, example 3: 3 features where LSTM(input_shape=(20, 5)) expects 5",
        "The seed's recurrent example: the first `fit` is right, the second gets data with 3 "
        "features per step instead of 5. No reshape can help; the error says so.",
        '''\
model = guard(keras_lstm(20, 5))
X_bad = rng.random((150, 20, 3))
y = rng.random((150, 1))
model.fit(X_bad, y, epochs=1, verbose=0)
''',
        '''\
model = guard(TorchLSTM(5))
X_bad = torch.rand(150, 20, 3)
model(X_bad)
''',
    ),
    Scenario(
        "What passes: the seed's correct calls",
        "A guard is not in the way of correct data: the seeds' own fixed calls pass, and the "
        "guarded model returns what the framework returns.",
        '''\
model = guard(keras.Sequential([keras.Input((10,)),
                                layers.Dense(16, activation="relu"),
                                layers.Dense(1, activation="sigmoid")]))
X = rng.random((200, 10))
out = model.predict(X, verbose=0)
''',
        '''\
model = guard(nn.Sequential(nn.Linear(10, 16), nn.ReLU(),
                            nn.Linear(16, 1), nn.Sigmoid()))
X = torch.rand(200, 10)
out = model(X)
''',
        "Both return `out` of shape `(200, 1)`; `unguard(model)` gives the model back exactly "
        "as it was.",
    ),
]


def _alone(model: Any, **_: Any) -> Any:
    """`guard` replaced: the model untouched, so the framework alone decides."""
    return model


def _first_line(e: BaseException) -> str:
    """The framework's reason in one line (Keras puts it after a line naming the call)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith("Exception encountered when calling")]
    text = lines[0] if lines else ""
    text = text if len(text) <= 150 else text[:147] + "..."
    return f"{type(e).__name__}: {text}"


def run(code: str, guarded: bool) -> str:
    """Run one block after the set-up, as written: shapecontract's error, the framework's own
    error (first line), or what came back."""
    import keras
    import numpy as np

    keras.backend.clear_session()  # layer names (and so Keras's messages) do not depend on order
    namespace: dict[str, Any] = {"__name__": "seed_tutorial"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(SETUP, "<setup>", "exec"), namespace)
        if not guarded:
            namespace["guard"] = _alone
        try:
            exec(compile(code, "<scenario>", "exec"), namespace)
        except ShapeContractError as e:
            return e.render()
        except Exception as e:
            return _first_line(e)
    out = namespace.get("out")
    shape = tuple(np.shape(out.detach() if hasattr(out, "detach") else out)) if out is not None else None
    return "ran without an error" + (f"; out has shape {shape}" if shape is not None else "")


def _column(name: str, code: str, alone: str) -> list[str]:
    return ['<div markdown>', "", f"**{name}**", "", "```python", code.rstrip("\n"), "```", "",
            f"{name} alone: `{alone}`", "", "</div>", ""]


def markdown() -> str:
    """The page docs/tutorial.md, from a real run."""
    lines = [
        "# Tutorial: the seed scenarios, Keras and PyTorch side by side", "",
        "The classic question \"Input 0 is incompatible with layer sequential_1\" has a handful",
        "of causes, and two widely read answers walk through them with an LSTM, a Dense and a",
        "Conv2D model. Here each of their examples is written for Keras 3 and for its PyTorch",
        "port, the model wrapped in `guard(...)`. Under each block: what the framework says",
        "alone (the same code with `guard` returning the model untouched), then what",
        "shapecontract says, before the framework runs the bad input.", "",
        "Generated by `python examples/seed_tutorial.py --markdown` from a real run (Keras 3 on",
        "TensorFlow, PyTorch CPU); `tests/test_docs_site.py` keeps this page in sync.", "",
        "## Set-up", "",
        "Every block below runs after this one:", "",
        "```python", SETUP.rstrip("\n"), "```", "",
        "`guard` reads each model's contract from its own layers (see",
        "[models and levels](adapters.md)); nothing is declared twice.", "",
    ]
    for s in SCENARIOS:
        keras_guarded, torch_guarded = run(s.keras, True), run(s.torch, True)
        lines += [f"## {s.title}", "", s.story, "", '<div class="grid" markdown>', ""]
        lines += _column("Keras", s.keras, run(s.keras, False))
        lines += _column("PyTorch", s.torch, run(s.torch, False))
        lines += ["</div>", "", "Keras, guarded:", "", "```", keras_guarded, "```", "",
                  "PyTorch, guarded:", "", "```", torch_guarded, "```", ""]
        if s.after:
            lines += [s.after, ""]
    lines += ["## Next", "",
              "- [Common shape bugs](common-bugs.md): losses, targets, pipelines and more,",
              "  each with what shapecontract says.",
              "- [Pipelines](pipelines.md): catch a bad batch before a long run with `validate`.",
              "- [Porting](porting.md): check a PyTorch port of a Keras model, layer by layer.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--markdown" in sys.argv:
        print(markdown(), end="")
    else:
        for s in SCENARIOS:
            print(f"== {s.title}")
            for name, code in (("Keras", s.keras), ("PyTorch", s.torch)):
                print(f"-- {name} alone: {run(code, False)}\n-- {name} guarded:\n{run(code, True)}")
            print()
