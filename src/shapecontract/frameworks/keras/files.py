"""Keras model files for the command line (layer L6): `.keras` archives and legacy HDF5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import LoadError, import_quietly, one_line, quiet_stderr

__all__ = ["EXTRA", "SUFFIXES", "load"]

SUFFIXES = (".keras", ".h5", ".hdf5")
EXTRA = "tensorflow"
"""The extra of shapecontract that installs Keras and its backend."""


def load(path: Path, unsafe: bool = False) -> Any:
    """The model saved in `path`, loaded in Keras's safe mode unless `unsafe` (a Lambda layer
    holds code that runs on load)."""
    keras = import_quietly("keras", EXTRA)
    try:
        with quiet_stderr():
            return keras.saving.load_model(str(path), safe_mode=not unsafe)
    except Exception as e:
        text = str(e)
        if "safe_mode" in text or "Lambda" in text:
            raise LoadError(
                f"{path}: Keras's safe mode refuses to load it: it holds a Lambda layer (code "
                "that runs when loaded); pass --unsafe only if you trust the file") from None
        if "File not found" in text and path.is_file():  # Keras's words for a bad archive
            raise LoadError(f"{path}: not a .keras archive (a zip file Keras saved); it may be "
                            "corrupt, empty or another format") from None
        raise LoadError(f"{path}: not a Keras model file Keras can load: {type(e).__name__}: "
                        f"{one_line(e)}") from None
