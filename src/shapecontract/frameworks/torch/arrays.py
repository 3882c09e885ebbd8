"""torch tensors as arrays (layer L6): their shapes, and fixes written and carried out in
torch's own idiom. Registered with `backends` when this package is imported; torch itself is
touched only when a tensor shows up."""

from __future__ import annotations

import sys
from typing import Any

from ...backends import Backend, register_backend

__all__ = ["TorchBackend"]


class TorchBackend(Backend):
    name = module = "torch"
    json_names = (("torch", "torch", "Tensor", "Tensor"),)
    internal = ("torch",)

    def escape(self, report: Any, warned: Any, slow_only: bool, holds: Any) -> Any:
        from .compile import outside_graph

        return outside_graph(report, warned, slow_only, holds)

    def array_types(self) -> tuple[type, ...]:
        return (sys.modules["torch"].Tensor,)

    def expand(self, var: str, axis: int) -> str:
        return f"{var}.unsqueeze({axis})"

    def squeeze(self, var: str, axis: int) -> str:
        return f"{var}.squeeze({axis})"

    def permute(self, var: str, perm: tuple[int, ...]) -> str:
        swapped = [i for i, p in enumerate(perm) if i != p]
        if len(swapped) == 2:
            return f"{var}.transpose({swapped[0]}, {swapped[1]})"
        return f"{var}.permute{perm}"

    def cast(self, var: str, dtype: str) -> str:
        return f"{var}.to(torch.{dtype})"

    def do_expand(self, x: Any, axis: int) -> Any:
        return x.unsqueeze(axis)

    def do_squeeze(self, x: Any, axis: int) -> Any:
        return x.squeeze(axis)

    def do_permute(self, x: Any, perm: tuple[int, ...]) -> Any:
        return x.permute(perm)

    def do_cast(self, x: Any, dtype: str) -> Any:
        return x.to(getattr(sys.modules["torch"], dtype))

    def do_one_hot(self, x: Any, classes: int) -> Any:
        return sys.modules["torch"].nn.functional.one_hot(x, classes)

    def do_argmax(self, x: Any, axis: int) -> Any:
        return x.argmax(axis)

    def do_stack(self, items: list[Any]) -> Any:
        return sys.modules["torch"].stack(items)

    def one_hot(self, var: str, classes: int) -> str:
        return f"torch.nn.functional.one_hot({var}, {classes})"

    def argmax(self, var: str, axis: int) -> str:
        return f"{var}.argmax({axis})"

    def stack(self, var: str) -> str:
        return f"torch.stack({var})"

    def repeat(self, var: str, axis: int, times: int) -> str:
        return f"{var}.repeat_interleave({times}, dim={axis})"

    def do_repeat(self, x: Any, axis: int, times: int) -> Any:
        return x.repeat_interleave(times, dim=axis)

    def pad_sequences(self, var: str, maxlen: int | None) -> str:
        pad = (f"torch.nn.utils.rnn.pad_sequence([torch.as_tensor(s) for s in {var}], "
               "batch_first=True)")
        return pad if maxlen is None else f"{pad}[:, :{maxlen}]"


register_backend(TorchBackend())
