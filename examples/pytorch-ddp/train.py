"""Data-parallel training with torch.distributed over gloo (CPU), launched by smrun.

smrun's native launcher (hyperparameter sagemaker_torch_distributed_enabled, or
SMRUN_LAUNCHER=native) starts one process per rank with torchrun's environment contract
(RANK, WORLD_SIZE, MASTER_ADDR, ...), so `init_process_group("gloo")` needs no arguments.
Each rank fits y = 3*x1 - 2*x2 + 0.5 on its own shard of synthetic data; DDP averages the
gradients; rank 0 saves the model to SM_MODEL_DIR.

Test hooks (hyperparameters): --fail-rank R --fail-code C makes rank R exit with C after the
first step while the others wait in a collective, to exercise fail-fast teardown.
"""
import argparse
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--fail-code", type=int, default=3)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    host = os.environ.get("SM_CURRENT_HOST", "?")

    # Sanity check every rank can see: the sum of (rank + 1) over all ranks.
    probe = torch.tensor([float(rank + 1)])
    dist.all_reduce(probe)
    print(f"rank={rank} world={world} host={host} allreduce={probe.item()}", flush=True)

    torch.manual_seed(1234 + rank)
    x = torch.rand(256, 2) * 2 - 1
    y = (3 * x[:, 0] - 2 * x[:, 1] + 0.5).unsqueeze(1)
    model = DDP(torch.nn.Linear(2, 1))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if epoch == 0 and rank == args.fail_rank:
            print(f"rank {rank} failing on purpose with exit code {args.fail_code}", file=sys.stderr, flush=True)
            sys.exit(args.fail_code)
    dist.barrier()
    if rank == 0:
        torch.save(model.module.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
        w = model.module.weight.detach().flatten().tolist()
        print(f"final loss={loss.item():.5f} weights={[round(v, 3) for v in w]}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
