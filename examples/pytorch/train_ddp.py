"""Continue training a pixelgrad checkpoint in PyTorch with DistributedDataParallel (CPU, gloo):

    torchrun --nproc_per_node 2 examples/pytorch/train_ddp.py \\
        --checkpoint runs/lenet/checkpoint.safetensors --data train.safetensors --out trained.safetensors

--data is a safetensors file with `images` [N, C, H, W] (float32, already normalised as the model
expects) and `labels` [N] (int32). Each process trains on its shard (DistributedSampler); DDP
averages the gradients, so the replicas stay identical. Rank 0 writes the trained state dict as
safetensors (pixelgrad's names: `pixelgrad.loadModel(model, path)` or `nn.Module.loadStateDict`)
and, with --report, the loss and accuracy of the trained model on --data.
"""
import argparse
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pixelgrad_models import load_safetensors, model_from_checkpoint, save_safetensors  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32, help="per process")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", help="rank 0 writes {loss, accuracy, samples} of the trained model on --data here (JSON)")
    a = p.parse_args()

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(a.seed)
    model, config = model_from_checkpoint(a.checkpoint)
    ddp = DistributedDataParallel(model)
    tensors, _ = load_safetensors(a.data)
    data = TensorDataset(tensors["images"], tensors["labels"].to(torch.int64))
    sampler = DistributedSampler(data, seed=a.seed)
    loader = DataLoader(data, batch_size=a.batch_size, sampler=sampler)
    opt = torch.optim.SGD(ddp.parameters(), lr=a.lr, momentum=0.9)
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(ddp(x), y).backward()
            opt.step()
    if rank == 0:
        model.eval()
        save_safetensors(a.out, model.state_dict(), {"format": "pt", "source": "examples/pytorch/train_ddp.py", "model": config["model"]})
        if a.report:
            with torch.no_grad():
                logits = model(tensors["images"])
                labels = tensors["labels"].to(torch.int64)
                report = {"loss": F.cross_entropy(logits, labels).item(), "accuracy": (logits.argmax(1) == labels).double().mean().item(), "samples": len(labels)}
            with open(a.report, "w") as fh:
                json.dump(report, fh)
        print("rank 0: wrote %s after %d epoch(s) on %d processes" % (a.out, a.epochs, dist.get_world_size()))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
