"""torch model files for the command line (layer L6): whatever `torch.load` reads, weights-only
unless `unsafe`; and arrays read from data files as the tensors a torch model takes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..files import LoadError, import_quietly, one_line

__all__ = ["EXTRA", "SUFFIXES", "as_input", "load"]

SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
"""Its usual suffixes; the command line also asks torch for a file no framework claims."""
EXTRA = "torch"


def load(path: Path, unsafe: bool = False) -> Any:
    """The `nn.Module` saved in `path`. Weights-only loading (no code runs) unless `unsafe`,
    which a whole pickled module needs."""
    torch = import_quietly("torch", EXTRA)
    import pickle

    if unsafe and "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a whole module's class, in the user's project
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not unsafe)
    except ModuleNotFoundError as e:
        raise LoadError(f"{path}: the module it was saved from cannot be imported ({e}); run "
                        "from the project's directory or put it on PYTHONPATH") from None
    except pickle.UnpicklingError as e:
        if "unsupported global" not in str(e).lower():  # a pickled class: a whole module
            raise LoadError(f"{path}: not a torch file torch.load can read: "
                            f"{one_line(e)}") from None
        raise LoadError(f"{path}: refused: loading it needs weights_only=False (it holds "
                        "pickled objects, e.g. a whole module), which can run arbitrary code; "
                        "pass --unsafe only if you trust the file") from None
    except Exception as e:
        raise LoadError(f"{path}: not a torch file torch.load can read: {type(e).__name__}: "
                        f"{one_line(e)}") from None
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict):
        raise LoadError(f"{path}: a state dict (weights only: {len(obj)} entries), not a model; "
                        "name the model's module instead, as package.module:attr")
    raise LoadError(f"{path}: holds a {type(obj).__name__}, not a torch.nn.Module")


def as_input(x: Any) -> Any:
    """A numpy array read from a file as the tensor a torch model takes, sharing its memory
    (`torch.from_numpy`: no copy); anything else as it is."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.ndarray):
        return sys.modules["torch"].from_numpy(x)
    return x
