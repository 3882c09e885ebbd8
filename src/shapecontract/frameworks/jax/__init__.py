"""JAX as an array library (layer L6): its arrays (`arrays`). jax is never imported when this
package is: only once an array of its shows up."""

from __future__ import annotations

from .arrays import JaxBackend

__all__ = ["JaxBackend"]
