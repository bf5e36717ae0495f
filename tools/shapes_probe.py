"""Probe for notebook 08 (issue 15): InfoGAN, InfoGAN-CR or a beta-VAE on the course's 32x32 shapes, on the CPU,
scored by the FactorVAE metric and the MIG from the known factors.

    python tools/shapes_probe.py MODEL STEPS SEED [key=value ...]

MODEL is infogan, infogan_cr or beta_vae. Keys: width (32), alpha (2.0), start (0.5: the share of the run before
G gets the contrastive term), lam (0.1: lambda of the continuous codes' information term), beta (4.0),
latent (10), images (50000), lr_g (1e-3), lr_d (2e-3), batch (64), evals (2).

The representation scored: Q's means on real images for the GANs, the encoder's means for the VAE. Scored on
factors drawn with metric seed 1 (the notebook reports on another seed). Exploration, not a recipe.
"""
import sys
import time

import torch

from course_utils import disentanglement as dis
from course_utils import seed_everything
from course_utils.data import shapes
from course_utils.data.loading import image_sampler, to_signed_unit
from course_utils.models.infogan import ContrastiveHead, Discriminator, Generator, InfoGANConfig
from course_utils.models.vae import VAE, VAEConfig
from course_utils.train import GANTrainConfig
from course_utils.train_infogan import ContrastiveWeights, InfoGANCRTrainer, InformationWeights
from course_utils.train_vae import VAETrainConfig, VAETrainer

model, steps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
opts = dict(width=32, alpha=2.0, start=0.5, lam=0.1, beta=4.0, latent=10, images=50_000, lr_g=1e-3, lr_d=2e-3,
            batch=64, evals=2)
for arg in sys.argv[4:]:
    key, value = arg.split("=")
    opts[key] = type(opts[key])(value)
print(model, steps, seed, opts, flush=True)
seed_everything(seed)
spec = shapes.ShapesSpec()
t = time.time()
images, _ = shapes.sample_shapes(opts["images"], seed=100 + seed, spec=spec)
print(f"rendered {len(images)} images in {time.time() - t:.0f} s", flush=True)

if model == "beta_vae":
    net = VAE(VAEConfig(latent=opts["latent"], hidden=256, conv=True, image_size=32))
    epochs = max(1, round(steps * opts["batch"] / len(images)))
    trainer = VAETrainer(net, images, VAETrainConfig(epochs=epochs, batch_size=opts["batch"], lr=1e-3,
                                                     beta=opts["beta"]), "cpu", seed=seed)

    def represent(x):
        return net.encode(x.float() / 255)[0]
else:
    cfg_m = InfoGANConfig(z_dim=5, categories=0, continuous=5, width=opts["width"], image_size=32)
    G, D, H = Generator(cfg_m), Discriminator(cfg_m), ContrastiveHead(cfg_m)
    cfg = GANTrainConfig(steps=steps, batch_size=opts["batch"], lr_d=opts["lr_d"], lr_g=opts["lr_g"], log_every=50)
    alpha = opts["alpha"] if model == "infogan_cr" else 0.0
    trainer = InfoGANCRTrainer(G, D, H, image_sampler(images, "cpu"), cfg, "cpu",
                               InformationWeights(1.0, opts["lam"]), ContrastiveWeights(alpha, opts["start"]))
    net = D

    def represent(x):
        return D.read_codes(to_signed_unit(x)).mean


def codes_of(factors):
    net.eval()
    with torch.no_grad():
        out = torch.cat([represent(shapes.render(f, spec)) for f in factors.split(2048)])
    net.train()
    return out


def evaluate():
    f_gen = torch.Generator().manual_seed(1)
    factors = shapes.random_factors(10_000, spec, f_gen)
    mig = dis.mutual_information_gap(codes_of(factors), factors)
    fv = dis.factor_vae_score(codes_of, spec.factor_sizes, train_votes=400, eval_votes=400, seed=1)
    return fv["score"], mig


t = time.time()
total = trainer.total_steps
for part in range(opts["evals"]):
    trainer.train(total * (part + 1) // opts["evals"] - trainer.step, progress=False)
    train_s = time.time() - t
    fv, mig = evaluate()
    logs = {k: sum(v[-10:]) / len(v[-10:]) for k, v in trainer.history.items() if k != "step" and v}
    print(f"step {trainer.step}/{total} (train {train_s:.0f} s, with eval {time.time() - t:.0f} s): "
          f"FactorVAE {fv:.3f} MIG {mig['mig']:.3f} " + " ".join(f"{k} {v:.3f}" for k, v in logs.items()),
          flush=True)

out = opts.get("save", f"/tmp/shapes_{model}_{steps}_{seed}.pt")
torch.save({name: module.state_dict() for name, module in trainer.modules.items()}, out)
print(f"saved {out}", flush=True)
