"""Images per second of the course's GAN trainer against a tutorial-style DCGAN loop, same process, with a
control for each way in which the two differ.

The baseline is written the way most DCGAN tutorials train: a DataLoader over the torchvision
dataset (ImageFolder over the mirror's PNGs, or torchvision's CIFAR10 when its archive is cached)
with per-image ToTensor/Normalize transforms and 2 workers, fp32, default Adam, and `loss.item()`
after every step. The course trainer (course_utils.train.GANTrainer) keeps the uint8 dataset on the
device, picks batches by index, uses channels_last, reads its losses every 50 steps, and on a GPU
runs bf16 autocast and fused Adam. Same model, same batch size, same two steps of Algorithm 1.

Between the two sits a chain of variants, each differing from the one before it in one thing only, all
timed in the same rounds: the tutorial loop fed from tensors decoded once in memory (removes the PNG
decoding and the DataLoader), then fed by the course's batches by index, then the course trainer with the
losses read every step in NCHW fp32 (and unfused Adam on a GPU), then with reads every 50 steps, then
channels_last, then (GPU) bf16 autocast and fused Adam, then (--compile) the compiled step. Each step's
ratio (median of the within-round ratios) is printed; their product matches the total up to the noise.

    python benchmarks/dcgan_throughput.py            # CPU: target >= 1.3x at batch 128
    python benchmarks/dcgan_throughput.py --compile  # GPU: the step replayed as a CUDA graph; CPU: torch.compile

On a GPU it also prints the seconds per CIFAR-10 epoch (targets at batch 128 with --compile: >= 8x the
baseline, <= 1 s per epoch) and the achieved FLOP/s as a fraction of the card's dense bf16 peak (FLOPs of
one step counted by torch.utils.flop_counter).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch
from torch import nn

from course_utils.budget import get_device, seed_everything
from course_utils.data import cifar10_tensors, data_root, image_sampler, mirror_root, to_signed_unit
from course_utils.models import dcgan
from course_utils.recipes import dcgan_cifar10_recipe
from course_utils.train import GANTrainer

BATCHES = (128, 512)
# Dense bf16 tensor-core peaks from NVIDIA's data sheets (H100 SXM5 and H200: 989 TFLOP/s; H100 PCIe: 756).
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


def tutorial_loader(workers: int, batch: int) -> torch.utils.data.DataLoader:
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
    return torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                                       drop_last=True, persistent_workers=workers > 0)


def baseline_steps(G: nn.Module, D: nn.Module, batches, steps: int, device: torch.device) -> float:
    """`steps` tutorial-style steps; returns the seconds they took."""
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    log = []
    start = time.perf_counter()
    for _ in range(steps):
        real, _ = next(batches)
        real = real.to(device)
        ones = torch.ones(len(real), 1, device=device)
        zeros = torch.zeros(len(real), 1, device=device)
        opt_d.zero_grad()
        loss_real = criterion(D(real), ones)
        loss_real.backward()
        fake = G(torch.randn(len(real), G.cfg.z_dim, device=device))
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
        trainer.algorithm_1()  # the eager step: a replayed CUDA graph dispatches no operators to count
    return float(counter.get_total_flops())


def in_memory_batches(images: torch.Tensor, batch: int, device: torch.device, seed: int = 0):
    """Control (a): the tutorial's epochs of shuffled batches, from images decoded and normalised once, in memory
    on the device (what the DataLoader delivers, without decoding PNGs or per-image transforms)."""
    decoded = to_signed_unit(images).to(device)  # = ToTensor() then Normalize(0.5, 0.5)
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(decoded), generator=generator).to(device)
        for i in range(len(decoded) // batch):
            yield decoded[order[i * batch:(i + 1) * batch]], None


def by_index_batches(images: torch.Tensor, batch: int, device: torch.device):
    """Control (b): the course's batches (uint8 on the device, random indices, floats made per batch)."""
    sample = image_sampler(images, device)
    while True:
        yield sample(batch), None


def unfused_adam(trainer: GANTrainer) -> GANTrainer:
    """The trainer with plain (foreach) Adam instead of the fused kernel it uses on a GPU."""
    cfg = trainer.cfg
    trainer.opt_d = torch.optim.Adam(trainer.D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=False)
    trainer.opt_g = torch.optim.Adam(trainer.G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=False)
    trainer.optimizers.update(D=trainer.opt_d, G=trainer.opt_g)
    return trainer


