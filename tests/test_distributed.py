"""Scale-out (issue 11, part): guards and contracts in each rank of torch.distributed (DDP over
gloo, 2 processes on this machine); an error names its rank. Bounded: one run, a few steps."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r'''
import os, sys, tempfile
import torch, torch.distributed as dist, torch.multiprocessing as mp
from torch import nn
from shapecontract import Array, Float, ShapeContractError, contract, guard

@contract
def batch_loss(pred: Float[Array, "b 1"], y: Float[Array, "b 1"]) -> Float[Array, ""]:
    return ((pred - y) ** 2).mean()

def rank_main(rank, world, init, out):
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(guard(nn.Linear(3, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # good steps: the guard and the contract pass, gradients all-reduce
        x, y = torch.randn(4, 3), torch.randn(4, 1)
        loss = batch_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    lines = [f"steps {rank} ok"]
    try:  # every rank feeds bad data (no rank waits in a collective for another)
        model(torch.randn(4, 5))
    except ShapeContractError as e:
        lines.append(f"guard {rank} " + str(e).splitlines()[0])
    try:
        batch_loss(torch.randn(4, 1), torch.randn(6, 1))
    except ShapeContractError as e:
        lines.append(f"contract {rank} " + str(e).splitlines()[0])
    w = model.module.weight.detach().clone()
    dist.all_reduce(w)  # the replicas stayed in step: the sum is world x each
    lines.append(f"synced {rank} {torch.allclose(w, world * model.module.weight.detach())}")
    with open(f"{out}.{rank}", "w") as f:
        f.write("\n".join(lines))
    dist.barrier()  # both ranks are done before either leaves
    # gloo's threads can abort the interpreter's teardown ("terminate called without an
    # active exception", 1 run in 5 here): the results are written, leave without teardown
    os._exit(0)

if __name__ == "__main__":
    out = sys.argv[1]
    init = "file://" + out + ".init"
    mp.spawn(rank_main, args=(2, init, out), nprocs=2, join=True)
'''


def test_guards_and_contracts_in_each_rank_name_the_rank(tmp_path: object) -> None:
    """Two gloo ranks train a guarded, DDP-wrapped Linear with a decorated loss; bad data in
    each rank raises ShapeContractError naming that rank; the replicas stay in step."""
    pytest.importorskip("torch")
    script = os.path.join(str(tmp_path), "ddp.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    out = os.path.join(str(tmp_path), "result")
    run = subprocess.run([sys.executable, script, out], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    for rank in (0, 1):
        with open(f"{out}.{rank}") as f:
            lines = f.read().splitlines()
        assert lines[0] == f"steps {rank} ok"
        assert lines[1].startswith(f"guard {rank} ") and f"(rank {rank} of 2)" in lines[1], lines
        assert lines[2] == f"contract {rank} batch_loss (rank {rank} of 2): 1 contract violation", lines
        assert lines[3] == f"synced {rank} True"
