"""TensorFlow as an array library (layer L6): its tensors (`arrays`), including graph tensors
inside a `tf.function`, whose checks run when the graph runs. Keras models are the Keras
package's (`frameworks/keras/`). `data`: tf.data as a data source (its element_spec checked
statically, the rest in the pipeline), registered with `frameworks.sources`.

TensorFlow is never imported when this package is: only once a tensor of its shows up.
"""

from __future__ import annotations

from . import data as data  # registers tf.data as a data source
from . import distribute as distribute  # names a tf.distribute replica in errors
from . import export as export  # lends Contract its to_tf_signature
from .arrays import TensorFlowBackend

__all__ = ["TensorFlowBackend"]
