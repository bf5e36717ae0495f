"""Images per second of the course's GAN trainer against a tutorial-style DCGAN loop, same process.

The baseline is written the way most DCGAN tutorials train: a DataLoader over the torchvision
dataset (ImageFolder over the mirror's PNGs, or torchvision's CIFAR10 when its archive is cached)
with per-image ToTensor/Normalize transforms and 2 workers, fp32, default Adam, and `loss.item()`
after every step. The course trainer (course_utils.train.GANTrainer) keeps the uint8 dataset on the
device, picks batches by index, uses channels_last, and on a GPU bf16 autocast, fused Adam and reads
its losses every 50 steps. Same model, same batch size (128), same two steps of Algorithm 1.

    python benchmarks/dcgan_throughput.py            # CPU: target >= 1.3x
    python benchmarks/dcgan_throughput.py --compile  # also torch.compile (worth it on a GPU)

On a GPU it also prints the seconds per CIFAR-10 epoch (target <= 2 s, >= 3x the baseline) and the
achieved FLOP/s as a fraction of the card's dense bf16 peak (FLOPs of one step counted by
torch.utils.flop_counter).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch
from torch import nn

from course_utils.budget import get_device, seed_everything
from course_utils.data import cifar10_tensors, data_root, image_sampler, mirror_root
from course_utils.models import dcgan
from course_utils.recipes import dcgan_cifar10_recipe
from course_utils.train import GANTrainer

BATCH = 128
# Dense bf16 tensor-core peaks from NVIDIA's data sheets (H100 SXM5 and H200: 989 TFLOP/s; H100 PCIe: 756).
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


def tutorial_loader(workers: int) -> torch.utils.data.DataLoader:
    """The tutorials' input pipeline: decode and transform every image, every epoch, in workers."""
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    try:
        dataset = datasets.CIFAR10(str(data_root()), train=True, transform=transform, download=False)
    except RuntimeError:  # no torchvision archive here: the same images as PNG class folders
        folder = mirror_root() / "cifar10" / "train" if mirror_root() else None
        if folder is None or not folder.is_dir():
            raise SystemExit("the baseline needs CIFAR-10 as torchvision's archive in the cache or as the mirror's "
                             "PNG folders (set COURSE_DATA_MIRROR)")
        dataset = datasets.ImageFolder(str(folder), transform=transform)
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers,
                                       drop_last=True, persistent_workers=workers > 0)


def baseline_steps(G: nn.Module, D: nn.Module, batches, steps: int, device: torch.device) -> float:
    """`steps` tutorial-style steps; returns the seconds they took."""
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(BATCH, 1, device=device), torch.zeros(BATCH, 1, device=device)
    log = []
    start = time.perf_counter()
    for _ in range(steps):
        real, _ = next(batches)
        real = real.to(device)
        opt_d.zero_grad()
        loss_real = criterion(D(real), ones)
        loss_real.backward()
        fake = G(torch.randn(BATCH, G.cfg.z_dim, device=device))
        loss_fake = criterion(D(fake.detach()), zeros)
        loss_fake.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = criterion(D(fake), ones)
        loss_g.backward()
        opt_g.step()
        log.append((loss_real.item() + loss_fake.item(), loss_g.item()))  # a host sync every step
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def endless(loader):
    while True:
        yield from loader


def trainer_steps(trainer: GANTrainer, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    trainer.flush()
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def step_flops(trainer: GANTrainer) -> float:
    """FLOPs of one course-trainer step (D step + G step), counted on the real kernels' shapes."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    trainer.flush()
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (default: 40 CPU, 300 GPU)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed runs of each loop")
    parser.add_argument("--workers", type=int, default=2, help="the baseline DataLoader's workers")
    parser.add_argument("--compile", action="store_true", help="torch.compile the course trainer's G and D")
    args = parser.parse_args()

    device = get_device()
    gpu = device.type == "cuda"
    steps = args.steps or (300 if gpu else 40)
    seed_everything(0, deterministic=False)
    if gpu:
        torch.backends.cudnn.benchmark = True
    cfg = dcgan_cifar10_recipe(device).model  # the paper's widths on a GPU, half of them on a CPU
    recipe = replace(dcgan_cifar10_recipe(device).train, batch_size=BATCH, compile=args.compile)
    print(f"device {torch.cuda.get_device_name() if gpu else 'cpu'}, {torch.get_num_threads()} threads; "
          f"DCGAN widths {cfg.g_width}/{cfg.d_width}, batch {BATCH}, {steps} timed steps x {args.rounds} rounds")

    images, _ = cifar10_tensors(train=True)
    trainer = GANTrainer(dcgan.Generator(cfg), dcgan.Discriminator(cfg),
                         image_sampler(images, device, channels_last=recipe.channels_last), recipe, device)
    G0, D0 = dcgan.Generator(cfg).to(device), dcgan.Discriminator(cfg).to(device)
    batches = endless(tutorial_loader(args.workers))

    warmup = 30 if args.compile else 5
    trainer_steps(trainer, warmup)  # first steps: allocation, cuDNN autotuning, compiling
    baseline_steps(G0, D0, batches, warmup, device)  # and the DataLoader workers' start
    ours, theirs = [], []
    for _ in range(args.rounds):  # alternate, so a noisy neighbour hits both alike
        ours.append(steps * BATCH / trainer_steps(trainer, steps))
        theirs.append(steps * BATCH / baseline_steps(G0, D0, batches, steps, device))
    ours_ips, theirs_ips = statistics.median(ours), statistics.median(theirs)
    ratio = ours_ips / theirs_ips
    print(f"baseline (DataLoader, fp32, .item() per step): {theirs_ips:8.0f} images/s  runs {[round(v) for v in theirs]}")
    print(f"course trainer:                                {ours_ips:8.0f} images/s  runs {[round(v) for v in ours]}")
    target = 3.0 if gpu else 1.3
    print(f"ratio {ratio:.2f}x (target >= {target}x: {'met' if ratio >= target else 'NOT met'})")
    epoch = 50_000 / ours_ips
    print(f"one CIFAR-10 epoch (50,000 images) with the course trainer: {epoch:.1f} s"
          + (f" (target <= 2 s: {'met' if epoch <= 2 else 'NOT met'})" if gpu else ""))
    if gpu:
        flops = step_flops(trainer)
        achieved = flops * ours_ips / BATCH
        name = torch.cuda.get_device_name()
        peak = next((value for key, value in PEAK_BF16.items() if key in name), None)
        share = f", {achieved / peak:.1%} of the {name}'s dense bf16 peak" if peak else ""
        print(f"{flops / 1e9:.1f} GFLOP per step; achieved {achieved / 1e12:.1f} TFLOP/s{share}")


if __name__ == "__main__":
    main()
