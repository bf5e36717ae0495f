"""Probe for notebook 08 (issue 15): InfoGAN on MNIST on the CPU, scored every tenth of the run.

    python tools/infogan_probe.py STEPS SEED [WIDTH]

Prints Q's accuracy on its own codes, the categorical code's Hungarian-matched accuracy against each course
reader (2,000 samples, 200 per code value, noise seed 1), and the rank correlation of each continuous code with the
samples' slant and ink. Exploration, not a recipe: the notebook must choose its recipe on validation noise.
"""
import sys, time, torch
from course_utils import data, seed_everything
from course_utils import disentanglement as dis
from course_utils.models.infogan import Generator, Discriminator, InfoGANConfig, make_latent
from course_utils.sample_quality import load_classifier
from course_utils.train import GANTrainConfig
from course_utils.train_infogan import InfoGANTrainer, InformationWeights
steps, seed = int(sys.argv[1]), int(sys.argv[2])
width = int(sys.argv[3]) if len(sys.argv) > 3 else 64
seed_everything(seed)
images = data.mnist_tensors(train=True)[0]
cfg_m = InfoGANConfig(width=width)
G, D = Generator(cfg_m), Discriminator(cfg_m)
cfg = GANTrainConfig(steps=steps, batch_size=64, lr_d=2e-4, lr_g=1e-3, lr_final=0.1, log_every=50)
tr = InfoGANTrainer(G, D, data.image_sampler(images, "cpu"), cfg, "cpu", InformationWeights(1.0, 0.1))
readers = [load_classifier("cpu"), load_classifier("cpu", name="mnist_classifier2")]
def evaluate():
    G.eval()
    gen = torch.Generator().manual_seed(1)
    n = 2000
    z = torch.randn(n, cfg_m.z_dim, generator=gen)
    cat = torch.arange(n) % 10
    cont = torch.rand(n, 2, generator=gen) * 2 - 1
    with torch.no_grad():
        x = G(make_latent(z, cat, cont, cfg_m))
        acc = [dis.matched_accuracy(cat, r(x).argmax(1), 10)["accuracy"] for r in readers]
        sl, ik = dis.slant(x[:, 0]), dis.ink(x[:, 0])
    rc = [[dis.rank_correlation(cont[:, j], p) for p in (sl, ik)] for j in range(2)]
    G.train()
    return acc, rc
t = time.time()
for part in range(10):
    tr.train(steps // 10, progress=False)
    acc, rc = evaluate()
    h = tr.history
    print(f"step {tr.step} ({time.time()-t:.0f} s): q_acc {sum(h['q_accuracy'][-10:])/10:.2f} "
          f"matched acc {acc[0]:.3f}/{acc[1]:.3f} "
          f"rank corr c1 (slant, ink) {rc[0][0]:+.2f} {rc[0][1]:+.2f}  c2 {rc[1][0]:+.2f} {rc[1][1]:+.2f} "
          f"d_real {sum(h['d_real'][-10:])/10:.2f} d_fake {sum(h['d_fake'][-10:])/10:.2f}", flush=True)
