"""InfoGAN's networks and its information term (notebook 08)."""

import copy
import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from course_utils.losses import information_loss
from course_utils.models.infogan import (ContrastiveHead, Discriminator, Generator, InfoGANConfig, make_latent,
                                         pair_latents, split_latent)

SMALL = InfoGANConfig(z_dim=5, categories=4, continuous=2, width=8)


def test_the_latent_vector_carries_z_and_the_codes_and_comes_apart_again():
    G = Generator(SMALL)
    latent = G.sample_z(500, generator=torch.Generator().manual_seed(0))
    assert latent.shape == (500, 5 + 4 + 2)
    parts = split_latent(latent, SMALL)
    assert parts.category.unique().tolist() == [0, 1, 2, 3]  # uniform over the values: all drawn
    assert torch.equal(latent[:, 5:9], F.one_hot(parts.category, 4).float())  # exactly one-hot
    assert parts.continuous.min() >= -1 and parts.continuous.max() <= 1 and parts.continuous.std() > 0.5  # U(-1, 1)
    assert torch.equal(make_latent(parts.z, parts.category, parts.continuous, SMALL), latent)
    with pytest.raises(ValueError, match=r"shape \(n, 11\) = z 5 \+ one-hot 4 \+ continuous 2; got \(3, 10\)"):
        split_latent(torch.zeros(3, 10), SMALL)


def test_shapes_of_the_networks_and_the_shared_trunk():
    G, D = Generator(SMALL), Discriminator(SMALL)
    x = G(G.sample_z(6, device="cpu"))
    assert x.shape == (6, 1, 28, 28) and x.abs().max() <= 1
    logit, codes = D.logit_and_codes(x)
    assert logit.shape == (6, 1) and torch.allclose(logit, D(x))
    assert codes.logits.shape == (6, 4) and codes.mean.shape == (6, 2) and codes.log_std.shape == (6, 2)
    assert all(torch.allclose(a, b) for a, b in zip(codes, D.read_codes(x)))
    paper = InfoGANConfig()
    assert (paper.z_dim, paper.categories, paper.continuous) == (62, 10, 2)  # the paper's MNIST set-up


@pytest.mark.parametrize("changes, message", [
    ({"categories": 1}, "0 \\(no categorical code\\) or at least 2"),
    ({"categories": 0, "continuous": 0}, "at least one code"),
    ({"z_dim": -1}, "z_dim must be a non-negative integer"),
    ({"width": 0}, "width must be at least 1"),
    ({"hidden": 0}, "hidden must be at least 1"),
    ({"image_size": 30}, "image_size must be a multiple of 4 of at least 8"),
])
def test_a_wrong_config_gets_a_clear_error(changes, message):
    with pytest.raises(ValueError, match=message):
        InfoGANConfig(**changes)


def test_the_information_term_trains_both_g_and_q_but_not_ds_own_head():
    torch.manual_seed(0)
    G, D = Generator(SMALL), Discriminator(SMALL)
    latent = G.sample_z(16, device="cpu")
    parts = split_latent(latent, SMALL)
    codes = D.read_codes(G(latent))
    information_loss(*codes, parts.category, parts.continuous).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    assert all(p.grad is not None for p in D.q_head.parameters()) and D.trunk[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in D.d_head.parameters())


def test_a_short_run_on_mnist_teaches_q_to_read_the_categorical_code_of_gs_samples():
    """The mechanism of InfoGAN: G and Q cooperate on the information term, so within a few hundred steps Q reads
    the code G was given far above chance (1/4 here), and the information loss falls below log 4 (the cross-entropy
    of a Q that knows nothing). Without the term (weight 0) Q is never trained and stays near chance."""
    from course_utils import data, seed_everything
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import InfoGANTrainer, InformationWeights

    images = data.mnist_tensors(train=True)[0][:5000]
    cfg = GANTrainConfig(steps=150, batch_size=64, lr_d=2e-4, lr_g=1e-3, log_every=1)
    config = replace(SMALL, continuous=0)
    results = {}
    for weight in (1.0, 0.0):
        seed_everything(0)
        G, D = Generator(config), Discriminator(config)
        trainer = InfoGANTrainer(G, D, data.image_sampler(images, "cpu"), cfg, "cpu", InformationWeights(weight))
        trainer.train(progress=False)
        results[weight] = (sum(trainer.history["q_accuracy"][-30:]) / 30, sum(trainer.history["info_loss"][-30:]) / 30)
    # measured (seed 0): with the term Q reads 99.8% right, information loss 0.04; without it 22.7% and 1.50
    assert results[1.0][0] > 0.8 and results[1.0][1] < 0.5 * math.log(4), results
    assert results[0.0][0] < 0.45, results