def variants(batch: int, args, device: torch.device, images: torch.Tensor) -> list[tuple[str, str, object]]:
    """The chain from the tutorial loop to the course trainer, one factor at a time: (name, factor, run) where
    run(steps) returns seconds and each variant differs from the one before it only in `factor`."""
    gpu = device.type == "cuda"
    cfg = dcgan_cifar10_recipe(device).model  # the paper's widths on a GPU, half of them on a CPU
    recipe = replace(dcgan_cifar10_recipe(device).train, batch_size=batch, compile=False)

    def tutorial(batches):
        G, D = dcgan.Generator(cfg).to(device), dcgan.Discriminator(cfg).to(device)
        return lambda steps: baseline_steps(G, D, batches, steps, device)

    def course(fused: bool = True, **changes):
        train_cfg = replace(recipe, **changes)
        trainer = GANTrainer(dcgan.Generator(cfg), dcgan.Discriminator(cfg),
                             image_sampler(images, device, channels_last=train_cfg.channels_last), train_cfg, device)
        trainer = trainer if fused else unfused_adam(trainer)
        run = lambda steps: trainer_steps(trainer, steps)  # noqa: E731
        run.trainer = trainer
        return run

    plain = dict(log_every=1, channels_last=False, amp=False)
    chain = [
        ("tutorial loop, DataLoader over PNGs", "", tutorial(endless(tutorial_loader(args.workers, batch)))),
        ("tutorial loop, tensors decoded once in memory", "PNG decoding + DataLoader",
         tutorial(in_memory_batches(images, batch, device))),
        ("tutorial loop, uint8 batches by index", "batches by index", tutorial(by_index_batches(images, batch, device))),
        ("course trainer, losses read every step, NCHW, fp32" + (", unfused Adam" if gpu else ""),
         "the course's step functions + engine", course(fused=False, **plain)),
        ("  + losses read every 50 steps", "loss reads every 50 steps", course(fused=False, **{**plain, "log_every": 50})),
        ("  + channels_last", "channels_last", course(fused=False, log_every=50, channels_last=True, amp=False)),
    ]
    if gpu:
        chain += [("  + bf16 autocast", "bf16 autocast", course(fused=False, log_every=50, channels_last=True, amp=True)),
                  ("  + fused Adam (the course trainer)", "fused Adam", course(log_every=50, channels_last=True, amp=True))]
    if args.compile:
        chain.append(("  + compile=True" + (" (CUDA graph)" if gpu else " (torch.compile)"), "compile=True",
                      course(log_every=50, channels_last=True, amp=True, compile=True)))
    if not gpu:
        print("(CPU: autocast and fused Adam are GPU-only in the course trainer, so they have no control here)")
    return chain


def measure(batch: int, steps: int, args, device: torch.device, images: torch.Tensor) -> float:
    """Print one batch size's figures; return the ratio of the course trainer against the tutorial baseline."""
    gpu = device.type == "cuda"
    print(f"\n== batch {batch}: {steps} timed steps x {args.rounds} rounds, every variant in each round")
    chain = variants(batch, args, device, images)
    warmup = 30 if args.compile else 5
    for _, _, run in chain:  # first steps: allocation, cuDNN autotuning, compiling, the DataLoader workers' start
        run(warmup)
    speeds = [[] for _ in chain]
    for _ in range(args.rounds):  # alternate, so a noisy neighbour hits every variant alike
        for speed, (_, _, run) in zip(speeds, chain):
            speed.append(steps * batch / run(steps))
    medians = [statistics.median(speed) for speed in speeds]
    width = max(len(name) for name, _, _ in chain)
    product = 1.0
    for i, ((name, factor, _), median, speed) in enumerate(zip(chain, medians, speeds)):
        # each factor: the median over rounds of the ratio within a round (the two ran back to back), so the
        # product of the factors is an independent estimate of the total, not the same medians telescoping
        factor_ratio = statistics.median(now / before for now, before in zip(speed, speeds[i - 1])) if i else 1.0
        step_ratio = f"x{factor_ratio:5.2f} from {factor}" if i else ""
        product *= factor_ratio
        print(f"{name:<{width}}  {median:8.0f} images/s  runs {[round(v) for v in speed]}  {step_ratio}")
    ratio = medians[-1] / medians[0]
    course_run = chain[-1][2]
    mode = ("CUDA graph" if course_run.trainer._graph is not None else "eager") if gpu else \
        ("torch.compile" if args.compile and course_run.trainer._fast else "eager")
    target = (8.0 if args.compile else 3.0) if gpu else 1.3
    verdict = f" (target >= {target}x: {'met' if ratio >= target else 'NOT met'})" if batch == 128 else ""
    print(f"course trainer ({mode}) against the tutorial baseline: ratio {ratio:.2f}x{verdict}; "
          f"product of the factors {product:.2f}x; without decoding (against the in-memory tutorial loop) "
          f"{medians[-1] / medians[1]:.2f}x")
    epoch = 50_000 / medians[-1]
    epoch_target = 1.0 if args.compile else 2.0
    print(f"one CIFAR-10 epoch (50,000 images) with the course trainer: {epoch:.2f} s"
          + (f" (target <= {epoch_target:g} s: {'met' if epoch <= epoch_target else 'NOT met'})"
             if gpu and batch == 128 else ""))
    if gpu:
        trainer = course_run.trainer
        flops = step_flops(trainer)
        achieved = flops * medians[-1] / batch
        name = torch.cuda.get_device_name()
        peak = next((value for key, value in PEAK_BF16.items() if key in name), None)
        share = f", {achieved / peak:.1%} of the {name}'s dense bf16 peak" if peak else ""
        print(f"{flops / 1e9:.1f} GFLOP per step; achieved {achieved / 1e12:.1f} TFLOP/s{share}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per run at batch 128, fewer at bigger batches (default: 40 CPU, 300 GPU)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed runs of each loop")
    parser.add_argument("--workers", type=int, default=2, help="the baseline DataLoader's workers")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES), help="batch sizes to measure")
    parser.add_argument("--compile", action="store_true",
                        help="GPU: record the course trainer's step as a CUDA graph; CPU: torch.compile G and D")
    args = parser.parse_args()

    device = get_device()
    gpu = device.type == "cuda"
    steps = args.steps or (300 if gpu else 40)
    seed_everything(0, deterministic=False)
    if gpu:
        torch.backends.cudnn.benchmark = True
    cfg = dcgan_cifar10_recipe(device).model
    print(f"device {torch.cuda.get_device_name() if gpu else 'cpu'}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; DCGAN widths {cfg.g_width}/{cfg.d_width}")
    images, _ = cifar10_tensors(train=True)
    for batch in args.batches:  # the same number of images per run at every batch size
        measure(batch, max(steps * 128 // batch, 5), args, device, images)


if __name__ == "__main__":
    main()