def test_the_infogan_trainer_refuses_what_it_does_not_run():
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import InfoGANTrainer

    G, D = Generator(SMALL), Discriminator(SMALL)
    with pytest.raises(ValueError, match="switch off \\['gradient_penalty'\\]"):
        InfoGANTrainer(G, D, lambda n: torch.zeros(n, 1, 28, 28), GANTrainConfig(gradient_penalty=1.0), "cpu")
    with pytest.raises(ValueError, match="built from the same InfoGANConfig"):
        InfoGANTrainer(G, Discriminator(InfoGANConfig(width=8)), lambda n: torch.zeros(n, 1, 28, 28),
                       GANTrainConfig(), "cpu")


SHAPES = InfoGANConfig(z_dim=5, categories=0, continuous=5, width=8, image_size=32)


def test_the_shapes_networks_draw_and_read_32x32_images():
    G, D, H = Generator(SHAPES), Discriminator(SHAPES), ContrastiveHead(SHAPES)
    x = G(G.sample_z(4, device="cpu"))
    assert x.shape == (4, 1, 32, 32)
    assert D(x).shape == (4, 1) and D.read_codes(x).mean.shape == (4, 5) and D.read_codes(x).logits.shape == (4, 0)
    assert H(x, x.flip(0)).shape == (4, 5)
    with pytest.raises(ValueError, match="at least 2, the config has 1"):
        ContrastiveHead(InfoGANConfig(continuous=1))


def test_pairs_share_the_noise_the_category_and_exactly_one_continuous_code():
    config = InfoGANConfig(z_dim=3, categories=4, continuous=3, width=8)
    generator = torch.Generator().manual_seed(0)
    latent = Generator(config).sample_z(3000, generator=generator)
    partner, shared = pair_latents(latent, config, generator)
    a, b = split_latent(latent, config), split_latent(partner, config)
    assert torch.equal(a.z, b.z) and torch.equal(a.category, b.category)
    same = a.continuous == b.continuous
    assert torch.equal(same, F.one_hot(shared, 3).bool())  # the shared code and no other (fresh draws never tie)
    assert torch.bincount(shared, minlength=3).min() > 900  # the shared code is uniform over the three
    other = b.continuous[~same]  # the partner's other codes: fresh U(-1, 1), independent of the first latent's
    assert other.min() >= -1 and other.max() <= 1 and abs(other.mean()) < 0.05 and abs(other.var() - 1 / 3) < 0.02
    assert abs(torch.corrcoef(torch.stack([a.continuous[~same], other]))[0, 1]) < 0.05


def test_with_alpha_0_the_cr_step_is_infogans_g_step_on_both_halves_and_with_alpha_it_adds_hs_gradient():
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import InformationWeights, info_cr_g_step, info_g_step

    cfg, info = GANTrainConfig(), InformationWeights(1.0, 0.1)
    torch.manual_seed(0)
    G0, D, H = Generator(SHAPES), Discriminator(SHAPES), ContrastiveHead(SHAPES)
    latent = G0.sample_z(8, device="cpu")
    partner, shared = pair_latents(latent, SHAPES)
    updated = {}
    for name, alpha in (("infogan", None), ("alpha 0", 0.0), ("alpha 1", 1.0)):
        G, H_copy = copy.deepcopy(G0), copy.deepcopy(H)
        opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
        opt_h = torch.optim.SGD(H_copy.parameters(), lr=0.1)
        if alpha is None:
            logs = info_g_step(G, D, torch.cat([latent, partner]), opt_g, cfg, info)
        else:
            logs = info_cr_g_step(G, D, H_copy, latent, partner, shared, opt_g, opt_h, cfg, info, alpha)
            # H took one step on the same pairs: its cross-entropy on them falls
            with torch.no_grad():
                x_a, x_b = G0(torch.cat([latent, partner])).chunk(2)
                H.eval(), H_copy.eval()
                before = F.cross_entropy(H(x_a, x_b), shared)
                after = F.cross_entropy(H_copy(x_a, x_b), shared)
                H.train()
            assert after < before, (before, after)
            assert logs["cr_accuracy"].item() in [k / 8 for k in range(9)]
        updated[name] = torch.cat([p.detach().flatten() for p in G.parameters()])
    assert torch.allclose(updated["alpha 0"], updated["infogan"], atol=1e-6)
    assert not torch.allclose(updated["alpha 1"], updated["alpha 0"], atol=1e-4)
    assert all(p.grad is None for p in D.parameters())  # D is fixed in G's step


def test_the_cr_trainer_switches_alpha_on_at_start_and_checkpoints_and_guards_h(tmp_path):
    from course_utils.checkpoints import load_checkpoint
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import ContrastiveWeights, InfoGANCRTrainer

    torch.manual_seed(0)
    G, D, H = Generator(SHAPES), Discriminator(SHAPES), ContrastiveHead(SHAPES)
    images = torch.rand(64, 1, 32, 32) * 2 - 1
    trainer = InfoGANCRTrainer(G, D, H, lambda n: images[:n], GANTrainConfig(steps=10, batch_size=8), "cpu",
                               contrastive=ContrastiveWeights(weight=3.0, start=0.4),
                               checkpoint_path=tmp_path / "cr.pt")
    alphas = []
    trainer.train(hooks=[lambda t: alphas.append(t.alpha)], progress=False)
    assert alphas == [0.0] * 3 + [3.0] * 7  # after step s the next step's alpha: on from step 4 = 0.4 * 10
    assert {"cr_loss", "cr_accuracy", "info_loss"} <= set(trainer.history)
    assert "q_accuracy" not in trainer.history  # no categorical code in the shapes' InfoGAN
    trainer.save()
    H2 = ContrastiveHead(SHAPES)
    load_checkpoint(tmp_path / "cr.pt", {"G": Generator(SHAPES), "D": Discriminator(SHAPES), "H": H2})
    assert all(torch.equal(a, b) for a, b in zip(H.state_dict().values(), H2.state_dict().values()))
    # the guard's snapshot holds H: a restore puts back H's weights with G's and D's
    trainer._snapshot = trainer._take_snapshot()
    saved = [p.detach().clone() for p in H.parameters()]
    with torch.no_grad():
        for p in H.parameters():
            p.add_(1.0)
    trainer.restore()
    assert all(torch.equal(p, s) for p, s in zip(H.parameters(), saved))
    with pytest.raises(ValueError, match="already has a network called 'H'"):
        trainer.register("H", H, trainer.opt_h)
    with pytest.raises(ValueError, match="same InfoGANConfig as G and D"):
        InfoGANCRTrainer(G, D, ContrastiveHead(replace(SHAPES, width=16)), lambda n: images[:n], GANTrainConfig(),
                         "cpu")


def test_the_code_demo_moves_one_code_per_round_and_scores_you_and_q():
    from course_utils.models.infogan import Codes
    from course_utils.widgets import CodeDemo

    torch.manual_seed(0)
    G = Generator(SMALL)
    demo = CodeDemo(G, code_names=["slant", "width"], seed=3)
    assert demo.choices == ["slant", "width", "category"]
    moved = []
    for _ in range(60):
        r = demo.new_round()
        codes, category = r["codes"], r["category"]
        changed = [name for k, name in enumerate(demo.code_names) if codes[0, k] != codes[1, k]]
        changed += ["category"] if category[0] != category[1] else []
        assert changed == [r["moved"]]  # exactly the one the round says
        if r["moved"] != "category":
            k = demo.code_names.index(r["moved"])
            assert 1 <= abs(codes[0, k] - codes[1, k]) <= 2 and codes[1, k].abs() <= 2
        moved.append(r["moved"])
        assert r["q_guess"] is None  # no D: Q does not play
    assert set(moved) == {"slant", "width", "category"}
    demo.round = demo.new_round()
    assert demo.guess(demo.round["moved"]).startswith(f"{demo.round['moved']} moved: you right")
    assert demo.score == {"you": 1, "Q": 0, "rounds": 1}
    with pytest.raises(ValueError, match="guess one of"):
        demo.guess("colour")

    class ReadsWidth(torch.nn.Module):  # a Q whose second code reading changes most
        def __init__(self):
            super().__init__()
            self.where = torch.nn.Parameter(torch.zeros(1))

        def read_codes(self, x):
            n = len(x)
            return Codes(torch.zeros(n, 4), torch.tensor([[0.0, 0.0], [0.1, -0.9]]), torch.zeros(n, 2))
    demo.D = ReadsWidth()
    assert demo.q_guess(torch.zeros(2, 1, 28, 28)) == "width"
    with pytest.raises(ValueError, match="one name per continuous code \\(2\\)"):
        CodeDemo(G, code_names=["slant"])


def test_hidden_sets_gs_first_and_ds_last_fully_connected_layers():
    cfg = InfoGANConfig(hidden=16, width=4)
    G, D = Generator(cfg), Discriminator(cfg)
    assert G.fc[0].out_features == 16 and G.fc[3].in_features == 16
    assert D.trunk[-3].out_features == 16 and D.d_head.in_features == 16 and D.q_head[0].in_features == 16
    assert G(G.sample_z(3)).shape == (3, 1, 28, 28) and D(G(G.sample_z(3))).shape == (3, 1)
    assert InfoGANConfig().hidden == 1024  # the paper's
